"""Generate a stream of the language in linear time.

The published generator grew a Python string one token at a time (97 s for 2M chars).
Here the uniforms are drawn at once and the depth walk over them is one compiled loop
(grammar/walk.py): a few comparisons a token.
"""
from __future__ import annotations

import numpy as np

from .spec import GrammarError, GrammarSpec


def generate(n_chars: int, seed: int | tuple[int, ...] = 0, spec: GrammarSpec = GrammarSpec(),
             start_depth: int = 0) -> str:
    """A stream of exactly ``n_chars`` characters starting at ``start_depth``; same seed, same stream."""
    if n_chars < 0:
        raise GrammarError(f"length must be non-negative, got {n_chars}")
    if not 0 <= start_depth <= spec.max_depth:
        raise GrammarError(f"start_depth must be in 0..{spec.max_depth}, got {start_depth}")
    n_tokens = -(-n_chars // spec.chars_per_token)
    codes = _token_codes(n_tokens, np.random.default_rng(seed), spec, start_depth)
    if spec.separator:
        out = np.full(2 * n_tokens, ord(spec.separator), dtype=np.uint8)
        out[0::2] = codes
    else:
        out = codes
    return out[:n_chars].tobytes().decode("ascii")


def _token_codes(n_tokens: int, rng: np.random.Generator, spec: GrammarSpec, start_depth: int) -> np.ndarray:
    table = spec.token_table()
    n_depths = spec.max_depth + 1
    width = max(len(options) for options in table)
    # Per depth: cumulative thresholds, token code and depth change of each option (padded).
    cum = np.full((n_depths, width), 2.0)
    code = np.zeros((n_depths, width), dtype=np.uint8)
    step = np.zeros((n_depths, width), dtype=np.int8)
    for d, options in enumerate(table):
        cum[d, : len(options)] = np.cumsum([p for _, _, p in options])
        cum[d, len(options) - 1] = 2.0  # guard against rounding: the last option takes the rest
        code[d, : len(options)] = [ord(tok) for tok, _, _ in options]
        step[d, : len(options)] = [s for _, s, _ in options]

    # The uniforms drawn are those of the earlier vectorised walk (blocks of sqrt(n) tokens, each
    # simulated from every depth), so a seed's stream is the same one as before, to the character.
    block = max(64, int(np.sqrt(n_tokens)))
    u = rng.random(-(-n_tokens // block) * block)
    out = np.empty(n_tokens, dtype=np.uint8)
    from .walk import walk     # numba: imported on first use
    walk(u, cum, code, step, start_depth, out)
    return out
