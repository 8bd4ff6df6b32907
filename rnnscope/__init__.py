"""rnnscope: what each cell of a recurrent network has learned.

    import rnnscope as rs
    m = rs.load("gru15-parens")              # a shipped name, or a checkpoint directory
    t = m.trace("( 1 ( 2 ) 1 ) 0 ")          # t.text, t.h [steps x cells], t.view("z"), t.heatmap()
    labels = m.label_cells()                 # a DataFrame, one row per (layer, view, cell)
    report = m.probe()                       # .to_json(), .to_html()
    m.sample(n=3), m.evaluate(), m.summary(), m.explain(t, step=5, cell=2), m.compare(other, t)
    rs.train("out/gru", steps=500), rs.generate(1000), rs.import_torch(...), rs.generalise([m, ...])

The names below import on first use, so ``import rnnscope`` (and the command line's start) stays light.
See docs/api.md; the command line is ``rnnscope --help``.
"""
from __future__ import annotations

import importlib

__all__ = ["load", "Model", "Trace", "ProbeReport", "Report", "Store", "shipped_models", "resolve",
           "train", "resume", "train_sum3", "read_run", "generate", "grammar_spec", "GrammarSpec", "GrammarError",
           "corpus", "import_torch", "import_keras", "generalise"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("rnnscope.api"), name)
    raise AttributeError(f"module 'rnnscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
