"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015, fig. 3): for each cell, the share of steps
its gate sits near the bottom of its range against the share near the top, one point per cell.
A gate in 0..1 is left-saturated below 0.1 and right-saturated above 0.9; a value in -1..1
(h, a candidate) counts |v| > 0.9, by sign. Unbounded views (an LSTM's c, a ReLU RNN's h) have
no edges to sit at and are left out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.models.reading.trace import Trace, value_range

LOW, HIGH = 0.1, 0.9


@dataclass(frozen=True)
class Saturation:
    left: np.ndarray     # [H] share of steps below 0.1 (sigmoid) or below -0.9 (tanh)
    right: np.ndarray    # [H] share of steps above 0.9

    def to_dict(self) -> list[dict]:
        return [{"cell": c, "left": round(float(a), 4), "right": round(float(b), 4)}
                for c, (a, b) in enumerate(zip(self.left, self.right))]


def saturation(values: np.ndarray, value_range: tuple[float, float] = (0.0, 1.0)) -> Saturation:
    """``values`` [T, H] of one view; ``value_range`` (0, 1) for sigmoid gates, (-1, 1) for tanh views."""
    values = np.asarray(values)
    low = LOW if value_range[0] >= 0 else -HIGH
    return Saturation((values < low).mean(axis=0), (values > HIGH).mean(axis=0))


BOUNDED = {(0.0, 1.0), (-1.0, 1.0)}      # the only ranges whose edges saturation means anything for


def saturation_by_view(trace: Trace) -> list[dict]:
    """Every layer and bounded view of ``trace``: ``{"layer", "view", "range", "cells": [{"cell",
    "left", "right"}]}``, as the report's JSON and the app's Saturation tab show them."""
    found = []
    for layer in range(trace.num_layers):
        for view in trace.views:
            values = trace.values(view, layer)
            bounds = value_range(view, values)
            if tuple(map(float, bounds)) in BOUNDED:
                found.append({"layer": layer, "view": view, "range": list(bounds),
                              "cells": saturation(values, bounds).to_dict()})
    return found
