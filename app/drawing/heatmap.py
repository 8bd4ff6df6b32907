"""The heatmap: cells (rows) x characters (columns), built once; ``update`` swaps data.

Column t is centred on x = t (it spans t-0.5 .. t+0.5), the same numeric coordinate the
character ticks use, so labels sit exactly under their columns. Displayed row r (0 = top)
is centred on y = H-1-r. The image glyph is tiled: Bokeh draws nothing for an image wider
than 65,535 columns (bokeh#13645).

Rows are 20 px while they fit in PLOT_PX, then thinner: the heatmap is never taller than PLOT_PX, so
with its character axis and the page's header it stays above the fold of a 1024 x 768 screen. Each row
keeps at least MIN_ROW_PX (one pixel: thinner rows would be dropped by the drawing, nearest-neighbour,
without a word), so a model of more than PLOT_PX cells opens on its top rows and says so under the plot;
the cell axis pans and zooms to the rest. A row is labelled only when labels have room (LABEL_PX
apart): every n-th row, recomputed in the browser as the cell axis is zoomed (``label_ticks`` is the same
rule in Python), so every row in view is labelled once the reader has zoomed in far enough. The cell
axis zooms and pans within its bounds (toolbar: the y wheel zoom, box zoom, pan); Reset restores both
axes to the view the heatmap opened on.
"""
from __future__ import annotations

import numpy as np
import math

from bokeh.models import (BasicTicker, BoxZoomTool, ColorBar, ColumnDataSource, CustomJSHover, CustomJSTicker,
                          CustomJSTickFormatter, HoverTool, LinearColorMapper, PanTool, Range1d, ResetTool, SaveTool,
                          Title, WheelZoomTool)
from bokeh.palettes import RdBu11, interp_palette
from bokeh.plotting import figure

from rnnscope.app.drawing.axes import char_axis
from rnnscope.app.drawing.frame import Frame

TILE = 50_000
ROW_PX = 20           # a row's height while the rows fit in PLOT_PX
MIN_ROW_PX = 1        # the thinnest row drawn: below a pixel, the image would drop rows
PLOT_PX = 440         # the tallest the heatmap's rows get: with its frame, under the header of a 768 px screen
LABEL_PX = 14         # room one row label needs (11 px text): closer labels would overlap
FRAME_PX = 90         # the heatmap's title, toolbar and two x axes
NOTE_PX = 18          # the line under the plot saying it opened on its top rows only
BORDER_LEFT = 70      # every figure of the stack has the same borders, so their columns line up
BORDER_RIGHT = 64     # room for the heatmap's colour bar (the tracks leave it empty)
# Diverging, blue = negative, white = 0, red = positive; an odd length puts white exactly at 0.
DIVERGING = tuple(interp_palette(RdBu11, 255))   # Bokeh's RdBu11 runs blue -> red
UPPER_HALF = DIVERGING[127:]   # for views in 0..1: white = 0 still

_X_HOVER = """
const t = Math.round(value);
const codes = src.data.code;
if (t < 0 || t >= codes.length) return "";
if (format === "pos") return src.data.pos[t].toLocaleString();   // the true index, separators hidden or not
if (format === "depth") { const d = src.data.depth[t]; return Number.isNaN(d) ? "n/a" : String(d); }
if (src.data.word !== undefined) return src.data.word[t];     // a column is a word (an LSTMVis word file)
const c = String.fromCodePoint(codes[t]);
return c === " " ? "\u2423 (space)" : c === "\\n" ? "\u21b5 (newline)" : c;
"""

_POSITION = """
const pos = src.data.pos, t = Math.round(tick);
return t === tick && t >= 0 && t < pos.length ? pos[t].toLocaleString() : "";
"""

# The rows labelled: every step-th displayed row from the top, step the fewest rows that give a
# label LABEL_PX; recomputed on every zoom. Same rule as label_ticks below.
_ROW_TICKS = """
const n = rows.data.label.length;
let h = fallback;                       // inner_height is unset until the first layout
try { if (plot.inner_height > 0) h = plot.inner_height; } catch (e) {}
const px = h / Math.max(cb_data.end - cb_data.start, 1e-9);    // pixels per row
const step = Math.max(1, Math.ceil(label_px / px));
const top = Math.max(0, Math.ceil(n - 1 - cb_data.end)), bottom = Math.min(n - 1, Math.floor(n - 1 - cb_data.start));
const ticks = [];
for (let r = Math.ceil(top / step) * step; r <= bottom; r += step) ticks.push(n - 1 - r);
return ticks;
"""

