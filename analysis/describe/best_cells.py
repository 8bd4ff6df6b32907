"""For each annotation, the one cell that goes with it best (Karpathy et al. 2015's question:
is there a quote cell, a line-length cell, an indentation cell?).

A cell's label names only its own best explanation, so a cell that tracks strings well but the
current character better is labelled by the character, and the string cell goes unseen. Here
the question is turned round: over every cell of h, the finding about this annotation that
explains most of its cell, from the labeller's own candidates (analysis/describe/labels.py: r or a
threshold rule for a numeric annotation, MI in bits of the whole annotation or one category's
rule for a categorical one), said in words.

Only h: gates are not memory, and an LSTM's c is unbounded, so the labeller bins it over a range
set by its widest cell (+-74 on a 10-minute LSTM-128 of Python source); most cells then fall
into one or two bins and MI / H(binned cell) is inflated (0.43 "explained" for 0.04 bits), so c's
shares do not compare with h's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.describe.annotations import Annotations
from rnnscope.analysis.describe.labels import CellLabel, Finding, category_means, choose, describe

STATE_VIEWS = ("h",)


@dataclass(frozen=True)
class BestCell:
    annotation: str
    layer: int
    view: str
    cell: int
    finding: Finding
    says: str                      # the finding in words, with its statistic

    def to_dict(self) -> dict:
        f = self.finding
        return {"annotation": self.annotation, "layer": self.layer, "view": self.view, "cell": self.cell,
                "says": self.says, "value": f.value, "stat": f.stat, "score": round(f.score, 4),
                "explained": round(f.explained, 4)}


def best_cells(labelled: dict[tuple[int, str], tuple[np.ndarray, tuple[float, float], list[CellLabel]]],
               annotations: Annotations) -> list[BestCell]:
    """``labelled``: {(layer, view): (values [T, H], the view's range, the labels of its cells)}.
    One BestCell per annotation that any state cell has a finding about, in the annotations'
    order; ties go to the first (layer, view, cell) met."""
    best: dict[str, tuple[float, int, str, CellLabel]] = {}
    for (layer, view), (_, _, labels) in labelled.items():
        if view not in STATE_VIEWS:
            continue
        for lab in labels:
            for f in lab.findings:
                held = best.get(f.annotation)
                if held is None or f.explained > held[0]:
                    best[f.annotation] = (f.explained, layer, view, lab)
    out = []
    for name in annotations.names():
        if name not in best:
            continue
        _, layer, view, lab = best[name]
        # As the labeller words a cell: a rule when it explains nearly as much as the whole
        # annotation ("+0.8 inside a string, -0.3 elsewhere" rather than "varies with in string").
        f = choose(sorted((g for g in lab.findings if g.annotation == name), key=lambda g: -round(g.explained, 6)))
        cell = lab.cell
        values, _, _ = labelled[(layer, view)]
        means = category_means(np.asarray(values[:, [cell]], dtype=np.float64), annotations[name])[0]
        out.append(BestCell(name, layer, view, cell, f, describe(f, annotations[name], means)))
    return out
