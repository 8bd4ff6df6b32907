"""A page made to catch a click handled without the document lock: a text box whose change waits out a long
debounce (so a click after typing always reaches the server behind a waiting change, which is what puts Panel
on its scheduled path), and a button whose callback changes a Bokeh model itself (a plot given a new data
source) and shows the text box's value. Served by test_browser_event_lock.py, with rnnscope.app.event_lock
installed when RNNSCOPE_EVENT_LOCK=1 (the real app installs it in app_hooks.py)."""
import os

import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

if os.environ.get("RNNSCOPE_EVENT_LOCK") == "1":
    from rnnscope.app import event_lock
    event_lock.install()

plot = figure(height=160, width=260, title="plot")
dots = plot.scatter("x", "y", source=ColumnDataSource({"x": [0], "y": [0]}))
box = pn.widgets.TextInput(name="note", value="")
box._debounce = 600_000          # ms: the typed value waits until the click's coroutine applies it
button = pn.widgets.Button(label="redraw")
said = pn.pane.Markdown("note at the click: none")


def redraw(event) -> None:
    said.object = f"note at the click: {box.value_input or 'none'}"
    dots.data_source = ColumnDataSource({"x": [1, 2, 3], "y": [1, 4, 9]})


button.on_click(redraw)
pn.Column(box, button, said, pn.pane.Bokeh(plot)).servable()
