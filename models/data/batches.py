"""Training batches with a carried hidden state.

Each batch row is its own stream read left to right in windows of ``bptt`` characters, so
the state carried from one window to the next is the true state. For grammar data every
row gets a fresh stream that starts at depth 0 each epoch: cutting one stream into rows
would start most rows mid-stream from the zero state and teach the model that the zero
state means "any depth" (docs/architecture.md, Traps), which ruins sampling from the start state.

With ``soft_targets`` the grammar data also carries the oracle's exact next-character
distribution for every position. Cross-entropy against it has the same minimiser as against
the sampled next character (the true distribution) but far less gradient noise, and every
step pushes illegal characters down directly instead of only when a sample happens to
punish them: this is what gets samples grammatical, not just the loss low.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnscope import grammar

from rnnscope.models.data import corpus
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.vocab import Vocab


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

    def epoch(self, epoch: int, batch_size: int, rows: range | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """ids [batch_size, row_chars + 1] of fresh streams, all starting at depth 0, and with
        soft_targets the oracle's distribution of the character after each one [B, row_chars + 1, V].
        ``rows``: only those rows of the batch (one process's share under torchrun); each row's
        stream comes from its own seed, so a share is made without the rest."""
        rows = [grammar.generate(self.row_chars + 1, seed=(self.seed, 1, epoch, r), spec=self.spec)
                for r in (range(batch_size) if rows is None else rows)]
        vocab = self.vocab
        ids = np.stack([vocab.encode(row) for row in rows])
        if not self.soft_targets:
            return ids, None
        # filled row by row into one float32 array: stacking float64 rows and casting after made
        # two more copies of the epoch's largest array (the same values either way)
        soft = np.empty((len(rows), self.row_chars + 1, len(self.spec.alphabet)), dtype=np.float32)
        for i, row in enumerate(rows):
            soft[i] = grammar.next_char_probs(row, self.spec, trusted=True, dtype=np.float32)
        return ids, soft

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


def read_text(path: Path) -> str:
    """A UTF-8 file's text, NFC-normalised: a decomposed e + combining accent is one character, é,
    as in text typed on most keyboards, so a model sees one spelling of each character."""
    try:
        return unicodedata.normalize("NFC", Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RnnscopeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RnnscopeError(f"{path}: is a directory, not a text file") from None
    except UnicodeDecodeError as e:
        raise RnnscopeError(f"{path}: not UTF-8 text ({e})") from None


@dataclass
class TextData:
    """Any UTF-8 text file (NFC-normalised on the way in). The held-out text is ``val_path`` when
    given (its characters must all be in the training text), else the file's last ``val_fraction``
    (docs/methods.md, Annotations). Training rows are contiguous segments of the training text, one per
    batch row, read left to right with a carried state; each epoch rotates the text by a seeded
    random offset first, so the windows and row starts differ from epoch to epoch (the one seam
    per row where the end of the text meets its start is the price of using every character)."""
    path: Path
    val_path: Path | None = None
    val_fraction: float = 0.1
    seed: int = 0
    eval_streams: int = 4

    def __post_init__(self):
        self.path = Path(self.path).resolve()   # the record must find it from any working directory
        text = read_text(self.path)
        if len(text) < 1000:
            raise RnnscopeError(f"{self.path}: only {len(text)} characters; need at least 1,000 to train")
        self.sha256 = corpus.sha256(text)
        self.corpus = corpus.read_sidecar(self.path, text)
        if self.val_path is not None:
            self.val_path = Path(self.val_path).resolve()
            self.train_text, self.val_text = text, read_text(self.val_path)
            self._vocab = Vocab.from_text(text)
            unknown = sorted(set(self.val_text) - set(text))
            if unknown:
                shown = ", ".join(f"{c!r} ({self.val_text.count(c)}x)" for c in unknown[:10])
                raise RnnscopeError(f"{self.val_path}: {len(unknown)} character(s) never seen in the training "
                                    f"text {self.path.name}, so a model of it cannot read them: {shown}"
                                    + (" ..." if len(unknown) > 10 else ""))
        else:
            if not 0 < self.val_fraction < 1:
                raise RnnscopeError(f"the validation fraction must be between 0 and 1, got {self.val_fraction}")
            split = int(len(text) * (1 - self.val_fraction))
            self.train_text, self.val_text = text[:split], text[split:]
            self._vocab = Vocab.from_text(text)   # the tail's characters too, so the held-out text is readable
        if len(self.val_text) < 2 * self.eval_streams:
            raise RnnscopeError(f"the held-out text has {len(self.val_text)} characters; it needs at least "
                                f"{2 * self.eval_streams} ({self.eval_streams} streams of 2+)")
        self.text = text

    @property
    def vocab(self) -> Vocab:
        return self._vocab

    def epoch(self, epoch: int, batch_size: int, rows: range | None = None) -> tuple[np.ndarray, None]:
        """ids [batch_size, per_row]; ``rows``: only those rows of the batch (as GrammarData.epoch)."""
        ids = self._train_ids()
        per_row = len(ids) // batch_size
        if per_row < 2:
            raise RnnscopeError(f"{self.path}: too short for a batch of {batch_size} rows")
        offset = int(np.random.default_rng((self.seed, 4, epoch)).integers(len(ids)))
        whole = np.roll(ids, -offset)[: per_row * batch_size].reshape(batch_size, per_row)
        return (whole if rows is None else whole[rows.start:rows.stop]), None

    def _train_ids(self) -> np.ndarray:
        """The training text encoded once: every epoch reads it again, and encoding a few million
        characters each time cost about as much as a few training steps."""
        if getattr(self, "_ids", None) is None:
            self._ids = self._vocab.encode(self.train_text)
            self._ids.flags.writeable = False    # shared by every epoch: nothing may change it
        return self._ids

    def heldout(self) -> tuple[np.ndarray, None]:
        ids = self._vocab.encode(self.val_text)
        n = len(ids) // self.eval_streams
        return ids[: n * self.eval_streams].reshape(self.eval_streams, n), None

    def char_counts(self) -> list[int]:
        """How often each vocabulary character occurs in the training text, in vocabulary order: a
        sample's first character is drawn from these (models/reading/sample.py), because a model trained on
        windows read mid-text never learned what comes first from the zero state."""
        counts = np.bincount(self._train_ids(), minlength=len(self._vocab))
        return counts.tolist()

    def describe(self) -> dict:
        held = ({"path": str(self.val_path), "chars": len(self.val_text), "sha256": corpus.sha256(self.val_text)}
                if self.val_path is not None
                else {"fraction": self.val_fraction, "chars": len(self.val_text)})
        out = {"kind": "text", "path": str(self.path), "chars": len(self.text), "sha256": self.sha256,
               "normalised": "NFC", "val": held, "seed": self.seed, "eval_streams": self.eval_streams,
               "char_counts": self.char_counts()}
        if self.corpus is not None:
            out["corpus"] = self.corpus
        return out


def data_from_record(data: dict) -> GrammarData | TextData:
    """The training data a run's record describes, built again (to resume the run). A text file
    that changed since is refused: the run would go on with other data."""
    if data.get("kind") == "grammar":
        return GrammarData(grammar.GrammarSpec.from_dict(data["spec"]), row_chars=data["row_chars"],
                           eval_chars=data["eval_chars"], eval_streams=data["eval_streams"], seed=data["seed"],
                           soft_targets=data["soft_targets"])
    held = data["val"]
    text = TextData(data["path"], val_path=held.get("path"), val_fraction=held.get("fraction", 0.1),
                    seed=data["seed"], eval_streams=data["eval_streams"])
    if text.sha256 != data["sha256"]:
        raise RnnscopeError(f"{data['path']}: changed since the run started (its text digest differs); "
                            f"the run cannot go on with other text")
    return text
