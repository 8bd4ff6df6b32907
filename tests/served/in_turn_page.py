"""A page made to catch messages written out of turn: one click makes, in a single callback, a change to a
Bokeh model (a plot given a new data source: Bokeh's session sends it, once the callback returns) and then a
change to a Panel object that refers to that source (a second plot of it added to a column: Panel sends it).
The source goes whole into the first message made and by its id alone into the second; if the second is
written first, the browser is told of a source it has never been given. A second button changes two texts inside
``pn.io.hold()``, which Panel sends as one message. Served by test_browser_in_turn.py, with
rnnscope.app.in_turn installed when RNNSCOPE_IN_TURN=1 (the real app installs it in app_hooks.py), and
rnnscope.app.event_lock always."""
import os

import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

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


def redraw(event) -> None:
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
