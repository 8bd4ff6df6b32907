"""The Match tab (LSTMVis, Strobelt et al. 2017): drag across the heatmap with the span tool to select
characters; the cells above a threshold throughout the span and not just outside it are its pattern
(analysis/describe/match.on_cells); then the runs of a whole corpus where those cells are all on, ranked
(analysis/describe/match.match), each a click away.

MatchTab reads its page's state only through RowsState's interface (app/pages/rows_state.py): the trace
and layer on screen, the cells plotted, and the parameters that move the heatmap's columns. What is
matched against (``_corpus``), how a match is loaded (``load``) and how a span is quoted (``_span_text``,
``_span_name``) are each page's: HeldoutMatchTab here scans a model's whole held-out stream;
app/pages/lstmvis/lstmvis_page.py's every step of an LSTMVis states file, whose steps may be words.

A model's corpus states are read in context from its Zarr store (models/store/zarr_store.py), written on
first use -- the page says so while it is written -- and shared by every session (app/pages/cache.py).
That first build and every scan run off the event loop, so the page stays live meanwhile; results are
applied on the document's next tick (Bokeh's models change only under the document's lock), and only the
newest request's.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.events import SelectionGeometry
from bokeh.models import BoxAnnotation, BoxSelectTool
from bokeh.plotting import figure as Figure
from panel.viewable import Viewer

from rnnscope.analysis.describe.match import Match, match, on_cells
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.trace import value_range

from rnnscope.app.pages import cache, sequences
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.pages.lazy_tab import to_document
from rnnscope.app.pages.rows_state import RowsState
from rnnscope.app.pages.state import AppState

SPAN_TOOL = "Select a span of characters (then see the Match tab)"
TOP = 20                 # matches listed
CONTEXT = 8              # characters shown either side of a match in the table
HIGHLIGHT = "#2ca02c"
HOW = ("Pick the span tool in the heatmap's toolbar (\u2b1a, *Select a span of characters*) and drag across "
       "some characters. The cells of **h** above the threshold throughout the span and not just before and after "
       "it are its pattern; then every run of the whole held-out stream where those cells are all on is ranked.")
COLUMNS = {"rank": "rank", "start": "start", "end": "end", "length": "length", "extra_on": "other cells on",
           "length_gap": "length off by", "text": "text (\u2026context \u27e6match\u27e7 context\u2026)"}


def span_columns(x0: float, x1: float, columns: int) -> tuple[int, int] | None:
    """The whole heatmap columns a drag from x0 to x1 covers: those whose centre lies inside it
    (column t spans t - 0.5 .. t + 0.5). None when it covers no centre."""
    first, last = max(math.ceil(min(x0, x1)), 0), min(math.floor(max(x0, x1)), columns - 1)
    return (first, last) if first <= last else None


def around(start: int, end: int, window: int | None, n: int) -> tuple[int, int]:
    """The window (first step, length) that shows steps ``start .. end`` of ``n`` with CONTEXT either side:
    the window shown if it is long enough, centred on the match, kept inside 0 .. n."""
    length = end - start + 1
    window = min(max(window or 0, length + 2 * CONTEXT), sequences.MAX_CHARS)
    return max(0, min(start - (window - length) // 2, n - window)), window


def matches_frame(found: list[Match], corpus: str | list[str]) -> pd.DataFrame:
    """One row per match, best first, with its text in a little context (``corpus``: characters, or the
    words of a word-level LSTMVis file, one per step, written apart)."""
    def cut(a: int, b: int) -> str:
        return corpus[a:b] if isinstance(corpus, str) else " ".join(corpus[a:b])

    rows = [{"rank": k + 1, "start": m.start, "end": m.end, "length": m.end - m.start + 1, "extra_on": m.extra_on,
             "length_gap": m.length_gap,
             "text": (cut(max(0, m.start - CONTEXT), m.start) + "\u27e6" + cut(m.start, m.end + 1) + "\u27e7"
                      + cut(m.end + 1, m.end + 1 + CONTEXT)).replace("\n", "\u21b5")}
            for k, m in enumerate(found)]
    # Typed even when empty: Tabulator's configuration follows the dtypes (a number column sorts as
    # numbers), and a changed configuration makes the browser destroy and rebuild the whole table; the
    # first ranking would then arrive in rows that are replaced a moment later, and a click landing in
    # between was lost.
    dtypes = {k: "int64" for k in COLUMNS if k != "text"} | {"text": str}
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype(dtypes)


MAX_CARD_BUTTONS = 16     # on-cells offered a card button (any other: click its heatmap row)


class MatchTab(Viewer):
    state = param.ClassSelector(class_=RowsState)
    threshold = param.Number(default=0.5, allow_None=True, step=0.05, label="Threshold: h above it is on")
    plot_cells = param.Event(label="Plot the on-cells")

    def __init__(self, figure: Figure, frame: Callable[[], Frame | None], **params):
        """``figure``: the heatmap, which gets the span tool and the highlight; ``frame``: the frame on screen."""
        super().__init__(**params)
        self._frame = frame
        self.tool = BoxSelectTool(dimensions="width", renderers=[], description=SPAN_TOOL)
        figure.add_tools(self.tool)
        # The span taken (whole columns) or the match loaded: in data coordinates, so it pans with the heatmap.
        self.box = BoxAnnotation(left=0, right=0, visible=False, fill_color=HIGHLIGHT, fill_alpha=0.12,
                                 line_color=HIGHLIGHT, line_width=2, level="overlay")
        figure.add_layout(self.box)
        figure.on_event(SelectionGeometry, self._on_geometry)
        self.selection: dict | None = None   # the span taken: its states and where it came from
        self.cells = np.zeros(0, np.int64)    # its on-cells
        self.matches: list[Match] = []
        self.highlight: tuple[int, int] | None = None   # true character positions in the shown trace
        self._pending: tuple[int, int] | None = None    # the highlight of a match being loaded
        self._request = 0                                 # the newest match request; older results are dropped
        self._restoring = False
        self.error = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.said = pn.pane.Markdown(HOW, sizing_mode="stretch_width")
        self.card_buttons = pn.FlexBox(visible=False, sizing_mode="stretch_width")   # an on-cell's card, a button each
        self.status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(matches_frame([], ""), show_index=False, disabled=True, selectable=False,
                                          titles=COLUMNS, height=320, sizing_mode="stretch_width",
                                          layout="fit_data_stretch", header_filters=False)
        self.table.on_click(self._on_click)
        self.param.watch(self._on_threshold, ["threshold"])
        # After the page's own redraw (precedence 0): the highlight is placed on the new frame.
        self.state.param.watch(self._follow, list(self.state.COLUMNS_MOVE_WITH), precedence=1)

    # --- select ---------------------------------------------------------------------------
    def _on_geometry(self, event) -> None:
        g = event.geometry
        if event.final and g.get("type") == "rect":
            self.select_columns(g["x0"], g["x1"])

    def select_columns(self, x0: float, x1: float) -> None:
        """Select the characters under a drag from x0 to x1 across the heatmap."""
        frame = self._frame()
        span = span_columns(x0, x1, len(frame.text))
        if span is None:
            return self._refuse("the span holds no whole character: drag across at least one character's column")
        positions = frame.char_positions       # separators hidden: the span still runs over the true characters
        self.select(int(positions[span[0]]), int(positions[span[1]]))

    def select(self, start: int, end: int) -> None:
        """Select characters ``start .. end`` (true positions) of the sequence shown, on its layer."""
        s = self.state
        h = s.trace.hidden[s.shown_layer]
        if not 0 <= start <= end < len(h):
            return self._refuse(f"the span {start} .. {end} is not inside the sequence (0 .. {len(h) - 1})")
        lo, hi = max(start - 1, 0), min(end + 2, len(h))      # the span and a step either side: all on_cells reads
        selection = {"values": h[lo:hi].copy(), "at": (start - lo, end - lo), "start": start, "end": end,
                     "layer": s.shown_layer, "text": self._span_text(start, end), "range": value_range("h", h)}
        why = self._threshold_refusal(self.threshold, selection["range"])
        if why:
            return self._refuse(why)
        cells = self._on_cells(selection, self.threshold)
        if cells is None:
            return
        self.selection, self.cells = selection, cells
        self.highlight = (start, end)
        self._draw_highlight()
        self._find()

    def _span_text(self, start: int, end: int) -> str:
        """Positions ``start .. end`` of the sequence shown as the messages quote them: its characters."""
        return self.state.trace.text[start:end + 1]

    def _span_name(self, start: int, end: int) -> str:
        """Where positions ``start .. end`` of the sequence shown are, as the messages say it: counted from the
        stream's start, as the heatmap's axis counts them."""
        first = self.state.first_position
        return f"characters {first + start:,} .. {first + end:,}"

    def _on_cells(self, selection: dict, threshold: float) -> np.ndarray | None:
        """The selection's on-cells at ``threshold``; None (and the reason said) when there are none."""
        cells = on_cells(selection["values"], *selection["at"], threshold)
        if len(cells) == 0:
            self._refuse(f"no cell of layer {selection['layer']} is above {threshold:g} throughout "
                         f"{self._span_name(selection['start'], selection['end'])} ({selection['text']!r}) and "
                         "not just outside them: select another span or lower the threshold")
            return None
        return cells

    def _threshold_refusal(self, threshold: float | None, bounds: tuple[float, float]) -> str:
        low, high = bounds
        if threshold is not None and low < threshold < high:
            return ""
        got = "the box is empty" if threshold is None else f"got {threshold:g}"
        return f"the threshold must lie strictly between {low:g} and {high:g} (the range of h); {got}"

    def _on_threshold(self, event) -> None:
        """A new threshold re-reads the selection's on-cells; one that is out of range, or that leaves no
        on-cell, is refused and the box snaps back."""
        if self._restoring:
            return
        s = self.state
        bounds = self.selection["range"] if self.selection else value_range("h", s.trace.hidden[s.shown_layer])
        why = self._threshold_refusal(event.new, bounds)
        if why:
            self._refuse(why)
        cells = None if why or self.selection is None else self._on_cells(self.selection, event.new)
        if why or (self.selection is not None and cells is None):
            self._restoring = True            # the box snaps back to the threshold in effect
            try:
                self.threshold = event.old
            finally:
                self._restoring = False
            return
        if self.selection is not None:
            self.cells = cells
            self._find()

    def _refuse(self, why: str) -> None:
        self.error.object = f"{why.rstrip('.')}. Nothing changed."
        self.error.visible = True

    # --- match ----------------------------------------------------------------------------
    def _find(self) -> None:
        """The selection's best matches over the whole held-out stream (the store built first if need be)."""
        self.error.visible = False
        sel, cells, threshold = self.selection, self.cells, self.threshold
        self.said.object = (f"**Selected:** {self._span_name(sel['start'], sel['end'])} ({sel['text']!r}) of layer "
                            f"{sel['layer']}; **on-cells** at h > {threshold:g}: **{[int(c) for c in cells]}** "
                            "(above the threshold throughout, not just before or after).")
        self._offer_cards(cells, sel["layer"])
        self._request += 1
        request = self._request
        try:
            corpus, states, reading, scanned = self._corpus()
        except (RnnscopeError, OSError) as e:
            return self._show_matches(request, None, f"nothing to match against: {e}")
        self.status.object = reading
        # from the worker thread, the result goes through the server's loop (to_document), never to the document
        later = to_document(self.box.document) if self._served() else self._later

        def work() -> None:
            try:
                found = match(states(sel["layer"]), cells, threshold, sel["end"] - sel["start"] + 1, top=TOP)
                result, why = (found, corpus, scanned), ""
            except (RnnscopeError, OSError) as e:
                result, why = None, f"cannot match: {e}"
            later(lambda: self._show_matches(request, result, why))

        if self._served():
            threading.Thread(target=work, name="rnnscope-match", daemon=True).start()
        else:
            work()

    def _corpus(self) -> tuple[str, Callable, str, str]:
        """What a selection is matched against: its text, a function giving layer k's states [N, H] (a
        NumPy or Zarr array, read chunk by chunk), what the status says while they are read, and how the
        result names what was scanned."""
        raise NotImplementedError(f"{type(self).__name__} must say what it matches against (_corpus)")

    def _show_matches(self, request: int, result: tuple | None, why: str) -> None:
        if request != self._request:          # a newer selection or threshold has been asked for since
            return
        if result is None:
            self.matches = []
            self.table.value = matches_frame([], "")
            self.status.object = ""
            self.error.object, self.error.visible = why, True
            return
        found, corpus, scanned = result
        length = self.selection["end"] - self.selection["start"] + 1
        self.matches = found
        self.table.value = matches_frame(found, corpus)
        self.status.object = (
            f"The {len(found)} best of every run in the {scanned} where all on-cells are above "
            f"{self.threshold:g}. Ranked by the fewest *other* cells also on throughout the run (the pattern's "
            f"off-cells should stay off), then the length closest to the selection's ({length}), "
            "then position. Click a row to load it into the heatmap.")

    # --- show a match ---------------------------------------------------------------------
    def _on_click(self, event) -> None:
        row = self.table.value.iloc[event.row]
        self.load(int(row["start"]), int(row["end"]))

    def load(self, start: int, end: int) -> None:
        """Show the corpus's steps ``start .. end`` in the heatmap, highlighted (``_pending`` while loading)."""
        raise NotImplementedError(f"{type(self).__name__} must say how a match is shown (load)")

    @param.depends("plot_cells", watch=True)
    def _plot_cells(self) -> None:
        if self.selection is None:
            return self._refuse("no span selected yet: nothing to plot")
        self.state.show_cells(self.cells, self.selection["layer"])

    # --- the highlight on the heatmap -----------------------------------------------------
    def _follow(self, *events) -> None:
        if any(e.name == "trace" for e in events):     # another sequence: a highlight only for a match loaded
            self.highlight = self._pending
        self._draw_highlight()

    def _draw_highlight(self) -> None:
        frame = self._frame()
        if self.highlight is None or frame is None:
            self._later(lambda: setattr(self.box, "visible", False))
            return
        positions = frame.char_positions
        first = int(np.searchsorted(positions, self.highlight[0]))
        last = int(np.searchsorted(positions, self.highlight[1], side="right")) - 1
        self._later(lambda: self.box.update(left=first - 0.5, right=last + 0.5, visible=True))

    def _served(self) -> bool:
        doc = self.box.document
        return doc is not None and doc.session_context is not None

    CARDS = False          # the page has a cell card: each on-cell gets a button that opens it

    def _offer_cards(self, cells, layer: int) -> None:
        buttons = []
        for cell in [int(c) for c in cells][:MAX_CARD_BUTTONS] if self.CARDS else []:
            button = pn.widgets.Button(name=f"cell {cell}", width=80)
            button.on_click(lambda _, cell=cell: self.state.inspect(cell, layer))
            buttons.append(button)
        self.card_buttons.objects = buttons
        self.card_buttons.visible = bool(buttons)

    def _later(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` now without a served page; in one, on the document's next tick (with its lock). On the
        session's own thread only (a worker thread hands over with lazy_tab.to_document)."""
        if self._served():
            self.box.document.add_next_tick_callback(fn)
        else:
            fn()

    def __panel__(self):
        return pn.Column(pn.Row(pn.widgets.FloatInput.from_param(self.param.threshold, width=220),
                                pn.widgets.Button.from_param(self.param.plot_cells, align="end")),
                         self.error, self.said, self.card_buttons, self.status, self.table,
                         sizing_mode="stretch_width")


class HeldoutMatchTab(MatchTab):
    """Match over a model's whole held-out stream, read in context; a match loaded as a held-out window."""
    state = param.ClassSelector(class_=AppState)
    CARDS = True

    def _corpus(self) -> tuple[str, Callable, str, str]:
        """The model's whole held-out stream, and its states from the model's state store."""
        path, key = self.state.model_path, self.state.heldout_key
        corpus = cache.held(path, key).text
        store = cache.corpus_store_path(path, key)
        building = not store.exists()
        reading = (f"*Building the state store: every hidden state of the {len(corpus):,} held-out "
                   f"characters, read in context (once for this model) \u2026*" if building else
                   f"*Scanning all {len(corpus):,} held-out steps \u2026*")
        scanned = (f"**whole** held-out stream ({len(corpus):,} steps, read in context; store `{store}`"
                   f"{', built just now' if building else ''})")
        return corpus, lambda layer: cache.corpus_store(path, key)[f"h_l{layer}"], reading, scanned

    def load(self, start: int, end: int) -> None:
        """Load the held-out window around characters ``start .. end``, read in context, span highlighted."""
        s = self.state
        index, window = around(start, end, s.window, len(cache.held(s.model_path, s.heldout_key).text))
        before = (s.index, s.window, s.reading)
        self._pending = (start - index, end - index)
        try:
            s.param.update(index=index, window=window, reading="in context")
            if (s.index, s.window, s.reading) == before:      # no change, so no reload: ask for one
                s.param.trigger("index")
        finally:
            self._pending = None
