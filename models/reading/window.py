"""The sequences every front end reads: a window of a held-out stream (in context or from the zero
state), or typed text checked against the vocabulary. One place, below the app, so the page, the
public API and the command line read the same window the same way and refuse the same input."""
from __future__ import annotations

import dataclasses

from rnnscope import grammar
from rnnscope.base.errors import RnnscopeError, UnknownCharacters
from rnnscope.models.network.vocab import Vocab
from rnnscope.models.reading.context import StreamReader
from rnnscope.models.reading.trace import Trace
from rnnscope.models.reading.tracer import trace

MAX_CHARS = 200_000            # longest sequence the page (and an export of it) traces

READINGS = {"in context": "in context (the state carried from the stream's start)",
            "from the zero state": "from the zero state (a fresh start at the window's first character)"}


def read_window(reader: StreamReader, index: int, length: int, in_context: bool = True) -> Trace:
    """Characters ``index .. index + length - 1`` of ``reader``'s stream (fewer where it ends), with the
    stream's own annotations (counted from its start). ``in_context``: with the state the model holds there
    after reading the stream from its start (models/reading/context.py); False: from the zero state."""
    if length < 1:
        raise RnnscopeError(f"window length must be at least 1, got {length}")
    if not 0 <= index < len(reader.stream):
        raise RnnscopeError(f"index {index:,} is outside the held-out stream (0 .. {len(reader.stream) - 1:,})")
    if in_context:
        return reader.trace(index, length)
    text = reader.stream[index:index + length]
    annotations = {k: v[index:index + len(text)] for k, v in reader.annotations.items()}
    return dataclasses.replace(trace(reader.model, text), annotations=annotations)


def window_note(index: int, length: int, asked: int, in_context: bool = True) -> str:
    """How the page names a held-out window: its characters, whether the stream ended early, how it was read."""
    short = (f" (the stream ends there: {length:,} of the {asked:,} characters asked for)" if length < asked else "")
    reading = READINGS["in context" if in_context else "from the zero state"]
    return f"held-out stream, characters {index:,} .. {index + length - 1:,}{short}, read {reading}"


def check_typed(text: str, vocab: list[str]) -> str:
    """Typed or pasted text, checked against the model's vocabulary and the length limit."""
    if not text:
        raise RnnscopeError("the text is empty: type or paste at least one character")
    if len(text) > MAX_CHARS:     # no count: the page's box stops a longer paste at MAX_CHARS + 1
        raise RnnscopeError(f"the text is too long: the page traces at most {MAX_CHARS:,} characters")
    found = Vocab(vocab).unknown(text)
    if found:
        raise UnknownCharacters(found, vocab)
    return text


def grammar_note(text: str, spec: grammar.GrammarSpec | None, start_depth: int = 0) -> str:
    """One line on where (if anywhere) the text leaves the grammar. ``start_depth``: the text
    continues a stream at this depth (and may then start on a separator)."""
    if spec is None:
        return "not a grammar model: no grammar check"
    skip = 1 if start_depth and spec.separator and text.startswith(spec.separator) else 0
    verdict = grammar.validate(text[skip:], spec, start_depth)
    where = f" (continuing a stream at depth {start_depth})" if start_depth else ""
    if verdict.ok:
        return f"in the grammar{where}"
    pos = verdict.position + skip
    return f"not in the grammar{where}: first broken at position {pos}:{verdict.reason.split(':', 1)[1]}"


def start_depth(tr: Trace) -> int:
    """The depth a grammar window starts from: its first character's depth, before that character acted."""
    depth = tr.annotations["depth"]
    return int(depth[0]) - (tr.text[0] == "(") + (tr.text[0] == ")")
