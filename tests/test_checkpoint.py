"""Checkpoints (docs/checkpoint-format.md): model.safetensors + config.json, never pickles; a corrupt
or mismatched file is refused with a message naming the file and what is wrong; writes are
atomic."""
from __future__ import annotations

import json
import os
import pickle
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.base.errors import CheckpointError, RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

VOCAB = grammar.GrammarSpec().alphabet
IDS = torch.as_tensor([[VOCAB.index(c) for c in grammar.generate(200, seed=2)]])


def make_model(cell="gru", hidden_size=15, num_layers=1, embedding_dim=15, seed=0) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(ModelConfig(vocab=VOCAB, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                               embedding_dim=embedding_dim)).eval()


@pytest.fixture
def ck(tmp_path) -> Path:
    """A freshly saved GRU-15 checkpoint."""
    return checkpoint.save(make_model(), tmp_path / "ck", training={"note": "fixture", "best": {"step": 3}})


def outputs(model: CharRNN) -> torch.Tensor:
    with torch.no_grad():
        return model(IDS)[0]


def edit_config(path: Path, change) -> None:
    config = json.loads((path / "config.json").read_text())
    change(config)
    (path / "config.json").write_text(json.dumps(config))


def refused(path: Path, *fragments: str) -> str:
    """Load must raise CheckpointError whose message contains every fragment (the file first)."""
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message
    return message


# --- round trip ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, layers, emb", [("gru", 1, 15), ("gru", 2, 4), ("lstm", 2, None), ("rnn", 1, None)])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, cell, layers, emb):
    model = make_model(cell, 6, layers, emb, seed=4)
    checkpoint.save(model, tmp_path / "ck")
    loaded = checkpoint.load(tmp_path / "ck")
    assert loaded.config == model.config
    assert not loaded.training  # ready to trace
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert torch.equal(outputs(loaded), outputs(model))


def test_tensor_names_are_the_state_dict_names(ck):
    with safe_open(ck / "model.safetensors", framework="pt") as f:
        shapes = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    assert shapes == {
        "embed.weight": (8, 15),
        "rnn.weight_ih_l0": (45, 15), "rnn.weight_hh_l0": (45, 15),
        "rnn.bias_ih_l0": (45,), "rnn.bias_hh_l0": (45,),
        "decoder.weight": (8, 15), "decoder.bias": (8,),
    }


def test_two_layer_one_hot_tensor_names(tmp_path):
    checkpoint.save(make_model("lstm", 4, 2, None), tmp_path / "ck")
    with safe_open(tmp_path / "ck" / "model.safetensors", framework="pt") as f:
        names = set(f.keys())
    assert names == {f"rnn.{w}_l{k}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for k in (0, 1)} \
        | {"decoder.weight", "decoder.bias"}


def test_config_json_holds_vocab_in_index_order_cell_sizes_and_training_record(ck):
    config = json.loads((ck / "config.json").read_text())
    assert config["format"] == "rnnscope-checkpoint" and config["version"] == 2
    assert config["model"] == {"vocab": [" ", "(", ")", "0", "1", "2", "3", "4"], "cell": "gru",
                               "hidden_size": 15, "num_layers": 1, "embedding_dim": 15, "bias": True}
    assert config["training"] == {"note": "fixture", "best": {"step": 3}}
    loaded = checkpoint.load(ck)
    assert loaded.training_record == {"note": "fixture", "best": {"step": 3}}
    # index order: the decoder's row i is the logit of vocab[i]
    assert loaded.vocab.decode([1, 0, 7]) == "( 4"


def test_a_relu_rnn_keeps_its_nonlinearity_through_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=VOCAB, cell="rnn", hidden_size=6, num_layers=2, nonlinearity="relu")).eval()
    checkpoint.save(model, tmp_path / "ck")
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["model"]["nonlinearity"] == "relu"
    loaded = checkpoint.load(tmp_path / "ck")
    assert loaded.rnn.nonlinearity == "relu"
    assert torch.equal(outputs(loaded), outputs(model))


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_a_model_without_biases_saves_and_loads(tmp_path, cell):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=VOCAB, cell=cell, hidden_size=5, num_layers=2, bias=False)).eval()
    checkpoint.save(model, tmp_path / "ck")
    with safe_open(tmp_path / "ck" / "model.safetensors", framework="pt") as f:
        assert not any("bias_" in name for name in f.keys())
    loaded = checkpoint.load(tmp_path / "ck")
    assert loaded.config.bias is False and loaded.rnn.bias is False
    assert torch.equal(outputs(loaded), outputs(model))


