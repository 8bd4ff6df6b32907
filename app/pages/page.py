"""The page: a sidebar of widgets made from AppState's parameters, and the Scope (heatmap
over tracks) redrawn in place whenever the trace or what is shown changes.

Every redraw goes through ``_show``. In a served session a parameter may change outside
Bokeh's document lock (a widget's value sent when it loses focus, say), and changing a Bokeh
source there raises; so the new frame is handed to the document's next tick, which runs with
the lock held. Without a session (plain pytest, the export) the scope is updated at once."""
from __future__ import annotations

import io
from pathlib import Path

import panel as pn
import param
from bokeh.events import Tap
from panel.viewable import Viewer

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing import export

from rnnscope.app.pages import sequences
from rnnscope.app.tabs.ablation_tab import AblationTab
from rnnscope.app.tabs.cells import CellsTab
from rnnscope.app.tabs.coloured_tab import ColouredTextTab
from rnnscope.app.tabs.compare_tab import CompareTab
from rnnscope.app.tabs.explain_tab import ExplainTab
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.app.pages.lazy_tab import dynamic_tabs
from rnnscope.app.tabs.match_tab import MatchTab
from rnnscope.app.tabs.model_tab import model_view
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.app.tabs.saturation_tab import SaturationTab
from rnnscope.app.drawing.scope import Scope
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.timeline_tab import TimelineTab

TOOLS = ["Model", "Cells", "Probes", "Ablation", "Explain", "Saturation", "Match", "Coloured text", "Compare",
         "Timeline"]           # the tabs under the heatmap, in order
REDRAW_ON = ["trace", "view", "layer", "order", "selected", "hide_separators", "rows", "top_k", "cell_list"]
# The page's own files live in the top-level static/. app/static links there, and Bokeh serves
# an app's static folder at <app>/static/, so `panel serve app` and serve.py both serve them.
STATIC = "app/static/"


