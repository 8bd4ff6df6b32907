"""The held-out stream of a checkpoint: the text a model is looked at on, never trained on.

Resolved in this order: a text the user names (``--heldout FILE``, models/data/heldout_text.py); the
held-out text recorded in the checkpoint (``training.heldout``, written by ``rnnscope import ...
--heldout``); for a grammar model, a fresh stream of its own grammar; a text model's validation file or
the recorded tail of its training file (which must still be where training read it, unless it
was a corpus rnnscope builds again). Its annotations are counted
once, from the stream's start, so a window anywhere in it gets its true depth.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnscope import grammar

from rnnscope.models.network import checkpoint

from rnnscope.models.data import corpus
from rnnscope.models.data.batches import grammar_spec_of, read_text
from rnnscope.models.data.heldout_text import HeldoutText, read_heldout
from rnnscope.base.errors import RnnscopeError

HELDOUT_CHARS = 200_000        # length of a grammar model's held-out stream


@dataclass(frozen=True)
class HeldOut:
    text: str
    spec: grammar.GrammarSpec | None             # the grammar (None: a text model)
    annotations: dict[str, np.ndarray]           # [len(text)] each, counted from the stream's start
    # A text model's training text before the stream ('' when the stream starts its file): text
    # annotations (strings, comments, brackets) read it to know the state the stream starts in.
    before: str = ""
    origin: str = ""            # where the stream comes from, in words (reports say it)
    start_depth: int = 0        # a grammar stream cut from a file: the depth before its first character

    def annotations_at(self, index: int, length: int) -> dict[str, np.ndarray]:
        return {k: v[index:index + length] for k, v in self.annotations.items()}

    @functools.cached_property
    def oracle(self) -> np.ndarray | None:
        """[T, V] the grammar's exact distribution of the character after each one, over
        ``spec.alphabet`` (None for a text model: no oracle). Computed once, on first use."""
        return None if self.spec is None else grammar.next_char_probs(self.text, self.spec, self.start_depth,
                                                                                trusted=True)


def heldout_of(path: str | Path, given: HeldoutText | None = None) -> HeldOut:
    """The held-out stream of the checkpoint at ``path``: ``given`` (a text the user names) if any, else
    the one the checkpoint records (cached per stream, not per path)."""
    config = checkpoint.read_config(path)
    record = config.get("training") or {}
    data = record.get("data") or {}
    vocab = config["model"].get("vocab")
    spec = None if config["model"].get("task") else grammar_spec_of(record, vocab)
    if given is not None:
        return read_heldout(given, vocab, spec)
    if isinstance(record.get("heldout"), dict):
        recorded = record["heldout"]
        return read_heldout(HeldoutText.from_record(recorded), vocab, spec, recorded.get("sha256"))
    if spec is not None:
        return _grammar_stream(tuple(sorted(spec.to_dict().items())), _seed_key(data.get("seed", 0)))
    if data.get("kind") == "text" and data.get("path"):
        return _text_heldout(path, data)
    raise RnnscopeError(f"{path}: no held-out data known for this model (not a grammar model, no training "
                        "text recorded): give one with --heldout FILE (rnnscope.load(..., heldout=FILE)), "
                        "or record one with rnnscope import ... --heldout FILE")


def _seed_key(seed):
    return tuple(seed) if isinstance(seed, list) else seed      # JSON gives lists; cache keys must hash


@functools.lru_cache(maxsize=4)
def _grammar_stream(spec_items: tuple, seed) -> HeldOut:
    spec = grammar.GrammarSpec(**dict(spec_items))
    # Stream (seed, 3, 0): neither trained on (seed, 1, ...) nor used to pick the best step (seed, 2, ...).
    text = grammar.generate(HELDOUT_CHARS, seed=(seed, 3, 0), spec=spec)
    return HeldOut(text, spec, grammar.annotate(text, spec), origin="a fresh stream of the model's grammar")


def _text_heldout(path, data: dict) -> HeldOut:
    """A text model's held-out text: its validation file, or its training text's tail (the
    fraction recorded; 10% for checkpoints from before the record said). A training text that
    is gone or changed is rebuilt when it was a corpus rnnscope builds (models/data/corpus.py), so a
    shipped model works on any machine with the same Python; otherwise refused, saying why."""
    val = data.get("val") or {}
    if val.get("path"):
        val_file = Path(str(val["path"]))
        if not val_file.is_file():
            raise RnnscopeError(f"{path}: the held-out text is {val_file}, which no longer exists")
        # the digest: recorded since validation files had one (older checkpoints read the file as it is)
        return _text_file(str(val_file), val_file.stat().st_mtime, val.get("sha256"), 0.0, None)
    fraction = float(val.get("fraction", 0.1))
    text_file = Path(str(data["path"]))
    if text_file.is_file():
        return _text_file(str(text_file), text_file.stat().st_mtime, data.get("sha256"), fraction,
                          _recipe_key(data.get("corpus")))
    if data.get("corpus"):
        return _rebuilt_corpus(_recipe_key(data["corpus"]), fraction)
    raise RnnscopeError(f"{path}: the held-out stream is the end of the training text {text_file}, "
                        "which no longer exists")


def _recipe_key(recipe: dict | None) -> tuple | None:
    """A corpus record as a cache key: what rebuilding needs (corpus, max_chars, digests, versions)."""
    return None if not recipe else tuple(sorted((k, v) for k, v in recipe.items() if isinstance(v, (str, int))))


@functools.lru_cache(maxsize=4)
def _text_file(text_file: str, mtime: float, sha: str | None, fraction: float, recipe) -> HeldOut:
    text = read_text(Path(text_file))
    if sha and corpus.sha256(text) != sha:
        if recipe:
            return _rebuilt_corpus(recipe, fraction)
        raise RnnscopeError(f"{text_file}: changed since the model was trained on it (its digest differs), so its "
                            f"held-out tail is no longer the model's")
    return _tail(text, fraction)


@functools.lru_cache(maxsize=2)
def _rebuilt_corpus(recipe: tuple, fraction: float) -> HeldOut:
    return _tail(corpus.rebuild(dict(recipe)), fraction)


def _tail(text: str, fraction: float) -> HeldOut:
    """The trainer's held-out split (models/data/batches.py TextData): everything from int(len * (1 - fraction)),
    with the text before it (a validation file, fraction 0, is all stream and nothing before)."""
    split = int(len(text) * (1 - fraction)) if fraction else 0
    origin = f"the last {fraction:g} of the training text" if fraction else "the validation file"
    return HeldOut(text[split:], None, {}, text[:split], origin=origin)
