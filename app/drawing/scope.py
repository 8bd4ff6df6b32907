"""The Bokeh picture -- heatmap over its tracks, one shared x range -- built once and
redrawn from a Frame by replacing source data. The page and the HTML export both use it."""
from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Range1d

from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.heatmap import Heatmap, probe_column, sequence_data
from rnnscope.app.drawing.tracks import Tracks


class Scope:
    def __init__(self):
        self.seq = ColumnDataSource({"x": [], "pos": [], "code": [], "depth": [], "p_next": [], "surprisal": [],
                                       "kl": [], "illegal": [], "probe_depth": []})
        self.x_range = Range1d(-0.5, 0.5, bounds=None)
        self.heatmap = Heatmap(self.seq, self.x_range)
        self.tracks = Tracks(self.seq, self.x_range)
        self.layout = column(self.heatmap.figure, *self.tracks.figures, sizing_mode="stretch_width")
        self._columns = None

    def update(self, frame: Frame) -> None:
        T = len(frame.text)
        columns = (frame.text, None if frame.positions is None else frame.positions.tobytes(),
                   None if frame.words is None else tuple(frame.words))
        if columns != self._columns:          # another sequence, or separators hidden / shown
            self.seq.data = sequence_data(frame)
            self._columns = columns
            # bounds first: the browser clamps a new end to the old bounds (and sends that back)
            self.x_range.bounds = (-0.5, T - 0.5)
            # reset_* too: the Reset tool goes back to them, and they default to the first
            # sequence's range (a window of 1,000 would reset to 0..100)
            self.x_range.update(start=-0.5, end=T - 0.5, reset_start=-0.5, reset_end=T - 0.5)
        elif not np.array_equal(self.seq.data["probe_depth"], probe := probe_column(frame), equal_nan=True):
            self.seq.data["probe_depth"] = probe       # another layer: its own probe, the same columns
        if frame.x_start is not None and frame.x_end is not None:
            self.x_range.update(start=frame.x_start, end=frame.x_end)
        self.heatmap.update(frame)
        self.tracks.update(frame)
