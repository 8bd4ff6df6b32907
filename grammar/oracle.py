"""Ground truth for the language: depth and token kind at every character, the exact
next-character distribution after any prefix, and the entropy floor of the stream."""
from __future__ import annotations

import numpy as np

from .spec import CLOSE, DIGIT, OPEN, SEPARATOR, GrammarError, GrammarSpec
from .validate import validate


def annotate(text: str, spec: GrammarSpec = GrammarSpec(), start_depth: int = 0) -> dict[str, np.ndarray]:
    """Per-character annotations.

    depth[t]: nesting depth *after* reading character t, so a digit's depth equals the digit
    and ``(`` already counts as one level deeper. Counted from the brackets alone, so it is
    defined for ungrammatical text too (it may then leave 0..max_depth).
    kind[t]: OPEN, CLOSE, DIGIT, SEPARATOR, or -1 for any other character.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) if text else np.zeros(0, np.uint32)
    is_open, is_close = codes == ord("("), codes == ord(")")
    depth = start_depth + np.cumsum(is_open.astype(np.int64) - is_close)
    kind = np.full(len(codes), -1, dtype=np.int64)
    kind[is_open], kind[is_close] = OPEN, CLOSE
    kind[(codes >= ord("0")) & (codes <= ord("9"))] = DIGIT
    if spec.separator:
        kind[codes == ord(spec.separator)] = SEPARATOR
    return {"depth": depth, "kind": kind}


def _depth_distributions(spec: GrammarSpec) -> np.ndarray:
    """[max_depth + 1, V]: the next-token distribution at each depth, over spec.alphabet."""
    index = {ch: i for i, ch in enumerate(spec.alphabet)}
    dist = np.zeros((spec.max_depth + 1, len(index)))
    for d, options in enumerate(spec.token_table()):
        for tok, _, p in options:
            dist[d, index[tok]] = p
    return dist


def next_char_probs(text: str, spec: GrammarSpec = GrammarSpec(), start_depth: int = 0,
                    trusted: bool = False, dtype=np.float64) -> np.ndarray:
    """[T, V] over ``spec.alphabet``: row t is the exact distribution of character t+1 given
    text[:t+1]. Rows from the first ungrammatical character on are NaN (no truth exists).
    ``trusted``: the text came from ``generate`` with this spec, so skip the validation pass
    (a per-character Python loop, the slow part when labelling training data). ``dtype``: of the
    result, float32 for training targets (the float64 rows rounded, made without a float64 copy)."""
    ann = annotate(text, spec, start_depth)
    # Every row is one of a few: the next-token distribution at a depth, or (after a token, when
    # tokens are separated) certainly the separator. Pick the row's index, then gather once.
    rows = _depth_distributions(spec)
    index = np.clip(ann["depth"], 0, spec.max_depth)
    if spec.separator:
        separator_next = np.zeros((1, rows.shape[1]))
        separator_next[0, spec.alphabet.index(spec.separator)] = 1.0
        rows = np.vstack([rows, separator_next])
        index = np.where(ann["kind"] != SEPARATOR, len(rows) - 1, index)
    out = rows.astype(dtype)[index]
    if not trusted:
        verdict = validate(text, spec, start_depth)
        if not verdict.ok:
            out[verdict.position:] = np.nan
    return out


def next_char_distribution(prefix: str, spec: GrammarSpec = GrammarSpec()) -> dict[str, float]:
    """The exact distribution of the character after ``prefix`` (which must be in the language)."""
    verdict = validate(prefix, spec)
    if not verdict.ok:
        raise GrammarError(f"prefix is not in the language: {verdict.reason}")
    row = next_char_probs(prefix, spec)[-1] if prefix else _depth_distributions(spec)[0]
    return {ch: float(p) for ch, p in zip(spec.alphabet, row) if p > 0}


def stationary_depths(spec: GrammarSpec = GrammarSpec()) -> np.ndarray:
    """Long-run share of tokens emitted at each depth."""
    P = spec.transition_matrix()
    n = len(P)
    # Solve pi (P - I) = 0 with sum(pi) = 1.
    A = np.vstack([(P - np.eye(n)).T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    return np.linalg.lstsq(A, b, rcond=None)[0]


def entropy_floor(spec: GrammarSpec = GrammarSpec()) -> float:
    """Analytic entropy rate in nats per character (separators are certain, so free).
    Defaults: (4/13) ln 2 + (9/13) ln 3 per token = 0.4869 per character."""
    per_depth = [-sum(p * np.log(p) for _, _, p in options) for options in spec.token_table()]
    return float(stationary_depths(spec) @ per_depth) / spec.chars_per_token


def empirical_floor(text: str, spec: GrammarSpec = GrammarSpec()) -> float:
    """Mean oracle surprisal (nats/char) of characters 1..T-1 of ``text``: the loss a perfect
    model would score on exactly this text, the fair floor for a model evaluated on it."""
    if len(text) < 2:
        raise GrammarError("the floor needs at least 2 characters: one to read, one to predict")
    probs = next_char_probs(text, spec)
    position = {ch: i for i, ch in enumerate(spec.alphabet)}   # (spec.alphabet is rebuilt on every read)
    idx = np.array([position.get(ch, -1) for ch in text[1:]], dtype=np.int64)
    p = probs[np.arange(len(idx)), np.maximum(idx, 0)]
    if (idx < 0).any() or np.isnan(p).any():     # a character outside the alphabet, or out of the rules
        raise GrammarError("text is not in the language; it has no oracle floor")
    return float(-np.log(p).mean())
