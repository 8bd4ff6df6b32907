"""The Coloured text, Compare and Timeline tabs, set by parameters in plain
Python. Every number is checked against an independent computation: hidden states from the plain
NumPy equations (models/network/reference.py) run over the held-out stream from its start (so a window is
read in context), pairs from analysis.compare.match_cells on those states, and labels from
analysis.labels on them. The run is a GRU-6 trained here for 24 steps with a checkpoint every 8."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from app_fixtures import GRAMMAR_VOCAB

from rnnscope.analysis.describe.compare import match_cells
from rnnscope.analysis.describe.labels import label_cells
from rnnscope.analysis.decode.probing import annotations_of
from rnnscope.app.pages import cache
from rnnscope.app.drawing.coloured_text import MAX_COLOURED_CHARS
from rnnscope.app.tabs.compare_tab import CompareTab
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.timeline_tab import TimelineTab
from rnnscope.models.network import checkpoint, reference
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.run import run_dir_of

torch.set_num_threads(1)
SPAN = re.compile(r'<span style="background:#[0-9a-f]{6};color:#[0-9a-f]{3}" title="([\d,]+): ([^"]*)">(.*?)</span>')


def numpy_states(path, text: str) -> dict[str, np.ndarray]:
    """Layer 0's h (and gates) of the checkpoint at ``path`` over ``text`` from the zero state: plain NumPy."""
    model = checkpoint.load(path)
    W = {k.removeprefix("rnn."): v.double().numpy() for k, v in model.state_dict().items() if k.startswith("rnn.")}
    return reference.run(model.config.cell, W, model.input_vectors(text), model.config.num_layers)[0]


def in_context(path, stream: str, index: int, length: int) -> np.ndarray:
    """[length, H] h of the window at ``index``, the stream read from its start."""
    return numpy_states(path, stream[:index + length])["h"][index:]


# --- Coloured text ----------------------------------------------------------------------------------

def test_coloured_text_gives_each_character_of_the_visible_span_its_cells_value_and_the_export_carries_it(
        run_model):
    state = AppState(run_model, index=500, window=60)
    page = Page(state)
    page.__panel__()
    tab = page.coloured
    page.tools.active = TOOLS.index("Coloured text")            # opened: computed now
    assert tab.shown is None and "No cell to colour by" in tab.note.object
    held = heldout_of(run_model).text
    h = in_context(run_model, held, 500, 60)
    state.selected = [2]                                        # the first plotted cell is followed

    def spans():
        found = SPAN.findall(tab.text.object)
        return [int(p.replace(",", "")) for p, _, _ in found], np.array([float(v) for _, v, _ in found]), \
            "".join(c for _, _, c in found)
    positions, values, chars = spans()
    assert positions == list(range(60)) and chars == held[500:560].replace("\n", "\u21b5")
    np.testing.assert_allclose(values, h[:, 2], atol=6e-4)     # shown to 3 places
    page.scope.x_range.update(start=9.6, end=20.2)             # zoomed: columns 10 .. 20 have their centre in view
    positions, values, _ = spans()
    assert positions == list(range(10, 21)) and tab.shown == (2, (10, 21))
    tab.cell = 4                                                # chosen here, not followed
    np.testing.assert_allclose(spans()[1], h[10:21, 4], atol=6e-4)

    page.tools.active = TOOLS.index("Coloured text")            # the export carries what the tab shows
    exported = page.export_html()
    assert "The text coloured by cell 4, columns 10 .. 20" in exported and len(SPAN.findall(exported)) == 11
    page.tools.active = TOOLS.index("Cells")
    assert "The text coloured by cell" not in page.export_html()

    state.window = MAX_COLOURED_CHARS + 1                       # a longer span is refused, never cut
    assert page.scope.x_range.end == MAX_COLOURED_CHARS + 0.5  # the new sequence shows whole
    assert tab.shown is None and tab.text.object == ""
    assert f"at most {MAX_COLOURED_CHARS:,} characters; this span has {MAX_COLOURED_CHARS + 1:,}" in tab.note.object
    page.tools.active = TOOLS.index("Coloured text")
    assert "The text coloured by cell" not in page.export_html()


# --- Compare ------------------------------------------------------------------------------------------

def offer(state: AppState, **models) -> None:
    """Put models in the page's model list, as if they were in the models folder."""
    state.param.model_path.objects = {**state.param.model_path.objects, **{k: str(v) for k, v in models.items()}}


