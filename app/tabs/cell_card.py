"""The Cell card tab: everything the project knows about one cell, in one place. A click on a cell anywhere
(a heatmap row, a Cells table row, a saturation point, a probe's curve, a compare pair, a match's on-cell)
opens it: the label and the runners-up, the mean per category, the cell's line over the shown sequence and
its coloured text, its probe weights and ranks, its ablation cost and samples with it ablated, its saturation
point, its place in the causal codes, its mean in each state of the extracted automaton and its part in the
dynamics (loadings, fixed points, slowest modes), the recurrent weights into and out of it, and the Explain
breakdown at the clicked step. Each number comes from the cache the tab that owns it reads (app/pages/cell_facts.py), so
the card and the tabs agree.

What the shown sequence gives (line, coloured text, explain, weights) is drawn at once. The held-out
statistics take seconds the first time for a model: they are computed one after another on a worker thread,
each section saying "computing …" until its own result arrives on the document's next tick; a newer card
(another cell clicked meanwhile) drops what the older one still had to compute. In plain Python (tests, a
notebook) everything is computed at once."""
from __future__ import annotations

import dataclasses
import logging
import threading
from functools import partial
from pathlib import Path

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Range1d
from panel.io.state import set_curdoc

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.cell_line import cell_line_figure
from rnnscope.app.drawing.coloured_text import MAX_COLOURED_CHARS, frame_cell_html, visible_columns
from rnnscope.app.drawing.export import CardExport
from rnnscope.app.drawing.frame import make_frame
from rnnscope.app.pages import cache, cell_facts
from rnnscope.app.pages.lazy_tab import session_ended, to_document
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs import cell_sections as md
from rnnscope.app.tabs.explain_tab import explain_at, explanation_markdown

log = logging.getLogger(__name__)
COMPUTING = "*computing \u2026 (held-out statistics: seconds the first time for a model)*"
PROMPT = ("Click a cell anywhere: a heatmap row, a row of the Cells table, a saturation point, a probe's curve, a "
          "compare pair, a match's on-cell. This card then gathers what the project knows about it.")
CARD_STYLE = {"border": "1px solid #dee2e6", "border-radius": "6px", "padding": "0 10px 8px", "flex": "1 1 420px",
              "min-width": "0"}
WIDE = {**CARD_STYLE, "flex": "1 1 100%"}
# (key, title, wide): the held-out sections, computed on the worker thread in this order (fastest first)
SLOW = (("saturation", "Saturation point", False), ("label", "Label and runners-up", False),
        ("profiles", "Mean per category", False), ("probes", "Probe weight and rank", False),
        ("ablation", "Ablation cost", True), ("causal", "Causal codes", True),
        ("automaton", "In the automaton", True), ("dynamics", "In the dynamics", True))
FAST = (("explain", "Explain at the clicked step", True), ("line", "Its line over the shown sequence", True),
        ("coloured", "Coloured text", True), ("weights", "Strongest recurrent weights", True))


