"""Compare two models cell by cell: which cell of model B carries what a cell
of model A carries? Both read the same text; every pair of cells gets a Pearson r over it, and
an optimal one-to-one assignment (scipy's linear_sum_assignment, the Hungarian method) pairs
them so that the total |r| is largest. |r|, not r: a cell and its mirror image (+1 where the
other is -1) carry the same information, so the sign is reported, not held against the pair.
With different sizes, min(Ha, Hb) pairs are made and the rest of the larger model is listed
as unmatched. A constant cell correlates with nothing: its r is undefined (NaN), it costs the
assignment nothing, and its pair says "n/a"."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from rnnscope.base.errors import RnnscopeError


@dataclass(frozen=True)
class CellPair:
    a: int
    b: int
    r: float            # Pearson r over the shared text (NaN: one of the two never changes)

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "r": None if np.isnan(self.r) else round(float(self.r), 4)}


@dataclass(frozen=True)
class Comparison:
    pairs: list[CellPair]          # best |r| first
    unmatched_a: list[int]
    unmatched_b: list[int]
    r: np.ndarray                  # [Ha, Hb] every pair's r (NaN where undefined)
    steps: int                     # characters the r are taken over

    @property
    def mean_abs_r(self) -> float:
        """Mean |r| over the matched pairs whose r is defined (NaN if none is)."""
        defined = [abs(p.r) for p in self.pairs if not np.isnan(p.r)]
        return float(np.mean(defined)) if defined else float("nan")

    def to_dict(self) -> dict:
        return {"statistic": "Pearson r over the shared text; pairs by an optimal assignment on |r|",
                "steps": self.steps, "mean_abs_r": round(self.mean_abs_r, 4),
                "pairs": [p.to_dict() for p in self.pairs],
                "unmatched_a": self.unmatched_a, "unmatched_b": self.unmatched_b}


def cross_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[Ha, Hb] Pearson r between each cell (column) of ``a`` [T, Ha] and each of ``b`` [T, Hb];
    NaN where either cell is constant over the T steps."""
    a, b = (np.asarray(x, dtype=np.float64) for x in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise RnnscopeError(f"both models' states must cover the same steps; got {a.shape} and {b.shape}")
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    na, nb = np.sqrt((a * a).sum(axis=0)), np.sqrt((b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a.T @ b) / np.outer(na, nb)
    r[(na <= 1e-12)[:, None] | (nb <= 1e-12)[None, :]] = np.nan
    return r


def match_cells(a: np.ndarray, b: np.ndarray) -> Comparison:
    """Pair the cells of ``a`` [T, Ha] with those of ``b`` [T, Hb] one to one, largest total |r|."""
    if len(a) < 2:
        raise RnnscopeError(f"a correlation needs at least 2 steps; the text has {len(a)}")
    r = cross_correlation(a, b)
    rows, cols = linear_sum_assignment(np.nan_to_num(np.abs(r), nan=0.0), maximize=True)
    pairs = [CellPair(int(i), int(j), float(r[i, j])) for i, j in zip(rows, cols)]
    pairs.sort(key=lambda p: (-(abs(p.r) if not np.isnan(p.r) else -1.0), p.a))
    return Comparison(pairs, sorted(set(range(r.shape[0])) - set(rows.tolist())),
                      sorted(set(range(r.shape[1])) - set(cols.tolist())), r, len(a))


def check_readable(model, text: str, name: str) -> None:
    """One clear line when ``model`` cannot read ``text`` (characters outside its vocabulary)."""
    unknown = model.vocab.unknown(text)
    if unknown:
        chars = sorted({c for _, c in unknown})
        shown = ", ".join(repr(c) for c in chars[:10]) + (" ..." if len(chars) > 10 else "")
        raise RnnscopeError(f"{name} cannot read the text: {len(unknown):,} characters ({shown}, first at "
                            f"position {unknown[0][0]:,}) are not in its vocabulary {''.join(model.vocab.chars)!r}")


def compare_models(model_a, model_b, text: str, view: str = "h", layer_a: int = 0, layer_b: int = 0,
                   names: tuple[str, str] = ("model A", "model B")) -> Comparison:
    """Both models read ``text`` from the zero state (a held-out stream from its start is read in
    context); their cells of one view and layer are paired by ``match_cells``."""
    from rnnscope.models.reading.tracer import trace
    states = []
    for model, layer, name in ((model_a, layer_a, names[0]), (model_b, layer_b, names[1])):
        check_readable(model, text, name)
        if not 0 <= layer < model.config.num_layers:
            raise RnnscopeError(f"{name} has layers 0 .. {model.config.num_layers - 1}; got layer {layer}")
        tr = trace(model, text)
        if view not in tr.views:
            raise RnnscopeError(f"{name} has no view {view!r}; its views are {list(tr.views)}")
        states.append(tr.values(view, layer))
    return match_cells(*states)
