"""Where a sequence comes from: a window of a held-out stream, typed text, or a sample
from the model. Each returns plain text; problems raise RnnscopeError with a message a
user can act on."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.models.data.batches import grammar_spec_of
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout_text import HeldoutText
from rnnscope.models.reading.sample import sample as _sample
from rnnscope.models.reading.sample import start_distribution
from rnnscope.models.reading.window import MAX_CHARS, check_typed, grammar_note  # noqa: F401  (the page's names)

from rnnscope.app.pages.cache import held

MAX_SAMPLE_CHARS = 20_000      # sampling steps one char at a time: keep it interactive


def grammar_spec(path: str | Path) -> grammar.GrammarSpec | None:
    """The grammar a checkpoint was trained on, or None (a model of some other text)."""
    return _spec_of(checkpoint.read_config(path))


def _spec_of(config: dict) -> grammar.GrammarSpec | None:
    return grammar_spec_of(config.get("training", {}), config["model"].get("vocab"))


def heldout_stream(path: str | Path, key: tuple | None = None) -> str:
    """The model's held-out stream (models/data/heldout.py): a fresh grammar stream, or the last
    10% of the training text (which must still be where training read it); ``key`` (app/pages/cache.py
    ``stream_key``): a text file given to the page instead, checked against the model's vocabulary."""
    return held(path, key).text


def heldout_annotations(path: str | Path, index: int, length: int, key: tuple | None = None) -> dict:
    """The true annotations of a window of the held-out stream: counted from the stream's
    start, not from the window's."""
    return held(path, key).annotations_at(index, length)


def given_heldout(file: str, chars: str) -> HeldoutText | None:
    """The held-out text the page's boxes name (None when the file box is empty: the model's own
    stream); RnnscopeError for a range without a file or one that does not parse."""
    file, chars = file.strip(), chars.strip()
    if not file:
        if chars:
            raise RnnscopeError("a held-out range goes with a held-out file: give the file too")
        return None
    return HeldoutText.of(file, chars or None)


def heldout_boxes(key: tuple | None) -> dict:
    """The page's held-out file and range boxes as they read for ``key`` (cache.stream_key)."""
    if key is None:
        return {"heldout_file": "", "heldout_range": ""}
    whole = key[1:3] == (0, None)
    return {"heldout_file": key[0], "heldout_range": "" if whole else f"{key[1]}:{'' if key[2] is None else key[2]}"}


def window(stream: str, index: int, length: int) -> str:
    if length < 1:
        raise RnnscopeError(f"window length must be at least 1, got {length}")
    if not 0 <= index < len(stream):
        raise RnnscopeError(f"index {index:,} is outside the held-out stream (0 .. {len(stream) - 1:,})")
    return stream[index:index + length]


def random_index(stream_len: int, length: int, rng: np.random.Generator) -> int:
    return int(rng.integers(0, max(1, stream_len - length + 1)))


def task_example(model) -> str:
    """A sequence a task model reads (sum3: a triple of digits training never read)."""
    from rnnscope.models.training.sum3 import as_text, new_triples
    return as_text(new_triples(1))[0]


def sampled(model, n_chars: int, temperature: float, seed: int, prime: str) -> str:
    if model.decoder is None:
        raise RnnscopeError(f"a {model.config.task} model predicts a sum, not the next character: "
                            "there is nothing to sample; type three digits instead")
    if not 0 < n_chars <= MAX_SAMPLE_CHARS:
        raise RnnscopeError(f"sample length must be between 1 and {MAX_SAMPLE_CHARS:,}, got {n_chars}")
    if n_chars <= len(prime):
        return prime[:n_chars]
    return prime + _sample(model, n_chars - len(prime), temperature, seed, primes=[prime])[0]


def app_prime(model, stream: str) -> tuple[str, str]:
    """The prime the page samples from, and how the page names it: none -- the model's own start,
    its first character drawn from the start distribution models/reading/sample.py keeps -- or, for a
    checkpoint that records none, the held-out stream's first character, saying so."""
    try:
        start_distribution(model)
    except RnnscopeError:
        prime = stream[:1] or model.config.vocab[0]
        return prime, f"{prime!r} (this checkpoint records no start distribution to start from)"
    record = getattr(model, "training_record", None) or {}
    source = ("the training text's character frequencies" if (record.get("data") or {}).get("kind") == "text"
              else "the grammar's distribution of a stream's first token")
    return "", f"none: the model's own start (its first character drawn from {source})"
