"""What every page that draws a heatmap of cells holds, whatever made the states: the sequence shown
(``trace``), how its rows are ordered and filtered, which cells are plotted under it, and the message
saying why the last input was refused. AppState (a model's page, app/pages/state.py) and LstmvisState
(an LSTMVis directory's, app/pages/lstmvis/lstmvis_state.py) derive from it.

A subclass says how many cells its states have (``cell_count``), what they are called in a message
(``CELLS_NAME``), what the page goes on showing when an input is refused (``SHOWN``) and which rankings
its orders and filters need (``rankings``).

The tabs shared by both pages (the Match tab) read only this interface: ``trace``, ``selected``,
``shown_layer`` (the layer of ``trace`` on screen), ``show_cells`` (plot cells of a layer) and
``COLUMNS_MOVE_WITH`` (the parameters that change which character each heatmap column holds).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import param

from rnnscope.analysis.describe.labels import CellLabel
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing import row_filter
from rnnscope.app.drawing.ordering import ORDERS
from rnnscope.app.drawing.row_filter import ALL, FILTERS, RowFilter

ROW_FILTER_PARAMETERS = ["rows", "top_k", "cell_list"]


class RowsState(param.Parameterized):
    order = param.Selector(default="index", objects=list(ORDERS), label="Order cells by")
    selected = param.ListSelector(default=[], objects=[], label="Cells to plot")
    rows = param.Selector(default=ALL, objects=list(FILTERS), label="Rows shown")
    top_k = param.Integer(default=20, allow_None=True, label="k")
    cell_list = param.String(default="", label="Cells listed (e.g. 0-31, 40, 77)")

    trace = param.Parameter(default=None, precedence=-1, doc="the last good Trace")
    first_position = param.Integer(default=0, precedence=-1,
                                   doc="where the trace's first character stands in its stream (set with the trace)")
    sequence_note = param.String(default="", doc="what the sequence is")
    error = param.String(default="", doc="why the last input was refused, as the page says it ('' when it was not)")
    refusal = param.String(default="", precedence=-1,
                           doc="the bare reason the last input was refused ('' when it was not)")
    inspected = param.Parameter(default=None, precedence=-1,
                                doc="(cell, layer) a click last asked about: a model's page opens its cell card")

    SHOWN = "sequence"                    # "The page still shows the last good <SHOWN>."
    CELLS_NAME = "the cells"              # how a row filter's refusal names the cells
    COLUMNS_MOVE_WITH: tuple[str, ...] = ("trace",)

    def __init__(self, **params):
        super().__init__(**params)
        # Which input's message is on the page ('' for any other): a refused row filter's is cleared by the next
        # good filter, a refused pick's by the next good pick. Set by every refusal, so a later refusal of
        # anything else takes the message over.
        self._refused_by = ""
        self.param.watch(self._keep_row_filter, ROW_FILTER_PARAMETERS)

    # --- what a subclass says --------------------------------------------------------------
    def cell_count(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must say how many cells its states have")

    def cell_labels(self) -> Sequence[CellLabel] | None:
        """The labels of the cells shown (what a label word in the picker looks in); None: none here."""
        return None

    def rankings(self) -> dict[str, np.ndarray]:
        """{ranking: cells best first} that the order and the row filter in use need."""
        return {}

    @property
    def shown_layer(self) -> int:
        """The layer of ``trace`` on screen (states with one layer: 0)."""
        return 0

    def show_cells(self, cells: Iterable[int], layer: int = 0) -> None:
        """Plot ``cells`` (of ``layer``) under the heatmap, after the cells plotted already."""
        cells = [int(c) for c in cells]
        self.selected = [c for c in self.selected if c not in cells] + cells

    # --- cells plotted ---------------------------------------------------------------------
    def plot_cell(self, cell: int) -> None:
        """Plot ``cell`` under the heatmap (a heatmap or table row clicked); plotted already, nothing changes:
        a click never undoes what an earlier one showed (the sidebar's picker un-plots)."""
        if cell not in self.selected:
            self.selected = [*self.selected, cell]

    def pick(self, text: str, labels: Callable[[], Sequence[CellLabel] | None] | None = None) -> bool:
        """Plot the cells ``text`` names ("7, 12-15", a label word looked up in ``labels()``; '' none) instead of
        those plotted; refused, say why and change nothing. Whether it was taken."""
        try:
            cells = row_filter.pick_cells(text, self.cell_count(), labels)
        except RnnscopeError as e:
            self.refuse(str(e), by="picker")
            return False
        if self._refused_by == "picker":
            self._refused_by = ""
            self.param.update(error="", refusal="")
        self.selected = cells
        return True

    def inspect(self, cell: int, layer: int = 0) -> None:
        """A cell was clicked in a tab (a table row, a saturation point, a compare pair): ask about it, even if the
        same cell was asked about before (the card may have been left for another tab since)."""
        with param.discard_events(self):
            self.inspected = (int(cell), int(layer))
        self.param.trigger("inspected")

    # --- rows ------------------------------------------------------------------------------
    def row_filter(self) -> RowFilter:
        return RowFilter(self.rows, self.top_k or 0, self.cell_list)

    def _row_filter_refusal(self) -> str:
        """Why the row filter cannot apply to these states ('' when it can): checked as it is entered."""
        return row_filter.refusal(self.rows, self.top_k, self.cell_list, self.cell_count(), self.CELLS_NAME)

    def _keep_row_filter(self, *events) -> None:
        """A bad k or cell list is refused as it is entered, and the boxes snap back to the filter
        still shown; a good filter clears the message a bad one left."""
        why = self._row_filter_refusal()
        if why:
            self.refuse(why, by="row filter")
            with param.discard_events(self):
                for event in events:
                    setattr(self, event.name, event.old)
        elif self._refused_by == "row filter":
            self._refused_by = ""
            self.param.update(error="", refusal="")

    # --- refusals --------------------------------------------------------------------------
    def refuse(self, why: str, by: str = "") -> None:
        """Say why an input was refused: the bare reason, and the sentence the page shows. ``by``: the input
        whose next good value clears the message ("row filter", "picker"; '' none)."""
        why = why.rstrip(".")
        self._refused_by = by
        kept = f" The page still shows the last good {self.SHOWN}." if self.trace is not None else ""
        self.param.update(refusal=why, error=why + "." + kept)
