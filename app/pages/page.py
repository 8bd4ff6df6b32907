"""A model's page: a sidebar of widgets made from AppState's parameters, the Scope (heatmap over tracks)
redrawn in place whenever the trace or what is shown changes (app/pages/base_page.py), and under it the
tabs that explain it.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import panel as pn
import param
from panel.io.state import set_curdoc

from rnnscope.app.drawing import export
from rnnscope.app.drawing.frame import Frame, make_frame
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache, sequences
from rnnscope.app.pages.base_page import BasePage, heading
from rnnscope.app.pages.lazy_tab import dynamic_tabs
from rnnscope.app.pages.checkpoints import find_checkpoints
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.ablation_tab import AblationTab
from rnnscope.app.tabs.automaton_tab import AutomatonTab
from rnnscope.app.tabs.cell_card import CellCard
from rnnscope.app.tabs.cells import CellsTab
from rnnscope.app.tabs.coloured_tab import ColouredBeside, ColouredTextTab
from rnnscope.app.tabs.compare_tab import CompareTab
from rnnscope.app.tabs.dynamics_tab import DynamicsTab
from rnnscope.app.tabs.explain_tab import ExplainTab
from rnnscope.app.tabs.match_tab import HeldoutMatchTab
from rnnscope.app.tabs.model_tab import model_view
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.app.tabs.saturation_tab import SaturationTab
from rnnscope.app.tabs.timeline_tab import TimelineTab

TOOLS = ["Model", "Cell card", "Cells", "Probes", "Ablation", "Explain", "Saturation", "Match", "Coloured text",
         "Compare", "Timeline", "Automaton", "Dynamics"]           # the tabs under the heatmap, in order
SHOW_THE_CLICK = ("Explain", "Automaton", "Dynamics")     # a heatmap click stays in these tabs, which show it
# Thirteen headers are wider than the main area at 1024 px: they wrap onto a second row instead of running off it.
TAB_HEADERS_WRAP = ".bk-headers-wrapper, .bk-headers { flex-wrap: wrap; } .bk-tab { white-space: nowrap; }"


class Page(BasePage):
    state = param.ClassSelector(class_=AppState)

    TITLE = "rnnscope: cells \u00d7 characters"
    REDRAW_ON = ("trace", "view", "layer", "order", "selected", "hide_separators", "rows", "top_k", "cell_list")

    def __init__(self, state: AppState | None = None, **params):
        super().__init__(state=state or AppState(), **params)
        self.explain = ExplainTab(state=self.state)
        # Built with the page, not the tab: it puts its span tool and highlight on the heatmap.
        self.match = HeldoutMatchTab(state=self.state, figure=self.scope.heatmap.figure, frame=lambda: self.frame)
        self.card = CellCard(state=self.state, x_range=self.scope.x_range)
        self.card.shown = self._card_shown
        self.state.param.watch(lambda e: self.open_card(*e.new), ["inspected"])
        self._start()
        # The tools that explain the heatmap, below it; dynamic: a tab is sent to the browser when it is
        # first opened, and a LazyTab computes only then (app/pages/lazy_tab.py).
        x = self.scope.x_range
        self.coloured = ColouredTextTab(state=self.state, x_range=x)
        # A model of text: its coloured text beside the heatmap, on a cell about the text (its first view)
        self.beside = ColouredBeside(state=self.state, x_range=x)
        # A heatmap column clicked is lit on the automaton and on the trajectory
        self.automaton, self.dynamics = AutomatonTab(state=self.state), DynamicsTab(state=self.state)
        self.cells, self.saturation = CellsTab(state=self.state), SaturationTab(state=self.state)
        self.tools = dynamic_tabs(("Model", pn.panel(pn.bind(model_view, self.state.param.model_path),
                                                     sizing_mode="stretch_width")),
                                  ("Cell card", self.card), ("Cells", self.cells),
                                  ("Probes", ProbesTab(state=self.state)),
                                  ("Ablation", AblationTab(state=self.state, x_range=x)),
                                  ("Explain", self.explain), ("Saturation", self.saturation),
                                  ("Match", self.match), ("Coloured text", self.coloured),
                                  ("Compare", CompareTab(state=self.state, x_range=x)),
                                  ("Timeline", TimelineTab(state=self.state, x_range=x)),
                                  ("Automaton", self.automaton), ("Dynamics", self.dynamics),
                                  sizing_mode="stretch_width", stylesheets=[TAB_HEADERS_WRAP])
        self.tools.param.watch(lambda e: e.new == TOOLS.index("Cell card") and self.card.reveal(), "active")

    def _make_frame(self) -> Frame:
        s = self.state
        return make_frame(s.trace, s.view, s.layer, s.order, list(s.selected), hide_separators=s.hide_separators,
                          divergence=s.divergence, probe=s.probe, rows=s.row_filter(), rankings=s.rankings())

    def _on_cell_clicked(self, cell: int, step: int) -> None:
        self.explain.param.update(cell=cell, step=step)     # the Explain tab follows the click
        self.automaton.step = self.dynamics.step = step     # and the state after that character is lit
        # the card opens on it, unless a tab that shows the click itself is open
        self.open_card(cell, self.state.layer, step, switch=TOOLS[self.tools.active] not in SHOW_THE_CLICK)

    def _card_shown(self) -> bool:
        return getattr(self, "tools", None) is not None and self.tools.active == TOOLS.index("Cell card")

    def open_card(self, cell: int, layer: int, step: int | None = None, switch: bool = True) -> None:
        """The cell card of ``cell`` of ``layer`` (the heatmap switches to that layer), shown in its tab."""
        doc = self.scope.layout.document
        # Under the page's document as Panel's current one: a table's click arrives without it, and the card's
        # panes drawn then would name Panel's stylesheets on its CDN (the page asks nothing of the internet).
        with set_curdoc(doc) if doc is not None else contextlib.nullcontext():
            if layer != self.state.layer:
                self.state.layer = layer
            self.card.show(cell, step)
            if switch:
                self.tools.active = TOOLS.index("Cell card")        # painted now (reveal)

    # --- the card's address: ?cell=7&layer=0&model=gru15-parens ----------------------------
    def follow_address(self, location) -> None:
        """Open the card the URL names (refused with the reason, nothing changed, when it names what this
        page cannot show), then keep the URL naming the card shown."""
        if "cell" in location.query_params:
            try:
                self.open_address(location.query_params)
            except RnnscopeError as e:
                self.state.refuse(f"the address asks for {e}")

        def write(*events) -> None:
            if self.card.cell is not None:
                location.update_query(cell=self.card.cell, layer=self.state.layer,
                                      model=Path(self.state.model_path).name)
        self.card.param.watch(write, ["cell"])
        self.state.param.watch(write, ["layer", "model_path"])
        write()

    def open_address(self, query: dict) -> None:
        """``query``: cell, layer (default 0) and model (a checkpoint's name among the page's models; default
        the one shown). Raises RnnscopeError, changing nothing, for any it cannot show."""
        models = find_checkpoints(self.state.model_path)
        name = str(query.get("model", Path(self.state.model_path).name))
        if name not in models:
            raise RnnscopeError(f"model {name!r}, which is not among this page's models ({', '.join(models)})")
        cell, layer = _whole(query, "cell"), _whole(query, "layer", 0)
        config = cache.load_model(models[name]).config
        if not 0 <= layer < config.num_layers:
            raise RnnscopeError(f"layer {layer}; {name} has layers 0 .. {config.num_layers - 1}")
        if not 0 <= cell < config.hidden_size:
            raise RnnscopeError(f"cell {cell}; {name} has cells 0 .. {config.hidden_size - 1}")
        if models[name] != self.state.model_path:
            self.state.model_path = models[name]
        self.open_card(cell, layer)

    def current_frame(self) -> Frame:
        """The frame on screen, with the visible x range the browser last reported."""
        f = self.frame
        return Frame(**{**f.__dict__, "x_start": self.scope.x_range.start, "x_end": self.scope.x_range.end})

    def export_html(self) -> str:
        """What is on screen; with the Coloured text tab open and colouring a cell, that text too; with the
        cell card open on a cell, the card (its sections as they stand)."""
        cell, span, card = None, None, None
        if self.coloured.shown and self.tools.active == TOOLS.index("Coloured text"):
            cell, span = self.coloured.shown
        if self.tools.active == TOOLS.index("Cell card"):
            card = self.card.export()
        return export.standalone_html(self.current_frame(), self.caption(), coloured_cell=cell, coloured_span=span,
                                      card=card)

    def cell_labels(self):
        """The Cells tab's labels of the view and layer shown (app/pages/cache.py, the same cache): what a word
        typed in the cell picker looks in. The first time labels the held-out stream: seconds."""
        s = self.state
        return cache.cell_labels(s.model_path, s.view, s.layer, cache.LABEL_CHARS, s.heldout_key)[0]

    def caption(self) -> str:
        return f"{Path(self.state.model_path).name}: {self.state.sequence_note}"

    # --- layout --------------------------------------------------------------------------
    def __panel__(self):
        scope = pn.pane.Bokeh(self.scope.layout, sizing_mode="stretch_width")
        return pn.Column(*self.messages(), pn.Row(scope, self.beside, sizing_mode="stretch_width"), self.tools,
                         sizing_mode="stretch_width")

    def template(self):
        tmpl = super().template()
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None and pn.state.location is not None:
            self.follow_address(pn.state.location)      # served: the URL names the card
        return tmpl

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


def _whole(query: dict, key: str, default: int | None = None) -> int:
    """``query[key]`` as a whole number (a URL's value arrives parsed, or as text)."""
    value = query.get(key, default)
    try:
        return int(str(value))
    except ValueError:
        raise RnnscopeError(f"{key} {value!r}, which is not a whole number") from None
