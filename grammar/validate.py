"""Is a text in the language? If not, where is it first broken, and why."""
from __future__ import annotations

from dataclasses import dataclass

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

    The stream may stop anywhere (mid-nesting is fine): it is a stream, not sentences.
    """
    sep = spec.separator
    depth = start_depth
    want_token = True
    for i, ch in enumerate(text):
        if sep and not want_token:
            if ch != sep:
                return Verdict(False, i, f"position {i}: expected separator {sep!r} after a token, got {ch!r}")
            want_token = True
            continue
        problem = _token_problem(ch, depth, spec)
        if problem:
            return Verdict(False, i, f"position {i}: {problem}")
        depth += 1 if ch == "(" else -1 if ch == ")" else 0
        want_token = not sep
    return Verdict(True)


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