def test_compare_pairs_equal_match_cells_on_numpy_states_and_both_heatmaps_show_the_pairs(
        run_model, lstm_model, tmp_path):
    torch.manual_seed(1)
    no_four_vocab = [c for c in GRAMMAR_VOCAB if c != "4"]
    no_four = checkpoint.save(CharRNN(ModelConfig(vocab=no_four_vocab, cell="gru", hidden_size=4)), tmp_path / "nf")
    state = AppState(run_model, index=300, window=50)
    offer(state, lstm6=lstm_model, no_four=no_four)
    tab = CompareTab(state=state)
    tab.open()
    assert set(tab.param.other.objects) >= {"", str(lstm_model), str(no_four), str(run_model)}
    tab.other = str(lstm_model)

    held = heldout_of(run_model).text
    a, b = (numpy_states(p, held[:cache.COMPARE_CHARS])["h"] for p in (run_model, lstm_model))
    expected = match_cells(a, b)
    got = tab.comparison
    assert [(p.a, p.b) for p in got.pairs] == [(p.a, p.b) for p in expected.pairs]
    np.testing.assert_allclose([p.r for p in got.pairs], [p.r for p in expected.pairs], atol=1e-4)
    assert got.steps == cache.COMPARE_CHARS
    assert tab.table.value["A cell"].tolist() == [p.a for p in expected.pairs]
    np.testing.assert_allclose(tab.table.value["r"], [round(p.r, 3) for p in expected.pairs], atol=1.1e-3)

    # the sequence shown, read in context by both: row k of each heatmap is the k-th pair
    frame_a, frame_b = tab.frames
    h_a, h_b = in_context(run_model, held, 300, 50), in_context(lstm_model, held, 300, 50)
    np.testing.assert_allclose(frame_a.values, h_a[:, [p.a for p in expected.pairs]].T, atol=1e-5)
    np.testing.assert_allclose(frame_b.values, h_b[:, [p.b for p in expected.pairs]].T, atol=1e-5)
    assert tab.maps[1].rows.data["cell"] == [p.b for p in expected.pairs]
    assert "Pearson r" in tab.note.object and f"{cache.COMPARE_CHARS:,} characters" in tab.note.object

    tab.other = str(no_four)                 # cannot read '4': one line, and nothing changes
    assert tab.error.visible and tab.error.object.startswith("model B cannot read the text:")
    assert "'4'" in tab.error.object and tab.error.object.count("\n") == 0
    assert tab.other == str(lstm_model) and tab.comparison is got and tab.frames == (frame_a, frame_b)

    state.window = 40                        # a new sequence: B reads it too
    np.testing.assert_allclose(tab.frames[1].values, in_context(lstm_model, held, 300, 40)[
        :, [p.b for p in expected.pairs]].T, atol=1e-5)


# --- Timeline -----------------------------------------------------------------------------------------

def test_the_timeline_shows_each_checkpoints_trace_and_labels(run_model, default_model):
    state = AppState(run_model, index=1000, window=80)
    tab = TimelineTab(state=state)
    tab.open()
    run = run_dir_of(run_model)
    assert tab.checkpoints == {8: run / "step-000008", 16: run / "step-000016", 24: run / "step-000024"}
    assert tab.step == 24
    held = heldout_of(run_model)
    annotations = annotations_of(held, cache.TIMELINE_CHARS)
    for step in (8, 16):
        tab.step = step
        path = tab.checkpoints[step]
        np.testing.assert_allclose(tab.frame.values, in_context(path, held.text, 1000, 80).T, atol=1e-5)
        assert tab.heatmap.figure.title.text.startswith(f"checkpoint at step {step} of 24")
        expected = label_cells(numpy_states(path, held.text[:cache.TIMELINE_CHARS])["h"], annotations, (-1.0, 1.0))
        got = tab.labels[step]
        assert [(lab.cell, lab.label) for lab in got] == [(lab.cell, lab.label) for lab in expected]
        np.testing.assert_allclose([lab.best.score if lab.best else np.nan for lab in got],
                                   [lab.best.score if lab.best else np.nan for lab in expected], atol=1e-4)
        assert tab.table.value["cell"].tolist() == [lab.cell for lab in expected]
        assert tab.marker.location == step
    # the score lines: cell c's share explained at every step
    ys = tab.scores.data["ys"]
    for k, step in enumerate((8, 16, 24)):
        for lab in tab.labels[step]:
            assert ys[lab.cell][k] == pytest.approx(lab.best.explained if lab.best else 0.0)   # a dead cell: 0
    assert tab.scores.data["xs"][0] == [8, 16, 24]
    # a model with no run says so
    other = TimelineTab(state=AppState(default_model))
    other.open()
    assert "No training timeline for this model" in other.body.objects[0].object
