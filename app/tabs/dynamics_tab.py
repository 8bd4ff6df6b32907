"""The Dynamics tab: where the network's state lives and how it moves. The PCA of the shown layer's state
fitted on held-out states read in context, the states coloured by an annotation picked here (depth by
default for a grammar model); the shown sequence's trajectory on it, the state after a clicked heatmap
column ringed; and the fixed and slow points of the update for each input character, each with its
Jacobian's eigenvalues, stability and slowest time constant in the hover (analysis/dynamics/).

The projection is drawn when the tab is first opened; the fixed points follow, computed off the page's
thread with fewer starts than `rnnscope dynamics` (app/pages/cache.py DYNAMICS_STARTS; a text model searches
only its most frequent characters), and the tab says so. Works for any model with a held-out stream."""
from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param

from rnnscope.analysis.dynamics.report import TABLE_KEYS, TITLES
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.update import Update

from rnnscope.app.drawing.projection_plot import ProjectionPlot, cloud_colours, points_key
from rnnscope.app.pages import cache, network_cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.tables.fresh_table import FreshTable
from rnnscope.app.tabs.tables.network_cells import (PROJECTION_TITLES, cells_table, projection_cells_frame,
                                             projection_cells_note)

NOT_COLOURED = "(none)"
PENDING = "*Fixed points: searching\u2026 (a minute at most for a grammar model; they appear on the plot when found)*"


class DynamicsTab(LazyTab):
    state = param.ClassSelector(class_=AppState)
    colour_by = param.Selector(default=NOT_COLOURED, objects=[NOT_COLOURED], label="Colour held-out states by")
    step = param.Integer(default=None, allow_None=True, doc="the heatmap column clicked (its index in the trace)")

    def __init__(self, **params):
        super().__init__(**params)
        self.plot = ProjectionPlot()
        self.projection = None                  # analysis/dynamics/projection.py's Projection of the shown layer
        self.heldout_xy: np.ndarray | None = None
        self.annotations = None
        self.trajectory: np.ndarray | None = None
        self.numbers: dict | None = None        # the fixed points (docs/dynamics-json.md), None while searched
        self.drawn_for: tuple | None = None     # (model, layer) of the projection drawn
        self.key = pn.pane.HTML("", sizing_mode="stretch_width")
        self.points_key = pn.pane.HTML("", sizing_mode="stretch_width")
        self.note = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.table = FreshTable(summary_frame([]), None, show_index=False, disabled=True, selectable=False,
                                titles={k: TITLES.get(k, k) for k in TABLE_KEYS}, layout="fit_data_stretch",
                                # as wide as the tab, scrolling sideways: its columns are wider than the tab at
                                # 1024 px (laid out to its data, it ran past the page's edge)
                                sizing_mode="stretch_width")
        self.cells_note = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.cells = cells_table(projection_cells_frame(None, 0, ()), PROJECTION_TITLES, self._on_cell_row)
        self.body = pn.Column(sizing_mode="stretch_width")
        self._request = 0
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])
        self.state.param.watch(self._on_layer, ["layer"])
        self.state.param.watch(self._on_trace, ["trace"])
        self.param.watch(self._colour, ["colour_by"])
        self.param.watch(self._light, ["step"])

    def _refresh(self, *events) -> None:
        """A new model: its projection now, its fixed points searched off the page's thread."""
        if not self.opened:
            return
        self._request += 1
        request, path, key = self._request, self.state.model_path, self.state.heldout_key
        self.numbers = None
        self.plot.show_points([], np.zeros((0, 2)))     # the last model's points are not this one's
        if not self._project():
            return
        names = list(self.annotations.names())
        default = "depth" if "depth" in names and self.state.grammar_spec is not None else \
            next((n for n in names if n not in ("char", "next_char")), NOT_COLOURED)
        with param.discard_events(self):
            self.param.colour_by.objects = [NOT_COLOURED, *names]
            self.colour_by = default
        self._colour()
        self._on_trace()
        self.status.object, self.points_key.object = PENDING, ""
        self.table.show(summary_frame([]))
        self.body.objects = [pn.widgets.Select.from_param(self.param.colour_by, width=260), self.key,
                             self.points_key, pn.pane.Bokeh(self.plot.figure, sizing_mode="stretch_width"),
                             self.note, self.status, self.table.box, self.cells_note, self.cells.box]

        def work():
            try:
                return network_cache.fixed_points(path, key=key), ""
            except RnnscopeError as e:
                return None, str(e)
        self.off_thread(work, lambda found: self._show_points(request, *found), "rnnscope-fixed-points")

    def _project(self) -> bool:
        """The shown layer's projection, its held-out states and the trajectory drawn; False (and why) if none."""
        s = self.state
        try:
            self.projection, self.heldout_xy, self.annotations = network_cache.projection(s.model_path, s.layer,
                                                                                          key=s.heldout_key)
        except RnnscopeError as e:
            self.body.objects = [pn.pane.Markdown(f"No dynamics view for this model: {e}", sizing_mode="stretch_width")]
            return False
        self.drawn_for = (s.model_path, s.layer)
        self.note.object = method_markdown(self.projection, s.layer, s.grammar_spec is None)
        config = cache.load_model(s.model_path).config
        self.cells.show(projection_cells_frame(self.projection, config.hidden_size,
                                               ("h", "c") if config.cell == "lstm" else ("h",)))
        self.cells_note.object = projection_cells_note(self.projection)
        return True

    def _on_cell_row(self, event) -> None:
        self.state.inspect(int(self.cells.value.iloc[event.row]["cell"]), self.state.layer)

    def _on_layer(self, *events) -> None:
        if self.opened and self.projection is not None and self._project():
            self._colour()
            self._on_trace()
            self._draw_points()

    def _colour(self, *events) -> None:
        if self.heldout_xy is None:
            return
        if self.colour_by == NOT_COLOURED:
            colours, words, key = ["#999999"] * len(self.heldout_xy), [""] * len(self.heldout_xy), ""
        else:
            a = self.annotations[self.colour_by]
            colours, words, key = cloud_colours(a.values, a.numeric, tuple(a.categories))
        self.key.object = f"<div style='font-size: 13px'>{key}</div>" if key else ""
        self.plot.show_cloud(self.heldout_xy, colours, words, self.projection.axis_names())

    def _on_trace(self, *events) -> None:
        s = self.state
        # a new model's first trace arrives before its projection: ``_refresh`` draws it then
        if self.drawn_for != (s.model_path, s.layer):
            return
        self.step = None
        update = Update(cache.load_model(s.model_path))
        self.trajectory = self.projection(update.flat_states(s.trace)[:, update.layer_slice(s.layer)])
        self.plot.show_trajectory(self.trajectory, s.trace.text)
        self._light()

    def _light(self, *events) -> None:
        ok = self.trajectory is not None and self.step is not None and 0 <= self.step < len(self.trajectory)
        self.plot.light(self.trajectory[self.step] if ok else None)

    def _show_points(self, request: int, numbers: dict | None, why: str) -> None:
        if request != self._request:            # another model was asked for since
            return
        if numbers is None:
            self.status.object = f"No fixed points for this model: {why}"
            return
        self.numbers = numbers
        chars = list(dict.fromkeys(p["char"] for i in numbers["inputs"] for p in i["points"]))
        self.status.object = points_markdown(numbers)
        self.points_key.object = f"<div style='font-size: 13px'>{points_key(chars)}</div>"
        self.table.show(summary_frame(numbers["inputs"]))
        self._draw_points()

    def _draw_points(self) -> None:
        if self.numbers is None:
            return
        found = [p for i in self.numbers["inputs"] for p in i["points"]]
        part = Update(cache.load_model(self.state.model_path)).layer_slice(self.state.layer)
        xy = self.projection(np.asarray([p["state"] for p in found])[:, part]) if found else np.zeros((0, 2))
        self.plot.show_points(found, xy)

    def _layout(self):
        return self.body


