"""Tracks under the heatmap, on the heatmap's own x range: grammar depth, the model's
probability of the character that actually came next (and its surprisal), and line plots
of the cells the user picked (shown only once there are some).

The tracks have no toolbar of their own: they share the heatmap's x range, so its toolbar
(reset included) serves the whole stack, while dragging and the mouse wheel still pan and
zoom on every track. Few y ticks: a track is only ~60 px tall."""
from __future__ import annotations

import numpy as np
from bokeh.models import (BasicTickFormatter, BasicTicker, ColumnDataSource, FixedTicker, HoverTool, Legend,
                          LegendItem, Range1d)
from bokeh.palettes import Dark2_8
from bokeh.plotting import figure

from rnnscope.app.drawing.axes import char_axis
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.heatmap import BORDER_LEFT, BORDER_RIGHT

CHAR_AXIS_PX = 22
P_NEXT_COLOUR, SURPRISAL_COLOUR, DEPTH_COLOUR, KL_COLOUR = "#1f77b4", "#d62728", "#444444", "#9467bd"
PROBE_COLOUR, TRUE_DEPTH_COLOUR = "#ff7f0e", "#aaaaaa"
# Picked cells, in the order picked: Dark2 has no plain blue or red (the p(next) and surprisal
# tracks, the heatmap's two ends); its grey is dropped as too close to the depth track's.
CELL_COLOURS = tuple(c for c in Dark2_8 if c != "#666666")
CELLS_PLOT_PX = 170           # the cell plot's height, plus a legend row above it per LEGEND_COLUMNS cells
LEGEND_ROW_PX = 22
LEGEND_COLUMNS = 8
# {separators hidden: title}; hidden, the next character is a separator (p ~ 1) and the
# tracks show the probability of everything up to the next shown character instead.
P_TITLE = {False: "p(actual next character), from the state after this one",
           True: "p(next shown character, with the hidden separators before it), from the state after this one"}
