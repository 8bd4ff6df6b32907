"""Mutual information against chance: the Miller–Madow correction and a shuffle (permutation) null.

Plug-in MI is biased upward, by about (rows − 1)(columns − 1) / (2N ln 2) bits for independent
variables: with ~90 character categories that is enough to crown the current character for cells
that carry nothing. Miller & Madow (1955) correct each entropy by (m − 1) / 2N nats, m the number of
non-empty cells of its table, which for MI = H(X) + H(Y) − H(X, Y) adds

    ((m_X − 1) + (m_Y − 1) − (m_XY − 1)) / (2N ln 2) bits.

The null asks what the statistic would be if the annotation were shuffled against the cell. Shuffling
keeps both margins of the (bin, code) table and draws the rest uniformly among the tables with those
margins (the multivariate hypergeometric), so a shuffle is drawn as a table -- row by row, a
hypergeometric per cell (exact for small counts, its normal approximation for large ones) -- never as a
pass over the steps: rows x columns draws, not T. Conditional
MI given the current character (analysis/describe/beyond.py) is the sum over the character's strata,
and its null shuffles within each stratum (each stratum's margins kept), so what the character
explains is never counted as beyond it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

DRAWS = 100               # shuffles per null
FIRST = 20                # ... of which these first: a statistic FAR_ABOVE times their largest stops there
FAR_ABOVE = 2.0
EXACT_BELOW = 12          # a hypergeometric draw is exact when its smallest count is below this (_hypergeometric)
LEVEL = 0.99              # a statistic must exceed this quantile of its null
LN2 = math.log(2.0)


def mm_mi_bits(tables: np.ndarray) -> np.ndarray:
    """Miller–Madow-corrected MI in bits of contingency tables [..., rows, cols] (0 for an empty table)."""
    return mm_cmi_bits(np.asarray(tables)[..., None, :, :])


def mm_cmi_bits(tables: np.ndarray) -> np.ndarray:
    """Miller–Madow-corrected conditional MI in bits of stratified tables [..., strata, rows, cols]: the
    strata's MI weighted by their share of the steps, each entropy corrected by (m − 1) / 2N."""
    t = np.asarray(tables, np.float64)
    n = t.sum(axis=(-3, -2, -1))
    n_s = t.sum(axis=(-2, -1), keepdims=True)
    rows, cols = t.sum(axis=-1, keepdims=True), t.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(t > 0, t * n_s / np.where(rows * cols > 0, rows * cols, 1.0), 1.0)
        plug_in = (t * np.log2(ratio)).sum(axis=(-3, -2, -1)) / np.where(n > 0, n, 1.0)
    m_rows, m_cols = (rows > 0).sum(axis=(-3, -2, -1)), (cols > 0).sum(axis=(-3, -2, -1))
    m_joint, m_strata = (t > 0).sum(axis=(-3, -2, -1)), (n_s > 0).sum(axis=(-3, -2, -1))
    correction = (m_rows + m_cols - m_joint - m_strata) / (2.0 * np.where(n > 0, n, 1.0) * LN2)
    return np.where(n > 0, plug_in + correction, 0.0)


def null_quantile(table: np.ndarray, draws: int = DRAWS, seed: int = 0, level: float = LEVEL,
                  stat: float | None = None) -> float:
    """The ``level`` quantile of the Miller–Madow (conditional) MI of ``table`` [rows, cols] or
    [strata, rows, cols] shuffled ``draws`` times within each stratum. Given the observed ``stat``, the
    first FIRST shuffles decide when it is FAR_ABOVE times their largest (most labels: a cell's MI with
    what it encodes is hundreds of times the null's): the quantile is then of those, which at 99% is
    about their largest -- the test is as decided, at a fifth of the cost."""
    first = null_draws(table, min(FIRST, draws), seed)
    if stat is not None and stat > FAR_ABOVE * max(first.max(), 0.0) and stat > 0:
        return float(np.quantile(first, level))
    rest = null_draws(table, draws - len(first), seed + 1_000_003) if draws > len(first) else np.zeros(0)
    return float(np.quantile(np.concatenate([first, rest]), level))


