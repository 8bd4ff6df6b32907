"""Training batches with a carried hidden state.

Each batch row is its own stream read left to right in windows of ``bptt`` characters, so
the state carried from one window to the next is the true state. For grammar data every
row gets a fresh stream that starts at depth 0 each epoch: cutting one stream into rows
would start most rows mid-stream from the zero state and teach the model that the zero
state means "any depth" (DESIGN.md section 8), which ruins sampling from the start state.

With ``soft_targets`` the grammar data also carries the oracle's exact next-character
distribution for every position. Cross-entropy against it has the same minimiser as against
the sampled next character (the true distribution) but far less gradient noise, and every
step pushes illegal characters down directly instead of only when a sample happens to
punish them: this is what gets samples grammatical, not just the loss low.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import grammar

from .errors import RnnscopeError
from .vocab import Vocab


def grammar_spec_of(record: dict, vocab: list[str] | None = None) -> grammar.GrammarSpec | None:
    """The grammar a model was trained on, from its checkpoint's training record; None for a
    model of a text file. A checkpoint with no data record (saved by hand) whose vocabulary is
    exactly the default grammar's alphabet is taken to be a model of the default grammar."""
    data = (record or {}).get("data") or {}
    if data.get("kind") == "grammar" and isinstance(data.get("spec"), dict):
        return grammar.GrammarSpec.from_dict(data["spec"])
    if data.get("kind") in (None, "grammar") and vocab is not None and sorted(vocab) == grammar.GrammarSpec().alphabet:
        return grammar.GrammarSpec()
    return None


@dataclass
class GrammarData:
    spec: grammar.GrammarSpec
    row_chars: int = 20_000        # one stream per row per epoch
    eval_chars: int = 200_000      # held out, in eval_streams independent streams
    eval_streams: int = 8
    seed: int = 0
    soft_targets: bool = False     # also return the oracle's next-char distributions

    def __post_init__(self):
        if self.row_chars < 1:
            raise RnnscopeError(f"row_chars must be at least 1, got {self.row_chars}")
        if self.eval_chars < 2 * self.eval_streams:
            raise RnnscopeError(f"eval_chars must be at least {2 * self.eval_streams} "
                                f"({self.eval_streams} held-out streams of 2+ characters), got {self.eval_chars}")

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.spec.alphabet)

    def epoch(self, epoch: int, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """ids [batch_size, row_chars + 1] of fresh streams, all starting at depth 0, and with
        soft_targets the oracle's distribution of the character after each one [B, row_chars + 1, V]."""
        rows = [grammar.generate(self.row_chars + 1, seed=(self.seed, 1, epoch, r), spec=self.spec)
                for r in range(batch_size)]
        vocab = self.vocab
        ids = np.stack([vocab.encode(row) for row in rows])
        if not self.soft_targets:
            return ids, None
        return ids, np.stack([grammar.next_char_probs(row, self.spec, trusted=True) for row in rows]).astype(np.float32)

    def heldout(self) -> tuple[np.ndarray, float]:
        """[eval_streams, n] ids never seen in training, and the oracle's floor on exactly them."""
        n = self.eval_chars // self.eval_streams
        texts = [grammar.generate(n, seed=(self.seed, 2, r), spec=self.spec) for r in range(self.eval_streams)]
        floor = float(np.mean([grammar.empirical_floor(t, self.spec) for t in texts]))
        return np.stack([self.vocab.encode(t) for t in texts]), floor

    def describe(self) -> dict:
        return {"kind": "grammar", "spec": self.spec.to_dict(), "row_chars": self.row_chars,
                "eval_chars": self.eval_chars, "eval_streams": self.eval_streams, "seed": self.seed,
                "soft_targets": self.soft_targets}


@dataclass
class TextData:
    """Any text file: the first 90% trains (cut into one contiguous segment per row), the rest is held out."""
    path: Path
    eval_streams: int = 4

    def __post_init__(self):
        self.path = Path(self.path).resolve()   # the record must find it from any working directory
        try:
            self.text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RnnscopeError(f"{self.path}: no such file") from None
        except UnicodeDecodeError as e:
            raise RnnscopeError(f"{self.path}: not UTF-8 text ({e})") from None
        if len(self.text) < 1000:
            raise RnnscopeError(f"{self.path}: only {len(self.text)} characters; need at least 1,000 to train")
        self._vocab = Vocab.from_text(self.text)
        self.split = int(len(self.text) * 0.9)

    @property
    def vocab(self) -> Vocab:
        return self._vocab

    def epoch(self, epoch: int, batch_size: int) -> tuple[np.ndarray, None]:
        ids = self._vocab.encode(self.text[: self.split])
        per_row = len(ids) // batch_size
        if per_row < 2:
            raise RnnscopeError(f"{self.path}: too short for a batch of {batch_size} rows")
        return ids[: per_row * batch_size].reshape(batch_size, per_row), None

    def heldout(self) -> tuple[np.ndarray, None]:
        ids = self._vocab.encode(self.text[self.split:])
        n = len(ids) // self.eval_streams
        return ids[: n * self.eval_streams].reshape(self.eval_streams, n), None

    def describe(self) -> dict:
        return {"kind": "text", "path": str(self.path), "chars": len(self.text)}