def test_a_version_1_config_without_the_new_keys_loads_as_tanh_with_biases(tmp_path):
    path = checkpoint.save(make_model("rnn", 4, 1, None), tmp_path / "ck")
    edit_config(path, lambda c: (c.update(version=1), c["model"].pop("bias"), c["model"].pop("nonlinearity")))
    loaded = checkpoint.load(path)
    assert (loaded.config.nonlinearity, loaded.config.bias, loaded.rnn.nonlinearity) == ("tanh", True, "tanh")


def test_config_json_of_a_gru_has_no_nonlinearity_key(ck):
    assert "nonlinearity" not in json.loads((ck / "config.json").read_text())["model"]


def test_the_shipped_default_checkpoint_loads():
    model = checkpoint.load(checkpoint.DEFAULT_CHECKPOINT)
    assert model.config.vocab == VOCAB
    assert torch.isfinite(outputs(model)).all()


# --- refusals: each message names the file and the problem ---------------------------------------

def test_missing_directory(tmp_path):
    refused(tmp_path / "nope", f"{tmp_path / 'nope'}: no such checkpoint directory")


def test_missing_config_json(ck):
    (ck / "config.json").unlink()
    refused(ck, f"{ck / 'config.json'}: missing")


def test_invalid_json(ck):
    (ck / "config.json").write_text('{"format": "rnnscope-checkpoint", ')
    refused(ck, f"{ck / 'config.json'}: not valid JSON")


def test_config_that_is_not_utf8(ck):
    (ck / "config.json").write_bytes(b"\xff\xfe\x00garbage")
    refused(ck, f"{ck / 'config.json'}: not valid JSON")


@pytest.mark.parametrize("format_marker", ["something-else", None])
def test_wrong_format_marker(ck, format_marker):
    edit_config(ck, lambda c: c.update(format=format_marker))
    refused(ck, f"{ck / 'config.json'}: not an rnnscope checkpoint config", "'rnnscope-checkpoint'")


def test_config_that_is_not_an_object(ck):
    (ck / "config.json").write_text("[1, 2, 3]")
    refused(ck, f"{ck / 'config.json'}: not an rnnscope checkpoint config")


def test_wrong_version(ck):
    edit_config(ck, lambda c: c.update(version=3))
    refused(ck, f"{ck / 'config.json'}: version 3 is not supported (this rnnscope reads versions 1, 2)")


def test_missing_model_section(ck):
    edit_config(ck, lambda c: c.pop("model"))
    refused(ck, f"{ck / 'config.json'}: no 'model' section")


@pytest.mark.parametrize("change, problem", [
    (lambda m: m.update(cell="xyz"), "cell must be one of ['gru', 'lstm', 'rnn'], got 'xyz'"),
    (lambda m: m.update(hidden_size=0), "hidden_size must be a positive integer, got 0"),
    (lambda m: m.update(hidden_size="15"), "hidden_size must be a positive integer, got '15'"),
    (lambda m: m.update(vocab=["a", "a"]), "a vocabulary is a list of distinct single characters"),
    (lambda m: m.update(vocab=[]), "a vocabulary is a list of distinct single characters"),
    (lambda m: m.update(embedding_dim=-3), "embedding_dim must be a positive integer or null"),
    (lambda m: m.update(dropout=0.5), "dropout"),
    (lambda m: m.update(nonlinearity="relu"), "nonlinearity 'relu' is for cell 'rnn' only"),
    (lambda m: m.update(cell="rnn", nonlinearity="gelu"),
     "nonlinearity must be one of ['tanh', 'relu', 'linear'], got 'gelu'"),
    (lambda m: m.update(bias="yes"), "bias must be true or false, got 'yes'"),
])
def test_invalid_model_section(ck, change, problem):
    edit_config(ck, lambda c: change(c["model"]))
    refused(ck, f"{ck / 'config.json'}: invalid model section", problem)


