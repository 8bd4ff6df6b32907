"""What a cell carries beyond the character it was just fed.

Text cells encode their input: the current character explains most of nearly every cell, so a plain
label says "varies with char" for most of them. The question a text researcher asks is what a cell
adds to it -- a string left open, brackets, indentation, the position in the line. Each annotation A
is scored by its conditional mutual information with the cell given the current character C,

    CMI(cell; A | C) = H(cell, C) + H(A, C) − H(cell, A, C) − H(C)       (bits, cell binned as for labels)

Miller–Madow corrected (analysis/describe/nulls.py), counted from the (A code, character) groups of
analysis/describe/tally.py. An annotation that is a function of the character (its class, say) has
CMI 0 exactly. The ``explained`` of the finding, which ranks the annotations, is CMI / sqrt(H(cell | C)
H(A | C)) (normalised like NMI's geometric form): CMI alone, or its share of the cell, favours the
annotation with the most values (on the shipped 128-cell text model column, with 24 groups, has the
largest share for 127 of 128 cells of h; normalised, still for most -- whatever a cell keeps of its
context varies with the position in the line, and that model keeps little else). Its null
shuffles A within each character's steps (nulls.null_draws), so what the character explains is never
credited to A.
"""
from __future__ import annotations

import numpy as np

from rnnscope.analysis.describe.nulls import LN2
from rnnscope.analysis.describe.tally import Given

GIVEN = "char"            # the annotation conditioned on: the current character
# What comes next (the next character and its class) is what every cell serves to predict, not state
# carried from the past: those annotations are scored but never made the label beyond the character.
AHEAD = "next_"


def conditional_scores(given: dict[str, Given], minimum_entropy: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per annotation: [H] CMI in bits (Miller–Madow) and [H] CMI / sqrt(H(cell | character) H(annotation |
    character)) (0 where the first is below ``minimum_entropy``)."""
    out = {}
    for name, g in given.items():
        n = g.counts.sum()
        if n < 2:
            continue
        H = g.tables.shape[0]
        xac = g.tables.reshape(H, -1)                                  # [H, BINS * G]: (bin, group)
        xc = _by_character(g)                                          # [H, BINS * C]: (bin, character)
        c = np.bincount(g.pairs[:, 1], weights=g.counts)
        plug_in = _h(xc, n) + _h(g.counts[None], n) - _h(xac, n) - _h(c[None], n)
        m_xc, m_xac = (xc > 0).sum(axis=1), (xac > 0).sum(axis=1)
        m_ac, m_c = (g.counts > 0).sum(), (c > 0).sum()
        cmi = plug_in + (m_xc + m_ac - m_xac - m_c) / (2 * n * LN2)
        h_cell = _h(xc, n) - _h(c[None], n) + (m_xc - m_c) / (2 * n * LN2)        # H(cell | character), MM
        h_ann = float(_h(g.counts[None], n)[0] - _h(c[None], n)[0] + (m_ac - m_c) / (2 * n * LN2))   # H(A | char)
        scale = np.sqrt(np.maximum(h_cell, 0.0) * max(h_ann, 0.0))
        share = np.where((h_cell >= minimum_entropy) & (scale > 0), cmi / np.where(scale > 0, scale, 1.0), 0.0)
        out[name] = (cmi, share)
    return out


def stratified_table(g: Given, cell: int) -> np.ndarray:
    """[characters, BINS, codes]: the cell's (bin, code) table within each character (for the null)."""
    C, K = int(g.pairs[:, 1].max()) + 1, int(g.pairs[:, 0].max()) + 1
    out = np.zeros((C, g.tables.shape[1], K), np.int64)
    out[g.pairs[:, 1], :, g.pairs[:, 0]] = g.tables[cell].T
    return out


def describe_beyond(ann, cmi: float, means: np.ndarray, r: float | None) -> str:
    """The label of a cell by what ``ann`` adds to the character: its extreme categories (its r, numeric)."""
    from rnnscope.analysis.describe.labels import signed
    name = ann.name.replace("_", " ")
    strength = f"(CMI {cmi:.2f} bits given the character)"
    if ann.numeric:
        return f"beyond the character: tracks {name} (r = {signed(r or 0.0, 2)}) {strength}"
    order = [k for k in np.argsort(means) if not np.isnan(means[k])]
    ends = [order[0], order[-1]] if len(order) > 1 else order
    parts = ", ".join(f"{signed(means[k])} {ann.says(ann.categories[k])}" for k in ends)
    return f"beyond the character: {name}: {parts} {strength}"


def _by_character(g: Given) -> np.ndarray:
    """[H, BINS * C]: the groups' tables summed per character."""
    order = np.argsort(g.pairs[:, 1], kind="stable")
    chars = g.pairs[order, 1]
    starts = np.flatnonzero(np.r_[True, chars[1:] != chars[:-1]])
    summed = np.add.reduceat(g.tables[:, :, order], starts, axis=2)   # [H, BINS, C present]
    return summed.reshape(len(summed), -1)


def _h(counts: np.ndarray, n: float) -> np.ndarray:
    """Plug-in entropy in bits of count rows [R, k] that sum to ``n``: log2 n - sum c log2 c / n."""
    c = np.asarray(counts, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(c > 0, c * np.log2(np.where(c > 0, c, 1.0)), 0.0)
    return np.log2(n) - terms.sum(axis=-1) / n
