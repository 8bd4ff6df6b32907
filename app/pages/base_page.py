"""What every page that draws a heatmap of cells does, whatever made the states: a Scope (heatmap over
tracks) redrawn in place from a Frame whenever its state changes, a click on a heatmap row plotting that
cell, the refusal and the sequence note above the heatmap, the tabs under it, and the template around it
all. Page (a model's, app/pages/page.py) and LstmvisPage (an LSTMVis directory's,
app/pages/lstmvis/lstmvis_page.py) derive from it.

Every redraw goes through ``_show``. In a served session a parameter may change outside Bokeh's
document lock (a widget's value sent when it loses focus, say), and changing a Bokeh source there
raises; so the new frame is handed to the document's next tick, which runs with the lock held. Without a
session (plain pytest, the export) the scope is updated at once.

A subclass gives ``_make_frame`` (the frame its state shows), ``sidebar`` and ``_tools`` (the tabs), and
may extend ``_draw`` (more than the scope to update) and ``_on_cell_clicked`` (a click's cell and step).
"""
from __future__ import annotations

import dataclasses

import panel as pn
import param
from bokeh.events import Tap
from panel.viewable import Viewer

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.row_filter import cells_text
from rnnscope.app.drawing.scope import Scope
from rnnscope.app.pages.rows_state import RowsState
from rnnscope.app.pages import detached_models

# The page's own files live in the top-level static/. app/static links there, and Bokeh serves
# an app's static folder at <app>/static/, so `panel serve app` and serve.py both serve them.
STATIC = "app/static/"
# Up to this many cells the picker also shows a toggle button per cell (the shipped models of 15, 24 and 28
# cells: a click each, as before); more would fill the sidebar (128 cells: some 25 rows of buttons).
BUTTONS_MAX = 32


class BasePage(Viewer):
    state = param.ClassSelector(class_=RowsState)

    TITLE = "rnnscope"
    NOTE = "Sequence"                # the note above the heatmap: "**<NOTE>:** <state.sequence_note>"
    REDRAW_ON: tuple[str, ...] = ("trace", "order", "selected", "rows", "top_k", "cell_list")

    def __init__(self, **params):
        super().__init__(**params)
        detached_models.install()       # a hidden tab's pane changed must not send the page to Panel's CDN
        self.scope = Scope()
        self.picker = CellPicker(self.state, self.cell_labels)
        self.frame: Frame | None = None
        self._queued: Frame | None = None      # the newest frame waiting for the document's next tick

    def _start(self) -> None:
        """Once the subclass has built what it draws: follow the state, and draw the first frame."""
        self.scope.heatmap.figure.on_event(Tap, self._on_tap)
        self.state.param.watch(self._redraw, list(self.REDRAW_ON))
        self._redraw()

    # --- drawing -------------------------------------------------------------------------
    def _make_frame(self) -> Frame:
        raise NotImplementedError(f"{type(self).__name__} must say what frame its state shows (_make_frame)")

    def _redraw(self, *events) -> None:
        try:
            frame = self._make_frame()
        except RnnscopeError as e:   # e.g. a view the new model lacks, a filter with no ranking: keep what is drawn
            self.state.refuse(str(e))
            return
        # Positions count from the stream's start, whichever page made the frame.
        self.frame = dataclasses.replace(frame, offset=self.state.first_position)
        self._show(self.frame)

    def _show(self, frame: Frame) -> None:
        doc = self.scope.layout.document     # set once the page is served (None while it is built)
        if doc is None or doc.session_context is None:
            self._draw(frame)
            return
        pending = self._queued is not None
        self._queued = frame                    # several changes in one tick: draw only the last
        if not pending:
            doc.add_next_tick_callback(self._show_queued)

    def _show_queued(self) -> None:
        frame, self._queued = self._queued, None
        if frame is not None:
            self._draw(frame)

    def _draw(self, frame: Frame) -> None:
        self.scope.update(frame)

    # --- a click on the heatmap ----------------------------------------------------------
    def _on_tap(self, event) -> None:
        H = len(self.frame.cells)
        row = H - 1 - round(event.y)
        column = round(event.x)
        if 0 <= row < H and 0 <= column < len(self.frame.text):
            self._on_cell_clicked(int(self.frame.cells[row]), int(self.frame.char_positions[column]))
        if 0 <= row < H:        # plotted, never un-plotted: a second click must not undo what the first showed
            self.state.plot_cell(int(self.frame.cells[row]))

    def _on_cell_clicked(self, cell: int, step: int) -> None:
        """A click on ``cell`` at character ``step`` (its true position), before the cell is plotted."""

    def cell_labels(self):
        """The labels a word typed in the cell picker looks in: the state's (None: no labels here)."""
        return self.state.cell_labels()

    # --- layout --------------------------------------------------------------------------
    def sidebar(self) -> list:
        raise NotImplementedError(f"{type(self).__name__} must say what its sidebar holds")

    def rows_widgets(self) -> list:
        """How the rows are ordered and which are shown."""
        p = self.state.param
        W = pn.widgets
        return [pn.pane.Markdown(p.order.label, margin=(0, 10, -10, 10)),
                W.RadioButtonGroup.from_param(p.order),
                W.Select.from_param(p.rows),
                pn.Row(W.IntInput.from_param(p.top_k, width=70), W.TextInput.from_param(p.cell_list, width=220))]

    def picker_widgets(self) -> list:
        return self.picker.widgets()

    def messages(self) -> list:
        """What is said above the heatmap: why the last input was refused, and what is shown."""
        s = self.state
        error = pn.pane.Alert(pn.bind(lambda e: e, s.param.error), alert_type="danger",
                              visible=pn.bind(bool, s.param.error), sizing_mode="stretch_width")
        note = pn.pane.Markdown(pn.bind(lambda n: f"**{self.NOTE}:** {n}", s.param.sequence_note),
                                sizing_mode="stretch_width", margin=(0, 10))
        return [error, note]

    def __panel__(self):
        return pn.Column(*self.messages(), pn.pane.Bokeh(self.scope.layout, sizing_mode="stretch_width"),
                         self.tools, sizing_mode="stretch_width")

    def template(self):
        tmpl = pn.template.BootstrapTemplate(title=self.TITLE, sidebar_width=330,
                                             favicon=static_url("favicon.svg"), logo=static_url("favicon.svg"))
        tmpl.config.css_files.append(STATIC + "rnnscope.css")   # from the root: Panel prefixes the way there
        tmpl.sidebar.extend(self.sidebar())
        tmpl.main.append(self)
        return tmpl


