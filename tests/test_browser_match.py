"""The Match and Saturation tabs in a real browser: drag a span across the
heatmap with the span tool, read its on-cells and the ranked matches of the whole held-out stream,
click one and see the heatmap load that window with the span highlighted, an on-cell's button opening its
card with the numbers computed here (tests/browser_card.py); then the saturation
plots, one point per cell, hover naming the cell and a click showing that gate. One page load."""
from __future__ import annotations

import re

import pytest
from browser_pages import LONELIEST_POINT
from browser_pages import CELL_LINES as _CELL_LINES, DATA_AT as _AT, TEXT as _TEXT, TOOLTIP_TEXT as _TOOLTIP_TEXT
from browser_card import check_against_reference, wait_for_card
from browser_pages import full_page_shot

from rnnscope.app.tabs.match_tab import SPAN_TOOL
from rnnscope.models.data.heldout import heldout_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Bokeh takes a press held 300 ms without a move as a long press, and then ignores the moves that follow. On
# busy cores the drag's first move can reach the page later than that, and the span is never selected. The
# heatmap has no use for a long press: the threshold (shared by every plot of the page) is put beyond any delay.
_NO_LONG_PRESS = """() => {
  const doc = Bokeh.documents[0];
  const fig = [...doc._all_models.values()].find(m => m.type === "Figure"
      && m.renderers.some(r => r.glyph && r.glyph.type === "Image"));
  const gestures = doc.views_manager.find_one(fig).canvas_view.ui_event_bus.ui_gestures.constructor;
  gestures.press_threshold = 3_600_000;
  return gestures.press_threshold;
}"""
_HIGHLIGHT = """() => {
  const box = [...Bokeh.documents[0]._all_models.values()].find(m => m.type === "BoxAnnotation" && m.level === "overlay"
      && m.line_color === "#2ca02c");
  return {left: box.left, right: box.right, visible: box.visible};
}"""
_SATURATION = """() => [...Bokeh.documents[0]._all_models.values()]
  .filter(m => m.type === "Figure" && m.title && m.title.text && /^layer \\d+: \\w$/.test(m.title.text))
  .map(f => [f.title.text, f.renderers.find(r => r.name === "cells").data_source.data.cell.length])"""
# The four saturation plots drawn in the page (a view each): their tab is the one shown.
_SATURATION_DRAWN = """() => { const doc = Bokeh.documents[0];
  const figs = [...doc._all_models.values()].filter(m => m.type === "Figure" && m.title && m.title.text
      && /^layer \\d+: \\w$/.test(m.title.text));
  return figs.length === 4 && figs.every(m => doc.views_manager.find_one(m) !== null); }"""
# A point of a saturation plot where several cells sit (within 0.005 on both axes): its shares and its cells.
_PILE = """title => {
  const f = [...Bokeh.documents[0]._all_models.values()].find(m => m.type === "Figure" && m.title
      && m.title.text === title);
  const d = f.renderers.find(r => r.name === "cells").data_source.data;
  for (let i = 0; i < d.cell.length; i++) {
    const same = [];
    for (let j = 0; j < d.cell.length; j++)
      if (Math.abs(d.left[i] - d.left[j]) < 0.005 && Math.abs(d.right[i] - d.right[j]) < 0.005) same.push(d.cell[j]);
    if (same.length > 1) return [d.left[i], d.right[i], same.sort((a, b) => a - b)];
  }
  return null;
}"""
# The stream position of each heatmap column, as its axis and hover show them.
_POSITIONS = """() => Array.from([...Bokeh.documents[0]._all_models.values()].find(
  m => m.type === "ColumnDataSource" && m.data.pos !== undefined && m.data.code !== undefined).data.pos)"""
_HEATMAP_TITLE = """() => [...Bokeh.documents[0]._all_models.values()].find(
  m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image")).title.text"""


