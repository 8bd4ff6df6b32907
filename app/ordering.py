"""The row orders: by index, by how strongly each cell tracks grammar depth, or by cluster
(similar cells adjacent, analysis/clustering.py). NumPy and scipy only."""
from __future__ import annotations

import numpy as np

from analysis.clustering import cluster_order
from analysis.labels import pearson

ORDERS = ("index", "depth", "cluster")


def depth_correlation(values: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """[H] Pearson correlation of each cell ([T, H] values) with depth [T].
    A cell (or a depth) that never changes correlates 0, not NaN."""
    return pearson(np.asarray(values, dtype=np.float64).T, np.asarray(depth, dtype=np.float64))


def cell_order(values: np.ndarray, depth: np.ndarray | None, how: str) -> np.ndarray:
    """True cell numbers in display order (first = top row). ``depth``: strongest |r| first,
    ties by index; falls back to index order when there is no depth to compare with.
    ``cluster``: similar cells adjacent."""
    n = values.shape[1]
    if how == "cluster":
        return cluster_order(values)
    if how == "index" or depth is None or len(depth) < 2:
        return np.arange(n)
    if how != "depth":
        raise ValueError(f"order must be one of {ORDERS}, got {how!r}")
    r = np.abs(depth_correlation(values, depth))
    return np.lexsort((np.arange(n), -r))
