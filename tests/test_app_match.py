"""The Match tab and the Saturation tab: every number against
a plain computation in the test -- on-cells and matches by explicit loops over states computed here
in one piece from the stream's start, saturation shares by counting -- the highlight placed on the
columns shown, and bad input refused in one line with nothing changed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope.app.pages import cache
from rnnscope.app.tabs.match_tab import TOP, span_columns
from rnnscope.app.pages.page import Page
from rnnscope.app.tabs.saturation_tab import SaturationTab
from rnnscope.app.pages.state import AppState
from rnnscope.models.network import checkpoint
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.tracer import hidden_states
from rnnscope.models.reading.tracer import trace as trace_of



class Click:
    def __init__(self, row: int):
        self.row = row


@pytest.fixture(scope="module")
def own_cache(tmp_path_factory):
    """State stores go to a folder of this module's own (models/store.default_store_path reads it),
    built by the first test that matches and reused by the next, as the page reuses it."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("cache")
        mp.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


def reference_on_cells(h: np.ndarray, start: int, end: int, t: float) -> list[int]:
    return [c for c in range(h.shape[1]) if all(h[s, c] > t for s in range(start, end + 1))
            and (start == 0 or h[start - 1, c] <= t) and (end + 1 == len(h) or h[end + 1, c] <= t)]


def reference_matches(h: np.ndarray, cells: list[int], t: float, length: int) -> list[tuple]:
    """Every maximal run where all ``cells`` are above t, by walking the steps one by one; each
    ranked by (other cells on throughout, |length - selection's|, start)."""
    runs, start = [], None
    for step in range(len(h) + 1):
        inside = step < len(h) and all(h[step, c] > t for c in cells)
        if inside and start is None:
            start = step
        elif not inside and start is not None:
            runs.append((start, step - 1))
            start = None
    others = [c for c in range(h.shape[1]) if c not in cells]
    rows = [(sum(bool((h[s:e + 1, c] > t).all()) for c in others), abs(e - s + 1 - length), s, e) for s, e in runs]
    return sorted(rows)[:TOP]


def test_span_columns_are_the_columns_whose_centres_the_drag_covers():
    assert span_columns(47.6, 50.4, 100) == (48, 50)
    assert span_columns(50.4, 47.6, 100) == (48, 50)          # dragged right to left
    assert span_columns(9.5, 9.5, 100) is None and span_columns(10.0, 10.0, 100) == (10, 10)
    assert span_columns(3.6, 3.9, 100) is None                 # between two centres: no whole character
    assert span_columns(-4.0, 1.2, 100) == (0, 1) and span_columns(97.8, 130.0, 100) == (98, 99)


