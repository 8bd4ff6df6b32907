"""Analysis of traced states (DESIGN.md sections 1, 2 and 9): plain functions over arrays, one
module per method, called alike by the page, the `rnnscope probe` report and a notebook.

- annotations.py  what the data says at every character (depth, token kind, next char ...)
- labels.py       a one-line label per cell with its strength (r, MI in bits), per-category means
- probes.py       linear probes (scikit-learn) beside majority, input-only and control-task references
"""
