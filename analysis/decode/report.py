"""The probing report: one offline HTML page drawing a ProbingRun's numbers -- the sortable
cell table, the per-category profiles, the probe curves beside their references, the ablation
ranking and the saturation plots. Every figure states its statistic; hover gives the numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import html

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import (ColumnDataSource, DataTable, Div, HoverTool, LinearColorMapper, NumberFormatter,
                          TableColumn)
from bokeh.palettes import Category10_10, RdBu11, interp_palette
from bokeh.plotting import figure

from rnnscope.models.reading.trace import value_range

from rnnscope.analysis.decode.html import standalone
from rnnscope.analysis.describe.labels import category_means

if TYPE_CHECKING:           # typing only: importing probing would load scikit-learn with the page
    from rnnscope.analysis.decode.probing import ProbingRun

PROFILES = ("depth_level", "kind", "char_class", "in_string", "bracket_level")   # those the data has are drawn


def profile_names(annotations) -> list[str]:
    """The per-category profiles this data has: depth level and token kind for the grammar,
    character class, strings and bracket level for text."""
    return [name for name in PROFILES if name in annotations.names()]
DIVERGING = tuple(interp_palette(RdBu11, 255))


def report_html(run: ProbingRun, title: str) -> str:
    n = run.numbers
    data, div = n["data"], n["oracle_divergence"]
    caption = (f"{n['model']['cell'].upper()}, {n['model']['layers']} layer(s) x {n['model']['hidden']} cells; "
               f"{data['held_out_chars']:,} held-out characters read {data['read']}; intact loss "
               f"{data['intact_loss']:.5f} nats/char on the first {data['ablation_chars']:,}; " +
               (f"KL(oracle || model) {div['mean_kl_nats']:.2e} nats/char (max {div['max_kl_nats']:.2e}), "
                f"illegal mass {div['mean_illegal_mass']:.2e} per step (max {div['max_illegal_mass']:.2e})."
                if div is not None else f"no oracle divergence: {n['absent']['oracle_divergence']}."))
    parts = [section("Cells: what each one goes with", n["statistics"]), cell_table(n["cells"])]
    parts += [section("The best cell for each annotation (hidden state h)",
                      {"how": "over every state cell, the labeller's finding about this annotation that explains "
                              "most of its cell"}), best_cells_table(n["best_cells"])]
    parts += [section("Per-category profiles: each cell's mean in each category (hidden state h)")]
    parts += [row(*[profile(run, layer, name) for name in profile_names(run.annotations)])
              for layer in range(run.trace.num_layers)]
    parts += [section("Linear probes: accuracy on held-out states, using the k best cells",
                      {"references": "majority class (grey), input only: the current character's one-hot "
                                     "(orange), control task: random label per character type (green); for text, "
                                     "the best n-gram window: the same probe on the last k characters (purple)"})]
    parts += [row(*[probe_plot(p) for p in n["probes"]])]
    parts += [section("Ablation: rise in loss when one cell of h is replaced by its held-out mean",
                      {"loss": f"nats/char on the first {data['ablation_chars']:,} held-out characters"}),
              ablation_plot(n["cells"])]
    if n["ablation_samples"] is not None:
        parts += [samples_div(n["ablation_samples"])]
    elif "ablation_samples" in n.get("absent", {}):
        parts += [Div(text=f"<b>Grammatical samples</b>: none for this model ({n['absent']['ablation_samples']}).")]
    if n["causal_codes"]:
        parts += [section("Causal code: the cells the model reads depth from (interchange interventions)",
                          {"how": "right after a separator, set the chosen cells to depth v's mean code and compare "
                                  "the next-character distribution with the oracle's for v, over every context and v; "
                                  "cells added greedily",
                           "below the top layer": "the layers above read the edited state: each is stepped once "
                                                  "from the state it held in context one step earlier"}),
                  row(*[causal_plot(code) for code in n["causal_codes"]])]
    elif "causal_code" in n.get("absent", {}):
        parts += [section("Causal code: none for this model", {"why": n["absent"]["causal_code"]})]
    if n.get("interchange_codes"):
        parts += [section("Causal codes by interchange: the cells the model reads each annotation from",
                          {"how": "pairs of held-out contexts that read the same character and differ in the "
                                  "annotation; the chosen cells are copied from one (the source) into the other (the "
                                  "base); score = share of the KL gap closed, 1 - mean KL(source || patched) / mean "
                                  "KL(source || base); cells added greedily",
                           "null": "random sets of as many cells: mean (grey) and 99th percentile (dashed)"}),
                  row(*[interchange_plot(code) for code in n["interchange_codes"]])]
    parts += [section("Saturation (Karpathy et al. 2015): share of steps near each end of the range", {}),
              row(*[saturation_plot(s) for s in n["saturation"]])]
    return standalone(column(*parts, sizing_mode="stretch_width"), title, caption,
                      parts=("bokeh", "bokeh-widgets", "bokeh-tables"))


def section(heading: str, notes: dict | None = None) -> Div:
    extra = "".join(f"<br><b>{html.escape(k)}</b>: {html.escape(v)}" for k, v in (notes or {}).items())
    return Div(text=f"<h4 style='margin: 14px 0 2px'>{html.escape(heading)}</h4><small>{extra}</small>",
               sizing_mode="stretch_width")


def cell_table(cells: list[dict]) -> DataTable:
    keys = ["layer", "view", "cell", "label", "stat", "score", "explained", "tested_mi", "null_99", "plain_label",
            "ablation_delta_loss"]
    numeric = {"score", "explained", "tested_mi", "null_99", "ablation_delta_loss"}
    source = ColumnDataSource({k: [(np.nan if k in numeric else "") if c.get(k) is None else c[k] for c in cells]
                               for k in keys})
    fmt = NumberFormatter(format="0.000", nan_format="")
    widths = {"layer": 40, "view": 40, "cell": 40, "label": 420, "stat": 40, "plain_label": 300}
    columns = [TableColumn(field=k, title=k.replace("_", " "), width=widths.get(k, 80),
                           **({"formatter": fmt} if k in numeric else {}))
               for k in keys]
    return DataTable(source=source, columns=columns, height=360, sortable=True, reorderable=False, index_position=None,
                     sizing_mode="stretch_width")


def best_cells_table(best: list[dict]) -> DataTable:
    keys = ["annotation", "layer", "view", "cell", "says", "stat", "score", "explained"]
    source = ColumnDataSource({k: [b[k] for b in best] for k in keys})
    fmt = NumberFormatter(format="0.000")
    widths = {"annotation": 130, "layer": 40, "view": 40, "cell": 40, "says": 520, "stat": 40}
    columns = [TableColumn(field=k, title=k, width=widths.get(k, 80),
                           **({"formatter": fmt} if k in ("score", "explained") else {})) for k in keys]
    return DataTable(source=source, columns=columns, height=40 + 26 * len(best), sortable=True, reorderable=False,
                     index_position=None, sizing_mode="stretch_width")


def profile(run: ProbingRun, layer: int, name: str):
    ann = run.annotations[name]
    return profile_figure(category_means(run.trace.hidden[layer], ann), ann, f"layer {layer}: mean h by "
                          f"{name.replace('_', ' ')}", value_range("h", run.trace.hidden[layer]))


def profile_figure(means: np.ndarray, ann, title: str, low_high: tuple[float, float]):
    """Cells x categories, each cell's mean in each category ([H, K] ``means``), coloured on the view's range."""
    H, K = means.shape
    cells = [f"cell {c}" for c in range(H)]
    cats = [ann.wording[k] if ann.wording else ann.categories[k] for k in range(K)]
    xs, ys = np.meshgrid(np.arange(K), np.arange(H))
    source = ColumnDataSource({"x": [cats[i] for i in xs.ravel()], "y": [cells[j] for j in ys.ravel()],
                               "mean": means.ravel()})
    low, high = low_high
    palette = DIVERGING if low < 0 else DIVERGING[127:]
    fig = figure(x_range=cats, y_range=list(reversed(cells)), height=60 + 18 * H, width=120 + 70 * K,
                 title=title, tools="hover", tooltips=[("cell", "@y"), (ann.name, "@x"), ("mean", "@mean{0.000}")],
                 toolbar_location=None)
    fig.rect("x", "y", 1, 1, source=source, line_color=None,
             fill_color={"field": "mean", "transform": LinearColorMapper(palette=palette, low=low, high=high)})
    fig.grid.visible = False
    fig.xaxis.major_label_orientation = 0.6 if K > 5 or max(map(len, cats)) > 8 else 0   # long names would overlap
    fig.title.text_font_size = "12px"
    return fig


def probe_references(p: dict) -> list[tuple[str, float, str]]:
    """(legend, accuracy, colour) of each reference line of a probe's plot: majority, input only,
    control and, for text, the best window of the n-gram baseline."""
    refs = [(f"majority {p['majority_accuracy']:.3f}", p["majority_accuracy"], "#888888"),
            (f"input only {p['input_baseline_accuracy']:.3f}", p["input_baseline_accuracy"], Category10_10[1]),
            (f"control {p['control_accuracy']:.3f}", p["control_accuracy"], Category10_10[2])]
    if p.get("ngram_accuracy"):
        best = max(p["ngram_accuracy"], key=lambda g: g["accuracy"])
        refs.append((f"last {best['k']} chars {best['accuracy']:.3f}", best["accuracy"], Category10_10[4]))
    return refs


def probe_plot(p: dict):
    """Accuracy against the k best cells, each reference a dashed line named in the legend."""
    k = np.arange(1, len(p["accuracy_by_k"]) + 1)
    fig = figure(height=300, width=380, y_range=(0, 1.02), x_axis_label="k best cells (by |weight|)",
                 y_axis_label="accuracy", title=f"layer {p['layer']}: {p['target'].replace('_', ' ')} "
                 f"{p['accuracy']:.3f}, selectivity {p['selectivity']:+.3f}", toolbar_location=None)
    source = ColumnDataSource({"k": k, "acc": p["accuracy_by_k"], "cells": [str(p["cell_order"][:i]) for i in k]})
    fig.line("k", "acc", source=source, line_width=2, color=Category10_10[0], legend_label="probe on k cells")
    fig.scatter("k", "acc", source=source, size=5, color=Category10_10[0], legend_label="probe on k cells")
    fig.add_tools(HoverTool(tooltips=[("k", "@k"), ("accuracy", "@acc{0.000}"), ("cells", "@cells")],
                            renderers=fig.renderers[:2]))
    for label, value, colour in probe_references(p):      # lines, not Spans: a Span has no legend entry
        fig.line([1, len(k)], [value, value], line_color=colour, line_dash="dashed", line_width=1.5,
                 legend_label=label)
    fig.legend.location, fig.legend.label_text_font_size = "bottom_right", "10px"
    fig.legend.padding, fig.legend.spacing, fig.legend.background_fill_alpha = 2, 0, 0.7
    fig.title.text_font_size = "12px"
    return fig


def ablation_plot(cells: list[dict]):
    rows = sorted((c for c in cells if c["view"] == "h"), key=lambda c: -c["ablation_delta_loss"])
    names = [f"L{c['layer']} cell {c['cell']}" for c in rows]
    source = ColumnDataSource({"name": names, "delta": [c["ablation_delta_loss"] for c in rows],
                               "label": [c["label"] for c in rows]})
    fig = figure(x_range=names, height=260, sizing_mode="stretch_width", y_axis_label="\u0394 loss (nats/char)",
                 tools="hover", tooltips=[("cell", "@name"), ("\u0394 loss", "@delta{0.00000}"), ("label", "@label")],
                 toolbar_location=None)
    fig.vbar(x="name", top="delta", width=0.8, source=source, color=Category10_10[3])
    fig.xaxis.major_label_orientation = 0.8
    return fig


def saturation_plot(s: dict, tap: bool = False):
    """One point per cell: its share of steps at the bottom of the view's range against the top
    (Karpathy et al. 2015, fig. 3). ``tap``: points can be clicked (the app's Saturation tab)."""
    cells = s["cells"]
    source = ColumnDataSource({"left": [c["left"] for c in cells], "right": [c["right"] for c in cells],
                               "cell": [c["cell"] for c in cells]})
    low = "< −0.9" if s.get("range", [0, 1])[0] < 0 else "< 0.1"
    fig = figure(height=220, width=220, x_range=(-0.02, 1.02), y_range=(-0.02, 1.02),
                 tools="hover,tap" if tap else "hover",
                 tooltips=[("cell", "@cell"), (f"share {low}", "@left{0.000}"), ("share > 0.9", "@right{0.000}")],
                 title=f"layer {s['layer']}: {s['view']}", x_axis_label=f"left-saturated (share {low})",
                 y_axis_label="right-saturated (share > 0.9)", toolbar_location=None)
    fig.line([0, 1], [1, 0], color="#bbbbbb", line_dash="dotted")
    fig.scatter("left", "right", source=source, size=7, alpha=0.7, color=Category10_10[4], name="cells",
                nonselection_alpha=0.25, selection_color=Category10_10[3])
    return fig


def causal_plot(code: dict):
    k = np.arange(len(code["kl"]))
    added = ["(none)"] + [f"cell {c}" for c in code["cells"]]
    source = ColumnDataSource({"k": k, "kl": code["kl"], "added": added})
    size = code["complete_size"]
    fig = figure(height=260, width=560, x_axis_label="cells set to the mean code (greedy order)",
                 y_axis_label="mean KL(oracle || model), nats", toolbar_location=None,
                 title=(f"layer {code['layer']}, {code['variable']}: complete code = {size} cells "
                        f"{code['cells'][:size]}" if size is not None else
                        f"layer {code['layer']}, {code['variable']}: no set reaches "
                        f"{code['complete_threshold_nats']} nats"))
    fig.line("k", "kl", source=source, line_width=2, color=Category10_10[0])
    fig.scatter("k", "kl", source=source, size=6, color=Category10_10[0])
    fig.add_tools(HoverTool(tooltips=[("cells", "@k"), ("added", "@added"), ("mean KL", "@kl{0.00000} nats")]))
    fig.title.text_font_size = "12px"
    return fig


def samples_div(a: dict) -> Div:
    """The grammatical share with the top-ranked cell ablated, beside intact, and a few samples."""
    intact, ablated = a["intact"], a["ablated"]
    shown = "".join(f"<br><code>{html.escape(t[:120])}{'&hellip;' if len(t) > 120 else ''}</code>"
                    for t in ablated["examples"])
    return Div(text=(f"<b>Grammatical samples</b> ({intact['samples']} of {a['chars']} characters after "
                     f"<code>{html.escape(a['prime'])}</code>, temperature {a['temperature']:g}, the same random "
                     f"numbers for both; grammar/validate.py decides): <b>{intact['grammatical']} of "
                     f"{intact['samples']}</b> intact, <b>{ablated['grammatical']} of {ablated['samples']}</b> with "
                     f"layer {a['layer']} cell(s) {a['cells']} {a['mode']}-ablated (the top-ranked). The first "
                     f"ablated samples (first 120 characters):{shown}"), sizing_mode="stretch_width")


def interchange_plot(code: dict):
    k = np.arange(len(code["score"]))
    added = ["(none)"] + [f"cell {c}" for c in code["cells"]]
    source = ColumnDataSource({"k": k, "score": code["score"], "added": added, "null_mean": code["null_mean"],
                               "null_p99": code["null_p99"]})
    size = code["complete_size"]
    name = code["annotation"].replace("_", " ")
    fig = figure(height=260, width=480, y_range=(-0.05, 1.05), x_axis_label="cells copied (greedy order)",
                 y_axis_label="share of the KL gap closed", toolbar_location=None,
                 title=(f"layer {code['layer']}, {name}: complete code = {size} cells {code['cells'][:size]}"
                        if size is not None else f"layer {code['layer']}, {name}: {code['score'][-1]:.2f} with "
                        f"{len(code['cells'])} cells (not complete)"))
    fig.line("k", "null_mean", source=source, color="#888888", line_width=1.5)
    fig.line("k", "null_p99", source=source, color="#888888", line_dash="dashed", line_width=1.5)
    fig.line("k", "score", source=source, line_width=2, color=Category10_10[0])
    fig.scatter("k", "score", source=source, size=6, color=Category10_10[0])
    fig.add_tools(HoverTool(tooltips=[("cells", "@k"), ("added", "@added"), ("closed", "@score{0.000}"),
                                      ("random sets", "@null_mean{0.000} (99th pct @null_p99{0.000})")]))
    fig.title.text_font_size = "12px"
    return fig
