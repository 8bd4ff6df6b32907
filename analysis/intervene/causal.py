"""Causal code search (interchange interventions, Geiger et al. 2021; docs/methods.md).

Correlation is not the code: which cells does the model *read* depth from? For a variable
(depth) and each of its values v, the mean code is the mean state over held-out positions
where the variable is v, at one position type (after a separator, where the next token's
distribution depends on depth alone). Take a state from any context, set a candidate set of
cells to the mean code of v, and compare the model's next-character distribution with the
oracle's for v: if the set is the whole code, the model now predicts as at depth v, whatever
the depth really was. Cells are added greedily, each time the one that lowers the mean KL
most; the curve of mean KL against the number of cells, and the set, are the result.

The intervention is on one layer at one step. On the top layer the next-character distribution
is the decoder's softmax of the edited state. Below it, the layers above read the edited state
at that same step: each is stepped once, from its own state one step earlier (what it held in
context), by the cell equations of models/network/reference.py, and the decoder reads the top one. Nothing
before the step changes, and nothing after it matters to the next character.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.models.network import reference
from rnnscope.base.errors import RnnscopeError

COMPLETE_KL = 0.05        # nats: a set whose mean KL is at most this is called the complete code


@dataclass(frozen=True)
class CausalCode:
    variable: str
    values: list[int]                 # the variable's values searched over
    cells: list[int]                  # chosen greedily, in order
    kl: list[float]                   # [k]: mean KL(oracle_v || model) with the first k cells set (kl[0]: none)
    complete_size: int | None         # the smallest k with kl[k] <= COMPLETE_KL (None: never)
    positions: int                    # contexts the mean runs over (each tried with every value)
    layer: int = 0                    # the layer intervened on

    def to_dict(self) -> dict:
        return {"variable": self.variable, "layer": self.layer, "values": self.values, "cells": self.cells,
                "kl": [round(k, 5) for k in self.kl], "complete_size": self.complete_size,
                "complete_threshold_nats": COMPLETE_KL, "positions": self.positions}


def mean_codes(states: np.ndarray, variable: np.ndarray, where: np.ndarray, values: list[int]) -> np.ndarray:
    """[len(values), H]: the mean state at the positions ``where`` whose variable is each value."""
    codes = []
    for v in values:
        pick = where & (variable == v)
        if not pick.any():
            raise RnnscopeError(f"no held-out position of this type has the value {v}: read more characters")
        codes.append(states[pick].mean(axis=0))
    return np.stack(codes)


@dataclass(frozen=True)
class UpperLayer:
    """A layer above the one intervened on: its cell equations' weights (models/network/reference.py's
    names, float64) and its states read in context, ``h`` [T, H] (and ``c`` for an LSTM)."""
    cell: str                         # gru | lstm | rnn
    weights: dict[str, np.ndarray]    # weight_ih, weight_hh, bias_ih, bias_hh
    h: np.ndarray
    c: np.ndarray | None = None
    nonlinearity: str = "tanh"        # an RNN's

    def step(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """This layer's h at each of ``positions`` [P] when it reads ``x`` [..., P, D] there, stepped
        from the state it held one step earlier (the zero state before the first character)."""
        w = [self.weights[n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h_prev = _previous(self.h, positions)
        if self.cell == "lstm":
            return reference.lstm_step(x, h_prev, _previous(self.c, positions), *w)[0]
        if self.cell == "gru":
            return reference.gru_step(x, h_prev, *w)[0]
        return reference.rnn_step(x, h_prev, *w, nonlinearity=self.nonlinearity)[0]


def _previous(states: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """[P, H]: the state at each position's previous step; zeros before the first character."""
    prev = states[np.maximum(positions - 1, 0)].astype(np.float64)
    prev[positions == 0] = 0.0
    return prev


