"""One correction to Panel (1.9) for pages whose tabs are dynamic: the stylesheets of a model outside its
document are resolved against the page's document, not against Panel's CDN.

A dynamic ``pn.Tabs`` takes a tab's models out of the document while another tab is shown. A pane changed
then (a Markdown pane's new text, when a computation for a hidden tab ends) is redrawn by Panel with
``_get_properties(model.document)``, i.e. with no document: the stylesheet URLs are then rewritten to
Panel's CDN. But the stylesheet objects themselves are the ones Panel shares among all of the page's models
(its cache for the current document), so the rewrite reaches every model of the page, and the browser asks
the internet for loading.css and markdown.css at once (seen in Chromium: the hidden Dynamics tab's note
changed by a model switch). Panel already takes those shared objects from the current document; here the
URLs are resolved against that same document too. Outside a served session (no current document) nothing
changes."""
from __future__ import annotations

from panel.io.state import state
from panel.reactive import Reactive

_panel_get_properties = Reactive._get_properties


def _get_properties(self, doc):
    return _panel_get_properties(self, doc if doc is not None else state.curdoc)


def install() -> None:
    """Make Panel resolve a detached model's stylesheets against the current document (idempotent)."""
    Reactive._get_properties = _get_properties
