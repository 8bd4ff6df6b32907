"""Depth generalisation (Weiss, Goldberg & Yahav 2018: an LSTM can count, a GRU
with finite precision cannot). A model trained on the brackets-only grammar up to depth m reads a
stream of the same language that goes deeper (to depth n > m), in context from its start, and at
every step where the next token is chosen we ask one yes/no question of it: is `)` legal here?
The model says yes when its p(`)`) is above a threshold; the truth is yes exactly when depth > 0.
Nothing in the brackets-only input names the depth, so only a model that counts can answer at
depths it never saw, and after coming back down from them.

Plain functions over arrays (``per_depth``) and one function that runs a model (``generalise``):
what `rnnscope generalise` writes, what its report (generalise_report.py) draws, what a notebook calls.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from rnnscope import grammar
from rnnscope.models.data.batches import grammar_spec_of
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.tracer import hidden_states

DEFAULT_TEST_DEPTH = 8
DEFAULT_CHARS = 200_000
TEST_SEED = 8_2018       # one fixed stream, so every model with the same grammar reads the same characters
SCHEMA_VERSION = 1
THRESHOLD_RULE = ("half the smallest probability the training grammar gives ')' where it is legal "
                  "(0.25 for the uniform brackets-only grammar: ')' is 1/2 at every inner depth, 0 at depth 0)")


def trained_grammar(model: CharRNN, name: str = "the model") -> grammar.GrammarSpec:
    """The brackets-only grammar ``model`` was trained on, from its training record; refused
    (one line, naming ``name``) for a text model, an unrecorded grammar, or one with digits."""
    spec = grammar_spec_of(getattr(model, "training_record", {}) or {}, list(model.config.vocab))
    if spec is None:
        raise RnnscopeError(f"{name}: not trained on the grammar (no grammar in its training record); "
                            "generalise needs a model of the brackets-only grammar (rnnscope train --no-digits)")
    if spec.digits:
        raise RnnscopeError(f"{name}: trained on the grammar with digits, where the input names the depth; "
                            "generalise tests counting on the brackets-only grammar: train with --no-digits")
    return spec


def deeper_grammar(train: grammar.GrammarSpec, test_depth: int) -> grammar.GrammarSpec:
    """The training grammar, allowed to go ``test_depth`` deep: same separator and weights."""
    if test_depth < train.max_depth:
        raise RnnscopeError(f"--test-depth {test_depth} is below the training depth {train.max_depth}; "
                            f"the test must reach at least as deep as training did")
    return dataclasses.replace(train, max_depth=test_depth)


def default_threshold(train: grammar.GrammarSpec) -> float:
    """See THRESHOLD_RULE: halfway, in probability, between `)` illegal (0) and its least likely legal value."""
    close = [p for options in train.token_table() for tok, _, p in options if tok == ")"]
    return min(close) / 2


def check_threshold(threshold: float) -> float:
    if not 0 < threshold < 1:        # also refuses NaN
        raise RnnscopeError(f"--threshold must be a probability strictly between 0 and 1, got {threshold}")
    return float(threshold)


def decision_points(text: str, spec: grammar.GrammarSpec) -> tuple[np.ndarray, np.ndarray]:
    """Positions t after which the next character is a token (after a separator; every position in a
    grammar without them), and the true depth there (after reading character t)."""
    ann = grammar.annotate(text, spec)
    at = ann["kind"] == grammar.SEPARATOR if spec.separator else np.ones(len(text), bool)
    return np.flatnonzero(at), ann["depth"][at]


@torch.no_grad()
def close_probability(model: CharRNN, text: str) -> np.ndarray:
    """[T] the model's p(`)`) for the character after each one, ``text`` read from the zero state."""
    if ")" not in model.vocab.chars:
        raise RnnscopeError("the model's vocabulary has no `)`: it cannot say whether `)` is legal")
    h = torch.from_numpy(hidden_states(model, text)[0][-1]).to(model.device)
    probs = torch.softmax(model.decoder(h.to(model.decoder.weight.dtype)), dim=-1)
    return probs[:, model.vocab.chars.index(")")].double().cpu().numpy()


def after_deeper(depth: np.ndarray, trained_depth: int) -> np.ndarray:
    """[T] whether the stream has been deeper than ``trained_depth`` since it was last at depth 0
    (``depth`` at every character). A counter that saturates at the training depth can only be
    wrong at such points: at depth 0 its count is reset to the truth."""
    steps = np.arange(len(depth))
    last_zero = np.maximum.accumulate(np.where(depth == 0, steps, -1))
    last_deep = np.maximum.accumulate(np.where(depth > trained_depth, steps, -1))
    return last_deep > last_zero


def per_depth(p_close: np.ndarray, depth: np.ndarray, threshold: float, max_depth: int,
              deeper: np.ndarray | None = None) -> list[dict]:
    """For each true depth 0..max_depth: how many decision points, the share where "`)` legal"
    (p_close > threshold) agrees with the truth (depth > 0), and the mean p(`)`); with ``deeper``
    (after_deeper at the same points) also the count and share right among the points that
    follow an excursion beyond the training depth, and among the others. Empty groups have null
    statistics."""
    correct = (p_close > threshold) == (depth > 0)
    rows = []
    for d in range(max_depth + 1):
        here = depth == d
        row = {"depth": d, "close_legal": d > 0, "count": int(here.sum()), "accuracy": _share(correct[here]),
               "mean_p_close": float(p_close[here].mean()) if here.any() else None}
        if deeper is not None:
            row |= {"after_deeper_count": int((here & deeper).sum()),
                    "after_deeper_accuracy": _share(correct[here & deeper]),
                    "otherwise_accuracy": _share(correct[here & ~deeper])}
        rows.append(row)
    return rows


