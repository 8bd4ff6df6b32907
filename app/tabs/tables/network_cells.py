"""The cells behind the whole-network views, as the tables the Automaton and Dynamics tabs show under their plots:
which cells the automaton's states account for, and which cells span the projection. A row clicked opens that
cell's card (its sections "In the automaton" and "In the dynamics" give the same numbers for one cell)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from rnnscope.analysis.automaton.cell_states import CellStates
from rnnscope.analysis.dynamics.cell_roles import plane_shares, ranked
from rnnscope.analysis.dynamics.projection import Projection
from rnnscope.grammar.dfa import Dfa

from rnnscope.app.tabs.tables.fresh_table import FreshTable

AUTOMATON_TITLES = {"cell": "cell", "eta2": "eta\u00b2", "null_99": "null p99", "highest": "highest in",
                    "high_mean": "mean", "lowest": "lowest in", "low_mean": "mean "}
PROJECTION_TITLES = {"cell": "cell", "entry": "entry", "PC1": "PC1 loading", "PC2": "PC2 loading",
                     "share": "share of the plane"}
PROJECTION_ROWS = 10        # the entries shown: a 128-cell LSTM's state has 256
# Empty frames typed as when full: a table keeps the column formatters of the first frame it was given.
AUTOMATON_TYPES = {"cell": "int64", "eta2": "float64", "null_99": "float64", "highest": object, "high_mean": "float64",
                   "lowest": object, "low_mean": "float64"}
PROJECTION_TYPES = {"cell": "int64", "entry": object, "PC1": "float64", "PC2": "float64", "share": "float64"}


def cells_table(frame: pd.DataFrame, titles: dict, on_click) -> FreshTable:
    return FreshTable(frame, on_click, show_index=False, disabled=True, selectable=False, titles=titles,
                      layout="fit_data_table", sortable=False)


def automaton_cells_frame(dfa: Dfa | None, cs: CellStates | None) -> pd.DataFrame:
    """Every cell by eta² (highest first), with its null and the visited states where its mean is highest and
    lowest (named by the grammar state they stand for)."""
    if dfa is None or cs is None:
        return typed([], AUTOMATON_TYPES)
    visited = np.flatnonzero(cs.counts)
    names = [dfa.names[s].split(" (after ")[0] if dfa.names else f"state {s}" for s in range(dfa.n_states)]
    rows = []
    for cell in cs.ranking():
        means = cs.means[cell, visited]
        hi, lo = visited[int(np.argmax(means))], visited[int(np.argmin(means))]
        rows.append({"cell": int(cell), "eta2": round(float(cs.eta2[cell]), 4),
                     "null_99": round(float(cs.null_99[cell]), 4),
                     "highest": names[hi], "high_mean": round(float(cs.means[cell, hi]), 3),
                     "lowest": names[lo], "low_mean": round(float(cs.means[cell, lo]), 3)})
    return typed(rows, AUTOMATON_TYPES)


def projection_cells_frame(projection: Projection | None, hidden_size: int, parts: tuple[str, ...]) -> pd.DataFrame:
    """The PROJECTION_ROWS state entries (a cell's h, or c) with the largest share of the projection's plane."""
    if projection is None:
        return typed([], PROJECTION_TYPES)
    shares = plane_shares(projection)
    rows = []
    for i in ranked(shares)[:PROJECTION_ROWS]:
        part, cell = parts[i // hidden_size], int(i % hidden_size)
        loads = projection.components[:, i]
        rows.append({"cell": cell, "entry": f"{part} {cell}", "PC1": round(float(loads[0]), 3),
                     "PC2": round(float(loads[1]), 3), "share": round(float(shares[i]), 4)})
    return typed(rows, PROJECTION_TYPES)


def typed(rows: list[dict], types: dict) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=t) for k, t in types.items()})


def automaton_cells_note(cs: CellStates, view: str, layer: int) -> str:
    return (f"**The cells and the automaton's states:** eta\u00b2 is the share of a cell's {view} variance "
            f"(layer {layer}) between the automaton's states, over the first {cs.chars:,} held-out characters read in "
            "context, each paired with the state the automaton is in after it; null p99: the 99th percentile of "
            "eta\u00b2 with the states shuffled. Click a row for the cell's card.")


def projection_cells_note(projection: Projection) -> str:
    D = len(projection.mean)
    return (f"**The cells that span the projection:** the {min(PROJECTION_ROWS, D)} of the layer's {D} state numbers "
            f"with the largest share of its plane (squared loadings averaged over the axes; an equal share would be "
            f"{1 / D:.3f}). Click a row for the cell's card.")
