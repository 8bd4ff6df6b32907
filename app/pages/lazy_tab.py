"""A tab under the heatmap whose content is computed the first time the tab is shown, not while the page loads.

Labels, probes, saturation, a comparison or a training timeline take seconds (a 128-cell text LSTM's probes,
half a minute), so a tab of that kind computes nothing until it is first shown, and ignores the changes it
watches meanwhile (nothing of it is on screen to update); from then on, each recomputes it.

Panel's dynamic Tabs send only the active tab to the browser, but it builds every tab's content when it is
made: it calls each Viewer's ``__panel__`` at once. So a LazyTab's ``__panel__`` only lays out its (still
empty) content, and the tabs that ``dynamic_tabs`` makes open a LazyTab when their ``active`` index first
points at it. In a served session the computation runs on the document's next tick, so that a "Computing…"
note reaches the browser first and says why the tab is empty.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

import panel as pn
from panel.io.state import set_curdoc
from panel.viewable import Viewer
from tornado.ioloop import IOLoop

COMPUTING = "*Computing\u2026 (the first time this tab is shown for a model takes a moment)*"


class LazyTab(Viewer):
    """A subclass gives ``_refresh`` (compute the content; its watchers call it too, and return at once
    while ``opened`` is False) and ``_layout`` (what the tab shows)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.opened = False
        self._opening = False       # the first computation is waiting for the document's next tick
        self.computing = pn.pane.Markdown(COMPUTING, visible=False, sizing_mode="stretch_width")

    def _refresh(self, *events) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how its content is computed (_refresh)")

    def _layout(self):
        raise NotImplementedError(f"{type(self).__name__} must say what it shows (_layout)")

    def open(self) -> None:
        """The tab is shown: compute its content, the first time only."""
        if self.opened or self._opening:
            return
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:     # plain Python (tests, a notebook): at once
            self._first_refresh()
            return
        self._opening = True
        self.computing.visible = True
        doc.add_next_tick_callback(partial(_under, doc, self._first_refresh))

    def _first_refresh(self) -> None:
        # Opened only now: a change watched while the note was up is computed here, not twice.
        self.opened, self._opening = True, False
        try:
            self._refresh()
        finally:
            self.computing.visible = False

    def off_thread(self, work, apply, name: str) -> None:
        """``apply(work())``. In a served page ``work`` (seconds of computing) runs on a thread of its own, so
        the page goes on answering, and ``apply`` on the document's next tick, with its lock; in plain Python
        (tests, a notebook) both at once. ``work`` catches what it expects and returns it as a value."""
        self.off_thread_steps([(work, apply)], name)

    def off_thread_steps(self, steps: list[tuple[Callable[[], object], Callable[[object], None]]], name: str) -> None:
        """``off_thread`` for several results that join the tab one after another: each ``(work, apply)`` in
        order on one thread, each ``apply`` handed to the document as soon as its ``work`` is done. The thread
        stops between steps once the page's session has ended: nobody is left to see the rest."""
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            for work, apply in steps:
                apply(work())
            return

        hand = to_document(doc)

        def run() -> None:
            for work, apply in steps:
                if session_ended(doc):
                    return
                result = work()
                hand(partial(apply, result))
        threading.Thread(target=run, name=name, daemon=True).start()

    def __panel__(self):
        return pn.Column(self.computing, self._layout(), sizing_mode="stretch_width")


def to_document(doc) -> Callable[[Callable[[], None]], None]:
    """Called on a served session's own thread: a function that a worker thread calls with ``fn``, to run ``fn``
    on the document's next tick (with its lock), or never if the session has ended by then.

    Not ``doc.add_next_tick_callback`` from the worker: once the session is torn down, Bokeh's document has
    lost its callback lists, and the call raises inside Bokeh's curdoc patch, which then never pops the dead
    document -- every later ``curdoc()`` in the process (an export, any session's) raises "Patched curdoc has
    been previously destroyed". The hand-over goes through the server's IOLoop instead (thread-safe), and
    the check runs there, on the thread that tears sessions down, so it cannot be overtaken. ``fn`` runs under
    the document as Panel's current one (``_under``)."""
    loop = IOLoop.current()

    def hand(fn: Callable[[], None]) -> None:
        def on_loop() -> None:
            if doc.session_context is not None:
                doc.add_next_tick_callback(partial(_under, doc, fn))
        loop.add_callback(on_loop)
    return hand


def session_ended(doc) -> bool:
    """Whether the served session of ``doc`` has ended (a worker thread stops computing for it)."""
    return doc.session_context is None


def _under(doc, fn, *args) -> None:
    """``fn(*args)`` on the document's tick, under that document as Panel's current one: a pane made or changed
    without it is drawn with Panel's stylesheets from its CDN (loading.css, markdown.css), which the page must
    never ask for."""
    with set_curdoc(doc):
        fn(*args)


def dynamic_tabs(*tabs: tuple[str, object], **params) -> pn.Tabs:
    """``pn.Tabs(*tabs, dynamic=True)``, each LazyTab among them opened when it is first shown: when the
    tabs' ``active`` index comes to it, or at once if it is active to begin with."""
    lazy = {i: tab for i, (_, tab) in enumerate(tabs) if isinstance(tab, LazyTab)}
    layout = pn.Tabs(*tabs, dynamic=True, **params)

    def open_shown(*events) -> None:
        if (tab := lazy.get(layout.active)) is not None:
            tab.open()

    layout.param.watch(open_shown, "active")
    open_shown()
    return layout
