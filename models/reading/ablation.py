"""Ablation and clamping: run a model with chosen cells replaced, to see what they cause.

Semantics (docs/methods.md, "Ablation"): after every step the chosen cells of a layer's h (or an LSTM's c)
are replaced by a value -- 0, their mean over held-out data, or any clamp value -- so the next
step and the layer above (and the decoder) all read the replacement, never the original.

Several variants (intact, each cell alone, a set ...) run side by side as one batch: row b of
the batch is variant b, so ranking all H cells costs one pass over the text with a batch of
H + 1, not H + 1 passes. The step loop uses torch's own cells (GRUCell, LSTMCell, RNNCell)
sharing the model's weights; with no replacement it equals the traced run (tests hold it so).
Sampling under an ablation (sample_ablated: is what the model writes still in the language?)
uses the same step, all variants and samples in lock-step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN

MODES = ("zero", "mean", "clamp")


@dataclass(frozen=True)
class Ablation:
    """Replace ``cells`` of ``layer``'s ``state`` ("h", or "c" for an LSTM) after every step."""
    layer: int
    cells: tuple[int, ...]
    mode: str = "zero"                  # zero | mean | clamp
    value: float = 0.0                  # the clamp value (mode "clamp")
    state: str = "h"

    def check(self, model: CharRNN) -> None:
        cfg = model.config
        if self.mode not in MODES:
            raise RnnscopeError(f"ablation mode must be one of {MODES}, got {self.mode!r}")
        if not 0 <= self.layer < cfg.num_layers:
            raise RnnscopeError(f"layer {self.layer} does not exist; this model's layers are 0 .. {cfg.num_layers - 1}")
        bad = [c for c in self.cells if not 0 <= c < cfg.hidden_size]
        if bad:
            raise RnnscopeError(f"cells {bad} do not exist; this model's cells are 0 .. {cfg.hidden_size - 1}")
        if self.state not in ("h", "c") or (self.state == "c" and cfg.cell != "lstm"):
            raise RnnscopeError(f"state {self.state!r} cannot be ablated in a {cfg.cell.upper()} (h, or c for an LSTM)")


def step_cells(model: CharRNN) -> list[nn.Module]:
    """One torch cell per layer, sharing the layer's weights (no copy)."""
    rnn, cfg = model.rnn, model.config
    cells = []
    for k in range(cfg.num_layers):
        size_in = rnn.input_size if k == 0 else rnn.hidden_size
        kind = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}.get(cfg.cell)
        cell = (kind(size_in, rnn.hidden_size, bias=rnn.bias) if kind else
                nn.RNNCell(size_in, rnn.hidden_size, bias=rnn.bias, nonlinearity=rnn.nonlinearity))
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            if hasattr(rnn, f"{name}_l{k}"):
                setattr(cell, name, getattr(rnn, f"{name}_l{k}"))
        cells.append(cell.to(model.device))
    return cells


def _plan(model: CharRNN, variants: list[list[Ablation]], means: dict | None, rows: int = 1) -> dict:
    """What each batch row replaces: {(layer, state): (mask [B, H] bool, values [B, H])} for the
    (layer, state) pairs some variant touches; variant b owns rows b*rows .. (b+1)*rows - 1."""
    cfg = model.config
    for variant in variants:
        for a in variant:
            a.check(model)
            if a.mode == "mean" and (means is None or (a.layer, a.state) not in means):
                raise RnnscopeError(f"mode 'mean' needs the held-out mean of layer {a.layer}'s {a.state}")
    B, H = len(variants) * rows, cfg.hidden_size
    plan: dict = {}
    for b, variant in enumerate(variants):
        for a in variant:
            fill = {"zero": np.zeros(H), "clamp": np.full(H, a.value)}.get(a.mode)
            if fill is None:
                fill = np.asarray(means[(a.layer, a.state)], dtype=np.float64)
            mask, values = plan.setdefault((a.layer, a.state), (torch.zeros(B, H, dtype=torch.bool),
                                                                torch.zeros(B, H)))
            idx = list(a.cells)
            mask[b * rows:(b + 1) * rows, idx] = True
            values[b * rows:(b + 1) * rows, idx] = torch.as_tensor(fill[idx], dtype=torch.float32)
    return {key: (m.to(model.device), v.to(model.device)) for key, (m, v) in plan.items()}


