"""The state of a page opened on an LSTMVis directory (app/pages/lstmvis/lstmvis_source.py), in one Parameterized as
app/pages/state.py holds a model's page: which states, which window, which rows. Every bad input leaves a
one-line message in ``error`` and keeps the window shown; the boxes snap back to it.

Only what makes sense without a model is offered: orders by index, by cluster and -- where there
are meta tracks to label the cells against -- by label score; row filters all / listed / top k by
label score. The window's Trace has one layer: the states chosen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import param

from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages.lstmvis.lstmvis_source import MAX_WINDOW, open_source
from rnnscope.app.drawing.ordering import label_score_ranking
from rnnscope.app.drawing.row_filter import ALL, LISTED, TOP_K
from rnnscope.app.pages.rows_state import RowsState

LSTMVIS_ENV = "RNNSCOPE_LSTMVIS"      # serve.py --lstmvis passes the directory this way
BY_LABEL = "top k by label score"
KNOWN = ("These are states read from an LSTMVis directory: there are no weights, so nothing here is traced, "
         "predicted, probed, ablated, explained or sampled. The page cannot know how the states were made "
         "(read in context from the stream's start, or on which text): the file says only what it holds.")


class LstmvisState(RowsState):
    directory = param.String(default="", constant=True, label="LSTMVis directory")
    states = param.Selector(objects=[], label="States (type, layer)")
    start = param.Integer(default=0, allow_None=True, label="Start (step)")
    window = param.Integer(default=100, allow_None=True, label=f"Window (\u2264 {MAX_WINDOW:,})")
    order = param.Selector(default="index", objects=["index", "cluster"], label="Order cells by")
    rows = param.Selector(default=ALL, objects=[ALL, LISTED], label="Rows shown")

    source_note = param.String(default="", doc="the directory in one line, and what the page knows of it")

    SHOWN = "window"
    CELLS_NAME = "these states' cells"

    def __init__(self, directory: str | Path, **params):
        source = open_source(directory)        # raises RnnscopeError: a bad directory opens no page
        super().__init__(directory=str(source.directory), **params)
        self.source = source
        self._shown = {"start": 0, "window": 100}
        self._restoring = False
        labels = source.labels
        self.param.states.objects = labels
        offered = [ALL, *([BY_LABEL] if source.data.annotations else []), LISTED]
        self.param.rows.objects = offered
        self.param.order.objects = ["index", "cluster", *(["label score"] if source.data.annotations else [])]
        with param.discard_events(self):
            self.states = next(iter(labels.values()))
            if "top_k" not in params:         # the default k, for states narrower than it: all their cells
                self.top_k = min(self.top_k, source.values(self.states).shape[1])
        self._offer_cells()
        words = "characters" if source.one_char_words else "words"
        tracks = ", ".join(source.data.annotations) or "none"
        self.source_note = (f"{source.directory}: {len(source):,} {words}, {len(labels)} states dataset(s); "
                            f"meta tracks: {tracks}. {KNOWN}")
        if not self._load():
            raise RnnscopeError(self.refusal)

    # --- which states ----------------------------------------------------------------------
    def _offer_cells(self) -> None:
        n = self.cell_count()
        self.param.selected.objects = {f"cell {c}": c for c in range(n)}
        with param.discard_events(self):
            self.selected = [c for c in self.selected if c < n]

    @param.depends("states", watch=True)
    def _on_states(self) -> None:
        self._offer_cells()
        if self.rows != ALL and self._row_filter_refusal():      # a list or k the new states lack: all cells
            with param.discard_events(self):
                self.rows = ALL
        self._load()

    # --- which steps -----------------------------------------------------------------------
    @param.depends("start", "window", watch=True)
    def _on_window(self) -> None:
        if not self._restoring and not self._load():
            self._restoring = True
            try:
                self.param.update(**self._shown)
            finally:
                self._restoring = False

    def _window_refusal(self) -> str:
        T = len(self.source)
        if self.start is None or not 0 <= self.start < T:
            got = "the box is empty" if self.start is None else f"got {self.start:,}"
            return f"start must be 0 .. {T - 1:,} (the file's steps); {got}"
        if self.window is None or not 1 <= self.window <= MAX_WINDOW:
            got = "the box is empty" if self.window is None else f"got {self.window:,}"
            return f"window must be 1 .. {MAX_WINDOW:,} steps (the most the page draws at once); {got}"
        return ""

    def _load(self) -> bool:
        try:
            why = self._window_refusal()
            if why:
                raise RnnscopeError(why)
            trace = self.source.window(self.states, self.start, self.window)
        except RnnscopeError as e:
            self.refuse(str(e))
            return False
        n = len(trace)
        short = (f" (the file ends there: {n:,} of the {self.window:,} steps asked for)" if n < self.window else "")
        self._shown = {"start": self.start, "window": self.window}
        note = f"steps {self.start:,} .. {self.start + n - 1:,} of {len(self.source):,}{short}"
        self.param.update(error="", refusal="", first_position=self.start, trace=trace, sequence_note=note)
        return True

    # --- rows ------------------------------------------------------------------------------
    def cell_count(self) -> int:
        return self.source.values(self.states).shape[1]

    def cell_labels(self):
        """Labels of every cell of the states shown against the meta tracks, over the whole file
        (analysis/describe/labels.py); None without meta tracks."""
        return self.source.cell_labels(self.states)

    def rankings(self) -> dict[str, np.ndarray]:
        """The label-score ranking, when the order or the filter asks for it (labelling takes a moment)."""
        if "label score" not in (self.order, TOP_K.get(self.rows)) or not self.source.data.annotations:
            return {}
        labels = self.cell_labels()
        return {"label score": label_score_ranking(labels, self.cell_count())}
