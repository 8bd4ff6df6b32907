"""Tracks under the heatmap, on the heatmap's own x range: grammar depth, the model's
probability of the character that actually came next (and its surprisal), and line plots
of the cells the user picked (shown only once there are some).

The tracks have no toolbar of their own: they share the heatmap's x range, so its toolbar
(reset included) serves the whole stack, while dragging and the mouse wheel still pan and
zoom on every track. Few y ticks: a track is only ~60 px tall."""
from __future__ import annotations

import numpy as np
from bokeh.models import BasicTicker, ColumnDataSource, FixedTicker, HoverTool, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from .axes import char_axis
from .frame import Frame
from .heatmap import BORDER_LEFT, BORDER_RIGHT

CHAR_AXIS_PX = 22


def _track(x_range: Range1d, seq: ColumnDataSource, title: str, height: int = 100, ticker=None, **kw):
    fig = figure(x_range=x_range, height=height, sizing_mode="stretch_width", tools="xpan,xwheel_zoom",
                 active_drag="xpan", active_scroll="xwheel_zoom", toolbar_location=None,
                 min_border_left=BORDER_LEFT, min_border_right=BORDER_RIGHT, title=title, x_axis_location=None, **kw)
    fig.title.text_font_size = "12px"
    fig.title.text_font_style = "normal"
    fig.yaxis.ticker = ticker or BasicTicker(desired_num_ticks=3)
    fig.yaxis.major_label_text_font_size = "11px"
    fig.yaxis.minor_tick_line_color = None
    fig.xgrid.visible = False
    fig.outline_line_color = None
    return fig


class Tracks:
    def __init__(self, seq: ColumnDataSource, x_range: Range1d):
        self.seq = seq
        self.depth = _track(x_range, seq, "grammar depth (after reading the character)",
                            ticker=BasicTicker(desired_num_ticks=3, min_interval=1))     # depth is a whole number
        self.depth.step(x="x", y="depth", source=seq, mode="center", line_width=1.5, color="#444444")
        self.depth.add_tools(HoverTool(tooltips=[("position", "@x{0,0}"), ("depth", "@depth")], mode="vline"))

        self.prob = _track(x_range, seq, "p(actual next character), from the state after this one",
                           y_range=Range1d(0, 1.05), ticker=FixedTicker(ticks=[0, 0.5, 1]))
        self.prob.line(x="x", y="p_next", source=seq, color="#1f77b4", line_width=1.2)
        self.prob.add_tools(HoverTool(tooltips=[("position", "@x{0,0}"), ("p(next)", "@p_next{0.000}"),
                                                ("surprisal", "@surprisal{0.00} nats")], mode="vline"))
        self.surprisal = _track(x_range, seq, "surprisal of the next character, \u2212ln p (nats)")
        self.surprisal.line(x="x", y="surprisal", source=seq, color="#d62728", line_width=1.2)
        self.surprisal_chars = char_axis(self.surprisal, seq)     # the stack's bottom while no cell is picked
        self.surprisal.add_layout(self.surprisal_chars, "below")

        self.cells_source = ColumnDataSource({"xs": [], "ys": [], "color": [], "label": []})
        self.cells = _track(x_range, seq, "", height=190, y_range=Range1d(-1.05, 1.05))
        self.cells.add_layout(char_axis(self.cells, seq), "below")
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
        self.cells.visible = bool(frame.selected)
        self.surprisal_chars.visible = not frame.selected
        self.surprisal.height = 100 + (0 if frame.selected else CHAR_AXIS_PX)   # the same plot height either way
        self.cells.title.text = f"{frame.title} of the selected cells"
        self.cells.y_range.update(start=frame.low - 0.05 * (frame.high - frame.low),
                                  end=frame.high + 0.05 * (frame.high - frame.low))
