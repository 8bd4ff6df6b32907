"""The character axis shared by the heatmap and every track: integer x = position, a tick
exactly at each column's centre, labelled with its character -- only when zoomed in far
enough for the labels to be read (thousands of overlapping glyphs help no one).

Measured in Chromium: a monospace glyph is 0.602 em wide (7.2 px at 12px), and a
100-character window gets about 5.3 px a column on a 1024 px screen (9.5 at 1440). So:
- every column has room for a 12px glyph: every character is labelled, a space as \u2423;
- otherwise spaces go unlabelled (no tick), and the rest are labelled in the largest font,
  12px down to 8px, that gives each of them room. The grammar's tokens alternate with
  spaces, so they keep 12px at half the width; plain text shrinks its font first.
- if even 8px does not fit, nothing is labelled. A label is never dropped here and there:
  a missing one would read as a space.
"""
from __future__ import annotations

from bokeh.models import CustomJSTickFormatter, CustomJSTicker, LinearAxis

GLYPH_EM = 0.602            # a monospace glyph's width per px of font size, measured in Chromium
AIR_PX = 0.3                # between neighbouring glyphs
FONT_SIZES = (12, 11, 10, 9, 8)   # px, largest first; below 8px the characters are guesswork
PX_PER_LABEL = FONT_SIZES[0] * GLYPH_EM + AIR_PX    # 7.5: every column labelled at the full size

# The ticker also sets the axis's font: which ticks fit and at what size is one decision.
# (Setting it to the value it has already changes nothing, so the redraw it asks for settles.)
_TICKS = """
let width = 1000;   // inner_width is unset until the first layout
try { if (plot.inner_width > 0) width = plot.inner_width; } catch (e) {}
const codes = src.data.code, words = src.data.word;
const start = Math.max(0, Math.ceil(cb_data.start)), end = Math.min(codes.length - 1, Math.floor(cb_data.end));
const column = width / Math.max(cb_data.end - cb_data.start, 1e-9);    // pixels per column
let glyphs = 1;                          // the widest label in view, in glyphs (a word of an LSTMVis file: several)
if (words !== undefined) for (let t = start; t <= end; t++) glyphs = Math.max(glyphs, words[t].length);
const need = size => glyphs * size * em + air;
const font = size => {
  if (axis.major_label_text_font_size !== size + "px") axis.major_label_text_font_size = size + "px";
};
const ticks = [];
if (words !== undefined) {               // words: every one labelled at the largest size that fits, or none
  const size = sizes.find(s => need(s) <= column);
  if (size === undefined) return [];
  for (let t = start; t <= end; t++) ticks.push(t);
  font(size);
  return ticks;
}
if (column >= need(sizes[0])) {          // room for every character
  for (let t = start; t <= end; t++) ticks.push(t);
  font(sizes[0]);
  return ticks;
}
const smallest = need(sizes[sizes.length - 1]);
let last = -Infinity, room = Infinity;   // else only the non-spaces, in the largest font they all have room for
for (let t = start; t <= end; t++) {
  if (codes[t] === 32) continue;
  room = Math.min(room, (t - last) * column);
  if (room < smallest) return [];
  ticks.push(t);
  last = t;
}
font(sizes.find(size => need(size) <= room));
return ticks;
"""

_LABEL = """
const codes = src.data.code;
const t = Math.round(tick);
if (t < 0 || t >= codes.length) return "";
if (src.data.word !== undefined) return src.data.word[t];
const c = String.fromCodePoint(codes[t]);
return c === " " ? "\u2423" : c === "\\n" ? "\u21b5" : c === "\\t" ? "\u21e5" : c;
"""


def char_axis(plot, seq_source, label: str = "") -> LinearAxis:
    """A LinearAxis of characters for ``plot``, reading code points from ``seq_source.data['code']``."""
    ticker = CustomJSTicker(major_code=_TICKS, minor_code="return []")
    axis = LinearAxis(
        ticker=ticker, formatter=CustomJSTickFormatter(args=dict(src=seq_source), code=_LABEL),
        axis_label=label, major_label_text_font="monospace", major_label_text_font_size=f"{FONT_SIZES[0]}px",
        major_label_standoff=2, major_tick_out=2, minor_tick_out=0)
    ticker.args = dict(plot=plot, src=seq_source, axis=axis, sizes=list(FONT_SIZES), em=GLYPH_EM, air=AIR_PX)
    return axis
