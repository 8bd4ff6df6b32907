"""Cells ordered so that similar ones sit together: average-linkage
hierarchical clustering (scipy) on the correlation distance 1 - |r| between cells over the
states shown, leaves in scipy's optimal order. |r|, not r: a cell and its mirror image (+1 on
separators, -1 elsewhere, and the reverse) carry the same information and belong side by side.
A constant cell correlates 0 with every other."""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform


def correlation_matrix(values: np.ndarray) -> np.ndarray:
    """[H, H] Pearson r between the cells (columns) of ``values`` [T, H]; 0 for constant cells, 1 on the diagonal."""
    v = np.asarray(values, dtype=np.float64)
    v = v - v.mean(axis=0)
    norm = np.sqrt((v * v).sum(axis=0))
    live = norm > 1e-12
    r = np.zeros((v.shape[1], v.shape[1]))
    r[np.ix_(live, live)] = (v[:, live].T @ v[:, live]) / np.outer(norm[live], norm[live])
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def cluster_order(values: np.ndarray) -> np.ndarray:
    """Cell numbers in display order, similar cells adjacent."""
    H = values.shape[1]
    if H < 3:
        return np.arange(H)
    distance = 1.0 - np.abs(correlation_matrix(values))
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average", optimal_ordering=True)
    return leaves_list(tree)
