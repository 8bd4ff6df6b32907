"""app/pages/lazy_tab.py: a tab's content is computed the first time the tab is shown (its tabs' ``active`` index
comes to it), never while the page loads, and from then on after each change it watches; the
tabs that take seconds to compute, on a model's page and on an LSTMVis directory's, are all of that kind."""
from __future__ import annotations

import panel as pn
import param

from rnnscope.app.tabs.cells import CellsTab
from rnnscope.app.tabs.coloured_tab import ColouredTextTab
from rnnscope.app.tabs.compare_tab import CompareTab
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.lstmvis.lstmvis_page import LstmvisCellsTab
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.app.tabs.saturation_tab import SaturationTab
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.timeline_tab import TimelineTab


class CountingTab(LazyTab):
    """Counts its computations; recomputes when ``n`` changes, once opened."""
    n = param.Integer(default=0)

    def __init__(self, **params):
        super().__init__(**params)
        self.computed = 0
        self.body = pn.Column()
        self.param.watch(self._refresh, ["n"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        self.computed += 1

    def _layout(self):
        return self.body


def test_a_tab_computes_when_first_opened_and_after_each_change_from_then_on():
    tab = CountingTab()
    tab.n = 1                              # not opened yet: nothing computed
    assert (tab.opened, tab.computed) == (False, 0)
    assert tab.body in tab.__panel__()     # laid out (as pn.Tabs does, for every tab, when it is made): not computed
    assert (tab.opened, tab.computed) == (False, 0)
    tab.open()
    assert (tab.opened, tab.computed) == (True, 1)
    tab.open()                             # shown again: not computed again
    assert tab.computed == 1
    tab.n = 2
    assert tab.computed == 2


def test_the_slow_tabs_of_both_pages_are_lazy_tabs():
    for tab in (CellsTab, ProbesTab, SaturationTab, ColouredTextTab, CompareTab, TimelineTab, LstmvisCellsTab):
        assert issubclass(tab, LazyTab), tab.__name__


LAZY_ON_THE_MODEL_PAGE = {"Cells": CellsTab, "Probes": ProbesTab, "Saturation": SaturationTab,
                          "Coloured text": ColouredTextTab, "Compare": CompareTab, "Timeline": TimelineTab}


def test_building_the_model_page_computes_no_lazy_tab_and_opening_one_computes_exactly_that_one(
        default_model, monkeypatch):
    computed = []
    for cls in LAZY_ON_THE_MODEL_PAGE.values():
        def counting(self, *events, _refresh=cls._refresh):
            if self.opened:                # a watcher's call before the first opening computes nothing
                computed.append(type(self).__name__)
            return _refresh(self, *events)
        monkeypatch.setattr(cls, "_refresh", counting)
    page = Page(AppState(default_model, index=0, window=40))
    page.template().main[0].get_root()     # built and rendered as a session's page is: only the Model tab shows
    assert computed == []
    for name, cls in LAZY_ON_THE_MODEL_PAGE.items():
        computed.clear()
        page.tools.active = TOOLS.index(name)
        assert computed == [cls.__name__], name
    computed.clear()
    page.tools.active = TOOLS.index("Cells")   # opened before: shown again, not computed again
    assert computed == []


def test_a_worker_hands_its_result_to_a_live_session_and_drops_it_for_an_ended_one_leaving_curdoc_alone():
    """A worker thread's result reaches the document only through the server's loop, and only while the session
    lives: handed to a torn-down document, Bokeh's own add_next_tick_callback raises inside its curdoc patch and
    leaves the dead document patched in for the whole process (every later export failed so)."""
    import asyncio
    import threading
    import weakref

    from bokeh.document import Document
    from bokeh.io import doc as bokeh_doc
    from tornado.ioloop import IOLoop

    from rnnscope.app.pages.lazy_tab import session_ended, to_document

    class Session:
        pass
    session = Session()
    live, ended = Document(), Document()
    for doc in (live, ended):
        doc._session_context = weakref.ref(session)      # as a served session's document (Bokeh keeps a weakref)
    called = []

    async def scenario() -> None:
        hands = to_document(live), to_document(ended)       # made on the session's (the loop's) thread
        ended._session_context = None                        # the session ends, as Document.destroy does ...
        ended.callbacks.destroy()                            # ... its callback lists gone
        assert session_ended(ended) and not session_ended(live)
        workers = [threading.Thread(target=hand, args=(lambda: called.append(1),)) for hand in hands]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        await asyncio.sleep(0.05)                          # the loop runs the hand-overs

    IOLoop.current().run_sync(scenario)
    assert len(live.session_callbacks) == 1 and called == []      # queued for the live document's next tick
    assert bokeh_doc._PATCHED_CURDOCS == []                       # nothing left patched in


def test_steps_off_thread_join_in_order_and_stop_once_the_session_has_ended(monkeypatch):
    """``off_thread_steps`` in a served page: each result handed to the document as its work is done, and the
    thread stops before the next work once the page's session has ended (a session stands in for Bokeh's)."""
    import threading

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from rnnscope.app.pages import lazy_tab

    class Session:
        pass
    doc, session, handed, worked = Document(), Session(), [], []
    doc._session_context = lambda: session
    monkeypatch.setattr(lazy_tab, "to_document", lambda d: lambda fn: handed.append(fn))

    def first():
        worked.append("first")
        doc._session_context = lambda: None           # the page closes while the first result is computed
        return 1

    def second():
        worked.append("second")
        return 2
    tab = CountingTab()
    with set_curdoc(doc):
        tab.off_thread_steps([(first, lambda r: None), (second, lambda r: None)], "test-steps")
    for thread in threading.enumerate():
        if thread.name == "test-steps":
            thread.join(timeout=60)
    assert worked == ["first"] and len(handed) == 1     # its result handed over (the hand drops it), no second


def test_steps_in_plain_python_apply_each_result_in_order():
    applied = []
    CountingTab().off_thread_steps([(lambda: 1, applied.append), (lambda: 2, applied.append)], "plain")
    assert applied == [1, 2]
