"""The cell card in a real browser, on the served shipped GRU: a heatmap click and a Cells table row each open
it on their cell with every section filled (no "computing" left), its label the Cells table's; its address
reopens it on a fresh page; screenshots at 1024x768 and 1400x900 with nothing wider than the viewport."""
from __future__ import annotations

import re

import pytest
from browser_card import TITLES, wait_for_card
from browser_fixtures import PAGE_TIMEOUT_MS, screenshot
from browser_pages import CANVAS_COLOURS, IMAGE_SIG, OVERFLOW, SETTLED, TWO_FRAMES, offline_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

def check_sections(text: str, skip: tuple[str, ...] = ()) -> None:
    """Every section's title but ``skip``'s, and their numbers filled."""
    for title in [t for t in TITLES if t not in skip]:
        assert title in text, title
    assert re.search(r"Ranked \d+ of 15 cells by share explained", text)
    assert re.search(r"depth_level\s+1\.000\s+\d+ of 15", text)
    assert "Could not be computed" not in text and "Not available" not in text


def settle(page) -> None:
    page.wait_for_function(SETTLED, timeout=PAGE_TIMEOUT_MS)
    page.evaluate(TWO_FRAMES)


def test_the_card_opens_from_the_heatmap_and_the_cells_table_and_its_address_reopens_it(app, chromium, tmp_path):
    page = app.page
    box = app.heatmap.bounding_box()
    app.heatmap.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.55})
    text = wait_for_card(page)
    check_sections(text)
    clicked = int(re.search(r"Cell (\d+), layer 0", text).group(1))
    label = re.search(r"Label and runners-up\s*\n+(.+)\n", text).group(1).strip()

    # the Cells table: the same cell's label there is the card's; another row opens that cell's card
    page.locator(".bk-tab").filter(has_text="Cells").click()
    rows = page.locator(".tabulator-row")
    rows.first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)

    def number(row) -> int:
        return int(row.locator(".tabulator-cell[tabulator-field='cell']").inner_text())   # the first is the index
    assert clicked in [number(r) for r in rows.filter(has_text=label).all()]
    other = next(r for r in rows.all() if number(r) != clicked)
    cell = number(other)
    app.click_table_cell(other.locator(".tabulator-cell").nth(1))
    text = wait_for_card(page, cell)
    assert "Explain at the clicked step" not in text and "Label and runners-up" in text   # no step: no breakdown
    page.wait_for_function(f"() => location.search.includes('cell={cell}')", timeout=PAGE_TIMEOUT_MS)
    url = page.url
    assert re.search(r"[?&]layer=0", url) and "model=gru15-parens-snapshot" in url
    app.check()

    # the address on a fresh page: the card opens by itself
    page2 = app.page.context.new_page()
    page2.goto(url)
    wait_for_card(page2, cell)
    for size, name in [((1024, 768), "cell-card-1024x768"), ((1400, 900), "cell-card-1400x900")]:
        page2.set_viewport_size({"width": size[0], "height": size[1]})
        settle(page2)
        assert page2.evaluate(OVERFLOW) == [], f"wider than {size}"
        page2.locator(".bk-tab").filter(has_text="Cell card").evaluate("el => el.scrollIntoView({block: 'start'})")
        settle(page2)
        screenshot(page2, name)
        page2.get_by_text("Its line over the shown sequence").evaluate("el => el.scrollIntoView({block: 'start'})")
        settle(page2)
        screenshot(page2, name + "-lower")
    exported_card_opens_offline(page2, chromium, tmp_path, cell)
    page2.close()


def exported_card_opens_offline(page, chromium, tmp_path, cell: int) -> None:
    """The export, made while the card shows ``cell``: offline, the card below the plots with every section,
    its line drawn among the plots, nothing wider than the window; screenshots at both sizes."""
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        page.get_by_role("button", name="Export this view (HTML)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    with offline_file(chromium, path) as (opened, watched, refused):
        opened.wait_for_function(f"() => ({IMAGE_SIG})() !== null", timeout=60_000)
        text = opened.locator(".rnnscope-card").inner_text()
        assert f"Cell {cell}, layer 0" in text
        check_sections(text, skip=("Explain at the clicked step", "Its line over the shown sequence"))
        boxes = opened.evaluate(CARD_LINE_AND_HEATMAP)
        assert boxes["line"]["top"] >= boxes["heatmap"]["bottom"] and boxes["line"]["height"] >= 100, boxes
        assert opened.evaluate_handle(CARD_LINE_ELEMENT).evaluate(CANVAS_COLOURS) >= 2, "the card's line is blank"
        assert opened.locator(".rnnscope-card").bounding_box()["y"] >= boxes["line"]["bottom"]  # the card, below
        for size, name in [((1024, 768), "cell-card-export-1024x768"), ((1400, 900), "cell-card-export-1400x900")]:
            opened.set_viewport_size({"width": size[0], "height": size[1]})
            opened.evaluate(TWO_FRAMES)
            assert opened.evaluate(OVERFLOW) == [], f"the export is wider than {size}"
            screenshot(opened, name, full_page=True)
        watched.assert_clean()
        assert refused == [], refused


# In the export: where the heatmap and the card's line are drawn (the heatmap is the first figure of the plots).
CARD_LINE_AND_HEATMAP = """() => {
  const doc = Bokeh.documents[0];
  const box = model => Bokeh.index.find_one(model).el.getBoundingClientRect().toJSON();
  return {line: box(doc.get_model_by_name("cell-card-line")), heatmap: box(doc.roots()[0].children[0])};
}"""
CARD_LINE_ELEMENT = """() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name("cell-card-line")).el"""
