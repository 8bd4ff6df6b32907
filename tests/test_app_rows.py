"""Tall heatmaps, row filters and orders that mean something, the model switch that cannot leave
the old trace on screen, and sampling from the model's own start: checked on hand-built rankings,
hand-counted geometry and tiny models, through AppState parameters and the Bokeh sources."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from bokeh.models import ColumnDataSource, Range1d

from rnnscope import grammar
from rnnscope.analysis.describe.labels import CellLabel, Finding
from rnnscope.analysis.describe.compare import match_cells
from rnnscope.app.pages import cache
from rnnscope.app.drawing.compare import pair_rows, paired_frames
from rnnscope.app.drawing.frame import STATES_ONLY, make_frame
from rnnscope.app.drawing.heatmap import (FRAME_PX, LABEL_PX, MIN_ROW_PX, NOTE_PX, PLOT_PX, ROW_PX, label_ticks,
                                         Heatmap, plot_height, row_px, rows_in_view, sequence_data)
from rnnscope.app.drawing.ordering import cell_order, label_score_ranking, orders_for
from rnnscope.app.pages.page import Page
from rnnscope.app.drawing.row_filter import ALL, LISTED, RowFilter, filter_rows, parse_cells
from rnnscope.app.drawing.scope import Scope
from rnnscope.app.pages.state import AppState
from rnnscope.models.network import checkpoint
from rnnscope.models.reading import tracer
from rnnscope.models.reading.trace import Trace
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig


GRAMMAR_VOCAB = grammar.GrammarSpec().alphabet
TEXT = "( 1 ( 2 ) 1 ) 0 ( 1 ) 0 "


@pytest.fixture(scope="module")
def wide_model():
    """An untrained 512-cell LSTM: its cells mean nothing, only their number matters here."""
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab=GRAMMAR_VOCAB, cell="lstm", hidden_size=512, embedding_dim=4))


@pytest.fixture(scope="module")
def letters_model(tmp_path_factory) -> Path:
    """A model of letters with no training record: no held-out stream to open on."""
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=list("abcdef "), cell="gru", hidden_size=5))
    return checkpoint.save(model, tmp_path_factory.mktemp("models") / "letters5")


# --- the cell list ------------------------------------------------------------------------------
def test_a_cell_list_reads_ranges_and_single_cells_in_the_order_written():
    assert parse_cells("0-3, 40, 7", 64).tolist() == [0, 1, 2, 3, 40, 7]
    assert parse_cells(" 5 ; 9\u201311 ", 12).tolist() == [5, 9, 10, 11]       # ; and an en dash too


@pytest.mark.parametrize("text, said", [("", "empty"), (" , ", "empty"), ("0-3, x", "'x' is not a cell number"),
                                        ("7-2", "runs backwards (write 2-7)"), ("0-31, 200", "cell 200 does not exist"),
                                        ("0-4, 3", "cell 3 is listed twice"), ("-1", "'-1' is not")])
def test_a_bad_cell_list_is_refused_naming_the_item(text, said):
    with pytest.raises(RnnscopeError, match=said.replace("(", r"\(").replace(")", r"\)")):
        parse_cells(text, 64)


def test_top_k_takes_the_rankings_best_and_the_order_places_them():
    ranking = np.array([5, 2, 7, 0, 1, 3, 4, 6])
    keep, what = RowFilter("top k by label score", k=3).keep(8, {"label score": ranking})
    assert keep.tolist() == [5, 2, 7] and what.startswith("top 3 by label score")
    assert filter_rows(np.arange(8), keep).tolist() == [2, 5, 7]                 # index order
    assert filter_rows(ranking, keep).tolist() == [5, 2, 7]                      # label-score order
    assert filter_rows(np.array([7, 6, 5, 4, 3, 2, 1, 0]), keep).tolist() == [7, 5, 2]
    assert RowFilter(ALL).keep(8, {}) == (None, "")
    with pytest.raises(RnnscopeError, match="k must be 1 .. 8"):
        RowFilter("top k by label score", k=9).keep(8, {"label score": ranking})
    with pytest.raises(RnnscopeError, match="no ranking by"):
        RowFilter("top k by |r| with depth", k=2).keep(8, {"label score": ranking})


def test_label_score_ranks_by_share_explained_with_constant_cells_last():
    def lab(cell, explained):
        best = None if explained is None else Finding("char", "MI", 2 * explained, explained)
        return CellLabel(cell, "", best, [], 0.0, 1.0)
    # share explained: cell 0 0.1, cell 1 none (constant), cell 2 0.6, cell 3 0.1, cell 4 0.3
    labels = [lab(2, 0.6), lab(0, 0.1), lab(4, 0.3), lab(1, None), lab(3, 0.1)]
    assert label_score_ranking(labels, 5).tolist() == [2, 4, 0, 3, 1]


# --- orders -------------------------------------------------------------------------------------
def test_orders_offered_are_those_that_mean_something():
    assert orders_for(has_depth=True, has_heldout=True) == ["index", "depth", "cluster", "label score"]
    assert orders_for(has_depth=False, has_heldout=True) == ["index", "cluster", "label score"]
    assert orders_for(has_depth=False, has_heldout=False) == ["index", "cluster"]


def test_an_order_that_cannot_apply_says_so_and_never_falls_back_silently():
    values = np.random.default_rng(0).normal(size=(30, 4))
    rows, note = cell_order(values, None, "depth")
    assert rows.tolist() == [0, 1, 2, 3] and note == "no grammar depth in this sequence: rows in index order"
    rows, note = cell_order(values, None, "label score")
    assert rows.tolist() == [0, 1, 2, 3] and "no label scores" in note
    rows, note = cell_order(values, None, "label score", np.array([3, 1, 0, 2]))
    assert rows.tolist() == [3, 1, 0, 2] and note == ""


def test_depth_order_on_text_without_depth_says_so_in_the_title():
    model = CharRNN(ModelConfig(vocab=list("abc "), hidden_size=3, embedding_dim=2))
    frame = make_frame(tracer.trace(model, "abc cab"), order="depth")
    assert "(no grammar depth in this sequence: rows in index order)" in frame.title
    assert frame.cells.tolist() == [0, 1, 2]


# --- tall heatmaps ------------------------------------------------------------------------------
def test_row_height_shrinks_to_fit_and_the_plot_is_never_taller_than_plot_px():
    assert (row_px(15), plot_height(15), rows_in_view(15)) == (ROW_PX, 300, 15)     # 15 x 20 px, as before
    assert PLOT_PX // ROW_PX == 22 and plot_height(22) == 440 and row_px(23) < ROW_PX
    # 128 cells: 3.4 px rows in 440 px, all of them in view; the frame (title, toolbar, both x axes) adds 90 px,
    # which, under the page's header and notes, ends the character axis above the fold of a 768 px screen
    assert plot_height(128) == PLOT_PX == 440 and row_px(128) == 440 / 128 and rows_in_view(128) == 128
    assert PLOT_PX + FRAME_PX <= 768 - 190          # 190 px: the header and two notes, measured in Chromium
    # past PLOT_PX cells a row would get under a pixel (and the image would drop rows): the top 440 are in view
    assert (row_px(512), plot_height(512), rows_in_view(512)) == (MIN_ROW_PX, 440, 440)
    assert (plot_height(1024), rows_in_view(1024)) == (440, 440)
    assert plot_height(2) == 160                                            # never a sliver


def test_row_labels_never_overlap_and_zooming_labels_every_row():
    # 128 rows on 440 px: 3.4 px a row, a label every ceil(14 / 3.44) = 5th row, the top row first
    ticks = label_ticks(128, -0.5, 127.5, 440)
    assert ticks[:3] == [127, 122, 117] and len(ticks) == 26
    assert min(-np.diff(ticks)) * 440 / 128 >= LABEL_PX
    # zoomed to 30 rows (14.7 px each): every row in view labelled, none outside it
    assert label_ticks(128, 60.5, 90.5, 440) == list(range(90, 60, -1))
    # a zoom that leaves under LABEL_PX a row labels every other row (even displayed rows: the same labels as
    # the reader pans), never two closer than LABEL_PX
    assert label_ticks(128, 60.5, 100.5, 440) == list(range(99, 60, -2))
    # 512 rows, zoomed to rows 100..119 (y 392..411): 22 px a row, each one labelled
    assert label_ticks(512, 391.5, 411.5, 440) == list(range(411, 391, -1))
    # 15 rows of 20 px: every row
    assert label_ticks(15, -0.5, 14.5, 300) == list(range(14, -1, -1))


def test_a_512_cell_heatmap_opens_on_its_top_440_rows_every_one_a_pixel_and_says_so(wide_model):
    trace = tracer.trace(wide_model, TEXT)
    frame = make_frame(trace, view="c")
    assert frame.values.shape == (512, len(TEXT)) and frame.row_labels[511] == "cell 511"
    np.testing.assert_array_equal(frame.values[300], trace.values("c", 0)[:, 300])
    scope = Scope()
    scope.update(frame)
    heatmap = scope.heatmap
    fig = heatmap.figure
    assert fig.height == 440 + FRAME_PX + NOTE_PX
    # every row reachable (bounds), the top 440 in view (rows 0..439 are y 511..72), Reset goes back there
    assert fig.y_range.bounds == (-0.5, 511.5) and (fig.y_range.start, fig.y_range.end) == (71.5, 511.5)
    assert (fig.y_range.reset_start, fig.y_range.reset_end) == (71.5, 511.5)
    assert heatmap.in_view.visible and heatmap.in_view.text.startswith("top 440 of 512 rows in view")
    assert {type(t).__name__ for t in fig.tools} >= {"PanTool", "WheelZoomTool", "BoxZoomTool", "ResetTool"}
    assert sorted(t.dimensions for t in fig.tools if type(t).__name__ == "WheelZoomTool") == ["height", "width"]
    assert fig.toolbar.active_scroll.dimensions == "width"        # the wheel still zooms characters first
    assert heatmap.rows.data["label"][0] == "cell 0"
    # a filter to 10 rows: 200 px, all in view, no note; bounds follow; only colours changing keeps a y zoom
    frame10 = make_frame(trace, view="c", rows=RowFilter(LISTED, cells="500-509"))
    scope.update(frame10)
    assert fig.height == 200 + 90 and fig.y_range.bounds == (-0.5, 9.5) and not heatmap.in_view.visible
    fig.y_range.update(start=2.5, end=6.5)                        # the browser zoomed in
    scope.update(make_frame(trace, view="c", rows=RowFilter(LISTED, cells="500-509"), selected=[501]))
    assert (fig.y_range.start, fig.y_range.end) == (2.5, 6.5)


def test_a_128_cell_heatmap_is_capped_and_a_15_cell_one_unchanged():
    """Cells that mean nothing: only their number matters. 128 rows: 440 px, every row in view; 15: 20 px rows."""
    torch.manual_seed(0)
    for cells, height, px in ((128, 440, 440 / 128), (15, 300, ROW_PX)):
        model = CharRNN(ModelConfig(vocab=GRAMMAR_VOCAB, cell="lstm", hidden_size=cells, embedding_dim=4))
        scope = Scope()
        scope.update(make_frame(tracer.trace(model, TEXT)))
        fig = scope.heatmap.figure
        assert fig.height == height + FRAME_PX and plot_height(cells) / cells == px
        assert (fig.y_range.start, fig.y_range.end) == (-0.5, cells - 0.5) and not scope.heatmap.in_view.visible


def test_a_filtered_heatmap_keeps_the_lines_of_hidden_selected_cells(wide_model):
    trace = tracer.trace(wide_model, TEXT)
    frame = make_frame(trace, view="c", selected=[3, 400], rows=RowFilter(LISTED, cells="400-402"))
    assert frame.cells.tolist() == [400, 401, 402]
    assert frame.title.endswith("showing 3 of 512 cells (filter: cells 400-402)")
    np.testing.assert_array_equal(frame.selected_values(), trace.values("c", 0)[:, [3, 400]].T)
    hidden = make_frame(trace, view="c", selected=[3], rows=RowFilter(LISTED, cells="400-402"), hide_separators=True)
    np.testing.assert_array_equal(hidden.selected_values()[0], trace.values("c", 0)[:, 3][np.array(list(TEXT)) != " "])


# --- the page -----------------------------------------------------------------------------------
def test_top_k_by_depth_and_by_label_score_on_the_page(default_model, monkeypatch):
    monkeypatch.setattr(cache, "LABEL_CHARS", 4000)          # a small labelling run for the test
    state = AppState(default_model)
    page = Page(state)
    assert state.param.order.objects == ["index", "depth", "cluster", "label score"]
    state.param.update(rows="top k by |r| with depth", top_k=4)
    values, depth = state.trace.values("h", 0), state.trace.annotations["depth"]
    r = np.abs([np.corrcoef(values[:, c], depth)[0, 1] for c in range(15)])
    assert sorted(page.frame.cells.tolist()) == sorted(np.argsort(-r)[:4].tolist())
    assert page.scope.heatmap.source.data["image"][0].shape[0] == 4
    title = page.scope.heatmap.figure.title.text
    assert "showing 4 of 15 cells (filter: top 4 by |r| with depth)" in title
    state.param.update(rows="top k by label score", order="label score")
    labels = cache.cell_labels(state.model_path, "h", 0, 4000)[0]
    share = {lab.cell: lab.best.explained if lab.best else -1.0 for lab in labels}     # constant cells: no label
    best4 = sorted(range(15), key=lambda c: (-share[c], c))[:4]
    assert page.frame.cells.tolist() == best4


def test_a_bad_filter_is_refused_in_one_line_and_changes_nothing(default_model):
    state = AppState(default_model)
    page = Page(state)
    state.param.update(rows=LISTED, cell_list="2, 7-9")
    assert page.frame.cells.tolist() == [2, 7, 8, 9] and state.error == ""
    image = page.scope.heatmap.source.data["image"][0].copy()
    state.cell_list = "2, 7-90"
    assert state.error.startswith("cell list: cell 90 does not exist; this model's cells are 0 .. 14.")
    assert state.cell_list == "2, 7-9" and page.frame.cells.tolist() == [2, 7, 8, 9]
    np.testing.assert_array_equal(page.scope.heatmap.source.data["image"][0], image)
    state.param.update(rows="top k by label score", top_k=16)
    assert "k must be 1 .. 15" in state.error and state.rows == LISTED and state.top_k == 20
    state.cell_list = "0-1"                                    # a good filter clears the message
    assert state.error == "" and page.frame.cells.tolist() == [0, 1]


def test_switching_to_a_model_that_cannot_read_the_typed_text_opens_on_its_own_stream(
        default_model, letters_model, lstm_model):
    state = AppState(letters_model, source="typed", text="bad cafe")
    page = Page(state)
    assert state.param.order.objects == ["index", "cluster"]            # no depth, no held-out text
    state.param.model_path.objects = {"letters": str(letters_model), "gru": str(default_model)}
    state.model_path = str(default_model)
    assert state.source == "held-out" and state.index == 0
    assert "gru15-parens cannot read the typed text" in state.error and "'b' at 0" in state.error
    assert "held-out stream instead" in state.error
    assert state.trace.text == state._stream[:state.window]             # the new model's own trace...
    assert page.scope.heatmap.source.data["image"][0].shape == (15, state.window)   # ... under its name


def test_a_model_with_nothing_to_show_is_refused_and_the_previous_one_stays(lstm_model, letters_model):
    state = AppState(lstm_model, source="typed", text="( 1 ) 0 ")
    page = Page(state)
    state.param.model_path.objects = {"lstm": str(lstm_model), "letters": str(letters_model)}
    state.model_path = str(letters_model)
    assert state.model_path == str(lstm_model) and state.trace.text == "( 1 ) 0 "
    assert "letters5 cannot read the typed text" in state.error and "no held-out stream" in state.error
    assert page.scope.heatmap.source.data["image"][0].shape == (6, 8)


def test_the_page_samples_from_the_models_own_start_and_says_so(default_model):
    from rnnscope.models.reading.sample import sample
    state = AppState(default_model)
    state.param.update(sample_chars=80, seed=5)
    state.param.trigger("sample")
    assert state.trace.text == sample(state._model, 80, 1.0, 5, primes=[""])[0]
    assert "prime none: the model's own start (its first character drawn from the grammar's" in state.sequence_note


# --- compare: every pair labelled ---------------------------------------------------------------
def _states_frame(values: np.ndarray):
    T = values.shape[0]
    return make_frame(Trace(text="ab cd " * (T // 6), vocab=[], cell=STATES_ONLY, hidden=[values],
                            gates=[{"states": values}], probs=np.zeros((T, 0), np.float32)), "states", 0)


@pytest.mark.parametrize("cells_b", [128, 15])
def test_compare_opens_both_heatmaps_on_the_pairs_with_every_pair_labelled_on_both_sides(cells_b):
    """A of 15 cells against B of 128 (B's cells 100..114 are A's, scaled and reversed; the rest noise):
    both heatmaps open on the 15 pair rows at A's own 20 px a row, so the ticker labels each of them,
    "A a <-> B b r=..." on A's side and "B b <-> A a ..." on B's; B's 113 unmatched cells are a pan away."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((60, 15)).astype(np.float32)
    b = rng.standard_normal((60, cells_b)).astype(np.float32)
    mirrored = np.arange(100, 115) if cells_b == 128 else np.arange(15)
    b[:, mirrored] = 0.5 * a[:, ::-1]
    comparison = match_cells(a, b)
    assert sorted((p.a, p.b) for p in comparison.pairs) == [(k, int(mirrored[14 - k])) for k in range(15)]
    frames = paired_frames(_states_frame(a), _states_frame(b), comparison)
    rows = pair_rows(comparison)
    assert rows == 15
    seq = ColumnDataSource(sequence_data(frames[0]))
    x_range = Range1d(-0.5, 59.5)
    for frame, side, other in zip(frames, "AB", "BA"):
        heatmap = Heatmap(seq, x_range)
        heatmap.update(frame, rows)
        H = len(frame.cells)
        fig = heatmap.figure
        assert (fig.y_range.start, fig.y_range.end) == (H - 15.5, H - 0.5) and fig.y_range.bounds == (-0.5, H - 0.5)
        assert fig.height == 300 + FRAME_PX + (NOTE_PX if H > 15 else 0)        # 20 px rows on both sides
        assert heatmap.in_view.visible == (H > 15)
        ticks = label_ticks(H, fig.y_range.start, fig.y_range.end, plot_height(rows))
        labelled = [H - 1 - t for t in ticks]                  # displayed rows, top first
        assert labelled == list(range(15))                     # every pair row, and only those in view
        for r in labelled:
            pair = comparison.pairs[r]
            mine, theirs = (pair.a, pair.b) if side == "A" else (pair.b, pair.a)
            assert heatmap.rows.data["label"][r].startswith(f"{side} {mine}  \u2194 {other} {theirs}  r=")
            assert heatmap.rows.data["cell"][r] == mine


def test_more_pairs_than_fit_open_on_as_many_as_can_be_labelled():
    """128 against 128: the first 31 pairs (14.2 px rows, at least LABEL_PX) in view, each labelled."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((40, 128)).astype(np.float32)
    comparison = match_cells(a, a[:, ::-1].copy())
    assert pair_rows(comparison) == PLOT_PX // LABEL_PX == 31
    heatmap = Heatmap(ColumnDataSource(sequence_data(_states_frame(a))), Range1d(-0.5, 39.5))
    heatmap.update(paired_frames(_states_frame(a), _states_frame(a[:, ::-1].copy()), comparison)[0], 31)
    fig = heatmap.figure
    assert (fig.y_range.start, fig.y_range.end) == (96.5, 127.5)
    assert label_ticks(128, 96.5, 127.5, plot_height(31)) == list(range(127, 96, -1))
