"""Every change the served page makes reaches the browser in the order it was made (app/in_turn.py).

Panel 1.9 writes its own changes onto the websocket while a callback runs; Bokeh writes the changes made to
its models once the callback returns. When one callback makes both and the Panel change refers to a model the
Bokeh change sent first, the browser got the reference before the model: BokehJS threw "reference pN isn't
known" and dropped the change (seen once in a full run, on the Dynamics tab). tests/served/in_turn_page.py
makes exactly that callback. Served bare, the error comes every time -- the case is real and the test sees
it -- and with in_turn installed the second plot arrives with its three points and no error comes. A batch
Panel holds together (``pn.io.hold()``, the cell card's way of painting at once) stays one message."""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys

import pytest
from browser_fixtures import ROOT, new_context, served, watch

pytestmark = [pytest.mark.browser]

PAGE = ROOT / "tests" / "served" / "in_turn_page.py"
# {title: points drawn} for every plot in the page's document (a model half made from a message that failed
# has its properties unset: reading one throws, and it is no plot shown).
PLOTS = """() => Object.fromEntries([...Bokeh.documents[0]._all_models.values()].flatMap(m => {
    try { return m.renderers !== undefined && m.title && m.title.text !== undefined
        ? [[m.title.text, m.renderers.reduce((n, r) => n + r.data_source.data.x.length, 0)]] : []; }
    catch (e) { return []; } }))"""


@contextlib.contextmanager
def page_on(chromium, tmp_path, in_turn: bool):
    """The page served (in_turn installed or not) and opened: (page, its page errors, the PATCH-DOC messages
    it has received so far, a list that grows)."""
    cmd = [sys.executable, "-m", "panel", "serve", str(PAGE), "--address", "127.0.0.1"]
    env = {**os.environ, "RNNSCOPE_IN_TURN": "1" if in_turn else "0"}
    with served(cmd, tmp_path / f"in-turn-{int(in_turn)}-server.log", env, PAGE.stem) as server:
        context = new_context(chromium)
        try:
            page = context.new_page()
            watched, patches = watch(context, page), []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: patches.extend(_patch_header(f))))
            page.goto(server.url)
            page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length > 0 && ({PLOTS})().first === 1")
            yield page, watched.page_errors, patches
        finally:
            context.close()


def _patch_header(frame) -> list[str]:
    """[the message id] if ``frame`` is the header of a PATCH-DOC message, else []."""
    if isinstance(frame, str) and frame.startswith('{"msgid"'):
        header = json.loads(frame)
        if header.get("msgtype") == "PATCH-DOC":
            return [header["msgid"]]
    return []


def click_redraw(chromium, tmp_path, in_turn: bool) -> tuple[list[str], dict]:
    """Press "redraw" once; (the page errors, the plots) once the changes it made are in. The first plot's new
    source is the callback's first change: written out of turn its message arrives last, so an error the
    Panel change raised has been raised before the first plot shows 3 points; in turn it arrives first, and
    the second plot follows."""
    with page_on(chromium, tmp_path, in_turn) as (page, errors, _):
        page.get_by_role("button", name="redraw").click()
        page.wait_for_function(f"() => ({PLOTS})().first === 3")
        if in_turn:
            page.wait_for_function(f"() => ({PLOTS})().second === 3")
        return list(errors), page.evaluate(PLOTS)


def test_out_of_turn_the_browser_is_sent_a_reference_before_its_model(chromium, tmp_path):
    """Panel as it comes: the case is real, and this page shows it every time."""
    errors, plots = click_redraw(chromium, tmp_path, in_turn=False)
    assert len(errors) == 1 and re.fullmatch(r"reference p\d+ isn't known", errors[0]), errors
    assert plots == {"first": 3}            # the second plot was dropped with the message that brought it


def test_in_turn_every_change_arrives_whole(chromium, tmp_path):
    errors, plots = click_redraw(chromium, tmp_path, in_turn=True)
    assert errors == []
    assert plots == {"first": 3, "second": 3}


def test_in_turn_a_held_batch_is_still_one_message(chromium, tmp_path):
    with page_on(chromium, tmp_path, in_turn=True) as (page, errors, patches):
        before = len(patches)
        page.get_by_role("button", name="both texts").click()
        page.get_by_text("second text: new").wait_for()
        page.get_by_text("first text: new").wait_for()
        assert len(patches) - before == 1
        assert errors == []
