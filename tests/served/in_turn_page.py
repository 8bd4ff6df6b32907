"""A page made to catch messages written out of turn: one click makes, in a single callback, a change to a
Bokeh model (a plot given a new data source: Bokeh's session sends it, once the callback returns) and then a
change to a Panel object that refers to that source (a second plot of it added to a column: Panel sends it).
The source goes whole into the first message made and by its id alone into the second; if the second is
written first, the browser is told of a source it has never been given. A second button changes two texts inside
``pn.io.hold()``, which Panel sends as one message.

Panel writes at once only while nothing else is being written: while Bokeh's session holds the socket's write
lock (a message of the session's still going out, slow on a loaded machine) or a write of Panel's own
still waits, it makes its message then and writes it a little later -- after the Bokeh message, so no crossing.
The click's changes are therefore made at the first moment Panel would write at once, which makes the
crossing certain out of turn rather than a matter of timing. Served by test_browser_in_turn.py, with
rnnscope.app.in_turn installed when RNNSCOPE_IN_TURN=1 (the real app installs it in app_hooks.py), and
rnnscope.app.event_lock always."""
import os
import sys
from functools import partial

import panel as pn
import panel.io.document as panel_document
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from panel.io.state import set_curdoc

from rnnscope.app import event_lock

# Always, as in the real app: a click landing behind a change the browser sent (a chance on a loaded machine)
# would otherwise run without the document lock and fail for that reason, not for the order of the writes.
event_lock.install()
if os.environ.get("RNNSCOPE_IN_TURN") == "1":
    from rnnscope.app import in_turn
    in_turn.install()

first = figure(height=160, width=260, title="first")
dots = first.scatter("x", "y", source=ColumnDataSource({"x": [0], "y": [0]}))
plots = pn.Column(pn.pane.Bokeh(first))
button = pn.widgets.Button(label="redraw")
held = pn.widgets.Button(label="both texts")
texts = [pn.pane.Markdown("first text: old"), pn.pane.Markdown("second text: old")]


def panel_writes_at_once(doc) -> bool:
    """Panel's own test, in panel.io.document.unlocked, for writing a change straight onto the socket."""
    if doc in panel_document._WRITE_MSGS or doc in panel_document._WRITE_BLOCK:
        return False
    connections = doc.session_context.session._subscribed_connections
    return not any(connection._socket.write_lock._block._value == 0 for connection in connections)


def when_panel_writes_at_once(doc, work, waited: int = 0) -> None:
    """``work()`` now if Panel would write at once, else 10 ms later (a Bokeh callback, under the document
    lock as Panel's own are) and asked again; the test fails on its own timeout if that moment never comes."""
    with set_curdoc(doc):
        if panel_writes_at_once(doc):
            if waited:
                print(f"in_turn_page: waited {waited} x 10 ms for the socket", file=sys.stderr, flush=True)
            work()
        else:
            doc.add_timeout_callback(partial(when_panel_writes_at_once, doc, work, waited + 1), 10)


def redraw(event) -> None:
    when_panel_writes_at_once(pn.state.curdoc, draw_both)


def draw_both() -> None:
    source = ColumnDataSource({"x": [1, 2, 3], "y": [1, 4, 9]})
    dots.data_source = source
    second = figure(height=160, width=260, title="second")
    second.scatter("x", "y", source=source)
    plots.append(pn.pane.Bokeh(second))


def both_texts(event) -> None:
    with pn.io.hold():
        for text in texts:
            text.object = text.object.replace("old", "new")


button.on_click(redraw)
held.on_click(both_texts)
pn.Column(button, plots, held, *texts).servable()
