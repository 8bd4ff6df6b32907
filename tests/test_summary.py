"""The summary's counts, formulas, shapes and equations, against counts worked out by hand here, against
torch's own parameter tensors, and against the Keras summaries printed in seed 000."""
from __future__ import annotations

import pytest

from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.sum3 import model_config
from rnnscope.models.network.summary import equations, summary, summary_data


def rows(model) -> dict[str, dict]:
    return {r["layer"]: r for r in summary_data(model)["layers"]}


def test_a_gru_15_over_an_embedding_of_15_is_counted_per_gate_by_hand():
    V = 8
    model = CharRNN(ModelConfig(vocab=list(" ()01234")))          # GRU-15, embedding 15
    embed = V * 15
    gru = 3 * (15 * 15 + 15 * 15 + 2 * 15)     # per gate: units·units + features·units + two biases (torch)
    decoder = 15 * V + V
    r = rows(model)
    assert r["embed (Embedding)"]["params"] == embed and r["embed (Embedding)"]["formula"] == "V·D = 8·15"
    assert r["rnn layer 0 (GRU, 15 units)"]["params"] == gru == 1440
    assert r["rnn layer 0 (GRU, 15 units)"]["formula"] == "3 gate(s) × (M·M + D·M + 2·M) = 3 × (15·15 + 15·15 + 2·15)"
    assert r["decoder (Linear)"]["params"] == decoder and r["decoder (Linear)"]["formula"] == "M·K + K = 15·8 + 8"
    data = summary_data(model)
    assert data["total_params"] == embed + gru + decoder == sum(p.numel() for p in model.parameters())
    assert data["one_bias_params"]["value"] == embed + gru - 3 * 15 + decoder
    assert data["sizes"] == {"N": None, "T": None, "D": 15, "M": 15, "K": 8}
    assert [r["output_shape"] for r in data["layers"]] == ["(N, T, 15)", "(N, T, 15)", "(N, T, 8)"]


def test_a_two_layer_one_hot_lstm_without_biases_reads_m_as_the_second_layers_features():
    model = CharRNN(ModelConfig(vocab=list("abc"), cell="lstm", hidden_size=4, num_layers=2, embedding_dim=None,
                                bias=False))
    r = rows(model)
    layer0, layer1 = r["rnn layer 0 (LSTM, 4 units, no bias)"], r["rnn layer 1 (LSTM, 4 units, no bias)"]
    assert layer0["params"] == 4 * (4 * 4 + 3 * 4) and layer0["formula"] == "4 gate(s) × (M·M + D·M) = 4 × (4·4 + 3·4)"
    assert layer1["params"] == 4 * (4 * 4 + 4 * 4) and layer1["formula"] == "4 gate(s) × (M·M + M·M) = 4 × (4·4 + 4·4)"
    data = summary_data(model)
    assert data["total_params"] == sum(p.numel() for p in model.parameters())
    assert data["one_bias_params"]["value"] == data["total_params"]            # no biases: nothing to drop


@pytest.mark.parametrize("kind, torch_count, keras_count",
                         [("scalar", 4, 3), ("one-hot", 13, 12), ("embedding", 113, 112)])
def test_the_seeds_sum3_models_count_as_seed_000s_keras_summaries_print_them(kind, torch_count, keras_count):
    """Seed 000 prints Total params 3 (scalar), 12 (one-hot) and 112 (embedding): Keras keeps one bias."""
    model = CharRNN(model_config(kind))
    data = summary_data(model)
    assert data["total_params"] == torch_count == sum(p.numel() for p in model.parameters())
    assert data["one_bias_params"]["value"] == keras_count
    assert data["layers"][-1] == {"layer": "prediction: h at the last step (task sum3)", "output_shape": "(N, 1)",
                                  "params": 0, "formula": "no parameters"}
    assert data["sizes"]["D"] == {"scalar": 1, "one-hot": 10, "embedding": 10}[kind]


def test_the_equations_carry_the_shapes_of_the_models_own_tensors():
    model = CharRNN(ModelConfig(vocab=list("abcde"), cell="gru", hidden_size=6, num_layers=2, embedding_dim=3))
    lines = equations(model)
    W_ir = model.rnn.weight_ih_l0.chunk(3)[0]                                 # torch stacks r, z, n in rows
    W_ir1 = model.rnn.weight_ih_l1.chunk(3)[0]
    assert tuple(W_ir.shape) == (6, 3) and tuple(W_ir1.shape) == (6, 6)
    assert "x_t = E[c_t], the embedding row of character c_t    E [5×3] (V×D)" in lines
    assert "      W_ir, W_iz, W_in [6×3] each; W_hr, W_hz, W_hn [6×6] each; b_i·, b_h· [6] each (two bias vectors " \
           "per gate)" in lines
    assert "      W_ir, W_iz, W_in [6×6] each; W_hr, W_hz, W_hn [6×6] each; b_i·, b_h· [6] each (two bias vectors " \
           "per gate)" in lines
    assert "  n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_t-1 + b_hn))    candidate" in lines
    assert lines[-1] == "p(c_t+1 | c_1..c_t) = softmax(W_dec h_t + b_dec)    W_dec [5×6] (K×M), b_dec [5]"
    linear = equations(CharRNN(model_config("one-hot")))
    assert "  h_t = W_ih x_t + b_ih + W_hh h_t-1 + b_hh    (linear: no activation)" in linear
    assert "      W_ih [1×10], W_hh [1×1], b_ih, b_hh [1] each" in linear
    assert linear[-1] == "prediction = h_T, the last state itself (task sum3: no decoder)    h_T [1]"


def test_the_text_summary_shows_the_same_formulas_and_equations():
    model = CharRNN(ModelConfig(vocab=list("ab"), cell="rnn", hidden_size=3, embedding_dim=2, nonlinearity="relu"))
    text = summary(model)
    assert "rnn layer 0 (RNN relu, 3 units): 1 gate(s) × (M·M + D·M + 2·M) = 1 × (3·3 + 2·3 + 2·3) = 21" in text
    assert "  h_t = relu(W_ih x_t + b_ih + W_hh h_t-1 + b_hh)" in text
    assert "D = 2 (input features), M = 3 (hidden units), K = 2 (outputs)" in text
