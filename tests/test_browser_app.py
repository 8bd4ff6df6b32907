"""The page in a real browser (Debian's Chromium through Playwright): it loads with no console
error and no request leaving the machine, every way of picking a sequence redraws the heatmap,
the view switch works, and the exported file renders offline with hover and zoom.

"Changed" is checked twice: the heatmap's image data in Bokeh's document (read from JS) differs,
and the pixels of the heatmap's canvas differ. Screenshots go to test-results/screenshots/.
"""
from __future__ import annotations

import re

import pytest
from browser_fixtures import PAGE_TIMEOUT_MS, assert_one_table_fits, screenshot
from browser_pages import (CANVAS_COLOURS, CELL_LINES, CHAR_LABELS, COLOUR_BAR, IMAGE_SIG, TEXT_LENGTH, TOOLTIP_TEXT,
                           X_RANGE, full_page_shot, offline_file)

from playwright.sync_api import expect

from rnnscope import grammar
from rnnscope.app.pages.sequences import MAX_CHARS, MAX_SAMPLE_CHARS
from rnnscope.models.data.heldout import HELDOUT_CHARS, heldout_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# --- tests ----------------------------------------------------------------------------------------
def test_page_loads_with_a_heatmap_and_no_error(unchanged_app):
    page = unchanged_app.page
    assert page.locator(".bk-Canvas").count() >= 2                 # heatmap and tracks
    assert unchanged_app.image().startswith("15x100/")                       # GRU-15, a 100-character window
    assert len(unchanged_app.text()) == 100
    assert unchanged_app.heatmap.evaluate(CANVAS_COLOURS) > 20, "the heatmap canvas is blank"
    bar = page.evaluate(COLOUR_BAR)
    mid = [int(bar["mid"][i:i + 2], 16) for i in (1, 3, 5)]
    assert bar["low"] == -bar["high"] and min(mid) >= 0xf0 and max(mid) - min(mid) <= 4, bar   # diverging, 0 = white
    assert "hidden state h" in bar["title"] and "white = 0" in bar["title"]    # read across, above the heatmap
    assert not bar["bar_title"]                                               # not squeezed up the bar
    assert page.evaluate(CELL_LINES) == {"labels": [], "visible": False}       # no empty cell plot
    assert "in the grammar" in unchanged_app.note()
    assert page.get_by_text("GRU, 1 layer(s)").count() == 1
    full_page_shot(unchanged_app, "01-initial")
    unchanged_app.check()
    assert any(u.endswith("bokeh.min.js") or "bokeh" in u for u in unchanged_app.watched.requests)   # served locally
    assert any(u.startswith("ws://127.0.0.1") for u in unchanged_app.watched.requests)


_OWN_FILES = """() => {
  const path = el => el ? new URL(el.href || el.src).pathname : null;
  return {
    loaded: performance.getEntriesByType("resource").filter(e => e.name.includes("/app/static/"))
              .map(e => [new URL(e.name).pathname, e.responseStatus]),
    icon: path(document.querySelector("link[rel~=icon]")),
    logo: path(document.querySelector("img.app-logo")),
    sidebar_border: getComputedStyle(document.querySelector("#sidebar")).borderRightWidth,
  };
}"""


def test_the_pages_own_stylesheet_and_icon_are_served_from_static(unchanged_app):
    """static/ holds what the page itself serves: its stylesheet, and the icon it shows as
    favicon and logo (app/static links there, so `panel serve app` serves them too)."""
    own = unchanged_app.page.evaluate(_OWN_FILES)
    assert sorted(set(map(tuple, own["loaded"]))) == [("/app/static/favicon.svg", 200),
                                                       ("/app/static/rnnscope.css", 200)], own
    assert own["icon"] == own["logo"] == "/app/static/favicon.svg"
    assert own["sidebar_border"] == "1px"                      # the stylesheet applies
    unchanged_app.check()                                                # and nothing left the machine


