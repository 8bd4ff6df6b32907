"""The tracer's hidden states and gates equal two independent things:
the plain NumPy cell equations in models/network/reference.py, and torch's own nn.GRU/nn.LSTM/nn.RNN.

Weights are drawn at three times torch's init scale so the gates leave their linear region
and a wrong equation (a swapped gate, r applied after the matmul) cannot hide."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.models.reading import extract, tracer
from rnnscope.models.network import reference
from rnnscope.models.network.model import CharRNN, ModelConfig

# Tiny matrices: one thread is fastest, and two OpenMP threads spin badly against any other
# process on a 2-core machine (seconds per call instead of milliseconds).
torch.set_num_threads(1)

TEXT = grammar.generate(160, seed=3) + "( ( ( ( 4 ) 3 ) 2 ) 1 ) 0 "
ATOL = 1e-5
GATE_NAMES = {"gru": {"r", "z", "n"}, "lstm": {"i", "f", "g", "o", "c"}, "rnn": set()}


def make_model(cell: str, num_layers: int, embedding_dim: int | None, seed: int = 0,
               hidden_size: int = 7, scale: float = 3.0, **config) -> CharRNN:
    torch.manual_seed(seed)
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, cell=cell, hidden_size=hidden_size,
                                num_layers=num_layers, embedding_dim=embedding_dim, **config))
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.mul_(scale)
    return model.eval()


def numpy_inputs(model: CharRNN, text: str) -> np.ndarray:
    """What the first layer reads, built in NumPy: an embedding row or a one-hot vector."""
    ids = np.array([model.config.vocab.index(c) for c in text])
    if model.config.embedding_dim:
        return model.embed.weight.detach().double().numpy()[ids]
    return np.eye(len(model.config.vocab))[ids]


def numpy_weights(model: CharRNN) -> dict[str, np.ndarray]:
    return {k: v.detach().double().numpy() for k, v in model.rnn.state_dict().items()}


CASES = [(cell, layers, emb) for cell in ("gru", "lstm", "rnn") for layers in (1, 2) for emb in (5, None)]
IDS = [f"{cell}-{layers}layer-{'embed' if emb else 'onehot'}" for cell, layers, emb in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def model(request):
    cell, layers, emb = request.param
    return make_model(cell, layers, emb)


def test_tracer_equals_the_numpy_reference_equations(model):
    cfg = model.config
    tr = tracer.trace(model, TEXT)
    ref = reference.run(cfg.cell, numpy_weights(model), numpy_inputs(model, TEXT), cfg.num_layers)
    assert tr.num_layers == cfg.num_layers == len(ref)
    for k in range(cfg.num_layers):
        assert tr.hidden[k].shape == (len(TEXT), cfg.hidden_size)
        np.testing.assert_allclose(tr.hidden[k], ref[k]["h"], atol=ATOL, rtol=0, err_msg=f"h, layer {k}")
        assert set(tr.gates[k]) == GATE_NAMES[cfg.cell]
        for name in GATE_NAMES[cfg.cell]:
            np.testing.assert_allclose(tr.gates[k][name], ref[k][name], atol=ATOL, rtol=0,
                                       err_msg=f"gate {name}, layer {k}")
    # The hidden states really move: an equation bug could not pass on a constant signal.
    assert np.ptp(tr.hidden[-1], axis=0).min() > 0.05


def test_top_layer_equals_torch_module_output(model):
    tr = tracer.trace(model, TEXT)
    ids = torch.as_tensor([model.config.vocab.index(c) for c in TEXT])[None]
    with torch.no_grad():
        out, _ = model.rnn(model.inputs(ids))
    np.testing.assert_allclose(tr.hidden[-1], out[0].numpy(), atol=ATOL, rtol=0)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_first_of_two_layers_equals_a_separate_single_layer_run(cell):
    model = make_model(cell, 2, 5)
    tr = tracer.trace(model, TEXT)
    single = type(model.rnn)(5, model.config.hidden_size, 1, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(single, f"{name}_l0").copy_(getattr(model.rnn, f"{name}_l0"))
        x = torch.as_tensor(numpy_inputs(model, TEXT), dtype=torch.float32)[None]
        out, _ = single(x)
    np.testing.assert_allclose(tr.hidden[0], out[0].numpy(), atol=ATOL, rtol=0)
    # and the two layers are genuinely different signals
    assert not np.allclose(tr.hidden[0], tr.hidden[1], atol=0.01)


def test_lstm_cell_state_equals_the_reference_cell_state():
    model = make_model("lstm", 2, None)
    tr = tracer.trace(model, TEXT)
    ref = reference.run("lstm", numpy_weights(model), numpy_inputs(model, TEXT), 2)
    for k in range(2):
        np.testing.assert_allclose(tr.values("c", k), ref[k]["c"], atol=ATOL, rtol=0)
        # h = o * tanh(c), read back from the trace itself
        np.testing.assert_allclose(tr.hidden[k], tr.values("o", k) * np.tanh(tr.values("c", k)), atol=ATOL)
    assert np.abs(ref[0]["c"]).max() > 1.0  # c left tanh's range: it is not h in disguise


def test_gru_hidden_state_is_the_gated_mix_of_candidate_and_previous_state():
    model = make_model("gru", 1, 5)
    tr = tracer.trace(model, TEXT)
    h, z, n = tr.hidden[0], tr.values("z"), tr.values("n")
    h_prev = np.vstack([np.zeros((1, h.shape[1])), h[:-1]])
    np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, atol=ATOL)


def test_probs_rows_sum_to_one_and_equal_softmax_of_decoder(model):
    tr = tracer.trace(model, TEXT)
    W = model.decoder.weight.detach().double().numpy()
    b = model.decoder.bias.detach().double().numpy()
    logits = tr.hidden[-1].astype(np.float64) @ W.T + b
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    assert tr.probs.shape == (len(TEXT), len(model.config.vocab))
    np.testing.assert_allclose(tr.probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(tr.probs, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("cell, layers", [("gru", 2), ("lstm", 2), ("rnn", 1)])
def test_chunked_trace_equals_the_unchunked_trace(monkeypatch, cell, layers):
    """A sequence longer than CHUNK is run in chunks carrying the state: same numbers. (Chunks are
    torch's path, what CUDA runs; the CPU's compiled loop reads a sequence whole.)"""
    model = make_model(cell, layers, 5)
    whole = tracer.trace(model, TEXT)
    monkeypatch.setattr(tracer, "COMPILED", False)
    monkeypatch.setattr(tracer, "CHUNK", 7)
    assert len(TEXT) > 7 * 20
    chunked = tracer.trace(model, TEXT)
    for k in range(layers):
        np.testing.assert_allclose(chunked.hidden[k], whole.hidden[k], atol=1e-6, rtol=0)
        for name in whole.gates[k]:
            np.testing.assert_allclose(chunked.gates[k][name], whole.gates[k][name], atol=1e-6, rtol=0)
    np.testing.assert_allclose(chunked.probs, whole.probs, atol=1e-6, rtol=0)
    ref = reference.run(cell, numpy_weights(model), numpy_inputs(model, TEXT), layers)
    np.testing.assert_allclose(chunked.hidden[-1], ref[-1]["h"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_batched_extraction_equals_the_trace_per_row(monkeypatch, cell):
    model = make_model(cell, 2, 5)
    rows = [grammar.generate(60, seed=s) for s in range(3)]
    monkeypatch.setattr(extract, "CHUNK", 9)
    ids = np.array([[model.config.vocab.index(c) for c in row] for row in rows])
    layers = extract.extract_hidden(model, ids)
    for r, row in enumerate(rows):
        tr = tracer.trace(model, row)
        for k in range(2):
            np.testing.assert_allclose(layers[k][r], tr.hidden[k], atol=ATOL, rtol=0)


# --- a ReLU RNN and models without biases: tracer == reference == torch -----------------------------

VARIANTS = {
    "relu-rnn": dict(cell="rnn", scale=2.0, nonlinearity="relu"),   # x3 would make a ReLU RNN explode
    "relu-rnn-no-bias": dict(cell="rnn", scale=2.0, nonlinearity="relu", bias=False),
    "gru-no-bias": dict(cell="gru", bias=False),
    "lstm-no-bias": dict(cell="lstm", bias=False),
    "rnn-no-bias": dict(cell="rnn", scale=2.0, bias=False),   # at x3 float32 rounding grows chaotically
}


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
@pytest.mark.parametrize("emb", [5, None], ids=["embed", "onehot"])
def test_variants_tracer_equals_reference_equals_torch(variant, emb):
    model = make_model(num_layers=2, embedding_dim=emb, **VARIANTS[variant])
    cfg = model.config
    tr = tracer.trace(model, TEXT)
    weights = numpy_weights(model)
    assert any("bias" in k for k in weights) == cfg.bias
    ref = reference.run(cfg.cell, weights, numpy_inputs(model, TEXT), 2, nonlinearity=cfg.nonlinearity)
    ids = torch.as_tensor([cfg.vocab.index(c) for c in TEXT])[None]
    with torch.no_grad():
        torch_top = model.rnn(model.inputs(ids))[0][0].numpy()
    for k in range(2):
        np.testing.assert_allclose(tr.hidden[k], ref[k]["h"], atol=ATOL, rtol=0, err_msg=f"h, layer {k}")
        for name in GATE_NAMES[cfg.cell]:
            np.testing.assert_allclose(tr.gates[k][name], ref[k][name], atol=ATOL, rtol=0, err_msg=name)
    np.testing.assert_allclose(tr.hidden[-1], torch_top, atol=ATOL, rtol=0)
    assert np.ptp(tr.hidden[-1], axis=0).max() > 0.05
    if cfg.nonlinearity == "relu":   # really ReLU: no negative states, and some far above tanh's range
        assert tr.hidden[0].min() >= 0 and tr.hidden[0].max() > 1.0


def test_a_relu_rnn_is_not_traced_as_tanh():
    """The same weights under tanh give different states: the nonlinearity is honoured, not assumed."""
    relu = make_model("rnn", 1, 5, scale=1.0, nonlinearity="relu")
    tanh = make_model("rnn", 1, 5, scale=1.0)
    assert not np.allclose(tracer.trace(relu, TEXT).hidden[0], tracer.trace(tanh, TEXT).hidden[0], atol=0.01)


@pytest.mark.parametrize("variant", ["relu-rnn", "gru-no-bias", "lstm-no-bias"])
def test_variants_batched_extraction_equals_the_trace(variant):
    model = make_model(num_layers=2, embedding_dim=5, **VARIANTS[variant])
    ids = np.array([[model.config.vocab.index(c) for c in TEXT]])
    layers = extract.extract_hidden(model, ids)
    tr = tracer.trace(model, TEXT)
    for k in range(2):
        np.testing.assert_allclose(layers[k][0], tr.hidden[k], atol=ATOL, rtol=0)


@pytest.mark.parametrize("variant", ["relu-rnn", "gru-no-bias", "lstm-no-bias"])
def test_variants_read_in_context_equal_the_whole_trace_cut_there(variant):
    from rnnscope.models.reading.context import StreamReader
    model = make_model(num_layers=2, embedding_dim=5, **VARIANTS[variant])
    whole = tracer.trace(model, TEXT)
    window = StreamReader(model, TEXT, stride=50).trace(120, 40)
    for k in range(2):
        np.testing.assert_allclose(window.hidden[k], whole.hidden[k][120:160], atol=ATOL, rtol=0)
        for name in whole.gates[k]:
            np.testing.assert_allclose(window.gates[k][name], whole.gates[k][name][120:160], atol=ATOL, rtol=0)
