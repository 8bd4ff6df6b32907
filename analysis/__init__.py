"""Analysis of traced states (DESIGN.md sections 1, 2 and 9): plain functions over arrays, one
module per method, called alike by the page, the `rnnscope probe` report and a notebook.

- annotations.py  what the data says at every character (depth, token kind, next char ...)
- text_annotations.py  the same for any text (character class, strings, comments, brackets, lines, indentation)
- labels.py       a one-line label per cell with its strength (r, MI in bits), per-category means
- tally.py        the counts labels are made of, every cell and annotation in one compiled (numba) pass
- best_cells.py   for each annotation, the one cell that goes with it best (a quote cell, a line-length cell)
- probes.py       linear probes (scikit-learn) beside majority, input-only and control-task references
- divergence.py   KL(oracle || model) and illegal mass per step: where the model is wrong, not surprised
- saturation.py   each cell's share of steps near the bottom / top of its range
- explain.py      the terms that made one cell's value at one step (models/reference.py's equations)
- ablation.py     every cell ranked by the rise in held-out loss when it alone is replaced
                  (the replacement itself re-runs the model: models/ablation.py)
- match.py        LSTMVis select and match: on-cells of a span, best runs over a corpus store (models/store.py)
- store_labels.py the labels of labels.py over a corpus store's states, read chunk by chunk
- causal.py       the smallest set of cells the model reads a variable from (interchange interventions)
- probing.py      all of the above in one pass over held-out states read in context; report.py draws it
- generalise.py   can a model count? "is `)` legal" per true depth on a stream deeper than training
                  (brackets-only grammar); generalise_report.py draws it
"""
