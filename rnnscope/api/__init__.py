"""The public Python API: ``import rnnscope as rs``; ``rs.load(NAME_OR_DIR)`` gives a Model whose
``trace``, ``label_cells`` and ``probe`` return arrays, DataFrames and reports (docs/api.md)."""
from rnnscope.api.loading import resolve, shipped_models
from rnnscope.api.model import Model, load
from rnnscope.api.reports import ProbeReport
from rnnscope.api.trace import Trace

__all__ = ["load", "Model", "Trace", "ProbeReport", "shipped_models", "resolve"]
