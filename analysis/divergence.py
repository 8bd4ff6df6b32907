"""Where the model is wrong, not merely surprised (issue 7 item 4). The grammar's exact
next-character distribution is known, so at every step the model's distribution can be
compared with the truth: KL(oracle || model) in nats, and the probability mass the model puts
on characters the grammar forbids there. Surprisal mixes the two with the language's own
randomness (a uniform choice among three tokens is 1.1 nats of surprise for a perfect model);
these do not -- a perfect model scores 0 on both."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    probs = np.asarray(probs, dtype=np.float64)
    truth = np.zeros((len(oracle), len(vocab)))
    where = {c: i for i, c in enumerate(vocab)}
    for a, ch in enumerate(alphabet):
        if ch in where:
            truth[:, where[ch]] = oracle[:, a]
    unknown = np.isnan(oracle).any(axis=1)
    legal = truth > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(legal, truth * (np.log(np.where(legal, truth, 1.0)) - np.log(probs)), 0.0)
    kl = terms.sum(axis=1)
    illegal = np.where(legal, 0.0, probs).sum(axis=1)
    kl[unknown], illegal[unknown] = np.nan, np.nan
    return Divergence(kl, illegal)
