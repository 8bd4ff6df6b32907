"""The Coloured text, Compare and Timeline tabs in a real browser, on one page
load of a server showing a GRU-6 trained here with a checkpoint every 8 steps (test_app_tabs.run_model):
the coloured text has one coloured span per character of the window; the comparison with the shipped
GRU draws two heatmaps and the pairs table; dragging the timeline's slider redraws its heatmap with
another checkpoint's states. No console error, no server error, nothing fetched from outside."""
from __future__ import annotations

import pytest
from browser_fixtures import PAGE_TIMEOUT_MS, serve
from browser_pages import full_page_shot, opened_app

from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# [title, signature of its image] of every heatmap figure in the document that holds an image now.
_HEATMAPS = """() => [...Bokeh.documents[0]._all_models.values()]
  .filter(m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"))
  .map(f => {
    const src = f.renderers.find(r => r.glyph && r.glyph.type === "Image").data_source;
    let sum = 0, n = 0;
    for (const a of src.data.image) for (let i = 0; i < a.length; i++) { sum += a[i] * ((i % 97) + 1); n++; }
    return [f.title.text, n ? `${n}/${sum.toFixed(4)}` : ""];
  }).filter(([, sig]) => sig)"""


@pytest.fixture(scope="module")
def run_server(run_model, tmp_path_factory):
    with serve(run_model, tmp_path_factory.mktemp("tabs-cache"), tmp_path_factory.mktemp("tabs-log"),
               "browser-tabs-server.log") as server:
        yield server


@pytest.fixture
def tabs_app(chromium, run_server):
    with opened_app(chromium, run_server) as opened:
        yield opened


def timeline(page) -> list:
    return [h for h in page.evaluate(_HEATMAPS) if h[0].startswith("checkpoint at step")]


def test_coloured_text_compare_and_timeline_tabs(tabs_app):
    app, page = tabs_app, tabs_app.page
    text = app.text()
    assert len(text) == 100
    page.get_by_role("button", name="cell 2", exact=True).click()        # the cell the text follows

    page.locator(".bk-tab").filter(has_text="Coloured text").click()
    spans = page.locator("pre.coloured-text span")
    expect(spans).to_have_count(100)
    backgrounds = spans.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(set(backgrounds)) > 3 and "rgba(0, 0, 0, 0)" not in backgrounds      # every one coloured
    assert "".join(spans.all_text_contents()) == text.replace("\n", "\u21b5")
    page.get_by_text("coloured by cell 2").wait_for(state="visible")

    page.locator(".bk-tab").filter(has_text="Compare").click()
    page.locator("select").filter(has=page.locator("option", has_text="(choose a model)")).select_option(
        label="gru15-parens")
    page.get_by_text("Statistic: Pearson r").wait_for(state="visible")
    # min(6, 15) pairs; matching the cells takes more than expect's default 5 s on busy cores
    expect(app.shown_table_rows()).to_have_count(6, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(f"() => ({_HEATMAPS})().length === 3")               # the page's, A's and B's
    full_page_shot(app, "tabs-compare")

    page.locator(".bk-tab").filter(has_text="Timeline").click()
    page.wait_for_function(f"() => ({_HEATMAPS})().some(([t]) => t.startsWith('checkpoint at step 24 of 24'))")
    before = timeline(page)
    slider = page.locator(".noUi-target").last
    handle = page.locator(".noUi-handle").last
    # The mouse works in viewport coordinates and does not scroll: the main area keeps the scroll the taller
    # Compare tab left, which can put the handle at the window's lower edge, where a press misses it.
    # Hovering scrolls it into view and waits until it holds still and is what the pointer hits.
    handle.hover()
    box, target = handle.bounding_box(), slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] - 20, box["y"] + box["height"] / 2, steps=8)     # all the way left: step 8
    page.mouse.up()
    page.wait_for_function(f"() => ({_HEATMAPS})().some(([t]) => t.startsWith('checkpoint at step 8 of 24'))")
    after = timeline(page)
    assert len(after) == 1 and after[0][1] != before[0][1]                      # other states drawn
    full_page_shot(app, "tabs-timeline")
    app.check()
