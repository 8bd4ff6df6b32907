"""Sampling from a model: temperature, seed, a batch of samples at once."""
from __future__ import annotations

import torch

from .errors import RnnscopeError
from .model import CharRNN

MAX_SAMPLE_CHARS = 100_000
MAX_SAMPLES = 10_000


@torch.no_grad()
def sample(model: CharRNN, n_chars: int, temperature: float = 1.0, seed: int = 0,
           primes: list[str] | None = None) -> list[str]:
    """One continuation of ``n_chars`` characters per prime (all primes the same length
    or not: each is read on its own first). A prime must be non-empty: the model predicts
    the character after one it has read."""
    if not 0 < n_chars <= MAX_SAMPLE_CHARS:
        raise RnnscopeError(f"sample length must be between 1 and {MAX_SAMPLE_CHARS:,}, got {n_chars}")
    if not temperature > 0:
        raise RnnscopeError(f"temperature must be positive, got {temperature}")
    primes = ["("] if primes is None else primes
    if not 1 <= len(primes) <= MAX_SAMPLES:
        raise RnnscopeError(f"the number of samples must be between 1 and {MAX_SAMPLES:,}, got {len(primes)}")
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    # Read each prime on its own (lengths differ), then sample the whole batch in lock-step.
    states, last = [], []
    for prime in primes:
        ids = torch.as_tensor(model.vocab.encode(prime), device=model.device)[None]
        logits, state = model(ids)
        states.append(state)
        last.append(logits[0, -1])
    state = _stack_states(states)
    logits = torch.stack(last)
    out = torch.empty(len(primes), n_chars, dtype=torch.long)
    for t in range(n_chars):
        probs = torch.softmax(logits.float() / temperature, dim=-1).cpu()
        nxt = torch.multinomial(probs, 1, generator=gen)
        out[:, t] = nxt[:, 0]
        logits, state = model(nxt.to(model.device), state)
        logits = logits[:, -1]
    return [model.vocab.decode(row.tolist()) for row in out]


def _stack_states(states):
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, dim=1) for parts in zip(*states))
    return torch.cat(states, dim=1)
