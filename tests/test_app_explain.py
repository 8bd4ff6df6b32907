"""The Explain tab: a click on the heatmap explains that cell at that
step, the terms adding up to the value shown -- at the true position when separators are hidden."""
from __future__ import annotations

from rnnscope.app.pages.page import Page
from rnnscope.app.pages.state import AppState



class Tap:
    def __init__(self, x: float, y: float):
        self.x, self.y = x, y


def test_a_click_explains_that_cell_at_that_step(default_model):
    page = Page(AppState(default_model, index=5_000, window=100))
    assert "Click a cell" in page.explain.text.object
    page._on_tap(Tap(x=10, y=14 - 2))                 # step 10, the third row from the top
    cell = int(page.frame.cells[2])
    assert (page.explain.cell, page.explain.step) == (cell, 10)
    text = page.explain.text.object
    # positions count from the stream's start: the window begins at held-out character 5,000
    assert f"**Cell {cell}, layer 0, position 5,010**" in text and "| z |" in text and "h = (1 \u2212 z)" in text
    char = page.state.trace.text[10]
    assert f"input {char!r} " in text and "embedding" not in text     # input terms named by the character
    assert "**In words:** z = " in text
    shown = float(page.state.trace.hidden[0][10, cell])
    assert f"the heatmap shows {shown:+.6f}" in text
    difference = float(text.rsplit("(difference ", 1)[1].split(")")[0])
    assert difference < 1e-5


def test_with_separators_hidden_a_click_explains_the_true_position(default_model):
    state = AppState(default_model, index=5_000, window=100)
    page = Page(state)
    state.hide_separators = True
    page._on_tap(Tap(x=3, y=14))                      # the fourth kept column, the top row
    assert page.explain.step == int(page.frame.char_positions[3]) and page.explain.step > 3
    assert state.trace.text[page.explain.step] != " "


def test_a_new_sequence_forgets_the_click(default_model):
    state = AppState(default_model)
    page = Page(state)
    page._on_tap(Tap(x=1, y=0))
    state.index = 300
    assert page.explain.cell is None and "Click a cell" in page.explain.text.object


def test_a_second_click_on_the_same_cell_keeps_it_plotted_and_explained(default_model):
    page = Page(AppState(default_model, index=5_000, window=100))
    tap = Tap(x=10, y=14 - 2)
    page._on_tap(tap)
    cell = int(page.frame.cells[2])
    page._on_tap(tap)
    assert page.state.selected == [cell] and (page.explain.cell, page.explain.step) == (cell, 10)