def _share(right: np.ndarray) -> float | None:
    return float(right.mean()) if len(right) else None


def oracle_close(spec: grammar.GrammarSpec) -> list[float]:
    """The grammar's exact p(`)`) at each depth 0..max_depth, right after a separator."""
    return [sum(p for tok, _, p in options if tok == ")") for options in spec.token_table()]


def parameter_count(model: CharRNN) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def check_model(model: CharRNN, name: str, test_depth: int) -> tuple[grammar.GrammarSpec, grammar.GrammarSpec]:
    """The model's training grammar and its test grammar, or one line saying why it cannot take the test."""
    train = trained_grammar(model, name)
    test = deeper_grammar(train, test_depth)
    missing = sorted(set(test.alphabet) - set(model.config.vocab))
    if missing:
        raise RnnscopeError(f"{name}: its vocabulary {''.join(model.config.vocab)!r} cannot read the test stream "
                            f"(it lacks {missing})")
    return train, test


def generalise(model: CharRNN, name: str = "model", test_depth: int = DEFAULT_TEST_DEPTH,
               chars: int = DEFAULT_CHARS, threshold: float | None = None, seed=TEST_SEED) -> dict:
    """One model's numbers: what it is, the test it took, and its accuracy per true depth."""
    train, test = check_model(model, name, test_depth)
    threshold = default_threshold(train) if threshold is None else check_threshold(threshold)
    text = grammar.generate(chars, seed=seed, spec=test)
    at, depth = decision_points(text, test)
    p_close = close_probability(model, text)[at]
    deeper = after_deeper(grammar.annotate(text, test)["depth"], train.max_depth)[at]
    rows = per_depth(p_close, depth, threshold, test_depth, deeper)
    for r, p in zip(rows, oracle_close(test)):
        r["oracle_p_close"] = p
    correct = (p_close > threshold) == (depth > 0)
    seen = depth <= train.max_depth
    cfg, record = model.config, getattr(model, "training_record", {}) or {}
    best = record.get("best") or {}
    return {
        "name": name, "cell": cfg.cell, "hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers,
        "input": "one-hot" if cfg.embedding_dim is None else f"embedding {cfg.embedding_dim}",
        "parameters": parameter_count(model), "train_max_depth": train.max_depth,
        "train_ratio_to_floor": best.get("ratio_to_floor"),
        "threshold": threshold, "test_depth": test_depth, "test_chars": chars, "decision_points": int(len(at)),
        "deepest_reached": int(depth.max()) if len(depth) else None,
        "accuracy": _share(correct),
        "accuracy_seen_depths": _share(correct[seen]),
        "accuracy_unseen_depths": _share(correct[~seen]),
        "accuracy_seen_depths_after_deeper": _share(correct[seen & deeper]),
        "accuracy_seen_depths_otherwise": _share(correct[seen & ~deeper]),
        "per_depth": rows,
    }


def comparison(models: list[tuple[str, CharRNN]], test_depth: int = DEFAULT_TEST_DEPTH, chars: int = DEFAULT_CHARS,
               threshold: float | None = None, seed=TEST_SEED) -> dict:
    """Every model's numbers on the same test, with what the statistics are."""
    if chars < 100:
        raise RnnscopeError(f"--chars must be at least 100, got {chars}")
    if threshold is not None:
        check_threshold(threshold)
    for name, model in models:          # every refusal before any model runs
        check_model(model, name, test_depth)
    return {"schema_version": SCHEMA_VERSION, "test_depth": test_depth, "chars": chars, "seed": seed,
            "threshold_rule": THRESHOLD_RULE if threshold is None else "given (--threshold)",
            "statistic": "accuracy of the answer 'p()) > threshold' to 'is ) legal here?' (true: depth > 0), "
                         "at every step after which the next token is chosen, the stream read in context "
                         "from its start",
            "models": [generalise(model, name, test_depth, chars, threshold, seed) for name, model in models]}


def text_table(numbers: dict) -> str:
    """The comparison for a terminal: one row per model, its accuracy at each true depth."""
    depths = range(numbers["test_depth"] + 1)
    width = max([5] + [len(m["name"]) for m in numbers["models"]])
    lines = [f"is ) legal? accuracy per true depth ({numbers['chars']:,} characters read in context; "
             f"threshold: {numbers['threshold_rule']})",
             f"{'model':<{width}} {'cell':<5} {'params':>7} " + " ".join(f"{f'd={d}':>6}" for d in depths)]
    for m in numbers["models"]:
        accs = [r["accuracy"] for r in m["per_depth"]]
        lines.append(f"{m['name']:<{width}} {m['cell']:<5} {m['parameters']:>7,} "
                     + " ".join("     -" if a is None else f"{a:6.3f}" for a in accs))
    return "\n".join(lines)
