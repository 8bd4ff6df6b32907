"""Trace a model over one sequence: hidden states of every layer, every gate, next-char
probabilities, and grammar annotations when the text is grammar text.

torch.nn.GRU/LSTM do not expose gates. On the CPU (float32 models) each layer runs as one
compiled step loop (models/reading/compiled.py, numba) that yields h and every gate together: a step is a
few hundred multiply-adds, and anything that is not compiled pays more in overhead than in
arithmetic. Elsewhere (CUDA) each layer is run by torch's own fused kernel to get h for every
step; the gates then depend only on (x_t, h_{t-1}), both known, so they are computed for all
steps in one batched matmul from the same weights, and LSTM's cell state is the one true
recurrence left, a cheap elementwise one. Tests prove both paths equal to the NumPy reference.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnscope import grammar

from rnnscope.models.reading import compiled
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.trace import LayerState, State, Trace

MAX_TRACE_CHARS = 1_000_000  # a trace of this many chars with gates is ~250 MB for a 15-unit GRU
CHUNK = 10_000  # cuDNN refuses single sequences of ~100k steps; carry the state across chunks
COMPILED = True  # CPU float32 models run models/reading/compiled.py's loops (tests switch it off to hold torch's path)


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
    given = state
    state = state or zero_state(model)
    _check_state(model, state)
    hidden, gates = [], []
    for h, g, _ in _layers(model, ids, state, gates=True):
        hidden.append(h)
        gates.append(g)
    x = hidden[-1]
    # A task model (no decoder) predicts no next character: its probs have no columns
    probs = x.new_zeros(len(x), 0) if model.decoder is None else torch.softmax(model.decoder(x), dim=-1)
    return Trace(text=text, vocab=list(cfg.vocab), cell=cfg.cell,
                 hidden=[h.float().cpu().numpy() for h in hidden], gates=gates,
                 probs=probs.float().cpu().numpy(),
                 annotations={} if cfg.task else _annotations(text, spec), initial=given)


def _layers(model: CharRNN, ids: torch.Tensor, state: State, gates: bool):
    """Each layer in turn, bottom first: (h [T, H] as a tensor, the gates {name: [T, H] float32
    NumPy} or {} when not asked for, the LSTM's last cell state as float32 NumPy or None)."""
    cfg = model.config
    fast = _compiles(model)
    x = None if fast else model.inputs(ids[None])[0]                  # [T, D]
    for layer, s in enumerate(state):
        if fast:
            w = model.layer_arrays(layer)
            if x is None:   # the first layer: its input projection is computed once per vocabulary character
                table = model.inputs(torch.arange(len(cfg.vocab))[None])[0].numpy()
                h, g, c = compiled.run_layer(cfg.cell, w, table, s.h, s.c, cfg.nonlinearity, gates, ids=ids.numpy())
            else:
                h, g, c = compiled.run_layer(cfg.cell, w, x.numpy(), s.h, s.c, cfg.nonlinearity, gates)
            x = torch.from_numpy(h)
        else:
            module = model.layer(layer)
            h0, c0 = _tensors(s, x)
            h, c = _run_layer(module, x, h0, c0)
            g = ({k: v.float().cpu().numpy() for k, v in _gates(cfg.cell, _weights(module), x, h, h0, c0).items()}
                 if gates else {})
            x, c = h, None if c is None else c.float().cpu().numpy()
        yield x, g, None if c is None else np.asarray(c, np.float32)


def _compiles(model: CharRNN) -> bool:
    """Whether models/reading/compiled.py runs this model: float32 on the CPU (CUDA keeps torch's kernels)."""
    return COMPILED and model.device.type == "cpu" and model.rnn.weight_ih_l0.dtype == torch.float32


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
    ids = torch.as_tensor(model.vocab.encode(text), device=model.device)
    hidden, after = [], []
    for h, _, c in _layers(model, ids, state, gates=False):
        hidden.append(h.float().cpu().numpy())
        after.append(LayerState(hidden[-1][-1], c))
    return hidden, after


def run_hidden(model: CharRNN, text: str, state: State | None = None) -> State:
    """Only the state after reading ``text`` from ``state``."""
    return hidden_states(model, text, state)[1]


def _run_layer(module: nn.Module, x: torch.Tensor, h0: torch.Tensor | None = None,
               c0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """h [T, H] for one layer read from (h0, c0) (None: zeros), with torch's kernel, chunked
    with a carried state; and the LSTM's last cell state (None for the other cells)."""
    state = None
    if h0 is not None:
        state = (h0[None, None], c0[None, None]) if isinstance(module, nn.LSTM) else h0[None, None]
    outs = []
    for start in range(0, x.shape[0], CHUNK):
        out, state = module(x[None, start:start + CHUNK], state)
        outs.append(out[0])
    c_last = state[1][0, 0] if isinstance(module, nn.LSTM) and state is not None else None
    return torch.cat(outs), c_last


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


