"""Nothing cut at 1024x768 or 1400x900: every tab under the heatmap, on the shipped grammar GRU and on the shipped
128-cell text LSTM, opened once per model and looked at at both sizes. A tab is checked once it has finished
computing (no "Computing…", "computing …", "searching…" or "Scanning …" note left, every Bokeh view drawn), and
fails on any element whose right edge is past the viewport, naming the tab, the size and the elements. Each tab is
screenshot at both sizes into test-results/screenshots (overflow-<model>-<tab>-<size>.png).

One exception to waiting: the text LSTM's Dynamics tab searches its fixed points for minutes on two cores. The
tab draws its projection (the plot, the table of cells) first and the fixed points onto it later, in the same
plot, with nothing else added to the layout; so for that model the check runs once the projection is drawn, with
the "searching…" note still up."""
from __future__ import annotations

import contextlib
import json
import re
import shutil
import time

import pytest
from browser_fixtures import PAGE_TIMEOUT_MS, ROOT, screenshot, serve
from browser_pages import OVERFLOW, SETTLED, TWO_FRAMES, opened_app
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from rnnscope.app.pages.page import TOOLS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(1024, 768), (1400, 900)]
FIT_MS = 15_000          # how long a layout may take to settle before what is past the edge fails
# The notes a tab shows while it works (app/pages/lazy_tab.py's, also under the automaton's "Extracting …", the
# card's sections, the probes' n-gram baseline, the automaton's cells, the Match tab's scan, the fixed points).
BUSY = [r"computing ?\u2026", r"takes a moment\)", "Computing each cell", "Scanning all", "Building the state store",
        r"searching\u2026"]        # regular expressions, matched ignoring case
# What a tab may leave working while it is checked: the text LSTM's fixed points (see the docstring).
NOT_WAITED_FOR = {("lstm128-pystdlib", "Dynamics"): r"searching\u2026"}
# Whether any shown Markdown/HTML pane of the page says ``busy`` (a regular expression), through the shadow roots.
SAYS = """busy => {
  const re = new RegExp(busy, "i");
  let found = null;
  const walk = root => root.querySelectorAll("*").forEach(el => {
    if (!el.shadowRoot || found) return;
    if (el.offsetParent !== null)
      for (const c of el.shadowRoot.children) if (c.tagName === "DIV" && re.test(c.innerText)) found = c.innerText;
    walk(el.shadowRoot);
  });
  walk(document);
  return found;
}"""

# Whether the tab titled ``title`` is the active one and the server has filled it (dynamic Tabs keep a Spacer in
# place of every hidden tab's content).
TAB_FILLED = """title => [...Bokeh.documents[0]._all_models.values()].some(m => m.type.endsWith("Tabs")
  && m.tabs[m.active] && m.tabs[m.active].title === title && m.tabs[m.active].child.type !== "Spacer")"""

# The page's models whose stylesheets name a URL not on this machine (a pane made outside the page's document
# names Panel's CDN): "type: its text or name", to say which pane asked.
FROM_OUTSIDE = """() => [...Bokeh.documents[0]._all_models.values()]
  .filter(m => Array.isArray(m.stylesheets) && m.stylesheets.some(
    s => s && /^https?:/.test(s.url || "") && !/^https?:\\/\\/(127\\.0\\.0\\.1|localhost)[:/]/.test(s.url)))
  .map(m => m.type + ": " + String(m.text || m.object || m.name || m.id).slice(0, 80))"""


@pytest.fixture(scope="module", params=["gru15-parens", "lstm128-pystdlib"])
def shipped_server(request, tmp_path_factory):
    """The shipped checkpoint, copied (a training run may be rewriting the original), served on its own."""
    name = request.param
    model = tmp_path_factory.mktemp("overflow-models") / name
    shutil.copytree(ROOT / "models" / "checkpoints" / name, model)
    with serve(model, tmp_path_factory.mktemp("overflow-cache"), tmp_path_factory.mktemp("overflow-log"),
               f"browser-overflow-{name}.log") as server:
        yield name, server


def wait_until_done(page, model: str, tab: str) -> None:
    """The tab's notes of work in progress gone (bounded by PAGE_TIMEOUT_MS, per note), then every view drawn."""
    busy = "|".join(b for b in BUSY if b != NOT_WAITED_FOR.get((model, tab)))
    if tab == "Dynamics" and (model, tab) in NOT_WAITED_FOR:     # the projection drawn: its colour picker is up
        page.get_by_text("Colour held-out states by").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    # The click's round trip first: the server fills the tab (a hidden tab of dynamic Tabs is a Spacer in the
    # page) and, the same moment, shows its "Computing…" note. A fixed wait of 500 ms for it once let a loaded
    # machine's check run on an empty tab, its table not yet built (3,575 px wide).
    page.wait_for_function(TAB_FILLED, arg=tab, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(f"() => !({SAYS})({json.dumps(busy)})", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(SETTLED, timeout=PAGE_TIMEOUT_MS)
    page.evaluate(TWO_FRAMES)


def fitted(page) -> list[str]:
    """What shows past the viewport, once it has had a few seconds to fit: a Tabulator fits its columns to the
    data a redraw or two after its rows show (one run caught the Cells table 3,575 px wide in between). Waits
    for nothing to show past the edge, bounded, then measures; what stays past it fails."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"() => ({OVERFLOW})().length === 0", timeout=FIT_MS)
    return page.evaluate(OVERFLOW)


def test_every_tab_fits_both_sizes(chromium, shipped_server):
    model, server = shipped_server
    cut, fetched, times = [], [], {}
    with opened_app(chromium, server) as app:
        page = app.page
        for tab in TOOLS:
            started, asked = time.monotonic(), len(app.watched.outside)
            header = page.locator(".bk-tab").filter(has_text=re.compile(rf"^{tab}$"))
            header.click()
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                wait_until_done(page, model, tab)
                wider = fitted(page)
                if wider:
                    cut.append(f"{tab} at {width}x{height}: {wider}")
                header.evaluate("el => el.scrollIntoView({block: 'start'})")
                page.evaluate(TWO_FRAMES)
                slug = tab.lower().replace(" ", "-")
                screenshot(page, f"overflow-{model}-{slug}-{width}x{height}")
            times[tab] = round(time.monotonic() - started, 1)
            if len(app.watched.outside) > asked:
                fetched.append(f"{tab}: {app.watched.outside[asked:]}")
        print(f"{model}: seconds per tab {times}")
        assert cut == [], f"{model}: wider than the viewport:\n" + "\n".join(cut)
        assert fetched == [], (f"{model}: tabs that asked for something from outside:\n" + "\n".join(fetched)
                               + f"\nthe models naming those stylesheets: {page.evaluate(FROM_OUTSIDE)}")
        app.check()
