"""Where the dynamics happen, drawn small: a PCA (scikit-learn) fitted on states read in context on held-out
data, onto which anything else of the same layout is projected -- a shown sequence's trajectory, the
fixed points. Fitted on the stream, not on the fixed points or the trajectory, so that the axes mean the
same whatever is shown on them, and a fixed point far off the cloud is visibly far from where the network
lives. Plain NumPy in and out; the drawing is analysis/dynamics/report.py's (and a page's)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from rnnscope.base.errors import RnnscopeError

DIMS = (2, 3)


@dataclass(frozen=True)
class Projection:
    """A fitted PCA: ``mean`` [D], ``components`` [dims, D] (rows orthonormal), ``explained`` [dims] (the
    share of the held-out states' variance along each axis), ``fitted_on`` (how many states)."""
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    fitted_on: int

    @property
    def dims(self) -> int:
        return len(self.components)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        """[N, dims]: ``states`` [N, D] (or one state [D]) on the axes."""
        states = np.asarray(states, np.float64)
        if states.shape[-1] != self.mean.shape[0]:
            raise RnnscopeError(f"states of {states.shape[-1]} numbers cannot go on a projection fitted on "
                                f"{self.mean.shape[0]}")
        return (states - self.mean) @ self.components.T

    def axis_names(self) -> list[str]:
        """"PC1 (43.1% of variance)" ..."""
        return [f"PC{k + 1} ({100 * e:.1f}% of variance)" for k, e in enumerate(self.explained)]

    def to_dict(self) -> dict:
        return {"dims": self.dims, "fitted_on": self.fitted_on,
                "explained_variance_ratio": [round(float(e), 6) for e in self.explained],
                "mean": [round(float(v), 6) for v in self.mean],
                "components": [[round(float(v), 6) for v in row] for row in self.components]}


def fit_projection(states: np.ndarray, dims: int = 2) -> Projection:
    """The PCA of ``states`` [T, D] (held-out states read in context), with ``dims`` axes (2 or 3)."""
    states = np.asarray(states, np.float64)
    if dims not in DIMS:
        raise RnnscopeError(f"a projection has 2 or 3 dimensions, got {dims}")
    if states.ndim != 2 or len(states) <= dims or states.shape[1] < dims:
        raise RnnscopeError(f"a {dims}-D projection needs more than {dims} states of at least {dims} numbers, "
                            f"got shape {states.shape}")
    pca = PCA(n_components=dims, svd_solver="full").fit(states)
    return Projection(pca.mean_, pca.components_, pca.explained_variance_ratio_, len(states))


def nearest(points: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``points`` [P, D], the row of ``states`` [T, D] closest to it (Euclidean) and the distance:
    where in the held-out stream the network comes nearest a fixed point."""
    points, states = np.atleast_2d(np.asarray(points, np.float64)), np.asarray(states, np.float64)
    rows, dist = np.zeros(len(points), int), np.zeros(len(points))
    sq = (states * states).sum(axis=1)
    for k, p in enumerate(points):               # one point at a time: memory T, not P x T
        d2 = sq - 2 * states @ p + p @ p
        rows[k] = int(np.argmin(d2))
        dist[k] = float(np.sqrt(max(d2[rows[k]], 0.0)))
    return rows, dist
