"""Writes examples/rnnscope_tour.ipynb from the cells below (the notebook is generated, so its
source stays reviewable as Python; tests/test_notebook.py executes the written file).

    .venv/bin/python examples/make_notebook.py
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# A tour of rnnscope from Python

The page (`panel serve app`) and `rnnscope probe` call the same plain functions this notebook calls:
load a model, read its held-out stream **in context**, label every cell, and draw the heatmap inline.
The model is the shipped GRU-15 trained on the nested-parenthesis language (`( 1 ( 2 ) 1 ) 0 ...`)."""),
    ("code", """import panel as pn

from rnnscope.analysis.describe.labels import label_cells
from rnnscope.analysis.decode.probing import annotations_of
from rnnscope.app.drawing.frame import make_frame
from rnnscope.app.drawing.scope import Scope
from rnnscope.models.network import checkpoint
from rnnscope.models.reading.context import StreamReader
from rnnscope.models.data.heldout import heldout_of
from rnnscope.base.paths import DEFAULT_CHECKPOINT
from rnnscope.models.reading.trace import value_range
from rnnscope.models.reading.tracer import trace

pn.extension()          # Panel's notebook support: the heatmap below is a live Bokeh figure

model = checkpoint.load(DEFAULT_CHECKPOINT)
held = heldout_of(DEFAULT_CHECKPOINT)          # the model's held-out stream and its exact annotations
print(f"{model.config.cell.upper()}, {model.config.hidden_size} cells, {model.config.num_layers} layer(s); "
      f"held-out stream of {len(held.text):,} characters")"""),
    ("md", """## Label every cell

States are read in context: the first 100,000 characters of the held-out stream, traced from its start
(docs/methods.md, "Read in context"). Each label names its statistic (r for numeric annotations, MI in bits for
categorical ones) and is ranked by how much of the cell it explains."""),
    ("code", """CHARS = 100_000
states = trace(model, held.text[:CHARS])
h = states.values("h", 0)                        # [T, H]
labels = label_cells(h, annotations_of(held, CHARS), value_range("h", h))
for lab in labels:
    print(f"cell {lab.cell:2d}  {lab.label}")"""),
    ("md", """The seed-001 blog found, by eye, a cell that is "positive throughout, spiking negative just before
a 4". The labeller finds it by itself, whatever its index: its best rule is "−1 when depth ≥ 4" (a `4` is
only ever written at depth 4, so the cell is negative just before every `4`). The numbers, from the states:"""),
    ("code", """import numpy as np

ann = annotations_of(held, CHARS)
depth_4 = next(lab for lab in labels if lab.best and (lab.best.annotation, lab.best.value) == ("depth", ">= 4"))
next_token = ann["next_token"]
before_4 = next_token.values == next_token.categories.index("4")
cell = h[:, depth_4.cell]
print(f"cell {depth_4.cell}: {depth_4.label}")
print(f"mean just before a 4: {cell[before_4].mean():+.3f} over {before_4.sum():,} steps; "
      f"median over all {len(cell):,} steps: {np.median(cell):+.3f}")"""),
    ("md", """## The heatmap, inline

A window of the held-out stream as the model reads it along the stream (the state it holds there,
not a fresh start), cells ordered by their correlation with depth, with the same tracks as the page.
Hover a cell to read its value."""),
    ("code", """reader = StreamReader(model, held.text, held.annotations)
window = reader.trace(5_000, 120)
scope = Scope()
scope.update(make_frame(window, view="h", order="depth"))
pn.pane.Bokeh(scope.layout, sizing_mode="stretch_width")"""),
    ("md", """## Any text you type

A typed sequence is read from the zero state (nothing before it); grammar text gets its depth
annotation, so the depth ordering still applies."""),
    ("code", """typed = trace(model, "( 1 ( 2 ( 3 ( 4 ) 3 ) 2 ) 1 ) 0 ")
print("depth:", typed.annotations["depth"].astype(int).tolist())
print("p(next char):", [round(float(p), 2) for p in typed.next_char_prob()])"""),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


if __name__ == "__main__":
    out = Path(__file__).with_name("rnnscope_tour.ipynb")
    nbformat.write(build(), out)
    print(f"wrote {out}")
