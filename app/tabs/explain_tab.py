"""The Explain tab: click a heatmap cell (cell i, step t) and see the terms that made its value
-- each gate's input and recurrent parts, the largest contributions, the update with numbers --
from the NumPy reference equations (analysis/describe/explain.py), checked against the value shown."""
from __future__ import annotations

import panel as pn
import param
from panel.viewable import Viewer

from rnnscope.analysis.describe.explain import explain
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.state import AppState


class ExplainTab(Viewer):
    state = param.ClassSelector(class_=AppState)
    cell = param.Integer(default=None, allow_None=True, doc="the cell clicked (true cell number)")
    step = param.Integer(default=None, allow_None=True, doc="the step clicked (true character index)")

    def __init__(self, **params):
        super().__init__(**params)
        self.text = pn.pane.Markdown("Click a cell of the heatmap to see the terms that made its value.",
                                     sizing_mode="stretch_width")
        self.param.watch(self._refresh, ["cell", "step"])
        self.state.param.watch(self._forget, ["trace", "layer"])

    def _forget(self, *events) -> None:
        self.param.update(cell=None, step=None)

    def _refresh(self, *events) -> None:
        s, tr = self.state, self.state.trace
        if self.cell is None or self.step is None or tr is None:
            self.text.object = "Click a cell of the heatmap to see the terms that made its value."
            return
        try:
            r = explain_at(s, self.cell, self.step)
        except RnnscopeError as e:
            self.text.object = f"Cannot explain this value: {e}"
            return
        self.text.object = explanation_markdown(r, s.first_position)

    def __panel__(self):
        return self.text


def explain_at(state: AppState, cell: int, step: int) -> dict:
    """The terms that made ``cell``'s value at ``step`` of the shown trace, in the shown layer
    (analysis/describe/explain.py): what the Explain tab and the cell card show."""
    tr = state.trace
    model = cache.load_model(state.model_path)
    x, names = ((model.input_vectors(tr.text[step])[0], model.input_names()) if state.layer == 0 else
                (tr.hidden[state.layer - 1][step], [f"layer {state.layer - 1} cell {j}"
                                                    for j in range(model.config.hidden_size)]))
    return explain(tr, model.layer_arrays(state.layer), x, names, state.layer, cell, step, model.config.nonlinearity)


def explanation_markdown(r: dict, first_position: int = 0) -> str:
    """``first_position``: where the trace's first character stands in its stream, so the step is named
    as the heatmap's axis names it."""
    position = first_position + r["step"]
    lines = [f"**Cell {r['cell']}, layer {r['layer']}, position {position:,}** (character `{r['char']!r}`), "
             f"{r['cell_type'].upper()}; h before this step = {r['h_prev']:+.4f}", "",
             f"**In words:** {r['reading']}.", "",
             "| gate | value | pre-activation | input part | recurrent part | largest recurrent terms | "
             "largest input terms |", "|---|---|---|---|---|---|---|"]
    for name, g in r["gates"].items():
        rec = f"{g['recurrent']:+.4f}" + (f" (\u00d7 r: {g['reset_times_recurrent']:+.4f})"
                                           if "reset_times_recurrent" in g else "")
        top_r = ", ".join(f"{t['from']} {t['term']:+.3f}" for t in g["top_recurrent"][:3])
        top_i = ", ".join(f"{t['from']} {t['term']:+.3f}" for t in g["top_input"][:3])
        lines.append(f"| {name} | {g['value']:.4f} | {g['pre']:+.4f} | {g['input']:+.4f} | {rec} | {top_r} | {top_i} |")
    lines += ["", f"`{r['equation']}`; the heatmap shows {r['traced_h']:+.6f} (difference {r['difference']:.1e}). "
              "Input part = the character's term + the input bias; recurrent part = the previous cells' terms + the "
              "recurrent bias."]
    return "\n".join(lines)
