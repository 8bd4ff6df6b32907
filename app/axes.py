"""The character axis shared by the heatmap and every track: integer x = position, a tick
exactly at each column's centre, labelled with its character -- only when zoomed in far
enough for the labels to be read (thousands of overlapping glyphs help no one).

Two steps before giving up, measured in Chromium: a 12px monospace glyph is 7.2 px wide,
and a 100-character window gets about 5.3 px a column on a 1024 px screen (9.5 at 1440).
- every column has room for a glyph: every character is labelled, a space as \u2423;
- otherwise spaces go unlabelled (no tick) when that leaves every other label room: the
  grammar's tokens alternate with spaces, so its labels need only half the width. A label
  is never dropped here and there: a missing one would read as a space.
"""
from __future__ import annotations

from bokeh.models import CustomJSTickFormatter, CustomJSTicker, LinearAxis

PX_PER_LABEL = 7.5   # a 12px monospace glyph is 7.2 px wide (measured in Chromium), and a little air

_TICKS = """
let width = 1000;   // inner_width is unset until the first layout
try { if (plot.inner_width > 0) width = plot.inner_width; } catch (e) {}
const codes = src.data.code;
const start = Math.max(0, Math.ceil(cb_data.start)), end = Math.min(codes.length - 1, Math.floor(cb_data.end));
const column = width / Math.max(cb_data.end - cb_data.start, 1e-9);    // pixels per column
const ticks = [];
if (column >= px) {                      // room for every character
  for (let t = start; t <= end; t++) ticks.push(t);
  return ticks;
}
let last = -Infinity;                    // else only the non-spaces, if they all have room
for (let t = start; t <= end; t++) {
  if (codes[t] === 32) continue;
  if ((t - last) * column < px) return [];
  ticks.push(t);
  last = t;
}
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
        ticker=CustomJSTicker(args=dict(plot=plot, src=seq_source, px=PX_PER_LABEL), major_code=_TICKS,
                              minor_code="return []"),
        formatter=CustomJSTickFormatter(args=dict(src=seq_source), code=_LABEL),
        axis_label=label, major_label_text_font="monospace", major_label_text_font_size="12px",
        major_label_standoff=2, major_tick_out=2, minor_tick_out=0)
