"""The n-gram baseline of a text probe: the same probe (analysis/decode/probes.py) on the one-hot of
the last k characters instead of the states. How far does the state carry a variable beyond a local
window? If the last 32 characters read `in_string` as well as the state does, the state need carry
nothing a window does not; if the state beats every window, it holds what happened further back.

A text model needs this beside the Hewitt & Liang control: with ~90 character types, a probe that
knows the current character fits a random label per type almost perfectly, so the control is nearly
free and selectivity comes out near zero or below whatever the state holds (docs/methods.md, Probes).

The one-hot of k characters has k x (character types) columns, most of them zero: it is kept sparse,
and standardised without centring (centring would fill it; with an unpenalised intercept it moves only
the intercept, so the fit is the same probe). k = 1 is the input-only baseline.
"""
from __future__ import annotations

import numpy as np

from rnnscope.analysis.describe.annotations import MISSING

NGRAM_KS = (2, 4, 8, 16, 32)      # the grid: k = 1 is the input-only baseline, beside it already


def last_chars_onehot(char_codes: np.ndarray, k: int):
    """[T, k * types] sparse (scipy CSR): row t has a one in block j (j = 0 the current character) at the type
    of character t - j; rows near the start have fewer ones (nothing before the stream's start)."""
    import scipy.sparse as sp          # here, not at the top: the page imports this module for its words only

    types, codes = np.unique(np.asarray(char_codes), return_inverse=True)
    T, V = len(codes), len(types)
    rows, lag = np.repeat(np.arange(T), k), np.tile(np.arange(k), T)
    source = rows - lag
    ok = source >= 0
    columns = lag[ok] * V + codes[source[ok]]
    return sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (rows[ok], columns)), shape=(T, k * V))


def ngram_jobs(target: np.ndarray, char_codes: np.ndarray, ks=NGRAM_KS, seed: int = 0) -> list:
    """One function per k giving the k-gram probe's test accuracy, on the probe's own split (the
    characters whose target is known, first half to train): for probes.py to run beside its other fits."""
    from rnnscope.analysis.decode.probes import TRAIN_SHARE, fit_score

    target, char_codes = np.asarray(target), np.asarray(char_codes)
    keep = target != MISSING
    y = target[keep]
    split = int(len(y) * TRAIN_SHARE)

    def job(k: int):
        def run() -> float:
            x = last_chars_onehot(char_codes, k)[keep]      # windows read the whole text, missing targets too
            return fit_score(x[:split], y[:split], x[split:], y[split:], seed, centre=False)[0]
        return run
    return [job(k) for k in ks]


def ngram_summary(accuracy: float, ngram: list[dict]) -> str:
    """In words, how the state's accuracy stands against the best window."""
    best = max(ngram, key=lambda g: g["accuracy"])
    if accuracy > best["accuracy"]:
        return (f"the state ({accuracy:.3f}) beats every window up to {ngram[-1]['k']} characters (best: k = "
                f"{best['k']}, {best['accuracy']:.3f}): it carries the variable beyond a local window")
    return (f"the last {best['k']} characters alone read it as well ({best['accuracy']:.3f} against the state's "
            f"{accuracy:.3f}): the state carries no more than a {best['k']}-character window here")