def null_draws(table: np.ndarray, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """[draws]: the Miller–Madow (conditional) MI in bits of shuffles of ``table``, each stratum's margins kept."""
    t = np.asarray(table, np.int64)
    if t.ndim == 2:
        t = t[None]
    # Only the strata with two or more rows and columns in use can change under a shuffle; the others
    # add nothing to MI and nothing to its correction.
    strata = []
    for s in t:
        s = s[s.sum(axis=1) > 0][:, s.sum(axis=0) > 0]
        if min(s.shape) >= 2:
            # Rows along the longer side, each spread over the shorter one, the largest first: a small
            # row (a rare character) is placed in a draw or two and the rest of it skipped.
            s = s if s.shape[0] >= s.shape[1] else s.T
            strata.append(s[:, np.argsort(-s.sum(axis=0), kind="stable")])
    out = np.zeros(draws)
    n = int(t.sum())
    if not strata or n == 0:
        return out
    rows = [s.sum(axis=1) for s in strata]
    cols = [s.sum(axis=0) for s in strata]
    r_off = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    c_off = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
    _shuffled_mi(np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64), r_off, c_off, n,
                 int(seed), out)
    return out


@njit(cache=True, nogil=True)
def _shuffled_mi(rows, cols, r_off, c_off, n, seed, out):
    """out[d]: the MM-corrected CMI (bits) of a random table per stratum with margins ``rows`` and
    ``cols`` (stratum s: rows[r_off[s]:r_off[s + 1]], its columns likewise). Each row is drawn column
    by column from what the columns have left: x ~ hypergeometric(left[k], rest of the pool, still
    to place), the last column taking what remains."""
    np.random.seed(seed)
    S = len(r_off) - 1
    for d in range(out.shape[0]):
        nats, corrections = 0.0, 0.0
        for s in range(S):
            r = rows[r_off[s]:r_off[s + 1]]
            c = cols[c_off[s]:c_off[s + 1]]
            left = c.copy()
            n_s = r.sum()
            pool = n_s                                   # what the columns still hold, all rows to come
            nonzero = 0
            for i in range(len(r)):
                need, rest = r[i], pool
                for k in range(len(c)):
                    if need == 0:
                        break
                    rest -= left[k]                      # what the columns after k hold
                    x = need if rest == 0 else _hypergeometric(left[k], rest, need) if left[k] > 0 else 0
                    if x > 0:
                        nonzero += 1
                        nats += x * math.log(x * n_s / (r[i] * c[k]))
                        left[k] -= x
                        need -= x
                pool -= r[i]
            corrections += len(r) + len(c) - nonzero - 1
        out[d] = (nats + corrections / 2.0) / n / LN2


@njit(cache=True, nogil=True)
def _hypergeometric(good, bad, n):
    """How many of ``n`` drawn without replacement from ``good`` + ``bad`` are good. Exact (one uniform
    per item of the smaller side) when that side is small; else a normal with the hypergeometric's
    mean and variance, rounded and kept inside its support -- a step loop over tens of thousands of
    items per draw would make a null cost seconds (numba's own sampler loops over the sample)."""
    total = good + bad
    small = min(n, total - n, good, bad)
    lo, hi = max(0, n - bad), min(n, good)
    if small < EXACT_BELOW:
        if min(good, bad) < min(n, total - n):
            good, n = n, good               # HG(good, bad, n) is HG(n, total - n, good): loop over the smaller
            bad = total - good
        # draw the smaller of the sample and its complement, one item at a time
        take = min(n, total - n)
        g, left, x = good, total, 0
        for _ in range(take):
            if np.random.random() * left < g:
                x += 1
                g -= 1
            left -= 1
        return x if take == n else good - x
    mean = n * good / total
    var = mean * (bad / total) * (total - n) / (total - 1)
    x = int(math.floor(mean + math.sqrt(var) * np.random.standard_normal() + 0.5))
    return min(max(x, lo), hi)
