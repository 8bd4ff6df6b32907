"""The fixed-point report: one offline HTML page with a row per input character (how many fixed points,
exact, stable, slow; the largest |eigenvalue| and slowest time constant) and the projection: the held-out
states read in context (coloured by an annotation), the shown sequence's trajectory and every fixed and
slow point, its eigenvalues' summary in the hover. Bokeh only; no page state."""
from __future__ import annotations

import html

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColorBar, ColumnDataSource, DataTable, Div, HoverTool, LinearColorMapper, NumberFormatter
from bokeh.models import TableColumn
from bokeh.palettes import Category10_10, Viridis256
from bokeh.plotting import figure

from rnnscope.analysis.decode.html import standalone

MAX_CLOUD = 5_000        # held-out states drawn (evenly spaced along the stream): enough to see the shape
TABLE_KEYS = ("char", "fixed_points", "exact", "stable", "slow_points", "starts_elsewhere", "largest_abs_eigenvalue",
              "slowest_time_constant")
TITLES = {"char": "input", "fixed_points": "fixed", "slow_points": "slow", "starts_elsewhere": "rest elsewhere",
          "largest_abs_eigenvalue": "largest |eig|", "slowest_time_constant": "slowest tau (steps)"}


def report_html(numbers: dict, view, title: str) -> str:
    """``numbers``: analysis/dynamics/run.py's numbers; ``view``: the API's ProjectionView of them."""
    m = numbers["method"]
    caption = (f"Fixed points of one step of the network with the input character held: q = 1/2 ||F(s, x) - s||^2 "
               f"<= {m['q_tol']:g} (exact: <= {m['exact_q']:g}), slow points up to {m['slow_q']:g}; "
               f"{m['starts']['in_context']} starts read in context on {m['starts']['held_out_chars']:,} held-out "
               f"characters and {m['starts']['random']} random ones per character; {numbers['seconds']:.1f} s. "
               f"Projection: PCA of layer {view.layer}'s state fitted on {view.projection.fitted_on:,} held-out "
               f"states read in context.")
    parts = [summary_table(numbers["inputs"]),
             Div(text=html.escape("exact: Newton converged to float64 precision; stable: every |eigenvalue| of "
                                  "the Jacobian below 1; tau = -1/ln|eig| of the slowest decaying mode, in "
                                  "characters; rest elsewhere: starts whose q stayed above the slow-point q. "
                                  "In the plot, a point's colour is its input character; filled: stable, hollow: "
                                  "marginal or unstable; hover for its eigenvalues and nearest held-out state."),
                 styles={"font-size": "12px"}),
             projection_figure(view)]
    return standalone(column(*parts), title, caption, parts=("bokeh", "bokeh-widgets", "bokeh-tables"))


def summary_table(inputs: list[dict]) -> DataTable:
    data = {k: [(repr(i[k]) if k == "char" else np.nan if i[k] is None else i[k]) for i in inputs] for k in TABLE_KEYS}
    fmt = NumberFormatter(format="0.000000000", nan_format="-")
    columns = [TableColumn(field=k, title=TITLES.get(k, k), width=90,
                           **({"formatter": fmt} if k == "largest_abs_eigenvalue" else
                              {"formatter": NumberFormatter(format="0,0.0", nan_format="-")}
                              if k == "slowest_time_constant" else {}))
               for k in TABLE_KEYS]
    return DataTable(source=ColumnDataSource(data), columns=columns, width=860, height=40 + 26 * len(inputs),
                     index_position=None, sortable=True)


