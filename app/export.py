"""One standalone HTML file of exactly what is on screen: the same Frame drawn by the same
Scope, with Bokeh's JavaScript inlined so it opens offline with hover and zoom working.

Panel's own ``save(resources=INLINE)`` still fetches from a CDN (panel#6759), and once Panel
is imported it also adds a relative ``<script src="static/extensions/panel/...">`` to
Bokeh's ``file_html(..., INLINE)``. So the page is assembled here from ``components`` and
BokehJS read straight from Bokeh's own package: nothing but the plots needs loading."""
from __future__ import annotations

import html
from pathlib import Path

from bokeh import __version__ as bokeh_version
from bokeh.embed import components
from bokeh.util.paths import bokehjs_path

from models.atomic import check_writable, write_text_atomic
from models.errors import RnnscopeError

from .frame import Frame
from .scope import Scope


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 12px 20px; }} .caption {{ color: #444; margin: 0 0 8px; }}</style>
<script>/* BokehJS {version}, inlined */
{bokehjs}
</script>
</head>
<body>
<h3 style="margin: 0 0 4px">rnnscope &middot; {title_html}</h3>
<p class="caption">{caption}</p>
{div}
{script}
</body>
</html>
"""


def _bokehjs() -> str:
    return (bokehjs_path() / "js" / "bokeh.min.js").read_text(encoding="utf-8").replace("</script", "<\\/script")


def standalone_html(frame: Frame, caption: str = "") -> str:
    scope = Scope()
    scope.update(frame)
    script, div = components(scope.layout)
    return _PAGE.format(title=html.escape(f"rnnscope: {frame.title}"), title_html=html.escape(frame.title),
                        caption=html.escape(caption), version=bokeh_version, bokehjs=_bokehjs(), div=div, script=script)


def export_file(path: str | Path, model_path: str | Path, *, text: str | None = None, index: int | None = None,
                window: int = 100, view: str = "h", layer: int = 0, order: str = "index",
                selected: list[int] | None = None, hide_separators: bool = False) -> tuple[Path, float]:
    """The command line's export: the same state the page would hold, written to ``path``.
    ``text``, or else the held-out window at ``index``. Returns the path and the seconds it took."""
    import time

    from .frame import make_frame
    from .sequences import MAX_CHARS
    from .state import AppState
    start = time.perf_counter()
    check_writable(Path(path))           # before the model loads and the trace runs
    if index is not None and index < 0:
        raise RnnscopeError(f"index must be >= 0, got {index}")
    if not 1 <= window <= MAX_CHARS:
        raise RnnscopeError(f"window must be between 1 and {MAX_CHARS:,}, got {window}")
    # The state raises the bare reason when it cannot show the sequence asked for.
    state = (AppState(model_path, source="typed", text=text) if text is not None else
             AppState(model_path, source="held-out", index=index or 0, window=window))
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
    frame = make_frame(state.trace, view, layer, order, selected, hide_separators=hide_separators)
    out = write(path, frame, f"{Path(state.model_path).name}: {state.sequence_note}")
    return out, time.perf_counter() - start


def write(path: str | Path, frame: Frame, caption: str = "") -> Path:
    """Write atomically (a temporary file renamed into place)."""
    return write_text_atomic(path, standalone_html(frame, caption))
