"""Writes examples/rnnscope_tour.ipynb from the cells below (the notebook is generated, so its
source stays reviewable as Python; tests/test_notebook.py executes the written file).

    .venv/bin/python examples/make_notebook.py
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# A tour of rnnscope from Python

The page (`rnnscope serve`) and `rnnscope probe` call the same public API this notebook calls
(`import rnnscope as rs`, docs/api.md): load a model, read its held-out stream **in context**, label every
cell, and draw the heatmap inline. The model is the shipped GRU-15 trained on the nested-parenthesis
language (`( 1 ( 2 ) 1 ) 0 ...`)."""),
    ("code", """import panel as pn

import rnnscope as rs

pn.extension()          # Panel's notebook support: the heatmap below is a live Bokeh figure

model = rs.load("gru15-parens")
print(f"{model.config.cell.upper()}, {model.hidden_size} cells, {model.num_layers} layer(s); "
      f"held-out stream of {len(model.heldout.text):,} characters")"""),
    ("md", """## Label every cell

States are read in context: the first 100,000 characters of the held-out stream, traced from its start
(docs/methods.md, "Read in context"). Each label names its statistic (r for numeric annotations, MI in bits for
categorical ones) and is ranked by how much of the cell it explains."""),
    ("code", """CHARS = 100_000
labels = model.label_cells(chars=CHARS, views=["h"])
for row in labels.itertuples():
    print(f"cell {row.cell:2d}  {row.label}")"""),
    ("md", """The seed-001 blog found, by eye, a cell that is "positive throughout, spiking negative just before
a 4". The labeller finds it by itself, whatever its index: its best rule is "−1 when depth ≥ 4" (a `4` is
only ever written at depth 4, so the cell is negative just before every `4`). The numbers, from the states:"""),
    ("code", """import numpy as np

depth_4 = labels[(labels.annotation == "depth") & (labels.value == ">= 4")].iloc[0]
states = model.trace(index=0, window=CHARS)          # the same stretch, read from the stream's start
cell = states.view("h")[:, depth_4.cell]
before_4 = np.array([c == "4" for c in states.text[1:]] + [False])   # the next character is a 4
print(f"cell {depth_4.cell}: {depth_4.label}")
print(f"mean just before a 4: {cell[before_4].mean():+.3f} over {before_4.sum():,} steps; "
      f"median over all {len(cell):,} steps: {np.median(cell):+.3f}")"""),
    ("md", """## The heatmap, inline

A window of the held-out stream as the model reads it along the stream (the state it holds there,
not a fresh start), cells ordered by their correlation with depth, with the same tracks as the page.
Hover a cell to read its value."""),
    ("code", """window = model.trace(index=5_000, window=120)
window.heatmap(order="depth")"""),
    ("md", """## Any text you type

A typed sequence is read from the zero state (nothing before it); grammar text gets its depth
annotation, so the depth ordering still applies."""),
    ("code", """typed = model.trace("( 1 ( 2 ( 3 ( 4 ) 3 ) 2 ) 1 ) 0 ")
print("depth:", typed.annotations["depth"].astype(int).tolist())
print("p(next char):", [round(float(p), 2) for p in typed.p_next])"""),
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
