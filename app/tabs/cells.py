"""The Cells tab under the heatmap: what every cell of the shown view and layer goes with, on
the model's held-out stream read in context (analysis/describe/labels.py), as a sortable table whose
rows pick the cell to plot, beside each cell's mean per category (grammar: depth level and token
kind; text: character class, inside a string, bracket level).

Labels are computed once per (model, view, layer) and shared by every session (app/pages/cache.py);
the first time takes a few seconds (a 100,000-character trace, then the counts)."""
from __future__ import annotations

import pandas as pd
import panel as pn
import param

from rnnscope.analysis.describe.labels import CellLabel
from rnnscope.analysis.decode.report import profile_figure
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.lazy_tab import LazyTab
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.tables.fresh_table import FreshTable

COLUMNS = {"cell": "cell", "label": "what it goes with", "stat": "statistic", "score": "score",
           "explained": "share explained"}


def labels_frame(labels: list[CellLabel]) -> pd.DataFrame:
    """One row per cell, best explained first (the labeller's order)."""
    shown = [lab.shown for lab in labels]      # beyond the current character where it replaced the plain one
    rows = [{"cell": lab.cell, "label": lab.label, "stat": f.stat if f else "",
             "score": round(f.score, 3) if f else None,
             "explained": round(f.explained, 3) if f else None} for lab, f in zip(labels, shown)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def labels_table_frame(labels: list[CellLabel]) -> pd.DataFrame:
    """The Cells tab's rows, the label last: the table fits the numbers to their width and stretches the last
    column over the rest, so a long label wraps there instead of pushing the table past its tab."""
    frame = labels_frame(labels)
    return frame[[c for c in frame.columns if c != "label"] + ["label"]]


def labels_table(height: int, on_click) -> FreshTable:
    """The empty labels table both pages' Cells tabs fill (``show``), drawn anew with its rows: they arrive after
    the tab is on screen, and a Tabulator drawn empty showed none of them (seen in Chromium, on a loaded
    machine). Fixed widths cut the titles ("stati…", "share e…") and cannot hold a label longer than the tab (a
    meta track's categories named in full): laid out by labels_table_frame, the numbers take their width and the
    label column what is left, wrapping (textarea)."""
    return FreshTable(labels_table_frame([]), on_click, show_index=False, disabled=True, selectable=False,
                      titles=COLUMNS, sizing_mode="stretch_width", height=height, header_filters=False,
                      layout="fit_data_stretch", formatters={"label": {"type": "textarea"}})


class CellsTab(LazyTab):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.table = labels_table(360, self._on_click)
        self.note = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.profiles = pn.FlexBox(sizing_mode="stretch_width")      # side by side where they fit, else wrapped
        self.state.param.watch(self._refresh, ["model_path", "view", "layer", "heldout_key"])

    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        s = self.state
        try:
            labels, profiles, ann, low_high = cache.cell_labels(s.model_path, s.view, s.layer, key=s.heldout_key)
        except RnnscopeError as e:
            self.table.show(labels_table_frame([]))
            self.profiles.objects = []
            self.note.object = f"No labels for this model: {e}"
            return
        self.table.show(labels_table_frame(labels))
        self.note.object = (
            f"Each cell of **{s.view}**, layer {s.layer}, on the first {cache.LABEL_CHARS:,} characters of the "
            "held-out stream read in context. Statistic: **r** = Pearson correlation, **MI** = mutual information "
            "in bits with the cell's value in 10 bins; *share explained* = r\u00b2 or MI / the cell's entropy. "
            "Click a row to plot that cell.")
        self.profiles.objects = [pn.pane.Bokeh(profile_figure(means, ann[name],
                                                              f"mean {s.view} by {name.replace('_', ' ')}", low_high))
                                 for name, means in profiles.items()]

    def _on_click(self, event) -> None:
        cell = int(self.table.value.iloc[event.row]["cell"])
        self.state.plot_cell(cell)
        self.state.inspect(cell, self.state.layer)

    def _layout(self):
        return pn.Column(self.note, self.table.box, self.profiles, sizing_mode="stretch_width")
