"""The cell card opened from each of its entry points in a real browser, on the served shipped GRU: a probe's
largest-weight button, a saturation point, a Compare pair, an Automaton row and a Dynamics row (the heatmap and
the Cells table: test_browser_cell_card.py; a Match on-cell: test_browser_match.py). Each opens the card of its
own cell, and every held-out section shows the numbers of the same card computed in this process from the same
functions (tests/test_app_cell_card.py holds those to `rnnscope probe --json`'s)."""
from __future__ import annotations

import re

import pytest
from browser_card import check_against_reference, wait_for_card
from browser_fixtures import PAGE_TIMEOUT_MS
from browser_pages import DATA_AT, LONELIEST_POINT, TABLES_REDRAWN_IN_VIEW
from playwright.sync_api import expect

from rnnscope.models.network import checkpoint


pytestmark = [pytest.mark.browser, pytest.mark.slow]




def show(page, tab: str) -> None:
    page.locator(".bk-tab").filter(has_text=re.compile(rf"^{tab}$")).click()


def click_row(page, table, row: int = 0, field: str = "cell") -> int:
    """Click the ``row``-th row of ``table`` (a locator of one Tabulator) on its ``field`` column, the cell's
    number; returns it. The row is waited for first: the tables are drawn anew when their rows come (an empty
    one stands before), and a click during that redraw would reach no row. Then the table is scrolled into view
    and the click waits for the redraw that brings (click_table_cell in browser_pages.py says why)."""
    cell = table.locator(".tabulator-row").nth(row).locator(f'.tabulator-cell[tabulator-field="{field}"]')
    cell.wait_for(timeout=PAGE_TIMEOUT_MS * 2)
    table.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_function(TABLES_REDRAWN_IN_VIEW, timeout=PAGE_TIMEOUT_MS)
    number = int(cell.inner_text())
    cell.click()
    return number


def test_every_entry_point_opens_the_card_of_its_cell_with_the_numbers_computed_here(app, reference_card):
    page = app.page
    opened = {}

    # the first probe's cell of largest weight: the first "cell N" button after the sidebar's cell picker's, one
    # per cell, all drawn before the tab's are counted (counted while the sidebar drew, a picker's was clicked)
    buttons = page.get_by_role("button", name=re.compile(r"^cell \d+$"))
    cells = checkpoint.read_config(reference_card.model)["model"]["hidden_size"]
    expect(buttons).to_have_count(cells, timeout=PAGE_TIMEOUT_MS)
    show(page, "Probes")
    button = buttons.nth(cells)
    button.wait_for(timeout=PAGE_TIMEOUT_MS)
    # the curves joined: they come above the buttons, and one coming between the click's aim and its press would
    # take the click
    expect(page.get_by_text("Accuracy against the number of cells (and cells for 99%): computing")).to_have_count(
        0, timeout=PAGE_TIMEOUT_MS)
    cell = int(button.inner_text().split()[1])
    button.click()
    opened["probe weight"] = (cell, check_against_reference(wait_for_card(page, cell), reference_card))

    show(page, "Automaton")                # the cells by eta²: the second row
    table = page.locator(".tabulator").filter(has=page.locator('[tabulator-field="eta2"]'))
    cell = click_row(page, table, 1)
    opened["automaton row"] = (cell, check_against_reference(wait_for_card(page, cell), reference_card))

    show(page, "Dynamics")                 # the entries of the largest share of the plane: the first row
    table = page.locator(".tabulator").filter(has=page.locator('[tabulator-field="share"]'))
    cell = click_row(page, table, 0)
    opened["dynamics row"] = (cell, check_against_reference(wait_for_card(page, cell), reference_card))

    show(page, "Compare")                  # model B: the shipped GRU's second seed; the first pair
    table = page.locator(".tabulator").filter(has=page.locator('[tabulator-field="A cell"]'))
    cell = click_row(page, table, 0, "A cell")
    opened["compare pair"] = (cell, check_against_reference(wait_for_card(page, cell), reference_card))

    show(page, "Saturation")               # the update gate's loneliest point: one cell, the view z
    page.wait_for_function("""() => [...Bokeh.documents[0]._all_models.values()].some(
        m => m.type === "Figure" && m.title && m.title.text === "layer 0: z")""", timeout=PAGE_TIMEOUT_MS * 3)
    app.settle()
    left, right, cell = page.evaluate(LONELIEST_POINT, "layer 0: z")
    at = page.evaluate(DATA_AT, ["layer 0: z", left, right])
    page.mouse.click(at["x"], at["y"])
    text = wait_for_card(page, cell)
    assert "Shown view z" in text.replace("\n", " ")
    opened["saturation point"] = (cell, check_against_reference(text, reference_card))

    assert all(asked == got for asked, got in opened.values()), opened
    app.check()
