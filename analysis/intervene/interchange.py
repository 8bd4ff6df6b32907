"""Causal codes for any annotation: interchange interventions between contexts (Geiger et al. 2021;
docs/methods.md, Causal codes).

causal.py sets a variable to a value and compares the model with the grammar's oracle. Text has no
oracle, but it has contexts: take pairs of held-out positions, a *base* and a *source*, that read the
same character and differ in the annotation A -- the input gives nothing away, so whatever moves the
prediction came from the state. Which positions may pair is a *stratum* per position (``strata``): the
current character, and for text also the characters just before it and the other annotated variables, held
equal. Two text contexts that share only their last character differ in everything else, and the cells that
carry the most of it (the line position, the word being written) were found first for every annotation alike;
with the last three characters and the other variables equal, the search finds the annotation's own cells.
Patch a set S of one layer's cells from the source's state into the
base's, read the next-character distribution (causal.py's Readout: the decoder, and the layers above
stepped once from the base's own state one step earlier), and score the share of the KL gap closed:

    score(S) = 1 - mean over pairs KL(p_source || p_patched(S)) / mean over pairs KL(p_source || p_base)

0 with nothing patched; 1 when the patched base predicts exactly as the source (on the top layer,
patching every cell does). A ratio of means, not a mean of ratios: a pair whose predictions hardly
differ would otherwise weigh as much as one whose predictions are far apart. Cells are added greedily
(each time the one that closes most); the complete code is the smallest k whose score reaches
COMPLETE_SHARE. Beside each k, the null: the scores of random sets of k cells.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from rnnscope.base.errors import RnnscopeError

from rnnscope.analysis.intervene.causal import Readout

COMPLETE_SHARE = 0.99     # a set closing this share of the KL gap is called the complete code
NULL_DRAWS = 100          # random cell sets per size
MIN_GAP = 1e-9            # nats: below this the pairs predict alike and nothing can be closed


@dataclass(frozen=True)
class InterchangeCode:
    annotation: str
    layer: int
    cells: list[int]                  # chosen greedily, in order
    score: list[float]                # [k]: share of the KL gap closed with the first k cells patched (score[0] = 0)
    null_mean: list[float]            # [k]: mean score of NULL_DRAWS random sets of k cells
    null_p99: list[float]             # [k]: their 99th percentile
    complete_size: int | None         # the smallest k with score[k] >= COMPLETE_SHARE (None: not within the search)
    pairs: int
    gap_nats: float                   # mean KL(p_source || p_base) over the pairs: what there is to close
    matched_on: str = "char"          # what base and source share (``strata``'s description)

    def to_dict(self) -> dict:
        r = lambda xs: [round(float(x), 5) for x in xs]     # noqa: E731
        return {"annotation": self.annotation, "layer": self.layer, "matched_on": self.matched_on, "pairs": self.pairs,
                "gap_nats": round(self.gap_nats, 5), "cells": self.cells, "score": r(self.score),
                "null_mean": r(self.null_mean), "null_p99": r(self.null_p99), "null_draws": NULL_DRAWS,
                "complete_size": self.complete_size, "complete_share": COMPLETE_SHARE}


def annotation_codes(ann) -> np.ndarray:
    """[T] int codes of an Annotation (-1 where it has no value): a categorical one's own codes, a numeric
    one's distinct values numbered in order, so "differ" means a different value."""
    if not ann.numeric:
        return np.asarray(ann.values, np.int64)
    codes = np.full(len(ann.values), -1, np.int64)
    ok = ann.valid
    codes[ok] = np.unique(ann.values[ok], return_inverse=True)[1]
    return codes


