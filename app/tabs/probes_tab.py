"""The Probes tab: can depth and the next token's kind (grammar), or being inside a string, the
bracket level and the next character's class (text), be read linearly from each layer, and from
how few cells? Each probe's accuracy beside its references (majority, input only, control task and,
for text, the n-gram baseline) and the accuracy-vs-k curve (analysis/decode/probes.py, drawn as in the
`rnnscope probe` report), with a sentence wherever a number needs one to be read right.

Computed when the tab is first opened, then shared by every session, in three parts shown as each is done:
the probes with their references first (three fits per target), then the accuracy-vs-k curves (a refit per k
measured: eleven on a 128-cell layer), then for a text model the n-gram baseline (a probe per window and
target, on sparse one-hots); the last two off the event loop in a served page."""
from __future__ import annotations

import html

import panel as pn
import param

from rnnscope.analysis.decode.ngram import NGRAM_KS, ngram_summary
from rnnscope.analysis.decode.report import probe_plot
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState

CARD_CELLS = 5          # cells per probe offered a card button, largest weight first
CURVES_PENDING = ("*Accuracy against the number of cells (and cells for 99%): computing\u2026 (a probe refitted "
                  "on the k best cells for each k measured)*")
NGRAM_PENDING = "*n-gram baseline: computing\u2026 (a probe on the last k characters, k = {ks})*"


class ProbesTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        # The parts stay and take new content as results join, so a button is never replaced by its like
        # while a reader clicks it (a click on a button being replaced is lost).
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.notes = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.plots = pn.FlexBox()
        self.buttons = pn.Column(sizing_mode="stretch_width")
        self._buttons_for: list[tuple] | None = None      # the probes and cells the buttons stand for
        self.body = pn.Column(sizing_mode="stretch_width")
        self.results: list[dict] = []
        self.ngram: dict[str, list[dict]] | None = None     # None: not computed yet for this model
        self._request = 0
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        self._request += 1
        path, key, request = self.state.model_path, self.state.heldout_key, self._request
        try:
            self.results = cache.probe_heads(path, key=key)
        except RnnscopeError as e:
            self.results, self.ngram = [], {}
            self.body.objects = [pn.pane.Markdown(f"No probes for this model: {e}")]
            return
        text_model = self.state.grammar_spec is None
        self.ngram = None if text_model else {}
        self._show()
        self._rest(path, key, request, text_model)

    def _rest(self, path: str, key: tuple | None, request: int, text_model: bool) -> None:
        """The accuracy-vs-k curves, then (text) the n-gram baseline, each joining the tab when it is done; a
        newer model's request wins."""

        def with_curves(found: list[dict]) -> None:
            if request == self._request and found:
                self.results = found
                self._show()

        def with_ngram(found: dict) -> None:
            if request == self._request:
                self.ngram = found
                self._show()

        def curves() -> list[dict]:
            try:
                return cache.probes(path, key=key)
            except RnnscopeError:       # the heads were found: not expected; the tab keeps them
                return []

        def ngram() -> dict:
            try:
                return cache.ngram_baselines(path, key=key)
            except RnnscopeError:
                return {}

        steps = [(curves, with_curves)] + ([(ngram, with_ngram)] if text_model else [])
        self.off_thread_steps(steps, "rnnscope-probe-curves")

    def _show(self) -> None:
        results = [r | {"ngram_accuracy": (self.ngram or {}).get(r["target"])} for r in self.results]
        text = self.state.grammar_spec is None
        self.table.object = probe_table(results, text)
        self.notes.object = probe_notes(results, text, self.ngram is None)
        self.plots.objects = [pn.pane.Bokeh(probe_plot(p)) for p in results if p["accuracy_by_k"] is not None]
        wanted = [(p["target"], p["layer"], tuple(p["cell_order"][:CARD_CELLS])) for p in results]
        if wanted != self._buttons_for:      # the curves and the n-gram baseline joining change none of them
            self.buttons.objects, self._buttons_for = self._card_buttons(results), wanted
        parts = [self.table, self.notes, self.plots, self.buttons]
        if self.body.objects != parts:       # after a refusal, or the first time
            self.body.objects = parts

    def _card_buttons(self, results: list[dict]) -> list:
        """Per probe, its CARD_CELLS cells of largest weight, a button each that opens the cell's card."""
        rows = []
        for p in results:
            buttons = []
            for cell in p["cell_order"][:CARD_CELLS]:
                button = pn.widgets.Button(name=f"cell {cell}", width=75, margin=(0, 3))
                button.on_click(lambda _, cell=cell, layer=p["layer"]: self.state.inspect(cell, layer))
                buttons.append(button)
            rows.append(pn.FlexBox(pn.pane.Markdown(f"{p['target']}, layer {p['layer']}: the largest weights",
                                                    margin=(5, 10)), *buttons, sizing_mode="stretch_width"))
        return [pn.pane.Markdown("*A cell's card (its weight and rank in each probe, and all else known about "
                                 "it):*", margin=(0, 10))] + rows

    def _layout(self):
        return self.body


