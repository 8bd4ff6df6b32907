"""One standalone HTML file of exactly what is on screen: the same Frame drawn by the same
Scope, with Bokeh's JavaScript inlined so it opens offline with hover and zoom working.

The page around it is analysis/decode/html.py's, which the probing report uses too (why it is built
from ``components`` and Bokeh's own JS rather than Panel's or Bokeh's save: see there)."""
from __future__ import annotations

from pathlib import Path

from bokeh.layouts import column

from rnnscope.analysis.decode.html import standalone
from rnnscope.base.atomic import check_writable, write_text_atomic
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.coloured_text import frame_cell_html
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.scope import Scope


def standalone_html(frame: Frame, caption: str = "", coloured_cell: int | None = None,
                    coloured_span: tuple[int, int] | None = None) -> str:
    """``coloured_cell``: also the text itself coloured by that cell (app/drawing/coloured_text.py), above the heatmap;
    ``coloured_span``: only its columns lo .. hi - 1 (what the page's Coloured text tab shows)."""
    body = ""
    if coloured_cell is not None:
        lo, hi = coloured_span or (0, len(frame.text))
        where = "" if (lo, hi) == (0, len(frame.text)) else f", columns {lo:,} .. {hi - 1:,}"
        body = (f"<h2 style='font-size:15px'>The text coloured by cell {coloured_cell}{where}</h2>"
                + frame_cell_html(frame, coloured_cell, coloured_span))
    scope = Scope()
    scope.update(frame)
    # Only the tracks this frame shows: in a standalone document a hidden figure whose ranges can be fit
    # is still drawn, as a 1-px column of the heatmap's colours at the page's left edge (a text model's
    # depth, probe and KL tracks). The page itself keeps them, hidden, for the next frame.
    shown = column(scope.heatmap.figure, *[f for f in scope.tracks.figures if f.visible], sizing_mode="stretch_width")
    return standalone(shown, f"rnnscope: {frame.title}", caption, body_html=body,
                      heading=f"rnnscope \u00b7 {frame.title}")


def export_file(path: str | Path, model_path: str | Path, *, text: str | None = None, index: int | None = None,
                window: int = 100, view: str = "h", layer: int = 0, order: str = "index",
                selected: list[int] | None = None, hide_separators: bool = False,
                from_zero_state: bool = False, coloured_cell: int | None = None) -> tuple[Path, float]:
    """The command line's export: the same state the page would hold, written to ``path``.
    ``text``, or else the held-out window at ``index``. Returns the path and the seconds it took."""
    import time

    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.app.pages.sequences import MAX_CHARS
    from rnnscope.app.pages.state import AppState
    start = time.perf_counter()
    check_writable(Path(path))           # before the model loads and the trace runs
    if index is not None and index < 0:
        raise RnnscopeError(f"index must be >= 0, got {index}")
    if not 1 <= window <= MAX_CHARS:
        raise RnnscopeError(f"window must be between 1 and {MAX_CHARS:,}, got {window}")
    # The state raises the bare reason when it cannot show the sequence asked for.
    state = (AppState(model_path, source="typed", text=text) if text is not None else
             AppState(model_path, source="held-out", index=index or 0, window=window,
                      reading="from the zero state" if from_zero_state else "in context"))
    if view not in state.param.view.objects:
        views = list(state.param.view.objects)
        raise RnnscopeError(f"view {view!r} does not exist for this model; choose from {views}")
    layers = len(state.param.layer.objects)
    if layer not in state.param.layer.objects:
        raise RnnscopeError(f"layer {layer} does not exist; this model's layers are 0 .. {layers - 1}")
    cells = len(state.param.selected.objects)
    bad = [c for c in selected or [] if c not in state.param.selected.objects]
    if bad:
        raise RnnscopeError(f"cells {bad} do not exist; this model's cells are 0 .. {cells - 1}")
    frame = make_frame(state.trace, view, layer, order, selected, hide_separators=hide_separators,
                       divergence=state.divergence, probe=state.probe)
    out = write(path, frame, f"{Path(state.model_path).name}: {state.sequence_note}", coloured_cell)
    return out, time.perf_counter() - start


def write(path: str | Path, frame: Frame, caption: str = "", coloured_cell: int | None = None) -> Path:
    """Write atomically (a temporary file renamed into place)."""
    return write_text_atomic(path, standalone_html(frame, caption, coloured_cell))