_ROW_LABEL = """
const labels = rows.data.label, r = labels.length - 1 - Math.round(tick);
return r >= 0 && r < labels.length ? labels[r] : "";
"""

_Y_HOVER = """
const labels = rows.data.label;
const r = labels.length - 1 - Math.round(value);
return r >= 0 && r < labels.length ? labels[r] : "";
"""


def sequence_data(frame: Frame) -> dict:
    """Per-character columns shared by the heatmap hover, the axes and the tracks."""
    T = len(frame.text)
    code = np.frombuffer(frame.text.encode("utf-32-le"), dtype=np.uint32).astype(np.int32)
    depth = frame.depth.astype(np.float32) if frame.depth is not None else np.full(T, np.nan, np.float32)
    none = np.full(T, np.nan, np.float32)
    return {"x": np.arange(T, dtype=np.float32), "pos": frame.stream_positions.astype(np.int32), "code": code,
            "depth": depth,
            "p_next": frame.p_next.astype(np.float32), "surprisal": frame.surprisal.astype(np.float32),
            "kl": none if frame.kl is None else frame.kl, "illegal": none if frame.illegal is None else frame.illegal,
            "probe_depth": probe_column(frame), **({} if frame.words is None else {"word": list(frame.words)})}


def probe_column(frame: Frame) -> np.ndarray:
    """[T] the depth probe's reading (NaN without a probe): per layer, unlike the other columns."""
    return np.full(len(frame.text), np.nan, np.float32) if frame.probe_depth is None else frame.probe_depth


def image_data(frame: Frame) -> dict:
    """Tiles of at most TILE columns, rows flipped so displayed row 0 is at the top."""
    H, T = frame.values.shape
    img = frame.values[::-1]
    starts = list(range(0, max(T, 1), TILE))
    return {"image": [np.ascontiguousarray(img[:, s:s + TILE]) for s in starts],
            "x": [s - 0.5 for s in starts], "y": [-0.5] * len(starts),
            "dw": [min(TILE, T - s) for s in starts], "dh": [H] * len(starts)}


class Heatmap:
    def __init__(self, seq: ColumnDataSource, x_range: Range1d):
        self.seq = seq
        self.source = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.rows = ColumnDataSource({"cell": [], "label": []})
        self.mapper = LinearColorMapper(palette=DIVERGING, low=-1, high=1, nan_color="#dddddd")
        # The wheel zooms the characters, as on every track; the cell axis has its own wheel
        # tool, and pan and box zoom work on both axes (the y bounds stop them at the rows' ends).
        self.x_wheel = WheelZoomTool(dimensions="width")
        self.y_wheel = WheelZoomTool(dimensions="height")      # its button: "Wheel Zoom (y-axis)"
        fig = figure(x_range=x_range, y_range=Range1d(-0.5, 0.5, bounds=(-0.5, 0.5)), height=360,
                     sizing_mode="stretch_width", tools=[PanTool(), self.x_wheel, self.y_wheel, BoxZoomTool(),
                                                          ResetTool(), SaveTool()],
                     active_scroll=self.x_wheel, x_axis_location="above", toolbar_location="above",
                     min_border_left=BORDER_LEFT, min_border_right=BORDER_RIGHT)
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source, color_mapper=self.mapper)
        fig.add_tools(HoverTool(tooltips=[("char", "$x{char}"), ("position", "$x{pos}"), ("cell", "$y{cell}"),
                                          ("value", "@image{0.000}"), ("depth", "$x{depth}")],
                                formatters={"$x": CustomJSHover(args=dict(src=seq), code=_X_HOVER),
                                            "$y": CustomJSHover(args=dict(rows=self.rows), code=_Y_HOVER)}))
        fig.xaxis.axis_label = "position"
        # Whole columns only, labelled with their true character index (not the column's
        # number: with separators hidden, column 20 is character 40).
        fig.xaxis.ticker = BasicTicker(min_interval=1)
        fig.xaxis.formatter = CustomJSTickFormatter(args=dict(src=seq), code=_POSITION)
        fig.add_layout(char_axis(fig, seq), "below")
        fig.yaxis.ticker = CustomJSTicker(major_code=_ROW_TICKS, minor_code="return []",
                                          args=dict(plot=fig, rows=self.rows, label_px=LABEL_PX, fallback=PLOT_PX))
        fig.yaxis.formatter = CustomJSTickFormatter(args=dict(rows=self.rows), code=_ROW_LABEL)
        fig.yaxis.major_label_text_font_size = "11px"
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.title.text_font_size = "13px"
        fig.title.text_font_style = "normal"
        # The colour bar carries only ticks: what it shows is the (horizontal) title above the heatmap.
        self.colour_bar = ColorBar(color_mapper=self.mapper, width=12, padding=4, label_standoff=4,
                                   major_label_text_font_size="11px")
        fig.add_layout(self.colour_bar, "right")
        # Under the character axis, not in the title: at 1024 px the toolbar already covers the title's end.
        self.in_view = Title(text="", text_font_size="11px", text_font_style="italic", visible=False)
        fig.add_layout(self.in_view, "below")
        self.figure = fig
        self._shown = None
        self._rows = None          # the displayed cells, to keep a y zoom while only colours change

    def _same_image(self, frame: Frame) -> bool:
        if self._shown is None:
            return False
        values, cells = self._shown
        return (values.shape == frame.values.shape and np.array_equal(cells, frame.cells)
                and np.array_equal(values, frame.values))

    def update(self, frame: Frame, view_rows: int | None = None) -> None:
        """Draw ``frame``. ``view_rows``: how many of its top rows the heatmap opens on (and Reset returns
        to); None: all of them, or the top PLOT_PX where they would be thinner than MIN_ROW_PX."""
        H, T = frame.values.shape
        if not self._same_image(frame):      # e.g. only the selected cells changed: keep the image
            self.source.data = image_data(frame)
            self._shown = (frame.values, frame.cells)
        labels = frame.row_labels
        self.rows.data = {"cell": [int(c) for c in frame.cells], "label": labels}
        fig = self.figure
        in_view = rows_in_view(H) if view_rows is None else max(1, min(H, view_rows))
        if self._rows is None or not np.array_equal(self._rows[0], frame.cells) or self._rows[1] != in_view:
            # bounds first: the browser clamps a new end to the old bounds (docs/architecture.md, Traps);
            # reset_*: what the Reset tool goes back to
            fig.y_range.bounds = (-0.5, H - 0.5)
            start = H - 0.5 - in_view
            fig.y_range.update(start=start, end=H - 0.5, reset_start=start, reset_end=H - 0.5)
            self._rows = (frame.cells, in_view)
        self.in_view.update(text=in_view_note(in_view, H), visible=in_view < H)
        fig.height = plot_height(in_view) + FRAME_PX + (NOTE_PX if in_view < H else 0)
        self.mapper.update(low=frame.low, high=frame.high, palette=UPPER_HALF if frame.low == 0 else DIVERGING)
        fig.title.text = colour_title(frame)


