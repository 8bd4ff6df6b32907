"""The served page's changes reach the browser in the order they were made.

Panel (1.9) writes the changes a callback makes to its own objects out of Bokeh's turn: straight onto the
websocket while the callback runs, or, while Bokeh is writing a message, as a message made now and written a
little later. Changes made to Bokeh models themselves (a plot's data sources) go Bokeh's way: made into a
message now, written once the callback returns, under the socket's write lock. Each message is serialised
when it is made, and a model is sent whole in the first message that needs it and by its id alone after that.
So a message made later but written earlier refers to a model the browser has not been given yet: BokehJS
throws "reference pN isn't known" and drops the change. Both crossings happen in the page: a Panel write
overtakes the Bokeh message of a plot change made earlier in the same callback, and a Bokeh message (new
points for the Dynamics tab's plot) overtakes a Panel message, still waiting, that first sent that plot.

``install`` makes Panel queue its message where Bokeh queues its own -- the session's writes pending for the
callback, sent in order once it returns -- so the order they are made in is the order they are written in.
A batch of Panel's (a ``pn.io.hold()`` block) stays one message. The cost: a change reaches the browser when
its callback returns, never part-way through it, so Panel's busy indicator no longer lights during a
callback; the page says "Computing…" itself where that takes long.
"""
from __future__ import annotations

import panel.io.document as panel_document


def install() -> None:
    """From now on, in this process, every message Panel would write itself is queued in Bokeh's turn."""
    panel_document.write_events = _in_turn
    panel_document.schedule_write_events = _in_turn


def _in_turn(doc, connections, events) -> None:
    """Panel's batch ``events`` of ``doc`` as one message per connection, queued behind the messages its
    session has made so far in this callback (the list Bokeh's document lock keeps, and writes in order once
    the callback returns). Outside that lock there is no such list: raising then makes Panel give the
    events to the document, which sends them in a callback of its own."""
    for connection in connections:
        if connection.session._pending_writes is None:
            raise RuntimeError("Bokeh's document lock is not held: no writes are pending to queue behind")
    for connection in connections:
        message = connection.protocol.create("PATCH-DOC", events)
        connection.session._pending_writes.append(connection._socket.send_message(message))
