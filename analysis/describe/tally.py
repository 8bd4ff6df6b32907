"""The counts cell labels are made of, for every cell and every annotation in one compiled pass
(numba) over a view's values.

Per cell: how often its value falls in each of ``BINS`` equal-width bins over the view's range,
and its mean and spread; per (cell, annotation): the contingency table of (bin, annotation code),
the sum of the cell's values per code, and for a numeric annotation the sums Pearson's r is made
of. A numeric annotation's codes are its threshold groups (labels.threshold_groups). Steps where
an annotation has no value are left out of its counts only.

Why this shape: 1M characters x 15 cells x 8 annotations is 120M (bin, code) pairs a view.
Most steps share their whole combination of annotation codes with many others (the grammar
has a few thousand combinations), so each step is counted once, under its combination's id,
and each annotation's tables are then summed out of the combinations' tables -- a few thousand
rows, not a million. Text is the other way round: 100,000 characters of Python make ~66,000
combinations, whose tables ([J, H, BINS]: 680 MB for 128 cells) cost more to fill and sum than the
steps themselves; there each step is counted straight into each annotation's small table (one
pass, ``direct``). Which way is chosen by which touches fewer counts. The values are read once,
as they lie ([T, H] float32). Counts are exact; sums are float64 and agree with a plain NumPy sum
to rounding (~1e-12).

Given the current character (``given``), each annotation is also counted per (its code, the
character) pair present -- its *groups* -- for the conditional statistics of
analysis/describe/beyond.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from rnnscope.base.errors import RnnscopeError

from rnnscope.analysis.describe.annotations import Annotations

BINS = 10                 # equal-width bins of the cell's value over the view's range
CHUNK = 1_000_000         # steps read at a time (a store's states are never loaded whole)


@dataclass(frozen=True)
class Joint:
    """The annotations of one text as combinations: what labelling several views of it shares."""
    names: list[str]
    codes: list[np.ndarray]         # per annotation [T] int64: its code (-1: no value there)
    cuts: list[np.ndarray | None]   # per annotation: numeric, the lowest value of each threshold group
    sizes: list[int]                # per annotation: how many codes
    ids: np.ndarray                 # [T] int64: the id of each step's combination of codes
    table: np.ndarray               # [A, J] int64: annotation a's code in combination j (-1: none)
    counts: list[np.ndarray]        # per annotation [K] float64: steps per code
    numeric: np.ndarray             # [N] int64: which annotations are numeric
    values: np.ndarray              # [N, T] float64: their values (0 where missing)
    moments: np.ndarray             # [N, 3]: per numeric annotation the sum of its values, of their squares, and n
    given: str | None = None        # the annotation conditioned on (the current character), if counted
    groups: list[np.ndarray | None] | None = None   # per annotation [T]: its (code, given code) group (-1: none)
    pairs: list[np.ndarray | None] | None = None    # per annotation [G, 2]: each group's code and given code
    group_table: np.ndarray | None = None           # [A, J]: the group of combination j (-1: none)


@dataclass(frozen=True)
class Tally:
    """One annotation's counts against every cell."""
    tables: np.ndarray              # [H, BINS, K] int64: steps with the cell in bin b and the annotation at code k
    sums: np.ndarray                # [H, K] float64: the cell's values summed per code
    counts: np.ndarray              # [K] float64: steps per code
    cuts: np.ndarray | None = None  # numeric: the lowest value of each threshold group (the codes)
    r: np.ndarray | None = None     # numeric: [H] Pearson r of each cell with the annotation (0 where flat)


@dataclass(frozen=True)
class Given:
    """One annotation counted per (its code, the given annotation's code) pair present."""
    tables: np.ndarray              # [H, BINS, G] int64
    counts: np.ndarray              # [G] float64: steps per group
    pairs: np.ndarray               # [G, 2]: each group's code and given code


@dataclass(frozen=True)
class Tallies:
    hist: np.ndarray                # [H, BINS] int64: every step's bin, per cell
    mean: np.ndarray                # [H] float64
    std: np.ndarray                 # [H] float64 (population)
    by_annotation: dict[str, Tally]
    given: dict[str, Given] | None = None           # per annotation, its counts per (code, given code) group


