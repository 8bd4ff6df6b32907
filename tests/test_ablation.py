"""Ablation and clamping (docs/methods.md, Ablation): replacing nothing reproduces the intact run exactly;
a cell nothing reads from changes nothing when ablated; the replacement is what the next step
and the decoder read, checked step by step against the NumPy cell equations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.intervene.ablation import held_out_means, rank_by_ablation
from rnnscope.models.network import checkpoint, reference
from rnnscope.models.reading import tracer
from rnnscope.models.reading.ablation import Ablation, ablated_losses, loss_of, run_ablated
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig


torch.set_num_threads(1)

TEXT = grammar.generate(300, seed=9)


def tiny(cell: str, layers: int = 1) -> CharRNN:
    torch.manual_seed(2)
    return CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, cell=cell, hidden_size=5, num_layers=layers,
                               embedding_dim=4)).eval()


def weights(model: CharRNN, k: int) -> tuple[np.ndarray, ...]:
    return tuple(getattr(model.rnn, f"{n}_l{k}").detach().double().numpy()
                 for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


@pytest.mark.parametrize("cell, layers", [("gru", 1), ("gru", 2), ("lstm", 2), ("rnn", 1)])
def test_ablating_nothing_is_the_intact_run(cell, layers):
    model = tiny(cell, layers)
    probs = run_ablated(model, TEXT, [[], []])
    np.testing.assert_allclose(probs[0], tracer.trace(model, TEXT).probs, atol=1e-5)
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)    # same variant twice: same numbers


def test_a_cell_nothing_reads_changes_nothing():
    model = tiny("gru", 2)
    c = 3
    with torch.no_grad():
        model.rnn.weight_hh_l0[:, c] = 0          # no gate of layer 0 reads it back
        model.rnn.weight_ih_l1[:, c] = 0          # layer 1 does not read it
    probs = run_ablated(model, TEXT, [[], [Ablation(0, (c,), "clamp", 0.9)], [Ablation(0, (c,), "zero")]])
    np.testing.assert_allclose(probs[1], probs[0], atol=1e-6)
    np.testing.assert_allclose(probs[2], probs[0], atol=1e-6)
    _, effects = rank_by_ablation(model, TEXT, held_out_means(tracer.trace(model, TEXT).hidden))
    assert {(e.layer, e.cell): e.delta for e in effects}[(0, c)] == pytest.approx(0, abs=1e-6)


def test_gru_clamp_is_read_by_the_next_step_and_the_decoder():
    model = tiny("gru")
    cells, value = (1, 4), 0.7
    W = weights(model, 0)
    x = model.inputs(torch.as_tensor(model.vocab.encode(TEXT))[None])[0].detach().double().numpy()
    h, want = np.zeros(5), []
    dec_w, dec_b = model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy()
    for x_t in x:
        h, _ = reference.gru_step(x_t, h, *W)
        h[list(cells)] = value
        want.append(reference.softmax(dec_w @ h + dec_b))
    got = run_ablated(model, TEXT, [[Ablation(0, cells, "clamp", value)]])[0]
    np.testing.assert_allclose(got, np.array(want), atol=1e-5)


def test_lstm_cell_state_on_request():
    model = tiny("lstm")
    W = weights(model, 0)
    x = model.inputs(torch.as_tensor(model.vocab.encode(TEXT))[None])[0].detach().double().numpy()
    means = {(0, "c"): np.linspace(-0.5, 0.5, 5)}
    h, c, want = np.zeros(5), np.zeros(5), []
    dec_w, dec_b = model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy()
    for x_t in x:
        h, c, _ = reference.lstm_step(x_t, h, c, *W)   # h is read from the c of this step, then c is replaced
        c = c.copy()
        c[2] = means[(0, "c")][2]
        want.append(reference.softmax(dec_w @ h + dec_b))
    got = run_ablated(model, TEXT, [[Ablation(0, (2,), "mean", state="c")]], means)[0]
    np.testing.assert_allclose(got, np.array(want), atol=1e-5)


@pytest.mark.parametrize("ablation, message", [
    (Ablation(0, (1,), "erase"), "mode must be one of"),
    (Ablation(2, (1,), "zero"), "layer 2 does not exist"),
    (Ablation(0, (5, 9), "zero"), r"cells \[5, 9\] do not exist"),
    (Ablation(0, (1,), "zero", state="c"), "cannot be ablated in a GRU"),
    (Ablation(0, (1,), "mean"), "needs the held-out mean"),
])
def test_bad_ablations_are_refused(ablation, message):
    with pytest.raises(RnnscopeError, match=message):
        run_ablated(tiny("gru"), TEXT, [[ablation]])


def test_the_shipped_gru_needs_its_depth_cells_not_its_constant_ones(default_model):
    model = checkpoint.load(default_model)
    text = heldout_of(default_model).text[:4_000]
    tr = tracer.trace(model, text)
    base, effects = rank_by_ablation(model, text, held_out_means(tr.hidden))
    assert base == pytest.approx(loss_of(tr.probs[None], model.vocab.encode(text))[0], abs=1e-5)
    assert effects[0].delta > 0.3                            # the most needed cell costs > 0.3 nats/char
    constant = [c for c in range(15) if tr.hidden[0][:, c].std() < 0.02]
    assert constant and all(abs(e.delta) < 0.01 for e in effects if e.cell in constant)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_ablated_losses_equal_the_losses_of_the_kept_probabilities(cell):
    """The memory-bounded losses (what ranking every cell reads) are loss_of(run_ablated(...)), for any chunk."""
    model = tiny(cell)
    variants = [[], [Ablation(0, (1,), "zero")], [Ablation(0, (0, 2), "clamp", 0.7)]]
    want = loss_of(run_ablated(model, TEXT, variants), model.vocab.encode(TEXT))
    for chunk in (1, 3, len(TEXT), 4096):
        np.testing.assert_allclose(ablated_losses(model, TEXT, variants, chunk=chunk), want, rtol=1e-5)