def test_pick_by_index(app):
    box = app.page.locator("input").first                          # "Held-out index"
    before = app.text()

    def pick():
        box.fill("5000")
        box.press("Enter")
    app.changes_heatmap(pick, "index 5000")
    assert app.text() != before
    assert "characters 5,000 .. 5,099" in app.note()
    app.check()


def test_random_window(app):
    index = app.page.locator("input").first
    assert index.input_value() == "0"
    app.changes_heatmap(lambda: app.page.get_by_role("button", name="Random window").click(), "random window")
    assert index.input_value() != "0"
    assert f"characters {int(index.input_value()):,} .." in app.note()
    app.check()


def test_typed_text(app):
    text = "( 1 ( 2 ( 3 ) 2 ) 1 ) 0 ( 1 ) 0 "
    try:
        app.changes_heatmap(lambda: app.trace_text(text), "typed text, then 'Trace this text'")
    finally:
        full_page_shot(app, "02-typed")
    assert app.text() == text
    assert "typed text" in app.note() and "in the grammar" in app.note()
    app.check()


def test_leaving_the_text_box_does_not_trace_only_the_button_does(app):
    """The old page traced on blur, outside Bokeh's document lock: a server error, no redraw."""
    before = app.image()
    app.page.locator("textarea").fill("( 1 ( 2 ) 1 ) 0 ")
    app.page.get_by_text("What is shown").click()                   # focus leaves the box
    app.answered()                                                  # the box's value has reached the server
    assert app.image() == before and app.server_problems() == []
    assert "typed text" not in app.note()
    app.changes_heatmap(lambda: app.page.get_by_role("button", name="Trace this text").click(), "the button")
    assert app.text() == "( 1 ( 2 ) 1 ) 0 "
    app.check()


def test_clicking_a_heatmap_row_plots_that_cell(app):
    assert app.page.evaluate(CELL_LINES)["labels"] == []
    box = app.heatmap.bounding_box()
    app.heatmap.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.55})
    # the lines' data and the plot's visibility may arrive in separate messages: wait for both
    app.page.wait_for_function(f"() => {{ const c = ({CELL_LINES})(); return c.labels.length === 1 && c.visible; }}",
                               timeout=60_000)
    lines = app.page.evaluate(CELL_LINES)
    assert lines["visible"] and re.fullmatch(r"cell \d+", lines["labels"][0]), lines
    full_page_shot(app, "06-cell-picked")
    app.check()


def test_typed_unknown_characters_are_listed_and_nothing_changes(unchanged_app):
    before = unchanged_app.image()
    unchanged_app.trace_text("( 1 ( 2 x ) 1 ) 0 é")
    message = unchanged_app.page.get_by_text("not in the model's vocabulary")
    message.wait_for(state="visible", timeout=60_000)
    said = message.inner_text()
    assert "2 character(s)" in said and "'x' at 8" in said and "'é' at 18" in said, said
    assert "still shows the last good sequence" in said
    assert "typed text" not in unchanged_app.note()                           # nothing changed, not even the source
    screenshot(unchanged_app.page, "03-unknown-characters")
    unchanged_app.answered()                          # a redraw the refused text had asked for would be drawn now
    assert unchanged_app.image() == before and "typed text" not in unchanged_app.note()
    unchanged_app.check()


def test_a_100000_character_paste_is_traced_whole(app):
    """The text box used to cut a paste at 5,000 characters without a word."""
    text = grammar.generate(100_000, seed=7)
    app.changes_heatmap(lambda: app.trace_text(text), "a 100,000-character paste")
    assert "typed text (100,000 characters)" in app.note(), app.note()
    assert app.page.evaluate(TEXT_LENGTH) == 100_000
    app.check()


