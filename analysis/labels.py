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
names the annotation and its extreme categories. MI is the plug-in estimate from contingency
tables built by one ``bincount`` per annotation for all cells at once (tests hold it to
scikit-learn's ``mutual_info_score``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
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
    by how much of the cell its label explains. Each annotation is counted against all cells
    at once (one contingency table per annotation), which is what keeps 1M characters fast."""
    # Cells as contiguous rows [H, T]: every count below is one bincount per cell over a
    # contiguous row, ~10x faster than strided columns or one bincount over T x H offsets.
    values = np.ascontiguousarray(np.asarray(values, dtype=np.float64).T)
    binned = bin_values(values, value_range).astype(np.int32)
    H = values.shape[0]
    findings: list[list[Finding]] = [[] for _ in range(H)]
    for ann in annotations:
        for cell, found in enumerate(findings_for(values, binned, ann)):
            findings[cell].extend(found)
    labels = [label_cell(c, values[c], binned[c], findings[c], annotations) for c in range(H)]
    return sorted(labels, key=lambda lab: (-(lab.best.explained if lab.best else -1.0), lab.cell))


def bin_values(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Bin numbers 0..BINS-1 over ``value_range`` (values outside it go to the end bins), any shape."""
    low, high = value_range
    scaled = (values - low) / max(high - low, 1e-12) * BINS
    return np.clip(np.floor(scaled), 0, BINS - 1).astype(np.int64)


def label_cell(cell: int, v: np.ndarray, binned: np.ndarray, findings: list[Finding],
               annotations: Annotations) -> CellLabel:
    mean, std = float(v.mean()), float(v.std())
    if std < DEAD_STD:
        return CellLabel(cell, f"constant {signed(mean)} (std {std:.3f}): carries nothing", None, [], mean, std)
    if entropy_bits(np.bincount(binned, minlength=BINS)) < MIN_ENTROPY or not findings:   # varies inside one bin
        return CellLabel(cell, f"nearly constant {signed(mean)} (std {std:.3f})", None, [], mean, std)
    # Ties (to rounding) keep the annotations' own order: "on a separator" before the
    # equivalent "just before a token" -- the present character is the simpler account.
    findings = sorted(findings, key=lambda f: -round(f.explained, 6))
    best = choose(findings)
    label = describe(best, annotations[best.annotation], v, binned)
    if best.explained < WEAK:
        label = f"weak: {label}, explains {best.explained:.0%} of the cell"
    return CellLabel(cell, label, best, findings, mean, std)


def findings_for(values: np.ndarray, binned: np.ndarray, ann: Annotation) -> list[list[Finding]]:
    """Per cell (``values`` and ``binned`` are [H, T]), the findings ``ann`` gives: r and threshold
    rules (numeric), or the whole annotation's MI and one rule per category (categorical)."""
    H = values.shape[0]
    ok = ann.valid
    if ok.sum() < 2:
        return [[] for _ in range(H)]
    v, b = (values, binned) if ok.all() else (values[:, ok], binned[:, ok])
    if ann.numeric:
        a = ann.values[ok]
        codes, cuts = _threshold_groups(a)
    else:
        codes, cuts = ann.values[ok], None
    K = len(cuts) if ann.numeric else len(ann.categories)
    tables = contingency(b, codes, K)                                   # [H, BINS, K]
    one_hot = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(K, len(codes)))
    sums = np.asarray(one_hot @ v.T).T                                  # [H, K]: one sparse pass for all cells
    counts = np.bincount(codes, minlength=K).astype(np.float64)
    h_cell = entropy_bits(tables.sum(axis=2))                           # [H]
    found: list[list[Finding]] = [[] for _ in range(H)]
    if ann.numeric:
        r = pearson(v, a)
        for c in range(H):
            found[c].append(Finding(ann.name, "r", float(r[c]), float(r[c] ** 2)))
        above = np.cumsum(tables[:, :, ::-1], axis=2)[:, :, ::-1]       # [H, BINS, K]: counts with a >= cuts[k]
        sums_above = np.cumsum(sums[:, ::-1], axis=1)[:, ::-1]
        n_above = np.cumsum(counts[::-1])[::-1]
        splits = [(f">= {_plain(cuts[k])}", above[:, :, k], sums_above[:, k], n_above[k]) for k in range(1, K)]
    else:
        mi = mi_bits(tables)
        for c in range(H):
            found[c].append(Finding(ann.name, "MI", float(mi[c]), _share(mi[c], h_cell[c])))
        splits = [(name, tables[:, :, k], sums[:, k], counts[k]) for k, name in enumerate(ann.categories)]
    total, n_total = sums.sum(axis=1), counts.sum()
    for value, inside, sum_in, n_in in splits:                          # "the rule holds" against the rest
        split = np.stack([inside, tables.sum(axis=2) - inside], axis=2)  # [H, BINS, 2]
        mi = mi_bits(split)
        for c in range(H):
            mean_in = sum_in[c] / n_in if n_in else float("nan")
            mean_out = (total[c] - sum_in[c]) / (n_total - n_in) if n_total > n_in else float("nan")
            found[c].append(Finding(ann.name, "MI", float(mi[c]), _share(mi[c], h_cell[c]), value,
                                    float(mean_in), float(mean_out)))
    return [f if h_cell[c] >= MIN_ENTROPY else [] for c, f in enumerate(found)]


def _share(mi: float, h: float) -> float:
    return float(mi / h) if h >= MIN_ENTROPY else 0.0


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
    """[H, BINS, n_codes] counts of (cell bin, annotation code) for every cell of ``binned`` [H, T]."""
    codes = codes.astype(np.int32, copy=False)
    return np.stack([np.bincount(row * n_codes + codes, minlength=BINS * n_codes) for row in binned]
                    ).reshape(len(binned), BINS, n_codes)


def mi_bits(table: np.ndarray) -> np.ndarray:
    """Mutual information in bits of contingency tables [..., rows, cols] (0 for an empty table).
    The plug-in estimate, sum p log p / (p_row p_col); tests hold it to scikit-learn's
    mutual_info_score on the same tables."""
    table = np.asarray(table, dtype=np.float64)
    n = table.sum(axis=(-2, -1), keepdims=True)
    p = np.divide(table, n, out=np.zeros_like(table), where=n > 0)
    rows, cols = p.sum(axis=-1, keepdims=True), p.sum(axis=-2, keepdims=True)
    outer = rows * cols
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / np.where(outer > 0, outer, 1.0)), 0.0)
    return np.maximum(terms.sum(axis=(-2, -1)), 0.0)


def entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Entropy in bits of count vectors [..., k]."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=-1, keepdims=True)
    p = np.divide(counts, n, out=np.zeros_like(counts), where=n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)


def pearson(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``v`` [H, T] with ``a`` [T]; 0 (not NaN) where either never changes."""
    # From sums of products (no centred [H, T] copy); float64 keeps the cancellation harmless here.
    T = v.shape[1]
    mv, ma = v.mean(axis=1), a.mean()
    cov = v @ a - T * mv * ma
    var_v = np.einsum("ht,ht->h", v, v) - T * mv * mv
    var_a = float(a @ a) - T * ma * ma
    denom = np.sqrt(np.maximum(var_v, 0) * max(var_a, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-12, cov / np.where(denom > 1e-12, denom, 1.0), 0.0)


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