def projection_figure(view):
    names = view.projection.axis_names()
    fig = figure(width=860, height=660, x_axis_label=names[0], y_axis_label=names[1], toolbar_location="above",
                 title=f"layer {view.layer}: held-out states{' by ' + view.colour_by if view.colour_by else ''}, "
                       "a trajectory (red), fixed points (circles) and slow points (squares)")
    pick = np.unique(np.linspace(0, len(view.heldout) - 1, min(MAX_CLOUD, len(view.heldout))).astype(int))
    cloud = {"x": view.heldout[pick, 0], "y": view.heldout[pick, 1], "index": pick}
    if view.colour is not None:
        values = np.asarray(view.colour[pick], np.float64)
        cloud["value"] = values
        mapper = LinearColorMapper(palette=Viridis256, low=float(np.nanmin(values)), high=float(np.nanmax(values)),
                                   nan_color="#cccccc")
        fig.scatter("x", "y", source=ColumnDataSource(cloud), size=9, alpha=0.5,
                    color={"field": "value", "transform": mapper})
        fig.add_layout(ColorBar(color_mapper=mapper, title=view.colour_by), "right")
    else:
        fig.scatter("x", "y", source=ColumnDataSource(cloud), size=9, alpha=0.4, color="#999999")
    if view.trajectory is not None and len(view.trajectory):
        traj = ColumnDataSource({"x": view.trajectory[:, 0], "y": view.trajectory[:, 1],
                                 "step": np.arange(len(view.trajectory)), "char": list(view.trajectory_text)})
        fig.line("x", "y", source=traj, color="#d62728", line_width=1, alpha=0.3)
        steps = fig.scatter("x", "y", source=traj, size=3, color="#d62728")
        fig.add_tools(HoverTool(renderers=[steps], tooltips=[("step", "@step"), ("char", "@char")]))
    if view.fixed_points is not None and len(view.fixed_points):
        fig.add_tools(HoverTool(renderers=_points(fig, view), tooltips=[
            ("input", "@char"), ("kind", "@kind"), ("q", "@q"), ("stability", "@stable"),
            ("largest |eig|", "@eig{0.000000000}"), ("slowest tau", "@tau{0,0.0}"), ("growing modes", "@unstable"),
            ("starts", "@starts"), ("nearest held-out", "@near")]))
    return fig


def _points(fig, view) -> list:
    """The fixed and slow points, one colour per input character (the legend above the plot); returns their
    renderers."""
    info = view.fixed_point_info
    chars = list(dict.fromkeys(p["char"] for p in info))
    renderers = []
    for c, char in enumerate(chars):
        colour = Category10_10[c % 10]
        for kind, marker, size in (("fixed", "circle", 12), ("slow", "square", 7)):
            rows = [k for k, p in enumerate(info) if p["kind"] == kind and p["char"] == char]
            if not rows:
                continue
            data = {"x": view.fixed_points[rows, 0], "y": view.fixed_points[rows, 1],
                    "char": [repr(char)] * len(rows), "kind": [kind] * len(rows),
                    "q": [f"{info[k]['q']:.2g}" for k in rows], "stable": [info[k]["stability"] for k in rows],
                    "eig": [info[k]["largest_abs_eigenvalue"] for k in rows],
                    "tau": [np.nan if info[k]["slowest_time_constant"] is None else info[k]["slowest_time_constant"]
                            for k in rows],
                    "unstable": [info[k]["unstable_modes"] for k in rows], "starts": [info[k]["starts"] for k in rows],
                    "near": [_near(info[k]["nearest_held_out"]) for k in rows],
                    "fill": [colour if info[k]["stable"] else "white" for k in rows]}
            renderers.append(fig.scatter("x", "y", source=ColumnDataSource(data), marker=marker, size=size,
                                         line_color=colour, fill_color="fill", line_width=2,
                                         legend_label=f"input {char!r}"))
    legend = fig.legend[0]
    legend.orientation, legend.click_policy = "horizontal", "hide"
    fig.center.remove(legend)            # above the plot, where it hides no point
    fig.add_layout(legend, "above")
    return renderers


def _near(entry: dict) -> str:
    extra = ", ".join(f"{k} {v}" for k, v in entry.items() if k in ("depth", "kind"))
    return f"char {entry['index']:,} {entry['char']!r} at {entry['distance']:.3f}" + (f" ({extra})" if extra else "")
