"""A held-out text the user names: any UTF-8 file, or a character range of it, as the stream a model is
looked at on (``--heldout FILE`` with ``--heldout-range START:END``; ``rnnscope.load(..., heldout=...)``;
recorded by ``rnnscope import ... --heldout FILE`` as the checkpoint's ``training.heldout``).

The file is read as training reads text: UTF-8, NFC-normalised, so positions count characters of the
normalised text. Every character of the range must be in the model's vocabulary: one that is not is
refused with its position (line and column too), never dropped, since a stream with characters cut out
is not the text the user gave. A model of text gets the file's characters before the range as the
context its annotations (strings, comments, brackets) are counted from; a grammar model's file must be
in its grammar from the file's start, and its depth is counted from there.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from rnnscope import grammar
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data import corpus
from rnnscope.models.data.batches import read_text
from rnnscope.models.network.vocab import Vocab

SHOWN = 5       # unknown characters named one by one in a refusal; the rest are counted


@dataclass(frozen=True)
class HeldoutText:
    """A file and the characters of it that are the stream: ``start`` .. ``end`` (end exclusive; None: to
    the end of the file)."""
    path: Path
    start: int = 0
    end: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path).expanduser().resolve())
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            raise RnnscopeError(f"the held-out range must be 0 <= START < END, got {self.describe_range()}")

    @classmethod
    def of(cls, path: str | Path, chars: str | tuple | None = None) -> HeldoutText:
        """The held-out text ``path`` names, with ``chars`` a range "START:END" (either side may be left
        empty: "1000:", ":50000") or a (start, end) pair; None: the whole file."""
        if chars is None:
            return cls(Path(path))
        if isinstance(chars, str):
            start, sep, end = chars.partition(":")
            try:
                if not sep:
                    raise ValueError
                bounds = (int(start) if start.strip() else 0, int(end) if end.strip() else None)
            except ValueError:
                raise RnnscopeError(f"a held-out range is START:END in characters (e.g. 0:50000, or 1000: "
                                    f"for the rest of the file), got {chars!r}") from None
            return cls(Path(path), *bounds)
        start, end = chars
        return cls(Path(path), 0 if start is None else int(start), None if end is None else int(end))

    def describe_range(self) -> str:
        return f"{self.start}:{'' if self.end is None else self.end}"

    def describe(self) -> str:
        whole = self.start == 0 and self.end is None
        return str(self.path) if whole else f"{self.path} characters {self.describe_range()}"

    def record(self, sha256: str) -> dict:
        """What a checkpoint keeps (``training.heldout``): the file, the range, the digest of its text."""
        return {"path": str(self.path), "start": self.start, "end": self.end, "sha256": sha256}

    @classmethod
    def from_record(cls, record: dict) -> HeldoutText:
        return cls(Path(str(record["path"])), int(record.get("start") or 0),
                   None if record.get("end") is None else int(record["end"]))


def read_heldout(given: HeldoutText, vocab: list[str], spec: grammar.GrammarSpec | None,
                 sha256: str | None = None):
    """The HeldOut stream ``given`` names for a model of ``vocab`` (and grammar ``spec``), checked: the file
    exists and is UTF-8, the range lies inside it, every character of the range is in the vocabulary, a
    grammar model's text is in its grammar. ``sha256``: the digest recorded with it (refused if the text
    changed since). Cached per file, modification time, range and model alphabet."""
    try:
        mtime = given.path.stat().st_mtime
    except FileNotFoundError:
        raise RnnscopeError(f"{given.path}: no such file (the held-out text)") from None
    spec_items = tuple(sorted(spec.to_dict().items())) if spec is not None else None
    return _read(given, mtime, tuple(vocab), spec_items, sha256)


@functools.lru_cache(maxsize=4)
def _read(given: HeldoutText, mtime: float, vocab: tuple, spec_items: tuple | None, sha256: str | None):
    from rnnscope.models.data.heldout import HeldOut
    text = read_text(given.path)
    if sha256 and corpus.sha256(text) != sha256:
        raise RnnscopeError(f"{given.path}: changed since it was recorded as this model's held-out text "
                            "(its digest differs); give it again with --heldout")
    end = len(text) if given.end is None else given.end
    if end > len(text) or given.start >= len(text):
        raise RnnscopeError(f"the held-out range {given.describe_range()} is outside {given.path}, which has "
                            f"{len(text):,} characters (after NFC normalisation); nothing is cut to fit")
    stream = text[given.start:end]
    check_readable(stream, list(vocab), given.path, text, given.start)
    origin = f"the held-out text {given.describe()}"
    if spec_items is None:
        return HeldOut(stream, None, {}, text[:given.start], origin=origin)
    return _grammar_stream(text[:end], given, grammar.GrammarSpec(**dict(spec_items)), origin)


def check_readable(stream: str, vocab: list[str], path: Path, text: str, offset: int) -> None:
    """Refuse ``stream`` (``text[offset:]`` of the file ``path``) if any character is outside ``vocab``:
    the first few by position in the file, with line and column, and how many there are in all."""
    found = Vocab(vocab).unknown(stream)
    if not found:
        return
    shown = ", ".join(f"{ch!r} at {offset + pos:,} ({_line_column(text, offset + pos)})" for pos, ch in found[:SHOWN])
    kinds = sorted({ch for _, ch in found})
    more = f", and {len(found) - SHOWN:,} more" if len(found) > SHOWN else ""
    raise RnnscopeError(f"{path}: {len(found):,} character(s) of the held-out text are not in the model's "
                        f"vocabulary ({len(kinds)} distinct: {''.join(kinds[:20])!r}): {shown}{more}; "
                        "none is dropped: give a text (or --heldout-range) the model can read")


def _line_column(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _grammar_stream(text: str, given: HeldoutText, spec: grammar.GrammarSpec, origin: str):
    """A grammar model's held-out file: in the grammar from the file's start (so its depth is known at
    every character), annotated by the oracle, then cut to the range."""
    from rnnscope.models.data.heldout import HeldOut
    verdict = grammar.validate(text, spec)
    if not verdict.ok:
        raise RnnscopeError(f"{given.path}: not in the model's grammar, so its depth is unknown from there on: "
                            f"{verdict.reason}")
    whole = grammar.annotate(text, spec)
    annotations = {k: v[given.start:] for k, v in whole.items()}
    start_depth = int(whole["depth"][given.start - 1]) if given.start else 0    # after the range's previous character
    return HeldOut(text[given.start:], spec, annotations, origin=origin, start_depth=start_depth)


def heldout_record(given: HeldoutText, vocab: list[str], spec: grammar.GrammarSpec | None) -> dict:
    """``given`` read and checked for a model of ``vocab`` (as :func:`read_heldout`), as the checkpoint keeps
    it (``training.heldout``: path, start, end, and the digest of the file's NFC text)."""
    read_heldout(given, vocab, spec)
    return given.record(corpus.sha256(read_text(given.path)))
