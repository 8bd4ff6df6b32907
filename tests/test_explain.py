"""Explain a value: the terms add up to the traced value for every cell type,
at a window's first step too (read from its carried state), and `rnnscope explain` prints them."""
from __future__ import annotations

import json

import numpy as np

import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.describe.explain import explain
from rnnscope.models.reading import tracer
from rnnscope.models.reading.context import StreamReader
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.cli import main


torch.set_num_threads(1)

TEXT = grammar.generate(400, seed=11)
KINDS = {"gru": dict(cell="gru"), "lstm": dict(cell="lstm"), "rnn-relu": dict(cell="rnn", nonlinearity="relu"),
         "gru-no-bias": dict(cell="gru", bias=False), "lstm-one-hot": dict(cell="lstm", embedding_dim=None)}


def model_of(kind: str, layers: int = 2) -> CharRNN:
    torch.manual_seed(4)
    kw = {"embedding_dim": 4, **KINDS[kind]}
    return CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=5, num_layers=layers, **kw)).eval()


def explained(model, tr, layer, cell, step, top=5):
    x, names = ((model.input_vectors(tr.text)[step], model.input_names()) if layer == 0 else
                (tr.hidden[layer - 1][step], [f"cell {j}" for j in range(5)]))
    return explain(tr, model.layer_arrays(layer), x, names, layer, cell, step, model.config.nonlinearity, top=top)


@pytest.mark.parametrize("kind", KINDS)
def test_the_terms_add_up_to_the_traced_value(kind):
    model = model_of(kind)
    tr = tracer.trace(model, TEXT)
    for layer, cell, step in [(0, 0, 0), (0, 3, 57), (1, 4, 123), (1, 1, 399)]:
        r = explained(model, tr, layer, cell, step, top=100)
        assert r["difference"] < 1e-5, r
        for name, g in r["gates"].items():
            # the GRU candidate reads r * recurrent; every other gate input + recurrent
            assert g["pre"] == pytest.approx(g["input"] + g.get("reset_times_recurrent", g["recurrent"]), abs=1e-9)
            # every term is listed with top=100: they add up to the parts (biases aside)
            assert sum(t["term"] for t in g["top_recurrent"]) + g["bias_recurrent"] == pytest.approx(g["recurrent"])
            assert sum(t["term"] for t in g["top_input"]) + g["bias_input"] == pytest.approx(g["input"])
            if name in tr.gates[layer]:
                assert g["value"] == pytest.approx(float(tr.gates[layer][name][step, cell]), abs=1e-5)


def test_a_windows_first_step_is_explained_from_its_carried_state():
    model = model_of("lstm")
    window = StreamReader(model, TEXT, stride=50).trace(175, 40)
    r = explained(model, window, 1, 2, 0)
    assert r["difference"] < 1e-5
    assert r["c_prev"] == pytest.approx(float(tracer.trace(model, TEXT).gates[1]["c"][174, 2]), abs=1e-5)


def test_cli_explain_json_and_text(capsys, default_model):
    assert main(["explain", "--model", str(default_model), "--index", "5000", "--window", "50", "--cell", "2",
                 "--step", "10", "--json", "--threads", "1"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["cell"], r["step"], r["layer"]) == (2, 10, 0) and r["difference"] < 1e-5
    assert set(r["gates"]) == {"r", "z", "n"} and "h = (1 \u2212 z)\u00b7n + z\u00b7h_prev" in r["equation"]
    assert main(["explain", "--model", str(default_model), "--text", "( 1 ( 2 ) 1 ) 0 ", "--cell", "0",
                 "--step", "3", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "cell 0 of layer 0 at step 3" in out and "traced h =" in out


@pytest.mark.parametrize("argv, message", [
    (["--cell", "15", "--step", "0"], "cell 15 does not exist"),
    (["--cell", "0", "--step", "8"], "--step 8 is outside the sequence (0 .. 7)"),
    (["--cell", "0", "--step", "0", "--layer", "1"], "--layer 1 does not exist"),
])
def test_cli_explain_errors_are_one_line(capsys, default_model, argv, message):
    assert main(["explain", "--model", str(default_model), "--text", "( 1 ) 0 ", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_the_first_layer_s_input_is_one_term_named_by_the_character():
    model = model_of("gru")
    tr = tracer.trace(model, TEXT)
    step = 57
    r = explained(model, tr, 0, 3, step)
    W = model.layer_arrays(0)["weight_ih"]
    x = model.input_vectors(TEXT)[step]
    for k, g in enumerate(r["gates"].values()):      # the gates in the weights' row order (r, z, n)
        (term,) = g["top_input"]
        assert term["from"] == f"input {TEXT[step]!r}"
        assert term["term"] == pytest.approx(float(W[k * 5 + 3] @ x))      # the whole W_i x, by hand
        assert [t["from"] for t in g["input_dims"]][0].startswith("embedding ")    # the dimensions, apart


def hand_gru(z_bias: float, n_bias: float, driver: float):
    """A GRU-2 whose cell 0 reads only cell 1 through the candidate (weight ``driver``), its update gate
    held at sigmoid(z_bias): what cell 0 does is known by construction."""
    model = model_of("gru", layers=1)
    H = 5
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.zero_()
        model.rnn.bias_ih_l0[H + 0] = z_bias            # z of cell 0
        model.rnn.bias_ih_l0[2 * H + 0] = n_bias        # the candidate's input bias
        model.rnn.bias_ih_l0[2 * H + 1] = 3.0           # cell 1 is driven to tanh(3) at every step
        model.rnn.weight_hh_l0[2 * H + 0, 1] = driver   # cell 0's candidate reads cell 1
        model.rnn.bias_ih_l0[0:H] = 10.0                # reset gates open: the candidate reads all of h
    return model


def test_the_reading_names_the_gate_and_the_largest_term():
    model = hand_gru(z_bias=-10.0, n_bias=0.1, driver=-4.0)
    tr = tracer.trace(model, TEXT[:20])
    r = explained(model, tr, 0, 0, 5)
    n = float(np.tanh(0.1 - 4.0 * np.tanh(3.0)))
    assert r["reading"].startswith(f"z = 0.00: the cell takes its candidate {n:+.2f}, driven mostly by cell 1 (")
    kept = explained(hand_gru(z_bias=10.0, n_bias=0.1, driver=-4.0), tr, 0, 0, 5)
    assert kept["reading"].startswith("z = 1.00: the cell keeps its previous value")


@pytest.mark.parametrize("kind", ["lstm", "rnn-relu"])
def test_every_cell_type_has_a_reading_from_its_own_numbers(kind):
    model = model_of(kind)
    tr = tracer.trace(model, TEXT)
    r = explained(model, tr, 1, 2, 40)
    assert f"h = {r['h']:+.2f}" in r["reading"] or f"= {r['h']:+.2f}" in r["reading"]
    if kind == "lstm":
        assert r["reading"].startswith(f"f = {r['gates']['f']['value']:.2f}, i = {r['gates']['i']['value']:.2f}")
    else:
        assert r["reading"].startswith(f"a = {r['gates']['a']['pre']:+.2f}, driven mostly by ")
