"""The public Python API: ``import rnnscope as rs``; ``rs.load(NAME_OR_DIR)`` gives a Model whose
``trace``, ``label_cells`` and ``probe`` return arrays, DataFrames and reports; ``rs.train``,
``rs.import_torch`` ... make one (docs/api.md)."""
from rnnscope.api.analysis import generalise
from rnnscope.api.interop import import_keras, import_torch
from rnnscope.api.loading import resolve, shipped_models
from rnnscope.api.model import Model, load
from rnnscope.api.reports import ProbeReport, Report
from rnnscope.api.store import Store
from rnnscope.api.trace import Trace
from rnnscope.api.training import (GrammarError, GrammarSpec, corpus, generate, grammar_spec, read_run, resume,
                                   train, train_sum3)

__all__ = ["load", "Model", "Trace", "ProbeReport", "Report", "Store", "shipped_models", "resolve",
           "train", "resume", "train_sum3", "read_run", "generate", "grammar_spec", "GrammarSpec", "GrammarError",
           "corpus", "import_torch", "import_keras", "generalise"]