def _step(model: CharRNN, cells: list[nn.Module], plan: dict, x: torch.Tensor, h: list, c: list) -> torch.Tensor:
    """One step of every layer on the batch ``x`` [B, D], replacing the planned cells after it
    (``h`` and ``c`` are updated in place); returns the top layer's h, what the decoder reads."""
    for k, cell in enumerate(cells):
        if model.config.cell == "lstm":
            h[k], c[k] = cell(x, (h[k], c[k]))
            if (k, "c") in plan:
                c[k] = torch.where(*plan[(k, "c")], c[k])
        else:
            h[k] = cell(x, h[k])
        if (k, "h") in plan:
            h[k] = torch.where(*plan[(k, "h")], h[k])
        x = h[k]
    return x


@torch.no_grad()
def run_ablated(model: CharRNN, text: str, variants: list[list[Ablation]],
                means: dict[tuple[int, str], np.ndarray] | None = None) -> np.ndarray:
    """[B, T, V] next-character probabilities of ``text`` read from the zero state, one row per
    variant (a list of Ablations; [] is the intact model). ``means[(layer, state)]`` [H]: the
    held-out means that mode "mean" puts in."""
    run = _Run(model, text, variants, means)
    tops = torch.empty(len(text), run.B, run.H, device=model.device)
    for t in range(len(text)):
        tops[t] = run.step(t)
    return F.softmax(model.decoder(tops), dim=-1).permute(1, 0, 2).float().cpu().numpy()


class _Run:
    """The variants of ``text`` stepped side by side from the zero state: ``step(t)`` reads character t and
    returns the top layer's h of every variant [B, H]."""

    def __init__(self, model: CharRNN, text: str, variants: list[list[Ablation]], means: dict | None):
        model.eval()
        self.model, self.plan = model, _plan(model, variants, means)
        self.B, self.H = len(variants), model.config.hidden_size
        self.cells = step_cells(model)
        self.ids = torch.as_tensor(model.vocab.encode(text), device=model.device)
        self.x_all = model.inputs(self.ids[None])[0]                      # [T, D]
        self.h = [torch.zeros(self.B, self.H, device=model.device) for _ in self.cells]
        self.c = [torch.zeros(self.B, self.H, device=model.device) for _ in self.cells]

    def step(self, t: int) -> torch.Tensor:
        return _step(self.model, self.cells, self.plan, self.x_all[t].expand(self.B, -1), self.h, self.c)


@torch.no_grad()
def ablated_losses(model: CharRNN, text: str, variants: list[list[Ablation]],
                   means: dict[tuple[int, str], np.ndarray] | None = None, chunk: int = 256) -> np.ndarray:
    """[B] mean next-character loss (nats/char) of each variant on ``text``: ``loss_of(run_ablated(...))``
    without keeping every step's probabilities. Ranking a 512-cell model's cells on 20,000 characters holds
    [T, 513, 512] states and [T, 513, V] probabilities that way (over 20 GB); here the decoder reads the
    top layer ``chunk`` steps at a time, and only the probability of the character that came next is kept."""
    run = _Run(model, text, variants, means)
    B = run.B
    total = torch.zeros(B, dtype=torch.float64, device=model.device)
    tops = torch.empty(chunk, B, run.H, device=model.device)
    for start in range(0, len(text) - 1, chunk):                       # the last character predicts nothing
        n = min(chunk, len(text) - 1 - start)
        for i in range(n):
            tops[i] = run.step(start + i)
        p = F.softmax(model.decoder(tops[:n]), dim=-1)                  # [n, B, V]
        nxt = run.ids[start + 1:start + 1 + n]
        picked = p.gather(2, nxt[:, None, None].expand(n, B, 1))[..., 0].double()
        total -= torch.log(torch.clamp(picked, min=1e-30)).sum(dim=0)
    return (total / max(len(text) - 1, 1)).cpu().numpy()


