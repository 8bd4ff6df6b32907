"""Several stretches ("lanes") of one text read side by side, one time step of all of them at once,
in NumPy: what a Dask worker runs to fill its part of a state store (models/store/kernel.py).

Why: one stream is sequential, and the compiled loop (models/reading/compiled.py) reaches ~1.5 M chars/s
on a core for the shipped GRU-15, most of it spent in 45 scalar exp/tanh calls a step (numba's
pip build has no vector maths library). Read B lanes in lockstep and each step becomes a
[B, H] x [H, G*H] matrix product plus NumPy's SIMD exp and tanh over B * G * H values: at B >= 128
several times the compiled loop's rate (bench/bench_store.py), and for wide layers the product
runs in BLAS instead of one matrix-vector product a step.

The equations are models/network/reference.py's, the state is float64 and the outputs float32, as in the
compiled loop, so the two agree to float32 rounding (tests/test_lockstep.py holds them equal for
every cell type). A lane's inputs past its own end (``ends``) are padding: the state is taken at
the lane's end and what the padding produced is never returned.
"""
from __future__ import annotations

import numpy as np

BLOCK = 256      # steps whose upper-layer input projections are made in one matrix product

LaneState = list[tuple[np.ndarray, np.ndarray | None]]   # per layer: h [B, H] float64, c [B, H] (LSTM) or None


def read(w, ids: np.ndarray, state: LaneState | None = None, ends: np.ndarray | None = None,
         keep: bool = True) -> tuple[list[np.ndarray] | None, LaneState]:
    """Read ``ids`` [T, B] (column b: lane b's character ids) with ``w`` (a store_kernel.KernelWeights)
    from ``state`` (None: zeros). Returns every layer's h [B, T, H] float32, lane by lane as the
    text runs (None when ``keep`` is False: a burn-in), and each lane's state after its ``ends[b]``
    steps (default: all T)."""
    T, B = ids.shape
    ends = np.full(B, T) if ends is None else np.asarray(ends)
    if not (len(ends) == B and np.all((ends >= 1) & (ends <= T))):
        raise ValueError(f"each of {B} lanes must end within the {T} steps read")
    hidden, after, x = [], [], None
    for k, layer in enumerate(w.layers):
        h0, c0 = (None, None) if state is None else state[k]
        # Upper layers read every step of the layer below, padding included, so even a burn-in keeps
        # the lower layers' outputs until the next layer has read them.
        out, end_state = _layer(w, layer, ids if k == 0 else None, x, T, B, h0, c0, ends,
                                keep or k < len(w.layers) - 1)
        hidden.append(out)
        after.append(end_state)
        x = out
    return (hidden if keep else None), after


def lanes_of(state: LaneState, b: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Lane ``b``'s state in store_kernel's form: per layer, h as float32 (the last output, as the
    compiled loop carries it) and the LSTM's c as float64 (copies: the lanes' arrays are reused)."""
    return [(h[b].astype(np.float32), None if c is None else c[b].astype(np.float64)) for h, c in state]


def stack(states: list, layers: int, H: int, lstm: bool) -> LaneState:
    """Several lanes' store_kernel states (None: zeros) as one LaneState."""
    zero = (np.zeros(H, np.float32), np.zeros(H) if lstm else None)
    rows = [s if s is not None else [zero] * layers for s in states]
    return [(np.array([r[k][0] for r in rows], np.float64),
             np.array([r[k][1] for r in rows], np.float64) if lstm else None) for k in range(layers)]


