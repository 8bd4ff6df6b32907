"""What an outside user met importing their own models: tied weights (pytorch/examples' RNNModel with
tie_weights: encoder.weight is decoder.weight) saved by the documented recipes import and predict as the
source; an nn.RNN's map must say its nonlinearity; a Keras SavedModel directory is refused with the
SavedModel reason; a config.json with a key rnnscope does not know is refused in the project's words."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file, save_model
from torch import nn

from rnnscope.models.network import checkpoint
from rnnscope.models.reading.tracer import trace
from rnnscope.cli import main

torch.set_num_threads(1)

VOCAB = list("abcdefgh ")
V = len(VOCAB)


class TiedRNNModel(nn.Module):
    """pytorch/examples' word_language_model RNNModel with tie_weights=True (ninp == nhid)."""

    def __init__(self, width=8):
        super().__init__()
        torch.manual_seed(3)
        self.encoder = nn.Embedding(V, width)
        self.rnn = nn.LSTM(width, width, 2)
        self.decoder = nn.Linear(width, V)
        self.decoder.weight = self.encoder.weight


def _import(tmp_path, weights, name_map=None):
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    (tmp_path / "map.json").write_text(json.dumps(name_map or {"cell": "lstm", "embedding": "encoder", "rnn": "rnn",
                                                               "decoder": "decoder"}))
    return main(["import", "torch", "--state-dict", str(weights), "--vocab", str(tmp_path / "vocab.json"), "--map",
                 str(tmp_path / "map.json"), "-o", str(tmp_path / "ck")])


def _assert_predicts_as(net, path):
    ids = torch.as_tensor(np.random.default_rng(1).integers(0, V, 40))
    with torch.no_grad():
        out, _ = net.rnn(net.encoder(ids)[:, None])
        probs = torch.softmax(net.decoder(out[:, 0]), -1).numpy()
    np.testing.assert_allclose(trace(checkpoint.load(path), "".join(VOCAB[i] for i in ids)).probs, probs,
                               rtol=0, atol=1e-5)


def test_tied_weights_saved_by_save_model_import_with_the_plain_map(tmp_path, capsys):
    net = TiedRNNModel().eval()
    save_model(net, str(tmp_path / "net.safetensors"))          # leaves one of the tied names out
    assert _import(tmp_path, tmp_path / "net.safetensors") == 0, capsys.readouterr().err
    _assert_predicts_as(net, tmp_path / "ck")
    record = json.loads((tmp_path / "ck" / "config.json").read_text())["training"]["imported"]
    assert record["tied"] in ({"encoder.weight": "decoder.weight"}, {"decoder.weight": "encoder.weight"})


def test_tied_weights_saved_by_the_documented_save_file_recipe_import(tmp_path, capsys):
    net = TiedRNNModel().eval()
    with pytest.raises(RuntimeError, match="share memory"):     # what the old recipe met
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / "old.safetensors")
    save_file({k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}, tmp_path / "net.safetensors")
    assert _import(tmp_path, tmp_path / "net.safetensors") == 0, capsys.readouterr().err
    _assert_predicts_as(net, tmp_path / "ck")


def test_a_missing_tied_embedding_is_refused_with_the_way_out(tmp_path, capsys):
    net = TiedRNNModel().eval()
    save_file({k: v.detach().clone() for k, v in net.state_dict().items() if k != "encoder.weight"},
              tmp_path / "net.safetensors")
    assert _import(tmp_path, tmp_path / "net.safetensors") == 2
    err = capsys.readouterr().err
    assert "no tensor 'encoder.weight'" in err and "say \"embedding\": 'decoder' in the map" in err
    assert _import(tmp_path, tmp_path / "net.safetensors", {"cell": "lstm", "embedding": "decoder", "rnn": "rnn",
                                                            "decoder": "decoder"}) == 0
    _assert_predicts_as(net, tmp_path / "ck")


def test_an_rnn_map_without_its_nonlinearity_is_refused(tmp_path, capsys):
    torch.manual_seed(0)
    rnn = nn.RNN(4, 5, nonlinearity="relu")
    tensors = {f"rnn.{k}": v.detach().clone() for k, v in rnn.state_dict().items()}
    tensors |= {"emb.weight": torch.randn(V, 4), "out.weight": torch.randn(V, 5), "out.bias": torch.zeros(V)}
    save_file(tensors, tmp_path / "w.safetensors")
    name_map = {"cell": "rnn", "embedding": "emb", "rnn": "rnn", "decoder": "out"}
    assert _import(tmp_path, tmp_path / "w.safetensors", name_map) == 2
    err = capsys.readouterr().err
    assert "cell 'rnn' needs \"nonlinearity\": \"tanh\" or \"relu\" in the map" in err
    assert not (tmp_path / "ck").exists()
    assert _import(tmp_path, tmp_path / "w.safetensors", name_map | {"nonlinearity": "relu"}) == 0
    assert checkpoint.load(tmp_path / "ck").config.nonlinearity == "relu"


def test_a_saved_model_directory_is_refused_with_the_saved_model_reason(tmp_path, capsys):
    saved = tmp_path / "saved"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"\x08\x01")
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    assert main(["import", "keras", str(saved), "--vocab", str(tmp_path / "vocab.json"), "-o",
                 str(tmp_path / "ck")]) == 2
    err = capsys.readouterr().err
    assert "a directory (a TensorFlow SavedModel)" in err and "save it with model.save('m.keras')" in err
    assert "no such file" not in err


def test_an_unknown_model_key_is_refused_in_the_projects_words(tmp_path, capsys):
    net = TiedRNNModel().eval()
    save_model(net, str(tmp_path / "net.safetensors"))
    assert _import(tmp_path, tmp_path / "net.safetensors") == 0
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["model"]["dropout"] = 0.2
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    assert main(["summary", "--model", str(tmp_path / "ck")]) == 2
    err = capsys.readouterr().err
    assert "unknown model key(s) ['dropout']; the keys are ['vocab', 'cell'" in err and "__init__" not in err
    config["model"]["vocab"] = VOCAB[:-1] + ["a"]
    config["model"].pop("dropout")
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    assert main(["summary", "--model", str(tmp_path / "ck")]) == 2
    assert "'a' is both entry 0 and entry 8" in capsys.readouterr().err