def probe_table(results: list[dict], text: bool) -> str:
    """The probes as an HTML table: "cells for 99%" a count, the cells themselves on hover. ``text``: a
    column for the n-gram baseline ("…" while it is computed)."""
    heads = ["layer", "target", "accuracy", "majority", "input only", *(["n-gram best (k)"] if text else []),
             "control", "selectivity", "cells for 99%"]
    rows = []
    for p in results:
        needed = p["cells_needed_99"]
        if needed is None:          # the curve is being measured
            count = "\u2026"
        else:
            cells = ", ".join(map(str, p["cell_order"][:needed]))
            count = (f"<span class='cells-needed' title='cells, best first: {cells}' style='border-bottom: 1px "
                     f"dotted'>{needed} of {len(p['cell_order'])}</span>")
        best = ""
        if text and p["ngram_accuracy"]:
            g = max(p["ngram_accuracy"], key=lambda g: g["accuracy"])
            best = f"<td>{g['accuracy']:.3f} ({g['k']})</td>"
        elif text:
            best = "<td>\u2026</td>"
        rows.append(
            f"<tr><td>{p['layer']}</td><td>{html.escape(p['target'])}</td><td><b>{p['accuracy']:.3f}</b></td>"
            f"<td>{p['majority_accuracy']:.3f}</td><td>{p['input_baseline_accuracy']:.3f}</td>{best}"
            f"<td>{p['control_accuracy']:.3f}</td><td>{p['selectivity']:+.3f}</td>"
            f"<td>{count}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in heads)
    return (f"<table class='probes' style='border-collapse: collapse; font-size: 14px' cellpadding='4'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def probe_notes(results: list[dict], text: bool, pending: bool) -> str:
    """What the numbers mean: the method, then a sentence for each number that would mislead alone.
    ``text``: a text model's probes (with an n-gram baseline); ``pending``: that baseline is being computed."""
    notes = [f"Logistic regression (scikit-learn) on standardised states of the first {cache.LABEL_CHARS:,} "
             "held-out characters read in context: trained on the first half, scored on the second. *Input only*: "
             "the same probe on the current character's one-hot. *Control*: each character type mapped to a random "
             "label (Hewitt & Liang 2019); selectivity = accuracy \u2212 control. *Cells for 99%*: the fewest of "
             "the best cells (by |weight|) whose probe reaches 99% of the full probe's accuracy, measured at "
             "every k up to 32 and at 1 .. 8 and every power of two beyond; hover the count for the cells."]
    if any(p["target"] == "next_kind" for p in results):
        notes.append("The next token's kind is chosen at random by the grammar: no state can do much better than "
                     "the majority.")
    for p in results:
        if p["selectivity"] <= 0:
            notes.append(
                f"**{p['target']} (layer {p['layer']}): selectivity {p['selectivity']:+.3f} \u2264 0.** The control "
                f"task is easy here: the data has {p['char_types']} character types, each with one fixed random "
                f"label, so a state that knows its current character reads the control almost perfectly "
                f"({p['control_accuracy']:.3f}). Selectivity then says little about what the state holds"
                + ("; the n-gram baseline below does." if text else
                   "; the input-only baseline and the accuracy-vs-k curve do."))
    if any(p["accuracy_by_k"] is None for p in results):
        notes.append(CURVES_PENDING)
    if text and pending and results:
        notes.append(NGRAM_PENDING.format(ks=", ".join(map(str, NGRAM_KS))))
    for p in results:
        if p["ngram_accuracy"]:
            notes.append(f"*n-gram baseline, {p['target']}* (the same probe on the one-hot of the last k characters, "
                         f"k = {', '.join(str(g['k']) for g in p['ngram_accuracy'])}; k = 1 is *input only*): "
                         f"{ngram_summary(p['accuracy'], p['ngram_accuracy'])}.")
    return "\n\n".join(notes)
