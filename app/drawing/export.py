"""One standalone HTML file of exactly what is on screen: the same Frame drawn by the same
Scope, with Bokeh's JavaScript inlined so it opens offline with hover and zoom working.

The page around it is analysis/decode/html.py's, which the probing report uses too (why it is built
from ``components`` and Bokeh's own JS rather than Panel's or Bokeh's save: see there)."""
from __future__ import annotations

from pathlib import Path

from bokeh.layouts import column

from rnnscope.analysis.decode.html import standalone
from rnnscope.base.atomic import write_text_atomic

from rnnscope.app.drawing.coloured_text import frame_cell_html
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.scope import Scope


def standalone_html(frame: Frame, caption: str = "", coloured_cell: int | None = None,
                    coloured_span: tuple[int, int] | None = None, extra_html: str = "") -> str:
    """``coloured_cell``: also the text itself coloured by that cell (app/drawing/coloured_text.py), above the heatmap;
    ``coloured_span``: only its columns lo .. hi - 1 (what the page's Coloured text tab shows); ``extra_html``: more
    to read above the heatmap (the page's cell card, ``markdown_html``)."""
    body = ""
    if coloured_cell is not None:
        lo, hi = coloured_span or (0, len(frame.text))
        where = "" if (lo, hi) == (0, len(frame.text)) else f", columns {lo:,} .. {hi - 1:,}"
        body = (f"<h2 style='font-size:15px'>The text coloured by cell {coloured_cell}{where}</h2>"
                + frame_cell_html(frame, coloured_cell, coloured_span))
    body += extra_html
    scope = Scope()
    scope.update(frame)
    # Only the tracks this frame shows: in a standalone document a hidden figure whose ranges can be fit
    # is still drawn, as a 1-px column of the heatmap's colours at the page's left edge (a text model's
    # depth, probe and KL tracks). The page itself keeps them, hidden, for the next frame.
    shown = column(scope.heatmap.figure, *[f for f in scope.tracks.figures if f.visible], sizing_mode="stretch_width")
    return standalone(shown, f"rnnscope: {frame.title}", caption, body_html=body,
                      heading=f"rnnscope \u00b7 {frame.title}")


def markdown_html(text: str) -> str:
    """Markdown (with tables and inline HTML, as the page's Markdown panes draw it) as HTML, for the export."""
    from markdown_it import MarkdownIt
    return f"<div class='rnnscope-card'>{MarkdownIt('commonmark').enable('table').render(text)}</div>"


def write(path: str | Path, frame: Frame, caption: str = "", coloured_cell: int | None = None) -> Path:
    """Write atomically (a temporary file renamed into place)."""
    return write_text_atomic(path, standalone_html(frame, caption, coloured_cell))
