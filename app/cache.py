"""Everything expensive, computed once per server and shared by all sessions (``pn.cache``).

Keys include the checkpoint's modification time, so a checkpoint rewritten on disk (a
training run keeping its best model) is reloaded rather than served stale. The trace cache
is bounded: a 100k-character GRU-15 trace with gates is ~30 MB.
"""
from __future__ import annotations

from pathlib import Path

import panel as pn

import grammar
from models import checkpoint
from models.context import StreamReader
from models.heldout import heldout_of
from models.tracer import trace as _trace

TRACE_CACHE_ITEMS = 12


def stamp(path: str | Path) -> float:
    """Modification time of a checkpoint's weights (0 when missing: loading will say why)."""
    try:
        return (Path(path) / "model.safetensors").stat().st_mtime
    except OSError:
        return 0.0


@pn.cache(max_items=8)
def _load(path: str, mtime: float):
    return checkpoint.load(path)


def load_model(path: str | Path):
    """The CharRNN at ``path`` (raises CheckpointError with a message naming the file)."""
    return _load(str(path), stamp(path))


@pn.cache(max_items=TRACE_CACHE_ITEMS)
def _traced(path: str, mtime: float, text: str, spec_items: tuple | None):
    spec = grammar.GrammarSpec(**dict(spec_items)) if spec_items else None
    return _trace(_load(path, mtime), text, spec)


def trace_text(path: str | Path, text: str, spec: grammar.GrammarSpec | None = None):
    """The Trace of ``text`` under the model at ``path``; shared across sessions."""
    spec_items = tuple(sorted(spec.to_dict().items())) if spec else None
    return _traced(str(path), stamp(path), text, spec_items)


@pn.cache(max_items=4)
def _reader(path: str, mtime: float) -> StreamReader:
    held = heldout_of(path)
    return StreamReader(_load(path, mtime), held.text, held.annotations)


@pn.cache(max_items=TRACE_CACHE_ITEMS)
def _window(path: str, mtime: float, index: int, length: int):
    return _reader(path, mtime).trace(index, length)


def trace_in_context(path: str | Path, index: int, length: int):
    """The held-out window at ``index`` as the model reads it along the stream (models/context.py):
    the states it holds there, not those of a fresh start. Shared across sessions."""
    return _window(str(path), stamp(path), index, length)
