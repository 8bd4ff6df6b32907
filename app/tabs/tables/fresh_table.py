"""A Tabulator drawn anew, whole, for each frame it shows: the page's tables whose rows arrive after the table
is on screen."""
from __future__ import annotations

import pandas as pd
import panel as pn


class FreshTable:
    """A table drawn anew, whole, for each frame it shows (``box`` holds it in the page). A Tabulator drawn in the
    browser with no rows and then given rows whose columns it already has shows none of them (seen in Chromium:
    the header, no rows, for good); one whose columns change is rebuilt by the browser, so untyped empty frames
    hid the bug while showing every text column as NaN (the first frame's number formatters kept)."""

    def __init__(self, frame: pd.DataFrame, on_click=None, **options):
        self.options, self.on_click = options, on_click
        self.box = pn.Column(sizing_mode="stretch_width")
        self.show(frame)

    @property
    def value(self) -> pd.DataFrame:
        return self.table.value

    def show(self, frame: pd.DataFrame) -> None:
        self.table = pn.widgets.Tabulator(frame, **self.options)
        if self.on_click is not None:
            self.table.on_click(self.on_click)
        self.box.objects = [self.table]
