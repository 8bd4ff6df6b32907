"""The command line's export (``rnnscope export``): the state the page would hold for the arguments
given, drawn by app/drawing/export.py into one standalone HTML file. It lives with the page because it
builds the page's AppState; drawing sits below the page (docs/architecture.md, "Layers")."""
from __future__ import annotations

from pathlib import Path

from rnnscope.base.atomic import check_writable
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.drawing.export import write


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
