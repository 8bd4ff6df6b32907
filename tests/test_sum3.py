"""Seed 000's experiment: a 1-unit linear RNN sums three digits. The linear cell is held against the
NumPy reference, hand-set weights against arithmetic, the weights view against the model it reads,
and trained models against the weights the seed found (W = U = 1, b = 0; W_d + b = d; E_d W + b = d)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import run_error, run_ok

from rnnscope.analysis.decode.weights import sum3_weights
from rnnscope.models.network import checkpoint, reference
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.sum3 import DIGITS, Sum3Config, model_config, predict, train_sum3
from rnnscope.models.reading.tracer import trace
from rnnscope.models.reading.trace import LayerState

ALL_TRIPLES = np.array(list(itertools.product(range(10), repeat=3)))      # all 1,000 of them


def numpy_weights(model) -> dict:
    return {k: v.detach().double().numpy() for k, v in model.rnn.state_dict().items()}


def set_weights(model, W, U, b_ih, b_hh=0.0) -> None:
    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(torch.as_tensor(W, dtype=torch.float32).reshape(1, -1))
        model.rnn.weight_hh_l0.fill_(U)
        model.rnn.bias_ih_l0.fill_(b_ih)
        model.rnn.bias_hh_l0.fill_(b_hh)


def test_a_linear_rnn_equals_the_numpy_reference_from_zero_and_from_a_given_state():
    torch.manual_seed(3)
    model = CharRNN(ModelConfig(vocab=list("abc"), cell="rnn", hidden_size=4, num_layers=2, embedding_dim=3,
                                nonlinearity="linear"))
    text = "abcabbca"
    ref = reference.run("rnn", numpy_weights(model), model.input_vectors(text), 2, "linear")
    tr = trace(model, text)
    for k in range(2):
        np.testing.assert_allclose(tr.hidden[k], ref[k]["h"], atol=1e-5)
    # no activation at all: one step by hand is W_ih x + b_ih + W_hh h + b_hh, unbounded
    w = model.layer_arrays(0)
    x0 = model.input_vectors("a")[0]
    np.testing.assert_allclose(tr.hidden[0][0], w["weight_ih"] @ x0 + w["bias_ih"] + w["bias_hh"], atol=1e-6)
    # read from a state: the tracer hands it to the module as nn.RNN's [layers, batch, H]
    start = [LayerState(np.full(4, 2.0, np.float32)), LayerState(np.full(4, -1.0, np.float32))]
    later = trace(model, text, state=start)
    h0 = start[0].h.astype(np.float64)
    expected = w["weight_ih"] @ x0 + w["bias_ih"] + w["weight_hh"] @ h0 + w["bias_hh"]
    np.testing.assert_allclose(later.hidden[0][0], expected, atol=1e-5)


def test_a_task_model_has_no_decoder_and_traces_no_next_character_probability():
    model = CharRNN(model_config("scalar"))
    assert model.decoder is None and "decoder.weight" not in model.state_dict()
    tr = trace(model, "093")
    assert tr.probs.shape == (3, 0) and np.isnan(tr.next_char_prob()).all() and tr.annotations == {}


@pytest.mark.parametrize("kind", ["scalar", "one-hot", "embedding"])
def test_hand_set_weights_sum_every_triple_exactly(kind, tmp_path):
    """W = U = 1, b = 0 for a scalar; W_d = d for one-hot; an identity embedding with W_d = d. All
    1,000 triples, after a save and a load (the checkpoint holds no decoder)."""
    model = CharRNN(model_config(kind))
    if kind == "scalar":
        set_weights(model, [1.0], 1.0, 0.0)
    else:
        set_weights(model, np.arange(10.0), 1.0, 0.0)
        if kind == "embedding":
            with torch.no_grad():
                model.embed.weight.copy_(torch.eye(10))
    checkpoint.save(model, tmp_path / "m")
    loaded = checkpoint.load(tmp_path / "m")
    np.testing.assert_array_equal(predict(loaded, ALL_TRIPLES), ALL_TRIPLES.sum(axis=1))


def test_the_weights_view_reads_the_model_it_is_given(capsys, tmp_path):
    model = CharRNN(model_config("scalar"))
    set_weights(model, [1.0], 1.0, 0.25, -0.25)
    checkpoint.save(model, tmp_path / "m")
    view = json.loads(run_ok(capsys, "weights", "--model", str(tmp_path / "m"), "--json", "--triples", "4"))
    assert (view["W"], view["U"], view["b"], view["b_ih"], view["b_hh"]) == ([1.0], 1.0, 0.0, 0.25, -0.25)
    assert [t["x_W_plus_b"] for t in view["digit_terms"]] == list(range(10))
    assert view["largest_gap"]["value"] == 0.0
    triples = view["predictions"]["triples"]
    assert [t["prediction"] for t in triples] == [t["sum"] for t in triples]
    # change W and b: the view follows, every number of it
    set_weights(model, [2.0], 1.0, 0.5, 0.0)
    checkpoint.save(model, tmp_path / "m")
    view = json.loads(run_ok(capsys, "weights", "--model", str(tmp_path / "m"), "--json", "--triples", "4"))
    assert (view["W"], view["b"], view["W_gap"], view["b_gap"]) == ([2.0], 0.5, 1.0, 0.5)
    assert [t["x_W_plus_b"] for t in view["digit_terms"]] == [2 * d + 0.5 for d in range(10)]
    assert view["largest_gap"]["value"] == 9.5                                     # digit 9: 18.5 against 9
    for t in view["predictions"]["triples"]:                                        # h_3 = 2 (sum) + 3 b
        assert t["prediction"] == 2 * sum(map(int, t["digits"])) + 1.5
    text = run_ok(capsys, "weights", "--model", str(tmp_path / "m"))
    assert "W = 2.00000" in text and "b = 0.50000  (b_ih 0.50000 + b_hh 0.00000)" in text and "  9:  18.50000" in text


def test_the_weights_view_of_an_embedding_is_the_embedding_times_w_plus_b():
    """The seed's last step: E W + b per digit, computed here by hand from made-up numbers."""
    E = np.arange(20.0).reshape(10, 2)
    view = sum3_weights({"weight_ih": np.array([[0.5, -1.0]]), "weight_hh": np.array([[0.9]]),
                         "bias_ih": np.array([1.0]), "bias_hh": np.array([2.0])}, E, "embedding")
    assert [t["x_W"] for t in view["digit_terms"]] == [0.5 * E[d, 0] - E[d, 1] for d in range(10)]
    assert [t["x_W_plus_b"] for t in view["digit_terms"]] == [0.5 * E[d, 0] - E[d, 1] + 3.0 for d in range(10)]
    assert view["U_gap"] == pytest.approx(0.1) and "W_gap" not in view


