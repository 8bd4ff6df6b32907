"""Explain a value: for cell i at step t, the terms that made it, from the
NumPy reference equations (models/network/reference.py) and the states the trace recorded.

For each gate: its value, its pre-activation split into the input part (W_i x + b_i) and the
recurrent part (W_h h_prev + b_h), and the largest single contributions to each -- previous
cells (W_h[i, j] * h_prev[j]) and what the layer read. The first layer reads a character: its
whole input term W_i x is one term named by the character ("input '('"), since an embedding's
dimensions mean nothing on their own (they are kept apart, in ``input_dims``); a higher layer reads
the cells below, one term each. Then the update with the numbers: GRU h = (1 - z) * n + z * h_prev;
LSTM c = f * c_prev + i * g, h = o * tanh(c); RNN h = act(a), and one line reading them
(``reading``: which gate decided, and the largest term behind the value it let through). The
recomputed h is compared with the traced one (they agree to float32 precision, ~1e-6): a check that
the explanation explains the value shown.
"""
from __future__ import annotations

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.reference import step_terms
from rnnscope.models.reading.trace import Trace

TOP = 5
OPEN, SHUT = 0.9, 0.1      # a gate above OPEN (below SHUT) is read as open (shut) in the one-line reading


def explain(trace: Trace, weights: dict[str, np.ndarray], x: np.ndarray, input_names: list[str], layer: int,
            cell: int, step: int, nonlinearity: str = "tanh", top: int = TOP) -> dict:
    """``weights``: layer ``layer``'s arrays (CharRNN.layer_arrays); ``x`` [D]: what that layer read at
    ``step`` (the character's input vector, or the layer below's h); ``input_names``: a name per x dimension
    (at layer 0 they name the ``input_dims`` breakdown; the input term itself is named by the character)."""
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
                "top_recurrent": _top(weights["weight_hh"][row], h_prev, [f"cell {j}" for j in range(H)], top)}
        if layer == 0:          # one character read: its whole term, named by it; the dimensions apart
            gate["top_input"] = [_char_term(weights["weight_ih"][row], x, trace.text[step])]
            gate["input_dims"] = _top(weights["weight_ih"][row], x, input_names, top)
        else:
            gate["top_input"] = _top(weights["weight_ih"][row], x, input_names, top)
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
    result["reading"] = reading(result, nonlinearity)
    return result


def _char_term(weights_row: np.ndarray, x: np.ndarray, char: str) -> dict:
    """The character's whole input term W_i x (bias apart). With a one-hot input it is the weight of
    the character's column (input 1); with an embedding, the weight row against the embedding."""
    term = float(weights_row @ x)
    return {"from": f"input {char!r}", "weight": term, "input": 1.0, "term": term}


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


def driver(gate: dict, r_value: float | None = None) -> tuple[str, float]:
    """The largest single contribution to a gate's pre-activation: the character (or a cell of the layer
    below), a previous cell, or the two biases together. ``r_value``: the GRU candidate's reset gate,
    which scales its recurrent part (bias included), so a cell's term is counted as the candidate reads it."""
    scale = 1.0 if r_value is None else r_value
    options = [(t["from"], t["term"]) for t in gate["top_input"][:1]]
    options += [(t["from"], scale * t["term"]) for t in gate["top_recurrent"][:1]]
    options.append(("the bias", gate["bias_input"] + scale * gate["bias_recurrent"]))
    return max(options, key=lambda o: abs(o[1]))


def _driven(gate: dict, r_value: float | None = None) -> str:
    name, value = driver(gate, r_value)
    return f"driven mostly by {name} ({value:+.2f})"


def reading(r: dict, nonlinearity: str = "tanh") -> str:
    """One line saying what the numbers did: which gate decided and what drove the value let through."""
    g, h, h_prev = r["gates"], r["h"], r["h_prev"]
    if r["cell_type"] == "gru":
        z, n = g["z"]["value"], g["n"]["value"]
        why_n = _driven(g["n"], g["r"]["value"])
        if z <= SHUT:
            return f"z = {z:.2f}: the cell takes its candidate {n:+.2f}, {why_n}; h = {h:+.2f}"
        if z >= OPEN:
            return (f"z = {z:.2f}: the cell keeps its previous value {h_prev:+.2f} (h = {h:+.2f}); z is "
                    f"{_driven(g['z'])}")
        return (f"z = {z:.2f}: the cell moves {1 - z:.0%} of the way from {h_prev:+.2f} to its candidate {n:+.2f} "
                f"({why_n}); h = {h:+.2f}")
    if r["cell_type"] == "lstm":
        f, i, cand, o = (g[k]["value"] for k in ("f", "i", "g", "o"))
        c_prev, c = r["c_prev"], r["c"]
        gates = f"f = {f:.2f}, i = {i:.2f}"
        if f >= OPEN and i <= SHUT:
            memory = f"{gates}: the cell keeps its memory (c {c_prev:+.2f} \u2192 {c:+.2f})"
        elif abs(i * cand) >= abs(f * c_prev):
            memory = (f"{gates}: the cell writes its candidate g = {cand:+.2f} ({_driven(g['g'])}) into its memory "
                      f"(c {c_prev:+.2f} \u2192 {c:+.2f})")
        else:
            memory = f"{gates}: the cell mostly keeps its memory (c {c_prev:+.2f} \u2192 {c:+.2f})"
        return f"{memory}; o = {o:.2f} lets out {o:.0%} of tanh(c) = {np.tanh(c):+.2f}: h = {h:+.2f}"
    a = g["a"]["pre"]
    line = f"a = {a:+.2f}, {_driven(g['a'])}: h = {nonlinearity}(a) = {h:+.2f}"
    if nonlinearity == "relu" and a <= 0:
        return line + " (the cell is off)"
    if nonlinearity == "tanh" and abs(h) >= OPEN:
        return line + " (saturated)"
    return line


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
    lines += [f"  {r['equation']}", f"  traced h = {r['traced_h']:+.6f} (difference {r['difference']:.1e})",
              f"  in words: {r['reading']}"]
    return "\n".join(lines)
