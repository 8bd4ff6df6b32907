"""One standalone HTML file of exactly what is on screen: the same Frame drawn by the same
Scope, with Bokeh's JavaScript inlined so it opens offline with hover and zoom working.
(Panel's own ``save(resources=INLINE)`` still fetches from a CDN: panel#6759.)"""
from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import Div
from bokeh.resources import INLINE

from .frame import Frame
from .scope import Scope


def standalone_html(frame: Frame, caption: str = "") -> str:
    scope = Scope()
    scope.update(frame)
    head = Div(text=f"<b>rnnscope</b> &middot; {html.escape(frame.title)}<br><small>{html.escape(caption)}</small>",
               sizing_mode="stretch_width")
    return file_html(column(head, scope.layout, sizing_mode="stretch_width"), INLINE, title=f"rnnscope: {frame.title}")


def write(path: str | Path, frame: Frame, caption: str = "") -> Path:
    """Write atomically (a temporary file renamed into place)."""
    path = Path(path)
    text = standalone_html(frame, caption)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
