"""What the browser tests share: scripts that read Bokeh's document in the page (the heatmap's image,
the text, ranges, colour bar, cell lines, character labels, canvas colours, the hover tooltip), the App
wrapper over one page of the served app, and the two ways a test opens a page with nothing fetched from
outside: ``opened_app`` (the served app, only this machine answered) and ``offline_file`` (a standalone
HTML file, only file:, data: and blob: answered). Its fixtures (``app``, ``unchanged_app``) are registered in
conftest.py; the server and the browser they use are browser_fixtures.py's."""
from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest
from browser_fixtures import LOCAL, PAGE_TIMEOUT_MS, log_problems, new_context, screenshot, watch

# A signature of the heatmap's image tiles: shapes and a position-weighted checksum.
IMAGE_SIG = """() => {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  if (!doc) return null;
  const src = [...doc._all_models.values()].find(m => m.data && m.data.image !== undefined && m.data.dw !== undefined);
  if (!src || !src.data.image.length) return null;
  let sum = 0, n = 0; const shape = [];
  for (const a of src.data.image) {
    shape.push(a.shape ? a.shape.join("x") : String(a.length));
    for (let i = 0; i < a.length; i++) { const v = a[i]; if (Number.isFinite(v)) sum += v * ((i % 97) + 1); n++; }
  }
  return shape.join(",") + "/" + n + "/" + sum.toFixed(4);
}"""
# The text drawn (the code points the character axis and hover read).
TEXT = """() => {
  const doc = Bokeh.documents[0];
  const s = [...doc._all_models.values()].find(m => m.data && m.data.code !== undefined && m.data.depth !== undefined);
  return s ? String.fromCodePoint(...Array.from(s.data.code)) : null;
}"""
TEXT_LENGTH = """() => [...Bokeh.documents[0]._all_models.values()]
  .find(m => m.data && m.data.code !== undefined && m.data.depth !== undefined).data.code.length"""
