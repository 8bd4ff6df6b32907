"""Where and how a model runs: the device (``auto`` | ``cpu`` | ``cuda[:N]``) and torch's CPU
threads. One place, so every command that runs a model takes the same ``--device`` and
``--threads`` and means the same by them."""
from __future__ import annotations

import contextlib

import torch

from rnnscope.base.errors import RnnscopeError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise RnnscopeError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RnnscopeError("device cuda asked for, but this torch build sees no CUDA GPU")
    return device


def set_threads(threads: int | None) -> None:
    """``None`` leaves torch's own choice."""
    if threads is not None:
        if threads < 1:
            raise RnnscopeError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)


@contextlib.contextmanager
def torch_threads(threads: int = 1):
    """torch's CPU threads set to ``threads`` inside the block, restored after: many small model calls
    (a 15-unit GRU on a batch of words) run ~25x faster on one thread than on two that thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
