"""The Coloured text tab (Karpathy, Johnson & Fei-Fei 2015): the sequence on screen as
text, each character's background the heatmap's colour of one cell's value there (app/drawing/coloured_text.py),
in a scrolling pane under the heatmap of the same span. The cell is the first plotted one unless one is
chosen here; with "only the visible range" the text follows the heatmap's zoom and pan. A span longer than
MAX_COLOURED_CHARS is refused with its length (never cut), and the page's export then carries no text.

For a model of text the same view also stands beside the heatmap (``ColouredBeside``), opened on a cell the
labeller finds about the text itself."""
from __future__ import annotations

import contextlib

import panel as pn
import param
from bokeh.models import Range1d
from panel.io.state import set_curdoc

from rnnscope.analysis.describe.labels import CellLabel, first_about_the_text
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.coloured_text import MAX_COLOURED_CHARS, frame_cell_html, plain_text_html, visible_columns
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.app.pages import cache
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


BESIDE_PX = 420         # the coloured text's width beside the heatmap (1400 px wide: the heatmap keeps ~600)
BESIDE_HEIGHT_PX = 640  # its scrolling height: on the first screen at 900 px, beside the heatmap's top
CROWDED_COLUMNS = 600   # the heatmap beside the text is ~600 px across at 1400: more columns share pixels
CHOOSING = ("*Choosing the cell to colour by: the labeller's first cell about the text (the Cells tab's labels of "
            f"the first {cache.LABEL_CHARS:,} held-out characters; the first time for a model takes a while). "
            "The text, meanwhile, uncoloured.*")


class ColouredBeside(ColouredTextTab):
    """The coloured text beside the heatmap of a model of text, shown with it (not a tab to open), on the cell
    the labeller ranks first among those whose label is about the text beyond its input -- a string, brackets,
    indentation, the line (analysis/describe/labels.py ``first_about_the_text``) -- read from the Cells tab's
    cached labels, so the two agree. Labelling takes seconds the first time: the text is shown at once, and
    the choice is made off the page's thread and applied when it arrives, with why that cell. Another model,
    view, layer or held-out stream: the cell is chosen again (a cell picked here meanwhile gives way)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.text.max_height = BESIDE_HEIGHT_PX
        self.why = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.chosen: CellLabel | None = None     # the label that chose the cell (None: none yet, or none found)
        self._request = 0
        self._choosing = False
        self.opened = True                        # on screen with the heatmap
        self.state.param.watch(self._choose, ["model_path", "view", "layer", "heldout_key"])
        self._choose()

    def _choose(self, *events) -> None:
        s = self.state
        self._request += 1
        self.chosen = None
        if not s.text_model:
            self._choosing, self.why.object = False, ""
            return
        request, path, view, layer, key = self._request, s.model_path, s.view, s.layer, s.heldout_key
        doc = pn.state.curdoc
        self._choosing, self.why.object = True, CHOOSING
        self._refresh()

        def work():
            try:
                labels = cache.cell_labels(path, view, layer, key=key)[0]
                return first_about_the_text(labels), labels, ""
            except RnnscopeError as e:
                return None, [], str(e)

        def apply(found) -> None:
            # Under the page's document: a pane changed without it would name Panel's stylesheets on its CDN
            with set_curdoc(doc) if doc is not None else contextlib.nullcontext():
                self._chosen(request, *found)
        self.off_thread(work, apply, "rnnscope-text-cell")

    def _chosen(self, request: int, lab: CellLabel | None, labels: list[CellLabel], why: str) -> None:
        if request != self._request:              # another model, view or layer was asked for since
            return
        self._choosing, self.chosen = False, lab
        if lab is None:
            self.why.object = (f"No labels for this model: {why}" if why else
                               "No cell of this view has a label about the text beyond its characters (each goes "
                               "with the character, its class or the next one): coloured by the first plotted cell.")
            return self._refresh()
        self.why.object = chosen_note(lab, labels, self.state.view, self.state.layer)
        self.param.cell.objects = {"the first plotted cell": FOLLOW,
                                   **{f"cell {c}": c for c in range(len(self.state.param.selected.objects))}}
        if self.cell == lab.cell:
            self._refresh()
        else:
            self.cell = lab.cell                  # redraws (watched)

    def _refresh(self, *events) -> None:
        s = self.state
        if not s.text_model or s.trace is None:
            return
        if not self._choosing:
            super()._refresh(*events)
            columns = len(self.frame().text)
            if self.shown is not None and columns > CROWDED_COLUMNS:
                self.note.object += (f" The heatmap holds all {columns:,} columns, more than it has pixels across: "
                                     "some share a pixel, so zoom in (mouse wheel) to tell single ones apart; this "
                                     "text follows the zoom.")
            return
        try:
            self.text.object = plain_text_html(s.trace.text)
        except RnnscopeError as e:
            return self._say(f"No text: {e}.")
        self.shown, self.note.object = None, ""

    def __panel__(self):
        # Not a LazyTab's column (stretching, with a "Computing" note): a fixed width beside the heatmap,
        # shown only while the model shown reads text.
        # The text high on the first screen: what chose the cell above it, the choice and the span's note under it
        # (the choice over the checkbox: side by side, the checkbox's label ran past the column's edge)
        controls = pn.Column(pn.widgets.Select.from_param(self.param.cell, width=200),
                             pn.widgets.Checkbox.from_param(self.param.visible_only, margin=(0, 10, 5, 10)))
        return pn.Column(pn.pane.Markdown("#### Coloured text", margin=(0, 10)), self.why, self.text, controls,
                         self.note, width=BESIDE_PX, visible=pn.bind(bool, self.state.param.text_model))


def chosen_note(lab: CellLabel, labels: list[CellLabel], view: str, layer: int) -> str:
    """Which cell colours the text and why: its label, its rank among the labeller's cells, and the statistic
    the label stands on beside the 99th percentile of that statistic's null."""
    f = lab.shown
    if lab.shows_beyond:
        stat = (f"CMI {f.score:.3f} bits given the character (Miller\u2013Madow), against {lab.beyond_null:.3f}, the "
                "99th percentile of its null (the annotation shuffled within each character)")
    else:
        stat = (f"MI of {f.annotation.replace('_', ' ')} with the cell {lab.null_stat:.3f} bits (Miller\u2013Madow), "
                f"against {lab.null:.3f}, the 99th percentile of its shuffle null")
    rank = [x.cell for x in labels].index(lab.cell) + 1
    return (f"**Cell {lab.cell}** ({view}, layer {layer}): {lab.label}. {stat}. The labeller's cell {rank} of "
            f"{len(labels)}, the first whose label is about the text rather than the character, its class or the "
            "next one (the Cells tab's labels). Choose another below.")
