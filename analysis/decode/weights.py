"""What a sum3 model (seed 000) learned, read off its weights: plain functions over arrays.

The model is h_t = x_t W + h_{t-1} U + b with one unit, x_t what digit t feeds the layer. Whatever
the input, the term a digit d adds at its step is x_d W + b; the seed reads that its three models
learned to sum by finding, each in its own form,
  scalar     W ~ 1, b ~ 0           (x_d = d, so x_d W + b = d W + b)
  one-hot    W_d + b ~ d            (x_d picks row d of W)
  embedding  E_d W + b ~ d          (x_d is row d of the embedding E)
and U ~ 1, so that each step keeps the sum so far. torch keeps two bias vectors (b_ih, b_hh) where
Keras keeps one: b here is their sum, and both are shown.
"""
from __future__ import annotations

import numpy as np

DIGITS = "0123456789"
EXPECTS = {"scalar": "W = 1, U = 1, b = 0", "one-hot": "W_d + b = d for every digit d, U = 1",
           "embedding": "E_d W + b = d for every digit d, U = 1"}


def sum3_weights(layer: dict[str, np.ndarray], inputs: np.ndarray, input_kind: str) -> dict:
    """``layer``: weight_ih [1, D], weight_hh [1, 1], bias_ih [1], bias_hh [1] (models' layer_arrays);
    ``inputs`` [10, D]: what each digit 0..9 feeds the layer. The weights in the seed's (Keras)
    layout, each digit's term x_d W + b beside d, and the largest gap between them."""
    W = np.asarray(layer["weight_ih"], np.float64).T                   # [D, 1], as Keras prints it
    U = float(np.asarray(layer["weight_hh"]).reshape(()))
    b_ih, b_hh = float(layer["bias_ih"][0]), float(layer["bias_hh"][0])
    b = b_ih + b_hh
    xw = (np.asarray(inputs, np.float64) @ W)[:, 0]                    # [10] x_d W
    terms = xw + b
    out = {"input": input_kind, "equation": "h_t = x_t W + h_{t-1} U + b",
           "bias_note": "b = b_ih + b_hh: torch keeps two bias vectors where Keras keeps one",
           "expects": EXPECTS[input_kind],
           "W": W[:, 0].tolist(), "U": U, "b": b, "b_ih": b_ih, "b_hh": b_hh,
           "digit_terms": [{"digit": d, "x_W": float(xw[d]), "x_W_plus_b": float(terms[d])} for d in range(10)],
           "largest_gap": {"statistic": "max over digits d of |x_d W + b - d|",
                           "value": float(np.abs(terms - np.arange(10)).max())},
           "U_gap": abs(U - 1.0)}
    if input_kind == "scalar":
        out["W_gap"], out["b_gap"] = abs(float(W[0, 0]) - 1.0), abs(b)
    return out


def predictions(digits: np.ndarray, predicted: np.ndarray) -> dict:
    """Each triple beside its true sum and the model's prediction; the largest error and the share
    whose rounded prediction is the sum."""
    digits, predicted = np.asarray(digits), np.asarray(predicted, np.float64)
    sums = digits.sum(axis=1)
    err = np.abs(predicted - sums)
    return {"triples": [{"digits": "".join(DIGITS[d] for d in row), "sum": int(s), "prediction": float(p)}
                        for row, s, p in zip(digits, sums, predicted)],
            "largest_error": {"statistic": "max |prediction - sum|", "value": float(err.max())},
            "rounded_correct": {"statistic": "share of triples with round(prediction) = sum",
                                "value": float(np.mean(np.round(predicted) == sums))}}


def weights_text(view: dict, shown: int = 10) -> str:
    """The weights view for people, as the seed prints it: the weights, then what each digit adds."""
    W = view["W"]
    w_text = f"{W[0]:.5f}" if len(W) == 1 else "[" + ", ".join(f"{w:.3f}" for w in W) + "]"
    lines = [f"sum3 model, {view['input']} input: {view['equation']}  ({view['bias_note']})",
             f"W = {w_text}", f"U = {view['U']:.5f}",
             f"b = {view['b']:.5f}  (b_ih {view['b_ih']:.5f} + b_hh {view['b_hh']:.5f})",
             f"the seed finds {view['expects']}; what each digit adds at its step, x_d W + b:"]
    lines += [f"  {t['digit']}: {t['x_W_plus_b']:9.5f}" for t in view["digit_terms"]]
    lines.append(f"largest gap: {view['largest_gap']['value']:.5f} ({view['largest_gap']['statistic']}); "
                 f"|U - 1| = {view['U_gap']:.5f}")
    pred = view.get("predictions")
    if pred:
        lines.append(f"predictions on {len(pred['triples'])} new triples (never trained on): largest error "
                     f"{pred['largest_error']['value']:.5f}, rounded correct {pred['rounded_correct']['value']:.1%}")
        lines += [f"  {t['digits']}  sum {t['sum']:>2}  predicted {t['prediction']:9.5f}"
                  for t in pred["triples"][:shown]]
    return "\n".join(lines)
