"""Compiled step loops (numba) for tracing on the CPU: one layer of a GRU, LSTM or RNN (tanh or
ReLU), its h and every gate, over a whole sequence in one call.

Why: a recurrence cannot be batched over time, and at 15 units a step is a few hundred
multiply-adds, so any per-step overhead dominates. torch's CPU GRU is not fused (~20 us a step);
a NumPy step loop pays ~1 us per ufunc call, ten of them a step. Compiled, a step is the
arithmetic alone: 100,000 characters with every gate in a few hundredths of a second.

The equations are models/network/reference.py's, written out per unit, and the loop keeps the state in
float64, so the result is the reference's to float32 rounding (the outputs are float32, like every
Trace). A first layer reads one of a few characters: its input projections (W_ih x + b_ih) are a
table computed once per vocabulary character; upper layers project inside the loop (a [T, 3H]
float64 temporary costs more than the loop itself). Matrix-vector products run with the input
index outermost, so the inner loop walks a contiguous row of W^T and vectorises without
reordering any sum. ``cache=True``: compiled once per machine into __pycache__; a fresh checkout's
first trace of a cell type compiles it (measured in bench/RESULTS.md), later processes load it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from rnnscope.base.errors import RnnscopeError

GATES = {"gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o", "c"), "rnn": ()}    # the loops' order (torch's blocks)
# The order a trace lists its views in, the same as the torch path's (tracer.py): the page's view
# buttons, the report's sections and the saturation plots follow it, whichever path traced.
VIEW_ORDER = {"gru": ("z", "r", "n"), "lstm": ("i", "f", "g", "o", "c"), "rnn": ()}
ACTIVATIONS = ("tanh", "relu", "linear")    # a plain RNN's, by index in the compiled loop


def run_layer(cell: str, weights: dict[str, np.ndarray], x: np.ndarray, h0: np.ndarray | None = None,
              c0: np.ndarray | None = None, nonlinearity: str = "tanh", gates: bool = True,
              ids: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """One layer over ``x`` [T, D] from (h0, c0) (None: zeros); or, given ``ids`` [T], over the rows
    ``x[ids]`` of a per-character table ``x`` [V, D] (a first layer: its input projections are then
    computed once per character of the vocabulary, not once a step). ``weights``: the layer's
    weight_ih, weight_hh, bias_ih, bias_hh (torch's layout, zero biases for a bias-free model).
    Returns h [T, H] float32, the gates {name: [T, H] float32} (empty when ``gates`` is False;
    an LSTM's "c" is among them), and the LSTM's last cell state (None for the other cells)."""
    W_ih, W_hh, b_ih, b_hh = (np.asarray(weights[n], np.float64) for n in
                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = W_hh.shape[1]
    _check_shapes(W_ih.shape[1], H, x, h0, c0, ids)
    if ids is None:   # the projection runs inside the loop: no [T, G*H] float64 temporary
        ids, table, x = np.empty(0, np.int64), np.empty((0, W_ih.shape[0])), np.ascontiguousarray(x, np.float32)
    else:             # W_ih x + b_ih for each character of the vocabulary
        ids, table = np.asarray(ids, np.int64), np.asarray(x, np.float64) @ W_ih.T + b_ih
        x = np.empty((len(ids), 0), np.float32)
    W_ih_t, W_t = np.ascontiguousarray(W_ih.T), np.ascontiguousarray(W_hh.T)      # [D, G*H], [H, G*H]
    h_prev = np.zeros(H) if h0 is None else np.asarray(h0, np.float64).copy()
    T, names = len(x), GATES[cell]
    h = np.empty((T, H), np.float32)
    out = np.empty((len(names), T if gates else 0, H), np.float32)
    inputs = (ids, table, x, W_ih_t, b_ih)
    c_last = None
    if cell == "gru":
        _gru(*inputs, W_t, b_hh, h_prev, h, out)
    elif cell == "lstm":
        c_last = np.zeros(H) if c0 is None else np.asarray(c0, np.float64).copy()
        _lstm(*inputs, W_t, b_hh, h_prev, c_last, h, out)
    else:
        _rnn(*inputs, W_t, b_hh, h_prev, ACTIVATIONS.index(nonlinearity), h)
    return h, ({name: out[names.index(name)] for name in VIEW_ORDER[cell]} if gates else {}), c_last


def _check_shapes(D: int, H: int, x, h0, c0, ids) -> None:
    """The compiled loops index without bounds checks, so every shape is checked here, once."""
    x_ok = np.ndim(x) == 2 and np.shape(x)[1] == D
    ids_ok = ids is None or (np.ndim(ids) == 1 and (len(ids) == 0 or 0 <= np.min(ids) <= np.max(ids) < len(x)))
    state_ok = all(s is None or np.shape(s) == (H,) for s in (h0, c0))
    if not (x_ok and ids_ok and state_ok):
        raise RnnscopeError(f"a layer of {H} units reading {D} inputs got inputs, character ids or a state "
                            "of another shape")


@njit(cache=True, nogil=True)
def _input(t, ids, table, x, W_ih_t, b_ih, acc):
    """acc = W_ih x_t + b_ih: a row of the per-character table, or computed from x[t]."""
    if len(ids):
        acc[:] = table[ids[t]]
    else:
        _recurrent(W_ih_t, b_ih, x[t], acc)


@njit(cache=True, nogil=True)
def _recurrent(W_t, b, h, acc):
    """acc = W h + b, with W given transposed [H, G*H]."""
    acc[:] = b
    for k in range(W_t.shape[0]):
        hk = h[k]
        for j in range(W_t.shape[1]):
            acc[j] += W_t[k, j] * hk


@njit(cache=True, nogil=True)
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


@njit(cache=True, nogil=True)
def _gru(ids, table, x, W_ih_t, b_ih, W_t, b_hh, h, h_out, gates):
    """r = s(i_r + h_r), z = s(i_z + h_z), n = tanh(i_n + r * h_n), h' = (1 - z) n + z h.
    ``h`` is the starting state, updated in place; ``gates`` [3, T or 0, H] gets r, z, n."""
    T, H = h_out.shape
    keep = gates.shape[1] > 0
    gi, gh = np.empty(3 * H), np.empty(3 * H)
    for t in range(T):
        _input(t, ids, table, x, W_ih_t, b_ih, gi)
        _recurrent(W_t, b_hh, h, gh)
        for j in range(H):
            r = _sigmoid(gi[j] + gh[j])
            z = _sigmoid(gi[H + j] + gh[H + j])
            n = math.tanh(gi[2 * H + j] + r * gh[2 * H + j])
            h[j] = (1.0 - z) * n + z * h[j]       # unit j of h_{t-1} is read only here: safe in place
            h_out[t, j] = h[j]
            if keep:
                gates[0, t, j] = r
                gates[1, t, j] = z
                gates[2, t, j] = n


@njit(cache=True, nogil=True)
def _lstm(ids, table, x, W_ih_t, b_ih, W_t, b_hh, h, c, h_out, gates):
    """i, f, g, o = s, s, tanh, s of (W_ih x + b_ih + W_hh h + b_hh); c' = f c + i g; h' = o tanh(c').
    ``h``, ``c``: the starting state, updated in place; ``gates`` [5, T or 0, H] gets i, f, g, o, c."""
    T, H = h_out.shape
    keep = gates.shape[1] > 0
    gi, a = np.empty(4 * H), np.empty(4 * H)
    for t in range(T):
        _input(t, ids, table, x, W_ih_t, b_ih, gi)
        _recurrent(W_t, b_hh, h, a)              # reads all of h_{t-1} before the loop below writes h
        for j in range(H):
            i = _sigmoid(gi[j] + a[j])
            f = _sigmoid(gi[H + j] + a[H + j])
            g = math.tanh(gi[2 * H + j] + a[2 * H + j])
            o = _sigmoid(gi[3 * H + j] + a[3 * H + j])
            c[j] = f * c[j] + i * g
            h[j] = o * math.tanh(c[j])
            h_out[t, j] = h[j]
            if keep:
                gates[0, t, j] = i
                gates[1, t, j] = f
                gates[2, t, j] = g
                gates[3, t, j] = o
                gates[4, t, j] = c[j]


@njit(cache=True, nogil=True)
def _rnn(ids, table, x, W_ih_t, b_ih, W_t, b_hh, h, activation, h_out):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh); max(., 0) for a ReLU RNN (``activation`` 1), the
    sum itself for a linear one (2)."""
    T, H = h_out.shape
    gi, a = np.empty(H), np.empty(H)
    for t in range(T):
        _input(t, ids, table, x, W_ih_t, b_ih, gi)
        _recurrent(W_t, b_hh, h, a)
        for j in range(H):
            pre = gi[j] + a[j]
            h[j] = math.tanh(pre) if activation == 0 else max(pre, 0.0) if activation == 1 else pre
            h_out[t, j] = h[j]
