"""The page opened on an LSTMVis directory (``serve.py --lstmvis DIR``): the same heatmap and tracks as a
model's page (app/drawing/scope.py, drawn from a Frame by app/frame.make_frame), the directory's meta tracks
under them, and the tools that need only states: Cells (labels against the meta tracks) and Match
(app/tabs/match_tab.py, over every step of the states file). What needs a model is absent, and the About
tab says why. Drawing, clicks and layout are the base page's (app/pages/base_page.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.axes import char_axis
from rnnscope.app.tabs.cells import labels_table, labels_table_frame
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.app.pages.lazy_tab import LazyTab, dynamic_tabs
from rnnscope.app.pages.lstmvis.lstmvis_state import LstmvisState
from rnnscope.app.tabs.match_tab import MatchTab, around
from rnnscope.app.pages.base_page import BasePage, heading, static_url
from rnnscope.app.drawing.tracks import _track

META_COLOUR = "#444444"
ABSENT = ("**Not here, and why:** Probes, Ablation, Explain, Saturation, Compare, Timeline, typed text, sampling, "
          "the p(next) / surprisal / KL tracks and the depth-probe track all need the model's weights or its "
          "predictions; an LSTMVis directory holds only states, words and meta tracks.")


class LstmvisMatchTab(MatchTab):
    """Match over every step of the states shown (LSTMVis's own method), a match loaded as a window."""
    state = param.ClassSelector(class_=LstmvisState)

    def _corpus(self):
        s = self.state
        source, key = s.source, s.states
        words = source.data.words
        scanned = (f"**whole** states file ({len(source):,} steps of {key[0]}, layer {key[1]}, as the file holds them;"
                   f" {source.directory})")
        text = "".join(words) if source.one_char_words else words       # a word file's context: its words
        return text, lambda layer: source.values(key), f"*Scanning all {len(source):,} steps \u2026*", scanned

    def _span_text(self, start: int, end: int) -> str:
        """A word file's span as its words, written apart (its trace holds one stand-in character per word)."""
        s = self.state
        if s.source.one_char_words:
            return super()._span_text(start, end)
        return " ".join(s.source.words(s.start + start, end - start + 1))

    def _span_name(self, start: int, end: int) -> str:
        """The file's own step numbers (the window's columns plus where it starts), as LSTMVis counts them."""
        first = self.state.start
        return f"steps {first + start:,} .. {first + end:,} of the file"

    def load(self, start: int, end: int) -> None:
        s = self.state
        first, window = around(start, end, s.window, len(s.source))
        self._pending = (start - first, end - first)
        try:
            if (s.start, s.window) == (first, window):
                s.param.trigger("start")
            else:
                s.param.update(start=first, window=window)
        finally:
            self._pending = None


class LstmvisCellsTab(LazyTab):
    """Every cell of the states shown labelled against the directory's meta tracks, over the whole file
    (it takes a moment: computed when the tab is first opened); clicking a row plots that cell."""
    state = param.ClassSelector(class_=LstmvisState)

    def __init__(self, **params):
        super().__init__(**params)
        self.table = labels_table(320, self._on_click)
        self.note = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["states"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        s = self.state
        if not s.source.data.annotations:
            self.note.object = "No meta tracks in this directory: nothing to label the cells against."
            return
        self.table.show(labels_table_frame(s.cell_labels()))
        self.note.object = (
            f"Each cell of **{s.states[0]}, layer {s.states[1]}** against the meta tracks "
            f"({', '.join(s.source.data.annotations)}), over all {len(s.source):,} steps of the file. Statistic: "
            "**r** = Pearson correlation, **MI** = mutual information in bits with the cell's value in 10 bins; "
            "*share explained* = r\u00b2 or MI / the cell's entropy. Click a row to plot that cell.")

    def _on_click(self, event) -> None:
        self.state.plot_cell(int(self.table.value.iloc[event.row]["cell"]))

    def _layout(self):
        return pn.Column(self.note, self.table.box, sizing_mode="stretch_width")


class MetaTracks:
    """One step track per meta track of the directory, on the heatmap's x range; a categorical track's
    hover names the category from its dictionary. Built once per page (the directory is fixed)."""

    def __init__(self, state: LstmvisState, seq: ColumnDataSource, x_range):
        self.state = state
        names = list(state.source.data.annotations)
        self.source = ColumnDataSource({"x": [], **{n: [] for n in names}, **{f"{n}_name": [] for n in names}})
        self.figures = []
        for name in names:
            categories = state.source.data.categories.get(name)
            fig = _track(x_range, seq, f"meta track: {name}" + (" (codes; hover names them)" if categories else ""))
            fig.step(x="x", y=name, source=self.source, mode="center", line_width=1.5, color=META_COLOUR)
            fig.add_tools(HoverTool(tooltips=[(name, f"@{{{name}_name}}")], mode="vline"))
            self.figures.append(fig)
        if self.figures:
            self.figures[-1].add_layout(char_axis(self.figures[-1], seq), "below")

    def update(self, frame: Frame, start: int) -> None:
        meta = self.state.source.meta(start, len(frame.text))
        data = {"x": np.arange(len(frame.text), dtype=np.float32)}
        for name, values in meta.items():
            names = self.state.source.data.categories.get(name)
            data[name] = values
            data[f"{name}_name"] = ([names.get(int(v), str(int(v))) for v in values] if names else
                                    [f"{v:g}" for v in values])
        self.source.data = data


class LstmvisPage(BasePage):
    state = param.ClassSelector(class_=LstmvisState)

    TITLE = "rnnscope: LSTMVis states"
    NOTE = "Steps"
    REDRAW_ON = ("trace", "states", "order", "selected", "rows", "top_k", "cell_list")

    def __init__(self, state: LstmvisState, **params):
        super().__init__(state=state, **params)
        self.meta = MetaTracks(self.state, self.scope.seq, self.scope.x_range)
        # The model's tracks (depth, probe, KL, p(next), surprisal) are left out of the stack, not just hidden:
        # there is nothing to draw in them, and an empty figure in the page logs "could not set initial ranges".
        self.scope.layout.children = [self.scope.heatmap.figure, *self.meta.figures, self.scope.tracks.cells]
        self._frame_start = 0           # the file's step the first column of the newest frame is
        self.match = LstmvisMatchTab(state=self.state, figure=self.scope.heatmap.figure, frame=lambda: self.frame)
        self._start()
        self.cells = LstmvisCellsTab(state=self.state)
        about = pn.pane.Markdown(f"**States:** {self.state.source_note}\n\n{ABSENT}", sizing_mode="stretch_width")
        self.tools = dynamic_tabs(("About", about), ("Cells", self.cells), ("Match", self.match),
                                  sizing_mode="stretch_width")

    # --- drawing ----------------------------------------------------------------------------
    def _make_frame(self) -> Frame:
        s = self.state
        frame = make_frame(s.trace, next(iter(s.trace.gates[0])), 0, s.order, list(s.selected),
                           rows=s.row_filter(), rankings=s.rankings(), value_bounds=s.source.value_range(s.states))
        if not s.source.one_char_words:
            frame = dataclasses.replace(frame, words=s.source.words(s.start, len(frame.text)))
        self._frame_start = s.start
        return frame

    def _draw(self, frame: Frame) -> None:
        super()._draw(frame)
        self.meta.update(frame, self._frame_start)

    # --- layout -----------------------------------------------------------------------------
    def sidebar(self) -> list:
        p = self.state.param
        W = pn.widgets
        return [
            heading("States: an LSTMVis directory"),
            W.Select.from_param(p.states),
            pn.Row(W.IntInput.from_param(p.start, width=140), W.IntInput.from_param(p.window, width=150)),
            heading("What is shown"),
            *self.rows_widgets(),
            *self.picker_widgets(),
        ]


def refused_page(why: str):
    """The page of a directory that cannot be opened: its one line, and nothing else."""
    tmpl = pn.template.BootstrapTemplate(title="rnnscope: LSTMVis states", favicon=static_url("favicon.svg"))
    tmpl.main.append(pn.pane.Alert(f"Cannot open the LSTMVis directory: {why.rstrip('.')}.", alert_type="danger"))
    return tmpl


def lstmvis_template(directory: str):
    """The page for ``directory``, or the page saying in one line why it cannot be opened."""
    try:
        return LstmvisPage(LstmvisState(directory)).template()
    except RnnscopeError as e:
        return refused_page(str(e))
