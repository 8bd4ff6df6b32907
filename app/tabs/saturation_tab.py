"""The Saturation tab (Karpathy, Johnson & Fei-Fei 2015, fig. 3): per layer and
per gate (and h, and a GRU's candidate n), one point per cell -- the share of steps it sits near
the bottom of its range against the share near the top -- on the held-out stream read in context
(analysis/describe/saturation.py, drawn as in the `rnnscope probe` report). Clicking a point shows that
gate of that layer in the heatmap and plots the cell, as a row of the Cells tab does. Cells often sit on
one point (never saturated: at the origin): a click there lists every cell on it, a button each, and
plots the one picked. Computed when the tab is first opened, then shared by every session
(app/pages/cache.py)."""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource

from rnnscope.analysis.decode.report import saturation_plot
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState


SAME_POINT = 0.005      # shares closer than this on both axes are one point on the plot (~1 px of 220)


class SaturationTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.body = pn.Column(sizing_mode="stretch_width")
        # The cells on the point clicked, when there are several: a note and a button per cell.
        self.point_note = pn.pane.Markdown("", visible=False, sizing_mode="stretch_width")
        self.choices = pn.FlexBox(visible=False, sizing_mode="stretch_width")
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
        self.point_note.visible = self.choices.visible = False
        self.body.objects = [pn.pane.Markdown(note, sizing_mode="stretch_width"), self.point_note, self.choices,
                             *[pn.FlexBox(*figs) for figs in rows.values()]]

    def _picker(self, layer: int, view: str, source: ColumnDataSource):
        def pick(attr, old, new) -> None:
            if not new:
                return
            cells = cells_on_point(source.data, new)
            if len(cells) == 1:
                self.point_note.visible = self.choices.visible = False
                return self._plot(layer, view, cells[0])
            self._offer(layer, view, cells, source.data, new[0])
        return pick

    def _plot(self, layer: int, view: str, cell: int) -> None:
        selected = list(self.state.selected)
        self.state.param.update(layer=layer, view=view, selected=selected if cell in selected else [*selected, cell])
        self.state.inspect(cell, layer)

    def _offer(self, layer: int, view: str, cells: list[int], data: dict, index: int) -> None:
        """Several cells on the point clicked: name them all, a button each to plot it."""
        left, right = data["left"][index], data["right"][index]
        self.point_note.object = (f"**{len(cells)} cells on this point** of layer {layer}, {view} (left-saturated "
                                  f"{left:.3f}, right-saturated {right:.3f}): cells {', '.join(map(str, cells))}. "
                                  "Pick one to plot it and show this gate in the heatmap.")
        buttons = []
        for cell in cells:
            button = pn.widgets.Button(name=f"cell {cell}", width=80)
            button.on_click(lambda _, cell=cell: self._plot(layer, view, cell))
            buttons.append(button)
        self.choices.objects = buttons
        self.point_note.visible = self.choices.visible = True

    def _layout(self):
        return self.body


def cells_on_point(data: dict, indices: list[int]) -> list[int]:
    """Every cell drawn where the clicked points are (within SAME_POINT on both axes), by cell number:
    a click hits the top point of a pile, the others hide under it."""
    left, right = np.asarray(data["left"], float), np.asarray(data["right"], float)
    near = np.zeros(len(left), bool)
    for i in indices:
        near |= (np.abs(left - left[i]) < SAME_POINT) & (np.abs(right - right[i]) < SAME_POINT)
    return sorted(int(data["cell"][j]) for j in np.flatnonzero(near))
