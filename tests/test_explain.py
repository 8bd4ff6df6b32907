"""Explain a value: the terms add up to the traced value for every cell type,
at a window's first step too (read from its carried state), and `rnnscope explain` prints them."""
from __future__ import annotations

import json

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
