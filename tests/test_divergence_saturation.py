"""Oracle divergence and gate saturation, against hand computations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnscope import grammar
from rnnscope.analysis.describe.divergence import oracle_divergence
from rnnscope.analysis.describe.saturation import saturation

SPEC = grammar.GrammarSpec()
ALPHABET = SPEC.alphabet
TEXT = grammar.generate(400, seed=5)
ORACLE = grammar.next_char_probs(TEXT, SPEC)


def test_a_model_that_is_the_oracle_diverges_nowhere():
    d = oracle_divergence(ORACLE, ALPHABET, ORACLE, ALPHABET)
    np.testing.assert_allclose(d.kl, 0, atol=1e-12)
    np.testing.assert_allclose(d.illegal, 0, atol=1e-12)


def test_kl_and_illegal_mass_by_hand_with_another_vocabulary_order():
    eps = 0.01
    vocab = list(reversed(ALPHABET))
    model = ORACLE[:, ::-1] * (1 - eps)
    model[:, vocab.index("4")] += eps            # eps moved onto '4' everywhere
    d = oracle_divergence(model, vocab, ORACLE, ALPHABET)
    four_legal = ORACLE[:, ALPHABET.index("4")] > 0
    np.testing.assert_allclose(d.illegal[~four_legal], eps)
    np.testing.assert_allclose(d.illegal[four_legal], 0, atol=1e-12)
    # where '4' is illegal every legal p is scaled by (1 - eps): KL = -ln(1 - eps)
    np.testing.assert_allclose(d.kl[~four_legal], -math.log(1 - eps))


def numpy_divergence(probs, vocab, oracle, alphabet):
    """The definition, written with whole-array NumPy: KL over the oracle's legal characters
    the model has, and the model's mass on every other character of its vocabulary."""
    truth = np.zeros((len(oracle), len(vocab)))
    for a, ch in enumerate(alphabet):
        if ch in vocab:
            truth[:, vocab.index(ch)] = oracle[:, a]
    legal = truth > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(legal, truth * (np.log(np.where(legal, truth, 1.0)) - np.log(probs)), 0.0).sum(axis=1)
    illegal = np.where(legal, 0.0, probs).sum(axis=1)
    unknown = np.isnan(oracle).any(axis=1)
    kl[unknown], illegal[unknown] = np.nan, np.nan
    return kl, illegal


def test_the_compiled_pass_equals_the_numpy_definition_on_odd_vocabularies():
    """A vocabulary in another order, with a character the grammar never uses and without one it
    does, float32 probabilities (as a trace holds them), a legal character given p = 0 (KL = inf),
    and rows after the grammar broke."""
    rng = np.random.default_rng(0)
    text = grammar.generate(3000, seed=9)[:2990] + ") ) ) ) ) "
    oracle = grammar.next_char_probs(text, SPEC)
    vocab = ["x"] + [c for c in reversed(ALPHABET) if c != "3"]
    probs = rng.dirichlet(np.ones(len(vocab)), size=len(text)).astype(np.float32)
    probs[17, vocab.index(ALPHABET[int(np.argmax(oracle[17]))])] = 0.0     # the likeliest legal character
    d = oracle_divergence(probs, vocab, oracle, ALPHABET)
    kl, illegal = numpy_divergence(probs.astype(np.float64), vocab, oracle, ALPHABET)
    assert np.isnan(kl[-2:]).all() and not np.isnan(kl[:2900]).any() and np.isinf(kl).any()
    np.testing.assert_allclose(d.kl, kl, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.illegal, illegal, rtol=1e-12, atol=1e-15)


def test_no_truth_after_the_grammar_breaks():
    text = "( 1 ) ) 0 "
    oracle = grammar.next_char_probs(text, SPEC)
    d = oracle_divergence(np.full((len(text), 8), 1 / 8), ALPHABET, oracle, ALPHABET)
    assert not np.isnan(d.kl[:6]).any() and np.isnan(d.kl[6:]).all() and np.isnan(d.illegal[6:]).all()
    assert d.summary()["steps"] == 6


def test_saturation_shares():
    values = np.array([[0.05, 0.5], [0.95, 0.5], [0.02, 0.99], [0.5, 0.91]])
    s = saturation(values)
    np.testing.assert_allclose(s.left, [0.5, 0.0])
    np.testing.assert_allclose(s.right, [0.25, 0.5])
    t = saturation(np.array([[-0.95, 0.0], [0.95, 0.0], [0.5, -1.0]]), value_range=(-1, 1))
    np.testing.assert_allclose(t.left, [1 / 3, 1 / 3])
    np.testing.assert_allclose(t.right, [1 / 3, 0.0])
    assert t.to_dict()[0] == {"cell": 0, "left": pytest.approx(0.3333), "right": pytest.approx(0.3333)}
