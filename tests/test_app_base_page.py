"""The base page and its rows-state, on the smallest states that make a heatmap: four cells over twelve
steps, no model and no file. Set parameters, read ``source.data``."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import panel as pn
import param
import pytest

from rnnscope.app.drawing.frame import STATES_ONLY, Frame, make_frame
from rnnscope.app.drawing.row_filter import ALL, LISTED
from rnnscope.app.pages.base_page import BUTTONS_MAX, BasePage
from rnnscope.app.pages.rows_state import RowsState
from rnnscope.app.tabs.match_tab import MatchTab
from rnnscope.models.reading.trace import Trace

H, T = 4, 12
VIEW = "states"


def four_cells() -> Trace:
    values = np.linspace(-0.9, -0.1, T * H, dtype=np.float32).reshape(T, H)
    values[8:11, 1] = 0.8                 # cell 1 is on at steps 8 .. 10 only
    return Trace(text="ab (cd) ef g", vocab=[], cell=STATES_ONLY, hidden=[values], gates=[{VIEW: values}],
                 probs=np.zeros((T, 0), np.float32))


class FourCells(RowsState):
    SHOWN = "window"
    CELLS_NAME = "these four cells"

    def __init__(self, **params):
        super().__init__(**params)
        self.param.selected.objects = list(range(H))
        self.param.rows.objects = [ALL, LISTED]
        self.trace = four_cells()

    def cell_count(self) -> int:
        return H


class FourCellsPage(BasePage):
    state = param.ClassSelector(class_=FourCells)

    def __init__(self, **params):
        super().__init__(**params)
        self.match = SpanOnly(state=self.state, figure=self.scope.heatmap.figure, frame=lambda: self.frame)
        self._start()
        self.tools = pn.Tabs(("Match", self.match))

    def _make_frame(self) -> Frame:
        s = self.state
        return make_frame(s.trace, VIEW, 0, s.order, list(s.selected), rows=s.row_filter(), rankings=s.rankings())

    def sidebar(self) -> list:
        return [*self.rows_widgets(), *self.picker_widgets()]


class SpanOnly(MatchTab):
    """A Match tab with nothing to match against: enough to see what it asks of the state."""

    def _corpus(self):
        raise OSError("no corpus here")


@pytest.fixture
def page() -> FourCellsPage:
    return FourCellsPage(state=FourCells())


def rows_drawn(page: FourCellsPage) -> int:
    return np.concatenate(page.scope.heatmap.source.data["image"], axis=1).shape[0]


def test_the_page_draws_the_state_and_follows_the_row_filter(page):
    assert rows_drawn(page) == H
    page.state.param.update(cell_list="1, 3", rows=LISTED)
    assert rows_drawn(page) == 2 and list(page.frame.cells) == [1, 3]


def test_a_bad_cell_list_is_refused_snaps_back_and_a_good_one_clears_the_message(page):
    s = page.state
    s.param.update(cell_list="0-1", rows=LISTED)
    s.cell_list = "7"
    assert s.cell_list == "0-1" and list(page.frame.cells) == [0, 1]
    assert s.error == ("cell list: cell 7 does not exist; this model's cells are 0 .. 3. "
                       "The page still shows the last good window.")
    s.cell_list = "2"
    assert s.error == "" and s.refusal == "" and list(page.frame.cells) == [2]


def test_a_good_filter_leaves_another_refusal_on_the_page(page):
    s = page.state
    s.cell_list = "9"                         # a filter refused ...
    s.refuse("start must be 0 .. 11")         # ... then something else: its message stays
    s.cell_list = "1"
    assert s.error == "start must be 0 .. 11. The page still shows the last good window."


def test_a_click_plots_its_row_and_a_second_click_never_unplots_it(page):
    s = page.state
    top = SimpleNamespace(x=3.0, y=float(H - 1))         # the top row is cell 0
    page._on_tap(top)
    assert s.selected == [0] and page.scope.tracks.cells.visible
    page._on_tap(top)
    assert s.selected == [0] and page.scope.tracks.cells.visible
    s.selected = []
    page._on_tap(SimpleNamespace(x=3.0, y=-5.0))          # below every row: nothing
    assert s.selected == []
    s.plot_cell(2)
    s.plot_cell(2)
    assert s.selected == [2]


def test_the_match_tab_needs_only_the_rows_state(page):
    s = page.state
    page.match.threshold = 0.0
    page.match.select(8, 10)
    assert list(page.match.cells) == [1] and page.match.selection["layer"] == s.shown_layer == 0
    assert "nothing to match against: no corpus here" in page.match.error.object
    page.match.param.trigger("plot_cells")
    assert s.selected == [1]


def test_show_cells_puts_the_new_cells_last_once_each():
    s = FourCells()
    s.selected = [3, 1]
    s.show_cells([1, 2])
    assert s.selected == [3, 1, 2]


def test_a_subclass_must_say_how_many_cells_it_has():
    class Nameless(RowsState):
        pass

    with pytest.raises(NotImplementedError, match="Nameless must say how many cells"):
        Nameless().rows = LISTED


# --- the cell picker ----------------------------------------------------------------------------
def test_the_picker_plots_the_listed_cells_and_says_which(page):
    s, picker = page.state, page.picker
    assert picker.note.object == "no cell picked"
    picker.box.value = "0, 2-3"
    assert s.selected == [0, 2, 3] and list(page.frame.selected) == [0, 2, 3]
    assert page.scope.tracks.cells_source.data["label"] == ["cell 0", "cell 2", "cell 3"]
    assert picker.note.object == "picked 3 cells: 0, 2, 3"
    page._on_tap(SimpleNamespace(x=3.0, y=float(H - 2)))     # a click adds cell 1: the line says so too
    assert picker.note.object == "picked 4 cells: 0, 2, 3, 1"
    picker.box.value = "1-3"
    assert s.selected == [1, 2, 3] and picker.note.object == "picked 3 cells: 1-3"
    picker.box.value = " "                                   # an empty box: nothing plotted
    assert s.selected == [] and not page.scope.tracks.cells.visible and s.error == ""


@pytest.mark.parametrize("typed, said", [
    ("0, 9", "cells to plot: cell 9 does not exist; this model's cells are 0 .. 3"),
    ("3-1", "cells to plot: the range '3-1' runs backwards (write 1-3)"),
    ("1, 1", "cells to plot: cell 1 is listed twice"),
    ("2, -", "cells to plot: '-' is not a cell number or a range like 0-31"),
    ("in_string", "cells to plot: 'in_string' is not a cell number or a range like 12-15, and there are no cell "
                  "labels here to look it up in")])
def test_a_bad_pick_is_refused_changes_nothing_and_the_box_snaps_back(page, typed, said):
    s, picker = page.state, page.picker
    picker.box.value = "2"
    before = page.frame
    picker.box.value = typed
    assert s.error == said + ". The page still shows the last good window." and s.refusal == said
    assert s.selected == [2] and picker.box.value == "2" and page.frame is before
    assert picker.note.object == "picked 1 cell: 2"
    picker.box.value = "1"                                  # the next good pick clears its message
    assert s.error == "" and s.selected == [1]


def test_a_good_pick_leaves_another_inputs_refusal_and_a_good_filter_a_refused_pick(page):
    s, picker = page.state, page.picker
    picker.box.value = "7"
    s.cell_list = "1"                                       # a good row filter: the pick's message stays
    assert s.error.startswith("cells to plot: cell 7 does not exist")
    s.refuse("start must be 0 .. 11")
    picker.box.value = "1"                                  # a good pick: another input's message stays
    assert s.error == "start must be 0 .. 11. The page still shows the last good window." and s.selected == [1]


def test_the_toggle_buttons_show_only_while_the_cells_are_few(page):
    s, picker = page.state, page.picker
    assert picker.buttons.visible and list(picker.buttons.options.values()) == [0, 1, 2, 3]
    picker.box.value = "1, 3"
    assert picker.buttons.value == [1, 3]                  # the buttons follow the box, and the box's line them
    picker.buttons.value = [1]
    assert s.selected == [1] and picker.note.object == "picked 1 cell: 1"
    s.param.selected.objects = list(range(BUTTONS_MAX + 1))   # states of 33 cells: the box alone
    assert not picker.buttons.visible
    s.param.selected.objects = list(range(BUTTONS_MAX))
    assert picker.buttons.visible
