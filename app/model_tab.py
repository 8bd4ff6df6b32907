"""The Model tab: the summary (layers, output shapes N, T, D, M, K, parameter counts with their
formula) and the cell's equations with the loaded model's own sizes, as `rnnscope summary` prints
them; for a sum3 model (seed 000) also the weights view, as `rnnscope weights` prints it, read off
the loaded model."""
from __future__ import annotations

from analysis.weights import predictions, sum3_weights, weights_text
from models.summary import summary
from models.sum3 import DIGITS, is_sum3, new_triples, predict

from . import cache

PREDICTED_TRIPLES = 10


def model_markdown(path: str) -> str:
    model = cache.load_model(path)
    text = f"#### Summary and equations\n```\n{summary(model)}\n```"
    if is_sum3(model):
        text += f"\n#### Weights: what the sum3 model learned (seed 000)\n```\n{weights_view(model)}\n```"
    return text


def weights_view(model) -> str:
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), model.config.input_kind)
    digits = new_triples(PREDICTED_TRIPLES)
    view["predictions"] = predictions(digits, predict(model, digits))
    return weights_text(view)