def strata(chars: np.ndarray, before: int = 0, held: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """[T] one int per position, equal where the current character, the ``before`` characters before it and
    every code of ``held`` (annotation_codes of the variables held equal) are all equal; -1 where one is missing
    (the stream's first ``before`` positions, an annotation without a value): such positions do not pair."""
    chars = np.asarray(chars, np.int64)
    columns = [np.concatenate([np.full(k, -1, np.int64), chars[:len(chars) - k]]) for k in range(before + 1)]
    columns += [np.asarray(h, np.int64) for h in held]
    table = np.stack(columns, axis=1)
    ok = (table >= 0).all(axis=1)
    out = np.full(len(chars), -1, np.int64)
    out[ok] = np.unique(table[ok], axis=0, return_inverse=True)[1].ravel()
    return out


def interchange_pairs(codes: np.ndarray, chars: np.ndarray, count: int, seed: int = 0,
                      matched_on: str = "char") -> tuple[np.ndarray, np.ndarray]:
    """(base, source) positions, at most ``count`` pairs: each base drawn without replacement among the
    positions whose character (or stratum: ``strata``) also occurs with another code, its source uniformly
    among those."""
    codes, chars = np.asarray(codes, np.int64), np.asarray(chars, np.int64)
    ok = np.flatnonzero((codes >= 0) & (chars >= 0))
    order = ok[np.lexsort((codes[ok], chars[ok]))]                 # by character, then code within it
    ch, key = chars[order], chars[order] * (int(codes.max(initial=0)) + 1) + codes[order]
    ch_lo, ch_hi = np.searchsorted(ch, ch, "left"), np.searchsorted(ch, ch, "right")
    same_lo, same_hi = np.searchsorted(key, key, "left"), np.searchsorted(key, key, "right")
    others = (ch_hi - ch_lo) - (same_hi - same_lo)                 # same character, another code
    eligible = np.flatnonzero(others > 0)
    if len(eligible) == 0:
        raise RnnscopeError(f"no two positions that share what a pair must share ({matched_on}) have different "
                            "values of the annotation: nothing to interchange (read more characters)")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(eligible, min(count, len(eligible)), replace=False))
    k = ch_lo[pick] + (rng.random(len(pick)) * others[pick]).astype(np.int64)
    k = np.where(k >= same_lo[pick], k + (same_hi - same_lo)[pick], k)   # skip the base's own code's block
    return order[pick], order[k]


def search(states: np.ndarray, codes: np.ndarray, chars: np.ndarray, readout: Readout, name: str, layer: int = 0,
           max_pairs: int = 500, max_cells: int = 32, seed: int = 0, matched_on: str = "char") -> InterchangeCode:
    """``states`` [T, H] of the intervened layer (read in context); ``codes`` [T] the annotation's codes
    (annotation_codes); ``chars`` [T] the current character's codes, or the strata that pair (``strata``,
    described by ``matched_on``); ``readout``: from that layer's state to logits (causal.layer_readout). The
    greedy search stops at the complete code or ``max_cells``."""
    base, source = interchange_pairs(codes, chars, max_pairs, seed, matched_on)
    patch = _Patcher(readout, states, base, source)
    if patch.gap < MIN_GAP:
        raise RnnscopeError(f"pairs that differ in {name} predict the same next character (mean KL "
                            f"{patch.gap:.1e} nats): there is nothing to close")
    H = states.shape[1]
    chosen, scores = [], [0.0]
    while len(chosen) < min(H, max_cells) and scores[-1] < COMPLETE_SHARE:
        left = np.array([c for c in range(H) if c not in chosen])
        trial = patch.scores_added(chosen, left)
        best = int(np.argmax(trial))                  # the first of equals: the lowest cell
        chosen.append(int(left[best]))
        scores.append(float(trial[best]))
    complete = next((k for k, s in enumerate(scores) if s >= COMPLETE_SHARE), None)
    # A random set of k cells is the first k of a random order: one order scores every size at once.
    rng = np.random.default_rng(seed + 1)
    orders = np.stack([rng.permutation(H)[:len(chosen)] for _ in range(NULL_DRAWS)])
    null = np.concatenate([np.zeros((NULL_DRAWS, 1)), patch.prefix_scores(orders)], axis=1)   # [draws, k + 1]
    return InterchangeCode(name, layer, chosen, scores, null.mean(axis=0).tolist(),
                           np.quantile(null, 0.99, axis=0).tolist(), complete, len(base), patch.gap, matched_on)


