"""A click (or a Tabulator's data edit) that reaches the server while a change from the browser still waits out
its debounce runs under the document lock, as every other callback does.

Panel (1.9) handles such an event on a later tick, behind the waiting change, and schedules that tick *without*
Bokeh's document lock (``panel.io.server.async_execute`` marks it ``nolock`` unless the coroutine carries
``lock = True``). A callback that then changes a Bokeh model itself -- a plot's data source, as the page's
drawing does -- makes Bokeh raise "_pending_writes should be non-None when we have a document lock" and the
change is lost. Whether a click lands inside another change's 50 ms debounce is chance: on a loaded machine
it did (a fresh-clone CI run). Marking Panel's two scheduled coroutines as needing the lock makes Bokeh run
them under it, with the waiting change applied first, as Panel intends.
"""
from __future__ import annotations

from panel.reactive import Syncable

_SCHEDULED = (Syncable._event_coroutine, Syncable._change_coroutine)


def install() -> None:
    """Once per server process (app_hooks' ``on_server_loaded``); installing again changes nothing."""
    for coroutine in _SCHEDULED:
        coroutine.lock = True

