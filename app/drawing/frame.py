"""What is on screen, as plain arrays: one Frame is drawn by the page and by the export
alike, which is how the export shows exactly what the page shows. NumPy only."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from rnnscope.analysis.describe.divergence import Divergence
from rnnscope.grammar import SEPARATOR
from rnnscope.models.reading.trace import VIEW_LABELS, Trace, value_range

from rnnscope.app.drawing.ordering import cell_order, depth_correlation, ranking_by_correlation
from rnnscope.app.drawing.probe_track import ProbeTrack
from rnnscope.app.drawing.row_filter import RowFilter, filter_rows, showing_note


STATES_ONLY = "states only"     # Trace.cell of states read from a file with no model behind them (no predictions)


@dataclass
class Frame:
    text: str
    title: str                 # e.g. "hidden state h, layer 0"
    values: np.ndarray         # [H, T] float32, rows in display order (row 0 = top)
    cells: np.ndarray          # [H] true cell number of each displayed row
    low: float                 # fixed colour range, stated on the colour bar
    high: float
    depth: np.ndarray | None   # [T] grammar depth (None: not grammar text)
    p_next: np.ndarray         # [T] p(actual next char) from the state after char t; NaN at the end
                               # (separators hidden: p of all that comes up to the next shown column)
    correlation: np.ndarray | None  # [H] r(cell, depth) by true cell number
    selected: list[int] = field(default_factory=list)   # true cell numbers drawn as lines
    x_start: float | None = None   # visible x range (None: the whole sequence)
    x_end: float | None = None
    order: str = "index"           # how the rows are ordered
    # Separator columns hidden: ``text`` and every [T] array hold the kept columns only, and
    # positions[t] is the true character index of column t (None: column t is character t).
    # ``hidden`` counts the columns left out; ``hidden_note`` says so on the page, e.g.
    # "separators ␣ hidden: 50 of 100 columns" ('' when hiding was not asked for).
    positions: np.ndarray | None = None
    hidden: int = 0
    hidden_note: str = ""
    # The grammar's oracle against the model (analysis/describe/divergence.py), per column: KL(oracle || model)
    # in nats and the mass on characters the grammar forbids there; NaN where the text left the
    # grammar, None for a model of other text. Separators hidden: summed up to the next shown column.
    kl: np.ndarray | None = None
    illegal: np.ndarray | None = None
    labels: list[str] | None = None     # one per displayed row, in place of the order's own (a comparison's pairs)
    # The depth a linear probe reads from this layer's states, per column (app/drawing/probe_track.py), and
    # the track's title with the probe's held-out accuracy; None for a model of text.
    probe_depth: np.ndarray | None = None
    probe_title: str = ""
    # [k, T] the selected cells' values by true cell number, in ``selected``'s order: kept apart
    # from ``values`` because a row filter may hide a selected cell's row (None: read ``values``).
    selected_rows: np.ndarray | None = None
    total_cells: int | None = None      # the layer's cells, shown or filtered out (None: all are shown)
    # The word at each column where a column is a word of several characters (an LSTMVis file of a word
    # model; ``text`` then holds one stand-in character per column), None: ``text`` is what is shown.
    words: list[str] | None = None
    predictions: bool = True            # the model's next-character probabilities exist (False: states only)
    # Where the first character stands in its stream (a held-out window's index, an LSTMVis window's first
    # step; 0 for typed or sampled text): what the page shows counts from the stream's start, so a match at
    # 78 .. 81 reads 78 .. 81 in a window loaded from 30. Indexing the arrays stays by column.
    offset: int = 0

    @property
    def row_labels(self) -> list[str]:
        """One per displayed row. Ordered by depth, each label also gives the correlation that
        put the cell there, so the order can be read, not just trusted."""
        if self.labels is not None:
            return list(self.labels)
        if self.order == "depth" and self.correlation is not None:
            if self.depth is not None and np.ptp(self.depth) == 0:      # r with a constant is undefined
                return [f"cell {c}  r=n/a" for c in self.cells]
            return [f"cell {c}  r={signed(self.correlation[c])}" for c in self.cells]
        return [f"cell {c}" for c in self.cells]

    @property
    def surprisal(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return -np.log(self.p_next)

    @property
    def char_positions(self) -> np.ndarray:
        """[T] the true character index of each column."""
        return np.arange(len(self.text)) if self.positions is None else self.positions

    @property
    def stream_positions(self) -> np.ndarray:
        """[T] each column's position in its stream: what the axis, the hover and the messages show."""
        return self.char_positions + self.offset

    def selected_values(self) -> np.ndarray:
        """[k, T] the selected cells' values, by true cell number."""
        if self.selected_rows is not None:
            return self.selected_rows
        rows = {c: i for i, c in enumerate(self.cells)}
        if not self.selected:
            return np.zeros((0, len(self.text)), np.float32)
        return np.stack([self.values[rows[c]] for c in self.selected])


def signed(r: float) -> str:
    """r to 2 places with its sign, never a signed zero: -0.001 reads +0.00, not -0.00."""
    return f"{round(float(r), 2) + 0.0:+.2f}"      # + 0.0 turns -0.0 into 0.0