# Shortened recipes (seeded) that reach the seed's weights in seconds; the seed's own recipes are the
# CLI's defaults (models/train_sum3.sh trains the shipped one with it).
@pytest.mark.parametrize("kind, recipe, tolerance", [
    ("scalar", dict(batch_size=8, lr=0.01, epochs=5, triples=2500, seed=1), 0.01),
    ("one-hot", dict(batch_size=16, lr=0.05, epochs=8, triples=4000, seed=1, cosine=True), 0.2),
])
def test_trained_models_find_the_seeds_weights(kind, recipe, tolerance, tmp_path):
    record = train_sum3(Sum3Config(input=kind, **recipe), tmp_path / "m", progress=None)
    model = checkpoint.load(tmp_path / "m")
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), kind)
    assert view["largest_gap"]["value"] < tolerance, view
    assert view["U_gap"] < tolerance
    if kind == "scalar":
        assert view["W_gap"] < tolerance and view["b_gap"] < tolerance
    assert record["final"]["val_rounded_correct"] == 1.0
    assert record["data"] == {"kind": "sum3", "triples": recipe["triples"], "trained_on": int(recipe["triples"] * 0.8),
                              "validated_on": recipe["triples"] // 5, "seed": 1}


def test_train_task_sum3_from_the_command_line_learns_the_embedding_form(capsys, tmp_path):
    out = run_ok(capsys, "train", "--task", "sum3", "--input", "embedding", "--triples", "2500", "--seed", "1",
                 "--threads", "1", "--quiet", "-o", str(tmp_path / "m"))
    assert "4 epochs of 2,000 triples, batch 8, Adam 0.01" in out       # the seed's recipe for an embedding
    view = json.loads(run_ok(capsys, "weights", "--model", str(tmp_path / "m"), "--json"))
    assert view["input"] == "embedding" and len(view["W"]) == 10
    assert view["largest_gap"]["value"] < 0.01 and view["U_gap"] < 0.01
    assert view["predictions"]["largest_error"]["value"] < 0.05


@pytest.mark.parametrize("flags, says", [
    (["--task", "sum3", "--hidden", "4"], "--hidden belongs to grammar or text training"),
    (["--task", "sum3", "--hid", "4", "--max-depth", "3"], "--hidden, --max-depth belong to grammar or text"),
    (["--task", "sum3", "--data", "x.txt"], "--data belongs to grammar or text training"),
    (["--task", "sum3", "--cell", "gru"], "--cell belongs"),          # even the default value, when given
    (["--input", "one-hot"], "--input goes with --task sum3"),
    (["--epochs", "2", "--cosine"], "--cosine, --epochs go with --task sum3"),
])
def test_a_task_flag_mixed_with_grammar_or_text_flags_is_refused_in_one_line(capsys, tmp_path, flags, says):
    line = run_error(capsys, "train", "-o", str(tmp_path / "m"), *flags)
    assert says in line
    assert not (tmp_path / "m").exists()


def test_the_weights_view_refuses_a_character_model(capsys, tmp_path):
    checkpoint.save(CharRNN(ModelConfig(vocab=list("ab"))), tmp_path / "m")
    line = run_error(capsys, "weights", "--model", str(tmp_path / "m"))
    assert line.endswith("the weights view reads a sum3 model (train one with rnnscope train --task sum3); "
                         "this is a 1-layer GRU with 15 units over 2 characters")


@pytest.mark.parametrize("fields, says", [
    (dict(vocab=list("ab"), scalar_input=True, embedding_dim=None), "a scalar input needs a vocabulary of digits"),
    (dict(vocab=list(DIGITS), scalar_input=True), "embedding_dim must be null"),
    (dict(vocab=list("ab"), task="sum3", hidden_size=1), "task 'sum3' needs a vocabulary of digits"),
    (dict(vocab=list(DIGITS), task="sum3"), "hidden_size must be 1, got 15"),
    (dict(vocab=list(DIGITS), task="sum4", hidden_size=1), "task must be one of ['sum3'] or null"),
    (dict(vocab=list("ab"), cell="gru", nonlinearity="linear"), "nonlinearity 'linear' is for cell 'rnn' only"),
])
def test_configs_that_make_no_sense_are_refused(fields, says):
    with pytest.raises(RnnscopeError, match=None) as e:
        ModelConfig(**fields)
    assert says in str(e.value)


def test_configs_of_models_without_the_new_fields_are_written_as_before():
    assert set(ModelConfig(vocab=list("ab")).to_dict()) == {"vocab", "cell", "hidden_size", "num_layers",
                                                            "embedding_dim", "bias"}
    one_hot = model_config("one-hot").to_dict()
    assert one_hot["task"] == "sum3" and "scalar_input" not in one_hot


SHIPPED = Path(__file__).resolve().parent.parent / "models" / "checkpoints" / "sum3-scalar"


def test_the_shipped_sum3_model_has_the_seeds_weights():
    model = checkpoint.load(SHIPPED)
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), "scalar")
    assert view["W_gap"] < 0.01 and view["U_gap"] < 0.01 and view["b_gap"] < 0.01, view
    np.testing.assert_allclose(predict(model, ALL_TRIPLES), ALL_TRIPLES.sum(axis=1), atol=0.01)


