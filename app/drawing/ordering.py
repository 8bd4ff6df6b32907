"""The row orders: by index, by how strongly each cell tracks grammar depth, by cluster
(similar cells adjacent, analysis/describe/clustering.py), or by label score (how much of each cell its
best label explains, analysis/describe/labels.py, on held-out text read in context). NumPy and scipy only."""
from __future__ import annotations

import numpy as np

from rnnscope.analysis.describe.clustering import cluster_order
from rnnscope.analysis.describe.labels import pearson

ORDERS = ("index", "depth", "cluster", "label score")


def depth_correlation(values: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """[H] Pearson correlation of each cell ([T, H] values) with depth [T].
    A cell (or a depth) that never changes correlates 0, not NaN."""
    return pearson(np.asarray(values, dtype=np.float64).T, np.asarray(depth, dtype=np.float64))


def orders_for(has_depth: bool, has_heldout: bool) -> list[str]:
    """The orders that mean something for a model: depth only for a grammar model, label score
    only where there is held-out text to label the cells on."""
    return [o for o in ORDERS if (o != "depth" or has_depth) and (o != "label score" or has_heldout)]


def label_score_ranking(labels, n_cells: int) -> np.ndarray:
    """[H] cells, best first, by the share of the cell its best label explains (r\u00b2 or MI / entropy:
    one scale for every statistic); a cell with no label (constant) last; ties by index."""
    score = np.full(n_cells, -1.0)
    for lab in labels:
        if lab.best is not None:
            score[lab.cell] = lab.best.explained
    return np.lexsort((np.arange(n_cells), -score))


def depth_ranking(values: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """[H] cells, strongest |r| with depth first, ties by index."""
    return ranking_by_correlation(depth_correlation(values, depth))


def ranking_by_correlation(r: np.ndarray) -> np.ndarray:
    """[H] cells, strongest |r| first, ties by index (``r`` from depth_correlation: the page computes
    it once per frame and ranks from it, a 100k-character sequence pays one pass over its values)."""
    return np.lexsort((np.arange(len(r)), -np.abs(r)))


def cell_order(values: np.ndarray, depth: np.ndarray | None, how: str,
               label_rank: np.ndarray | None = None, depth_rank: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """True cell numbers in display order (first = top row), and '' -- or, when the order cannot
    apply here, the rows in index order and a note saying why (never a silent fall-back).
    ``depth``: strongest |r| first; ``cluster``: similar cells adjacent; ``label score``: the
    ranking ``label_rank`` (label_score_ranking), which is the model's, not this sequence's;
    ``depth_rank``: depth_ranking's answer when the caller has it already."""
    n = values.shape[1]
    if how == "index":
        return np.arange(n), ""
    if how == "cluster":
        return cluster_order(values), ""
    if how == "label score":
        if label_rank is None:
            return np.arange(n), "no label scores for this model (no held-out text): rows in index order"
        return np.asarray(label_rank), ""
    if how != "depth":
        raise ValueError(f"order must be one of {ORDERS}, got {how!r}")
    if depth is None or len(depth) < 2:
        return np.arange(n), "no grammar depth in this sequence: rows in index order"
    if np.ptp(depth) == 0:
        return np.arange(n), "depth is constant here: r is undefined, rows in index order"
    return (depth_ranking(values, depth) if depth_rank is None else np.asarray(depth_rank)), ""
