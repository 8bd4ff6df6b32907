"""Fixed points and slow points of the update for each input character (Sussillo & Barak 2013; Golub &
Sussillo's FixedPointFinder): with the character x held fixed, minimise q(s) = 1/2 ||F(s, x) - s||^2 from
many starting states, keep the minima whose q is below a tolerance, merge those that landed on the same
point, and linearise each (analysis/dynamics/linearise.py).

The minimiser is Levenberg-Marquardt, batched over all starts: q is a sum of squares of the residual
r(s) = F(s) - s, whose Jacobian J_F - I the linearisation needs anyway, so each step solves
(J_r^T J_r + mu I) delta = -J_r^T r. Near a true fixed point that is Newton's method (the residual falls
quadratically to ~1e-15, far below any tolerance); far from one, a large damping mu makes it gradient
descent on q, so starts that find no fixed point come to rest at a local minimum of q with q > 0: a slow
point, where the network moves, but slowly. Each start has its own damping, so one slow start never holds
back the others (a single L-BFGS over the sum of all starts' q would share one step length). Every step is
projected into the bounds the caller gives (where one step of the network can put the state).

This module is plain NumPy: ``update`` is anything with ``step(states, char)`` and ``jacobian(states, char)``
(models/reading/update.py's Update runs the network; the tests also pass a linear map).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnscope.analysis.dynamics.linearise import Linearisation, linearise
from rnnscope.base.errors import RnnscopeError


# A start whose q fell by under 10% in 10 iterations is taken to be at rest: Newton near a fixed point divides q
# by orders of magnitude a step, so only slides along a nearly flat q stop here (on the shipped GRU this finds
# the same exact fixed points as a 1% rule, in two thirds of the time).
STALL_ITERATIONS, STALL_DROP = 10, 0.1
EXACT_Q = 1e-24             # q this low: Newton converged to float64 precision (an isolated fixed point)


@dataclass(frozen=True)
class Options:
    q_tol: float = 1e-12        # q at most this: a fixed point (||F(s) - s|| <= 1.4e-6)
    slow_q: float = 1e-6        # a resting point with q_tol < q <= slow_q: a slow point (moves <= 1.4e-3 a step)
    dedupe_tol: float = 1e-3    # two points closer than this (Euclidean) are one
    max_iter: int = 200         # Levenberg-Marquardt iterations per start at most

    def __post_init__(self):
        if not 0 < self.q_tol < self.slow_q:
            raise RnnscopeError(f"need 0 < q tolerance < slow-point q, got {self.q_tol:g} and {self.slow_q:g}")
        if not self.dedupe_tol > 0 or self.max_iter < 1:
            raise RnnscopeError("the dedupe distance must be positive and the iterations at least 1")


@dataclass(frozen=True)
class FixedPoint:
    char: str
    kind: str                          # "fixed" (q <= q_tol) or "slow" (q_tol < q <= slow_q)
    state: np.ndarray                  # [D] the flat state (models/reading/update.py's layout)
    q: float                           # 1/2 ||F(s) - s||^2 there
    starts: int                        # how many starts came to rest here
    linear: Linearisation

    def to_dict(self) -> dict:
        return {"char": self.char, "kind": self.kind, "q": float(f"{self.q:.3g}"),
                "speed": float(f"{np.sqrt(2 * self.q):.3g}"), "starts": self.starts,
                **self.linear.to_dict(), "state": [round(float(v), 6) for v in self.state]}


@dataclass(frozen=True)
class CharResult:
    """What the search found for one input character."""
    char: str
    points: list[FixedPoint]           # fixed points, then slow points; each lowest q first
    starts: int                        # starts tried
    neither: int                       # starts that rested at q > slow_q (neither kind)
    iterations: int                    # Levenberg-Marquardt iterations run (the slowest start's)

    @property
    def fixed(self) -> list[FixedPoint]:
        return [p for p in self.points if p.kind == "fixed"]

    @property
    def slow(self) -> list[FixedPoint]:
        return [p for p in self.points if p.kind == "slow"]


def find_fixed_points(update, chars: list[str], starts: np.ndarray, options: Options = Options(),
                      bounds: tuple[np.ndarray, np.ndarray] | None = None) -> list[CharResult]:
    """For each character of ``chars``, the fixed and slow points reached from every row of ``starts`` [N, D],
    searched within ``bounds`` (low [D], high [D]; None: everywhere)."""
    starts = np.asarray(starts, np.float64)
    if starts.ndim != 2 or len(starts) == 0:
        raise RnnscopeError(f"starting states must be a non-empty [N, D] array, got shape {starts.shape}")
    low, high = (np.full(starts.shape[1], -np.inf), np.full(starts.shape[1], np.inf)) if bounds is None else bounds
    starts = np.clip(starts, low, high)
    return [search(update, char, starts, options, (low, high)) for char in chars]


def search(update, char: str, starts: np.ndarray, options: Options, bounds) -> CharResult:
    states, q, iterations = minimise(update, char, starts, options.max_iter, bounds)
    # One dedupe over every resting point with q <= slow_q, lowest q first: a start that stalled next to a
    # fixed point is that fixed point reached imprecisely, not a slow point of its own.
    idx = np.flatnonzero(q <= options.slow_q)
    groups = dedupe(states[idx], q[idx], options.dedupe_tol)
    points = []
    if groups:
        reps = np.array([idx[g[0]] for g in groups])
        _, jacobians = update.jacobian(states[reps], char)
        points = [FixedPoint(char, "fixed" if q[r] <= options.q_tol else "slow", states[r], float(q[r]), len(g),
                             linearise(j)) for r, g, j in zip(reps, groups, jacobians)]
    return CharResult(char, points, len(starts), int((q > options.slow_q).sum()), iterations)


def minimise(update, char: str, starts: np.ndarray, max_iter: int, bounds) -> tuple[np.ndarray, np.ndarray, int]:
    """Batched Levenberg-Marquardt on q from every start, each step projected into ``bounds`` (low, high):
    (resting states [N, D], their q [N], iterations)."""
    s = starts.copy()
    n, D = s.shape
    f, jac = update.jacobian(s, char)
    r = f - s
    q = 0.5 * (r * r).sum(axis=1)
    mu = np.full(n, 1e-3)
    eye = np.eye(D)
    active = np.ones(n, bool)
    checkpoint = q.copy()
    it = 0
    for it in range(1, max_iter + 1):
        a = np.flatnonzero(active)
        if a.size == 0:
            it -= 1
            break
        jr = jac[a] - eye                                       # Jacobian of the residual F(s) - s
        jrt = jr.transpose(0, 2, 1)
        grad = (jrt @ r[a][..., None])[..., 0]                  # of q: J_r^T r
        lhs = jrt @ jr + mu[a, None, None] * eye
        delta = -np.linalg.solve(lhs, grad[..., None])[..., 0]
        trial = np.clip(s[a] + delta, *bounds)
        r_trial = update.step(trial, char) - trial
        q_trial = 0.5 * (r_trial * r_trial).sum(axis=1)
        better = np.isfinite(q_trial) & (q_trial < q[a])
        won, lost = a[better], a[~better]
        # Converged: q at float64's floor, or an accepted step that no longer changes q (a local minimum)
        done = won[(q_trial[better] < EXACT_Q * 1e-2) | (q[won] - q_trial[better] <= 1e-14 * q[won])]
        s[won], q[won], r[won] = trial[better], q_trial[better], r_trial[better]
        mu[won] = np.maximum(mu[won] / 3, 1e-30)
        mu[lost] *= 4
        active[done] = False
        active[lost[mu[lost] > 1e12]] = False                   # no step, however short, lowers q: at rest
        if won.size:
            _, jac[won] = update.jacobian(s[won], char)
        if it % STALL_ITERATIONS == 0:
            active &= q < (1 - STALL_DROP) * checkpoint
            checkpoint = q.copy()
    return s, q, it


def dedupe(states: np.ndarray, q: np.ndarray, tol: float) -> list[list[int]]:
    """Groups of rows of ``states`` within ``tol`` of their group's first member (the lowest q), lowest q
    first: each group is one point reached from several starts."""
    groups: list[list[int]] = []
    reps: list[np.ndarray] = []
    for i in np.argsort(q, kind="stable"):
        if reps:
            d = np.linalg.norm(np.asarray(reps) - states[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol:
                groups[j].append(int(i))
                continue
        groups.append([int(i)])
        reps.append(states[i])
    return groups


@dataclass(frozen=True)
class Starts:
    """The starting states: ``states`` [N, D], the first ``in_context`` of them read in context."""
    states: np.ndarray
    in_context: int
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))   # their positions in the held-out stream


def starting_states(heldout: np.ndarray, n: int, random: int, seed: int = 0) -> Starts:
    """``n`` states drawn without replacement from ``heldout`` [T, D] (states read in context), then ``random``
    uniform draws from the box the held-out states span per dimension (for what the stream never visits)."""
    rng = np.random.default_rng(seed)
    heldout = np.asarray(heldout, np.float64)
    if n < 0 or random < 0 or n + random == 0:
        raise RnnscopeError(f"need at least one starting state, got {n} in context and {random} random")
    rows = np.sort(rng.choice(len(heldout), size=min(n, len(heldout)), replace=False))
    low, high = heldout.min(axis=0), heldout.max(axis=0)
    box = rng.uniform(low, high, size=(random, heldout.shape[1]))
    return Starts(np.concatenate([heldout[rows], box]), len(rows), rows)
