"""The served page's changes reach the browser in the order they were made.

Panel (1.9) writes the changes a callback makes to its own objects out of Bokeh's turn: straight onto the
websocket while the callback runs, or, while Bokeh is writing a message, as a message made now and written a
little later. Changes made to Bokeh models themselves (a plot's data sources) go Bokeh's way: made into a
message now, written once the callback returns, under the socket's write lock. Each message is serialised
when it is made, and a model is sent whole in the first message that needs it and by its id alone after that.
So a message made later but written earlier refers to a model the browser has not been given yet: BokehJS
throws "reference pN isn't known" and drops the change. Both turns happen in the page: a Panel write
overtakes the Bokeh message of a plot change made earlier in the same callback, and a Bokeh message (new
points for the Dynamics tab's plot) overtakes the Panel message, still waiting, that first sent that plot.

``install`` hands Panel's changes to Bokeh instead, to be written in turn with its own: the order they are
made in is the order they are written in. (Panel does exactly this when its own write fails.) The cost: a
change now reaches the browser when its callback returns, never part-way through it, so Panel's busy
indicator no longer lights during a callback; the page says "Computing…" itself where that takes long.
"""
from __future__ import annotations

from bokeh.document.callbacks import invoke_with_curdoc
import panel.io.document as panel_document


def install() -> None:
    """From now on, in this process, every change Panel would write itself goes to Bokeh's session instead."""
    panel_document.write_events = _in_turn
    panel_document.schedule_write_events = _in_turn


def _in_turn(doc, connections, events) -> None:
    """Panel's batch ``events`` of ``doc``, given to the document's change callbacks (its Bokeh session) now,
    where Panel would have written them: the session makes its messages after those it already has and writes
    them in that order once the callback returns. Not ``trigger_on_change``: the document is held here, and
    Bokeh would then also run the models' Python ``on_change`` callbacks for these changes, which Panel's own
    write never runs (Panel would take its own changes for the browser's)."""
    def dispatch() -> None:
        for event in events:
            for callback in doc.callbacks.change_callbacks():
                callback(event)
    invoke_with_curdoc(doc, dispatch)
