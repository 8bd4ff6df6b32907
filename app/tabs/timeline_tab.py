"""The Training timeline tab: for a model trained with `--save-every`, a slider over its
run's periodic checkpoints (OUT.run/step-N, models/training/run.py) showing the same sequence read by the
checkpoint of that step (a heatmap sharing the page's x range) and every cell's label at that step
(analysis/describe/labels.py on the final model's held-out stream read in context), beside each cell's share
explained at every step: an interpretable cell appearing is a line rising.

Labels of every checkpoint are computed when the tab is first opened for a model (TIMELINE_CHARS
held-out characters each; shared by all sessions, app/pages/cache.py); a model without a run says so."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Range1d, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.training.run import periodic_checkpoints, run_dir_of

from rnnscope.app.pages import cache
from rnnscope.app.tabs.cells import COLUMNS, labels_frame
from rnnscope.app.drawing.frame import Frame, make_frame, separator_columns, without_separators
from rnnscope.app.drawing.heatmap import Heatmap, sequence_data
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState

REDRAW_ON = ["trace", "view", "layer", "hide_separators"]


def step_of(path: Path) -> int:
    return int(path.name.split("-", 1)[1])


class TimelineTab(LazyTab):
    state = param.ClassSelector(class_=AppState)
    step = param.Selector(default=None, objects=[], allow_None=True, label="Checkpoint at training step")

    def __init__(self, x_range: Range1d | None = None, **params):
        """``x_range``: the heatmap's, so this one pans and zooms with it."""
        super().__init__(**params)
        self.x_range = x_range or Range1d(-0.5, 0.5)
        self.checkpoints: dict[int, Path] = {}
        self.labels: dict[int, list] = {}          # step -> analysis.labels.CellLabel list, for the view and layer
        self.frame: Frame | None = None             # the heatmap's frame at the chosen step
        self.note = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.seq = ColumnDataSource(sequence_data(make_frame(self.state.trace)))
        self.heatmap = Heatmap(self.seq, self.x_range)
        self.scores = ColumnDataSource({"xs": [], "ys": [], "cell": [], "color": []})
        fig = figure(height=220, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset", toolbar_location="right",
                     title="share explained by each cell's best label (r\u00b2 or MI / entropy), per checkpoint",
                     x_axis_label="training step", y_range=(0, 1.02))
        fig.multi_line("xs", "ys", color="color", source=self.scores, line_width=1.3, alpha=0.8)
        fig.add_tools(HoverTool(tooltips=[("cell", "@cell"), ("step", "$x{0,0}"), ("share explained", "$y{0.000}")]))
        self.marker = Span(location=0, dimension="height", line_color="#444", line_dash="dashed")
        fig.add_layout(self.marker)
        self.score_plot = fig
        self.plots = pn.pane.Bokeh(self.heatmap.figure, sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(labels_frame([]), show_index=False, disabled=True, selectable=False,
                                          titles=COLUMNS, sizing_mode="stretch_width", height=300,
                                          layout="fit_data_stretch")
        self.table.on_click(self._on_click)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])
        self.state.param.watch(self._on_view, ["view", "layer"])
        self.state.param.watch(self._draw, ["trace", "hide_separators"])
        self.param.watch(self._draw, ["step"])

    # --- the run and its labels ---------------------------------------------------------------
    def _refresh(self, *events) -> None:
        """The model's run found (again), its checkpoints' labels computed and the chosen step drawn."""
        if not self.opened:
            return
        run = run_dir_of(self.state.model_path)
        self.checkpoints = {step_of(p): p for p in periodic_checkpoints(run)}
        if not self.checkpoints:
            self.body.objects = [pn.pane.Markdown(
                f"No training timeline for this model: no periodic checkpoints in {run} (a run directory beside "
                "the checkpoint). Train with `rnnscope train --save-every N` to watch its cells form.",
                sizing_mode="stretch_width")]
            return
        steps = sorted(self.checkpoints)
        with param.discard_events(self):
            self.param.step.objects = steps
            self.step = steps[-1]
        self.body.objects = [pn.widgets.DiscreteSlider.from_param(self.param.step, sizing_mode="stretch_width"),
                             self.note, self.plots, pn.pane.Bokeh(self.score_plot, sizing_mode="stretch_width"),
                             self.table]
        self._on_view()

    def _on_view(self, *events) -> None:
        if not (self.opened and self.checkpoints):
            return
        s = self.state
        try:
            self.labels = {step: cache.step_labels(path, s.model_path, s.view, s.layer, key=s.heldout_key)
                           for step, path in self.checkpoints.items()}
        except RnnscopeError as e:
            self.labels = {}
            self.note.object = f"No labels for this run: {e}"
        self._score_lines()
        self._draw()

    def _score_lines(self) -> None:
        steps = sorted(self.labels)
        if not steps:
            self.scores.data = {"xs": [], "ys": [], "cell": [], "color": []}
            return
        H = len(self.labels[steps[0]])
        share = np.zeros((H, len(steps)))
        for k, step in enumerate(steps):
            for lab in self.labels[step]:
                share[lab.cell, k] = lab.best.explained if lab.best else 0.0
        self.scores.data = {"xs": [steps] * H, "ys": list(share), "cell": list(range(H)),
                            "color": [Category10_10[c % 10] for c in range(H)]}

    # --- the chosen step ----------------------------------------------------------------------
    def _draw(self, *events) -> None:
        if not (self.opened and self.checkpoints and self.step in self.checkpoints):
            return
        s, path = self.state, self.checkpoints[self.step]
        try:
            trace = self.trace_at(path)
        except RnnscopeError as e:
            self.note.object = f"Checkpoint step {self.step:,} cannot read this sequence: {e}"
            return
        frame = make_frame(trace, s.view, s.layer)
        if s.hide_separators:             # the page's columns exactly, so the x range lines up
            frame = without_separators(frame, separator_columns(s.trace))
        last = max(self.checkpoints)
        self.frame = frame
        self.seq.data = sequence_data(frame)
        self.heatmap.update(frame)
        self.heatmap.figure.title.text = f"checkpoint at step {self.step:,} of {last:,}: " + \
            self.heatmap.figure.title.text
        self.marker.location = self.step
        labels = self.labels.get(self.step, [])
        self.table.value = labels_frame(labels)
        self.note.object = (
            f"The sequence shown, read by the checkpoint saved at training step **{self.step:,}** "
            f"({len(self.checkpoints)} checkpoints in {path.parent}). Table: each cell's label at this step "
            f"(statistic: **r** = Pearson correlation, **MI** = mutual information in bits, value in 10 bins) on the "
            f"first {cache.TIMELINE_CHARS:,} characters of the held-out stream read in context. Click a row to "
            "plot that cell.")

    def trace_at(self, path: Path):
        """The checkpoint's trace of the sequence shown, read as the page reads it."""
        s = self.state
        if s.source == "held-out" and s.reading == "in context":
            return cache.trace_stream_in_context(path, s.model_path, s.index, len(s.trace), s.heldout_key)
        return cache.trace_text(path, s.trace.text, s.grammar_spec)

    def _on_click(self, event) -> None:
        self.state.plot_cell(int(self.table.value.iloc[event.row]["cell"]))

    def _layout(self):
        return self.body