def test_missing_safetensors(ck):
    (ck / "model.safetensors").unlink()
    refused(ck, f"{ck / 'model.safetensors'}: missing")


def test_truncated_safetensors(ck):
    data = (ck / "model.safetensors").read_bytes()
    (ck / "model.safetensors").write_bytes(data[: len(data) // 2])
    refused(ck, f"{ck / 'model.safetensors'}: not a readable safetensors file")


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, np.random.default_rng(0).bytes(4096)])
def test_random_bytes(ck, content):
    (ck / "model.safetensors").write_bytes(content)
    refused(ck, f"{ck / 'model.safetensors'}: not a readable safetensors file")


def test_tensor_with_wrong_shape(tmp_path):
    path = checkpoint.save(make_model(hidden_size=16), tmp_path / "ck")
    edit_config(path, lambda c: c["model"].update(hidden_size=15))
    refused(path, f"{path / 'model.safetensors'}: tensor rnn.weight_ih_l0 has shape [48, 15]",
            "config.json (a 1-layer GRU with 15 units over 8 characters) needs [45, 15]")


def test_config_with_more_layers_than_the_file(ck):
    edit_config(ck, lambda c: c["model"].update(num_layers=2))
    refused(ck, f"{ck / 'model.safetensors'}: does not match config.json (a 2-layer GRU",
            "missing tensors ['rnn.bias_hh_l1', 'rnn.bias_ih_l1', 'rnn.weight_hh_l1', 'rnn.weight_ih_l1']")


def test_missing_tensor(ck):
    tensors = load_file(ck / "model.safetensors")
    del tensors["decoder.bias"]
    save_file(tensors, ck / "model.safetensors")
    refused(ck, f"{ck / 'model.safetensors'}: does not match config.json",
            "missing tensors ['decoder.bias'], unexpected tensors []")


def test_unexpected_tensor(ck):
    tensors = load_file(ck / "model.safetensors")
    tensors["extra.weight"] = torch.zeros(3)
    save_file(tensors, ck / "model.safetensors")
    refused(ck, f"{ck / 'model.safetensors'}: does not match config.json",
            "missing tensors [], unexpected tensors ['extra.weight']")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_values(ck, bad):
    tensors = load_file(ck / "model.safetensors")
    tensors["decoder.weight"][2, 3] = bad
    save_file(tensors, ck / "model.safetensors")
    refused(ck, f"{ck / 'model.safetensors'}: tensor decoder.weight contains NaN or infinite values")


class _Booby:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_renamed_to_safetensors_is_refused_and_never_executed(ck, tmp_path):
    marker = tmp_path / "unpickled"
    (ck / "model.safetensors").write_bytes(pickle.dumps({"decoder.weight": _Booby(marker)}))
    refused(ck, f"{ck / 'model.safetensors'}: not a readable safetensors file")
    assert not marker.exists()


def test_a_torch_save_file_renamed_to_safetensors_is_refused(ck, tmp_path):
    marker = tmp_path / "unpickled"
    torch.save({"x": _Booby(marker)}, ck / "model.safetensors")
    refused(ck, f"{ck / 'model.safetensors'}: not a readable safetensors file")
    assert not marker.exists()


def test_checkpoint_errors_are_user_errors():
    assert issubclass(CheckpointError, RnnscopeError)
    assert issubclass(RnnscopeError, ValueError)


# --- atomic writes -------------------------------------------------------------------------------

