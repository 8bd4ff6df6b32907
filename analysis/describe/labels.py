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
names the annotation and its extreme categories. MI is Miller–Madow corrected, from contingency
tables counted for all cells and annotations in one compiled pass (analysis/describe/tally.py; tests hold
the plug-in part to scikit-learn's ``mutual_info_score`` and the counts to plain NumPy).

Against chance (analysis/describe/nulls.py): per (cell, annotation), the Miller–Madow MI of the whole
annotation (a numeric one's threshold groups) with the binned cell is held against the 99th percentile
of its shuffle null; a label (correlation, rule or the annotation) is given only from an annotation
that clears it. Annotations are tried best first, at most MAX_TRIES; if none clears, the cell is
"weak" and says so. Then what the cell carries beyond the
current character (analysis/describe/beyond.py): the annotation with the largest share of conditional
MI that clears its own null (shuffled within each character) becomes the cell's label in ``to_dict``,
the plain one kept beside it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from rnnscope.analysis.describe import beyond
from rnnscope.analysis.describe.annotations import Annotation, Annotations
from rnnscope.analysis.describe.nulls import LEVEL, mm_mi_bits, null_quantile
from rnnscope.analysis.describe.tally import CHUNK, Joint, Tally, joint, tally

RULE_SHARE = 0.9          # a rule is the label when it explains this share of the best explanation
MAX_THRESHOLDS = 24       # numeric annotations with more distinct values are cut at quantiles
DEAD_STD = 0.02           # a cell varying less than this carries nothing
MIN_ENTROPY = 0.05        # bits: a cell almost always in one bin has too little spread to explain
WEAK = 0.3                # a best explanation below this share is reported as weak
MAX_TRIES = 5             # candidates tried against their nulls, best first
TINY = 1e-9               # bits (or r): rounding, never a finding; a statistic must clear its null by more
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
    table: np.ndarray | None = field(default=None, repr=False, compare=False)   # the annotation's (bin, code) table
    n: int = 0                      # steps the statistic is over

    @property
    def kind(self) -> str:
        if self.stat == "r":
            return "correlation"
        if self.stat == "CMI":
            return "beyond"
        return "annotation" if self.value is None else "threshold" if self.value.startswith(">=") else "rule"


@dataclass(frozen=True)
class CellLabel:
    cell: int
    label: str                      # the one line, with its strength: the plain label, or beyond the character
    best: Finding | None            # None for a dead cell; the plain best finding (whatever the label)
    findings: list[Finding] = field(default_factory=list)    # every candidate, best first
    mean: float = 0.0
    std: float = 0.0
    null: float | None = None       # the 99th percentile of the shuffle null of the best finding's annotation's MI
    null_stat: float | None = None  # that MI (Miller–Madow, bits)
    cleared: bool = False           # it clears the null
    beyond: Finding | None = None   # what the cell carries beyond the current character, where one clears its null
    beyond_label: str | None = None
    beyond_null: float | None = None
    plain_label: str | None = None  # set when ``label`` is the one beyond the character: the plain label

    @property
    def shows_beyond(self) -> bool:
        return self.plain_label is not None

    @property
    def shown(self) -> Finding | None:
        """The finding ``label`` states: beyond the current character where that replaced the plain one."""
        return self.beyond if self.shows_beyond else self.best

    def to_dict(self) -> dict:
        """The JSON row: the label (beyond the current character where it replaced the plain one), the
        plain label beside it, and what the cell carries beyond the character."""
        plain = _finding_dict(self.best, self.plain_label or self.label, self.null_stat, self.null)
        deeper = _finding_dict(self.beyond, self.beyond_label, self.beyond and self.beyond.score, self.beyond_null)
        shown = deeper if self.shows_beyond else plain
        return {"cell": self.cell, **shown, "given": "char" if self.shows_beyond else None,
                "mean": round(self.mean, 4), "std": round(self.std, 4), **{f"plain_{k}": v for k, v in plain.items()},
                **{f"beyond_{k}": deeper[k] for k in ("label", "annotation", "score", "explained", "null_99")}}


# A text's annotations of the input itself (the character, and its class: a function of it): every cell of a
# text model goes with them. With what comes next (beyond.AHEAD), they say nothing of what the state carries.
ABOUT_THE_INPUT = ("char", "char_class")


def first_about_the_text(labels: list[CellLabel]) -> CellLabel | None:
    """The first of ``labels`` (in the labeller's order) whose label states a finding that cleared its null
    about what the text holds beyond its input -- a string, brackets, indentation, the position in the line --
    not the character, its class or what comes next; None when no cell has one."""
    for lab in labels:
        f = lab.shown
        if f is None or f.annotation in ABOUT_THE_INPUT or f.annotation.startswith(beyond.AHEAD):
            continue
        if lab.shows_beyond or lab.cleared:     # a finding beyond the character is only kept when it cleared
            return lab
    return None


def _finding_dict(f: Finding | None, label: str, tested: float | None, null: float | None) -> dict:
    r = lambda x: None if x is None else round(x, 5)      # noqa: E731
    return {"label": label, "annotation": f and f.annotation, "value": f and f.value, "stat": f and f.stat,
            "score": f and round(f.score, 4), "explained": f and round(f.explained, 4), "tested_mi": r(tested),
            "null_99": r(null)}


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
    if counted.given:
        scores = beyond.conditional_scores(counted.given, MIN_ENTROPY)
        labels = [label_beyond(lab, counted, annotations, scores) for lab in labels]
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
    return joint(annotations, out, given=beyond.GIVEN if beyond.GIVEN in annotations.names() else None)


def label_cell(cell: int, mean: float, std: float, hist: np.ndarray, findings: list[Finding],
               annotations: Annotations, tallies: dict[str, Tally]) -> CellLabel:
    if std < DEAD_STD:
        return CellLabel(cell, f"constant {signed(mean)} (std {std:.3f}): carries nothing", None, [], mean, std)
    if entropy_bits(hist) < MIN_ENTROPY or not findings:   # varies inside one bin
        return CellLabel(cell, f"nearly constant {signed(mean)} (std {std:.3f})", None, [], mean, std)
    # Ties (to rounding) keep the annotations' own order: "on a separator" before the
    # equivalent "just before a token" -- the present character is the simpler account.
    findings = sorted(findings, key=lambda f: -round(f.explained, 6))
    tried: list[str] = []
    while len(tried) < MAX_TRIES:
        pool = [f for f in findings if f.annotation not in tried]
        if not pool:
            break
        best = choose(pool)
        stat, null = gate(best, cell)
        if stat > null + TINY:
            label = describe(best, annotations[best.annotation], _means(tallies[best.annotation], cell))
            if best.explained < WEAK:
                label = f"weak: {label}, explains {best.explained:.0%} of the cell"
            return CellLabel(cell, label, best, findings, mean, std, null, stat, True)
        tried.append(best.annotation)
    best = choose(findings)                 # nothing clears its null: the best, said to be at chance level
    stat, null = gate(best, cell)
    text = describe(best, annotations[best.annotation], _means(tallies[best.annotation], cell))
    return CellLabel(cell, f"weak: no annotation clears its shuffle null (the best, {text}, has MI {stat:.3g} bits "
                     f"against the null's 99th percentile {null:.3g})", best, findings, mean, std, null, stat, False)


def gate(f: Finding, seed: int = 0) -> tuple[float, float]:
    """The (cell, annotation) statistic a finding stands on -- the Miller–Madow MI of the whole
    annotation (a numeric one's threshold groups) with the binned cell -- and its null's 99th percentile."""
    stat = float(mm_mi_bits(f.table))
    return stat, null_quantile(f.table, seed=seed, level=LEVEL, stat=stat)


def _means(t: Tally, cell: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return t.sums[cell] / t.counts                  # the cell's mean per category (NaN where none)


def label_beyond(lab: CellLabel, counted, annotations: Annotations, scores: dict) -> CellLabel:
    """``lab`` with what its cell carries beyond the current character: the annotation whose conditional
    MI explains most of what the character leaves, among the best MAX_TRIES, that clears its null."""
    if lab.best is None:
        return lab
    c = lab.cell
    ranked = sorted((n for n in scores if scores[n][0][c] > TINY and not n.startswith(beyond.AHEAD)),
                    key=lambda n: (-round(scores[n][1][c], 6), n))
    for name in ranked[:MAX_TRIES]:
        cmi, share = float(scores[name][0][c]), float(scores[name][1][c])
        null = null_quantile(beyond.stratified_table(counted.given[name], c), seed=c, level=LEVEL, stat=cmi)
        if cmi > null + TINY:
            ann, t = annotations[name], counted.by_annotation[name]
            f = Finding(name, "CMI", cmi, share, n=int(counted.given[name].counts.sum()))
            text = beyond.describe_beyond(ann, cmi, _means(t, c), float(t.r[c]) if t.r is not None else None)
            found = dataclasses.replace(lab, beyond=f, beyond_label=text, beyond_null=null)
            # The label is replaced where the plain one is about the input: the character, or what it
            # fixes (its class, a token's kind: no information beyond it). A plain label about a string,
            # a depth or what comes next already says more than the character; it stays.
            plain_cmi = scores.get(lab.best.annotation)
            about_input = lab.best.annotation == beyond.GIVEN or (plain_cmi is not None and plain_cmi[0][c] <= TINY)
            if lab.cleared and about_input:
                found = dataclasses.replace(found, label=text, plain_label=lab.label)
            return found
    return lab


def findings_for(ann: Annotation, t: Tally) -> list[list[Finding]]:
    """Per cell, the findings ``ann`` gives from its counts ``t``: r and threshold rules
    (numeric), or the whole annotation's MI and one rule per category (categorical)."""
    tables, sums, counts = t.tables, t.sums, t.counts                  # [H, BINS, K], [H, K], [K]
    H, K = len(tables), tables.shape[2]
    if counts.sum() < 2:
        return [[] for _ in range(H)]
    n = int(counts.sum())
    hist = tables.sum(axis=2)
    h_cell = entropy_bits(hist) + ((hist > 0).sum(axis=1) - 1) / (2 * n * math.log(2))   # [H], Miller–Madow
    found: list[list[Finding]] = [[] for _ in range(H)]
    if ann.numeric:
        for c in range(H):
            found[c].append(Finding(ann.name, "r", float(t.r[c]), float(t.r[c] ** 2), table=tables[c], n=n))
        above = np.cumsum(tables[:, :, ::-1], axis=2)[:, :, ::-1]       # [H, BINS, K]: counts with a >= cuts[k]
        sums_above = np.cumsum(sums[:, ::-1], axis=1)[:, ::-1]
        n_above = np.cumsum(counts[::-1])[::-1]
        splits = [(f">= {_plain(t.cuts[k])}", above[:, :, k], sums_above[:, k], n_above[k]) for k in range(1, K)]
    else:
        mi = mm_mi_bits(tables)
        for c in range(H):
            found[c].append(Finding(ann.name, "MI", float(mi[c]), _share(mi[c], h_cell[c]), table=tables[c], n=n))
        splits = [(name, tables[:, :, k], sums[:, k], counts[k]) for k, name in enumerate(ann.categories)]
    total, n_total = sums.sum(axis=1), counts.sum()
    for value, inside, sum_in, n_in in splits:                          # "the rule holds" against the rest
        split = np.stack([inside, hist - inside], axis=2)               # [H, BINS, 2]
        mi = mm_mi_bits(split)
        for c in range(H):
            mean_in = sum_in[c] / n_in if n_in else float("nan")
            mean_out = (total[c] - sum_in[c]) / (n_total - n_in) if n_total > n_in else float("nan")
            found[c].append(Finding(ann.name, "MI", float(mi[c]), _share(mi[c], h_cell[c]), value,
                                    float(mean_in), float(mean_out), tables[c], n))
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
