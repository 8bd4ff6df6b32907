"""Pattern select and match (LSTMVis, Strobelt et al. 2017; issue 7 item 7).

Select: a span [start, end] of a sequence and a threshold. Its *on-cells* are the cells above
the threshold at every step of the span and not above it just before and just after (LSTMVis's
definition: the cells that switch on for exactly this span).

Match: every span of the corpus where all the on-cells are above the threshold, as maximal runs
of steps. A run is ranked by how cleanly it shows the same pattern: first the fewest *other*
cells that are also on throughout it (the selection's off-cells should stay off), then the
closest length to the selection, then position. One vectorised pass over the corpus, chunk by
chunk (a Zarr array is never loaded whole), with no cap on its length (LSTMVis's fast mode
scans only the first 500,000 steps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import RnnscopeError

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
    others = np.setdiff1d(np.arange(H), cells)
    best = np.zeros((0, 4), dtype=np.int64)                    # rows: extra_on, length_gap, start, end
    open_start, open_on = None, None                           # a run still going at a chunk's end
    for lo in range(0, N, chunk):
        values = np.asarray(corpus[lo:lo + chunk])
        n = len(values)
        inside = (values[:, cells] > threshold).all(axis=1)    # the selection's cells only: cheap
        edges = np.diff(np.concatenate([[0], inside.view(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)      # runs [s, e)
        if len(starts) == 0:
            if open_start is not None:                          # the open run ended at this chunk's start
                best = _keep(best, _rows([open_start], [lo], open_on[None], others, length), top)
                open_start = None
            continue
        # Every cell is compared only on the steps inside runs, where the runs lie end to end: a
        # cell is on throughout a run when its running count of on-steps grows by the run's length.
        counts = np.zeros((int(inside.sum()) + 1, values.shape[1]), np.int32)
        np.cumsum(values[inside] > threshold, axis=0, out=counts[1:])
        bounds = np.concatenate([[0], np.cumsum(ends - starts)])
        together = (counts[bounds[1:]] - counts[bounds[:-1]]) == (ends - starts)[:, None]
        if open_start is not None:
            if starts[0] == 0:                                  # the open run goes on into this chunk
                together[0] &= open_on
                starts = starts.copy()
                starts[0] = open_start - lo
            else:
                best = _keep(best, _rows([open_start], [lo], open_on[None], others, length), top)
            open_start = None
        closed = ends < n if lo + n < N else np.ones(len(ends), bool)
        if not closed[-1]:                                      # carry the last run into the next chunk
            open_start, open_on = lo + starts[-1], together[-1]
        best = _keep(best, _rows(lo + starts[closed], lo + ends[closed], together[closed], others, length), top)
    if open_start is not None:
        best = _keep(best, _rows([open_start], [N], open_on[None], others, length), top)
    return [Match(int(s), int(e) - 1, int(x), int(g)) for x, g, s, e in best]


def _rows(starts, ends, together: np.ndarray, others: np.ndarray, length: int) -> np.ndarray:
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    extra = together[:, others].sum(axis=1) if len(others) else np.zeros(len(starts), np.int64)
    return np.stack([extra, np.abs(ends - starts - length), starts, ends], axis=1)


def _keep(best: np.ndarray, new: np.ndarray, top: int) -> np.ndarray:
    rows = np.concatenate([best, new])
    order = np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order[:top]]
