"""Cell labels: what each cell's value goes with, said in one line with its strength.

For one cell's values over a held-out stream read in context, every annotation is a candidate
explanation, scored by how much of the cell it accounts for:

- numeric annotations (depth ...): Pearson r, explaining r^2 of the cell's variance; and
  threshold rules ("-1 when depth >= 4, +1 below"), scored like categories below;
- categorical annotations (next char ...): mutual information in bits between the annotation
  and the cell's value in ``BINS`` equal-width bins over the view's range, explaining
  MI / H(cell) of the cell's (binned) entropy; and one rule per category ("-1.0 just before a
  `4`, +1.0 elsewhere"), the MI of the two-way split.

Saturated, near-binary cells are what a trained GRU mostly has, and a weak r says little about
them: a rule that accounts for nearly all of a cell's entropy is the label. A whole categorical
annotation always explains at least as much as any one of its rules (a rule is a function of
it), so a rule is preferred when it reaches ``RULE_SHARE`` of the best; otherwise the label
names the annotation and its extreme categories. MI is computed by scikit-learn from the
contingency table (``mutual_info_score``), the table by one ``bincount`` per cell and annotation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import mutual_info_score

from .annotations import Annotation, Annotations

BINS = 10                 # equal-width bins of the cell's value over the view's range, for MI
RULE_SHARE = 0.9          # a rule is the label when it explains this share of the best explanation
MAX_THRESHOLDS = 24       # numeric annotations with more distinct values are cut at quantiles
DEAD_STD = 0.02           # a cell varying less than this carries nothing
MIN_ENTROPY = 0.05        # bits: a cell almost always in one bin has too little spread to explain
WEAK = 0.3                # a best explanation below this share is reported as weak
MINUS = "\u2212"
GEQ = "\u2265"


@dataclass(frozen=True)
class Finding:
    """One candidate explanation of a cell."""
    annotation: str
    stat: str                       # "r" (Pearson) or "MI" (bits)
    score: float                    # r, or MI in bits
    explained: float                # r^2, or MI / H(cell binned): comparable across annotations
    value: str | None = None        # the category of a rule, ">= t" for a threshold, None: the whole annotation
    inside: float | None = None     # the cell's mean where the rule holds
    outside: float | None = None    # ... and where it does not

    @property
    def kind(self) -> str:
        if self.stat == "r":
            return "correlation"
        return "annotation" if self.value is None else "threshold" if self.value.startswith(">=") else "rule"


@dataclass(frozen=True)
class CellLabel:
    cell: int
    label: str                      # the one line, with its strength
    best: Finding | None            # None for a dead cell
    findings: list[Finding] = field(default_factory=list)    # every candidate, best first
    mean: float = 0.0
    std: float = 0.0

    def to_dict(self) -> dict:
        best = self.best
        return {"cell": self.cell, "label": self.label, "mean": round(self.mean, 4), "std": round(self.std, 4),
                "annotation": best and best.annotation, "value": best and best.value,
                "stat": best and best.stat, "score": best and round(best.score, 4),
                "explained": best and round(best.explained, 4)}


def label_cells(values: np.ndarray, annotations: Annotations, value_range: tuple[float, float] = (-1.0, 1.0)
                ) -> list[CellLabel]:
    """A label for every cell of ``values`` [T, H] (one view of one layer), ranked best first
    by how much of the cell its label explains."""
    values = np.asarray(values, dtype=np.float64)
    binned = bin_values(values, value_range)
    labels = [label_cell(c, values[:, c], binned[:, c], annotations) for c in range(values.shape[1])]
    return sorted(labels, key=lambda lab: (-(lab.best.explained if lab.best else -1.0), lab.cell))


def bin_values(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """[T, H] bin numbers 0..BINS-1 over ``value_range`` (values outside it go to the end bins)."""
    low, high = value_range
    scaled = (values - low) / max(high - low, 1e-12) * BINS
    return np.clip(np.floor(scaled), 0, BINS - 1).astype(np.int64)


def label_cell(cell: int, v: np.ndarray, binned: np.ndarray, annotations: Annotations) -> CellLabel:
    mean, std = float(v.mean()), float(v.std())
    if std < DEAD_STD:
        return CellLabel(cell, f"constant {signed(mean)} (std {std:.3f}): carries nothing", None, [], mean, std)
    findings = []
    for ann in annotations:
        findings.extend(findings_for(v, binned, ann))
    if entropy_bits(np.bincount(binned, minlength=BINS)) < MIN_ENTROPY:   # it varies, but inside one bin
        return CellLabel(cell, f"nearly constant {signed(mean)} (std {std:.3f})", None, [], mean, std)
    # Ties (to rounding) keep the annotations' own order: "on a separator" before the
    # equivalent "just before a token" -- the present character is the simpler account.
    findings.sort(key=lambda f: -round(f.explained, 6))
    best = choose(findings)
    label = describe(best, annotations[best.annotation], v, binned)
    if best.explained < WEAK:
        label = f"weak: {label}, explains {best.explained:.0%} of the cell"
    return CellLabel(cell, label, best, findings, mean, std)


def findings_for(v: np.ndarray, binned: np.ndarray, ann: Annotation) -> list[Finding]:
    ok = ann.valid
    if ok.sum() < 2:
        return []
    v, binned = v[ok], binned[ok]
    h_cell = entropy_bits(np.bincount(binned, minlength=BINS))
    if h_cell < MIN_ENTROPY:
        return []
    found = []
    if ann.numeric:
        a = ann.values[ok]
        r = pearson(v, a)
        found.append(Finding(ann.name, "r", r, r * r))
        codes, cuts = _threshold_groups(a)
        table = contingency(binned, codes, len(cuts))
        sums = np.bincount(codes, weights=v, minlength=len(cuts))
        for k in range(1, len(cuts)):         # split "a >= cuts[k]" against below
            split = np.stack([table[:, k:].sum(1), table[:, :k].sum(1)], axis=1)
            found.append(_split_finding(ann.name, f">= {_plain(cuts[k])}", split, sums[k:].sum(), sums[:k].sum(),
                                        h_cell))
        return found
    codes = ann.values[ok]
    K = len(ann.categories)
    table = contingency(binned, codes, K)
    mi = mi_bits(table)
    found.append(Finding(ann.name, "MI", mi, mi / h_cell))
    sums = np.bincount(codes, weights=v, minlength=K)
    total = sums.sum()
    for k, name in enumerate(ann.categories):      # "category k" against every other
        split = np.stack([table[:, k], table.sum(1) - table[:, k]], axis=1)
        found.append(_split_finding(ann.name, name, split, sums[k], total - sums[k], h_cell))
    return found


def _split_finding(name: str, value: str, split: np.ndarray, sum_in: float, sum_out: float, h_cell: float) -> Finding:
    n_in, n_out = split[:, 0].sum(), split[:, 1].sum()
    mi = mi_bits(split)
    inside = sum_in / n_in if n_in else float("nan")
    outside = sum_out / n_out if n_out else float("nan")
    return Finding(name, "MI", mi, mi / h_cell, value, float(inside), float(outside))


def choose(findings: list[Finding]) -> Finding:
    """The best finding, but a rule (or threshold) when one explains RULE_SHARE of the best:
    "-1 just before a `4`" says more than "goes with the next character"."""
    best = findings[0]
    if best.kind in ("rule", "threshold", "correlation"):
        return best
    rules = [f for f in findings if f.kind in ("rule", "threshold", "correlation")]
    if rules and rules[0].explained >= RULE_SHARE * best.explained:
        return rules[0]
    return best


def describe(f: Finding, ann: Annotation, v: np.ndarray, binned: np.ndarray) -> str:
    if f.kind == "correlation":
        return f"tracks {ann.name.replace('_', ' ')} (r = {signed(f.score, 2)})"
    strength = f"(MI {f.score:.2f} bits)"
    if f.kind == "threshold":
        condition = f.value.replace(">=", GEQ)
        return f"{signed(f.inside)} {ann.says(condition)}, {signed(f.outside)} below {strength}"
    if f.kind == "rule":
        return f"{signed(f.inside)} {ann.says(f.value)}, {signed(f.outside)} elsewhere {strength}"
    means = category_means(v[:, None], ann)[0]
    order = [k for k in np.argsort(means) if not math.isnan(means[k])]
    ends = [order[0], order[-1]] if len(order) > 1 else order
    parts = ", ".join(f"{signed(means[k])} {ann.says(ann.categories[k])}" for k in ends)
    return f"varies with {ann.name.replace('_', ' ')}: {parts} {strength}"


def category_means(values: np.ndarray, ann: Annotation) -> np.ndarray:
    """[H, K] the mean of each cell ([T, H] values) in each category (NaN where a category never occurs).
    For a numeric annotation the categories are its threshold groups. The per-category profile."""
    ok = ann.valid
    codes = ann.values[ok] if not ann.numeric else _threshold_groups(ann.values[ok])[0]
    K = len(ann.categories) if not ann.numeric else int(codes.max()) + 1
    counts = np.bincount(codes, minlength=K).astype(np.float64)
    out = np.stack([np.bincount(codes, weights=col, minlength=K) for col in np.asarray(values)[ok].T])
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / counts


# --- statistics -----------------------------------------------------------------------------------

def contingency(binned: np.ndarray, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """[BINS, n_codes] counts of (cell bin, annotation code)."""
    return np.bincount(binned * n_codes + codes, minlength=BINS * n_codes).reshape(BINS, n_codes)


def mi_bits(table: np.ndarray) -> float:
    if table.sum() == 0:
        return 0.0
    return float(mutual_info_score(None, None, contingency=table)) / math.log(2)


def entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def pearson(v: np.ndarray, a: np.ndarray) -> float:
    """Pearson r; 0 (not NaN) when either side never changes."""
    v, a = v - v.mean(), a - a.mean()
    denom = math.sqrt(float((v * v).sum() * (a * a).sum()))
    return float((v * a).sum() / denom) if denom > 0 else 0.0


def _threshold_groups(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group numeric values for threshold rules: codes [T] and the lowest value of each group.
    Few distinct values (depth): one group each; many: at most MAX_THRESHOLDS quantile groups."""
    distinct = np.unique(a)
    cuts = distinct if len(distinct) <= MAX_THRESHOLDS else np.unique(
        np.quantile(a, np.linspace(0, 1, MAX_THRESHOLDS + 1)[:-1], method="lower"))
    return np.searchsorted(cuts, a, side="right") - 1, cuts


def signed(x: float, places: int = 1) -> str:
    """+0.8 / \u22121.0: signed, with a true minus sign, and never a signed zero."""
    text = f"{x:+.{places}f}"
    if float(text) == 0:
        text = f"{0:.{places}f}"
    return text.replace("-", MINUS)


def _plain(x: float) -> str:
    return f"{x:g}"
