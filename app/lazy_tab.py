"""A tab under the heatmap whose content is computed the first time it is opened, not while the page loads.

The pages' tabs are dynamic (app/page.py, app/lstmvis_page.py): Panel renders a tab, calling its
``__panel__``, only when it is first shown. Labels, probes, saturation, a comparison or a training
timeline take seconds, so a tab of that kind computes nothing until then, and ignores the changes it
watches meanwhile (nothing of it is on screen to update); from its first opening on, each recomputes it.
"""
from __future__ import annotations

from panel.viewable import Viewer


class LazyTab(Viewer):
    """A subclass gives ``_refresh`` (compute the content; its watchers call it too, and return at once
    while ``opened`` is False) and ``_layout`` (what the tab shows)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.opened = False

    def _refresh(self, *events) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how its content is computed (_refresh)")

    def _layout(self):
        raise NotImplementedError(f"{type(self).__name__} must say what it shows (_layout)")

    def __panel__(self):
        if not self.opened:
            self.opened = True
            self._refresh()
        return self._layout()