def test_a_dragged_span_is_matched_across_the_held_out_stream_and_saturation_plots_every_cell(app, browser_model,
                                                                                            reference_card):
    page = app.page
    page.locator(".bk-tab").filter(has_text="Match").click()
    page.get_by_text("Pick the span tool").wait_for(state="visible")

    # Columns 48 .. 50 of the first window are ") (": a cell switches on there and off around it. (A drag
    # across a single column, ~12 px, is too short for Bokeh to take it as a drag rather than a tap.)
    page.locator(f'[title="{SPAN_TOOL}"]').click()
    assert page.evaluate(_NO_LONG_PRESS) == 3_600_000
    a, b = page.evaluate(_AT, ["", 47.6, None]), page.evaluate(_AT, ["", 50.4, None])
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=6)
    page.mouse.up()
    said = page.get_by_text(re.compile(r"Selected: characters 48 \.\. 50"))
    said.wait_for(state="visible")
    said_cells = said.inner_text()
    assert re.search(r"on-cells at h > 0.5: \[\d+(, \d+)*\]", said_cells), said_cells
    page.wait_for_function(f"() => ({_HIGHLIGHT})().visible", timeout=10_000)
    assert page.evaluate(_HIGHLIGHT) == {"left": 47.5, "right": 50.5, "visible": True}

    status = page.get_by_text(re.compile(r"The 20 best of every run in the whole held-out stream"))
    status.wait_for(state="visible")                       # the store is built first: this server's first match
    assert "200,000 steps" in status.inner_text() and "built just now" in status.inner_text()
    rows = page.locator(".tabulator-row")
    rows.nth(19).wait_for(state="visible", timeout=30_000)
    assert rows.count() == 20
    # The rows show before the table has settled: the server's messages that follow the ranking make
    # Tabulator render its rows again, and a click pressed on a row that is replaced before it is released
    # reaches no cell and is lost. A round trip behind those messages, then a drawn page; and the click waits
    # for the redraw of every row that Tabulator makes when the table scrolls into view (click_table_cell).
    app.answered()
    app.settle()
    ranks = rows.locator('.tabulator-cell[tabulator-field="rank"]').all_inner_texts()
    assert [int(r) for r in ranks] == list(range(1, 21))

    third = rows.nth(2)
    start, end = (int(third.locator(f'.tabulator-cell[tabulator-field="{k}"]').inner_text().replace(",", ""))
                  for k in ("start", "end"))
    app.click_table_cell(third.locator('.tabulator-cell[tabulator-field="text"]'))
    text = heldout_of(browser_model).text
    index = max(0, min(start - (100 - (end - start + 1)) // 2, len(text) - 100))    # the match centred in the window
    page.get_by_text(f"characters {index:,} .. {index + 99:,}, read in context").wait_for(state="visible")
    # The note changes as the server loads the window; the heatmap is redrawn on the document's next tick,
    # and the highlight may already stand where the new one goes (the first span sat at the same columns).
    page.wait_for_function(f"() => ({_TEXT})() === {text[index:index + 100]!r}")
    page.wait_for_function(f"() => ({_HIGHLIGHT})().left === {start - index - 0.5}")
    assert page.evaluate(_HIGHLIGHT) == {"left": start - index - 0.5, "right": end - index + 0.5, "visible": True}
    assert app.text() == text[index:index + 100]
    positions = page.evaluate(_POSITIONS)               # the axis counts from the stream's start, not the window's
    assert positions[start - index] == start and positions[end - index] == end and positions[0] == index
    full_page_shot(app, "15-match-tab")

    # An on-cell's button opens its card, with the numbers of the card computed in this process
    on_cells = [int(c) for c in re.search(r"on-cells at h > 0.5: \[([\d, ]+)\]", said_cells).group(1).split(", ")]
    page.get_by_role("button", name=f"cell {on_cells[0]}", exact=True).last.click()   # the sidebar's comes first
    assert check_against_reference(wait_for_card(page, on_cells[0]), reference_card) == on_cells[0]

    # Saturation: a plot per view of layer 0, a point per cell; hover names it, a click shows that gate.
    page.locator(".bk-tab").filter(has_text="Saturation").click()
    page.wait_for_function(f"() => ({_SATURATION})().length === 4", timeout=180_000)
    assert sorted(page.evaluate(_SATURATION)) == [["layer 0: h", 15], ["layer 0: n", 15], ["layer 0: r", 15],
                                                  ["layer 0: z", 15]]
    point = page.evaluate(LONELIEST_POINT, "layer 0: z")
    at = page.evaluate(_AT, ["layer 0: z", point[0], point[1]])
    page.mouse.move(at["x"], at["y"])
    page.wait_for_function(f"() => ({_TOOLTIP_TEXT})().includes('share > 0.9')", timeout=10_000)
    assert "cell" in page.evaluate(_TOOLTIP_TEXT)
    page.mouse.click(at["x"], at["y"])
    page.wait_for_function(f"() => ({_HEATMAP_TITLE})().startsWith('update gate z')", timeout=60_000)
    page.wait_for_function(f"() => ({_CELL_LINES})().labels.includes('cell {point[2]}')", timeout=60_000)
    # The click opened that cell's card in its own tab; back to the Saturation tab, drawn again.
    assert page.locator(".bk-tab.bk-active").inner_text().strip() == "Cell card"
    page.locator(".bk-tab").filter(has_text="Saturation").click()
    page.wait_for_function(_SATURATION_DRAWN, timeout=60_000)
    # Several cells on one point: a click lists them all, and a button plots the one picked.
    pile = next(p for p in (page.evaluate(_PILE, f"layer 0: {v}") for v in "hznr") if p is not None)
    view = next(v for v in "hznr" if page.evaluate(_PILE, f"layer 0: {v}") == pile)
    at = page.evaluate(_AT, [f"layer 0: {view}", pile[0], pile[1]])
    page.mouse.click(at["x"], at["y"])
    # The note's paragraph (its first words are bold, an element of their own: locate it by its plain words).
    listed = page.get_by_text(re.compile(r"\. Pick one to plot it"))
    listed.wait_for(state="visible", timeout=60_000)
    said = listed.inner_text()
    assert re.search(r"\d+ cells on this point", said), said
    # every cell of the pile is listed (the click may also hit a neighbour a pixel or two away: listed too)
    named = re.search(r"cells ([\d, ]+)\. Pick one", said).group(1)
    assert set(pile[2]) <= {int(c) for c in named.split(", ")}, said
    page.get_by_role("button", name=f"cell {pile[2][-1]}", exact=True).last.click()
    page.wait_for_function(f"() => ({_CELL_LINES})().labels.includes('cell {pile[2][-1]}')", timeout=60_000)
    full_page_shot(app, "16-saturation-tab")
    app.check()
