"""The Probes tab: can depth and the next token's kind (grammar), or being inside a string, the
bracket level and the next character's class (text), be read linearly from each layer, and from
how few cells? Each probe's accuracy beside its references (majority, input only, control task)
and the accuracy-vs-k curve (analysis/decode/probes.py, drawn as in the `rnnscope probe` report).
Computed when the tab is first opened (some seconds), then shared by every session."""
from __future__ import annotations

import panel as pn
import param

from rnnscope.analysis.decode.report import probe_plot
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState


class ProbesTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        try:
            results = cache.probes(self.state.model_path, key=self.state.heldout_key)
        except RnnscopeError as e:
            self.body.objects = [pn.pane.Markdown(f"No probes for this model: {e}")]
            return
        rows = ["| layer | target | accuracy | majority | input only | control | selectivity | cells for 99% | "
                "best cells |", "|---|---|---|---|---|---|---|---|---|"]
        rows += [f"| {p['layer']} | {p['target']} | **{p['accuracy']:.3f}** | {p['majority_accuracy']:.3f} | "
                 f"{p['input_baseline_accuracy']:.3f} | {p['control_accuracy']:.3f} | {p['selectivity']:+.3f} | "
                 f"{p['cells_needed_99']} | {p['cell_order'][:p['cells_needed_99']]} |" for p in results]
        note = (f"Logistic regression (scikit-learn) on standardised states of the first {cache.LABEL_CHARS:,} "
                "held-out characters read in context: trained on the first half, scored on the second. "
                "*Input only*: the same probe on the current character's one-hot. *Control*: each character type "
                "mapped to a random label (Hewitt & Liang 2019); selectivity = accuracy \u2212 control.")
        if any(p["target"] == "next_kind" for p in results):
            note += (" The next token's kind is chosen at random by the grammar: no state can do much better than "
                     "the majority.")
        self.body.objects = [pn.pane.Markdown(note + "\n\n" + "\n".join(rows), sizing_mode="stretch_width"),
                             pn.Row(*[pn.pane.Bokeh(probe_plot(p)) for p in results])]

    def _layout(self):
        return self.body