@dataclass(frozen=True)
class Readout:
    """From a state of the intervened layer to next-character logits: the layers above (bottom
    first; none for the top layer) stepped once, then the decoder, ``w`` [V, H] and ``b`` [V]."""
    w: np.ndarray
    b: np.ndarray
    upper: tuple[UpperLayer, ...] = ()

    def logits(self, states: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """[..., P, V] for edited states [..., P, H] at ``positions`` [P] of the stream."""
        x = states
        for layer in self.upper:
            x = layer.step(x, positions)
        return x @ self.w.T + self.b


def layer_readout(model, hidden: list[np.ndarray], cell_states: list[np.ndarray] | None, layer: int) -> Readout:
    """The Readout of ``model``'s layer ``layer``, given every layer's states read in context
    (``hidden`` [layers][T, H]; ``cell_states``: an LSTM's c per layer)."""
    cfg = model.config
    if not 0 <= layer < cfg.num_layers:
        raise RnnscopeError(f"layer {layer} does not exist; this model's layers are 0 .. {cfg.num_layers - 1}")
    upper = tuple(UpperLayer(cfg.cell, model.layer_arrays(k), hidden[k], cell_states[k] if cell_states else None,
                             cfg.nonlinearity) for k in range(layer + 1, cfg.num_layers))
    return Readout(model.decoder.weight.detach().double().cpu().numpy(),
                   model.decoder.bias.detach().double().cpu().numpy(), upper)


def search(states: np.ndarray, variable: np.ndarray, where: np.ndarray, oracle_by_value: np.ndarray,
           readout: Readout, values: list[int], name: str = "depth", max_positions: int = 2_000,
           seed: int = 0, layer: int = 0) -> CausalCode:
    """``states`` [T, H] of the intervened layer (read in context); ``variable`` [T]; ``where``
    [T] bool: the position type intervened at; ``oracle_by_value`` [len(values), V]: the oracle's
    next-character distribution at that position type for each value, over the model's
    vocabulary; ``readout``: from that layer's state to logits (layer_readout)."""
    codes = mean_codes(states, variable, where, values)
    rng = np.random.default_rng(seed)
    positions = np.flatnonzero(where)
    if len(positions) > max_positions:
        positions = np.sort(rng.choice(positions, max_positions, replace=False))
    base = states[positions].astype(np.float64)                        # [P, H]
    H = base.shape[1]
    kl = lambda cells: _mean_kl(base, codes, cells, oracle_by_value, readout, positions)  # noqa: E731
    chosen: list[int] = []
    curve = [kl(chosen)]
    while len(chosen) < H:
        trials = {c: kl([*chosen, c]) for c in range(H) if c not in chosen}
        best = min(trials, key=lambda c: (trials[c], c))
        chosen.append(best)
        curve.append(trials[best])
    complete = next((k for k, value in enumerate(curve) if value <= COMPLETE_KL), None)
    return CausalCode(name, list(values), chosen, curve, complete, len(positions), layer)


def _mean_kl(base: np.ndarray, codes: np.ndarray, cells: list[int], oracle: np.ndarray, readout: Readout,
             positions: np.ndarray) -> float:
    """Mean over positions and values of KL(oracle_v || model), the model reading h' = h with
    ``cells`` set to code v."""
    edited = np.repeat(base[None], len(codes), axis=0)                 # [n_values, P, H]
    if cells:
        edited[:, :, cells] = codes[:, None, cells]
    logits = readout.logits(edited, positions)                          # [n_values, P, V]
    logits -= logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    o = oracle[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(o > 0, o * (np.log(np.where(o > 0, o, 1.0)) - log_p), 0.0)
    return float(terms.sum(axis=-1).mean())


def grammar_depth_oracle(spec, vocab: list[str]) -> np.ndarray:
    """[max_depth + 1, V]: the oracle's next-character distribution right after a separator at
    each depth, over the model's vocabulary (a stream at depth v: "( " repeated v times)."""
    from rnnscope import grammar

    sep = spec.separator
    out = np.zeros((spec.max_depth + 1, len(vocab)))
    for v in range(spec.max_depth + 1):
        for ch, p in grammar.next_char_distribution(("(" + sep) * v, spec).items():
            out[v, vocab.index(ch)] = p
    return out
