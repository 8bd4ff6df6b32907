"""The Probes tab: can depth and the next token's kind (grammar), or being inside a string, the
bracket level and the next character's class (text), be read linearly from each layer, and from
how few cells? Each probe's accuracy beside its references (majority, input only, control task and,
for text, the n-gram baseline) and the accuracy-vs-k curve (analysis/decode/probes.py, drawn as in the
`rnnscope probe` report), with a sentence wherever a number needs one to be read right.

Computed when the tab is first opened, then shared by every session. The n-gram baseline of a text
model (a probe per window and target, on sparse one-hots: the slowest part) comes second: the probes
are shown first, and the baseline joins them when it is done (off the event loop in a served page)."""
from __future__ import annotations

import html
import threading

import panel as pn
import param

from rnnscope.analysis.decode.ngram import NGRAM_KS, ngram_summary
from rnnscope.analysis.decode.report import probe_plot
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab, to_document
from rnnscope.app.pages.state import AppState

CARD_CELLS = 5          # cells per probe offered a card button, largest weight first
NGRAM_PENDING = "*n-gram baseline: computing\u2026 (a probe on the last k characters, k = {ks})*"


class ProbesTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
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
            self.results = cache.probes(path, key=key)
        except RnnscopeError as e:
            self.results, self.ngram = [], {}
            self.body.objects = [pn.pane.Markdown(f"No probes for this model: {e}")]
            return
        text_model = self.state.grammar_spec is None
        self.ngram = None if text_model else {}
        self._show()
        if text_model:
            self._baselines(path, key, request)

    def _baselines(self, path: str, key: tuple | None, request: int) -> None:
        """The n-gram baseline, then the tab again with it; a newer model's request wins."""
        doc = pn.state.curdoc

        def apply(found: dict) -> None:
            if request == self._request:
                self.ngram = found
                self._show()

        def work() -> None:
            try:
                found = cache.ngram_baselines(path, key=key)
            except RnnscopeError:
                found = {}
            hand(lambda: apply(found))

        if doc is None or doc.session_context is None:       # plain Python (tests, a notebook): at once
            apply(cache.ngram_baselines(path, key=key))
        else:
            hand = to_document(doc)
            threading.Thread(target=work, name="rnnscope-ngram", daemon=True).start()

    def _show(self) -> None:
        results = [r | {"ngram_accuracy": (self.ngram or {}).get(r["target"])} for r in self.results]
        parts = [pn.pane.HTML(probe_table(results, self.state.grammar_spec is None), sizing_mode="stretch_width"),
                 pn.pane.Markdown(probe_notes(results, self.state.grammar_spec is None, self.ngram is None),
                                  sizing_mode="stretch_width")]
        self.body.objects = [*parts, pn.FlexBox(*[pn.pane.Bokeh(probe_plot(p)) for p in results]),
                             pn.Column(*self._card_buttons(results), sizing_mode="stretch_width")]

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
        cells = ", ".join(map(str, p["cell_order"][:needed]))
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
            f"<td><span class='cells-needed' title='cells, best first: {cells}' style='border-bottom: 1px dotted'>"
            f"{needed} of {len(p['cell_order'])}</span></td></tr>")
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
    if text and pending and results:
        notes.append(NGRAM_PENDING.format(ks=", ".join(map(str, NGRAM_KS))))
    for p in results:
        if p["ngram_accuracy"]:
            notes.append(f"*n-gram baseline, {p['target']}* (the same probe on the one-hot of the last k characters, "
                         f"k = {', '.join(str(g['k']) for g in p['ngram_accuracy'])}; k = 1 is *input only*): "
                         f"{ngram_summary(p['accuracy'], p['ngram_accuracy'])}.")
    return "\n\n".join(notes)
