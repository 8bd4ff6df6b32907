"""The character axis shared by the heatmap and every track: integer x = position, a tick
exactly at each column's centre, labelled with its character -- only when zoomed in far
enough for the labels to be read (thousands of overlapping glyphs help no one)."""
from __future__ import annotations

from bokeh.models import CustomJSTickFormatter, CustomJSTicker, LinearAxis

PX_PER_LABEL = 7   # a 12px monospace character label needs about this many pixels

_TICKS = """
let width = 1000;   // inner_width is unset until the first layout
try { if (plot.inner_width > 0) width = plot.inner_width; } catch (e) {}
const start = Math.max(0, Math.ceil(cb_data.start)), end = Math.floor(cb_data.end);
if ((end - start + 1) * px > width) return [];
const ticks = [];
for (let t = start; t <= end; t++) ticks.push(t);
return ticks;
"""

_LABEL = """
const codes = src.data.code;
const t = Math.round(tick);
if (t < 0 || t >= codes.length) return "";
const c = String.fromCodePoint(codes[t]);
return c === " " ? "\u2423" : c === "\\n" ? "\u21b5" : c === "\\t" ? "\u21e5" : c;
"""


def char_axis(plot, seq_source, label: str = "") -> LinearAxis:
    """A LinearAxis of characters for ``plot``, reading code points from ``seq_source.data['code']``."""
    return LinearAxis(
        ticker=CustomJSTicker(args=dict(plot=plot, px=PX_PER_LABEL), major_code=_TICKS, minor_code="return []"),
        formatter=CustomJSTickFormatter(args=dict(src=seq_source), code=_LABEL),
        axis_label=label, major_label_text_font="monospace", major_label_text_font_size="12px",
        major_label_standoff=2, major_tick_out=2, minor_tick_out=0)
