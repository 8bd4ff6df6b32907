"""The Coloured text tab (Karpathy, Johnson & Fei-Fei 2015): the sequence on screen as
text, each character's background the heatmap's colour of one cell's value there (app/drawing/coloured_text.py),
in a scrolling pane under the heatmap of the same span. The cell is the first plotted one unless one is
chosen here; with "only the visible range" the text follows the heatmap's zoom and pan. A span longer than
MAX_COLOURED_CHARS is refused with its length (never cut), and the page's export then carries no text."""
from __future__ import annotations

import panel as pn
import param
from bokeh.models import Range1d

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.coloured_text import MAX_COLOURED_CHARS, frame_cell_html, visible_columns
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState

FOLLOW = -1          # the cell option meaning "the first plotted cell"
REDRAW_ON = ["trace", "view", "layer", "selected", "hide_separators"]


class ColouredTextTab(LazyTab):
    state = param.ClassSelector(class_=AppState)
    cell = param.Selector(default=FOLLOW, objects={"the first plotted cell": FOLLOW}, label="Colour by")
    visible_only = param.Boolean(default=True, label="Only the heatmap's visible range")

    def __init__(self, x_range: Range1d | None = None, **params):
        """``x_range``: the heatmap's, whose visible part the text shows."""
        super().__init__(**params)
        self.x_range = x_range
        self.note = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.text = pn.pane.HTML("", sizing_mode="stretch_width", max_height=520,
                                 styles={"overflow-y": "auto", "border": "1px solid #ddd", "padding": "4px"})
        self.shown: tuple[int, tuple[int, int]] | None = None     # (cell, (lo, hi)) coloured now; None: nothing
        self.state.param.watch(self._refresh, REDRAW_ON)
        self.param.watch(self._refresh, ["cell", "visible_only"])
        if x_range is not None:
            x_range.on_change("start", self._on_range)
            x_range.on_change("end", self._on_range)

    def _on_range(self, attr, old, new) -> None:
        if self.visible_only:
            self._refresh()

    def frame(self) -> Frame:
        s = self.state
        return make_frame(s.trace, s.view, s.layer, "index", [], hide_separators=s.hide_separators)

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        s = self.state
        cells = len(s.param.selected.objects)
        self.param.cell.objects = {"the first plotted cell": FOLLOW, **{f"cell {c}": c for c in range(cells)}}
        if self.cell >= cells:
            self.cell = FOLLOW             # a smaller model: back to following (this redraws)
            return
        cell = self.cell if self.cell != FOLLOW else (s.selected[0] if s.selected else None)
        if cell is None:
            return self._say("No cell to colour by: plot one (sidebar, or click a heatmap row) or choose it here.")
        frame = self.frame()
        T = len(frame.text)
        x = self.x_range
        lo, hi = visible_columns(T, x.start, x.end) if self.visible_only and x is not None else (0, T)
        if hi == lo:
            return self._say("No whole column is in the heatmap's visible range: zoom out.")
        try:
            self.text.object = frame_cell_html(frame, cell, (lo, hi))
        except RnnscopeError as e:        # e.g. a span over MAX_COLOURED_CHARS: said, never cut
            return self._say(f"No coloured text: {e}.")
        self.shown = (cell, (lo, hi))
        where = "the whole sequence" if (lo, hi) == (0, T) else "the heatmap's visible range"
        positions = frame.stream_positions
        self.note.object = (f"Characters {int(positions[lo]):,} .. {int(positions[hi - 1]):,} "
                            f"({hi - lo:,}, {where}) coloured by **cell {cell}** of {frame.title}: the heatmap's "
                            f"colours ({frame.low:g} \u2026 {frame.high:g}, white = 0); hover a character for its "
                            f"position and value. At most {MAX_COLOURED_CHARS:,} characters.")

    def _say(self, why: str) -> None:
        self.shown = None
        self.text.object = ""
        self.note.object = why

    def _layout(self):
        return pn.Column(pn.Row(pn.widgets.Select.from_param(self.param.cell, width=200),
                                pn.widgets.Checkbox.from_param(self.param.visible_only, margin=(28, 10, 0, 10))),
                         self.note, self.text, sizing_mode="stretch_width")