def test_a_span_gives_its_on_cells_and_the_ranked_matches_of_the_whole_stream(default_model, own_cache):
    page = Page(AppState(default_model))                # held-out characters 0 .. 99, read in context
    tab = page.match
    text = heldout_of(default_model).text
    h = hidden_states(checkpoint.load(default_model), text)[0][0]      # [200,000, 15], in one piece

    tab.select_columns(47.6, 50.4)                      # the columns of characters 48 .. 50
    cells = reference_on_cells(h, 48, 50, 0.5)
    assert cells and list(tab.cells) == cells and f"on-cells** at h > 0.5: **{cells}**" in tab.said.object
    assert (tab.box.left, tab.box.right, tab.box.visible) == (47.5, 50.5, True)
    assert "built just now" in tab.status.object and "200,000 steps" in tab.status.object
    assert len(list(own_cache.glob("rnnscope/stores/*.zarr"))) == 1
    table = tab.table.value
    expected = reference_matches(h, cells, 0.5, 3)
    assert list(zip(table["extra_on"], table["length_gap"], table["start"], table["end"])) == expected
    assert list(table["rank"]) == list(range(1, TOP + 1))
    first = table.iloc[0]
    assert f"\u27e6{text[first['start']:first['end'] + 1]}\u27e7" in first["text"]

    tab.threshold = 0.3                                  # the same span re-read: the store is not built again
    assert list(tab.cells) == reference_on_cells(h, 48, 50, 0.3) and "built just now" not in tab.status.object
    tab.threshold = 0.5

    # A click loads the match, centred in a window of the same length, read in context, span highlighted.
    start, end = int(table.iloc[2]["start"]), int(table.iloc[2]["end"])
    tab._on_click(Click(2))
    state = page.state
    index = max(0, start - (100 - (end - start + 1)) // 2)
    assert (state.source, state.index, state.window, state.reading) == ("held-out", index, 100, "in context")
    assert state.trace.text == text[index:index + 100]
    assert np.allclose(state.trace.hidden[0], h[index:index + 100], atol=1e-5)
    assert (tab.box.left, tab.box.right, tab.box.visible) == (start - index - 0.5, end - index + 0.5, True)

    # Separators hidden: the highlight covers the columns of the characters left showing.
    state.hide_separators = True
    shown = [k for k, ch in enumerate(state.trace.text) if ch != " "]
    inside = [col for col, k in enumerate(shown) if start - index <= k <= end - index]
    assert (tab.box.left, tab.box.right) == (inside[0] - 0.5, inside[-1] + 0.5)
    state.hide_separators = False

    state.index = 5_000                                  # another sequence: the highlight goes
    assert not tab.box.visible
    tab._on_click(Click(2))                              # ... and a click brings it back
    assert state.index == index and tab.box.visible


def test_bad_spans_and_thresholds_are_refused_in_one_line_and_change_nothing(default_model, own_cache):
    page = Page(AppState(default_model))
    tab = page.match
    tab.select_columns(47.6, 50.4)
    kept = (list(tab.cells), tab.table.value.copy(), (tab.box.left, tab.box.right), tab.selection["start"])

    def unchanged():
        assert tab.error.visible and tab.error.object.count("\n") == 0 and tab.error.object.endswith("Nothing changed.")
        assert (list(tab.cells), (tab.box.left, tab.box.right), tab.selection["start"]) == (kept[0], kept[2], kept[3])
        assert tab.table.value.equals(kept[1])

    tab.select_columns(3.6, 3.9)
    assert "no whole character" in tab.error.object
    unchanged()
    for bad in (1.0, 1.5, -1.0, None):
        tab.threshold = bad
        assert "strictly between -1 and 1" in tab.error.object and tab.threshold == 0.5
        unchanged()
    tab.threshold = 0.99                                # in range, but no cell is on there and off around
    assert "no cell of layer 0 is above 0.99 " in tab.error.object and tab.threshold == 0.5
    unchanged()
    tab.select_columns(0.6, 4.4)                         # " 0 (": the spaces switch every cell off
    assert "select another span or lower the threshold" in tab.error.object
    unchanged()
    tab.param.trigger("plot_cells")                      # the on-cells join the picked cells
    assert page.state.selected == kept[0]


def test_a_model_without_a_held_out_stream_says_what_is_missing(tmp_path, own_cache):
    text = tmp_path / "t.txt"
    text.write_text("hello world, hello rnnscope\n" * 100, encoding="utf-8")
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=sorted(set(text.read_text())), hidden_size=4, embedding_dim=3))
    checkpoint.save(model, tmp_path / "m", {"data": {"kind": "text", "path": str(text)}})
    text.unlink()                                        # its held-out stream was the tail of this file
    state = AppState(tmp_path / "m", text="hello world")
    tab = Page(state).match
    stores = len(list(own_cache.glob("rnnscope/stores/*")))
    tab.threshold = -0.99
    tab.select(0, len(state.text) - 1)                    # the whole text: no outside, every cell above -0.99 is on
    assert len(tab.cells) > 0 and tab.error.visible
    assert "nothing to match against" in tab.error.object and "no longer exists" in tab.error.object
    assert tab.table.value.empty and len(list(own_cache.glob("rnnscope/stores/*"))) == stores