def rows_in_view(n_rows: int) -> int:
    """How many rows (from the top) the heatmap opens on: all of them while each gets MIN_ROW_PX of PLOT_PX."""
    return min(n_rows, int(PLOT_PX // MIN_ROW_PX))


def in_view_note(in_view: int, n_rows: int) -> str:
    """The line under the plot when the heatmap opened on its top rows only ('' when it shows them all)."""
    if in_view >= n_rows:
        return ""
    return f"top {in_view:,} of {n_rows:,} rows in view: pan or zoom out the cell axis (y) for the rest"


def row_px(n_rows: int) -> float:
    """A row's height in pixels with ``n_rows`` in view: ROW_PX while they fit in PLOT_PX, then thinner,
    never below MIN_ROW_PX."""
    return min(ROW_PX, max(MIN_ROW_PX, PLOT_PX / max(n_rows, 1)))


def plot_height(n_rows: int) -> int:
    """The heatmap's inner height with ``n_rows`` rows: at most PLOT_PX, never a sliver."""
    return max(160, math.ceil(rows_in_view(n_rows) * row_px(n_rows)))


def label_ticks(n_rows: int, start: float, end: float, inner_px: float) -> list[float]:
    """The y values of the labelled rows for the visible range start..end on ``inner_px`` pixels:
    the same rule as the browser's ticker (_ROW_TICKS), so it can be tested here."""
    px = inner_px / max(end - start, 1e-9)
    step = max(1, math.ceil(LABEL_PX / px))
    top, bottom = max(0, math.ceil(n_rows - 1 - end)), min(n_rows - 1, math.floor(n_rows - 1 - start))
    return [n_rows - 1 - r for r in range(math.ceil(top / step) * step, bottom + 1, step)]


def colour_title(frame: Frame) -> str:
    """e.g. "hidden state h -- colour: \u22121 (blue) \u2026 1 (red), white = 0", the range fixed per view."""
    def num(v: float) -> str:
        return f"{v:g}".replace("-", "\u2212")
    low = f"{num(frame.low)} (blue)" if frame.low < 0 else num(frame.low)
    hidden = f" \u2014 {frame.hidden_note}" if frame.hidden_note else ""
    return f"{frame.title} \u2014 colour: {low} \u2026 {num(frame.high)} (red), white = 0{hidden}"
