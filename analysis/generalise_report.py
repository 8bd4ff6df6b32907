"""The depth-generalisation report: one offline HTML page drawing ``generalise.comparison``'s
numbers -- the models side by side (cell, size, exact parameter count), each one's accuracy of
"is `)` legal here" per true depth, and its mean p(`)`) per depth beside the threshold and the
oracle's. The depths beyond training are shaded; hover gives every number and its count.
"""
from __future__ import annotations

import html

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import BoxAnnotation, ColumnDataSource, DataTable, Div, HoverTool, Legend, NumberFormatter, Span
from bokeh.models import TableColumn
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from .html import standalone

TABLE_KEYS = ("name", "cell", "hidden_size", "input", "parameters", "train_max_depth", "train_ratio_to_floor",
              "threshold", "accuracy_seen_depths_otherwise", "accuracy_seen_depths_after_deeper",
              "accuracy_unseen_depths", "accuracy")


def report_html(numbers: dict, title: str = "rnnscope generalise") -> str:
    models = numbers["models"]
    caption = (f"Each model reads {numbers['chars']:,} characters of its own brackets-only grammar allowed to depth "
               f"{numbers['test_depth']} (seed {numbers['seed']}), in context from the stream's start. Statistic: "
               f"{numbers['statistic']}. Threshold: {numbers['threshold_rule']}.")
    notes = [f"{m['name']}: threshold {m['threshold']:g}, {m['decision_points']:,} decision points, deepest "
             f"depth reached {m['deepest_reached']}" for m in models]
    parts = [Div(text="<br>".join(html.escape(n) for n in notes), sizing_mode="stretch_width"),
             model_table(models),
             row(accuracy_plot(models), close_plot(models))]
    return standalone(column(*parts, sizing_mode="stretch_width"), title, caption,
                      parts=("bokeh", "bokeh-widgets", "bokeh-tables"))


def model_table(models: list[dict]) -> DataTable:
    numeric = set(TABLE_KEYS[6:])
    source = ColumnDataSource({k: [np.nan if m[k] is None and k in numeric else m[k] for m in models]
                               for k in TABLE_KEYS})
    fmt = NumberFormatter(format="0.0000", nan_format="")
    titles = {"hidden_size": "cells", "train_max_depth": "trained to depth", "train_ratio_to_floor": "loss / floor",
              "accuracy_seen_depths_otherwise": "acc., depth <= trained, not after deeper",
              "accuracy_seen_depths_after_deeper": "acc., depth <= trained, after deeper",
              "accuracy_unseen_depths": "acc., deeper than trained",
              "accuracy": "acc., all"}
    columns = [TableColumn(field=k, title=titles.get(k, k.replace("_", " ")), width=200 if k == "name" else
                           240 if k.startswith("accuracy_") else 100, **({"formatter": fmt} if k in numeric else {}))
               for k in TABLE_KEYS]
    return DataTable(source=source, columns=columns, height=40 + 28 * len(models), sortable=True, reorderable=False,
                     index_position=None, sizing_mode="stretch_width")


def _per_depth_source(m: dict, key: str) -> ColumnDataSource:
    rows = [r for r in m["per_depth"] if r["count"]]          # a depth the stream never reached has no value
    extra = ("after_deeper_count", "after_deeper_accuracy", "otherwise_accuracy")
    return ColumnDataSource({"depth": [r["depth"] for r in rows], "value": [r[key] for r in rows],
                             "count": [r["count"] for r in rows], "name": [m["name"]] * len(rows),
                             **{k: [np.nan if r.get(k) is None else r[k] for r in rows] for k in extra}})


def _depth_figure(models: list[dict], y_label: str, title: str, y_range):
    depths = [r["depth"] for r in models[0]["per_depth"]]
    fig = figure(height=340, width=640, x_axis_label="true depth", y_axis_label=y_label, title=title,
                 y_range=y_range, x_range=(min(depths) - 0.5, max(depths) + 0.5), toolbar_location=None)
    fig.xaxis.ticker = depths
    trained = max(m["train_max_depth"] for m in models)
    fig.add_layout(BoxAnnotation(left=trained + 0.5, fill_color="#999999", fill_alpha=0.12))   # never seen in training
    fig.add_layout(Legend(), "right")          # beside the plot: inside it would hide points at 0 or 1
    return fig


def accuracy_plot(models: list[dict]):
    fig = _depth_figure(models, "accuracy", "is ) legal? share answered right, per true depth (shaded: deeper "
                        "than training)", (-0.02, 1.04))
    for k, m in enumerate(models):
        colour = Category10_10[k % 10]
        source = _per_depth_source(m, "accuracy")
        fig.line("depth", "value", source=source, color=colour, line_width=2, legend_label=m["name"])
        fig.scatter("depth", "value", source=source, color=colour, size=7, legend_label=m["name"])
    fig.add_tools(HoverTool(tooltips=[("model", "@name"), ("depth", "@depth"), ("accuracy", "@value{0.0000}"),
                                      ("decision points", "@count"),
                                      ("after going deeper", "@after_deeper_accuracy{0.0000} of @after_deeper_count"),
                                      ("otherwise", "@otherwise_accuracy{0.0000}")]))
    return fig


def close_plot(models: list[dict]):
    """Mean p(`)`) per depth, with each threshold and the test grammar's own p(`)`) for comparison."""
    fig = _depth_figure(models, "mean p())", "the model's mean p()) per true depth (dashed: threshold; "
                        "grey: the oracle)", (-0.02, 1.04))
    for curve in sorted({tuple(r["oracle_p_close"] for r in m["per_depth"]) for m in models}):
        oracle = ColumnDataSource({"depth": list(range(len(curve))), "value": list(curve),
                                   "count": [""] * len(curve), "name": ["oracle"] * len(curve)})
        fig.line("depth", "value", source=oracle, color="#888888", line_width=6, alpha=0.4, legend_label="oracle")
    for k, m in enumerate(models):
        colour = Category10_10[k % 10]
        source = _per_depth_source(m, "mean_p_close")
        fig.line("depth", "value", source=source, color=colour, line_width=2, legend_label=m["name"])
        fig.scatter("depth", "value", source=source, color=colour, size=7, legend_label=m["name"])
    for threshold in sorted({m["threshold"] for m in models}):
        fig.add_layout(Span(location=threshold, dimension="width", line_dash="dashed", line_color="#444444"))
    fig.add_tools(HoverTool(tooltips=[("model", "@name"), ("depth", "@depth"), ("mean p())", "@value{0.0000}"),
                                      ("decision points", "@count")]))
    return fig
