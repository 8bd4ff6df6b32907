"""The state space drawn small: held-out states on the two axes of their PCA, coloured by an annotation; a
sequence's trajectory; the fixed and slow points of the update with their linearisation in the hover; the
state after a clicked character ringed. Figure built once, sources changed. Bokeh only; no page state
(analysis/dynamics/report.py draws the same for the offline report)."""
from __future__ import annotations

import html

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.palettes import Category10_10, Category20_20, Viridis256
from bokeh.plotting import figure

MAX_CLOUD = 5_000       # held-out states drawn (evenly spaced along the stream): enough to see the shape
MISSING = "#cccccc"


def cloud_colours(values: np.ndarray, numeric: bool, categories: tuple[str, ...]) -> tuple[list[str], list[str], str]:
    """(a colour per point, the value it stands for in words, a key in HTML) for an annotation's ``values``."""
    if numeric:
        v = np.asarray(values, np.float64)
        ok = ~np.isnan(v)
        low, high = (float(v[ok].min()), float(v[ok].max())) if ok.any() else (0.0, 1.0)
        at = np.zeros(len(v), int)
        at[ok] = np.round((v[ok] - low) / ((high - low) or 1.0) * 255).astype(int)
        colours = [Viridis256[a] if o else MISSING for a, o in zip(at, ok)]
        words = [f"{x:g}" if o else "none" for x, o in zip(v, ok)]
        key = (f"<span style='color:{Viridis256[0]}'>\u25a0</span> {low:g} \u2026 "
               f"<span style='color:{Viridis256[-1]}'>\u25a0</span> {high:g}")
        return colours, words, key
    palette = Category10_10 if len(categories) <= 10 else Category20_20
    codes = np.asarray(values, int)
    colours = [palette[c % len(palette)] if c >= 0 else MISSING for c in codes]
    words = [categories[c] if 0 <= c < len(categories) else "none" for c in codes]
    key = " ".join(f"<span style='color:{palette[k % len(palette)]}'>\u25a0</span> {html.escape(c)}"
                   for k, c in enumerate(categories[:20]))
    return colours, words, key


def eigen_words(point: dict, top: int = 4) -> str:
    """The largest eigenvalues of a point's Jacobian, conjugate pairs written once: "0.953, 0.41 ± 0.20i"."""
    out = []
    for e in point["eigenvalues"]:
        if e["im"] < 0:
            continue
        out.append(f"{e['re']:.5f}" if e["im"] == 0 else f"{e['re']:.5f} \u00b1 {e['im']:.3f}i")
        if len(out) == top:
            break
    return ", ".join(out)


def points_data(points: list[dict], xy: np.ndarray, chars: list[str]) -> dict:
    """One row per fixed or slow point: where it is drawn, its input character's colour (filled: stable) and
    what the hover says."""
    colour = [Category10_10[chars.index(p["char"]) % 10] for p in points]
    tau = [p["slowest_time_constant"] for p in points]
    return {"x": xy[:, 0] if len(points) else [], "y": xy[:, 1] if len(points) else [],
            "char": [repr(p["char"]) for p in points], "kind": [p["kind"] for p in points],
            "stability": [p["stability"] for p in points], "eig": [p["largest_abs_eigenvalue"] for p in points],
            "eigenvalues": [eigen_words(p) for p in points],
            "tau": [np.nan if t is None else t for t in tau], "unstable": [p["unstable_modes"] for p in points],
            "q": [f"{p['q']:.2g}" for p in points], "starts": [p["starts"] for p in points],
            "marker": ["circle" if p["kind"] == "fixed" else "square" for p in points],
            "size": [13 if p["kind"] == "fixed" else 8 for p in points], "colour": colour,
            "fill": [c if p["stable"] else "white" for c, p in zip(colour, points)]}


def points_key(chars: list[str]) -> str:
    """Which colour stands for which input character (HTML), in the order ``points_data`` gives them."""
    return "Fixed and slow points, by input character: " + " ".join(
        f"<span style='color:{Category10_10[k % 10]}'>\u25cf</span> {html.escape(repr(c))}"
        for k, c in enumerate(chars))


class ProjectionPlot:
    """``figure``; ``show_cloud``, ``show_trajectory``, ``show_points`` and ``light`` change what it draws."""

    def __init__(self):
        fig = figure(height=480, sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset,save",
                     toolbar_location="right", title="held-out states, the shown sequence (red) and fixed points")
        self.cloud = ColumnDataSource({"x": [], "y": [], "colour": [], "value": [], "index": []})
        # larger than the trajectory's dots: a grammar model's states sit in a few tight clusters, under the path
        cloud = fig.scatter("x", "y", source=self.cloud, size=11, alpha=0.45, color="colour")
        self.trajectory = ColumnDataSource({"x": [], "y": [], "step": [], "char": []})
        fig.line("x", "y", source=self.trajectory, color="#d62728", line_width=1.2, alpha=0.5)
        steps = fig.scatter("x", "y", source=self.trajectory, size=4, color="#d62728")
        self.points = ColumnDataSource(points_data([], np.zeros((0, 2)), []))
        points = fig.scatter("x", "y", source=self.points, marker="marker", size="size", line_color="colour",
                             fill_color="fill", line_width=2.5)
        self.lit = ColumnDataSource({"x": [], "y": []})
        fig.scatter("x", "y", source=self.lit, size=20, fill_alpha=0, line_color="#000000", line_width=2.5)
        fig.add_tools(HoverTool(renderers=[cloud], tooltips=[("held-out character", "@index{0,0}"),
                                                             ("annotation", "@value")]),
                      HoverTool(renderers=[steps], tooltips=[("step", "@step"), ("char", "@char")]),
                      HoverTool(renderers=[points], tooltips=[
                          ("input", "@char"), ("kind", "@kind"), ("stability", "@stability"),
                          ("largest |eigenvalue|", "@eig{0.000000}"), ("eigenvalues", "@eigenvalues"),
                          ("slowest time constant", "@tau{0,0.0} steps"), ("growing modes", "@unstable"),
                          ("q", "@q"), ("starts", "@starts")]))
        self.figure = fig

    def show_cloud(self, xy: np.ndarray, colours: list[str], words: list[str], axes: list[str]) -> None:
        """``xy`` [T, 2] every held-out state; at most MAX_CLOUD of them drawn, evenly along the stream."""
        pick = np.unique(np.linspace(0, len(xy) - 1, min(MAX_CLOUD, len(xy))).astype(int))
        self.cloud.data = {"x": xy[pick, 0], "y": xy[pick, 1], "colour": [colours[i] for i in pick],
                           "value": [words[i] for i in pick], "index": pick}
        self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = axes

    def show_trajectory(self, xy: np.ndarray, text: str) -> None:
        self.trajectory.data = {"x": xy[:, 0], "y": xy[:, 1], "step": np.arange(len(xy)), "char": list(text)}

    def show_points(self, points: list[dict], xy: np.ndarray) -> None:
        self.points.data = points_data(points, xy, list(dict.fromkeys(p["char"] for p in points)))

    def light(self, xy: np.ndarray | None) -> None:
        self.lit.data = {"x": [], "y": []} if xy is None else {"x": [xy[0]], "y": [xy[1]]}
