"""Causal code search (docs/methods.md, Causal codes), on a decoder that reads only known cells, and on the
shipped GRU: its complete depth code is larger than the thermometer cells that correlate best.
Below the top layer, the layers above are stepped once from the edited state: checked against
torch's own layer and against a pass-through layer that must change nothing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.describe.annotations import grammar_annotations
from rnnscope.analysis.intervene.causal import (Readout, UpperLayer, _mean_kl, grammar_depth_oracle, layer_readout,
                                               mean_codes, search)
from rnnscope.models.network import checkpoint
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.reading.tracer import trace


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
    result = search(states, variable, where, oracle, Readout(w, b), [0, 1, 2])
    assert sorted(result.cells[:2]) == [1, 3]
    assert result.complete_size == 2 and result.kl[2] < 1e-12 and result.kl[0] > 0.01


def test_a_pass_through_layer_above_changes_nothing():
    """A ReLU layer with W_ih = I and no recurrence hands positive states up unchanged: the
    search one layer below must find the same code, with the same curve."""
    rng = np.random.default_rng(1)
    T, H, V = 2_000, 5, 4
    variable = rng.integers(0, 3, T)
    states = rng.uniform(1, 2, size=(T, H))
    states[:, 2] += 3 * variable
    w, b = np.zeros((V, H)), rng.normal(size=V)
    w[:, 2] = 3 * rng.normal(size=V)
    where = rng.random(T) < 0.5
    where[0] = True                                   # the first step steps from the zero state
    oracle = softmax(mean_codes(states, variable, where, [0, 1, 2]) @ w.T + b)
    identity = UpperLayer("rnn", {"weight_ih": np.eye(H), "weight_hh": np.zeros((H, H)),
                                  "bias_ih": np.zeros(H), "bias_hh": np.zeros(H)}, rng.normal(size=(T, H)),
                          nonlinearity="relu")
    top = search(states, variable, where, oracle, Readout(w, b), [0, 1, 2])
    below = search(states, variable, where, oracle, Readout(w, b, (identity,)), [0, 1, 2], layer=0)
    assert below.cells == top.cells and below.cells[0] == 2 and below.complete_size == 1 and top.kl[0] > 0.1
    np.testing.assert_allclose(below.kl, top.kl, atol=1e-12)


TEXT = grammar.generate(600, seed=4)


def tiny(cell: str) -> CharRNN:
    torch.manual_seed(3)
    return CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, cell=cell, hidden_size=5, num_layers=2,
                               embedding_dim=4)).eval()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_top_layer_readout_is_the_decoder_and_reads_as_the_model(cell):
    model = tiny(cell)
    tr = trace(model, TEXT)
    cs = [g["c"] for g in tr.gates] if cell == "lstm" else None
    positions = np.array([0, 1, 7, 100, 599])
    top = layer_readout(model, tr.hidden, cs, 1)
    assert top.upper == ()                            # the top layer's path: the decoder alone
    np.testing.assert_allclose(softmax(top.logits(tr.hidden[1][positions], positions)), tr.probs[positions], atol=1e-5)
    # one layer down, the unedited states stepped through layer 1 give the model's own distribution
    below = layer_readout(model, tr.hidden, cs, 0)
    np.testing.assert_allclose(softmax(below.logits(tr.hidden[0][positions], positions)), tr.probs[positions],
                               atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_lower_layer_set_to_a_whole_mean_code_reads_as_torch_steps_it(cell):
    """Layer 0 set wholly to depth v's mean code: the distribution is torch's layer 1 stepped once
    from its state in context, then the decoder -- and the search's last KL is its mean KL."""
    model = tiny(cell)
    tr = trace(model, TEXT)
    cs = [g["c"] for g in tr.gates] if cell == "lstm" else None
    ann = grammar_annotations(TEXT, grammar.GrammarSpec(), trace(model, TEXT).annotations["depth"])
    depth = ann["depth"].values.astype(int)
    where = ann["kind"].values == ann["kind"].categories.index("separator")
    values = sorted(set(depth[where]))
    oracle = grammar_depth_oracle(grammar.GrammarSpec(), list(model.config.vocab))[values]
    codes = mean_codes(tr.hidden[0], depth, where, values)
    positions = np.flatnonzero(where)
    upper = model.layer(1)
    want = []
    with torch.no_grad():
        for v, code in enumerate(codes):
            x = torch.as_tensor(code, dtype=torch.float32).expand(len(positions), 1, -1)
            h = torch.as_tensor(np.where(positions[:, None] > 0, tr.hidden[1][positions - 1], 0), dtype=torch.float32)
            state = h[None]
            if cell == "lstm":
                c = torch.as_tensor(np.where(positions[:, None] > 0, cs[1][positions - 1], 0), dtype=torch.float32)
                state = (h[None], c[None])
            out, _ = upper(x, state)
            p = torch.softmax(model.decoder(out[:, 0]), dim=-1).double().numpy()
            want.append(np.where(oracle[v] > 0, oracle[v] * np.log(np.where(oracle[v] > 0, oracle[v], 1) / p), 0)
                        .sum(axis=-1))
    readout = layer_readout(model, tr.hidden, cs, 0)
    result = search(tr.hidden[0], depth, where, oracle, readout, values, max_positions=10_000, layer=0)
    assert result.positions == len(positions) and result.layer == 0 and result.to_dict()["layer"] == 0
    assert result.kl[-1] == pytest.approx(np.mean(want), abs=1e-5)


def test_the_oracle_after_a_separator_at_each_depth():
    vocab = grammar.GrammarSpec().alphabet
    o = grammar_depth_oracle(grammar.GrammarSpec(), vocab)
    assert o.shape == (5, 8)
    np.testing.assert_allclose(o.sum(axis=1), 1)
    assert o[0, vocab.index("(")] == pytest.approx(0.5) and o[0, vocab.index(")")] == 0
    assert o[2, vocab.index("2")] == pytest.approx(1 / 3) and o[4, vocab.index("(")] == 0


def test_the_shipped_grus_depth_code_is_bigger_than_its_thermometer(default_model):
    held = heldout_of(default_model)
    n = 40_000
    model = checkpoint.load(default_model)
    states = trace(model, held.text[:n]).hidden[0]
    ann = grammar_annotations(held.text[:n], held.spec, held.annotations["depth"][:n])
    depth = ann["depth"].values.astype(int)
    after_sep = ann["kind"].values == ann["kind"].categories.index("separator")
    oracle = grammar_depth_oracle(held.spec, list(model.config.vocab))
    w, b = model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy()
    result = search(states, depth, after_sep, oracle, Readout(w, b), list(range(5)))
    assert result.complete_size is not None and result.kl[-1] < 0.05
    # the four cells that correlate best with depth, set alone, leave the model far from the oracle
    r = np.abs([np.corrcoef(states[:, c], depth)[0, 1] if states[:, c].std() > 0 else 0 for c in range(15)])
    thermometer = list(np.argsort(-r)[:4])
    codes = mean_codes(states, depth, after_sep, list(range(5)))
    first = np.flatnonzero(after_sep)[:2000]
    left = _mean_kl(states[first].astype(float), codes, thermometer, oracle, Readout(w, b), first)
    assert left > 0.5 and result.complete_size > 4