def test_saving_over_an_existing_checkpoint_replaces_it(ck, tmp_path):
    newer = make_model(seed=9)
    checkpoint.save(newer, ck, training={"note": "newer"})
    loaded = checkpoint.load(ck)
    assert torch.equal(outputs(loaded), outputs(newer))
    assert loaded.training_record == {"note": "newer"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    assert sorted(p.name for p in ck.iterdir()) == ["config.json", "model.safetensors"]


def test_saving_over_a_checkpoint_with_a_different_architecture(ck):
    lstm = make_model("lstm", 3, 2, None)
    checkpoint.save(lstm, ck)
    assert checkpoint.load(ck).config == lstm.config


def test_a_save_that_fails_midway_leaves_the_old_checkpoint_and_no_temporary_dirs(ck, tmp_path, monkeypatch):
    before = outputs(checkpoint.load(ck))
    config_before = (ck / "config.json").read_text()

    def crash(tensors, filename, *args, **kwargs):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(make_model(seed=9), ck)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    assert (ck / "config.json").read_text() == config_before
    assert torch.equal(outputs(checkpoint.load(ck)), before)


def test_a_first_save_that_fails_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "save_file", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(make_model(), tmp_path / "ck")
    assert list(tmp_path.iterdir()) == []


def test_save_creates_missing_parent_directories(tmp_path):
    path = checkpoint.save(make_model(), tmp_path / "a" / "b" / "ck")
    assert checkpoint.load(path).config.cell == "gru"


# --- never replace what is not a checkpoint --------------------------------------------------------

def test_saving_over_a_users_folder_is_refused_and_the_folder_survives(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match=r"precious: refusing to replace this directory: it holds"):
        checkpoint.save(make_model(), folder)
    assert (folder / "notes.txt").read_text() == "mine"


def test_saving_over_a_file_is_refused_and_the_file_survives(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine")
    with pytest.raises(CheckpointError, match="afile: exists and is not a checkpoint directory"):
        checkpoint.save(make_model(), target)
    assert target.read_text() == "mine"


def test_saving_over_an_empty_folder_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="it is not an rnnscope checkpoint"):
        checkpoint.save(make_model(), tmp_path / "empty")


def test_saved_files_follow_the_umask_not_mkstemp_0600(ck):
    import os
    mask = os.umask(0)
    os.umask(mask)
    assert ck.stat().st_mode & 0o777 == 0o777 & ~mask
    for name in ("config.json", "model.safetensors"):
        assert (ck / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_update_record_rewrites_the_record_and_keeps_the_weights(ck):
    before = outputs(checkpoint.load(ck))
    checkpoint.update_record(ck, {"note": "full history", "history": [1, 2, 3]})
    assert json.loads((ck / "config.json").read_text())["training"]["history"] == [1, 2, 3]
    assert torch.equal(outputs(checkpoint.load(ck)), before)


# --- crash safety: a kill at any point of a save leaves a findable checkpoint ----------------------

def _kill_self(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _crash_during_temp_write(monkeypatch):
    def half(tensors, filename, *args, **kwargs):
        Path(filename).write_bytes(b"half a file")
        _kill_self()
    monkeypatch.setattr(checkpoint, "save_file", half)


def _crash_before_exchange(monkeypatch):
    monkeypatch.setattr(checkpoint, "_exchange", _kill_self)


def _crash_after_exchange(monkeypatch):
    exchange = checkpoint._exchange
    monkeypatch.setattr(checkpoint, "_exchange", lambda a, b: (exchange(a, b), _kill_self()))


def _crash_between_fallback_renames(monkeypatch):
    """Where renameat2 cannot exchange: old -> .NAME.old-PID has happened, new -> NAME has not."""
    monkeypatch.setattr(checkpoint, "_exchange", lambda a, b: False)
    replace, calls = os.replace, []

    def second_kills(src, dst):
        calls.append(src)
        if len(calls) == 2:
            _kill_self()
        replace(src, dst)
    monkeypatch.setattr(checkpoint.os, "replace", second_kills)


def _crash_after_fallback_renames(monkeypatch):
    monkeypatch.setattr(checkpoint, "_exchange", lambda a, b: False)
    monkeypatch.setattr(checkpoint.shutil, "rmtree", _kill_self)


def killed_while_saving(monkeypatch, crash, model, path) -> int:
    """Save ``model`` to ``path`` in a forked child that SIGKILLs itself at the crash point; its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            crash(monkeypatch)
            checkpoint.save(model, path, training={"note": "newer"})
        finally:
            os._exit(0)   # reaching here means the crash point was never hit
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the child was not killed"
    return pid


@pytest.mark.parametrize("crash, survivor", [
    (_crash_during_temp_write, "old"), (_crash_before_exchange, "old"), (_crash_after_exchange, "new"),
    (_crash_between_fallback_renames, "old"), (_crash_after_fallback_renames, "new"),
])
def test_a_save_killed_at_any_point_leaves_a_whole_checkpoint_and_the_next_load_cleans_up(
        ck, tmp_path, monkeypatch, capsys, crash, survivor):
    old, new = checkpoint.load(ck), make_model(seed=9)
    killed_while_saving(monkeypatch, crash, new, ck)
    loaded = checkpoint.load(ck)
    assert torch.equal(outputs(loaded), outputs(old if survivor == "old" else new))
    assert loaded.training_record["note"] == ("fixture" if survivor == "old" else "newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"], "the dead writer's leftovers are removed"
    if crash is _crash_between_fallback_renames:
        assert "restored the previous checkpoint" in capsys.readouterr().err


def test_a_save_after_an_interrupted_one_recovers_first_and_then_replaces(ck, tmp_path, monkeypatch):
    killed_while_saving(monkeypatch, _crash_between_fallback_renames, make_model(seed=9), ck)
    assert not ck.exists()
    newest = make_model(seed=11)
    checkpoint.save(newest, ck)
    assert torch.equal(outputs(checkpoint.load(ck)), outputs(newest))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_a_live_writers_temporaries_are_never_removed(ck, tmp_path):
    live = [tmp_path / f".ck.tmp-{os.getpid()}-abcd", tmp_path / f".ck.old-{os.getppid()}"]
    for p in live:
        p.mkdir()
    checkpoint.load(ck)
    checkpoint.save(make_model(seed=3), ck)
    assert all(p.is_dir() for p in live)


def test_exchange_swaps_two_directories_atomically_where_supported(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "was_a").touch()
    if not checkpoint._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) unsupported here; the fallback is tested above")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["was_a"]
    assert list((tmp_path / "a").iterdir()) == []


# --- the documented format: its worked example runs -------------------------------------------------

FORMAT_DOC = Path(__file__).resolve().parent.parent / "docs" / "checkpoint-format.md"


def test_the_documented_hand_saved_torch_model_loads_and_traces(tmp_path, monkeypatch):
    """The worked example in docs/checkpoint-format.md, run as written: what it saves loads,
    predicts exactly what the hand-built torch modules predict, and traces."""
    import re

    from rnnscope.models.reading.tracer import trace
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    example = doc.split("## Worked example", 1)[1]
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(FORMAT_DOC), "exec"), namespace)
    model = checkpoint.load(tmp_path / "my-gru")
    assert (model.config.cell, model.config.hidden_size, model.config.embedding_dim) == ("gru", 12, 10)
    text = "( 1 ( 2 ) 1 ) 0 "
    ids = torch.as_tensor(model.vocab.encode(text))[None]
    with torch.no_grad():
        by_hand = namespace["decoder"](namespace["gru"](namespace["embed"](ids))[0])
        torch.testing.assert_close(model(ids)[0], by_hand, rtol=0, atol=1e-6)
    tr = trace(model, text)
    assert tr.hidden[0].shape == (len(text), 12) and set(tr.views) == {"h", "r", "z", "n"}
    np.testing.assert_allclose(tr.probs, torch.softmax(by_hand, -1)[0].numpy(), atol=1e-5)


def test_the_format_doc_lists_every_model_config_key():
    from dataclasses import fields
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    for f in fields(ModelConfig):
        assert f"`model.{f.name}`" in doc, f.name


def test_a_config_saying_no_bias_over_weights_with_biases_names_the_extra_tensors(ck):
    edit_config(ck, lambda c: c["model"].update(bias=False))
    refused(ck, f"{ck / 'model.safetensors'}: does not match config.json (a 1-layer GRU with 15 units over 8 "
                f"characters, without biases)", "unexpected tensors ['rnn.bias_hh_l0', 'rnn.bias_ih_l0']")
