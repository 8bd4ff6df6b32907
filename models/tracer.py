"""Trace a model over one sequence: hidden states of every layer, every gate, next-char
probabilities, and grammar annotations when the text is grammar text.

torch.nn.GRU/LSTM do not expose gates. Rather than stepping a Python loop over time, each
layer is run by torch's own fused kernel to get h for every step; the gates then depend
only on (x_t, h_{t-1}), both known, so they are computed for all steps in one batched
matmul from the same weights. LSTM's cell state is the one true recurrence left, and a
cheap elementwise one. Tests prove all of it equal to the NumPy reference.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import grammar

from .errors import RnnscopeError
from .model import CharRNN
from .trace import LayerState, State, Trace

MAX_TRACE_CHARS = 1_000_000  # a trace of this many chars with gates is ~250 MB for a 15-unit GRU
CHUNK = 10_000  # cuDNN refuses single sequences of ~100k steps; carry the state across chunks


@torch.no_grad()
def trace(model: CharRNN, text: str, spec: grammar.GrammarSpec | None = None,
          state: State | None = None) -> Trace:
    """Read ``text`` from ``state`` (one LayerState per layer; None: the zero state).
    ``spec``: annotate as grammar text (None: detect the default grammar when every
    character belongs to its alphabet)."""
    if len(text) > MAX_TRACE_CHARS:
        raise RnnscopeError(f"the sequence has {len(text):,} characters; a trace takes at most {MAX_TRACE_CHARS:,}")
    model.eval()
    cfg = model.config
    ids = torch.as_tensor(model.vocab.encode(text), device=model.device)
    x = model.inputs(ids[None])[0]                                     # [T, D]
    given = state
    state = state or zero_state(model)
    _check_state(model, state)
    hidden, gates = [], []
    for layer in range(cfg.num_layers):
        module = model.layer(layer)
        weights = _weights(module)
        h0, c0 = _tensors(state[layer], x)
        h, _ = _run_layer(module, x, h0, c0)
        gates.append(_gates(cfg.cell, weights, x, h, h0, c0))
        hidden.append(h)
        x = h
    # A task model (no decoder) predicts no next character: its probs have no columns
    probs = x.new_zeros(len(x), 0) if model.decoder is None else torch.softmax(model.decoder(x), dim=-1)
    return Trace(text=text, vocab=list(cfg.vocab), cell=cfg.cell,
                 hidden=[h.float().cpu().numpy() for h in hidden],
                 gates=[{k: v.float().cpu().numpy() for k, v in g.items()} for g in gates],
                 probs=probs.float().cpu().numpy(),
                 annotations={} if cfg.task else _annotations(text, spec), initial=given)


def zero_state(model: CharRNN) -> State:
    H = model.config.hidden_size
    c = np.zeros(H, np.float32) if model.config.cell == "lstm" else None
    return [LayerState(np.zeros(H, np.float32), c) for _ in range(model.config.num_layers)]


def _check_state(model: CharRNN, state: State) -> None:
    cfg = model.config
    lstm, H = cfg.cell == "lstm", (cfg.hidden_size,)
    fits = [np.shape(s.h) == H and (np.shape(s.c) == H if lstm else s.c is None) for s in state]
    if len(state) != cfg.num_layers or not all(fits):
        raise RnnscopeError(f"a starting state for this model is {cfg.num_layers} layer(s) of h [{cfg.hidden_size}]"
                            + (" and c" if lstm else "") + "; got another shape")


def _tensors(s: LayerState, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A layer's (h, c) as tensors of ``like``'s dtype and device (c None but for an LSTM)."""
    h = torch.as_tensor(s.h, dtype=like.dtype, device=like.device)
    return h, None if s.c is None else torch.as_tensor(s.c, dtype=like.dtype, device=like.device)


@torch.no_grad()
def hidden_states(model: CharRNN, text: str, state: State | None = None) -> tuple[list[np.ndarray], State]:
    """h [T, H] of every layer for ``text`` read from ``state`` (None: zeros), and the state after
    it: what carrying a state along a stream needs, without gates or probabilities."""
    model.eval()
    state = state or zero_state(model)
    x = model.inputs(torch.as_tensor(model.vocab.encode(text), device=model.device)[None])[0]
    hidden, after = [], []
    for layer, s in enumerate(state):
        h0, c0 = _tensors(s, x)
        x, c = _run_layer(model.layer(layer), x, h0, c0)
        hidden.append(x.float().cpu().numpy())
        after.append(LayerState(hidden[-1][-1], None if c is None else c.float().cpu().numpy()))
    return hidden, after


def run_hidden(model: CharRNN, text: str, state: State | None = None) -> State:
    """Only the state after reading ``text`` from ``state``."""
    return hidden_states(model, text, state)[1]