def separator_columns(trace: Trace) -> np.ndarray:
    """[T] bool, True at separators: the grammar's own (its annotation says which characters
    are separators, whatever the grammar uses), for any other text the spaces."""
    kind = trace.annotations.get("kind")
    if kind is not None:
        return np.asarray(kind) == SEPARATOR
    return np.frombuffer(trace.text.encode("utf-32-le"), dtype=np.uint32) == ord(" ")


def without_separators(frame: Frame, separators: np.ndarray) -> Frame:
    """The frame with the separator columns left out, each kept column remembering its true
    position. Rows, their order and r stay those of the whole sequence, so hiding the
    separators changes which columns are drawn and nothing else. A text of nothing but
    separators keeps them all (an empty heatmap would say nothing), and says so."""
    keep = ~separators
    if not separators.any():
        return dataclasses.replace(frame, hidden_note="no separators to hide")
    if not keep.any():
        return dataclasses.replace(frame, hidden_note="nothing but separators: none hidden")
    chars = "".join(sorted(set(np.array(list(frame.text))[separators])))
    text = "".join(np.array(list(frame.text))[keep])
    positions = np.flatnonzero(keep)
    return dataclasses.replace(
        frame, text=text, values=np.ascontiguousarray(frame.values[:, keep]),
        depth=None if frame.depth is None else frame.depth[keep], p_next=p_up_to_next(frame.p_next, positions),
        kl=None if frame.kl is None else np.add.reduceat(frame.kl, positions),
        illegal=None if frame.illegal is None else np.add.reduceat(frame.illegal, positions),
        probe_depth=None if frame.probe_depth is None else frame.probe_depth[keep],
        selected_rows=None if frame.selected_rows is None else np.ascontiguousarray(frame.selected_rows[:, keep]),
        positions=positions, hidden=int(separators.sum()),
        hidden_note=f"separators {shown_char(chars)} hidden: {separators.sum():,} of {len(frame.text):,} columns")


def p_up_to_next(p_next: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each kept column, the probability of everything up to and including the next kept
    character: the next character alone is (nearly always) the hidden separator, p ~ 1, which
    says nothing; the product over the hidden stretch and the next token is what the model
    risked. Surprisals add up, so this also keeps the separators' own surprisal in sight."""
    with np.errstate(divide="ignore"):
        return np.exp(np.add.reduceat(np.log(p_next.astype(np.float64)), positions)).astype(np.float32)


def shown_char(chars: str) -> str:
    """Characters as the axis draws them (a space is ␣)."""
    return chars.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")


def make_frame(trace: Trace, view: str = "h", layer: int = 0, order: str = "index",
               selected: list[int] | None = None, x_range: tuple[float, float] | None = None,
               hide_separators: bool = False, divergence: Divergence | None = None,
               probe: ProbeTrack | None = None, rows: RowFilter | None = None,
               rankings: dict[str, np.ndarray] | None = None,
               value_bounds: tuple[float, float] | None = None) -> Frame:
    """What the page draws. ``rows``: which cells are shown (app/drawing/row_filter.py); ``rankings``:
    the model's own rankings of its cells ({"label score" | "probe weight": cells, best first}),
    which the label-score order and the top-k filters read. ``value_bounds``: the colour range when
    the caller knows it for more than this sequence (an LSTMVis file's whole states)."""
    values = trace.values(view, layer)                                   # [T, H]
    depth = trace.annotations.get("depth")
    has_depth = depth is not None and len(depth) > 1
    corr = depth_correlation(values, depth) if has_depth else None
    rankings = dict(rankings or {})
    if has_depth and np.ptp(depth) > 0:
        rankings["depth"] = ranking_by_correlation(corr)
    order_rows, order_note = cell_order(values, depth, order, rankings.get("label score"), rankings.get("depth"))
    n_cells = values.shape[1]
    keep, filter_what = (rows or RowFilter()).keep(n_cells, rankings)
    shown = filter_rows(order_rows, keep)
    # fixed per view: colours mean the same across sequences
    low, high = value_bounds if value_bounds is not None else value_range(view, values)
    p_next = np.full(len(trace), np.nan, dtype=np.float32)
    p_next[:-1] = trace.next_char_prob()
    layers = f", layer {layer}" if trace.num_layers > 1 else ""
    sel = [c for c in (selected or []) if 0 <= c < n_cells]
    showing = showing_note(len(shown), n_cells, filter_what)
    notes = (f" ({order_note})" if order_note else "") + (f" \u2014 {showing}" if showing else "")
    frame = Frame(text=trace.text, title=f"{VIEW_LABELS.get(view, view)}{layers}{notes}",
                  values=np.ascontiguousarray(values[:, shown].T, dtype=np.float32), cells=shown,
                  low=low, high=high, depth=depth, p_next=p_next, correlation=corr, selected=sel,
                  x_start=x_range[0] if x_range else None, x_end=x_range[1] if x_range else None,
                  order=order,
                  kl=None if divergence is None else divergence.kl.astype(np.float32),
                  illegal=None if divergence is None else divergence.illegal.astype(np.float32),
                  probe_depth=None if probe is None else probe.predicted[layer],
                  probe_title="" if probe is None else probe.title(layer),
                  selected_rows=np.ascontiguousarray(values[:, sel].T, dtype=np.float32), total_cells=n_cells,
                  predictions=trace.cell != STATES_ONLY)
    return without_separators(frame, separator_columns(trace)) if hide_separators else frame
