"""Sampling from a model: temperature, top-k, a seed, a batch of samples in lock-step.

An empty prime means the model's own start. A character model trained on windows read mid-stream
never learned what comes *first* from the zero state (its logits there are for a character after an
unseen one), so the first character is drawn from the start distribution saved at training time:
for a text model, the training text's character frequencies (``char_counts`` in the record); for a
grammar model, the grammar's own distribution of a stream's first token. The model then reads that
character from the zero state and predicts the rest. A text checkpoint saved before rnnscope recorded
the frequencies has no start distribution: it is refused, asking for a prime.
"""
from __future__ import annotations

import numpy as np
import torch

from rnnscope import grammar

from rnnscope.models.data.batches import grammar_spec_of
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN

MAX_SAMPLE_CHARS = 100_000
MAX_SAMPLES = 10_000


def start_distribution(model: CharRNN) -> np.ndarray:
    """[V] the distribution of a stream's first character, over the model's vocabulary."""
    record = getattr(model, "training_record", None) or {}
    data = record.get("data") or {}
    counts = data.get("char_counts")
    if data.get("kind") == "text" and isinstance(counts, list) and len(counts) == len(model.config.vocab):
        counts = np.asarray(counts, dtype=np.float64)
        if counts.sum() > 0:
            return counts / counts.sum()
    spec = grammar_spec_of(record, model.config.vocab)
    if spec is not None:
        first = grammar.next_char_distribution("", spec)
        return np.array([first.get(ch, 0.0) for ch in model.config.vocab])
    raise RnnscopeError("this model's checkpoint records no start distribution (the training text's character "
                        "frequencies, saved by rnnscope's trainer since the text runs): give a prime, "
                        "e.g. --prime 'def '")


@torch.no_grad()
def sample(model: CharRNN, n_chars: int, temperature: float = 1.0, seed: int = 0,
           primes: list[str] | None = None, top_k: int | None = None) -> list[str]:
    """One continuation of ``n_chars`` characters per prime (default: one empty prime, the model's
    own start). Each distinct prime is read once and its state shared by the samples that start
    from it; then the whole batch is sampled in lock-step, one model call per character. An empty
    prime's first character is drawn from ``start_distribution`` (with the same temperature and
    top-k) and is part of the continuation. ``top_k``: only the k most likely characters may be
    drawn at each step (k = 1 is greedy decoding)."""
    if not 0 < n_chars <= MAX_SAMPLE_CHARS:
        raise RnnscopeError(f"sample length must be between 1 and {MAX_SAMPLE_CHARS:,}, got {n_chars}")
    if not temperature > 0:
        raise RnnscopeError(f"temperature must be positive, got {temperature}")
    V = len(model.config.vocab)
    if top_k is not None and not 1 <= top_k <= V:
        raise RnnscopeError(f"top-k must be between 1 and the vocabulary size {V}, got {top_k}")
    primes = [""] if primes is None else primes
    if not 1 <= len(primes) <= MAX_SAMPLES:
        raise RnnscopeError(f"the number of samples must be between 1 and {MAX_SAMPLES:,}, got {len(primes)}")
    model.eval()
    device = model.device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    distinct = list(dict.fromkeys(primes))
    read = {p: _read_prime(model, p) for p in distinct}
    which = torch.as_tensor([distinct.index(p) for p in primes])
    logits = torch.stack([read[p][0] for p in distinct])[which]
    state = _select(_stack_states([read[p][1] for p in distinct]), which.to(device))

    out = torch.empty(len(primes), n_chars, dtype=torch.long)
    for t in range(n_chars):
        nxt = _draw(logits.float().cpu(), temperature, top_k, gen)
        out[:, t] = nxt
        step_logits, state = model(nxt[:, None].to(device), state)
        logits = step_logits[:, -1]
    return [model.vocab.decode(row.tolist()) for row in out]


def _read_prime(model: CharRNN, prime: str):
    """(logits for the next character [V], the state after the prime). An empty prime: the log of
    the start distribution and the zero state."""
    cfg = model.config
    if prime == "":
        with np.errstate(divide="ignore"):
            logits = torch.as_tensor(np.log(start_distribution(model)), dtype=torch.float32, device=model.device)
        zeros = torch.zeros(cfg.num_layers, 1, cfg.hidden_size, device=model.device)
        return logits, ((zeros, zeros.clone()) if cfg.cell == "lstm" else zeros)
    ids = torch.as_tensor(model.vocab.encode(prime), device=model.device)[None]
    logits, state = model(ids)
    return logits[0, -1], state


def _draw(logits: torch.Tensor, temperature: float, top_k: int | None, gen: torch.Generator) -> torch.Tensor:
    """[B] one character per row from softmax(logits / T), restricted to the top k."""
    scaled = logits / temperature
    if top_k is not None:
        kth = torch.topk(scaled, top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if top_k == 1:        # greedy: ties at the top would otherwise be drawn among
        return scaled.argmax(dim=-1)
    return torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=gen)[:, 0]


def _stack_states(states):
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, dim=1) for parts in zip(*states))
    return torch.cat(states, dim=1)


def _select(state, rows: torch.Tensor):
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]
