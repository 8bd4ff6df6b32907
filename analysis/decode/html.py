"""One standalone HTML file from a Bokeh layout, BokehJS inlined, so it opens offline.

Panel's ``save(resources=INLINE)`` still fetches from a CDN (panel#6759), and once Panel is
imported ``file_html(..., INLINE)`` adds a relative ``static/extensions/panel`` script; so the
page is assembled from ``components`` and the BokehJS files of Bokeh's own package (docs/architecture.md,
Traps). Tables need bokeh-widgets and bokeh-tables beside bokeh.min.js.
"""
from __future__ import annotations

import html

from bokeh import __version__ as bokeh_version
from bokeh.embed import components
from bokeh.util.paths import bokehjs_path

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 12px 20px; }} .caption {{ color: #444; margin: 0 0 8px; }}
{style}</style>
{scripts}
</head>
<body>
<h3 style="margin: 0 0 4px">{heading}</h3>
<p class="caption">{caption}</p>
{body}
{div}
{after}
{script}
</body>
</html>
"""


def bokehjs(*parts: str) -> str:
    """<script> tags holding BokehJS (``parts``: "bokeh", "bokeh-widgets", "bokeh-tables")."""
    tags = []
    for part in parts:
        code = (bokehjs_path() / "js" / f"{part}.min.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
        tags.append(f"<script>/* {part} {bokeh_version}, inlined */\n{code}\n</script>")
    return "\n".join(tags)


def standalone(layout, title: str, caption: str = "", body_html: str = "", style: str = "",
               parts: tuple[str, ...] = ("bokeh",), heading: str | None = None, after_html: str = "") -> str:
    """The page: ``title``, ``heading`` (default: the title) and ``caption`` are escaped;
    ``body_html`` and ``after_html`` are trusted HTML put above and below the plots."""
    script, div = components(layout)
    return _PAGE.format(title=html.escape(title), heading=html.escape(heading or title), caption=html.escape(caption),
                        style=style, scripts=bokehjs(*parts), body=body_html, div=div, after=after_html,
                        script=script)
