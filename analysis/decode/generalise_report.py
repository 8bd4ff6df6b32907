"""The depth-generalisation report: one offline HTML page drawing ``generalise.comparison``'s
numbers -- the models side by side (cell, size, exact parameter count), each one's accuracy of
"is `)` legal here" per true depth, and its mean p(`)`) per depth beside the threshold and the
oracle's. The depths beyond training are shaded; hover gives every number and its count.

Laid out for a 1,200 px page: models are shown by their folder's name (the full paths are listed
once above the table), table headers are short and explained in a key, legends sit above the plots.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import BoxAnnotation, ColumnDataSource, DataTable, Div, HoverTool, Legend, NumberFormatter, Span
from bokeh.models import TableColumn
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from rnnscope.analysis.decode.html import standalone

TABLE_KEYS = ("name", "cell", "hidden_size", "input", "parameters", "train_max_depth", "train_ratio_to_floor",
              "threshold", "accuracy_seen_depths_otherwise", "accuracy_seen_depths_after_deeper",
              "accuracy_unseen_depths", "accuracy")


def report_html(numbers: dict, title: str = "rnnscope generalise") -> str:
    models = numbers["models"]
    caption = (f"Each model reads {numbers['chars']:,} characters of its own brackets-only grammar allowed to depth "
               f"{numbers['test_depth']} (seed {numbers['seed']}), in context from the stream's start. Statistic: "
               f"{numbers['statistic']}. Threshold: {numbers['threshold_rule']}.")
    models = [{**m, "label": label} for m, label in zip(models, short_names([m["name"] for m in models]))]
    notes = [f"{m['label']} = {m['name']}: threshold {m['threshold']:g}, {m['decision_points']:,} decision points, "
             f"deepest depth reached {m['deepest_reached']}" for m in models]
    parts = [Div(text="<br>".join(html.escape(n) for n in notes), sizing_mode="stretch_width"),
             model_table(models),
             Div(text=html.escape(TABLE_KEY), sizing_mode="stretch_width", styles={"font-size": "12px"}),
             row(accuracy_plot(models), close_plot(models))]
    return standalone(column(*parts, sizing_mode="stretch_width"), title, caption,
                      parts=("bokeh", "bokeh-widgets", "bokeh-tables"))


TITLES = {"name": "model", "hidden_size": "cells", "parameters": "params", "train_max_depth": "train depth",
          "train_ratio_to_floor": "loss/floor", "accuracy_seen_depths_otherwise": "acc. A",
          "accuracy_seen_depths_after_deeper": "acc. B", "accuracy_unseen_depths": "acc. C", "accuracy": "acc. all"}
TABLE_KEY = ("acc. A: depths up to the training depth, no excursion deeper since depth 0; acc. B: the same depths "
             "after an excursion deeper than training; acc. C: depths deeper than training; acc. all: every "
             "decision point. loss/floor: held-out loss at training over the grammar's entropy floor.")


def short_names(paths: list[str]) -> list[str]:
    """Each model's folder name, or its whole path where two folders share a name."""
    names = [Path(p).name or p for p in paths]
    return [n if names.count(n) == 1 else p for n, p in zip(names, paths)]


def model_table(models: list[dict]) -> DataTable:
    numeric = set(TABLE_KEYS[6:])
    source = ColumnDataSource({k: [(m["label"] if k == "name" else np.nan if m[k] is None and k in numeric else m[k])
                                   for m in models] for k in TABLE_KEYS})
    fmt = NumberFormatter(format="0.0000", nan_format="")
    columns = [TableColumn(field=k, title=TITLES.get(k, k.replace("_", " ")), width=150 if k == "name" else 80,
                           **({"formatter": fmt} if k in numeric else {}))
               for k in TABLE_KEYS]
    return DataTable(source=source, columns=columns, height=40 + 28 * len(models), sortable=True, reorderable=False,
                     index_position=None, sizing_mode="stretch_width")


def _per_depth_source(m: dict, key: str) -> ColumnDataSource:
    rows = [r for r in m["per_depth"] if r["count"]]          # a depth the stream never reached has no value
    extra = ("after_deeper_count", "after_deeper_accuracy", "otherwise_accuracy")
    return ColumnDataSource({"depth": [r["depth"] for r in rows], "value": [r[key] for r in rows],
                             "count": [r["count"] for r in rows], "name": [m["label"]] * len(rows),
                             **{k: [np.nan if r.get(k) is None else r[k] for r in rows] for k in extra}})


def _depth_figure(models: list[dict], y_label: str, title: str, y_range):
    depths = [r["depth"] for r in models[0]["per_depth"]]
    fig = figure(height=380, width=570, x_axis_label="true depth", y_axis_label=y_label, title=title,
                 y_range=y_range, x_range=(min(depths) - 0.5, max(depths) + 0.5), toolbar_location=None)
    fig.xaxis.ticker = depths
    trained = max(m["train_max_depth"] for m in models)
    fig.add_layout(BoxAnnotation(left=trained + 0.5, fill_color="#999999", fill_alpha=0.12))   # never seen in training
    # above the plot: inside it would hide points at 0 or 1, beside it the page outgrows 1,200 px
    fig.add_layout(Legend(orientation="horizontal"), "above")
    return fig


def accuracy_plot(models: list[dict]):
    fig = _depth_figure(models, "accuracy", "is ) legal? share answered right, per true depth (shaded: deeper "
                        "than training)", (-0.02, 1.04))
    for k, m in enumerate(models):
        colour = Category10_10[k % 10]
        source = _per_depth_source(m, "accuracy")
        fig.line("depth", "value", source=source, color=colour, line_width=2, legend_label=m["label"])
        fig.scatter("depth", "value", source=source, color=colour, size=7, legend_label=m["label"])
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
        fig.line("depth", "value", source=source, color=colour, line_width=2, legend_label=m["label"])
        fig.scatter("depth", "value", source=source, color=colour, size=7, legend_label=m["label"])
    for threshold in sorted({m["threshold"] for m in models}):
        fig.add_layout(Span(location=threshold, dimension="width", line_dash="dashed", line_color="#444444"))
    fig.add_tools(HoverTool(tooltips=[("model", "@name"), ("depth", "@depth"), ("mean p())", "@value{0.0000}"),
                                      ("decision points", "@count")]))
    return fig
