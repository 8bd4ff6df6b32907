"""A model's page: a sidebar of widgets made from AppState's parameters, the Scope (heatmap over tracks)
redrawn in place whenever the trace or what is shown changes (app/pages/base_page.py), and under it the
tabs that explain it.
"""
from __future__ import annotations

import io
from pathlib import Path

import panel as pn
import param

from rnnscope.app.drawing import export
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.app.pages import sequences
from rnnscope.app.pages.base_page import BasePage, heading
from rnnscope.app.pages.lazy_tab import dynamic_tabs
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.ablation_tab import AblationTab
from rnnscope.app.tabs.automaton_tab import AutomatonTab
from rnnscope.app.tabs.cells import CellsTab
from rnnscope.app.tabs.coloured_tab import ColouredTextTab
from rnnscope.app.tabs.compare_tab import CompareTab
from rnnscope.app.tabs.dynamics_tab import DynamicsTab
from rnnscope.app.tabs.explain_tab import ExplainTab
from rnnscope.app.tabs.match_tab import HeldoutMatchTab
from rnnscope.app.tabs.model_tab import model_view
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.app.tabs.saturation_tab import SaturationTab
from rnnscope.app.tabs.timeline_tab import TimelineTab

TOOLS = ["Model", "Cells", "Probes", "Ablation", "Explain", "Saturation", "Match", "Coloured text", "Compare",
         "Timeline", "Automaton", "Dynamics"]           # the tabs under the heatmap, in order


class Page(BasePage):
    state = param.ClassSelector(class_=AppState)

    TITLE = "rnnscope: cells \u00d7 characters"
    REDRAW_ON = ("trace", "view", "layer", "order", "selected", "hide_separators", "rows", "top_k", "cell_list")

    def __init__(self, state: AppState | None = None, **params):
        super().__init__(state=state or AppState(), **params)
        self.explain = ExplainTab(state=self.state)
        # Built with the page, not the tab: it puts its span tool and highlight on the heatmap.
        self.match = HeldoutMatchTab(state=self.state, figure=self.scope.heatmap.figure, frame=lambda: self.frame)
        self._start()
        # The tools that explain the heatmap, below it; dynamic: a tab is sent to the browser when it is
        # first opened, and a LazyTab computes only then (app/pages/lazy_tab.py).
        x = self.scope.x_range
        self.coloured = ColouredTextTab(state=self.state, x_range=x)
        # A heatmap column clicked is lit on the automaton and on the trajectory
        self.automaton, self.dynamics = AutomatonTab(state=self.state), DynamicsTab(state=self.state)
        self.tools = dynamic_tabs(("Model", pn.panel(pn.bind(model_view, self.state.param.model_path),
                                                     sizing_mode="stretch_width")),
                                  ("Cells", CellsTab(state=self.state)), ("Probes", ProbesTab(state=self.state)),
                                  ("Ablation", AblationTab(state=self.state, x_range=x)),
                                  ("Explain", self.explain), ("Saturation", SaturationTab(state=self.state)),
                                  ("Match", self.match), ("Coloured text", self.coloured),
                                  ("Compare", CompareTab(state=self.state, x_range=x)),
                                  ("Timeline", TimelineTab(state=self.state, x_range=x)),
                                  ("Automaton", self.automaton), ("Dynamics", self.dynamics),
                                  sizing_mode="stretch_width",
                                  # twelve tabs: their names wrap onto a second line rather than run off a narrow page
                                  stylesheets=[":host .bk-headers-wrapper { flex-wrap: wrap; }"])

    def _make_frame(self) -> Frame:
        s = self.state
        return make_frame(s.trace, s.view, s.layer, s.order, list(s.selected), hide_separators=s.hide_separators,
                          divergence=s.divergence, probe=s.probe, rows=s.row_filter(), rankings=s.rankings())

    def _on_cell_clicked(self, cell: int, step: int) -> None:
        self.explain.param.update(cell=cell, step=step)     # the Explain tab follows the click
        self.automaton.step = self.dynamics.step = step     # and the state after that character is lit

    def current_frame(self) -> Frame:
        """The frame on screen, with the visible x range the browser last reported."""
        f = self.frame
        return Frame(**{**f.__dict__, "x_start": self.scope.x_range.start, "x_end": self.scope.x_range.end})

    def export_html(self) -> str:
        """What is on screen; with the Coloured text tab open and colouring a cell, that text too."""
        cell, span = None, None
        if self.coloured.shown and self.tools.active == TOOLS.index("Coloured text"):
            cell, span = self.coloured.shown
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
            W.TextInput.from_param(p.heldout_file, placeholder="/path/to/text.txt"),
            W.TextInput.from_param(p.heldout_range, placeholder="0:50000", width=200),
            W.Button.from_param(p.random),
            heading("\u2026 or your own text"),
            text, trace_text,
            heading("\u2026 or a sample from the model"),
            pn.Row(W.IntInput.from_param(p.sample_chars, width=90), W.FloatInput.from_param(p.temperature, width=85),
                   W.IntInput.from_param(p.seed, width=75)),
            W.Button.from_param(p.sample),
            heading("What is shown"),
            W.Select.from_param(p.view), W.Select.from_param(p.layer),
            *self.rows_widgets(),
            W.Checkbox.from_param(p.hide_separators),
            *self.picker_widgets(),
            download,
        ]

    def _trace_typed(self, widget) -> None:
        value = widget.value_input if widget.value_input is not None else widget.value
        if value == self.state.text:
            self.state.param.trigger("text")
        else:
            self.state.text = value

    def messages(self) -> list:
        error, note = super().messages()
        model = pn.pane.Markdown(pn.bind(lambda n: f"**Model:** {n}", self.state.param.model_note), margin=(0, 10))
        return [error, model, note]