def _run_layer(module: nn.Module, x: torch.Tensor, h0: torch.Tensor | None = None,
               c0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """h [T, H] for one layer read from (h0, c0) (None: zeros), with torch's kernel, chunked
    with a carried state; and the LSTM's last cell state (None for the other cells)."""
    if isinstance(module, nn.GRU) and x.device.type == "cpu":
        h0_np = None if h0 is None else h0.float().numpy()
        return torch.from_numpy(_gru_hidden_cpu(module, x.float().numpy(), h0_np)), None
    state = None
    if h0 is not None:
        state = (h0[None, None], c0[None, None]) if isinstance(module, nn.LSTM) else h0[None, None]
    outs = []
    for start in range(0, x.shape[0], CHUNK):
        out, state = module(x[None, start:start + CHUNK], state)
        outs.append(out[0])
    c_last = state[1][0, 0] if isinstance(module, nn.LSTM) and state is not None else None
    return torch.cat(outs), c_last


def _gru_hidden_cpu(module: nn.GRU, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """torch's CPU GRU is not fused (~20 us a step, 2 s for 100k chars; LSTM takes 1 us).
    This loop does the recurrent part with preallocated NumPy buffers, ~2x faster; the input
    projections are one matmul up front. Same equations as models/reference.py."""
    W_ih, W_hh, b_ih, b_hh = (w.detach().float().numpy() for w in _weights(module).values())
    H = W_hh.shape[1]
    gi = x @ W_ih.T + b_ih
    gi[:, :2 * H] += b_hh[:2 * H]          # r and z add both biases outside the reset product
    W_rz, W_n, b_hn = np.ascontiguousarray(W_hh[:2 * H].T), np.ascontiguousarray(W_hh[2 * H:].T), b_hh[2 * H:]
    out = np.empty((len(x), H), np.float32)
    h = np.zeros(H, np.float32) if h0 is None else np.array(h0, np.float32)
    rz, n = np.empty(2 * H, np.float32), np.empty(H, np.float32)
    for t in range(len(x)):
        np.dot(h, W_rz, out=rz)
        rz += gi[t, :2 * H]
        np.negative(rz, out=rz)
        np.exp(rz, out=rz)
        rz += 1
        np.reciprocal(rz, out=rz)          # sigmoid, in place
        np.dot(h, W_n, out=n)
        n += b_hn
        n *= rz[:H]
        n += gi[t, 2 * H:]
        np.tanh(n, out=n)
        h = n + rz[H:] * (h - n)           # (1 - z) * n + z * h
        out[t] = h
    return out


def _weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """A single-layer module's weight_ih, weight_hh, bias_ih, bias_hh, in that order; zero
    biases for a module built with bias=False, so the equations written with biases serve both."""
    w = {n: getattr(module, f"{n}_l0") for n in ("weight_ih", "weight_hh")}
    for n in ("bias_ih", "bias_hh"):
        w[n] = getattr(module, f"{n}_l0") if module.bias else w["weight_ih"].new_zeros(w["weight_ih"].shape[0])
    return w


def _gates(cell: str, w: dict[str, torch.Tensor], x: torch.Tensor, h: torch.Tensor,
           h0: torch.Tensor | None = None, c0: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    if cell == "rnn":
        return {}
    first = torch.zeros_like(h[:1]) if h0 is None else h0[None].to(h)
    h_prev = torch.cat([first, h[:-1]])
    gi = x @ w["weight_ih"].T + w["bias_ih"]
    gh = h_prev @ w["weight_hh"].T + w["bias_hh"]
    if cell == "gru":
        (ir, iz, in_), (hr, hz, hn) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
        r = torch.sigmoid(ir + hr)
        return {"z": torch.sigmoid(iz + hz), "r": r, "n": torch.tanh(in_ + r * hn)}
    i, f, g, o = (gi + gh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    return {"i": i, "f": f, "g": g, "o": o, "c": _cell_state(f, i * g, c0)}


def _cell_state(f: torch.Tensor, ig: torch.Tensor, c0: torch.Tensor | None = None) -> torch.Tensor:
    """c_t = f_t * c_{t-1} + (i*g)_t, in float64 NumPy (a Python loop of torch ops is ~5x slower)."""
    f_np, ig_np = f.double().cpu().numpy(), ig.double().cpu().numpy()
    c = np.empty_like(f_np)
    prev = np.zeros(f_np.shape[1]) if c0 is None else c0.double().cpu().numpy()
    for t in range(len(f_np)):
        prev = f_np[t] * prev + ig_np[t]
        c[t] = prev
    return torch.from_numpy(c).to(f)


def _annotations(text: str, spec: grammar.GrammarSpec | None) -> dict[str, np.ndarray]:
    if spec is None:
        spec = grammar.GrammarSpec()
        if not set(text) <= set(spec.alphabet):
            return {}
    return grammar.annotate(text, spec)


