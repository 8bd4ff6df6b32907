"""Ablation and clamping: run a model with chosen cells replaced, to see what they cause.

Semantics (issue 7 item 3): after every step the chosen cells of a layer's h (or an LSTM's c)
are replaced by a value -- 0, their mean over held-out data, or any clamp value -- so the next
step and the layer above (and the decoder) all read the replacement, never the original.

Several variants (intact, each cell alone, a set ...) run side by side as one batch: row b of
the batch is variant b, so ranking all H cells costs one pass over the text with a batch of
H + 1, not H + 1 passes. The step loop uses torch's own cells (GRUCell, LSTMCell, RNNCell)
sharing the model's weights; with no replacement it equals the traced run (tests hold it so).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import RnnscopeError
from .model import CharRNN

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


@torch.no_grad()
def run_ablated(model: CharRNN, text: str, variants: list[list[Ablation]],
                means: dict[tuple[int, str], np.ndarray] | None = None) -> np.ndarray:
    """[B, T, V] next-character probabilities of ``text`` read from the zero state, one row per
    variant (a list of Ablations; [] is the intact model). ``means[(layer, state)]`` [H]: the
    held-out means that mode "mean" puts in."""
    model.eval()
    cfg = model.config
    for variant in variants:
        for a in variant:
            a.check(model)
            if a.mode == "mean" and (means is None or (a.layer, a.state) not in means):
                raise RnnscopeError(f"mode 'mean' needs the held-out mean of layer {a.layer}'s {a.state}")
    B, H = len(variants), cfg.hidden_size
    masks = {(k, s): torch.zeros(B, H, dtype=torch.bool) for k in range(cfg.num_layers) for s in ("h", "c")}
    values = {key: torch.zeros(B, H) for key in masks}
    for b, variant in enumerate(variants):
        for a in variant:
            fill = {"zero": np.zeros(H), "clamp": np.full(H, a.value)}.get(a.mode)
            if fill is None:
                fill = np.asarray(means[(a.layer, a.state)], dtype=np.float64)
            idx = list(a.cells)
            masks[(a.layer, a.state)][b, idx] = True
            values[(a.layer, a.state)][b, idx] = torch.as_tensor(fill[idx], dtype=torch.float32)
    masks = {k: m.to(model.device) for k, m in masks.items()}
    values = {k: v.to(model.device) for k, v in values.items()}
    active = {k for k, m in masks.items() if m.any()}

    cells = step_cells(model)
    ids = torch.as_tensor(model.vocab.encode(text), device=model.device)
    x_all = model.inputs(ids[None])[0]                                  # [T, D]
    h = [torch.zeros(B, H, device=model.device) for _ in cells]
    c = [torch.zeros(B, H, device=model.device) for _ in cells]
    tops = torch.empty(len(text), B, H, device=model.device)
    for t in range(len(text)):
        x = x_all[t].expand(B, -1)
        for k, cell in enumerate(cells):
            if cfg.cell == "lstm":
                h[k], c[k] = cell(x, (h[k], c[k]))
                if (k, "c") in active:
                    c[k] = torch.where(masks[(k, "c")], values[(k, "c")], c[k])
            else:
                h[k] = cell(x, h[k])
            if (k, "h") in active:
                h[k] = torch.where(masks[(k, "h")], values[(k, "h")], h[k])
            x = h[k]
        tops[t] = x
    return F.softmax(model.decoder(tops), dim=-1).permute(1, 0, 2).float().cpu().numpy()


def loss_of(probs: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """[B] mean next-character loss (nats/char) of each variant's [B, T, V] probabilities on ``ids`` [T]."""
    p = probs[:, np.arange(len(ids) - 1), ids[1:]]
    return -np.log(np.maximum(p, 1e-30)).mean(axis=1)