class Page(Viewer):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState | None = None, **params):
        super().__init__(state=state or AppState(), **params)
        self.scope = Scope()
        self.frame: Frame | None = None
        self._queued: Frame | None = None      # the newest frame waiting for the document's next tick
        self.explain = ExplainTab(state=self.state)
        # Built with the page, not the tab: it puts its span tool and highlight on the heatmap.
        self.match = MatchTab(state=self.state, figure=self.scope.heatmap.figure, frame=lambda: self.frame)
        self.scope.heatmap.figure.on_event(Tap, self._on_tap)
        self.state.param.watch(self._redraw, REDRAW_ON)
        self._redraw()

    # --- drawing -------------------------------------------------------------------------
    def _redraw(self, *events) -> None:
        s = self.state
        try:
            frame = make_frame(s.trace, s.view, s.layer, s.order, list(s.selected),
                               hide_separators=s.hide_separators, divergence=s.divergence, probe=s.probe,
                               rows=s.row_filter(), rankings=s.rankings())
        except RnnscopeError as e:   # e.g. a view the new model lacks, a filter with no ranking; keep what is drawn
            s.refuse(str(e))
            return
        self.frame = frame
        self._show(frame)

    def _show(self, frame: Frame) -> None:
        doc = self.scope.layout.document     # set once the page is served (None while it is built)
        if doc is None or doc.session_context is None:
            self.scope.update(frame)
            return
        pending = self._queued is not None
        self._queued = frame                    # several changes in one tick: draw only the last
        if not pending:
            doc.add_next_tick_callback(self._show_queued)

    def _show_queued(self) -> None:
        frame, self._queued = self._queued, None
        if frame is not None:
            self.scope.update(frame)

    def _on_tap(self, event) -> None:
        H = len(self.frame.cells)
        row = H - 1 - round(event.y)
        column = round(event.x)
        if 0 <= row < H and 0 <= column < len(self.frame.text):     # the Explain tab follows the click
            self.explain.param.update(cell=int(self.frame.cells[row]),
                                      step=int(self.frame.char_positions[column]))
        if 0 <= row < H:
            cell = int(self.frame.cells[row])
            sel = list(self.state.selected)
            self.state.selected = [c for c in sel if c != cell] if cell in sel else [*sel, cell]

    def current_frame(self) -> Frame:
        """The frame on screen, with the visible x range the browser last reported."""
        f = self.frame
        return Frame(**{**f.__dict__, "x_start": self.scope.x_range.start, "x_end": self.scope.x_range.end})

    def export_html(self) -> str:
        """What is on screen; with the Coloured text tab open and colouring a cell, that text too."""
        coloured = getattr(self, "coloured", None)
        tools = getattr(self, "tools", None)
        cell, span = None, None
        if coloured is not None and coloured.shown and tools.active == TOOLS.index("Coloured text"):
            cell, span = coloured.shown
        return export.standalone_html(self.current_frame(), self.caption(), coloured_cell=cell, coloured_span=span)

    def caption(self) -> str:
        return f"{Path(self.state.model_path).name}: {self.state.sequence_note}"

    # --- layout --------------------------------------------------------------------------
    def sidebar(self) -> list:
        p = self.state.param
        W = pn.widgets
        # Not linked to `text`: only the button traces (leaving the box must not). The browser
        # cuts a paste at max_length without a word, so the box holds one character more than
        # the page traces: a longer paste reaches the state, which refuses it and says why.
        text = W.TextAreaInput(name=f"Text, typed or pasted: at most {sequences.MAX_CHARS:,}",
                               value=self.state.text, height=110,
                               max_length=sequences.MAX_CHARS + 1,
                               placeholder="( 1 ( 2 ) 1 ) 0 ...", sizing_mode="stretch_width")
        trace_text = W.Button(name="Trace this text", button_type="primary")
        trace_text.on_click(lambda _: self._trace_typed(text))
        download = W.FileDownload(callback=lambda: io.BytesIO(self.export_html().encode()),
                                  filename="rnnscope.html", label="Export this view (HTML)", button_type="success")
        return [
            W.Select.from_param(p.model_path),
            heading("Sequence: a window of the held-out stream"),
            pn.Row(W.IntInput.from_param(p.index, width=140), W.IntInput.from_param(p.window, width=120)),
            W.Select.from_param(p.reading),
            W.Button.from_param(p.random),
            heading("\u2026 or your own text"),
            text, trace_text,
            heading("\u2026 or a sample from the model"),
            pn.Row(W.IntInput.from_param(p.sample_chars, width=90), W.FloatInput.from_param(p.temperature, width=85),
                   W.IntInput.from_param(p.seed, width=75)),
            W.Button.from_param(p.sample),
            heading("What is shown"),
            W.Select.from_param(p.view), W.Select.from_param(p.layer),
            pn.pane.Markdown(p.order.label, margin=(0, 10, -10, 10)),
            W.RadioButtonGroup.from_param(p.order),
            W.Select.from_param(p.rows),
            pn.Row(W.IntInput.from_param(p.top_k, width=70), W.TextInput.from_param(p.cell_list, width=220)),
            W.Checkbox.from_param(p.hide_separators),
            pn.pane.Markdown(f"{p.selected.label} (or click a heatmap row)", margin=(0, 10, -10, 10)),
            cell_picker(p.selected),
            download,
        ]

    def _trace_typed(self, widget) -> None:
        value = widget.value_input if widget.value_input is not None else widget.value
        if value == self.state.text:
            self.state.param.trigger("text")
        else:
            self.state.text = value

    def messages(self) -> list:
        s = self.state
        error = pn.pane.Alert(pn.bind(lambda e: e, s.param.error), alert_type="danger",
                              visible=pn.bind(bool, s.param.error), sizing_mode="stretch_width")
        note = pn.pane.Markdown(pn.bind(lambda n: f"**Sequence:** {n}", s.param.sequence_note),
                                sizing_mode="stretch_width",
                                margin=(0, 10))
        model = pn.pane.Markdown(pn.bind(lambda n: f"**Model:** {n}", s.param.model_note), margin=(0, 10))
        return [error, model, note]

    def __panel__(self):
        # The tools that explain the heatmap, below it (DESIGN.md section 5); dynamic: a tab is sent
        # to the browser when it is first opened, and a LazyTab computes only then (app/pages/lazy_tab.py).
        x = self.scope.x_range
        self.coloured = ColouredTextTab(state=self.state, x_range=x)
        tools = dynamic_tabs(("Model", pn.panel(pn.bind(model_view, self.state.param.model_path),
                                                sizing_mode="stretch_width")),
                             ("Cells", CellsTab(state=self.state)), ("Probes", ProbesTab(state=self.state)),
                             ("Ablation", AblationTab(state=self.state, x_range=x)),
                             ("Explain", self.explain), ("Saturation", SaturationTab(state=self.state)),
                             ("Match", self.match), ("Coloured text", self.coloured),
                             ("Compare", CompareTab(state=self.state, x_range=x)),
                             ("Timeline", TimelineTab(state=self.state, x_range=x)),
                             sizing_mode="stretch_width")
        self.tools = tools
        return pn.Column(*self.messages(), pn.pane.Bokeh(self.scope.layout, sizing_mode="stretch_width"), tools,
                         sizing_mode="stretch_width")

    def template(self):
        tmpl = pn.template.BootstrapTemplate(title="rnnscope: cells \u00d7 characters", sidebar_width=330,
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


def cell_picker(selected: param.ListSelector) -> pn.widgets.CheckButtonGroup:
    """A toggle button per cell, wrapped into rows. Not a MultiChoice: its Choices.js logs an
    "allowHTML" deprecation warning on every page load, and Bokeh exposes no option to set it."""
    return pn.widgets.CheckButtonGroup.from_param(
        selected, button_type="primary", button_style="outline",
        sizing_mode="stretch_width", stylesheets=[":host .bk-btn-group { flex-wrap: wrap; }"])


def heading(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(f"#### {text}", margin=(8, 5, 0, 5))
