"""The linearisation of the update at a fixed point s*: near it, s_{t+1} - s* ~ J (s_t - s*) with J the
Jacobian dF/ds (Sussillo & Barak 2013). Each eigenvalue lambda of J is a mode: |lambda| < 1 decays,
|lambda| > 1 grows, and a point all of whose modes decay is stable (an attractor). A decaying mode
loses a factor e in tau = -1 / ln|lambda| steps (its time constant): the slowest mode says how long the
network remembers a push off the point. A growing mode's -1 / ln|lambda| is negative: minus its e-folding
time. |lambda| = 1 exactly has no time constant (None in JSON: it neither decays nor grows); a point whose
largest |lambda| is 1 and none above is marginal (in a saturated GRU, an update gate of exactly 1.0 holds a
cell where it is)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARGINAL = 1e-9        # | |lambda| - 1 | below this: neither decaying nor growing, to float precision


@dataclass(frozen=True)
class Linearisation:
    eigenvalues: np.ndarray          # [D] complex, largest |lambda| first

    @property
    def moduli(self) -> np.ndarray:
        return np.abs(self.eigenvalues)

    @property
    def largest_modulus(self) -> float:
        return float(self.moduli[0])

    @property
    def unstable_modes(self) -> int:
        """How many modes grow (|lambda| > 1)."""
        return int((self.moduli > 1 + MARGINAL).sum())

    @property
    def stable(self) -> bool:
        """Every mode decays: |lambda| < 1 for all."""
        return bool(self.largest_modulus < 1 - MARGINAL)

    @property
    def stability(self) -> str:
        """"stable" (every |lambda| < 1), "unstable" (some |lambda| > 1) or "marginal" (the largest is 1 to float
        precision: a saturated gate holding a cell exactly, a line of fixed points)."""
        return "stable" if self.stable else "unstable" if self.unstable_modes else "marginal"

    @property
    def time_constants(self) -> list[float | None]:
        """-1 / ln|lambda| per mode, in steps (characters); 0 for lambda = 0; None where |lambda| = 1."""
        return [time_constant(m) for m in self.moduli]

    @property
    def slowest_time_constant(self) -> float | None:
        """The longest time constant among the decaying modes (None when none decays)."""
        decaying = self.moduli[self.moduli < 1 - MARGINAL]
        return time_constant(decaying.max()) if decaying.size else None

    def to_dict(self, digits: int = 9) -> dict:   # 9: a saturated gate's 1 - 2e-7 must not read as 1
        taus = self.time_constants
        return {"stability": self.stability, "stable": self.stable, "unstable_modes": self.unstable_modes,
                "largest_abs_eigenvalue": round(self.largest_modulus, digits),
                "slowest_time_constant": None if self.slowest_time_constant is None
                else round(self.slowest_time_constant, 4),
                "eigenvalues": [{"re": round(float(v.real), digits), "im": round(float(v.imag), digits),
                                 "abs": round(float(abs(v)), digits),
                                 "time_constant": None if t is None else round(t, 4)}
                                for v, t in zip(self.eigenvalues, taus)]}


def time_constant(modulus: float) -> float | None:
    if abs(modulus - 1) <= MARGINAL:
        return None
    if modulus == 0:
        return 0.0
    return float(-1.0 / np.log(modulus))


def linearise(jacobian: np.ndarray) -> Linearisation:
    """The eigenvalues of one Jacobian [D, D] (NumPy's LAPACK eig), largest modulus first (ties: by angle,
    so that a conjugate pair is listed + then -)."""
    eig = np.linalg.eigvals(np.asarray(jacobian, np.float64))
    order = np.lexsort((-eig.imag, -np.abs(eig)))
    return Linearisation(eig[order])
