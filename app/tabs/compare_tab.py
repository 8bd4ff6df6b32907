"""The Compare tab: a second model B, chosen from the same list as the page's model,
reads the same sequence; the cells of A (the page's model, its view and layer) and of B are paired by an
optimal one-to-one assignment on |Pearson r| over A's held-out stream read in context by both
(analysis/describe/compare.py, cached per pair in app/pages/cache.py), and drawn as A's heatmap over B's, row k of
each being the k-th pair, panning and zooming with the page's heatmap; the pairs table gives each r.

A held-out window read in context is read in context by B too: B reads A's stream from its start
(as `rnnscope compare` does). A model B that cannot read the text, or lacks the view or layer, is
refused in one line and the comparison shown stays, as does the choice it was made with.

Until a B is chosen, B is another training of the page's model when the list has one (app/pages/checkpoints.py
``sibling_of``: same network and vocabulary, other weights, e.g. the shipped GRU-15 and its second seed), and
follows the page's model; a B chosen by hand stays."""
from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Range1d

from rnnscope.analysis.describe.compare import Comparison, check_readable
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.checkpoints import sibling_of
from rnnscope.app.drawing.compare import pair_rows, paired_frames
from rnnscope.app.drawing.frame import Frame, make_frame, separator_columns, without_separators
from rnnscope.app.drawing.heatmap import Heatmap, sequence_data
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState

NONE = ""
CHOOSE = "Choose a model B to compare the page's model with."
REDRAW_ON = ["trace", "view", "layer", "hide_separators"]
PAIR_COLUMNS = ["A cell", "B cell", "r"]


def pairs_frame(comparison: Comparison | None) -> pd.DataFrame:
    rows = [] if comparison is None else [
        {"A cell": p.a, "B cell": p.b, "r": None if np.isnan(p.r) else round(p.r, 3)} for p in comparison.pairs]
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