def static_url(name: str) -> str:
    """The absolute URL of static/``name`` beside this session's page (under any --prefix).
    Not a relative path: Panel inlines a favicon or logo whose path names a file here."""
    doc = pn.state.curdoc
    request = doc.session_context.request if doc is not None and doc.session_context else None
    return f"{request.path.rstrip('/') if request else '/app'}/static/{name}"


class CellPicker:
    """Which cells are plotted under the heatmap: a box that takes "7, 12-15" (the row filter's own parser,
    app/drawing/row_filter.py) or a label word ("in_string": the cells whose label, the Cells tab's, names
    it), a line saying what is plotted, and for a model of at most BUTTONS_MAX cells a toggle button per
    cell too. A refused entry says why above the heatmap, and the box snaps back: nothing changes.

    Not a MultiChoice: its Choices.js logs an "allowHTML" deprecation warning on every page load, and Bokeh
    exposes no option to set it."""

    def __init__(self, state, labels):
        self.state, self.labels = state, labels
        self.box = pn.widgets.TextInput(placeholder="e.g. 7, 12-15 or a label word: in_string",
                                        sizing_mode="stretch_width")
        self.box.param.watch(self._pick, "value")
        self.note = pn.pane.Markdown(pn.bind(picked_note, state.param.selected), margin=(-5, 10, 0, 10))
        self.buttons = pn.widgets.CheckButtonGroup.from_param(
            state.param.selected, button_type="primary", button_style="outline",
            sizing_mode="stretch_width", stylesheets=[":host .bk-btn-group { flex-wrap: wrap; }"])
        self._fit_buttons()
        state.param.watch(self._fit_buttons, ["selected"], what="objects")    # another model: other cells
        self._snapping_back = False

    def _pick(self, event) -> None:
        if self._snapping_back or self.state.pick(event.new, self.labels):
            return
        self._snapping_back = True
        try:
            self.box.value = event.old
        finally:
            self._snapping_back = False

    def _fit_buttons(self, *events) -> None:
        self.buttons.visible = len(self.state.param.selected.objects) <= BUTTONS_MAX

    def widgets(self) -> list:
        label = self.state.param.selected.label
        return [pn.pane.Markdown(f"{label}: numbers, ranges or a label word (or click a heatmap row)",
                                 margin=(0, 10, -10, 10)), self.box, self.note, self.buttons]


def picked_note(selected: list[int]) -> str:
    """e.g. "picked 5 cells: 7, 12-15" (at most MAX_PICKED from the box; clicks may add more)."""
    if not selected:
        return "no cell picked"
    return f"picked {len(selected)} cell{'s' if len(selected) > 1 else ''}: {cells_text(list(selected))}"


def heading(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(f"#### {text}", margin=(8, 5, 0, 5))
