"""The nested-parenthesis language, as a set of parameters.

At depth d the stream chooses among the allowed tokens -- ``(`` if d < max_depth,
``)`` if d > 0, and the digit ``d`` -- with probability proportional to their weights
(uniform by default), and every token is followed by the separator. The published
generator (seed 001) also emits ``0`` at depth 0; the blog's prose lists only 1-4, so
the depth-0 digit is a switch. ``digits=False`` leaves the digits out altogether (brackets
only: depth 0 allows only ``(``, the maximum depth only ``)``): the language of counting
experiments (Weiss et al. 2018), where nothing in the input names the depth.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

OPEN, CLOSE, DIGIT, SEPARATOR = 0, 1, 2, 3


class GrammarError(ValueError):
    """A grammar parameter or a text that the grammar cannot take, with the reason."""

KIND_NAMES = ("open", "close", "digit", "separator")
MAX_BRACKETS_DEPTH = 99


@dataclass(frozen=True)
class GrammarSpec:
    max_depth: int = 4
    zero_digit: bool = True      # emit "0" at depth 0, as the published generator does (with digits only)
    separator: str = " "         # "" for a stream with no separators
    open_weight: float = 1.0
    close_weight: float = 1.0
    digit_weight: float = 1.0
    digits: bool = True          # False: brackets only; then zero_digit and digit_weight play no part

    def __post_init__(self):
        if not isinstance(self.digits, bool):     # from JSON, "false" (a string) would read as true
            raise GrammarError(f"digits must be true or false, got {self.digits!r}")
        if self.digits and not 1 <= self.max_depth <= 9:
            raise GrammarError(f"max_depth must be between 1 and 9 (digits name the depth), got {self.max_depth}")
        # Without digits nothing caps the depth but the generator's cost, O(chars x (max_depth + 1)).
        if not self.digits and not 1 <= self.max_depth <= MAX_BRACKETS_DEPTH:
            raise GrammarError(f"max_depth must be between 1 and {MAX_BRACKETS_DEPTH} in the brackets-only grammar, "
                               f"got {self.max_depth}")
        if len(self.separator) > 1 or (self.separator and (self.separator in "()0123456789"
                                                           or not self.separator.isascii())):
            raise GrammarError(f"separator must be one ASCII character other than a parenthesis or digit, "
                               f"or empty; got {self.separator!r}")
        if not all(0 < w < float("inf") for w in (self.open_weight, self.close_weight, self.digit_weight)):
            raise GrammarError("token weights must be positive and finite")
        if not isinstance(self.digits, bool):     # from JSON, "false" (a string) would read as true
            raise GrammarError(f"digits must be true or false, got {self.digits!r}")

    @property
    def alphabet(self) -> list[str]:
        """Every character the stream can contain, in code-point order."""
        chars = ["(", ")", *(str(d) for d in range(self.max_depth + 1) if self.has_digit(d))]
        return sorted(chars + ([self.separator] if self.separator else []))

    def has_digit(self, depth: int) -> bool:
        """Whether the digit naming ``depth`` is a token of this grammar."""
        return self.digits and (depth > 0 or self.zero_digit)

    @property
    def chars_per_token(self) -> int:
        return 2 if self.separator else 1

    def token_table(self) -> list[list[tuple[str, int, float]]]:
        """For each depth, the allowed (token, depth change, probability) triples."""
        table = []
        for d in range(self.max_depth + 1):
            options = []
            if d < self.max_depth:
                options.append(("(", +1, self.open_weight))
            if d > 0:
                options.append((")", -1, self.close_weight))
            if self.has_digit(d):
                options.append((str(d), 0, self.digit_weight))
            total = sum(w for _, _, w in options)
            table.append([(tok, step, w / total) for tok, step, w in options])
        return table

    def transition_matrix(self) -> np.ndarray:
        """P[d, d'] for the depth Markov chain, one step per token."""
        n = self.max_depth + 1
        P = np.zeros((n, n))
        for d, options in enumerate(self.token_table()):
            for _, step, p in options:
                P[d, d + step] += p
        return P

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GrammarSpec:
        """A spec saved before ``digits`` existed has digits: the missing key keeps its old meaning."""
        return cls(**data)
