"""How good is a model: held-out loss beside the oracle floor, and whether its samples
are in the language (low loss alone does not prove that: docs/architecture.md, Traps)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rnnscope import grammar

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.sample import sample


@torch.inference_mode()   # no autograd records at all (cheaper than no_grad: about a fifth on the GRU-15)
def heldout_loss(model: CharRNN, ids: np.ndarray, chunk: int = 5_000) -> float:
    """Mean next-character loss (nats/char) over rows of ``ids`` [R, N], each read from the zero state."""
    if ids.shape[1] < 2:
        raise RnnscopeError("the loss needs at least 2 characters: one to read, one to predict")
    model.eval()
    x = torch.as_tensor(ids, device=model.device)
    state, total, count = None, 0.0, 0
    for start in range(0, x.shape[1] - 1, chunk):
        inp = x[:, start:start + chunk]
        tgt = x[:, start + 1:start + chunk + 1]
        logits, state = model(inp[:, : tgt.shape[1]], state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="sum").item()
        count += tgt.numel()
    return total / count


def unigram_entropy(ids: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats/char) of the character frequencies in ``ids``: the loss of the best model
    that ignores context. A model scoring worse than this has learned nothing from context."""
    return entropy_of_counts(np.bincount(np.asarray(ids).ravel(), minlength=vocab_size))


def entropy_of_counts(counts: np.ndarray) -> float:
    """Entropy (nats) of the distribution the counts give (how unigram_entropy ends; training on
    several processes sums the counts of their shares first)."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def grammatical_share(model: CharRNN, spec: grammar.GrammarSpec = grammar.GrammarSpec(), n: int = 100,
                      tokens: int = 500, temperature: float = 1.0, seed: int = 0,
                      warmup_chars: int = 0) -> tuple[int, list[str]]:
    """How many of ``n`` samples of ``tokens`` tokens are in the language, and the first
    failure reasons. With ``warmup_chars`` = 0 each sample starts from the model's initial
    state primed with its first token ``(``; otherwise after reading a grammatical warm-up
    stream, and the warm-up plus sample is what gets validated."""
    n_chars = tokens * spec.chars_per_token
    if warmup_chars:
        primes = [grammar.generate(warmup_chars, seed=(seed, 3, i), spec=spec) for i in range(n)]
    else:
        primes = ["("] * n
    texts = sample(model, n_chars - (0 if warmup_chars else 1), temperature=temperature, seed=seed, primes=primes)
    good, reasons = 0, []
    for prime, text in zip(primes, texts):
        verdict = grammar.validate(prime + text, spec)
        good += verdict.ok
        if not verdict.ok and len(reasons) < 5:
            reasons.append(verdict.reason)
    return good, reasons
