"""Every change the served page makes reaches the browser in the order it was made (app/in_turn.py).

Panel 1.9 writes its own changes onto the websocket while a callback runs; Bokeh writes the changes made to
its models once the callback returns. When one callback makes both and the Panel change refers to a model the
Bokeh change sent first, the browser got the reference before the model: BokehJS threw "reference pN isn't
known" and dropped the change (seen once in a full run, on the Dynamics tab). tests/served/in_turn_page.py
makes exactly that callback. Served bare, the error comes every time -- the case is real and the test sees
it -- and with in_turn installed the second plot arrives with its three points and no error comes."""
from __future__ import annotations

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


def click_redraw(chromium, tmp_path, in_turn: bool) -> tuple[list[str], dict]:
    """Serve the page, press its button once; (the page errors, the plots) once the changes it made are in.
    The first plot's new source is the callback's first change: written out of turn, its message arrives
    last, so an error the Panel change raised has been raised before the first plot shows 3 points; written
    in turn it arrives first, and the second plot follows."""
    cmd = [sys.executable, "-m", "panel", "serve", str(PAGE), "--address", "127.0.0.1"]
    env = {**os.environ, "RNNSCOPE_IN_TURN": "1" if in_turn else "0"}
    with served(cmd, tmp_path / f"in-turn-{int(in_turn)}-server.log", env, PAGE.stem) as server:
        context = new_context(chromium)
        try:
            page = context.new_page()
            watched = watch(context, page)
            page.goto(server.url)
            page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length > 0 && ({PLOTS})().first === 1")
            page.get_by_role("button", name="redraw").click()
            page.wait_for_function(f"() => ({PLOTS})().first === 3")
            if in_turn:
                page.wait_for_function(f"() => ({PLOTS})().second === 3")
            return list(watched.page_errors), page.evaluate(PLOTS)
        finally:
            context.close()


def test_out_of_turn_the_browser_is_sent_a_reference_before_its_model(chromium, tmp_path):
    """Panel as it comes: the case is real, and this page shows it every time."""
    errors, plots = click_redraw(chromium, tmp_path, in_turn=False)
    assert len(errors) == 1 and re.fullmatch(r"reference p\d+ isn't known", errors[0]), errors
    assert plots == {"first": 3}            # the second plot was dropped with the message that brought it


def test_in_turn_every_change_arrives_whole(chromium, tmp_path):
    errors, plots = click_redraw(chromium, tmp_path, in_turn=True)
    assert errors == []
    assert plots == {"first": 3, "second": 3}