def _layer(w, layer: dict, ids, x, T: int, B: int, h0, c0, ends: np.ndarray, keep: bool):
    """One layer over T steps of B lanes: its outputs [B, T, H] float32 (None unless ``keep``) and
    each lane's (h, c) at its end."""
    W_ih, W_hh, b_ih, b_hh = (np.asarray(layer[n], np.float64) for n in
                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = W_hh.shape[1]
    h = np.zeros((B, H)) if h0 is None else np.array(h0, np.float64)
    c = (np.zeros((B, H)) if c0 is None else np.array(c0, np.float64)) if w.cell == "lstm" else None
    step = _STEPS[w.cell](W_hh, b_hh, B, H, w.nonlinearity)
    out = np.empty((B, T, H), np.float32) if keep else None
    end_h, end_c = np.empty((B, H)), (np.empty((B, H)) if c is not None else None)
    by_end = {int(e): np.flatnonzero(ends == e) for e in np.unique(ends)}
    with np.errstate(over="ignore"):
        for t, proj in enumerate(_projections(w, W_ih, b_ih, ids, x, T, B)):
            step(proj, h, c)
            if out is not None:
                out[:, t] = h
            lanes = by_end.get(t + 1)
            if lanes is not None:
                end_h[lanes] = h[lanes]
                if c is not None:
                    end_c[lanes] = c[lanes]
    return out, (end_h, end_c)


def _projections(w, W_ih, b_ih, ids, x, T: int, B: int):
    """W_ih x_t + b_ih [B, G*H] for each step: a first layer looks its characters up in a table made
    once per vocabulary character; an upper layer projects the layer below. Both BLOCK steps at a
    time: one call per block instead of one per step, and a block's values stay in cache."""
    if ids is not None:
        table = np.asarray(w.table, np.float64) @ W_ih.T + b_ih
        for t0 in range(0, T, BLOCK):
            yield from table[ids[t0:t0 + BLOCK]]                          # [steps, B, G*H]
        return
    for t0 in range(0, T, BLOCK):
        block = x[:, t0:t0 + BLOCK].astype(np.float64) @ W_ih.T + b_ih     # [B, steps, G*H]
        for j in range(block.shape[1]):
            yield block[:, j]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)) in place. exp overflows to inf for a < -709, giving the exact limit 0
    (_layer runs with NumPy's overflow warning off for that reason)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    return np.reciprocal(a, out=a)


def _gru(W_hh, b_hh, B, H, _):
    W_t, g = np.ascontiguousarray(W_hh.T), np.empty((B, 3 * H))
    rz, n = np.empty((B, 2 * H)), np.empty((B, H))

    def step(proj, h, _c):
        np.matmul(h, W_t, out=g)
        np.add(g, b_hh, out=g)          # (an in-place "+=" would make g local to step)
        np.add(proj[:, :2 * H], g[:, :2 * H], out=rz)
        _sigmoid(rz)
        np.multiply(rz[:, :H], g[:, 2 * H:], out=n)          # r * (W_hn h + b_hn)
        np.add(n, proj[:, 2 * H:], out=n)
        np.tanh(n, out=n)
        h -= n                                               # h' = (1 - z) n + z h = n + z (h - n)
        h *= rz[:, H:]
        h += n
    return step


def _lstm(W_hh, b_hh, B, H, _):
    W_t, a = np.ascontiguousarray(W_hh.T), np.empty((B, 4 * H))
    tc = np.empty((B, H))

    def step(proj, h, c):
        np.matmul(h, W_t, out=a)
        np.add(a, b_hh, out=a)
        np.add(a, proj, out=a)
        _sigmoid(a[:, :2 * H])                               # i, f
        np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])    # g
        _sigmoid(a[:, 3 * H:])                               # o
        c *= a[:, H:2 * H]
        np.multiply(a[:, :H], a[:, 2 * H:3 * H], out=tc)
        c += tc                                              # c' = f c + i g
        np.tanh(c, out=tc)
        np.multiply(a[:, 3 * H:], tc, out=h)
    return step


def _rnn(W_hh, b_hh, B, H, nonlinearity):
    W_t, a = np.ascontiguousarray(W_hh.T), np.empty((B, H))
    act = {"tanh": lambda v: np.tanh(v, out=v), "relu": lambda v: np.maximum(v, 0.0, out=v),
           "linear": lambda v: v}[nonlinearity]

    def step(proj, h, _c):
        np.matmul(h, W_t, out=a)
        np.add(a, b_hh, out=a)
        np.add(a, proj, out=a)
        h[:] = act(a)
    return step


_STEPS = {"gru": _gru, "lstm": _lstm, "rnn": _rnn}
