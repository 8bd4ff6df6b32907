"""Causal code search (issue 7 item 10), on a decoder that reads only known cells, and on the
shipped GRU: its complete depth code is larger than the thermometer cells that correlate best."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import grammar
from analysis.annotations import grammar_annotations
from analysis.causal import _mean_kl, grammar_depth_oracle, mean_codes, search
from models import checkpoint
from models.heldout import heldout_of
from models.tracer import trace

from app_fixtures import default_model  # noqa: F401

torch.set_num_threads(1)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_a_decoder_reading_two_cells_has_a_two_cell_code():
    rng = np.random.default_rng(0)
    T, H, V = 3_000, 6, 4
    variable = rng.integers(0, 3, T)
    states = rng.normal(size=(T, H))
    states[:, 1] += variable                      # cells 1 and 3 carry the variable, the rest is noise
    states[:, 3] -= 2 * variable
    w = np.zeros((V, H))
    w[:, 1], w[:, 3] = rng.normal(size=V), rng.normal(size=V)
    b = rng.normal(size=V)
    where = np.ones(T, bool)
    codes = mean_codes(states, variable, where, [0, 1, 2])
    oracle = softmax(codes @ w.T + b)             # what the model predicts from the whole mean code
    result = search(states, variable, where, oracle, w, b, [0, 1, 2])
    assert sorted(result.cells[:2]) == [1, 3]
    assert result.complete_size == 2 and result.kl[2] < 1e-12 and result.kl[0] > 0.01


def test_the_oracle_after_a_separator_at_each_depth():
    vocab = grammar.GrammarSpec().alphabet
    o = grammar_depth_oracle(grammar.GrammarSpec(), vocab)
    assert o.shape == (5, 8)
    np.testing.assert_allclose(o.sum(axis=1), 1)
    assert o[0, vocab.index("(")] == pytest.approx(0.5) and o[0, vocab.index(")")] == 0
    assert o[2, vocab.index("2")] == pytest.approx(1 / 3) and o[4, vocab.index("(")] == 0


def test_the_shipped_grus_depth_code_is_bigger_than_its_thermometer(default_model):  # noqa: F811
    held = heldout_of(default_model)
    n = 40_000
    model = checkpoint.load(default_model)
    states = trace(model, held.text[:n]).hidden[0]
    ann = grammar_annotations(held.text[:n], held.spec, held.annotations["depth"][:n])
    depth = ann["depth"].values.astype(int)
    after_sep = ann["kind"].values == ann["kind"].categories.index("separator")
    oracle = grammar_depth_oracle(held.spec, list(model.config.vocab))
    w, b = model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy()
    result = search(states, depth, after_sep, oracle, w, b, list(range(5)))
    assert result.complete_size is not None and result.kl[-1] < 0.05
    # the four cells that correlate best with depth, set alone, leave the model far from the oracle
    r = np.abs([np.corrcoef(states[:, c], depth)[0, 1] if states[:, c].std() > 0 else 0 for c in range(15)])
    thermometer = list(np.argsort(-r)[:4])
    codes = mean_codes(states, depth, after_sep, list(range(5)))
    left = _mean_kl(states[after_sep][:2000].astype(float), codes, thermometer, oracle, w, b)
    assert left > 0.5 and result.complete_size > 4