def summary_frame(inputs: list[dict]) -> pd.DataFrame:
    """One row per input character, typed as when it is full even when empty: the table keeps the column
    formatters its first frame gave it (an untyped empty frame made every column a number, the characters NaN)."""
    def shown(k: str, v):
        if k == "char":
            return repr(v)
        if k in ("largest_abs_eigenvalue", "slowest_time_constant"):
            return "\u2013" if v is None else f"{v:.6f}" if k == "largest_abs_eigenvalue" else f"{v:,.1f}"
        return v
    return pd.DataFrame({k: pd.Series([shown(k, i[k]) for i in inputs],
                                      dtype=object if k in TEXT_COLUMNS else "int64") for k in TABLE_KEYS})


TEXT_COLUMNS = ("char", "largest_abs_eigenvalue", "slowest_time_constant")


def method_markdown(projection, layer: int, text: bool) -> str:
    explained = ", ".join(f"{100 * e:.1f}%" for e in projection.explained)
    starts, random_starts = network_cache.DYNAMICS_STARTS["text" if text else "grammar"]
    inputs = (f"the {network_cache.TEXT_INPUTS} most frequent held-out characters" if text else
              "every character of the vocabulary")
    return (f"PCA of layer {layer}'s state fitted on the first {projection.fitted_on:,} held-out characters read in "
            f"context (the axes explain {explained} of its variance); grey: no value of the annotation there. "
            f"Fixed points of one step of the whole network with the input character held, for {inputs}: "
            f"q = \u00bd\u2016F(s, x) \u2212 s\u2016\u00b2 minimised from {starts} held-out and {random_starts} "
            "random starts each (fewer than `rnnscope dynamics`'s 256 + 32, so the page answers in seconds). "
            "Circles: fixed points; squares: slow points; filled: stable (every |eigenvalue| < 1); the colour is "
            "the input character. Click a heatmap column to ring the state after that character.")


def points_markdown(numbers: dict) -> str:
    inputs = numbers["inputs"]
    fixed = sum(i["fixed_points"] for i in inputs)
    stable = sum(i["stable"] for i in inputs)
    slow = sum(i["slow_points"] for i in inputs)
    return (f"**{fixed} fixed points** ({stable} stable) and {slow} slow points over {len(inputs)} input "
            f"characters, found in {numbers['seconds']:.1f} s. Per character (tau: the slowest decaying mode's "
            "time constant \u22121/ln|\u03bb|, in characters):")