class CompareTab(LazyTab):
    state = param.ClassSelector(class_=AppState)
    other = param.Selector(default=NONE, objects={"(choose a model)": NONE}, label="Compare with model B")
    other_layer = param.Selector(default=0, objects={"layer 0": 0}, label="B's layer")

    def __init__(self, x_range: Range1d | None = None, **params):
        """``x_range``: the heatmap's, so both heatmaps here pan and zoom with it."""
        super().__init__(**params)
        self.x_range = x_range or Range1d(-0.5, 0.5)
        self.seq = ColumnDataSource(sequence_data(make_frame(self.state.trace)))
        self.maps = [Heatmap(self.seq, self.x_range) for _ in range(2)]
        # Shown by the Column around it: toggling a Bokeh pane's own `visible` fails in Panel 1.9 (it re-syncs
        # the figure's stylesheets and rejects Bokeh's own).
        self.plots = pn.Column(pn.pane.Bokeh(column(*(m.figure for m in self.maps), sizing_mode="stretch_width"),
                                             sizing_mode="stretch_width"), visible=False, sizing_mode="stretch_width")
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.note = pn.pane.Markdown(CHOOSE, sizing_mode="stretch_width", margin=(0, 10))
        self.table = pn.widgets.Tabulator(pairs_frame(None), show_index=False, disabled=True, selectable=False,
                                          sizing_mode="stretch_width", height=300, visible=False)
        self.table.on_click(self._on_click)
        self.comparison: Comparison | None = None
        self.frames: tuple[Frame, Frame] | None = None      # A's and B's, rows in pair order
        self._good = (NONE, 0)          # the (other, other_layer) of the comparison shown
        self._restoring = False
        self._auto = NONE               # the B picked for the page's model (not by hand): it follows the model
        self._models()
        self.state.param.watch(self._models, ["model_path"])
        self.state.param.watch(self._refresh, REDRAW_ON + ["model_path", "heldout_key"])
        self.param.watch(self._refresh, ["other", "other_layer"])

    def _models(self, *events) -> None:
        """The page's model list (the same the model selector offers), and B picked anew for the page's model
        unless B was chosen by hand."""
        offered = self.state.param.model_path.objects
        self.param.other.objects = {"(choose a model)": NONE, **offered}
        if self.other not in (NONE, self._auto):
            return
        self._auto = sibling_of(self.state.model_path, offered.values()) or NONE
        # Quietly: the page's model changing recomputes this tab next (its own watcher, registered after this
        # one), and in __init__ nothing is computed yet.
        self._restoring = True
        try:
            self.other = self._auto
        finally:
            self._restoring = False

    def _refresh(self, *events) -> None:
        if not self.opened or self._restoring:
            return
        if self.other == NONE:
            return self._clear()
        s = self.state
        try:
            model_b = cache.load_model(self.other)
            self._layers_of(model_b.config.num_layers)
            check_readable(model_b, s.trace.text, "model B")
            comparison = cache.comparison(s.model_path, self.other, s.view, s.layer, self.other_layer,
                                          key=s.heldout_key)
            trace_b, how = self.trace_b()
        except RnnscopeError as e:
            return self._refuse(str(e))
        frame_a = make_frame(s.trace, s.view, s.layer, hide_separators=s.hide_separators)
        frame_b = make_frame(trace_b, s.view, self.other_layer)
        if s.hide_separators:         # A's columns exactly, so both line up under the page's x range
            frame_b = without_separators(frame_b, separator_columns(s.trace))
        self.frames = paired_frames(frame_a, frame_b, comparison, ("A", "B"))
        self.comparison, self._good = comparison, (self.other, self.other_layer)
        self.seq.data = sequence_data(self.frames[0])
        rows = pair_rows(comparison)
        for heatmap, frame in zip(self.maps, self.frames):
            heatmap.update(frame, rows)
        self.table.value = pairs_frame(comparison)
        self.plots.visible = self.table.visible = True
        self.error.visible = False
        mean = "n/a" if np.isnan(comparison.mean_abs_r) else f"{comparison.mean_abs_r:.3f}"
        self.note.object = (
            f"**Statistic: Pearson r** between each cell of A ({s.view}, layer {s.layer}) and each of B (layer "
            f"{self.other_layer}) over the first {comparison.steps:,} characters of A's held-out stream, read from "
            f"its start (in context) by both; cells paired one to one by an optimal assignment on |r| (scipy's "
            f"linear_sum_assignment). Mean |r| of the {len(comparison.pairs)} pairs: **{mean}**. Below: A over B on "
            f"the sequence shown ({how}), row k of each the k-th pair, best |r| first. Click a pair to plot A's cell."
            + (" B was picked as another training of A's network (same cells and vocabulary, other weights); "
               "choose any other above." if self.other == self._auto else ""))

    def _clear(self) -> None:
        """No B: nothing compared is shown (not the comparison of a model the page has left)."""
        self.comparison, self.frames, self._good = None, None, (NONE, 0)
        self.plots.visible = self.table.visible = self.error.visible = False
        self.note.object = CHOOSE

    def _layers_of(self, layers: int) -> None:
        """B's layers in the picker; another B without the chosen layer starts at its layer 0 (the picker shows it)."""
        with param.discard_events(self):
            self.param.other_layer.objects = {f"layer {k}": k for k in range(layers)}
            if self.other_layer >= layers:
                self.other_layer = 0

    def trace_b(self):
        """B's trace of the sequence shown, and how B read it."""
        s = self.state
        if s.source == "held-out" and s.reading == "in context":
            return (cache.trace_stream_in_context(self.other, s.model_path, s.index, len(s.trace), s.heldout_key),
                    "B reads A's held-out stream from its start, as A does")
        return cache.trace_text(self.other, s.trace.text), "both from the zero state"

    def _refuse(self, why: str) -> None:
        """One line; the comparison shown and the choice it was made with stay."""
        self.error.object = why.rstrip(".") + "." + (" The comparison shown is unchanged." if self.comparison else "")
        self.error.visible = True
        self._restoring = True
        try:
            if self._good[0] != NONE:
                self._layers_of(cache.load_model(self._good[0]).config.num_layers)
            self.param.update(other=self._good[0], other_layer=self._good[1])
        finally:
            self._restoring = False

    def _on_click(self, event) -> None:
        cell = int(self.table.value.iloc[event.row]["A cell"])
        self.state.plot_cell(cell)
        self.state.inspect(cell, self.state.layer)

    def _layout(self):
        return pn.Column(pn.Row(pn.widgets.Select.from_param(self.param.other, width=320),
                                pn.widgets.Select.from_param(self.param.other_layer, width=120)),
                         self.error, self.note, self.plots, self.table, sizing_mode="stretch_width")
