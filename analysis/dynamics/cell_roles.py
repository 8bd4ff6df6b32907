"""What one entry of the state (a cell's h, or an LSTM cell's c) does in the network's dynamics: how much of the
projection's plane it spans, where it sits at each fixed point, and how much of the slowest mode there it
carries (the direction along which a push off the point decays slowest: what the network remembers longest).

Both shares are squares of unit vectors' entries, so they sum to 1 over the state and each has the same plain
baseline: 1/D for a state of D numbers, an entry with no special part.
"""
from __future__ import annotations

import numpy as np

from rnnscope.analysis.dynamics.projection import Projection


def plane_shares(projection: Projection) -> np.ndarray:
    """[D] each entry's share of the projection's axes: its squared loading, averaged over the axes (the axes
    are unit vectors, so the shares sum to 1)."""
    return (projection.components ** 2).mean(axis=0)


def slowest_mode(jacobian: np.ndarray) -> tuple[complex, np.ndarray]:
    """(the eigenvalue of largest |lambda|, [D] each entry's share of its eigenvector: |v_i|² with ‖v‖ = 1) of
    one Jacobian [D, D] at a fixed point. A complex pair shares its moduli, so either one gives the same shares."""
    values, vectors = np.linalg.eig(np.asarray(jacobian, np.float64))
    k = int(np.argmax(np.abs(values)))
    v = vectors[:, k]
    return complex(values[k]), np.abs(v) ** 2 / float((np.abs(v) ** 2).sum())


def ranked(shares: np.ndarray) -> np.ndarray:
    """Entries by share, largest first (ties by position)."""
    return np.lexsort((np.arange(len(shares)), -np.asarray(shares)))