SURPRISAL_TITLE = {False: "surprisal of the next character, \u2212ln p (nats)",
                   True: "surprisal of the hidden separators and the next shown character, \u2212ln p (nats)"}


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
        # The depth, probe and KL tracks fit their y range to the data here (fit_range), not by DataRange1d:
        # for a text model their columns are all NaN, and BokehJS warns "could not set initial ranges" in
        # the console for each DataRange1d it cannot fit, hidden plot or not.
        self.depth = _track(x_range, seq, "grammar depth (after reading the character)", y_range=Range1d(0, 1),
                            ticker=BasicTicker(desired_num_ticks=3, min_interval=1))     # depth is a whole number
        self.depth.step(x="x", y="depth", source=seq, mode="center", line_width=1.5, color=DEPTH_COLOUR)
        self.depth.add_tools(HoverTool(tooltips=[("position", "@pos{0,0}"), ("depth", "@depth")], mode="vline"))

        # What a linear probe reads from the states, over the truth: where they part, the states
        # do not say depth linearly (app/drawing/probe_track.py).
        self.probe = _track(x_range, seq, "", y_range=Range1d(0, 1), ticker=BasicTicker(desired_num_ticks=3,
                                                                                        min_interval=1))
        self.probe.step(x="x", y="depth", source=seq, mode="center", line_width=3, color=TRUE_DEPTH_COLOUR)
        self.probe.step(x="x", y="probe_depth", source=seq, mode="center", line_width=1.5, color=PROBE_COLOUR)
        self.probe.add_tools(HoverTool(tooltips=[("position", "@pos{0,0}"), ("depth", "@depth"),
                                                 ("probe reads", "@probe_depth")], mode="vline"))

        # Where the model is wrong, not merely surprised: only an exact oracle makes this track possible.
        self.kl = _track(x_range, seq, "KL(oracle \u2016 model), nats", y_range=Range1d(0, 1))
        self.kl.step(x="x", y="kl", source=seq, mode="center", color=KL_COLOUR, line_width=1.2)
        self.kl.yaxis.formatter = BasicTickFormatter(precision=1, use_scientific=True)   # 6e-4, not 6.000e-4
        self.kl.add_tools(HoverTool(tooltips=[("position", "@pos{0,0}"), ("KL", "@kl{0.000e+0} nats"),
                                              ("illegal mass", "@illegal{0.000e+0}")], mode="vline"))
        self.prob = _track(x_range, seq, P_TITLE[False],
                           y_range=Range1d(0, 1.05), ticker=FixedTicker(ticks=[0, 0.5, 1]))
        self.prob.line(x="x", y="p_next", source=seq, color=P_NEXT_COLOUR, line_width=1.2)
        self.prob.add_tools(HoverTool(tooltips=[("position", "@pos{0,0}"), ("p(next)", "@p_next{0.000}"),
                                                ("surprisal", "@surprisal{0.00} nats")], mode="vline"))
        self.surprisal = _track(x_range, seq, SURPRISAL_TITLE[False])
        self.surprisal.line(x="x", y="surprisal", source=seq, color=SURPRISAL_COLOUR, line_width=1.2)
        self.surprisal_chars = char_axis(self.surprisal, seq)     # the stack's bottom while no cell is picked
        self.surprisal.add_layout(self.surprisal_chars, "below")

        self.cells_source = ColumnDataSource({"xs": [], "ys": [], "color": [], "label": []})
        self.cells = _track(x_range, seq, "", height=CELLS_PLOT_PX + LEGEND_ROW_PX, y_range=Range1d(-1.05, 1.05))
        self.cells.add_layout(char_axis(self.cells, seq), "below")
        # Steps, as the heatmap and the depth track draw them: one flat value per column.
        lines = self.cells.multi_line(xs="xs", ys="ys", color="color", source=self.cells_source, line_width=1.5)
        # Above the plot, not on it: inside it hides the lines; at the right it would narrow this
        # plot and its columns would no longer line up with the heatmap's.
        self.legend = Legend(items=[LegendItem(label={"field": "label"}, renderers=[lines])], orientation="horizontal",
                             label_text_font_size="11px", margin=0, padding=2, spacing=12, border_line_color=None)
        self.cells.add_layout(self.legend, "above")
        self.figures = [self.depth, self.probe, self.kl, self.prob, self.surprisal, self.cells]

    def update(self, frame: Frame) -> None:
        T = len(frame.text)
        fit_range(self.depth.y_range, self.seq.data["depth"])
        fit_range(self.probe.y_range, self.seq.data["depth"], self.seq.data["probe_depth"])
        fit_range(self.kl.y_range, self.seq.data["kl"])
        self.depth.visible = frame.depth is not None
        self.kl.visible = frame.kl is not None
        self.probe.visible = frame.probe_depth is not None
        self.probe.title.text = frame.probe_title
        self.prob.visible = self.surprisal.visible = frame.predictions      # states from a file: no model to predict
        if frame.kl is not None:
            self.kl.title.text = kl_title(frame)
        hidden = frame.positions is not None
        self.prob.title.text, self.surprisal.title.text = P_TITLE[hidden], SURPRISAL_TITLE[hidden]
        ys = frame.selected_values()
        x = np.arange(T, dtype=np.float32)
        steps = [step_center(x, y) for y in ys]
        self.cells_source.data = {"xs": [sx for sx, _ in steps], "ys": [sy for _, sy in steps],
                                  "color": [CELL_COLOURS[i % len(CELL_COLOURS)] for i in range(len(ys))],
                                  "label": [f"cell {c}" for c in frame.selected]}
        rows = -(-len(ys) // LEGEND_COLUMNS)
        self.legend.ncols = max(1, min(len(ys), LEGEND_COLUMNS))
        self.cells.height = CELLS_PLOT_PX + LEGEND_ROW_PX * max(rows, 1)
        self.cells.visible = bool(frame.selected)
        self.surprisal_chars.visible = not frame.selected
        self.surprisal.height = 100 + (0 if frame.selected else CHAR_AXIS_PX)   # the same plot height either way
        self.cells.title.text = f"{frame.title} of the selected cells"
        self.cells.y_range.update(start=frame.low - 0.05 * (frame.high - frame.low),
                                  end=frame.high + 0.05 * (frame.high - frame.low))


def fit_range(y_range: Range1d, *columns) -> None:
    """What DataRange1d would fit to the finite values of ``columns``: their span padded by 5% each side,
    or a span of 2 around a constant; 0 .. 1 where there is none (the track is hidden then)."""
    values = np.concatenate([np.asarray(c, np.float64).ravel() for c in columns])
    values = values[np.isfinite(values)]
    if not len(values):
        low, high = 0.0, 1.0
    elif (span := float(values.max() - values.min())) > 0:
        low, high = float(values.min()) - 0.05 * span, float(values.max()) + 0.05 * span
    else:
        low, high = float(values[0]) - 1.0, float(values[0]) + 1.0
    y_range.update(start=low, end=high, reset_start=low, reset_end=high)


def kl_title(frame: Frame) -> str:
    """e.g. "KL(oracle ‖ model) per step, nats: mean 2.8e-06, max 7.6e-04; illegal mass: mean 2.7e-06"."""
    kl, illegal = frame.kl, frame.illegal
    known = ~np.isnan(kl)
    where = " (separators hidden: summed up to the next shown column)" if frame.positions is not None else ""
    if not known.any():
        return "KL(oracle \u2016 model): no truth here (the text is not in the grammar)"
    left = "" if known.all() else f"; none after the grammar breaks ({(~known).sum():,} columns)"
    return (f"KL(oracle \u2016 model) per step, nats{where}: mean {kl[known].mean():.1e}, max {kl[known].max():.1e}; "
            f"illegal mass: mean {illegal[known].mean():.1e}{left}")


def step_center(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A line through (x, y) drawn as steps centred on each x, like ``step(mode="center")``
    (which multi_line lacks): y[t] holds flat from x[t]-0.5 to x[t]+0.5, then rises to y[t+1]."""
    xs = (np.repeat(x, 2) + np.tile(np.array([-0.5, 0.5], np.float32), len(x))).astype(np.float32)
    return xs, np.repeat(y, 2)
