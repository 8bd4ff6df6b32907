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
        indices = sorted(data.values(), key=lambda i: (type(i) is not int, i if type(i) is int else 0))
        if any(type(i) is not int for i in indices) or indices != list(range(len(data))):   # bool is an int
            raise ImportRefused(f"{path}: a vocabulary object maps each character to its index 0..{len(data) - 1}, "
                                f"each once; got indices {indices[:10]}")
        data = sorted(data, key=data.get)
    if not isinstance(data, list) or not data or any(not isinstance(c, str) or len(c) != 1 for c in data) \
            or len(set(data)) != len(data):
        raise ImportRefused(f"{path}: a vocabulary is a JSON list of distinct single characters in index order "
                            f"(or an object character -> index)")
    return data