@pytest.mark.parametrize("command", [["sample", "--prime", "5"], ["eval", "--text", "589"]])
def test_commands_that_need_a_next_character_refuse_a_sum3_model(capsys, command):
    line = run_error(capsys, command[0], "--model", str(SHIPPED), *command[1:])
    assert line.endswith("a sum3 model predicts a sum, not the next character: nothing to "
                         f"{'sample' if command[0] == 'sample' else 'evaluate as a character model'}; "
                         "see what it learned with rnnscope weights")


def test_the_app_opens_a_sum3_model_on_a_new_triple_and_leaves_it_for_the_held_out_stream():
    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.app.pages.state import AppState
    from rnnscope.models.network.checkpoint import DEFAULT_CHECKPOINT
    state = AppState(SHIPPED)
    model = checkpoint.load(SHIPPED)
    assert state.source == "typed" and state.trace.text == "589" and state.error == ""
    ref = reference.run("rnn", numpy_weights(model), model.input_vectors("589"), 1, "linear")[0]["h"]
    np.testing.assert_allclose(state.trace.hidden[0], ref, atol=1e-5)     # the running sum: ~5, 13, 22
    frame = make_frame(state.trace)
    assert frame.values.shape == (1, 3) and np.isnan(frame.p_next).all()  # no next character predicted
    state.sample = True
    assert state.refusal == ("a sum3 model predicts a sum, not the next character: there is nothing to sample; "
                             "type three digits instead") and state.trace.text == "589"
    state.model_path = str(DEFAULT_CHECKPOINT.resolve())
    assert state.source == "held-out" and len(state.trace) == state.window and state.error == ""