def joint(annotations: Annotations, codes: dict[str, tuple[np.ndarray, np.ndarray | None]],
          given: str | None = None) -> Joint:
    """``codes``: per annotation name its codes [T] (-1: no value) and, numeric, its cuts; ``given``:
    an annotation (the current character) to count every other one's groups with."""
    anns = list(annotations)
    names = [a.name for a in anns]
    per = [np.asarray(codes[n][0], np.int64) for n in names]
    sizes = [len(codes[a.name][1]) if a.numeric else len(a.categories) for a in anns]
    T = len(per[0]) if per else 0
    ids, span = np.zeros(T, np.int64), 1
    for c, k in zip(per, sizes):
        if span * (k + 1) >= 2 ** 62:                          # renumber densely before the radix overflows
            _, ids = np.unique(ids, return_inverse=True)
            span = int(ids.max()) + 1
        ids, span = ids * (k + 1) + (c + 1), span * (k + 1)    # mixed radix; code -1 is digit 0
    present, ids = np.unique(ids, return_inverse=True)
    table = np.zeros((len(anns), len(present)), np.int64)
    first = np.zeros(len(present), np.int64)
    first[ids[::-1]] = np.arange(T)[::-1]                      # a step of each combination
    for a, c in enumerate(per):
        table[a] = c[first]
    numeric = np.asarray([k for k, a in enumerate(anns) if a.numeric], np.int64)
    values = (np.stack([np.nan_to_num(np.asarray(anns[k].values, np.float64)) for k in numeric]) if len(numeric)
              else np.zeros((0, T)))
    counts = [np.bincount(c[c >= 0], minlength=k).astype(np.float64) for c, k in zip(per, sizes)]
    moments = np.zeros((len(numeric), 3))
    for n, k in enumerate(numeric):
        x = values[n][per[k] >= 0]
        moments[n] = float(x.sum()), float(x @ x), len(x)
    groups = pairs = group_table = None
    if given is not None and given in names:
        g = per[names.index(given)]
        groups, pairs = [], []
        for name, c in zip(names, per):
            if name == given:
                groups.append(None)
                pairs.append(None)
                continue
            ok = (c >= 0) & (g >= 0)
            key = np.where(ok, c * (int(g.max()) + 1) + g, -1)
            present, inverse = np.unique(key[ok], return_inverse=True)
            grp = np.full(T, -1, np.int64)
            grp[ok] = inverse
            groups.append(grp)
            pairs.append(np.stack([present // (int(g.max()) + 1), present % (int(g.max()) + 1)], axis=1))
        group_table = np.stack([grp[first] if grp is not None else np.full(len(first), -1, np.int64)
                                for grp in groups])
    return Joint(names, per, [codes[n][1] for n in names], sizes, ids.astype(np.int64), table, counts, numeric,
                 values, moments, given if groups is not None else None, groups, pairs, group_table)


def tally(values, j: Joint, value_range: tuple[float, float], chunk: int = CHUNK,
          direct: bool | None = None) -> Tallies:
    """Every count of ``values`` [T, H] (a NumPy array, or a Zarr array of a state store: read
    ``chunk`` steps at a time, never whole) against the annotations of ``j``. The counts are
    accumulated step after step in the same order either way, so a chunked read gives exactly
    the in-memory result. ``direct``: count each step into each annotation's table (True) or
    under its combination (False); None: whichever touches fewer counts."""
    T, H = values.shape
    if T != len(j.ids):   # the compiled loop indexes by step and does not check bounds
        raise RnnscopeError(f"the values have {T:,} steps but the annotations {len(j.ids):,}; they must be of one text")
    J = j.table.shape[1]
    rows = len(j.names) + (sum(g is not None for g in j.groups) if j.groups else 0)
    if direct is None:
        # combinations: T x H counts, then rows x J x H x BINS to sum them; direct: rows x T x H counts
        direct = rows * J * BINS > (rows - 1) * T
    moments = np.zeros((len(j.numeric), H, 2))                 # per numeric annotation: sums of v * a, v^2
    spread = np.zeros((2, H))                                  # sum of v, sum of v^2
    low, high = value_range
    width = max(float(high) - float(low), 1e-12)
    hist = np.zeros((H, BINS), np.int64)
    if direct:
        sizes = j.sizes + ([len(p) for p in j.pairs if p is not None] if j.groups else [])
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        flat = np.zeros((int(offsets[-1]), H, BINS), np.int64)
        flat_sums = np.zeros((int(offsets[-1]), H))
        code_rows = [*j.codes, *([g for g in j.groups if g is not None] if j.groups else [])]
        numeric_rows = j.numeric
    else:
        tables = np.zeros((J, H, BINS), np.int64)
        sums = np.zeros((J, H))
    for lo in range(0, T, chunk):
        part = np.asarray(values[lo:lo + chunk])
        if part.dtype not in (np.float32, np.float64):
            part = part.astype(np.float64)
        part = np.ascontiguousarray(part)
        if direct:
            codes = np.stack([np.where(c[lo:lo + chunk] >= 0, c[lo:lo + chunk] + off, -1)
                              for c, off in zip(code_rows, offsets[:-1])])
            _count_direct(part, float(low), width, codes, len(j.names), numeric_rows, j.values[:, lo:lo + chunk],
                          flat, flat_sums, moments, spread, hist)
        else:
            _count(part, float(low), width, j.ids[lo:lo + chunk], j.table, j.numeric, j.values[:, lo:lo + chunk],
                   tables, sums, moments, spread)
    by_annotation, given = {}, ({} if j.groups else None)
    for a, name in enumerate(j.names):
        code, K = j.table[a], j.sizes[a]
        if direct:
            t, s = flat[offsets[a]:offsets[a + 1]], flat_sums[offsets[a]:offsets[a + 1]]
        else:
            # Sum the combinations' rows into this annotation's codes (a few thousand rows on the grammar).
            t, s = np.zeros((K, H, BINS), np.int64), np.zeros((K, H))
            _sum_rows_by_code(code, tables, sums, t, s)
        r = None
        if a in j.numeric:
            n = int(np.searchsorted(j.numeric, a))
            sa, saa, count = j.moments[n]
            sv = s.sum(axis=0)                                 # sum of v over the steps with a value
            r = _pearson(sv, moments[n, :, 1], moments[n, :, 0], sa, saa, int(count))
        by_annotation[name] = Tally(t.transpose(1, 2, 0), s.T, j.counts[a], j.cuts[a], r)
    if j.groups:
        row = len(j.names)
        for a, name in enumerate(j.names):
            pairs = j.pairs[a]
            if pairs is None:
                continue
            if direct:
                t = flat[offsets[row]:offsets[row + 1]]
                row += 1
            else:
                t = np.zeros((len(pairs), H, BINS), np.int64)
                _sum_rows_by_code(j.group_table[a], tables, sums, t, np.zeros((len(pairs), H)))
            counts = np.bincount(j.groups[a][j.groups[a] >= 0], minlength=len(pairs)).astype(np.float64)
            given[name] = Given(t.transpose(1, 2, 0), counts, pairs)
    if not direct:
        hist = tables.sum(axis=0)
    mean = spread[0] / T
    std = np.sqrt(np.maximum(spread[1] / T - mean * mean, 0.0))
    return Tallies(hist, mean, std, by_annotation, given)


def _pearson(sv, svv, sva, sa, saa, n):
    """r from sums, as labels.pearson computes it; 0 (not NaN) where either side never changes."""
    if n == 0:
        return np.zeros(len(sv))
    mv, ma = sv / n, sa / n
    cov = sva - n * mv * ma
    var_v, var_a = svv - n * mv * mv, saa - n * ma * ma
    denom = np.sqrt(np.maximum(var_v, 0) * max(var_a, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-12, cov / np.where(denom > 1e-12, denom, 1.0), 0.0)


@njit(cache=True, nogil=True)
def _count(values, low, width, ids, table, numeric, nums, tables, sums, moments, spread):
    """One pass over ``values`` [T, H] in memory order; see tally() for what each array counts.
    The bin is labels' floor((v - low) / width * BINS) clipped to 0 .. BINS-1, in the same float64
    operations, so a value on a bin edge lands where NumPy puts it."""
    T, H = values.shape
    N = numeric.shape[0]
    for t in range(T):
        j = ids[t]
        for h in range(H):
            v = np.float64(values[t, h])
            s = (v - low) / width * BINS
            b = int(math.floor(min(max(s, 0.0), BINS - 1.0)))
            tables[j, h, b] += 1
            sums[j, h] += v
            spread[0, h] += v
            spread[1, h] += v * v
        for n in range(N):
            if table[numeric[n], j] >= 0:
                x = nums[n, t]
                for h in range(H):
                    v = np.float64(values[t, h])
                    moments[n, h, 0] += v * x
                    moments[n, h, 1] += v * v


@njit(cache=True, nogil=True)
def _count_direct(values, low, width, codes, plain, numeric, nums, tables, sums, moments, spread, hist):
    """One pass over ``values`` [T, H]: each step's bins counted into row ``codes[r, t]`` of ``tables``
    for every code row r (-1: none) -- the annotations' codes, then their groups (``plain`` rows have
    sums) -- binned as _count bins them."""
    T, H = values.shape
    N = numeric.shape[0]
    bins = np.empty(H, np.int64)
    for t in range(T):
        for h in range(H):
            v = np.float64(values[t, h])
            s = (v - low) / width * BINS
            bins[h] = int(math.floor(min(max(s, 0.0), BINS - 1.0)))
            hist[h, bins[h]] += 1
            spread[0, h] += v
            spread[1, h] += v * v
        for r in range(codes.shape[0]):
            k = codes[r, t]
            if k < 0:
                continue
            for h in range(H):
                tables[k, h, bins[h]] += 1
            if r < plain:
                for h in range(H):
                    sums[k, h] += np.float64(values[t, h])
        for n in range(N):
            if codes[numeric[n], t] >= 0:
                x = nums[n, t]
                for h in range(H):
                    v = np.float64(values[t, h])
                    moments[n, h, 0] += v * x
                    moments[n, h, 1] += v * v


@njit(cache=True, nogil=True)
def _sum_rows_by_code(code, tables, sums, t, s):
    """Row j of ``tables`` / ``sums`` added into row code[j] of ``t`` / ``s`` (code -1: left out), rows
    in ascending j: the order np.add.at adds them in, so the float sums are the same to the last bit."""
    for j in range(code.shape[0]):
        k = code[j]
        if k < 0:
            continue
        t[k] += tables[j]
        s[k] += sums[j]