class CellCard(pn.viewable.Viewer):
    state = param.ClassSelector(class_=AppState)
    cell = param.Integer(default=None, allow_None=True, doc="the cell shown (None: none yet)")
    step = param.Integer(default=None, allow_None=True, doc="the step clicked (true index in the trace), if any")

    def __init__(self, x_range: Range1d | None = None, **params):
        super().__init__(**params)
        self.heading = pn.pane.Markdown(PROMPT, sizing_mode="stretch_width", margin=(0, 10))
        self.texts: dict[str, str] = {}            # key -> the Markdown shown now (the export's content)
        self.panes = {key: pn.pane.Markdown("", sizing_mode="stretch_width") for key, _, _ in SLOW + FAST}
        self.source = ColumnDataSource({"x": [], "y": [], "position": [], "char": []})
        self.line = cell_line_figure(x_range, self.source)
        self.sections = {key: pn.Column(pn.pane.Markdown(f"#### {title}", margin=(4, 5, 0, 5)), self.panes[key],
                                        *([self.line] if key == "line" else []),
                                        styles=WIDE if wide else CARD_STYLE, sizing_mode="stretch_width",
                                        visible=False)
                         for key, title, wide in FAST[:1] + SLOW[:4] + FAST[1:] + SLOW[4:]}
        self._request = 0
        # What the card says, kept apart from its panes: a pane changed while its tab is not shown would be
        # drawn, when shown again, with Panel's stylesheets from its CDN (a dynamic tab's models are detached
        # from the page then). So the panes are painted only while shown (``shown``), and on ``reveal``.
        self.shown = lambda: True            # the page says whether the card's tab is the one shown
        self._heading = PROMPT
        self._visible = {key: False for key in self.sections}
        self.state.param.watch(self._follow, ["trace", "view", "layer", "hide_separators"])

    # --- opening ---------------------------------------------------------------------------
    def show(self, cell: int, step: int | None = None) -> None:
        """The card of ``cell`` of the shown layer (``step``: the character clicked, if a heatmap cell was)."""
        H = self.state.cell_count()
        if not 0 <= cell < H:
            raise RnnscopeError(f"cell {cell} does not exist; this model's cells are 0 .. {H - 1}")
        if step is not None and not 0 <= step < len(self.state.trace):
            step = None
        self.param.update(cell=cell, step=step)
        self._render()

    def _follow(self, *events) -> None:
        """Another sequence, view or layer: the card follows it (the step clicked no longer names a character)."""
        if self.cell is None:
            return
        if self.cell >= self.state.cell_count():
            self.param.update(cell=None, step=None)
            self._heading, self._visible, self.texts = PROMPT, dict.fromkeys(self.sections, False), {}
            return self._paint()
        self.step = None
        self._render()

    def _render(self) -> None:
        s, cell = self.state, self.cell
        self._request += 1
        self.texts = {}
        self._heading = (f"### Cell {cell}, layer {s.layer} \u00b7 {Path(s.model_path).name}\n"
                               f"Shown view **{s.view}**; every held-out number on the model's own held-out stream "
                               "read in context, with its statistic and sample size.")
        self._visible = {key: key != "explain" or self.step is not None for key in self.sections}
        self._fast(cell)
        work = [(key, self._slow_job(key, s.model_path, s.view, s.layer, cell)) for key, _, _ in SLOW]
        for key, _ in work:
            self.texts[key] = COMPUTING
        self._paint()
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:      # plain Python: at once
            for key, job in work:
                self._set(key, _run(job))
            return
        request = self._request
        threading.Thread(target=self._work, args=(doc, to_document(doc), request, work), name="rnnscope-cell-card",
                         daemon=True).start()

    def _work(self, doc, hand, request: int, work: list) -> None:
        for key, job in work:
            if request != self._request or session_ended(doc):    # a newer card, or the page closed: not wanted
                return
            text = _run(job)
            hand(partial(self._arrive, doc, request, key, text))

    def _arrive(self, doc, request: int, key: str, text: str) -> None:
        """A section's result, on the document's tick. Under that document as Panel's current one: a pane
        changed without it is drawn with Panel's stylesheets from its CDN, which the page never asks for."""
        if request != self._request:
            return
        with set_curdoc(doc):
            self._set(key, text)

    def _set(self, key: str, text: str) -> None:
        self.texts[key] = text
        if self.shown():
            self.panes[key].object = text

    def _paint(self) -> None:
        if not self.shown():
            return
        # One message to the browser, the heading last: a heading naming the new cell over the last card's
        # sections (its Explain breakdown among them) was seen for a moment between two messages.
        with pn.io.hold():
            for key, section in self.sections.items():
                self.panes[key].object = self.texts.get(key, "")
                section.visible = self._visible[key]
            self.heading.object = self._heading

    def reveal(self) -> None:
        """The card's tab is shown now: paint what was found while it was not."""
        self._paint()

    # --- the sections ----------------------------------------------------------------------
    def _slow_job(self, key: str, path: str, view: str, layer: int, cell: int):
        H, stream = self.state.cell_count(), self.state.heldout_key    # the held-out file given to the page, if any
        return {"saturation": lambda: md.saturation_md(cell_facts.saturation_facts(path, layer, cell, stream)),
                "label": lambda: md.label_md(cell_facts.label_facts(path, view, layer, cell, stream)),
                "profiles": lambda: md.profiles_md(cell_facts.label_facts(path, view, layer, cell, stream)),
                "probes": lambda: md.probes_md(cell_facts.probe_facts(path, layer, cell, stream), H),
                "ablation": lambda: md.ablation_md(cell_facts.ablation_facts(path, layer, cell, stream=stream), cell,
                                                   layer),
                "causal": lambda: md.causal_md(cell_facts.causal_facts(path, layer, cell, stream), cell),
                "automaton": lambda: md.automaton_md(cell_facts.automaton_facts(path, view, layer, cell, stream), cell),
                "dynamics": lambda: md.dynamics_md(cell_facts.dynamics_facts(path, layer, cell, stream), cell)}[key]

    def _fast(self, cell: int) -> None:
        s = self.state
        frame = make_frame(s.trace, s.view, s.layer, "index", [], hide_separators=s.hide_separators)
        frame = dataclasses.replace(frame, offset=s.first_position)      # positions count from the stream's start
        row = frame.values[list(map(int, frame.cells)).index(cell)]
        positions = frame.stream_positions
        self.source.data = {"x": np.arange(len(row), dtype=np.float32), "y": row,
                                  "position": positions, "char": list(frame.text)}
        self.line.y_range.start, self.line.y_range.end = frame.low, frame.high
        span = self.line.select_one({"name": "clicked"})
        column = None if self.step is None else int(np.searchsorted(frame.char_positions, self.step))
        span.visible = column is not None
        span.location = column or 0
        self.line.title.text = f"cell {cell} of {frame.title}"
        self._set("line", f"Characters {int(positions[0]):,} .. {int(positions[-1]):,}: the row of the heatmap; it "
                          "pans and zooms with it" + (", the dashed line at the clicked step." if column is not None
                                                      else "."))
        self._set("coloured", self._coloured(frame, cell))
        self._set("weights", _run(lambda: md.weights_md(
            cell_facts.recurrent_weights(cache.load_model(s.model_path), s.layer, cell), cell)))
        if self.step is not None:
            self._set("explain", _run(lambda: explanation_markdown(explain_at(s, cell, self.step), s.first_position)))

    def _coloured(self, frame, cell: int) -> str:
        T = len(frame.text)
        x = self.line.x_range
        lo, hi = (0, T) if T <= MAX_COLOURED_CHARS else visible_columns(T, x.start, x.end)
        if hi - lo > MAX_COLOURED_CHARS or hi == lo:
            return (f"The heatmap shows {hi - lo:,} characters; coloured text takes at most {MAX_COLOURED_CHARS:,}: "
                    "zoom in.")
        where = "the whole sequence" if (lo, hi) == (0, T) else "the heatmap's visible range"
        return (f"{where.capitalize()}, each character's background the heatmap's colour of cell {cell} there "
                f"({frame.low:g} \u2026 {frame.high:g}, white = 0):\n\n" + frame_cell_html(frame, cell, (lo, hi)))

    def markdown(self) -> str:
        """The card as shown now, section by section, as one Markdown text."""
        if self.cell is None:
            return ""
        return "\n\n".join([self._heading] + [f"#### {title}\n\n{text}" for _, title, text, _ in self._shown()])

    def export(self) -> CardExport | None:
        """The card as shown now, for the export: its sections, and its line as a plot of its own (under the
        heatmap there, so the line's section, which describes the plot beside it, is left out)."""
        if self.cell is None:
            return None
        span = self.line.select_one({"name": "clicked"})
        return CardExport(self._heading, [(title, text, wide) for key, title, text, wide in self._shown()
                                          if key != "line"],
                          f"{self.line.title.text}: the line of the cell card" + (", dashed at the clicked step"
                                                                              if span.visible else ""),
                          {k: list(v) for k, v in self.source.data.items()}, self.line.y_range.start,
                          self.line.y_range.end, span.location if span.visible else None)

    def _shown(self) -> list[tuple[str, str, str, bool]]:
        """(key, title, text, wide) of the sections shown, in the card's order."""
        titles = {key: title for key, title, _ in SLOW + FAST}
        wide = {key: is_wide for key, _, is_wide in SLOW + FAST}
        return [(k, titles[k], self.texts[k], wide[k]) for k in self.sections if self._visible[k] and k in self.texts]

    def __panel__(self):
        return pn.Column(self.heading, pn.FlexBox(*self.sections.values(), sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")


def _run(job) -> str:
    """A section's text, or why it has none: never a "computing" note left behind."""
    try:
        return job()
    except RnnscopeError as e:
        return f"Not available for this model: {e}."
    except Exception as e:      # a worker thread's failure must reach the card, not only the log
        log.exception("cell card section failed")
        return f"Could not be computed: {type(e).__name__}: {e}."
