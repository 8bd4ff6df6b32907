"""One standalone HTML file of exactly what is on screen: the same Frame drawn by the same
Scope, with Bokeh's JavaScript inlined so it opens offline with hover and zoom working.

The page around it is analysis/decode/html.py's, which the probing report uses too (why it is built
from ``components`` and Bokeh's own JS rather than Panel's or Bokeh's save: see there)."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from bokeh.layouts import column
from bokeh.models import ColumnDataSource

from rnnscope.analysis.decode.html import standalone
from rnnscope.base.atomic import write_text_atomic

from rnnscope.app.drawing.cell_line import cell_line_figure
from rnnscope.app.drawing.coloured_text import frame_cell_html
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.scope import Scope


@dataclass(frozen=True)
class CardExport:
    """The cell card as an export carries it: what the page's card shows now."""
    heading: str                                  # Markdown
    sections: list[tuple[str, str, bool]]         # (title, Markdown, wide: a row of its own), in the card's order
    line_title: str
    line: dict                                    # its line over the shown sequence: cell_line_figure's source data
    low: float                                    # the line's value range (the view's)
    high: float
    clicked: int | None                           # the clicked step's column, if a heatmap cell was clicked


# The card's sections side by side as on the page (app/tabs/cell_card.py CARD_STYLE), their tables ruled.
CARD_CSS = """.rnnscope-card { margin-top: 14px; padding-top: 4px; border-top: 1px solid #dee2e6; }
.rnnscope-card .sections { display: flex; flex-wrap: wrap; gap: 8px; }
.rnnscope-card section { border: 1px solid #dee2e6; border-radius: 6px; padding: 0 10px 8px; flex: 1 1 420px;
  min-width: 0; overflow-x: auto; }
.rnnscope-card section.wide { flex-basis: 100%; }
.rnnscope-card h4 { margin: 10px 0 6px; }
.rnnscope-card table { border-collapse: collapse; }
.rnnscope-card th, .rnnscope-card td { padding: 2px 8px; border-bottom: 1px solid #e9ecef; }"""


def standalone_html(frame: Frame, caption: str = "", coloured_cell: int | None = None,
                    coloured_span: tuple[int, int] | None = None, card: CardExport | None = None) -> str:
    """``coloured_cell``: also the text itself coloured by that cell (app/drawing/coloured_text.py), above the heatmap;
    ``coloured_span``: only its columns lo .. hi - 1 (what the page's Coloured text tab shows); ``card``: the cell
    card, its line under the heatmap's tracks (on their x range) and its sections below the plots."""
    body = ""
    if coloured_cell is not None:
        lo, hi = coloured_span or (0, len(frame.text))
        where = "" if (lo, hi) == (0, len(frame.text)) else f", columns {lo:,} .. {hi - 1:,}"
        body = (f"<h2 style='font-size:15px'>The text coloured by cell {coloured_cell}{where}</h2>"
                + frame_cell_html(frame, coloured_cell, coloured_span))
    scope = Scope()
    scope.update(frame)
    # Only the tracks this frame shows: in a standalone document a hidden figure whose ranges can be fit
    # is still drawn, as a 1-px column of the heatmap's colours at the page's left edge (a text model's
    # depth, probe and KL tracks). The page itself keeps them, hidden, for the next frame.
    figures = [scope.heatmap.figure, *[f for f in scope.tracks.figures if f.visible]]
    if card is not None:
        figures.append(_card_line(card, scope.heatmap.figure.x_range))
    return standalone(column(*figures, sizing_mode="stretch_width"), f"rnnscope: {frame.title}", caption,
                      body_html=body, heading=f"rnnscope \u00b7 {frame.title}",
                      after_html="" if card is None else card_html(card), style="" if card is None else CARD_CSS)


def _card_line(card: CardExport, x_range):
    fig = cell_line_figure(x_range, ColumnDataSource(card.line))
    fig.y_range.start, fig.y_range.end = card.low, card.high
    span = fig.select_one({"name": "clicked"})
    span.visible, span.location = card.clicked is not None, card.clicked or 0
    fig.title.text = card.line_title
    return fig


def card_html(card: CardExport) -> str:
    """The card's heading and its sections, each in a box as on the page."""
    sections = "".join(f"<section class='{'wide' if wide else ''}'><h4>{html.escape(title)}</h4>"
                       f"{markdown_html(text)}</section>" for title, text, wide in card.sections)
    return f"<div class='rnnscope-card'>{markdown_html(card.heading)}<div class='sections'>{sections}</div></div>"


def markdown_html(text: str) -> str:
    """Markdown (with tables and inline HTML, as the page's Markdown panes draw it) as HTML, for the export."""
    from markdown_it import MarkdownIt
    return MarkdownIt('commonmark').enable('table').render(text)


def write(path: str | Path, frame: Frame, caption: str = "", coloured_cell: int | None = None) -> Path:
    """Write atomically (a temporary file renamed into place)."""
    return write_text_atomic(path, standalone_html(frame, caption, coloured_cell))
