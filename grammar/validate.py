"""Is a text in the language? If not, where is it first broken, and why."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import GrammarSpec


@dataclass(frozen=True)
class Verdict:
    ok: bool
    position: int | None = None   # index of the first offending character
    reason: str = ""              # e.g. "position 14: digit 2 at depth 3"

    def __bool__(self) -> bool:
        return self.ok


def validate(text: str, spec: GrammarSpec = GrammarSpec(), start_depth: int = 0) -> Verdict:
    """Check ``text`` as a prefix of a stream that starts with a token at ``start_depth``.

    The stream may stop anywhere (mid-nesting is fine): it is a stream, not sentences. Every
    rule is checked for all characters at once in NumPy (the app checks each typed text, and a
    per-character Python loop took ~1 s for 1M characters); the first broken one is then
    explained in words. Up to that character the depths counted are the stream's own.
    """
    if not text:
        return Verdict(True)
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    sep = spec.separator
    stride = 2 if sep else 1                               # tokens alternate with separators
    token_at = np.arange(0, len(chars), stride)
    tok = chars[token_at]
    opens, closes = tok == ord("("), tok == ord(")")
    depth = start_depth + np.concatenate([[0], np.cumsum(opens.astype(np.int64) - closes)[:-1]])   # before each
    digit = tok - ord("0")
    legal = ((opens & (depth < spec.max_depth)) | (closes & (depth > 0))
             | (spec.digits & (digit >= 0) & (digit <= 9) & (digit == depth) & ((depth != 0) | spec.zero_digit)))
    bad = [int(token_at[k]) for k in np.flatnonzero(~legal)[:1]]
    if sep:
        gaps = chars[1::2] != ord(sep)
        bad += [2 * int(k) + 1 for k in np.flatnonzero(gaps)[:1]]
    if not bad:
        return Verdict(True)
    i = min(bad)
    if i % stride:
        return Verdict(False, i, f"position {i}: expected separator {sep!r} after a token, got {text[i]!r}")
    return Verdict(False, i, f"position {i}: {_token_problem(text[i], int(depth[i // stride]), spec)}")


def _token_problem(ch: str, depth: int, spec: GrammarSpec) -> str:
    if ch == "(":
        return f"'(' at depth {depth} exceeds the maximum depth {spec.max_depth}" if depth >= spec.max_depth else ""
    if ch == ")":
        return "')' at depth 0 closes nothing" if depth == 0 else ""
    if ch.isdigit() and ch.isascii():
        if not spec.digits:
            return f"digit {ch}: this grammar has no digits (brackets only)"
        if int(ch) != depth:
            return f"digit {ch} at depth {depth}"
        if depth == 0 and not spec.zero_digit:
            return "digit 0 is not used at depth 0 in this grammar"
        return ""
    if spec.separator and ch == spec.separator:
        return f"expected a token, got separator {ch!r}"
    return f"unknown character {ch!r}"
