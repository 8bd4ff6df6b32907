"""Where the model is wrong, not merely surprised. The grammar's exact
next-character distribution is known, so at every step the model's distribution can be
compared with the truth: KL(oracle || model) in nats, and the probability mass the model puts
on characters the grammar forbids there. Surprisal mixes the two with the language's own
randomness (a uniform choice among three tokens is 1.1 nats of surprise for a perfect model);
these do not -- a perfect model scores 0 on both."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True)
class Divergence:
    kl: np.ndarray          # [T] KL(oracle || model) in nats; NaN where the oracle has no truth
    illegal: np.ndarray     # [T] model probability on characters the oracle gives 0; NaN likewise

    def summary(self) -> dict:
        ok = ~np.isnan(self.kl)
        return {"steps": int(ok.sum()), "mean_kl_nats": float(self.kl[ok].mean()) if ok.any() else None,
                "max_kl_nats": float(self.kl[ok].max()) if ok.any() else None,
                "mean_illegal_mass": float(self.illegal[ok].mean()) if ok.any() else None,
                "max_illegal_mass": float(self.illegal[ok].max()) if ok.any() else None}


def oracle_divergence(probs: np.ndarray, vocab: list[str], oracle: np.ndarray, alphabet: list[str]) -> Divergence:
    """``probs`` [T, V] the model's next-char distributions over ``vocab``; ``oracle`` [T, A] the
    truth over ``alphabet`` (rows of NaN where the text left the grammar). A model character
    outside the alphabet always counts as illegal."""
    where = {c: i for i, c in enumerate(vocab)}
    column = np.array([where.get(ch, -1) for ch in alphabet], dtype=np.int64)   # alphabet -> vocab index
    probs, oracle = np.ascontiguousarray(probs), np.ascontiguousarray(oracle, dtype=np.float64)
    kl, illegal = np.empty(len(probs)), np.empty(len(probs))
    _divergence(probs, column, oracle, kl, illegal)
    return Divergence(kl, illegal)


# Why compiled: the page computes this for every new sequence, and over 100,000 steps NumPy's
# version (a [T, V] float64 copy of the probabilities, two logs, masks) took ~150 ms of a page
# update whose whole budget is 250 ms; one pass over the rows does the same sums in a few ms.
@njit(cache=True, nogil=True)
def _divergence(probs, column, oracle, kl, illegal):
    legal = np.zeros(probs.shape[1], np.bool_)
    for t in range(probs.shape[0]):
        known = True
        for a in range(oracle.shape[1]):
            known = known and not np.isnan(oracle[t, a])
        if not known:
            kl[t], illegal[t] = np.nan, np.nan
            continue
        legal[:] = False
        total = 0.0
        for a in range(oracle.shape[1]):
            q, j = oracle[t, a], column[a]
            if q > 0 and j >= 0:          # a character the model cannot emit is not in its sum
                legal[j] = True
                total += q * (np.log(q) - np.log(np.float64(probs[t, j])))   # a legal p of 0: +inf
        kl[t] = total
        mass = 0.0
        for j in range(probs.shape[1]):
            if not legal[j]:
                mass += np.float64(probs[t, j])
        illegal[t] = mass
