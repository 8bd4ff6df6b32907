"""A click that reaches the server while a change from the browser waits out its debounce is handled under the
document lock (app/event_lock.py).

Panel 1.9 handles such a click on a later tick scheduled without Bokeh's document lock; a callback changing a
Bokeh model there makes Bokeh raise "_pending_writes should be non-None ..." and the change is lost (seen in a
fresh-clone CI run, on a loaded machine, where a click landed inside another change's 50 ms debounce).
tests/served/event_lock_page.py makes the waiting change certain (a text box with a 10-minute debounce):
served bare, the error comes on every click -- the case is real and the test sees it -- and with event_lock
installed the plot gets its new source, after the typed text was applied."""
from __future__ import annotations

import contextlib
import os
import sys
import time

import pytest
from browser_fixtures import PAGE_TIMEOUT_MS, ROOT, new_context, served, watch

pytestmark = [pytest.mark.browser]

PAGE = ROOT / "tests" / "served" / "event_lock_page.py"
UNLOCKED = "_pending_writes should be non-None when we have a document lock"
POINTS = """() => [...Bokeh.documents[0]._all_models.values()]
    .filter(m => m.title && m.title.text === "plot")
    .map(m => m.renderers[0].data_source.data.x.length)[0]"""


@contextlib.contextmanager
def typed_then_clicked(chromium, tmp_path, locked: bool):
    """The page served (event_lock installed or not): "hello" typed into the text box, then "redraw" clicked;
    (the page, the server)."""
    cmd = [sys.executable, "-m", "panel", "serve", str(PAGE), "--address", "127.0.0.1"]
    env = {**os.environ, "RNNSCOPE_EVENT_LOCK": "1" if locked else "0"}
    with served(cmd, tmp_path / f"event-lock-{int(locked)}-server.log", env, PAGE.stem) as server:
        context = new_context(chromium)
        try:
            page = context.new_page()
            watched = watch(context, page)
            page.goto(server.url)
            page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length > 0 && ({POINTS})() === 1")
            page.locator("input").first.fill("hello")
            page.get_by_role("button", name="redraw").click()
            yield page, server
            watched.assert_clean()
        finally:
            context.close()


def test_bare_panel_runs_a_click_behind_a_waiting_change_without_the_lock(chromium, tmp_path):
    with typed_then_clicked(chromium, tmp_path, locked=False) as (page, server):
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while UNLOCKED not in server.log():
            assert time.monotonic() < deadline, f"no {UNLOCKED!r} in the server log:\n{server.log()[-3000:]}"
            time.sleep(0.2)
        assert page.evaluate(POINTS) == 1            # the new source was lost with the error


def test_with_event_lock_the_click_redraws_after_the_typed_text_is_applied(chromium, tmp_path):
    with typed_then_clicked(chromium, tmp_path, locked=True) as (page, server):
        page.wait_for_function(f"() => ({POINTS})() === 3")
        page.get_by_text("note at the click: hello").wait_for()
        assert server.problems() == []