@torch.no_grad()
def sample_ablated(model: CharRNN, variants: list[list[Ablation]], n_samples: int, n_chars: int,
                   temperature: float = 1.0, seed: int = 0, prime: str = "(",
                   means: dict[tuple[int, str], np.ndarray] | None = None) -> list[list[str]]:
    """For each variant, ``n_samples`` continuations of ``prime``, ``n_chars`` characters each,
    sampled with the variant's cells replaced after every step (the prime's steps included) --
    run_ablated's semantics. Every variant and sample steps in lock-step as one batch.

    The draws are common random numbers: at step t one uniform u[i] is drawn per sample i
    (``torch.rand(n_samples)`` from a generator seeded with ``seed``), and sample i of *every*
    variant takes the first character whose cumulative probability exceeds u[i] times the total.
    So an intact and an ablated sample part ways only where the ablation moved the probabilities,
    never by the luck of the draw. That is why this does not call models/sample.sample: its
    torch.multinomial draws row after row from one stream, so two variants' rows would read
    different random numbers (and with nothing ablated the two samplers differ for that reason alone).
    """
    from rnnscope.models.reading.sample import MAX_SAMPLE_CHARS, MAX_SAMPLES   # the sampler's own limits

    if not 0 < n_chars <= MAX_SAMPLE_CHARS:
        raise RnnscopeError(f"sample length must be between 1 and {MAX_SAMPLE_CHARS:,}, got {n_chars}")
    if not 1 <= n_samples <= MAX_SAMPLES:
        raise RnnscopeError(f"the number of samples must be between 1 and {MAX_SAMPLES:,}, got {n_samples}")
    if not temperature > 0:
        raise RnnscopeError(f"temperature must be positive, got {temperature}")
    if not variants:
        raise RnnscopeError("no variants to sample: pass [[]] for the intact model")
    if not prime:
        raise RnnscopeError("the prime is empty: the model predicts the character after one it has read")
    model.eval()
    plan = _plan(model, variants, means, rows=n_samples)
    B, H = len(variants) * n_samples, model.config.hidden_size
    cells = step_cells(model)
    h = [torch.zeros(B, H, device=model.device) for _ in cells]
    c = [torch.zeros(B, H, device=model.device) for _ in cells]
    for x in model.inputs(torch.as_tensor(model.vocab.encode(prime), device=model.device)[None])[0]:
        top = _step(model, cells, plan, x.expand(B, -1), h, c)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = torch.empty(B, n_chars, dtype=torch.long)
    for t in range(n_chars):
        probs = torch.softmax(model.decoder(top).double() / temperature, dim=-1).cpu()
        cdf = probs.cumsum(dim=-1)
        u = torch.rand(n_samples, generator=gen, dtype=torch.float64).repeat(len(variants))
        # the first character whose cumulative probability exceeds u * total: never one of
        # probability 0, and never past the end (u < 1), whatever the rounding of the sum
        nxt = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None], right=True)[:, 0]
        out[:, t] = nxt
        top = _step(model, cells, plan, model.inputs(nxt[None].to(model.device))[0], h, c)
    texts = [model.vocab.decode(row.tolist()) for row in out]
    return [texts[b * n_samples:(b + 1) * n_samples] for b in range(len(variants))]


def loss_of(probs: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """[B] mean next-character loss (nats/char) of each variant's [B, T, V] probabilities on ``ids`` [T]."""
    p = probs[:, np.arange(len(ids) - 1), ids[1:]]
    return -np.log(np.maximum(p, 1e-30)).mean(axis=1)