class _Patcher:
    """The pairs' states and the source's distributions, and the scores of patched sets.

    KL(p_s || softmax(z)) = sum p_s log p_s - sum p_s z + logsumexp(z). On the top layer the logits are
    linear in the state, so patching one more cell c adds d_c w_c (its source-minus-base difference
    times its decoder column): the middle term moves by d_c (p_s . w_c), and only the logsumexp needs the
    P x V exponentials, which a compiled loop takes for every candidate without building them. Below
    the top layer the layers above are stepped for every set (NumPy)."""

    def __init__(self, readout: Readout, states: np.ndarray, base: np.ndarray, source: np.ndarray):
        self.readout, self.positions = readout, base
        self.x_base = states[base].astype(np.float64)
        self.x_source = states[source].astype(np.float64)
        self.diff = self.x_source - self.x_base                          # [P, H]
        log_source = _log_softmax(readout.logits(self.x_source, source))
        self.p_source = np.exp(log_source)
        self.neg_entropy = float((self.p_source * log_source).sum(axis=-1).mean())
        self.base_logits = readout.logits(self.x_base, base)
        self.linear = not readout.upper
        self.gap = self._kl(self.base_logits)
        if self.linear:
            self.w = np.ascontiguousarray(readout.w)                     # [V, H]
            self.pw = self.p_source @ self.w                             # [P, H]: p_s . w_c per pair

    def _kl(self, logits: np.ndarray) -> float:
        """Mean over pairs of KL(p_source || softmax(logits))."""
        z = logits - logits.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=-1)) + logits.max(axis=-1)
        return self.neg_entropy - float((self.p_source * logits).sum(axis=-1).mean()) + float(lse.mean())

    def _share(self, kl):
        return 1.0 - np.asarray(kl) / self.gap

    def logits(self, cells) -> np.ndarray:
        cells = list(cells)
        if self.linear:
            return self.base_logits + self.diff[:, cells] @ self.w[:, cells].T
        x = self.x_base.copy()
        x[:, cells] = self.x_source[:, cells]
        return self.readout.logits(x, self.positions)

    def score(self, cells) -> float:
        return float(self._share(self._kl(self.logits(cells))))

    def scores_added(self, chosen: list[int], candidates: np.ndarray) -> np.ndarray:
        """[C]: the score with each candidate cell patched beside ``chosen``."""
        if not self.linear:
            return np.array([self.score([*chosen, int(c)]) for c in candidates])
        current = self.logits(chosen)
        d = np.ascontiguousarray(self.diff[:, candidates])
        lse = np.zeros(len(candidates))
        _mean_lse_added(current, d, np.ascontiguousarray(self.w[:, candidates]), lse)
        linear = float((self.p_source * current).sum(axis=-1).mean()) + (d * self.pw[:, candidates]).mean(axis=0)
        return self._share(self.neg_entropy - linear + lse)

    def prefix_scores(self, orders: np.ndarray) -> np.ndarray:
        """[draws, K]: the score of the first k cells of each order [draws, K], k = 1 .. K."""
        draws, K = orders.shape
        if not self.linear:
            return np.array([[self.score(order[:k]) for k in range(1, K + 1)] for order in orders])
        lse, lin = np.zeros((draws, K)), np.zeros((draws, K))
        _prefix_lse(self.base_logits, self.diff, self.w, self.pw, orders.astype(np.int64), lse, lin)
        base_lin = float((self.p_source * self.base_logits).sum(axis=-1).mean())
        return self._share(self.neg_entropy - (base_lin + lin) + lse)


@njit(cache=True, nogil=True)
def _lse(z, m):
    s = 0.0
    for v in range(z.shape[0]):
        s += math.exp(z[v] - m)
    return m + math.log(s)


@njit(cache=True, nogil=True)
def _mean_lse_added(current, d, w, out):
    """out[c] = mean over pairs p of logsumexp(current[p] + d[p, c] * w[:, c])."""
    P, V = current.shape
    z = np.empty(V)
    for c in range(d.shape[1]):
        total = 0.0
        for p in range(P):
            m = -np.inf
            for v in range(V):
                z[v] = current[p, v] + d[p, c] * w[v, c]
                m = max(m, z[v])
            total += _lse(z, m)
        out[c] = total / P


@njit(cache=True, nogil=True)
def _prefix_lse(base, d, w, pw, orders, lse, lin):
    """For each order and k: the mean logsumexp of the logits with its first k cells patched (lse[draw,
    k-1]) and the mean of d . (p_s . w) they add to the middle term (lin[draw, k-1])."""
    P, V = base.shape
    z = np.empty((P, V))
    for r in range(orders.shape[0]):
        z[:] = base
        added = 0.0
        for k in range(orders.shape[1]):
            c = orders[r, k]
            total = 0.0
            for p in range(P):
                m = -np.inf
                for v in range(V):
                    z[p, v] += d[p, c] * w[v, c]
                    m = max(m, z[p, v])
                total += _lse(z[p], m)
                added += d[p, c] * pw[p, c]
            lse[r, k] = total / P
            lin[r, k] = added / P


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
