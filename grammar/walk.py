"""The generator's depth walk, compiled (numba): one token per uniform draw, in order.

generate.py draws the uniforms and builds the per-depth tables; this loop turns them into tokens.
A walk is inherently sequential (each token's options depend on the depth the previous ones left),
so NumPy could only vectorise it by simulating every block of the stream from every possible depth
and chaining the blocks after, about (max_depth + 1) x the work and a temporary array per position;
a training epoch makes hundreds of streams, and that was a tenth of a training run. Compiled, a
token is a few comparisons. Imported on first use, so ``import rnnscope.grammar`` stays light;
``cache=True``: compiled once per machine into __pycache__ (a fresh checkout's first stream pays it).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def walk(u: np.ndarray, cum: np.ndarray, code: np.ndarray, step: np.ndarray, start_depth: int,
         out: np.ndarray) -> None:
    """out[i] = the token drawn by u[i] at the depth the walk is at. The option is the number of the
    depth's cumulative thresholds at or below u[i]: each row of ``cum`` never decreases and ends
    above 1, so that is the first threshold above u[i]."""
    d = start_depth
    for i in range(out.shape[0]):
        k = 0
        while u[i] >= cum[d, k]:
            k += 1
        out[i] = code[d, k]
        d += step[d, k]