X_RANGE = """() => {
  const doc = Bokeh.documents[0];
  const fig = [...doc._all_models.values()].find(
    m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"));
  return [fig.x_range.start, fig.x_range.end];
}"""
COLOUR_BAR = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const bar = models.find(m => m.type === "ColorBar");
  const fig = models.find(m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"));
  const m = bar.color_mapper;
  return {title: fig.title.text, bar_title: bar.title, low: m.low, high: m.high, n: m.palette.length,
          mid: m.palette[(m.palette.length - 1) / 2]};
}"""
# The picked cells' lines, and whether their plot is shown.
CELL_LINES = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const src = models.find(m => m.data && m.data.xs !== undefined && m.data.label !== undefined);
  const fig = models.find(m => m.type === "Figure" && m.renderers.some(r => r.data_source === src));
  return {labels: Array.from(src.data.label), visible: fig.visible};
}"""
# The character labels under the heatmap, as its axis computes them now (its own ticker and
# formatter, on the plot's current width and range), and how many pixels a column gets.
CHAR_LABELS = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const fig = models.find(m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"));
  const axis = fig.below.find(a => a.ticker && a.ticker.type === "CustomJSTicker");
  const r = fig.x_range, font = axis.major_label_text_font_size;     // as last drawn
  const ticks = axis.ticker.get_ticks(r.start, r.end, r, NaN).major;
  return {labels: axis.formatter.doFormat(ticks, {loc: 0}), font, column_px: fig.inner_width / (r.end - r.start)};
}"""
# Distinct colours in the largest canvas under an element: 1 means blank.
CANVAS_COLOURS = """el => {
  let best = 0;
  const canvases = [];
  const walk = root => root.querySelectorAll("*").forEach(e => {
    if (e.tagName === "CANVAS") canvases.push(e);
    if (e.shadowRoot) walk(e.shadowRoot);
  });
  walk(el.shadowRoot || el); walk(el);
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 13) seen.add((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]);
    best = Math.max(best, seen.size);
  }
  return best;
}"""
# What shows past the viewport's right edge, through the shadow roots: "TAG.class (right px)" of each element whose
# box runs past it, and of each element holding text of its own that runs out of its box past it (a line of
# preformatted text past its pane) where that box does not scroll. A box scrolled sideways or clipped by a parent
# (overflow other than visible: Bokeh's frame clips a glyph's layer, a table's holder scrolls its rows), a parent
# that ends inside the viewport, counts only as far as that parent shows it.
OVERFLOW = """() => {
  const out = [];
  const walk = (el, clip) => {
    const r = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (el.offsetParent !== null && r.width > 0) {
      const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      const scrolls = style.overflowX !== "visible";
      const right = Math.min(clip, Math.max(r.right, text && !scrolls ? r.left + el.scrollWidth : 0));
      if (right > innerWidth + 1) out.push(el.tagName + "." + el.className + " (right " + Math.round(right) + ")");
    }
    // the template's own scrolling areas reach the viewport's edge: what they hide past it is what is looked for
    const clips = style.overflowX !== "visible" && r.right < innerWidth - 1;
    const inner = clips ? Math.min(clip, r.right) : clip;
    for (const c of el.children) walk(c, inner);
    if (el.shadowRoot) for (const c of el.shadowRoot.children) walk(c, inner);
  };
  walk(document.documentElement, Infinity);
  return out.slice(0, 8);
}"""
# True once every Bokeh view on the page (connected to the document's DOM) has finished drawing: what a
# screenshot waits for after a resize or a redraw (not a fixed time). A view that never finishes fails the
# wait at its timeout rather than hanging the test (a promise awaited by `evaluate` has no timeout).
SETTLED = """() => [...Bokeh.documents[0].views_manager].every(v => !v.el || !v.el.isConnected || v.has_finished())"""
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Tabulator redraws every row of a table when the table comes into view (an IntersectionObserver in its
# ResizeTable module, which records whether the table is visible before it redraws, in the same callback).
# A press whose row is redrawn before the release is no click in Chromium, so a row is clicked only once
# every table standing in the viewport has had that redraw.
# [left, right, cell] of the saturation point farthest from any other in the figure titled ``title``: a click
# there takes that one cell (coinciding points offer a choice instead).
LONELIEST_POINT = """title => {
  const f = [...Bokeh.documents[0]._all_models.values()].find(m => m.type === "Figure" && m.title
      && m.title.text === title);
  const d = f.renderers.find(r => r.name === "cells").data_source.data;
  let best = -1, far = -1;
  for (let i = 0; i < d.cell.length; i++) {
    let near = Infinity;
    for (let j = 0; j < d.cell.length; j++)
      if (j !== i) near = Math.min(near, Math.hypot(d.left[i] - d.left[j], d.right[i] - d.right[j]));
    if (near > far) { far = near; best = i; }
  }
  return [d.left[best], d.right[best], d.cell[best]];
}"""
TABLES_REDRAWN_IN_VIEW = """() => [...Bokeh.documents[0].views_manager.all_views()]
  .filter(v => v.tabulator && v.el && v.el.isConnected).every(v => {
    const module = v.tabulator.modules.resizeTable;
    if (!module || !module.visibilityObserver) return true;      // not watching: no redraw to come
    const r = v.tabulator.element.getBoundingClientRect();
    const inView = r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0
        && r.left < innerWidth;
    return !inView || (module.visible === true && !v._building && !v.is_drawing);   // and not being rebuilt
  })"""
# The one table shown (in the document, with a size) is in view; scrolled to until it is. Checked on every frame,
# so a table drawn anew meanwhile is the one scrolled to.
SHOWN_TABLE_IN_VIEW = """() => {
  const sized = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const shown = [...Bokeh.documents[0].views_manager.all_views()].filter(v => v.tabulator && v.el && v.el.isConnected)
    .map(v => v.tabulator.element).filter(sized);
  if (shown.length !== 1) return false;
  const r = shown[0].getBoundingClientRect();
  if (r.bottom > 0 && r.top < innerHeight) return true;
  shown[0].scrollIntoView({block: "center"});
  return false;
}"""
# Page coordinates of data point (x, y) of the figure whose title starts with `title` ('' = the
# heatmap), scrolled into view, from Bokeh's own scales: drags and hovers land exactly on a column or a point.
DATA_AT = """([title, x, y]) => {
  const doc = Bokeh.documents[0];
  const fig = [...doc._all_models.values()].find(m => m.type === "Figure" && (title
      ? m.title && m.title.text && m.title.text.startsWith(title)
      : m.renderers.some(r => r.glyph && r.glyph.type === "Image")));
  const view = doc.views_manager.find_one(fig);
  view.canvas_view.el.scrollIntoView({block: "center"});         // the mouse reaches only what is in view
  const box = view.canvas_view.el.getBoundingClientRect();
  const sy = y === null ? view.frame.bbox.vcenter : view.frame.y_scale.compute(y);
  return {x: box.left + view.frame.x_scale.compute(x), y: box.top + sy};
}"""
TOOLTIP_TEXT = """() => {
  const out = [];
  const walk = root => root.querySelectorAll("*").forEach(el => {
    if (el.classList && el.classList.contains("bk-Tooltip")) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) out.push((el.shadowRoot || el).textContent);
    }
    if (el.shadowRoot) walk(el.shadowRoot);
  });
  walk(document);
  return out.join(" | ");
}"""


class App:
    """One browser page on the served app, with helpers to act and to check what changed."""

    def __init__(self, page, watched, server, log_mark: int):
        self.page, self.watched, self.server, self.log_mark = page, watched, server, log_mark

    # --- reading the page ---------------------------------------------------------------------
    def image(self) -> str | None:
        return self.page.evaluate(IMAGE_SIG)

    def text(self) -> str:
        return self.page.evaluate(TEXT)

    @property
    def heatmap(self):
        return self.page.locator(".bk-Canvas").first      # the first figure of the column is the heatmap

    def pixels(self) -> bytes:
        return self.heatmap.screenshot()

    def note(self) -> str:
        return self.page.locator("p").filter(has_text="Sequence:").first.inner_text()

    def new_log(self) -> str:
        return self.server.log()[self.log_mark:]

    def server_problems(self) -> list[str]:
        return log_problems(self.new_log())

    # --- acting ---------------------------------------------------------------------------------
    def changes_heatmap(self, action, what: str) -> None:
        """Do ``action``; the heatmap's data and then its pixels must change. An error in the
        server log fails at once, quoting it (waiting on would only time out)."""
        data, pixels = self.image(), self.pixels()
        action()
        deadline = time.monotonic() + 60
        while self.image() == data:
            if self.server_problems() or time.monotonic() > deadline:
                log = self.new_log()
                errors = [ln for ln in log.splitlines() if "ERROR" in ln or re.match(r"^\w+(Error|Exception)\b", ln)]
                pytest.fail(f"{what}: the heatmap's data did not change; the server logged "
                            f"{len(self.server_problems())} error line(s):\n" + "\n".join(errors[:6])
                            + f"\n--- server log since the page opened (tail) ---\n{log[-3000:]}", pytrace=False)
            self.page.wait_for_timeout(200)
        for _ in range(100):                                   # the redraw lags the data a little
            if self.pixels() != pixels:
                return
            self.page.wait_for_timeout(100)
        pytest.fail(f"{what}: the heatmap's data changed but its pixels did not", pytrace=False)

    def trace_text(self, text: str) -> None:
        """What a person does: type into the text box, press the button."""
        self.page.locator("textarea").fill(text)
        self.page.get_by_role("button", name="Trace this text").click()

    def settle(self) -> None:
        """Wait until the page has drawn what it was last sent (before a screenshot): every view finished,
        then two painted frames."""
        self.page.wait_for_function(SETTLED, timeout=PAGE_TIMEOUT_MS)
        self.page.evaluate(TWO_FRAMES)

    def shown_table_rows(self):
        """The rows of the one table shown, once that table is scrolled into view, as a reader scrolls to it. A
        table drawn while hidden (a tab's table before its numbers came) and standing below the fold has its
        rows in its data but none in the page: Tabulator's virtual renderer puts them in when the table comes
        into view (seen: 6 rows in the data, none in the page, for 20 s)."""
        self.page.locator(".tabulator:visible").wait_for(timeout=PAGE_TIMEOUT_MS)
        # Scrolled to from the page, whichever table element stands then: a table is drawn anew when its rows
        # come, and a scroll through Playwright's handle on the one replaced fails ("Element is not attached to
        # the DOM", seen in a fresh-clone run).
        self.page.wait_for_function(SHOWN_TABLE_IN_VIEW, timeout=PAGE_TIMEOUT_MS)
        self.page.wait_for_function(TABLES_REDRAWN_IN_VIEW, timeout=PAGE_TIMEOUT_MS)
        return self.page.locator(".tabulator-row")

    def click_table_cell(self, cell) -> None:
        """Click a Tabulator cell (a locator) of the one table shown: the table scrolled into view first, and the
        cell pressed only once the table has redrawn for coming into view (TABLES_REDRAWN_IN_VIEW), so the
        press and the release land on the same row. The table, not the cell, is scrolled to: a redraw
        replaces the row's cells, and a scroll aimed at a replaced one fails (seen in a fresh-clone run);
        the click itself looks the cell up again. A table whose configuration changed with its first rows is
        rebuilt by the browser a moment later: the wait covers that too (not building, not drawing)."""
        self.page.locator(".tabulator:visible").evaluate("el => el.scrollIntoView({block: 'center'})")
        self.page.wait_for_function(TABLES_REDRAWN_IN_VIEW, timeout=PAGE_TIMEOUT_MS)
        cell.click()

    def answered(self) -> None:
        """A round trip behind everything the page has sent so far: a refused window, whose refusal the
        server sends back. The server handles a session's messages in order, and a redraw an earlier
        message asked for is drawn on the document's next tick, before a later message is read; so once
        the refusal shows, every earlier message has had its effect on the page."""
        self._trips = getattr(self, "_trips", 0) + 1
        box = self.page.get_by_label("Window (chars)", exact=True)
        box.fill(f"-{self._trips}")
        box.press("Enter")
        self.page.get_by_text(re.compile(rf"window must be 1 \.\. [\d,]+ characters; got -{self._trips}\.")).wait_for(
            state="visible")

    def wheel_zoom(self, times: int, narrower_than: float = float("inf")) -> tuple[float, float]:
        """Turn the wheel over the heatmap up to ``times`` times, each turn waiting for the x range to
        narrow, until it spans fewer than ``narrower_than`` columns; the range then."""
        box = self.heatmap.bounding_box()
        self.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        start, end = self.page.evaluate(X_RANGE)
        for _ in range(times):
            self.page.mouse.wheel(0, -300)
            self.page.wait_for_function(f"() => {{ const r = ({X_RANGE})(); return r[1] - r[0] < {end - start}; }}")
            start, end = self.page.evaluate(X_RANGE)
            if end - start < narrower_than:
                break
        return start, end

    def check(self) -> None:
        """No console error, no page error, nothing requested from outside, no server error."""
        self.watched.assert_clean()
        assert self.server_problems() == [], self.new_log()[-4000:]


@contextlib.contextmanager
def opened_app(chromium, server):
    """A page of its own on ``server``, once the heatmap's image is in its document; closed on exit."""
    context = new_context(chromium, accept_downloads=True)
    # Anything not on this machine is refused (and still recorded by `watch`, so the test fails).
    context.route("**/*", lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort())
    page = context.new_page()
    watched = watch(context, page)
    mark = len(server.log())
    page.goto(server.url)
    page.wait_for_function(f"() => ({IMAGE_SIG})() !== null", timeout=PAGE_TIMEOUT_MS)
    try:
        yield App(page, watched, server, mark)
    finally:
        context.close()


@pytest.fixture
def app(chromium, app_server):
    """A fresh page, for a test that changes what it shows."""
    with opened_app(chromium, app_server) as opened:
        yield opened


@pytest.fixture(scope="module")
def _page_as_opened(chromium, app_server):
    with opened_app(chromium, app_server) as opened:
        yield opened


@pytest.fixture
def unchanged_app(_page_as_opened):
    """One page load shared by the tests that read the page as it opens and leave its sequence, view and
    cells as they were (a refused input included: that nothing changes is what those tests assert). A page
    load costs seconds in the browser; eight tests paid it each. Each test reads the server log from its
    own start; console errors, warnings and requests are those of the page's whole life so far, so a
    problem an earlier test caused fails that test and every later one -- never none."""
    _page_as_opened.log_mark = len(_page_as_opened.server.log())
    return _page_as_opened


def full_page_shot(app: App, name: str) -> None:
    """The template scrolls inside the viewport: make the viewport as tall as the plots, and
    park the mouse on the header so no tooltip covers them."""
    page = app.page
    page.mouse.move(5, 5)
    bottom = max(b["y"] + b["height"] for b in (c.bounding_box() for c in page.locator(".bk-Canvas").all()) if b)
    page.set_viewport_size({"width": 1440, "height": int(min(max(bottom + 30, 900), 2400))})
    app.settle()
    screenshot(page, name)
    page.set_viewport_size({"width": 1440, "height": 1000})


@contextlib.contextmanager
def offline_file(chromium, path: Path):
    """A page on the standalone file ``path`` that may load nothing but file:, data: and blob: URLs;
    yields (page, watched, refused: every other URL it asked for). Closed on exit."""
    context = new_context(chromium)
    refused: list[str] = []

    def only_local_files(route):
        if route.request.url.startswith(("file:", "data:", "blob:")):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()
    context.route("**/*", only_local_files)
    try:
        page = context.new_page()
        watched = watch(context, page)
        page.goto(path.as_uri())
        yield page, watched, refused
    finally:
        context.close()
