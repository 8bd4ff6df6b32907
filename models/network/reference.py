"""The cell equations in plain NumPy (float64), one step at a time, as seeds 002-004 write
them out. This is the independent reference the tests hold the tracer and torch against, so
it deliberately shares no code with them.

Weights use torch's layout (state_dict names, gate blocks stacked in rows):
  RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)     (relu(...) for a ReLU RNN; no function at all
                                                     for a linear one, seed 000's sum of digits)
  GRU:  r = s(W_ir x + b_ir + W_hr h + b_hr)           reset
        z = s(W_iz x + b_iz + W_hz h + b_hz)           update
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  candidate
        h' = (1 - z) * n + z * h
  LSTM: i, f, g, o = s(.), s(.), tanh(.), s(.) of W_ih x + b_ih + W_hh h + b_hh
        c' = f * c + i * g ;  h' = o * tanh(c')
(Keras' GRU with reset_after=False, Keras 2's default, puts r before the matmul, r * h @ U; with Keras 3's
reset_after=True it is torch's form, used here. Both update h' = z * h + (1 - z) * candidate: Keras does not
swap z and 1 - z. models/interop/keras_import.py maps Keras' weights onto these.)
A model without biases (torch's bias=False) has no b_ih/b_hh: they are taken as zeros.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0.0)


def identity(x):
    return x


ACTIVATIONS = {"tanh": np.tanh, "relu": relu, "linear": identity}   # the plain RNN's choices


# The three step functions take one state [H] or a batch [..., H] (``x @ W.T`` is ``W @ x`` for
# one vector): analysis/intervene/causal.py steps thousands of edited states at once through them.
def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    act = ACTIVATIONS[nonlinearity]
    h_new = act(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
    return h_new, {}


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[-1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    h_new = (1.0 - z) * n + z * h
    return h_new, {"r": r, "z": z, "n": n}


def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[-1]
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f = sigmoid(a[..., :H]), sigmoid(a[..., H:2 * H])
    g, o = np.tanh(a[..., 2 * H:3 * H]), sigmoid(a[..., 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new, {"i": i, "f": f, "g": g, "o": o}


def step_terms(cell, x, h, c, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step with every term that made it, for explaining a value: per gate its input part
    (W_i x + b_i), recurrent part (W_h h + b_h), pre-activation and value, each [H]; then the new
    h (and c). The GRU candidate's pre-activation is input + r * recurrent; RNN: one "a" term."""
    H = h.shape[0]
    gi, gh = W_ih @ x + b_ih, W_hh @ h + b_hh
    parts = lambda k: (gi[k * H:(k + 1) * H], gh[k * H:(k + 1) * H])   # noqa: E731
    terms = {}
    if cell == "rnn":
        act = ACTIVATIONS[nonlinearity]
        i_part, h_part = parts(0)
        terms["a"] = {"input": i_part, "recurrent": h_part, "pre": i_part + h_part, "value": act(i_part + h_part)}
        return terms, terms["a"]["value"], None
    if cell == "gru":
        for k, name in enumerate(("r", "z")):
            i_part, h_part = parts(k)
            terms[name] = {"input": i_part, "recurrent": h_part, "pre": i_part + h_part,
                           "value": sigmoid(i_part + h_part)}
        i_part, h_part = parts(2)
        pre = i_part + terms["r"]["value"] * h_part
        terms["n"] = {"input": i_part, "recurrent": h_part, "pre": pre, "value": np.tanh(pre)}
        z, n = terms["z"]["value"], terms["n"]["value"]
        return terms, (1.0 - z) * n + z * h, None
    for k, name in enumerate(("i", "f", "g", "o")):
        i_part, h_part = parts(k)
        act = np.tanh if name == "g" else sigmoid
        terms[name] = {"input": i_part, "recurrent": h_part, "pre": i_part + h_part, "value": act(i_part + h_part)}
    c_new = terms["f"]["value"] * c + terms["i"]["value"] * terms["g"]["value"]
    return terms, terms["o"]["value"] * np.tanh(c_new), c_new


def run(cell: str, weights: dict[str, np.ndarray], inputs: np.ndarray, num_layers: int,
        nonlinearity: str = "tanh"):
    """Run a stack of cells over ``inputs`` [T, D] from the zero state.

    ``weights`` maps torch's names (``weight_ih_l0`` ...) to arrays; missing biases are
    zeros. ``nonlinearity`` is the RNN's ("tanh", "relu" or "linear"). Returns one dict per layer:
    ``h`` [T, H], each gate [T, H], and ``c`` [T, H] for LSTM.
    """
    layers = []
    x_seq = np.asarray(inputs, dtype=np.float64)
    for layer in range(num_layers):
        W_ih, W_hh = (np.asarray(weights[f"{n}_l{layer}"], dtype=np.float64) for n in ("weight_ih", "weight_hh"))
        b_ih, b_hh = (np.asarray(weights.get(f"{n}_l{layer}", np.zeros(len(W_ih))), dtype=np.float64)
                      for n in ("bias_ih", "bias_hh"))
        H = W_hh.shape[1]
        h, c = np.zeros(H), np.zeros(H)
        record: dict[str, list] = {"h": []}
        for x in x_seq:
            if cell == "lstm":
                h, c, gates = lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh)
                gates = {**gates, "c": c}
            elif cell == "gru":
                h, gates = gru_step(x, h, W_ih, W_hh, b_ih, b_hh)
            else:
                h, gates = rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity)
            record["h"].append(h)
            for name, value in gates.items():
                record.setdefault(name, []).append(value)
        layers.append({name: np.stack(values) for name, values in record.items()})
        x_seq = layers[-1]["h"]
    return layers


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