def test_the_saturation_tab_counts_each_cells_saturated_steps(default_model):
    state = AppState(default_model)
    tab = SaturationTab(state=state)
    assert tab.body.objects == []                       # nothing computed until the tab is shown
    tab.open()
    assert list(tab.sources) == [(0, "h"), (0, "z"), (0, "r"), (0, "n")]
    model = checkpoint.load(default_model)
    tr = trace_of(model, heldout_of(default_model).text[:cache.LABEL_CHARS])      # read from the start: in context
    for (layer, view), source in tab.sources.items():
        v = tr.values(view, layer).astype(np.float64)
        low = -0.9 if view in ("h", "n") else 0.1
        assert list(source.data["cell"]) == list(range(15))
        assert np.allclose(source.data["left"], [np.mean(v[:, c] < low) for c in range(15)], atol=5e-5)
        assert np.allclose(source.data["right"], [np.mean(v[:, c] > 0.9) for c in range(15)], atol=5e-5)
    assert max(max(s.data["left"]) + max(s.data["right"]) for s in tab.sources.values()) > 0.5   # it has switches

    state.selected = [1]
    tab.sources[0, "z"].selected.indices = [6]           # a click on cell 6's point of z
    assert (state.layer, state.view, state.selected) == (0, "z", [1, 6])


def test_an_lstm_leaves_its_unbounded_cell_state_out_and_says_so(lstm_model):
    tab = SaturationTab(state=AppState(lstm_model))
    tab.open()
    assert list(tab.sources) == [(0, v) for v in ("h", "i", "f", "g", "o")]
    assert "Left out: c (unbounded" in tab.body.objects[0].object


def test_cells_on_one_saturation_point_are_all_listed_and_each_can_be_plotted(default_model):
    state = AppState(default_model)
    tab = SaturationTab(state=state)
    tab.open()
    piles, lone = [], []
    for (layer, view), source in tab.sources.items():
        points = np.c_[source.data["left"], source.data["right"]]
        for i, p in enumerate(points):
            same = [int(source.data["cell"][j]) for j in range(len(points))
                    if abs(points[j, 0] - p[0]) < 0.005 and abs(points[j, 1] - p[1]) < 0.005]
            (piles if len(same) > 1 else lone).append((layer, view, i, same))
    assert piles and lone          # the shipped GRU has both (cells never saturated pile up at the origin)
    layer, view, i, same = piles[0]
    state.selected = []
    tab.sources[layer, view].selected.indices = [i]
    note = tab.point_note.object
    assert tab.point_note.visible and f"**{len(same)} cells on this point**" in note
    assert f"cells {', '.join(map(str, sorted(same)))}." in note
    assert [b.name for b in tab.choices.objects] == [f"cell {c}" for c in sorted(same)] and state.selected == []
    tab.choices.objects[1].clicks += 1                     # pick the second cell on the point
    assert state.selected == [sorted(same)[1]] and (state.layer, state.view) == (layer, view)
    layer, view, i, (cell,) = lone[0]
    tab.sources[layer, view].selected.indices = [i]        # a point of its own: plotted at once
    assert cell in state.selected and not tab.point_note.visible


def test_a_loaded_window_counts_positions_from_the_stream_s_start(default_model, own_cache):
    page = Page(AppState(default_model, index=30, window=100))
    tab = page.match
    assert list(page.scope.seq.data["pos"][:3]) == [30, 31, 32]        # the axis and hover: absolute
    tab.select_columns(47.6, 51.4)                                      # columns 48 .. 51: characters 78 .. 81
    assert "**Selected:** characters 78 .. 81" in tab.said.object
    first = int(tab.table.value.iloc[0]["start"])
    tab._on_click(Click(0))                                             # a match loaded: its own absolute place
    state = page.state
    box = range(int(tab.box.left + 0.5), int(tab.box.right + 0.5))
    assert [int(page.scope.seq.data["pos"][c]) for c in box][0] == first
    assert page.frame.offset == state.index
    state.source, state.text = "typed", "( 1 ) 0 "
    state.param.trigger("text")
    assert list(page.scope.seq.data["pos"]) == list(range(8))          # typed text counts from 0