def test_a_paste_over_the_limit_is_refused_naming_the_limit(unchanged_app):
    before = unchanged_app.image()
    unchanged_app.trace_text("( " * (MAX_CHARS // 2 + 50))                   # 200,100 characters
    message = unchanged_app.page.get_by_text("the text is too long")
    message.wait_for(state="visible", timeout=60_000)
    assert f"the page traces at most {MAX_CHARS:,} characters" in message.inner_text()
    assert unchanged_app.page.get_by_text(f"Text, typed or pasted: at most {MAX_CHARS:,}").is_visible()   # by the box
    assert unchanged_app.image() == before and "typed text" not in unchanged_app.note()
    unchanged_app.check()


def test_bad_numbers_are_refused_naming_the_range_and_the_box_shows_the_value_in_effect(unchanged_app):
    """Panel handed the parameters' bounds to the browser, which ignored a number outside
    them without a word while the box kept showing it (and an emptied box crashed the server)."""
    page, before = unchanged_app.page, unchanged_app.image()
    cases = [("Held-out index", "-5", f"held-out index must be 0 .. {HELDOUT_CHARS - 1:,}; got -5"),
             ("Held-out index", str(HELDOUT_CHARS),
              f"held-out index must be 0 .. {HELDOUT_CHARS - 1:,}; got {HELDOUT_CHARS:,}"),
             ("Window (chars)", "0", f"window must be 1 .. {MAX_CHARS:,} characters; got 0"),
             ("Window (chars)", "", f"window must be 1 .. {MAX_CHARS:,} characters; the box is empty"),
             ("Sample length", str(MAX_SAMPLE_CHARS + 1),
              f"sample length must be 1 .. {MAX_SAMPLE_CHARS:,} characters; got {MAX_SAMPLE_CHARS + 1:,}"),
             ("Temperature", "0", "temperature must be 0.05 .. 5; got 0"),
             ("Sample seed", "", "sample seed must be 0 .. 4,294,967,295; the box is empty")]
    for label, typed, said in cases:
        box = page.get_by_label(label, exact=True)
        in_effect = box.input_value()
        box.fill(typed)
        box.press("Enter")
        page.get_by_text(said).wait_for(state="visible", timeout=60_000)
        expect(box).to_have_value(in_effect)
    assert unchanged_app.image() == before
    screenshot(page, "07-bad-number")
    unchanged_app.check()


def test_typed_ungrammatical_text_is_traced_and_says_where_it_broke(app):
    text = "( 1 ( 2 ) 1 ) 0 ) 3 ( 4 "
    verdict = grammar.validate(text)
    assert not verdict.ok
    app.changes_heatmap(lambda: app.trace_text(text), "ungrammatical typed text")
    assert app.text() == text
    note = app.note()
    assert f"not in the grammar: first broken at position {verdict.position}" in note, note
    app.check()


def test_sample_from_the_model(app):
    app.changes_heatmap(lambda: app.page.get_by_role("button", name="Sample from the model").click(), "sampling")
    assert len(app.text()) == 300
    assert "sampled: 300 chars at temperature 1" in app.note()
    app.check()


def test_view_switch_to_the_update_gate(app):
    show = app.page.locator("select").filter(has=app.page.locator("option", has_text="update gate z"))
    app.changes_heatmap(lambda: show.select_option(label="z: update gate z"), "view h -> z")
    bar = app.page.evaluate(COLOUR_BAR)
    assert "update gate z" in bar["title"] and "0 \u2026 1" in bar["title"] and (bar["low"], bar["high"]) == (0, 1), bar
    app.check()


def test_long_window_zooms_in_to_legible_characters(app):
    window = app.page.locator("input").nth(1)                      # "Window (chars)"

    def widen():
        window.fill("2000")
        window.press("Enter")
    app.changes_heatmap(widen, "window 2000")
    assert app.image().startswith("15x2000/")
    start, end = app.page.evaluate(X_RANGE)
    assert end - start == pytest.approx(2000)
    start, end = app.wheel_zoom(30, narrower_than=100)             # wheel-zoom until ~80 columns show
    assert end - start < 100, (start, end)
    full_page_shot(app, "04-zoomed-long-window")
    app.check()


def test_export_opens_offline_with_hover_and_zoom(unchanged_app, chromium, tmp_path):
    with unchanged_app.page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        unchanged_app.page.get_by_role("button", name="Export this view (HTML)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".html" and path.stat().st_size > 500_000        # BokehJS inlined
    unchanged_app.check()

    with offline_file(chromium, path) as (page, watched, refused):
        page.wait_for_function(f"() => ({IMAGE_SIG})() !== null", timeout=60_000)
        assert page.evaluate(IMAGE_SIG) == unchanged_app.image()                 # exactly what the page showed
        heatmap = page.locator(".bk-Canvas").first
        assert heatmap.evaluate(CANVAS_COLOURS) > 20, "the exported heatmap is blank"
        assert page.locator(".bk-toolbar, .bk-Toolbar").count() >= 1

        box = heatmap.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
        page.wait_for_function(f"() => ({TOOLTIP_TEXT})().includes('position')", timeout=10_000)
        tip = page.evaluate(TOOLTIP_TEXT)
        for field in ("char", "position", "cell", "value", "depth"):
            assert field in tip, tip
        screenshot(page, "05-export-hover", full_page=True)

        before = page.evaluate(X_RANGE)
        page.mouse.wheel(0, -300)
        page.wait_for_function(f"() => {{ const r = ({X_RANGE})(); return r[1] - r[0] < {before[1] - before[0]}; }}",
                               timeout=10_000)

        watched.assert_clean()
        assert refused == [], refused
        assert all(u.startswith("file:") for u in watched.requests), watched.requests


def test_reset_shows_the_whole_current_sequence(app):
    """Bokeh's Reset goes back to the range's reset_start/end, which default to the first range
    it had (0..100 here): after widening the window it must show all of the new sequence."""
    window = app.page.locator("input").nth(1)                      # "Window (chars)"

    def widen():
        window.fill("1000")
        window.press("Enter")
    app.changes_heatmap(widen, "window 1000")
    start, end = app.wheel_zoom(10)
    assert end - start < 900, (start, end)
    app.page.locator(".bk-ToolbarButton[title='Reset'], .bk-tool-icon-reset").first.click()
    zoomed = [start, end]
    # Reset may set start and end in separate steps: wait for the range to stop being the zoomed one and
    # to span the sequence's width again, then check where it lies.
    app.page.wait_for_function(f"() => {{ const r = ({X_RANGE})(); return r.join() !== {zoomed!r}.join() "
                               f"&& Math.abs(r[1] - r[0] - 1000) < 1e-6; }}", timeout=10_000)
    assert app.page.evaluate(X_RANGE) == pytest.approx([-0.5, 999.5])
    app.check()


# Warnings the page's own code may not cause, but the browser here does: Chromium's software
# GL (no GPU in these machines) warns about its fallback when a canvas reads pixels back.
HARMLESS_WARNINGS = re.compile(r"GPU stall due to ReadPixels|Automatic fallback to software WebGL|"
                               r"WebGL.*(software|SwiftShader)", re.I)


def test_page_logs_no_warning(unchanged_app):
    """Not only no errors: a warning from the page's own code (a deprecated widget option,
    say) is a problem in waiting. Wait for the widgets to render, then read the console."""
    unchanged_app.page.get_by_text("Cells to plot").first.wait_for(state="visible", timeout=20_000)
    unchanged_app.settle()              # every view has rendered; the console messages came before this answer
    screenshot(unchanged_app.page, "08-sidebar", clip={"x": 0, "y": 0, "width": 360, "height": 1000})
    own = [w for w in unchanged_app.watched.console_warnings if not HARMLESS_WARNINGS.search(w)]
    assert own == [], own
    unchanged_app.check()


def test_hide_separators_shows_tokens_side_by_side_with_true_positions(app):
    full = app.text()
    assert full.count(" ") == 50                                    # the grammar: every other character
    hide = app.page.locator("#sidebar input[type=checkbox]")       # the sidebar's one checkbox (hide separators)
    app.changes_heatmap(lambda: hide.check(), "hide separators")
    assert app.image().startswith("15x50/") and app.text() == full.replace(" ", "")
    assert "separators \u2423 hidden: 50 of 100 columns" in app.page.evaluate(COLOUR_BAR)["title"]
    box = app.heatmap.bounding_box()
    app.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    app.page.wait_for_function(f"() => ({TOOLTIP_TEXT})().includes('position')", timeout=10_000)
    tip = app.page.evaluate(TOOLTIP_TEXT)
    found = re.search(r"char:?\s*(\S)\s*position:?\s*([\d,]+)", tip)
    assert found, tip
    char, pos = found.group(1), int(found.group(2).replace(",", ""))
    assert full[pos] == char != " " and pos > 50, tip                 # the true index, past the 50 kept columns' range
    full_page_shot(app, "07-separators-hidden")
    app.check()


def test_characters_show_under_a_100_character_window_at_1024_px(app):
    """5.3 px a column: too narrow for every 12px glyph, wide enough for the grammar's tokens
    once its spaces go unlabelled (it used to hide every label); text with no spaces to leave
    out gets a smaller font."""
    app.page.set_viewport_size({"width": 1024, "height": 768})
    text = app.text()
    app.page.wait_for_function(f"() => ({CHAR_LABELS})().column_px < 6", timeout=10_000)
    drawn = app.page.evaluate(CHAR_LABELS)
    assert drawn["labels"] == [c for c in text if c != " "] and drawn["font"] == "12px", drawn
    app.settle()
    screenshot(app.page, "09-characters-at-1024")
    packed = "(())" * 24                                            # no spaces to leave out: a smaller font
    app.changes_heatmap(lambda: app.trace_text(packed), "96 characters without a space")
    # The axis is redrawn with the new text after the image: wait for its labels, then for their font.
    app.page.wait_for_function(f"() => ({CHAR_LABELS})().labels.join('') === {packed!r}", timeout=10_000)
    app.page.wait_for_function(f"() => ({CHAR_LABELS})().font === '8px'", timeout=10_000)
    drawn = app.page.evaluate(CHAR_LABELS)
    assert drawn["labels"] == list(packed) and drawn["font"] == "8px", drawn
    screenshot(app.page, "10-packed-characters-at-1024")
    app.page.set_viewport_size({"width": 1440, "height": 1000})      # 9.9 px a column: the full size again
    app.page.wait_for_function(f"() => ({CHAR_LABELS})().column_px > 9", timeout=10_000)
    drawn = app.page.evaluate(CHAR_LABELS)
    assert drawn["labels"] == list(packed) and drawn["font"] == "12px", drawn
    app.check()


# The first image tile as numbers: [rows, columns] with row 0 the top row (the last cell in index order).
_IMAGE_VALUES = """() => {
  const src = [...Bokeh.documents[0]._all_models.values()].find(
    m => m.data && m.data.image !== undefined && m.data.dw !== undefined);
  const a = src.data.image[0];
  return {shape: a.shape, values: Array.from(a)};
}"""


def test_a_held_out_window_is_read_in_context_and_the_zero_state_is_a_choice(app, browser_model):
    """A window at 5,000 shows the states the model holds there after reading the stream from its
    start -- the numbers of one trace of the whole prefix -- and says so; the zero state stays a choice."""
    import numpy as np

    from rnnscope.models.network import checkpoint
    from rnnscope.models.reading.tracer import trace
    held_text = heldout_of(browser_model).text
    model = checkpoint.load(browser_model)
    in_context = trace(model, held_text[:5_100]).hidden[0][5_000:]
    from_zero = trace(model, held_text[5_000:5_100]).hidden[0]

    def shown() -> np.ndarray:
        got = app.page.evaluate(_IMAGE_VALUES)
        return np.array(got["values"], dtype=np.float32).reshape(got["shape"])[::-1].T    # back to [T, cells]

    box = app.page.get_by_label("Held-out index", exact=True)

    def pick():
        box.fill("5000")
        box.press("Enter")
    app.changes_heatmap(pick, "index 5000")
    assert "characters 5,000 .. 5,099, read in context" in app.note()
    np.testing.assert_allclose(shown(), in_context, atol=1e-5)
    assert np.abs(in_context - from_zero)[:3].max() > 0.05          # the two readings differ where it matters
    app.changes_heatmap(lambda: app.page.get_by_label("Read the window", exact=True).select_option(
        "from the zero state"), "reading from the zero state")
    assert "read from the zero state" in app.note()
    np.testing.assert_allclose(shown(), from_zero, atol=1e-5)
    app.check()


def test_the_cells_tab_labels_cells_and_a_row_click_plots_that_cell(app):
    page = app.page
    page.locator(".bk-tab").filter(has_text="Cells").click()
    row = app.shown_table_rows().filter(has_text="when depth \u2265 4")
    row.wait_for(state="visible", timeout=120_000)
    assert page.locator(".tabulator-row").count() == 15
    assert_one_table_fits(page)                          # the table fits its tab, titles whole
    assert "read in context" in page.get_by_text("Each cell of").inner_text()
    cell = int(row.locator('.tabulator-cell[tabulator-field="cell"]').inner_text())
    app.click_table_cell(row.locator(".tabulator-cell").nth(1))
    page.wait_for_function(f"() => ({CELL_LINES})().labels.includes('cell {cell}')", timeout=60_000)
    full_page_shot(app, "11-cells-tab")
    app.check()


def test_a_heatmap_click_is_explained_in_the_explain_tab(app):
    page = app.page
    page.locator(".bk-tab").filter(has_text="Explain").click()
    page.get_by_text("Click a cell of the heatmap").wait_for(state="visible", timeout=60_000)
    box = app.heatmap.bounding_box()
    app.heatmap.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.55})
    explained = page.get_by_text(re.compile(r"Cell \d+, layer 0, position [\d,]+"))
    explained.wait_for(state="visible", timeout=60_000)
    said = page.get_by_text("the heatmap shows").inner_text()
    assert float(re.search(r"difference ([0-9.e+-]+)\)", said).group(1)) < 1e-5, said
    full_page_shot(app, "12-explain-tab")
    app.check()


def test_the_probes_tab_shows_depth_read_from_the_states(unchanged_app):
    page = unchanged_app.page
    page.locator(".bk-tab").filter(has_text="Probes").click()
    cell = page.get_by_role("cell", name="depth_level").first
    cell.wait_for(state="visible", timeout=180_000)
    assert page.locator("table").filter(has_text="selectivity").count() >= 1
    full_page_shot(unchanged_app, "13-probes-tab")
    unchanged_app.check()


_KL_TRACK = """() => {
  const fig = [...Bokeh.documents[0]._all_models.values()].find(
    m => m.type === "Figure" && m.title && m.title.text && m.title.text.startsWith("KL(oracle"));
  return fig ? {title: fig.title.text, visible: fig.visible} : null;
}"""


def test_the_oracle_divergence_track_says_where_the_model_is_wrong(app):
    track = app.page.evaluate(_KL_TRACK)
    assert track and track["visible"] and "per step, nats: mean" in track["title"] and "illegal mass" in track["title"]
    app.changes_heatmap(lambda: app.trace_text("( 1 ) ) 0 ( 1 ) 0 "), "ungrammatical typed text")
    app.page.wait_for_function(f"() => ({_KL_TRACK})().title.includes('none after the grammar breaks')",
                               timeout=60_000)
    app.check()


_PROBE_TRACK = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const fig = models.find(m => m.type === "Figure" && m.title && m.title.text
                               && m.title.text.startsWith("depth read by a linear probe"));
  if (!fig) return null;
  const src = fig.renderers[1].data_source;
  const probe = Array.from(src.data.probe_depth), depth = Array.from(src.data.depth);
  return {title: fig.title.text, visible: fig.visible, n: probe.length,
          agree: probe.filter((p, i) => p === depth[i]).length};
}"""


def test_the_ablation_tab_shows_the_loss_p_next_and_grammatical_samples_and_the_probe_track_is_drawn(app):
    page = app.page
    track = page.evaluate(_PROBE_TRACK)                  # the depth probe's reading under the heatmap
    assert track and track["visible"] and "held-out accuracy" in track["title"], track
    assert track["n"] > 0 and track["agree"] >= 0.95 * track["n"], track
    for cell in ("cell 2", "cell 11"):
        page.get_by_role("button", name=cell, exact=True).click()
    page.wait_for_function(f"() => ({CELL_LINES})().labels.length === 2", timeout=60_000)
    page.locator(".bk-tab").filter(has_text="Ablation").click()
    page.get_by_role("button", name="Ablate the picked cells").click()
    said = page.get_by_text(re.compile(r"cells \[2, 11\] replaced by their held-out means"))
    said.wait_for(state="visible", timeout=60_000)
    assert "nats/char against" in said.inner_text() and "the oracle's floor on this text" in said.inner_text()
    share = page.get_by_text(re.compile(r"Grammatical samples: \d+ of 100 intact, \d+ of 100 ablated"))
    share.wait_for(state="visible", timeout=60_000)
    intact, ablated = map(int, re.search(r"(\d+) of 100 intact, (\d+) of 100 ablated", share.inner_text()).groups())
    assert intact >= 90 > ablated
    full_page_shot(app, "14-ablation-tab")
    app.check()


def test_the_model_tab_shows_the_equations_with_the_models_sizes_and_a_sum3_models_weights(app):
    """One page load: the GRU's summary, formula and equations with its own sizes; then the shipped
    sum3 model (seed 000): a 1-cell x 3-step heatmap of the running sum, its linear equation and what
    its weights learned, read off the model."""
    page = app.page
    page.locator(".bk-tab").filter(has_text="Model").click()
    page.get_by_text("W_ir, W_iz, W_in [15\u00d715] each", exact=False).wait_for(state="visible", timeout=60_000)
    said = page.get_by_text("Equations:").inner_text()
    assert "3 gate(s) × (M·M + D·M + 2·M) = 3 × (15·15 + 15·15 + 2·15) = 1,440" in said
    assert "D = 15 (input features), M = 15 (hidden units), K = 8 (outputs)" in said
    assert "softmax(W_dec h_t + b_dec)    W_dec [8\u00d715] (K\u00d7M)" in said
    full_page_shot(app, "15-model-tab")
    model = app.page.locator("select").filter(has=app.page.locator("option", has_text="sum3-scalar"))
    app.changes_heatmap(lambda: model.select_option(label="sum3-scalar"), "the sum3 model")
    assert app.image().startswith("1x3/")                          # one cell, three digits
    page.get_by_text("(linear: no activation)", exact=False).wait_for(state="visible", timeout=60_000)
    said = page.get_by_text("Equations:").inner_text()
    assert "W_ih [1\u00d71], W_hh [1\u00d71], b_ih, b_hh [1] each" in said
    assert "total with one bias vector per gate (Keras' SimpleRNN and LSTM; torch keeps two): 3" in said
    assert "prediction = h_T, the last state itself (task sum3: no decoder)" in said
    weights = page.get_by_text("what each digit adds at its step").inner_text()
    assert re.search(r"U = 1\.000\d\d", weights) and "predictions on 10 new triples" in weights, weights
    assert "typed text (3 characters)" in app.note()
    full_page_shot(app, "16-sum3-model-tab")
    app.check()
