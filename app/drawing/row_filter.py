"""Which heatmap rows are shown: all cells, the top k of a ranking, or a list typed by the user
("0-31, 40, 77"). The filter picks the cells; the order (app/drawing/ordering.py) still places them, so
the two compose. NumPy only; a bad list raises RnnscopeError with one line and the caller keeps
what it showed."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

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


def parse_cells(text: str, n_cells: int) -> np.ndarray:
    """Cell numbers from "0-31, 40, 77" (ranges inclusive, in the order written). Refused, with
    the offending item named: an empty list, an item that is not a number or a range, a range
    that runs backwards, a cell the model lacks, a cell listed twice."""
    items = [item.strip() for item in text.replace(";", ",").split(",")]
    if not any(items):
        raise RnnscopeError("the cell list is empty: give cells or ranges, e.g. 0-31, 40, 77")
    cells: list[int] = []
    for item in items:
        m = _ITEM.match(item)
        if not m:
            raise RnnscopeError(f"cell list: {item!r} is not a cell number or a range like 0-31")
        lo, hi = int(m[1]), int(m[2] if m[2] is not None else m[1])
        if hi < lo:
            raise RnnscopeError(f"cell list: the range {item!r} runs backwards (write {hi}-{lo})")
        if hi >= n_cells:
            raise RnnscopeError(f"cell list: cell {hi} does not exist; this model's cells are 0 .. {n_cells - 1}")
        cells.extend(range(lo, hi + 1))
    seen: set[int] = set()
    for c in cells:
        if c in seen:
            raise RnnscopeError(f"cell list: cell {c} is listed twice")
        seen.add(c)
    return np.asarray(cells, dtype=np.int64)


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
