"""Pattern select and match (LSTMVis, Strobelt et al. 2017; docs/methods.md, Match).

Select: a span [start, end] of a sequence and a threshold. Its *on-cells* are the cells above
the threshold at every step of the span and not above it just before and just after (LSTMVis's
definition: the cells that switch on for exactly this span).

Match: every span of the corpus where all the on-cells are above the threshold, as maximal runs
of steps. A run is ranked by how cleanly it shows the same pattern: first the fewest *other*
cells that are also on throughout it (the selection's off-cells should stay off), then the
closest length to the selection, then position. One pass over the corpus, chunk by chunk (a
Zarr array is never loaded whole), with no cap on its length (LSTMVis's fast mode scans only
the first 500,000 steps); the scan is a compiled loop (numba) that reads each step once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from rnnscope.base.errors import RnnscopeError

SCAN_CHUNK = 1_000_000


@dataclass(frozen=True)
class Match:
    start: int
    end: int                  # inclusive
    extra_on: int             # cells outside the selection also on throughout the run
    length_gap: int           # |run length - selection length|

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "extra_on": self.extra_on, "length_gap": self.length_gap}


def on_cells(values: np.ndarray, start: int, end: int, threshold: float) -> np.ndarray:
    """Cells of ``values`` [T, H] above ``threshold`` throughout [start, end] and not just outside it."""
    T = len(values)
    if not 0 <= start <= end < T:
        raise RnnscopeError(f"the span {start} .. {end} is not inside the sequence (0 .. {T - 1})")
    on = (values[start:end + 1] > threshold).all(axis=0)
    if start > 0:
        on &= values[start - 1] <= threshold
    if end + 1 < T:
        on &= values[end + 1] <= threshold
    return np.flatnonzero(on)


def match(corpus, cells: np.ndarray | list[int], threshold: float, length: int, top: int = 20,
          chunk: int = SCAN_CHUNK) -> list[Match]:
    """The ``top`` best runs of ``corpus`` ([N, H]: a NumPy or Zarr array) where every cell of
    ``cells`` is above ``threshold``; ``length``: the selection's, for ranking."""
    cells = np.asarray(cells, dtype=np.int64)
    if len(cells) == 0:
        raise RnnscopeError("the selection has no on-cells at this threshold: nothing to match "
                            "(select another span or lower the threshold)")
    N, H = corpus.shape
    if cells.min() < 0 or cells.max() >= H:
        raise RnnscopeError(f"cells must be 0 .. {H - 1}")
    other = np.ones(H, np.uint8)
    other[cells] = 0
    best = np.zeros((max(top, 0), 4), np.int64)               # rows: extra_on, length_gap, start, end; best first
    kept = np.zeros(1, np.int64)                               # how many rows of best are filled
    run = np.array([-1], np.int64)                             # the start of a run still going at a chunk's end
    together = np.zeros(H, np.uint8)                           # ... and its cells on throughout it so far
    for lo in range(0, N, chunk):
        values = np.ascontiguousarray(corpus[lo:lo + chunk])
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        _runs(values, cells, other, float(threshold), lo, lo + len(values) == N, int(length), run, together, best, kept)
    return [Match(int(s), int(e) - 1, int(x), int(g)) for x, g, s, e in best[:kept[0]]]


@njit(cache=True, nogil=True)
def _runs(values, cells, other, threshold, offset, last, length, run, together, best, kept):
    """The runs of one chunk (``offset``: its first step) where every cell of ``cells`` is above
    ``threshold``, each offered to ``best``. A run still going at the chunk's end is carried in
    ``run``/``together`` into the next chunk (and closed here when the chunk is the ``last``).
    A step outside every run costs the first selected cell found off; inside a run every cell is
    checked for staying on, without a branch (``together`` is 0/1 bytes)."""
    n, H = values.shape
    for t in range(n):
        inside = True
        for c in cells:
            if not values[t, c] > threshold:
                inside = False
                break
        if inside:
            if run[0] < 0:
                run[0] = offset + t
                together[:] = 1
            for h in range(H):
                together[h] &= np.uint8(values[t, h] > threshold)
        elif run[0] >= 0:
            _close(run, together, other, offset + t, length, best, kept)
    if last and run[0] >= 0:
        _close(run, together, other, offset + n, length, best, kept)


@njit(cache=True, nogil=True)
def _close(run, together, other, end, length, best, kept):
    """Offer the open run, ending before step ``end``, to ``best`` (kept sorted, best first: fewest
    extra on-cells, then closest length, then earliest); no run is open after it."""
    extra = 0
    for h in range(len(other)):
        extra += other[h] & together[h]
    row = (extra, abs(end - run[0] - length), run[0], end)
    run[0] = -1
    top, k = len(best), kept[0]
    if k == top and (top == 0 or not _before(row, best[top - 1])):
        return
    i = min(k, top - 1)                                        # insert, dropping the last when full
    while i > 0 and _before(row, best[i - 1]):
        best[i] = best[i - 1]
        i -= 1
    best[i, 0], best[i, 1], best[i, 2], best[i, 3] = row
    kept[0] = min(k + 1, top)


@njit(cache=True, nogil=True)
def _before(row, other):
    for k in range(3):                                         # starts differ: never a tie
        if row[k] != other[k]:
            return row[k] < other[k]
    return False
