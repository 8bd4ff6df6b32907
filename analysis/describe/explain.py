"""Explain a value: for cell i at step t, the terms that made it, from the
NumPy reference equations (models/network/reference.py) and the states the trace recorded.

For each gate: its value, its pre-activation split into the input part (W_i x + b_i) and the
recurrent part (W_h h_prev + b_h), and the largest single contributions to each -- previous
cells (W_h[i, j] * h_prev[j]) and input dimensions (W_i[i, d] * x[d]). Then the update with
the numbers: GRU h = (1 - z) * n + z * h_prev; LSTM c = f * c_prev + i * g, h = o * tanh(c);
RNN h = act(a). The recomputed h is compared with the traced one (they agree to float32
precision, ~1e-6): a check that the explanation explains the value shown.
"""
from __future__ import annotations

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.reference import step_terms
from rnnscope.models.reading.trace import Trace

TOP = 5


def explain(trace: Trace, weights: dict[str, np.ndarray], x: np.ndarray, input_names: list[str], layer: int,
            cell: int, step: int, nonlinearity: str = "tanh", top: int = TOP) -> dict:
    """``weights``: layer ``layer``'s arrays (CharRNN.layer_arrays); ``x`` [D]: what that layer read at
    ``step`` (the character's input vector, or the layer below's h); ``input_names``: a name per x dimension."""
    if not 0 <= layer < trace.num_layers:
        raise RnnscopeError(f"layer {layer} does not exist; this model has {trace.num_layers}")
    T, H = trace.hidden[layer].shape
    if not 0 <= cell < H:
        raise RnnscopeError(f"cell {cell} does not exist; this model's cells are 0 .. {H - 1}")
    if not 0 <= step < T:
        raise RnnscopeError(f"step {step} is outside the sequence (0 .. {T - 1})")
    before = trace.state_before(step)[layer]
    h_prev = np.asarray(before.h, dtype=np.float64)
    c_prev = None if before.c is None else np.asarray(before.c, dtype=np.float64)
    terms, h_new, c_new = step_terms(trace.cell, np.asarray(x, np.float64), h_prev, c_prev,
                                     weights["weight_ih"], weights["weight_hh"], weights["bias_ih"],
                                     weights["bias_hh"], nonlinearity)
    order = list(terms)
    gates = {}
    for k, name in enumerate(order):
        row = k * H + cell
        t = terms[name]
        scalars = {"value": t["value"][cell], "pre": t["pre"][cell], "input": t["input"][cell],
                   "recurrent": t["recurrent"][cell], "bias_input": weights["bias_ih"][row],
                   "bias_recurrent": weights["bias_hh"][row]}
        gate = {**{key: float(v) for key, v in scalars.items()},
                "top_recurrent": _top(weights["weight_hh"][row], h_prev, [f"cell {j}" for j in range(H)], top),
                "top_input": _top(weights["weight_ih"][row], x, input_names, top)}
        if trace.cell == "gru" and name == "n":
            gate["reset_times_recurrent"] = float(terms["r"]["value"][cell] * t["recurrent"][cell])
        gates[name] = gate
    traced = float(trace.hidden[layer][step, cell])
    result = {"layer": layer, "step": step, "cell": cell, "char": trace.text[step], "cell_type": trace.cell,
              "h_prev": float(h_prev[cell]), "gates": gates, "h": float(h_new[cell]), "traced_h": traced,
              "difference": abs(float(h_new[cell]) - traced), "equation": _equation(trace.cell, gates, h_prev[cell],
                                                                                   c_prev, c_new, cell, h_new[cell],
                                                                                   nonlinearity)}
    if c_new is not None:
        result |= {"c_prev": float(c_prev[cell]), "c": float(c_new[cell])}
    return result


def _top(weights_row: np.ndarray, inputs: np.ndarray, names: list[str], top: int) -> list[dict]:
    """The ``top`` largest |weight * input| terms of one row, largest first (zeros left out)."""
    terms = weights_row * inputs
    order = [j for j in np.argsort(-np.abs(terms), kind="stable")[:top] if terms[j] != 0]
    return [{"from": names[j], "weight": float(weights_row[j]), "input": float(inputs[j]), "term": float(terms[j])}
            for j in order]


def _equation(cell_type: str, g: dict, h_prev: float, c_prev, c_new, i: int, h: float, nonlinearity: str) -> str:
    if cell_type == "gru":
        z, n = g["z"]["value"], g["n"]["value"]
        return (f"h = (1 \u2212 z)\u00b7n + z\u00b7h_prev = "
                f"(1 \u2212 {z:.4f})\u00b7{n:.4f} + {z:.4f}\u00b7{h_prev:.4f} = {h:.4f}")
    if cell_type == "lstm":
        f, ig, gg, o = g["f"]["value"], g["i"]["value"], g["g"]["value"], g["o"]["value"]
        return (f"c = f\u00b7c_prev + i\u00b7g = "
                f"{f:.4f}\u00b7{c_prev[i]:.4f} + {ig:.4f}\u00b7{gg:.4f} = {c_new[i]:.4f}; "
                f"h = o\u00b7tanh(c) = {o:.4f}\u00b7tanh({c_new[i]:.4f}) = {h:.4f}")
    a = g["a"]["pre"]
    return f"h = {nonlinearity}(a) = {nonlinearity}({a:.4f}) = {h:.4f}"


def explain_text(r: dict) -> str:
    """The explanation as lines a person reads."""
    lines = [f"cell {r['cell']} of layer {r['layer']} at step {r['step']} (character {r['char']!r}), "
             f"{r['cell_type'].upper()}:", f"  h_prev = {r['h_prev']:+.4f}"]
    for name, g in r["gates"].items():
        if "reset_times_recurrent" in g:      # the candidate reads r times the recurrent part
            parts = (f"input {g['input']:+.4f} + r\u00b7recurrent {g['reset_times_recurrent']:+.4f}; "
                     f"recurrent alone {g['recurrent']:+.4f}")
        else:
            parts = f"input {g['input']:+.4f} + recurrent {g['recurrent']:+.4f}"
        lines.append(f"  {name} = {g['value']:.4f}  (pre-activation {g['pre']:+.4f} = {parts})")
        for kind in ("top_recurrent", "top_input"):
            terms = ", ".join(f"{t['from']} {t['term']:+.3f}" for t in g[kind][:3])
            lines.append(f"      largest {kind[4:]} terms: {terms}")
    lines += [f"  {r['equation']}", f"  traced h = {r['traced_h']:+.6f} (difference {r['difference']:.1e})"]
    return "\n".join(lines)
