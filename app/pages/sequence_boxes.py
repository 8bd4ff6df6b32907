"""The sidebar's number boxes for the sequence: what each accepts, and the window a model opens on.

A grammar model opens on a 100-character window: its nesting shows in a few dozen tokens. A model of text
opens on 2,000: what its cells are read for -- a string left open, an indented block, the position in a line
-- spans lines, and the coloured text beside the heatmap needs several of them to show it.
"""
from __future__ import annotations

from rnnscope.app.pages import sequences

GRAMMAR_WINDOW = 100
TEXT_WINDOW = 2_000

# What each number box accepts (the held-out index: 0 .. the stream's last character).
# Not parameter bounds: a bounded parameter raises on a bad value, and the widget made from
# it hands the bounds to the browser, which then ignores an entry outside them without a word
# while the box goes on showing it. Checked in ``number_refusal`` instead, so a bad number is
# refused with its range and the box snaps back to the value in effect.
LIMITS = {"window": (1, sequences.MAX_CHARS), "sample_chars": (1, sequences.MAX_SAMPLE_CHARS),
          "temperature": (0.05, 5.0), "seed": (0, 2**32 - 1)}
NUMBER_NAMES = {"index": ("held-out index", ""), "window": ("window", " characters"),
                "sample_chars": ("sample length", " characters"), "temperature": ("temperature", ""),
                "seed": ("sample seed", "")}


def opening_window(text_model: bool) -> int:
    """The window a model opens on: TEXT_WINDOW for a model of text, GRAMMAR_WINDOW otherwise."""
    return TEXT_WINDOW if text_model else GRAMMAR_WINDOW


def number_refusal(name: str, value: float | None, stream_length: int) -> str:
    """Why the number box ``name`` holding ``value`` cannot take it ('' when it can); the index's range
    is the held-out stream's (``stream_length`` characters)."""
    (what, unit) = NUMBER_NAMES[name]
    low, high = (0, stream_length - 1) if name == "index" else LIMITS[name]
    if value is not None and low <= value <= high:
        return ""
    got = "the box is empty" if value is None else f"got {_number(value)}"
    return f"{what} must be {_number(low)} .. {_number(high)}{unit}; {got}"


def _number(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,g}"
