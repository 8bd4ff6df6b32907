"""Results kept on disk between server runs: what a tab computed once for a model is read back the next
time the page is served, instead of computed again (the 128-cell text LSTM's probes take tens of seconds
on two cores; read back, a few milliseconds).

A result is plain JSON (never a pickle), written atomically, in the user's cache folder beside the state
stores: ``$XDG_CACHE_HOME/rnnscope/results`` (default ``~/.cache``). Its name is a hash of everything the
result depends on -- the model's weights and config, the held-out text, the settings and the version of
the method (bump ``version`` when a method's numbers change) -- so a changed model or method never
reads a stale one. A file that cannot be read is computed again and replaced, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from rnnscope.base.atomic import write_text_atomic
from rnnscope.base.errors import RnnscopeError


def results_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnscope" / "results"


def result_path(kind: str, *key) -> Path:
    digest = hashlib.sha256(json.dumps([kind, *key], sort_keys=True).encode()).hexdigest()[:24]
    return results_folder() / f"{kind}-{digest}.json"


def stored(kind: str, key: tuple, compute: Callable[[], object]):
    """``compute()``'s JSON-ready result, read from disk when this ``kind`` and ``key`` were computed before."""
    path = result_path(kind, *key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))["result"]
    except (OSError, ValueError, KeyError, TypeError):
        pass          # not there yet, or unreadable: computed again
    # Through JSON on the first time too: the same types (lists, not tuples) whether computed or read back.
    text = json.dumps({"kind": kind, "key": list(key), "result": compute()})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except (OSError, RnnscopeError):
        pass          # a read-only cache folder: the result is still good, only not kept
    return json.loads(text)["result"]
