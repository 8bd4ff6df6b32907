"""Automata a network implements, checked against the grammar's own: exact comparison of DFAs
(equivalence.py), black-box extraction by L* (membership.py, lstar.py), white-box extraction by
quantising the hidden states (quantise.py), where a model stops counting (deeper.py), and what
`rnnscope automaton` reports (report.py, html.py)."""
