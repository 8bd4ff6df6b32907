"""Cell labels: what each cell's value goes with, said in one line with its strength.

For one cell's values over a held-out stream read in context, every annotation is a candidate
explanation, scored by how much of the cell it accounts for:

- numeric annotations (depth ...): Pearson r, explaining r^2 of the cell's variance; and
  threshold rules ("-1 when depth >= 4, +1 below"), scored like categories below;
- categorical annotations (next char ...): mutual information in bits between the annotation
  and the cell's value in ``tally.BINS`` equal-width bins over the view's range, explaining
  MI / H(cell) of the cell's (binned) entropy; and one rule per category ("-1.0 just before a
  `4`, +1.0 elsewhere"), the MI of the two-way split.

Saturated, near-binary cells are what a trained GRU mostly has, and a weak r says little about
them: a rule that accounts for nearly all of a cell's entropy is the label. A whole categorical
annotation always explains at least as much as any one of its rules (a rule is a function of
it), so a rule is preferred when it reaches ``RULE_SHARE`` of the best; otherwise the label
names the annotation and its extreme categories. MI is the plug-in estimate from contingency
tables counted for all cells and annotations in one compiled pass (analysis/describe/tally.py; tests hold
the MI to scikit-learn's ``mutual_info_score`` and the counts to plain NumPy).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnscope.analysis.describe.annotations import Annotation, Annotations
from rnnscope.analysis.describe.tally import CHUNK, Joint, Tally, joint, tally

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


def label_cells(values: np.ndarray, annotations: Annotations, value_range: tuple[float, float] = (-1.0, 1.0),
                codes: Joint | None = None, chunk: int = CHUNK) -> list[CellLabel]:
    """A label for every cell of ``values`` [T, H] (one view of one layer; a NumPy array or a
    store's Zarr array), ranked best first by how much of the cell its label explains. Every count
    comes from one pass over the values, ``chunk`` steps at a time (analysis/describe/tally.py).
    ``codes``: annotation_codes(annotations), when labelling several views of the same text
    (computed here otherwise)."""
    counted = tally(values, codes or annotation_codes(annotations), value_range, chunk)
    H = len(counted.mean)
    findings: list[list[Finding]] = [[] for _ in range(H)]
    for ann in annotations:
        for cell, found in enumerate(findings_for(ann, counted.by_annotation[ann.name])):
            findings[cell].extend(found)
    labels = [label_cell(c, float(counted.mean[c]), float(counted.std[c]), counted.hist[c], findings[c], annotations,
                         counted.by_annotation) for c in range(H)]
    return sorted(labels, key=lambda lab: (-(lab.best.explained if lab.best else -1.0), lab.cell))


def annotation_codes(annotations: Annotations) -> Joint:
    """Per annotation its codes [T] (-1 where it has no value) and, numeric, the threshold cuts the
    codes index -- a categorical annotation's codes are its own, a numeric one's its threshold
    groups -- combined as analysis/describe/tally.py counts them."""
    out = {}
    for ann in annotations:
        if not ann.numeric:
            out[ann.name] = (np.asarray(ann.values, np.int64), None)
            continue
        ok = ann.valid
        codes, cuts = np.full(len(ann.values), -1, np.int64), np.zeros(0)
        if ok.any():
            codes[ok], cuts = threshold_groups(ann.values[ok])
        out[ann.name] = (codes, cuts)
    return joint(annotations, out)


def label_cell(cell: int, mean: float, std: float, hist: np.ndarray, findings: list[Finding],
               annotations: Annotations, tallies: dict[str, Tally]) -> CellLabel:
    if std < DEAD_STD:
        return CellLabel(cell, f"constant {signed(mean)} (std {std:.3f}): carries nothing", None, [], mean, std)
    if entropy_bits(hist) < MIN_ENTROPY or not findings:   # varies inside one bin
        return CellLabel(cell, f"nearly constant {signed(mean)} (std {std:.3f})", None, [], mean, std)
    # Ties (to rounding) keep the annotations' own order: "on a separator" before the
    # equivalent "just before a token" -- the present character is the simpler account.
    findings = sorted(findings, key=lambda f: -round(f.explained, 6))
    best = choose(findings)
    t = tallies[best.annotation]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = t.sums[cell] / t.counts                 # the cell's mean per category (NaN where none)
    label = describe(best, annotations[best.annotation], means)
    if best.explained < WEAK:
        label = f"weak: {label}, explains {best.explained:.0%} of the cell"
    return CellLabel(cell, label, best, findings, mean, std)


def findings_for(ann: Annotation, t: Tally) -> list[list[Finding]]:
    """Per cell, the findings ``ann`` gives from its counts ``t``: r and threshold rules
    (numeric), or the whole annotation's MI and one rule per category (categorical)."""
    tables, sums, counts = t.tables, t.sums, t.counts                  # [H, BINS, K], [H, K], [K]
    H, K = len(tables), tables.shape[2]
    if counts.sum() < 2:
        return [[] for _ in range(H)]
    h_cell = entropy_bits(tables.sum(axis=2))                           # [H]
    found: list[list[Finding]] = [[] for _ in range(H)]
    if ann.numeric:
        for c in range(H):
            found[c].append(Finding(ann.name, "r", float(t.r[c]), float(t.r[c] ** 2)))
        above = np.cumsum(tables[:, :, ::-1], axis=2)[:, :, ::-1]       # [H, BINS, K]: counts with a >= cuts[k]
        sums_above = np.cumsum(sums[:, ::-1], axis=1)[:, ::-1]
        n_above = np.cumsum(counts[::-1])[::-1]
        splits = [(f">= {_plain(t.cuts[k])}", above[:, :, k], sums_above[:, k], n_above[k]) for k in range(1, K)]
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


def describe(f: Finding, ann: Annotation, means: np.ndarray) -> str:
    """The one line for finding ``f``; ``means``: the cell's mean per category of ``ann`` [K]."""
    if f.kind == "correlation":
        return f"tracks {ann.name.replace('_', ' ')} (r = {signed(f.score, 2)})"
    strength = f"(MI {f.score:.2f} bits)"
    if f.kind == "threshold":
        condition = f.value.replace(">=", GEQ)
        return f"{signed(f.inside)} {ann.says(condition)}, {signed(f.outside)} below {strength}"
    if f.kind == "rule":
        return f"{signed(f.inside)} {ann.says(f.value)}, {signed(f.outside)} elsewhere {strength}"
    order = [k for k in np.argsort(means) if not math.isnan(means[k])]
    ends = [order[0], order[-1]] if len(order) > 1 else order
    parts = ", ".join(f"{signed(means[k])} {ann.says(ann.categories[k])}" for k in ends)
    return f"varies with {ann.name.replace('_', ' ')}: {parts} {strength}"


def category_means(values: np.ndarray, ann: Annotation) -> np.ndarray:
    """[H, K] the mean of each cell ([T, H] values) in each category (NaN where a category never occurs).
    For a numeric annotation the categories are its threshold groups. The per-category profile."""
    ok = ann.valid
    codes = ann.values[ok] if not ann.numeric else threshold_groups(ann.values[ok])[0]
    K = len(ann.categories) if not ann.numeric else int(codes.max()) + 1
    counts = np.bincount(codes, minlength=K).astype(np.float64)
    out = np.stack([np.bincount(codes, weights=col, minlength=K) for col in np.asarray(values)[ok].T])
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / counts


# --- statistics -----------------------------------------------------------------------------------

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


def threshold_groups(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
