"""The text itself, each character's background coloured by one cell's value (Karpathy, Johnson &
Fei-Fei 2015, the figures of quote and line-length cells): wrapped as text, readable for
thousands of characters, beside the heatmap of the same span.

The colours are the heatmap's own (same palette, same fixed range per view), so a character
here and its column there are the same colour. A newline is drawn as a coloured ``↵`` and then
breaks the line, so the layout of code stays; a tab and a space are coloured like any character.
Each character's hover title gives its position and the value. Plain HTML and CSS: the page
shows it in a pane and the export writes it as one file that opens offline."""
from __future__ import annotations

import functools
import html
import math

import numpy as np

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.heatmap import DIVERGING, UPPER_HALF

MAX_COLOURED_CHARS = 20_000
NAN_COLOUR = "#dddddd"      # one <span> each: beyond this the browser's layout, not ours, is the limit
_STYLE = ("font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px;line-height:1.55;"
          "white-space:pre-wrap;word-break:break-all;margin:0")


def colour_indices(values: np.ndarray, low: float, high: float, n: int) -> np.ndarray:
    """Each value's bin in an ``n``-colour palette, as Bokeh's LinearColorMapper bins it (-1: NaN)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        index = np.clip(np.floor((v - low) / (high - low) * n), 0, n - 1)
    return np.where(np.isnan(v), -1, np.nan_to_num(index)).astype(np.int64)


def colours(values: np.ndarray, low: float, high: float) -> list[str]:
    """The heatmap's colour of each value: the same palette and range (NaN: light grey)."""
    palette = UPPER_HALF if low == 0 else DIVERGING
    return [palette[i] if i >= 0 else NAN_COLOUR for i in colour_indices(values, low, high, len(palette)).tolist()]


@functools.cache
def _ink(colour: str) -> str:
    """Black or white text, whichever reads on the background (WCAG relative luminance)."""
    r, g, b = (int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return "#000" if 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] > 0.18 else "#fff"


def coloured_text_html(text: str, values: np.ndarray, low: float, high: float, positions: np.ndarray | None = None
                       ) -> str:
    """``text`` with ``values`` [len(text)] as backgrounds; ``positions``: each character's true index
    (default 0, 1, ...), shown in its hover title."""
    if len(values) != len(text):
        raise RnnscopeError(f"one value per character: {len(text):,} characters, {len(values):,} values")
    _check_length(text)
    positions = np.arange(len(text)) if positions is None else positions
    # Plain Python values (tolist): formatting NumPy scalars one by one is ~10x slower.
    values = np.asarray(values, dtype=np.float64)
    shown_values = ["n/a" if v != v else f"{v:+.3f}" for v in values.tolist()]
    spans = []
    for ch, colour, value, pos in zip(text, colours(values, low, high), shown_values, np.asarray(positions).tolist()):
        shown = "\u21b5" if ch == "\n" else html.escape(ch)
        spans.append(f'<span style="background:{colour};color:{_ink(colour)}" title="{pos:,}: {value}">{shown}</span>'
                     + ("\n" if ch == "\n" else ""))
    return f'<pre class="coloured-text" style="{_STYLE}">{"".join(spans)}</pre>'


def _check_length(text: str) -> None:
    if len(text) > MAX_COLOURED_CHARS:
        raise RnnscopeError(f"the coloured text shows at most {MAX_COLOURED_CHARS:,} characters; this span has "
                            f"{len(text):,}: zoom in or choose a shorter window")


def plain_text_html(text: str) -> str:
    """``text`` laid out as the coloured text is, with no colours (a newline a ``↵`` then a line break)."""
    _check_length(text)
    shown = html.escape(text).replace("\n", "\u21b5\n")
    return f'<pre class="coloured-text" style="{_STYLE}">{shown}</pre>'


def frame_cell_html(frame, cell: int, span: tuple[int, int] | None = None) -> str:
    """The coloured text of one cell of a Frame (app/drawing/frame.py): its text, that cell's row, its range;
    ``span``: only columns lo .. hi - 1 of it (the heatmap's visible range)."""
    rows = [int(c) for c in frame.cells]
    if cell not in rows:
        raise RnnscopeError(f"cell {cell} does not exist; this view's cells are 0 .. {len(rows) - 1}")
    lo, hi = span if span is not None else (0, len(frame.text))
    return coloured_text_html(frame.text[lo:hi], frame.values[rows.index(cell), lo:hi], frame.low, frame.high,
                              frame.stream_positions[lo:hi])


def visible_columns(length: int, start: float | None, end: float | None) -> tuple[int, int]:
    """The columns lo .. hi - 1 whose centre lies in the x range start .. end (column t spans t - 0.5 ..
    t + 0.5); the whole sequence when the range is not known yet."""
    if start is None or end is None:
        return 0, length
    lo = min(max(0, math.ceil(start)), length)
    return lo, max(lo, min(length, math.floor(end) + 1))
