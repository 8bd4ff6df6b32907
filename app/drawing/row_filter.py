"""Which heatmap rows are shown: all cells, the top k of a ranking, or a list typed by the user
("0-31, 40, 77"). The filter picks the cells; the order (app/drawing/ordering.py) still places them, so
the two compose. And which cells are plotted under the heatmap, typed into the sidebar's picker: the
same lists, and label words ("in_string": the cells whose label names it). NumPy only; a bad list
raises RnnscopeError with one line and the caller keeps what it showed."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.describe.labels import CellLabel
from rnnscope.base.errors import RnnscopeError

# {what the page offers: the ranking it takes the top k of (None: no ranking)}
ALL, LISTED = "all cells", "cells listed"
TOP_K = {"top k by label score": "label score", "top k by |r| with depth": "depth",
         "top k by depth-probe weight": "probe weight"}
FILTERS = (ALL, *TOP_K, LISTED)
# The words each ranking is named by in the title, with the statistic it ranks by.
# Short: they go in the heatmap's title, beside the toolbar. The label score is the Cells tab's
# (held-out text read in context); |r| is this sequence's; the probe's weights are on h.
RANKING_NAMES = {"label score": "label score (share explained)", "depth": "|r| with depth",
                 "probe weight": "depth-probe |weight|"}

_ITEM = re.compile(r"^(\d+)(?:\s*[-\u2013]\s*(\d+))?$")
_LETTER = re.compile(r"[^\W\d]")      # an item with a letter in it is a label word, not a number
MAX_PICKED = 64     # cells the plot under the heatmap takes from the picker: 8 legend rows of 8


def parse_cells(text: str, n_cells: int, what: str = "cell list") -> np.ndarray:
    """Cell numbers from "0-31, 40, 77" (ranges inclusive, in the order written). Refused, with
    the offending item named: an empty list, an item that is not a number or a range, a range
    that runs backwards, a cell the model lacks, a cell listed twice. ``what``: the box, as a message names it."""
    items = [item.strip() for item in text.replace(";", ",").split(",")]
    if not any(items):
        raise RnnscopeError(f"the {what} is empty: give cells or ranges, e.g. 0-31, 40, 77")
    cells: list[int] = []
    for item in items:
        m = _ITEM.match(item)
        if not m:
            raise RnnscopeError(f"{what}: {item!r} is not a cell number or a range like 0-31")
        lo, hi = int(m[1]), int(m[2] if m[2] is not None else m[1])
        if hi < lo:
            raise RnnscopeError(f"{what}: the range {item!r} runs backwards (write {hi}-{lo})")
        if hi >= n_cells:
            raise RnnscopeError(f"{what}: cell {hi} does not exist; this model's cells are 0 .. {n_cells - 1}")
        cells.extend(range(lo, hi + 1))
    seen: set[int] = set()
    for c in cells:
        if c in seen:
            raise RnnscopeError(f"{what}: cell {c} is listed twice")
        seen.add(c)
    return np.asarray(cells, dtype=np.int64)


def pick_cells(text: str, n_cells: int, labels: Callable[[], Sequence[CellLabel] | None] | None = None) -> list[int]:
    """The cells the picker's ``text`` names: numbers and ranges read by parse_cells ("7, 12-15"), then the
    cells each label word names ("in_string", see ``cells_named``), each cell once; '' picks none.
    ``labels`` gives the Cells tab's labels, asked for only when a word is typed (the first time takes
    seconds). Refused with one line: what parse_cells refuses, a word no label names, a word where
    there are no labels, more than MAX_PICKED cells."""
    items = [item.strip() for item in text.replace(";", ",").split(",")]
    if not any(items):
        return []
    words = [item for item in items if _LETTER.search(item)]
    numbers = [item for item in items if not _LETTER.search(item)]
    picked = parse_cells(", ".join(numbers), n_cells, "cells to plot").tolist() if numbers else []
    if words:
        found = _labels_for(words[0], labels)
        for word in words:
            named = cells_named(word, found)
            if not named:
                raise RnnscopeError(f"cells to plot: no cell's label names {word!r} (the labels are the Cells tab's)")
            picked += [c for c in named if c not in picked]
    if len(picked) > MAX_PICKED:
        raise RnnscopeError(f"cells to plot: {text.strip()!r} picks {len(picked)} cells; at most {MAX_PICKED} "
                            f"can be plotted under the heatmap: pick fewer")
    return picked


def _labels_for(word: str, labels: Callable[[], Sequence[CellLabel] | None] | None) -> Sequence[CellLabel]:
    why = "there are no cell labels here to look it up in"
    try:
        found = labels() if labels is not None else None
    except RnnscopeError as e:
        found, why = None, f"the cells have no labels to look it up in: {str(e).rstrip('.')}"
    if not found:
        raise RnnscopeError(f"cells to plot: {word!r} is not a cell number or a range like 12-15, and {why}")
    return found


def _words(text: str) -> str:
    """Lower case, underscores as spaces, single spaces: "in_string" matches "in string"."""
    return " ".join(text.lower().replace("_", " ").split())


def cells_named(word: str, labels: Sequence[CellLabel]) -> list[int]:
    """The cells whose label names ``word``, in cell order: its one line (as the Cells tab shows it) holds the
    word, or the annotation of its finding is that word and the finding clears its shuffle null ("in_string"
    picks "+0.41 inside a string, ..."). Case and underscores aside."""
    key = _words(word)
    named = []
    for lab in labels:
        shown = lab.beyond if lab.shows_beyond else lab.best
        cleared = lab.shows_beyond or lab.cleared      # a finding beyond the character is shown only once cleared
        on = cleared and shown is not None and _words(shown.annotation) == key
        if on or key in _words(lab.label):
            named.append(int(lab.cell))
    return sorted(named)


def cells_text(cells: Sequence[int]) -> str:
    """e.g. "7, 12-15, 3": runs of three or more consecutive cells as ranges, in the order given."""
    parts, k = [], 0
    while k < len(cells):
        j = k
        while j + 1 < len(cells) and cells[j + 1] == cells[j] + 1:
            j += 1
        parts += [f"{cells[k]}-{cells[j]}"] if j - k >= 2 else [str(c) for c in cells[k:j + 1]]
        k = j + 1
    return ", ".join(parts)


def refusal(rows: str, top_k: int | None, cell_list: str, n_cells: int, whose: str) -> str:
    """Why the filter ``rows`` (with its k or cell list) cannot apply to ``n_cells`` cells, '' when it
    can: checked as it is entered. ``whose`` names the cells in the message ("this model's cells")."""
    try:
        if rows == LISTED:
            parse_cells(cell_list, n_cells)
        elif rows in TOP_K and not (top_k is not None and 1 <= top_k <= n_cells):
            got = "the box is empty" if top_k is None else f"got {top_k:,}"
            return f"k must be 1 .. {n_cells} ({whose}); {got}"
    except RnnscopeError as e:
        return str(e)
    return ""


@dataclass(frozen=True)
class RowFilter:
    """What the user asked for: ``kind`` one of FILTERS, ``k`` for a top-k, ``cells`` for a list."""
    kind: str = ALL
    k: int = 20
    cells: str = ""

    @property
    def ranking(self) -> str | None:
        """The ranking a top-k filter takes from (None: all cells or a list)."""
        return TOP_K.get(self.kind)

    def keep(self, n_cells: int, rankings: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
        """The cells to show (None: all) and what the title says of the filter ('' for all).
        ``rankings``: {ranking name: every cell, best first}."""
        if self.kind == ALL:
            return None, ""
        if self.kind == LISTED:
            cells = parse_cells(self.cells, n_cells)
            return cells, f"cells {self.cells.strip()}"
        if self.kind not in TOP_K:
            raise RnnscopeError(f"rows shown must be one of {list(FILTERS)}, got {self.kind!r}")
        if not 1 <= self.k <= n_cells:
            raise RnnscopeError(f"k must be 1 .. {n_cells} (this model's cells), got {self.k}")
        name = self.ranking
        if name not in rankings:
            raise RnnscopeError(f"no ranking by {RANKING_NAMES[name]} for this model and sequence")
        ranked = np.asarray(rankings[name])
        if sorted(ranked.tolist()) != list(range(n_cells)):
            raise ValueError(f"the {name} ranking is not a permutation of {n_cells} cells")
        return ranked[:self.k], f"top {self.k} by {RANKING_NAMES[name]}"


def filter_rows(order: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """The order's rows that are kept, still in the order's order."""
    if keep is None:
        return order
    return order[np.isin(order, keep)]


def showing_note(shown: int, total: int, what: str) -> str:
    """e.g. "showing 10 of 128 cells (filter: top 10 by label score ...)" ('' when unfiltered)."""
    return f"showing {shown:,} of {total:,} cells (filter: {what})" if what else ""
