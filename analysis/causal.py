"""Causal code search (issue 7 item 10; interchange interventions, Geiger et al. 2021).

Correlation is not the code: which cells does the model *read* depth from? For a variable
(depth) and each of its values v, the mean code is the mean state over held-out positions
where the variable is v, at one position type (after a separator, where the next token's
distribution depends on depth alone). Take a state from any context, set a candidate set of
cells to the mean code of v, and compare the model's next-character distribution with the
oracle's for v: if the set is the whole code, the model now predicts as at depth v, whatever
the depth really was. Cells are added greedily, each time the one that lowers the mean KL
most; the curve of mean KL against the number of cells, and the set, are the result.

The intervention is on the top layer at one step, so the next-character distribution is the
decoder's softmax of the edited state: no re-run of the recurrence is needed. (A lower layer
would need the layers above stepped once; not built.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import RnnscopeError

COMPLETE_KL = 0.05        # nats: a set whose mean KL is at most this is called the complete code


@dataclass(frozen=True)
class CausalCode:
    variable: str
    values: list[int]                 # the variable's values searched over
    cells: list[int]                  # chosen greedily, in order
    kl: list[float]                   # [k]: mean KL(oracle_v || model) with the first k cells set (kl[0]: none)
    complete_size: int | None         # the smallest k with kl[k] <= COMPLETE_KL (None: never)
    positions: int                    # contexts the mean runs over (each tried with every value)

    def to_dict(self) -> dict:
        return {"variable": self.variable, "values": self.values, "cells": self.cells,
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


def search(states: np.ndarray, variable: np.ndarray, where: np.ndarray, oracle_by_value: np.ndarray,
           decoder_w: np.ndarray, decoder_b: np.ndarray, values: list[int], name: str = "depth",
           max_positions: int = 2_000, seed: int = 0) -> CausalCode:
    """``states`` [T, H] of the top layer (read in context); ``variable`` [T]; ``where`` [T] bool:
    the position type intervened at; ``oracle_by_value`` [len(values), V]: the oracle's next-character
    distribution at that position type for each value, over the model's vocabulary; ``decoder_w``
    [V, H] and ``decoder_b`` [V]."""
    codes = mean_codes(states, variable, where, values)
    rng = np.random.default_rng(seed)
    positions = np.flatnonzero(where)
    if len(positions) > max_positions:
        positions = np.sort(rng.choice(positions, max_positions, replace=False))
    base = states[positions].astype(np.float64)                        # [P, H]
    H = base.shape[1]
    chosen: list[int] = []
    curve = [_mean_kl(base, codes, chosen, oracle_by_value, decoder_w, decoder_b)]
    while len(chosen) < H:
        trials = {c: _mean_kl(base, codes, [*chosen, c], oracle_by_value, decoder_w, decoder_b)
                  for c in range(H) if c not in chosen}
        best = min(trials, key=lambda c: (trials[c], c))
        chosen.append(best)
        curve.append(trials[best])
    complete = next((k for k, kl in enumerate(curve) if kl <= COMPLETE_KL), None)
    return CausalCode(name, list(values), chosen, curve, complete, len(positions))


def _mean_kl(base: np.ndarray, codes: np.ndarray, cells: list[int], oracle: np.ndarray,
             w: np.ndarray, b: np.ndarray) -> float:
    """Mean over positions and values of KL(oracle_v || softmax(W h' + b)), h' = h with ``cells`` set to code v."""
    edited = np.repeat(base[None], len(codes), axis=0)                 # [n_values, P, H]
    if cells:
        edited[:, :, cells] = codes[:, None, cells]
    logits = edited @ w.T + b                                           # [n_values, P, V]
    logits -= logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    o = oracle[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(o > 0, o * (np.log(np.where(o > 0, o, 1.0)) - log_p), 0.0)
    return float(terms.sum(axis=-1).mean())


def grammar_depth_oracle(spec, vocab: list[str]) -> np.ndarray:
    """[max_depth + 1, V]: the oracle's next-character distribution right after a separator at
    each depth, over the model's vocabulary (a stream at depth v: "( " repeated v times)."""
    import grammar

    sep = spec.separator
    out = np.zeros((spec.max_depth + 1, len(vocab)))
    for v in range(spec.max_depth + 1):
        for ch, p in grammar.next_char_distribution(("(" + sep) * v, spec).items():
            out[v, vocab.index(ch)] = p
    return out
