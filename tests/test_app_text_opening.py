"""A model of text opens on text: a 2,000-character held-out window, its coloured text beside the heatmap on
the cell the labeller ranks first among those about the text (not the character), saying which and why.
Grammar models open as before.

The text model is built by hand (tests/hand_built.py's depth counter, its units swapped and the counter made
leaky): cell 0 is 1 on `[` and 0 elsewhere (about the character), cell 1 counts open parentheses with a leak,
h1' = relu(0.9 h1 + [`(`] - [`)`]) (about the text). The labeller ranks cell 0 first (its label explains all
of it), so the page must pass over it to cell 1, and cell 1's colours are that recurrence, computed here in
NumPy."""
from __future__ import annotations

import re

import numpy as np
import panel as pn
import pytest
import torch

from rnnscope.app.pages import cache
from rnnscope.app.pages.page import Page
from rnnscope.app.pages.sequence_boxes import GRAMMAR_WINDOW, TEXT_WINDOW
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.cells import CellsTab
from rnnscope.models.network import checkpoint

LEAK = 0.9


class Click:
    def __init__(self, row: int):
        self.row = row


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    from hand_built import CODE, depth_counter
    root = tmp_path_factory.mktemp("text-opening")
    text = root / "code.py.txt"
    text.write_text(CODE * 100, encoding="utf-8")          # its held-out tail: ~30,000 characters
    model = depth_counter(sorted(set(CODE)), "[")
    with torch.no_grad():                                   # the marker first, the (leaky) counter second
        model.rnn.weight_ih_l0.copy_(model.rnn.weight_ih_l0[[1, 0]])
        model.rnn.weight_hh_l0.copy_(model.rnn.weight_hh_l0[[1, 0]][:, [1, 0]])
        model.rnn.weight_hh_l0[1, 1] = LEAK
    checkpoint.save(model, root / "m", {"data": {"kind": "text", "path": str(text)}})
    return root / "m"


def leaky_depth(text: str) -> np.ndarray:
    h, out = 0.0, []
    for ch in text:
        h = max(0.0, LEAK * h + (ch == "(") - (ch == ")"))
        out.append(h)
    return np.array(out)


def span_values(html: str) -> np.ndarray:
    """The value in each coloured character's hover title ("position: value")."""
    return np.array([float(v) for v in re.findall(r'title="[\d,]+: ([-+][\d.]+)"', html)])


def test_a_text_model_opens_on_2000_characters_coloured_by_the_cells_tabs_first_cell_about_the_text(text_model):
    page = Page(AppState(text_model))
    s, beside = page.state, page.beside
    assert s.text_model and s.source == "held-out" and s.window == TEXT_WINDOW == 2_000
    assert len(s.trace) == 2_000 and s.trace.text == s._stream[:2_000]
    assert page.scope.heatmap.source.data["image"][0].shape == (2, 2_000)     # every column drawn, none cut

    cells = CellsTab(state=s)
    cells.open()
    table = cells.table.value
    assert list(table["cell"]) == [0, 1]                    # the labeller's first cell is about the character
    assert table["label"].iloc[0].startswith("+1.0 on `[`")
    assert beside.cell == 1 and beside.chosen.cell == 1
    assert beside.chosen.label == table["label"].iloc[1] == "tracks paren depth (r = +0.93)"
    assert beside.why.object.startswith("**Cell 1** (h, layer 0): tracks paren depth (r = +0.93).")
    assert "The labeller's cell 2 of 2" in beside.why.object
    assert f"against {beside.chosen.null:.3f}, the 99th percentile of its shuffle null" in beside.why.object

    # the text beside is coloured by the counter: its values are the recurrence, read in context
    assert beside.shown == (1, (0, 2_000))
    np.testing.assert_allclose(span_values(beside.text.object), leaky_depth(s._stream)[:2_000], atol=5e-4)
    assert "Characters 0 .. 1,999 (2,000, the whole sequence) coloured by **cell 1**" in beside.note.object
    assert "The heatmap holds all 2,000 columns, more than it has pixels across" in beside.note.object


