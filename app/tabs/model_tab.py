"""The Model tab: the summary (layers, output shapes N, T, D, M, K, parameter counts with their
formula) and the cell's equations with the loaded model's own sizes, as `rnnscope summary` prints
them; for a sum3 model (seed 000) also the weights view, as `rnnscope weights` prints it, read off
the loaded model. Plain preformatted text (pn.pane.Str): a Markdown code block is drawn dark on dark
by the template's highlighter."""
from __future__ import annotations

import panel as pn

from rnnscope.analysis.decode.weights import predictions, sum3_weights, weights_text
from rnnscope.models.training.sum3 import DIGITS, is_sum3, new_triples, predict
from rnnscope.models.network.summary import summary

from rnnscope.app.pages import cache

PREDICTED_TRIPLES = 10
# The equations' lines are longer than the tab is wide at 1024 px: the text scrolls sideways in its own box rather
# than running past the page's edge (wrapped, an equation's line would break mid-term).
SCROLLS = [":host { width: 100%; } pre { overflow-x: auto; max-width: 100%; }"]


def model_view(path: str) -> pn.Column:
    model = cache.load_model(path)
    parts = [pn.pane.Markdown("#### Summary and equations"), text(summary(model))]
    if is_sum3(model):
        parts += [pn.pane.Markdown("#### Weights: what the sum3 model learned (seed 000)"),
                  text(weights_view(model))]
    return pn.Column(*parts, sizing_mode="stretch_width")


def text(lines: str) -> pn.pane.Str:
    return pn.pane.Str(lines, sizing_mode="stretch_width", stylesheets=SCROLLS)


def weights_view(model) -> str:
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), model.config.input_kind)
    digits = new_triples(PREDICTED_TRIPLES)
    view["predictions"] = predictions(digits, predict(model, digits))
    return weights_text(view)
