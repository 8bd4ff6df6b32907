"""Two models on the same sequence, their cells paired (analysis/describe/compare.py): model A's heatmap
over model B's, sharing one x range, row k of each being the k-th pair (best |r| first), the
unmatched cells of the larger model last. Drawn by the page's own Heatmap, so it reads like it.

Both open on their top ``pair_rows`` rows: the pairs, as many as give every row room for its label (A 3 <-> B 7
r=+0.91 on both sides), rows of the same height in both, so pair k of A stands level with pair k of B. The
unmatched cells of the larger model (and pairs past the first screenful) are a pan or a zoom-out away on the cell
axis, as the line under each heatmap says."""
from __future__ import annotations

import dataclasses
import html

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Range1d

from rnnscope.analysis.describe.compare import Comparison
from rnnscope.analysis.decode.html import standalone
from rnnscope.analysis.describe.labels import signed

from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.heatmap import LABEL_PX, PLOT_PX, Heatmap, sequence_data


def _r(r: float) -> str:
    return "n/a" if np.isnan(r) else signed(r, 2)


def paired_frames(frame_a: Frame, frame_b: Frame, comparison: Comparison,
                  names: tuple[str, str] = ("A", "B")) -> tuple[Frame, Frame]:
    """Both frames with rows in pair order (rows of an index-ordered frame are cell numbers)."""
    rows_a = [p.a for p in comparison.pairs] + comparison.unmatched_a
    rows_b = [p.b for p in comparison.pairs] + comparison.unmatched_b
    labels_a = [f"{names[0]} {p.a}  \u2194 {names[1]} {p.b}  r={_r(p.r)}" for p in comparison.pairs] + \
               [f"{names[0]} {c}  unmatched" for c in comparison.unmatched_a]
    labels_b = [f"{names[1]} {p.b}  \u2194 {names[0]} {p.a}  r={_r(p.r)}" for p in comparison.pairs] + \
               [f"{names[1]} {c}  unmatched" for c in comparison.unmatched_b]

    def reorder(frame: Frame, rows: list[int], labels: list[str], title: str) -> Frame:
        where = {int(c): i for i, c in enumerate(frame.cells)}
        order = [where[c] for c in rows]
        return dataclasses.replace(frame, values=np.ascontiguousarray(frame.values[order]),
                                   cells=np.asarray(rows), labels=labels, order="pairs", title=title)
    return (reorder(frame_a, rows_a, labels_a, f"{names[0]}: {frame_a.title}"),
            reorder(frame_b, rows_b, labels_b, f"{names[1]}: {frame_b.title}"))


def pair_rows(comparison: Comparison) -> int:
    """How many top rows each heatmap opens on: the pairs, at most as many as PLOT_PX holds LABEL_PX apart."""
    return max(1, min(len(comparison.pairs), int(PLOT_PX // LABEL_PX)))


def comparison_layout(frame_a: Frame, frame_b: Frame, view_rows: int | None = None):
    """The two heatmaps, one over the other, panning and zooming together on the characters; each opens on
    its top ``view_rows`` rows (None: as the page's heatmap would)."""
    seq = ColumnDataSource(sequence_data(frame_a))
    T = len(frame_a.text)
    x_range = Range1d(-0.5, T - 0.5, bounds=(-0.5, T - 0.5))
    maps = [Heatmap(seq, x_range) for _ in range(2)]
    for heatmap, frame in zip(maps, (frame_a, frame_b)):
        heatmap.update(frame, view_rows)
    return column(*(m.figure for m in maps), sizing_mode="stretch_width")


def pairs_table(comparison: Comparison, names: tuple[str, str]) -> str:
    rows = "".join(f"<tr><td>{p.a}</td><td>{p.b}</td><td>{_r(p.r)}</td></tr>" for p in comparison.pairs)
    extra = "".join(f"<p>{html.escape(names[i])}: unmatched cells {cells}</p>"
                    for i, cells in enumerate((comparison.unmatched_a, comparison.unmatched_b)) if cells)
    return (f"<p>Pearson r over {comparison.steps:,} characters read by both; pairs chosen by an optimal "
            f"one-to-one assignment on |r| (scipy); mean |r| of the pairs "
            f"{'n/a' if np.isnan(comparison.mean_abs_r) else f'{comparison.mean_abs_r:.3f}'}.</p>"
            f"<table class='pairs'><tr><th>{html.escape(names[0])} cell</th><th>{html.escape(names[1])} cell</th>"
            f"<th>r</th></tr>{rows}</table>{extra}")


def comparison_html(frame_a: Frame, frame_b: Frame, comparison: Comparison, names: tuple[str, str],
                    caption: str = "") -> str:
    a, b = paired_frames(frame_a, frame_b, comparison, names)
    layout = comparison_layout(a, b, pair_rows(comparison))
    return standalone(layout, f"rnnscope compare: {names[0]} and {names[1]}", caption,
                      body_html=pairs_table(comparison, names),
                      style="table.pairs{border-collapse:collapse}table.pairs td,table.pairs th"
                            "{border:1px solid #ccc;padding:2px 8px;text-align:right}")