def test_the_text_is_shown_before_the_cell_is_chosen_and_a_late_choice_for_another_view_is_dropped(text_model,
                                                                                                    monkeypatch):
    """In a served page the labels arrive later (LazyTab.off_thread): held here, and applied by hand."""
    page = Page(AppState(text_model))
    beside = page.beside
    held = []
    monkeypatch.setattr(beside, "off_thread", lambda work, apply, name: held.append((work, apply)))
    beside._choose()
    assert beside.chosen is None and beside.why.object.startswith("*Choosing the cell")
    assert "<span" not in beside.text.object and beside.text.object.count("\u21b5") == page.state.trace.text.count("\n")
    work, apply = held.pop()
    apply(work())
    assert beside.chosen.cell == 1 and "<span" in beside.text.object

    beside._choose()                    # asked again, then the sequence changes before the answer comes...
    stale = held.pop()
    page.state.param.trigger("view")    # ... a newer request: the old answer is ignored
    newer = held.pop()
    stale[1](stale[0]())
    assert beside.chosen is None and beside.why.object.startswith("*Choosing")
    newer[1](newer[0]())
    assert beside.chosen.cell == 1


def test_the_window_follows_the_model_while_it_is_the_pages_own_choice(text_model, default_model):
    s = AppState(text_model)
    assert (s.text_model, s.window) == (True, TEXT_WINDOW)
    text, grammar = str(text_model.resolve()), str(default_model.resolve())
    s.param.model_path.objects = {"text": text, "grammar": grammar}
    box = pn.widgets.IntInput.from_param(s.param.window)          # the sidebar's box follows it too
    s.model_path = grammar
    assert (s.text_model, s.window, len(s.trace), box.value) == (False, GRAMMAR_WINDOW, GRAMMAR_WINDOW, GRAMMAR_WINDOW)
    s.model_path = text
    assert (s.text_model, s.window, len(s.trace), box.value) == (True, TEXT_WINDOW, TEXT_WINDOW, TEXT_WINDOW)
    s.window = 500                      # chosen: it stays with the next model
    s.model_path = grammar
    assert (s.window, len(s.trace)) == (500, 500)
    assert AppState(text_model, window=100).window == 100      # a window named by the caller is kept


def test_a_grammar_model_opens_as_before_with_nothing_beside_and_switching_to_text_chooses_its_cell(
        default_model, text_model):
    page = Page(AppState(default_model))
    s, beside = page.state, page.beside
    assert s.window == 100 and len(s.trace) == 100 and not s.text_model
    assert beside.chosen is None and beside.why.object == "" and beside.text.object == ""
    grammar, text = str(default_model.resolve()), str(text_model.resolve())
    s.param.model_path.objects = {"grammar": grammar, "text": text}
    s.model_path = text
    assert len(s.trace) == TEXT_WINDOW and beside.chosen.cell == beside.cell == 1
    s.model_path = grammar                  # back: nothing beside, the window the grammar's again
    assert len(s.trace) == GRAMMAR_WINDOW and beside.chosen is None and beside.why.object == ""


@pytest.mark.slow
def test_the_shipped_text_lstm_opens_on_its_cells_tabs_first_cell_about_the_text():
    from rnnscope.analysis.describe.labels import ABOUT_THE_INPUT
    from rnnscope.base.paths import CHECKPOINTS_DIR
    page = Page(AppState(CHECKPOINTS_DIR / "lstm128-pystdlib"))
    s = page.state
    assert len(s.trace) == 2_000 and page.scope.heatmap.source.data["image"][0].shape == (128, 2_000)
    labels = cache.cell_labels(s.model_path, s.view, s.layer)[0]
    cells = CellsTab(state=s)
    cells.open()
    table = cells.table.value
    rank = list(table["cell"]).index(page.beside.cell)
    assert table["label"].iloc[rank] == page.beside.chosen.label
    # the rows above it are about the input; its own is not
    about = [lab.shown.annotation for lab in labels]
    assert all(a in ABOUT_THE_INPUT or a.startswith("next_") for a in about[:rank])
    assert about[rank] not in ABOUT_THE_INPUT and not about[rank].startswith("next_")
    assert f"**Cell {page.beside.cell}** (h, layer 0)" in page.beside.why.object
