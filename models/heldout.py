"""The held-out stream of a checkpoint: the text a model is looked at on, never trained on.

A grammar model's is a fresh stream of its own grammar; a text model's is the last 10% of
its training file (which must still be where training read it). Its annotations are counted
once, from the stream's start, so a window anywhere in it gets its true depth.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import grammar

from . import checkpoint
from .data import grammar_spec_of
from .errors import RnnscopeError

HELDOUT_CHARS = 200_000        # length of a grammar model's held-out stream


@dataclass(frozen=True)
class HeldOut:
    text: str
    spec: grammar.GrammarSpec | None             # the grammar (None: a text model)
    annotations: dict[str, np.ndarray]           # [len(text)] each, counted from the stream's start
    # A text model's training text before the stream ('' when the stream starts its file): text
    # annotations (strings, comments, brackets) read it to know the state the stream starts in.
    before: str = ""

    def annotations_at(self, index: int, length: int) -> dict[str, np.ndarray]:
        return {k: v[index:index + length] for k, v in self.annotations.items()}

    @functools.cached_property
    def oracle(self) -> np.ndarray | None:
        """[T, V] the grammar's exact distribution of the character after each one, over
        ``spec.alphabet`` (None for a text model: no oracle). Computed once, on first use."""
        return None if self.spec is None else grammar.next_char_probs(self.text, self.spec, trusted=True)


def heldout_of(path: str | Path) -> HeldOut:
    """The held-out stream of the checkpoint at ``path`` (cached per stream, not per path)."""
    config = checkpoint.read_config(path)
    record = config.get("training", {})
    data = record.get("data", {})
    spec = grammar_spec_of(record, config["model"].get("vocab"))
    if spec is not None:
        return _grammar_stream(tuple(sorted(spec.to_dict().items())), _seed_key(data.get("seed", 0)))
    if data.get("kind") == "text" and data.get("path"):
        text_file = Path(str(data["path"]))
        if not text_file.is_file():
            raise RnnscopeError(f"{path}: the held-out stream is the end of the training text {text_file}, "
                                "which no longer exists")
        return _text_tail(str(text_file), text_file.stat().st_mtime)
    raise RnnscopeError(f"{path}: no held-out data known for this model "
                        "(not a grammar model, no training text recorded)")


def _seed_key(seed):
    return tuple(seed) if isinstance(seed, list) else seed      # JSON gives lists; cache keys must hash


@functools.lru_cache(maxsize=4)
def _grammar_stream(spec_items: tuple, seed) -> HeldOut:
    spec = grammar.GrammarSpec(**dict(spec_items))
    # Stream (seed, 3, 0): neither trained on (seed, 1, ...) nor used to pick the best step (seed, 2, ...).
    text = grammar.generate(HELDOUT_CHARS, seed=(seed, 3, 0), spec=spec)
    return HeldOut(text, spec, grammar.annotate(text, spec))


@functools.lru_cache(maxsize=4)
def _text_tail(text_file: str, mtime: float) -> HeldOut:
    text = Path(text_file).read_text(encoding="utf-8")
    split = int(len(text) * 0.9)
    return HeldOut(text[split:], None, {}, text[:split])        # the trainer's held-out 10%
