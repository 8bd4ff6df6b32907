"""The Saturation tab (Karpathy, Johnson & Fei-Fei 2015, fig. 3): per layer and
per gate (and h, and a GRU's candidate n), one point per cell -- the share of steps it sits near
the bottom of its range against the share near the top -- on the held-out stream read in context
(analysis/describe/saturation.py, drawn as in the `rnnscope probe` report). Clicking a point shows that
gate of that layer in the heatmap and plots the cell, as a row of the Cells tab does.
Computed when the tab is first opened, then shared by every session (app/pages/cache.py)."""
from __future__ import annotations

import panel as pn
import param
from bokeh.models import ColumnDataSource

from rnnscope.analysis.decode.report import saturation_plot
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState


class SaturationTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.sources: dict[tuple[int, str], ColumnDataSource] = {}    # (layer, view) -> its points
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        try:
            found = cache.saturation(self.state.model_path, key=self.state.heldout_key)
        except RnnscopeError as e:
            self.sources = {}
            self.body.objects = [pn.pane.Markdown(f"No saturation for this model: {e}")]
            return
        rows, self.sources = {}, {}
        for s in found:
            fig = saturation_plot(s, tap=True)
            source = fig.select_one({"name": "cells"}).data_source
            source.selected.on_change("indices", self._picker(s["layer"], s["view"], source))
            self.sources[s["layer"], s["view"]] = source
            rows.setdefault(s["layer"], []).append(pn.pane.Bokeh(fig))
        left_out = sorted({v for v in ("c", "h") if v in self.state.param.view.objects.values()}
                          - {v for _, v in self.sources})
        note = (f"Each point is one cell: the share of the first {cache.LABEL_CHARS:,} held-out characters (read in "
                "context) at which the gate is **left-saturated** (< 0.1; for values in \u22121..1 such as h and the "
                "candidate: < \u22120.9) against **right-saturated** (> 0.9). Points near the corners are cells "
                "that act as switches; near the origin, cells that stay in their linear range. Click a point to "
                "show that gate in the heatmap and plot the cell."
                + (f" Left out: {', '.join(left_out)} (unbounded: no edges to saturate at)." if left_out else ""))
        self.body.objects = [pn.pane.Markdown(note, sizing_mode="stretch_width"),
                             *[pn.Row(*figs) for figs in rows.values()]]

    def _picker(self, layer: int, view: str, source: ColumnDataSource):
        def pick(attr, old, new) -> None:
            if not new:
                return
            cell = int(source.data["cell"][new[0]])
            selected = list(self.state.selected)
            self.state.param.update(layer=layer, view=view,
                                    selected=selected if cell in selected else [*selected, cell])
        return pick

    def _layout(self):
        return self.body
