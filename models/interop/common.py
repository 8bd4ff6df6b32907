"""What every importer shares: the refusal error, and the vocabulary file read the same way whatever
framework the weights come from."""
from __future__ import annotations

import json
from pathlib import Path

from rnnscope.base.errors import RnnscopeError


class ImportRefused(RnnscopeError):
    """A source model rnnscope cannot represent exactly, or files that do not describe one."""


def read_json(path: str | Path, what: str):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportRefused(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ImportRefused(f"{path}: not valid JSON for {what} ({e})") from None


def read_vocab(path: str | Path) -> list[str]:
    """A JSON list of characters in index order, or an object character -> index covering 0..V-1 once."""
    data = read_json(path, "a vocabulary")
    if isinstance(data, dict):
        why = _bad_index(data)
        if why:
            raise ImportRefused(f"{path}: a vocabulary object maps each character to its index 0..{len(data) - 1}, "
                                f"each once; {why}")
        data = sorted(data, key=data.get)
    what = f"{path}: a vocabulary is a JSON list of distinct single characters in index order (or an object " \
           "character -> index)"
    if not isinstance(data, list) or not data:
        raise ImportRefused(f"{what}; got {'an empty list' if data == [] else type(data).__name__}")
    bad = next(((i, c) for i, c in enumerate(data) if not isinstance(c, str) or len(c) != 1), None)
    if bad is not None:
        raise ImportRefused(f"{what}; entry {bad[0]} is {json.dumps(bad[1], ensure_ascii=False)}, not one character")
    seen: dict[str, int] = {}
    for i, c in enumerate(data):
        if c in seen:
            raise ImportRefused(f"{what}; {c!r} is both entry {seen[c]} and entry {i}")
        seen[c] = i
    return data


def _bad_index(data: dict) -> str:
    """Why a vocabulary object is not a map character -> 0..V-1 each once, naming the entry ('' if it is)."""
    owner: dict[int, str] = {}
    for c, i in data.items():
        if type(i) is not int or not 0 <= i < len(data):      # type(): a bool is an int, and not an index
            return f"{c!r} maps to {json.dumps(i)}"
        if i in owner:
            return f"{owner[i]!r} and {c!r} both map to {i}"
        owner[i] = c
    return ""
