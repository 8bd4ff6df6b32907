"""Reading a window of a long stream in context: with the state the model holds at that
point of the stream, not from a fresh (zero) state.

A window at index 5,000 read from the zero state shows what the model does when it wakes up
mid-stream, not what it holds there, while the stream's annotations give the true depth; so
pictures and statistics of held-out windows carry the state from the stream's start.
Reading the whole prefix for every window would cost O(index), so a StreamReader records
the state every ``stride`` characters as it first walks past them (hidden states only, each
stretch read once per reader) and reads a window from the last recorded state before it, at
most ``stride - 1`` characters early, cutting those off. The result equals slicing one trace
of the whole stream (tests hold it to float tolerance).
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.trace import State, Trace
from rnnscope.models.reading.tracer import run_hidden, trace, zero_state

STRIDE = 1_000


class StreamReader:
    """Windows of one stream, read in context by one model."""

    def __init__(self, model: CharRNN, stream: str, annotations: dict[str, np.ndarray] | None = None,
                 stride: int = STRIDE):
        """``annotations``: the whole stream's, counted from its start (models/data/heldout.py);
        each window gets its slice (a span annotated on its own would start at depth 0)."""
        if stride < 1:
            raise RnnscopeError(f"stride must be at least 1, got {stride}")
        self.model, self.stream, self.stride = model, stream, stride
        self.annotations = annotations or {}
        self._states: list[State] = [zero_state(model)]   # [k]: after reading stream[:k * stride]
        self._lock = threading.Lock()                      # one reader may serve several sessions

    def state_before(self, index: int) -> tuple[int, State]:
        """The last recorded position at or before ``index``, and the model's state there."""
        k = index // self.stride
        with self._lock:
            while len(self._states) <= k:
                start = (len(self._states) - 1) * self.stride
                self._states.append(run_hidden(self.model, self.stream[start:start + self.stride],
                                               self._states[-1]))
            return k * self.stride, self._states[k]

    def trace(self, index: int, length: int) -> Trace:
        """The trace of ``stream[index:index + length]`` (fewer at the end) as the model
        reads it along the stream."""
        if not 0 <= index < len(self.stream) or length < 1:
            raise RnnscopeError(f"a window of {length:,} at index {index:,} is outside the stream "
                                f"(0 .. {len(self.stream) - 1:,})")
        start, state = self.state_before(index)
        stop = min(index + length, len(self.stream))
        window = trace(self.model, self.stream[start:stop], None, state).slice(index - start, stop - start)
        return dataclasses.replace(window, annotations={k: v[index:stop] for k, v in self.annotations.items()})
