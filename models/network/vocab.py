"""Characters <-> indices, with unknown characters reported by position."""
from __future__ import annotations

import numpy as np

from rnnscope.base.errors import RnnscopeError, UnknownCharacters


class Vocab:
    def __init__(self, chars: list[str]):
        if not chars:
            raise RnnscopeError("a vocabulary is a list of distinct single characters, got an empty one")
        first: dict = {}
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise RnnscopeError(f"a vocabulary is a list of distinct single characters; entry {i} is {c!r}")
            if c in first:
                raise RnnscopeError(f"a vocabulary is a list of distinct single characters; {c!r} is both entry "
                                    f"{first[c]} and entry {i}")
            first[c] = i
        self.chars = list(chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        # Fast path for text whose characters all have small code points.
        self._table = np.full(max(map(ord, self.chars)) + 1, -1, dtype=np.int64)
        for i, c in enumerate(self.chars):
            self._table[ord(c)] = i

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def unknown(self, text: str) -> list[tuple[int, str]]:
        """(position, character) for every character the model cannot read (the page checks every
        typed text, so this is one table lookup over the text, not a Python loop)."""
        return [(int(i), text[i]) for i in np.flatnonzero(self._ids(text) < 0)]

    def encode(self, text: str) -> np.ndarray:
        if not text:
            raise RnnscopeError("the sequence is empty")
        ids = self._ids(text)
        if (ids < 0).any():
            raise UnknownCharacters(self.unknown(text), self.chars)
        return ids

    def _ids(self, text: str) -> np.ndarray:
        """Each character's index, -1 where the vocabulary has none."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        return np.where(codes < len(self._table), self._table[np.minimum(codes, len(self._table) - 1)], -1)

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)
