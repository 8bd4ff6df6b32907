"""Tracks under the heatmap, on the heatmap's own x range: grammar depth, the model's
probability of the character that actually came next (and its surprisal), and line plots
of the cells the user picked."""
from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from .axes import char_axis
from .frame import Frame


def _track(x_range: Range1d, seq: ColumnDataSource, title: str, height: int = 100, chars: bool = False, **kw):
    fig = figure(x_range=x_range, height=height, sizing_mode="stretch_width", tools="xpan,xwheel_zoom,reset",
                 active_scroll="xwheel_zoom", toolbar_location="right", min_border_left=70, title=title,
                 x_axis_location=None, **kw)
    fig.title.text_font_size = "12px"
    fig.title.text_font_style = "normal"
    if chars:
        fig.add_layout(char_axis(fig, seq), "below")
    fig.xgrid.visible = False
    fig.outline_line_color = None
    return fig


class Tracks:
    def __init__(self, seq: ColumnDataSource, x_range: Range1d):
        self.seq = seq
        self.depth = _track(x_range, seq, "grammar depth (after reading the character)")
        self.depth.step(x="x", y="depth", source=seq, mode="center", line_width=1.5, color="#444444")
        self.depth.add_tools(HoverTool(tooltips=[("position", "@x{0,0}"), ("depth", "@depth")], mode="vline"))

        self.prob = _track(x_range, seq, "p(actual next character), from the state after this one",
                           y_range=Range1d(0, 1.05))
        self.prob.line(x="x", y="p_next", source=seq, color="#1f77b4", line_width=1.2)
        self.prob.add_tools(HoverTool(tooltips=[("position", "@x{0,0}"), ("p(next)", "@p_next{0.000}"),
                                                ("surprisal", "@surprisal{0.00} nats")], mode="vline"))
        self.surprisal = _track(x_range, seq, "surprisal of the next character, \u2212ln p (nats)")
        self.surprisal.line(x="x", y="surprisal", source=seq, color="#d62728", line_width=1.2)

        self.cells_source = ColumnDataSource({"xs": [], "ys": [], "color": [], "label": []})
        self.cells = _track(x_range, seq, "", height=190, chars=True, y_range=Range1d(-1.05, 1.05))
        self.cells.multi_line(xs="xs", ys="ys", color="color", legend_field="label", source=self.cells_source,
                              line_width=1.5)
        self.cells.legend.location = "top_left"
        self.cells.legend.orientation = "horizontal"
        self.cells.legend.label_text_font_size = "11px"
        self.cells.legend.background_fill_alpha = 0.6
        self.figures = [self.depth, self.prob, self.surprisal, self.cells]

    def update(self, frame: Frame) -> None:
        T = len(frame.text)
        self.depth.visible = frame.depth is not None
        ys = frame.selected_values()
        x = np.arange(T, dtype=np.float32)
        self.cells_source.data = {"xs": [x] * len(ys), "ys": list(ys),
                                  "color": [Category10_10[c % 10] for c in frame.selected],
                                  "label": [f"cell {c}" for c in frame.selected]}
        self.cells.legend.visible = bool(frame.selected)
        self.cells.title.text = (f"{frame.title} of the selected cells" if frame.selected else
                                 "selected cells: click a heatmap row, or pick cells in the sidebar")
        self.cells.y_range.update(start=frame.low - 0.05 * (frame.high - frame.low),
                                  end=frame.high + 0.05 * (frame.high - frame.low))
