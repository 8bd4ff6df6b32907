"""Analysis of traced states: plain functions over arrays, one module per method, called alike by the
page, the `rnnscope probe` report and a notebook (docs/architecture.md). Torch-free except where a
method must re-run the model (it calls models/reading/ablation.py then).

describe/  what a cell does, read off its states
  annotations.py       what the data says at every character (depth, token kind, next char ...)
  text_annotations.py  the same for any text (character class, strings, comments, brackets, lines, indentation)
  labels.py            a one-line label per cell with its strength (r, MI in bits), per-category means
  nulls.py             Miller–Madow MI and the shuffle (permutation) null a label must clear
  beyond.py            what a cell carries beyond the current character (conditional MI given it)
  tally.py             the counts labels are made of, every cell and annotation in one compiled (numba) pass
  best_cells.py        for each annotation, the one cell that goes with it best (a quote cell, a line-length cell)
  store_labels.py      the labels of labels.py over a corpus store's states, read chunk by chunk
  saturation.py        each cell's share of steps near the bottom / top of its range
  clustering.py        cells ordered so that similar ones sit side by side
  compare.py           two models' cells paired by |r| (an optimal one-to-one assignment)
  match.py             LSTMVis select and match: on-cells of a span, best runs over a corpus store
  explain.py           the terms that made one cell's value at one step (models/network/reference.py's equations)
  divergence.py        KL(oracle || model) and illegal mass per step: where the model is wrong, not surprised
decode/    what a layer carries, read by linear probes
  probes.py            linear probes (scikit-learn) beside majority, input-only and control-task references
  probing.py           all of the above in one pass over held-out states read in context; report.py draws it
  weights.py           what a small model's weights say (sum3)
  generalise.py        can a model count? "is `)` legal" per true depth on a stream deeper than training;
                       generalise_report.py draws it
  html.py              the standalone HTML page the reports are written into
intervene/ what a cell causes
  ablation.py          every cell ranked by the rise in held-out loss when it alone is replaced
                       (the replacement itself re-runs the model: models/reading/ablation.py)
  causal.py            the smallest set of cells the model reads a variable from (interchange interventions
                       against the grammar's oracle)
  interchange.py       the same for any annotation: cells copied between contexts that read the same
                       character and differ in it, scored by the share of the KL gap closed
"""
