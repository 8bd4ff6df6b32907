"""Importing a PyTorch model (models/interop/torch_import.py, `rnnscope import torch`): for every
cell type, bias or not, 1 and 2 layers, embedding or one-hot, the imported checkpoint's trace equals
the source modules' own hidden states and outputs on random inputs: torch's own forward pass is the
reference. What rnnscope cannot represent is refused with one line, and nothing is written."""
from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from rnnscope.models.network import checkpoint
from rnnscope.models.interop.torch_import import ImportRefused, import_state_dict_file, import_torch_module
from rnnscope.models.reading.tracer import trace
from rnnscope.cli import main
from doc_examples import run_worked_example

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

VOCAB = list("abcdefg")      # not the grammar's alphabet: the trace adds no annotations
V, E, H, T = len(VOCAB), 5, 6, 60
CELL_KINDS = [("gru", {}), ("lstm", {}), ("rnn", {"nonlinearity": "tanh"}), ("rnn", {"nonlinearity": "relu"})]
CASES = list(itertools.product(CELL_KINDS, [True, False], [1, 2], [True, False]))


class SourceModel(nn.Module):
    """A user's model, with its own module names and layout (not rnnscope's CharRNN)."""

    def __init__(self, cell, kwargs, bias, layers, embedded, batch_first, decoder_bias=True, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.batch_first = batch_first
        self.emb = nn.Embedding(V, E) if embedded else None
        self.core = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[cell](
            E if embedded else V, H, layers, bias=bias, batch_first=batch_first, dropout=0.1 if layers > 1 else 0,
            **kwargs)
        for p in self.core.parameters():   # wider than torch's init, so relu/tanh states reach far from 0
            nn.init.uniform_(p, -0.8, 0.8)
        self.head = nn.Linear(H, V, bias=decoder_bias)

    @torch.no_grad()
    def run(self, ids: torch.Tensor):
        """Top-layer h [T, H], logits [T, V] and the final (h_n, c_n) per layer, for one sequence, in the
        module's own layout (batch_first or time first)."""
        x = self.emb(ids) if self.emb is not None else nn.functional.one_hot(ids, V).float()
        x = x[None] if self.batch_first else x[:, None]
        out, state = self.core(x)
        out = out[0] if self.batch_first else out[:, 0]
        h_n, c_n = state if isinstance(state, tuple) else (state, None)
        return out, self.head(out), h_n[:, 0], None if c_n is None else c_n[:, 0]


def random_ids(seed: int = 1) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).integers(0, V, T))


def assert_trace_equals_source(model, src: SourceModel, ids: torch.Tensor) -> None:
    """Every layer's h at every step, the LSTM's final c, and the next-character probabilities,
    each against torch's own forward pass of the source modules, to 1e-5."""
    out, logits, h_n, c_n = src.run(ids)
    tr = trace(model, "".join(VOCAB[i] for i in ids))
    np.testing.assert_allclose(tr.hidden[-1], out.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(tr.probs, torch.softmax(logits, -1).numpy(), rtol=0, atol=1e-5)
    for k, s in enumerate(tr.final_state()):
        np.testing.assert_allclose(s.h, h_n[k].numpy(), rtol=0, atol=1e-5)
        if c_n is not None:
            np.testing.assert_allclose(s.c, c_n[k].numpy(), rtol=0, atol=1e-5)
    if len(tr.hidden) == 2:   # the lower layer at every step: the source's own first layer, run alone
        lower = type(src.core)(src.core.input_size, H, 1, bias=src.core.bias, batch_first=True,
                               **({"nonlinearity": src.core.nonlinearity} if isinstance(src.core, nn.RNN) else {}))
        lower.load_state_dict({k: v for k, v in src.core.state_dict().items() if k.endswith("_l0")})
        x = src.emb(ids) if src.emb is not None else nn.functional.one_hot(ids, V).float()
        with torch.no_grad():
            np.testing.assert_allclose(tr.hidden[0], lower(x[None])[0][0].numpy(), rtol=0, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(model(ids[None])[0][0].numpy(), logits.numpy(), rtol=0, atol=1e-5)


def case_id(case) -> str:
    (cell, kwargs), bias, layers, embedded = case
    return f"{kwargs.get('nonlinearity', '') or cell}-{'bias' if bias else 'nobias'}-L{layers}-" \
           f"{'embed' if embedded else 'onehot'}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_imported_module_saved_and_loaded_traces_as_the_source(case, tmp_path):
    (cell, kwargs), bias, layers, embedded = case
    batch_first = layers == 1          # both layouts, over the cases (the weights do not depend on it)
    src = SourceModel(cell, kwargs, bias, layers, embedded, batch_first).eval()
    model = import_torch_module(src.emb, src.core, src.head, VOCAB)
    cfg = model.config
    assert (cfg.cell, cfg.num_layers, cfg.bias, cfg.hidden_size) == (cell, layers, bias, H)
    assert cfg.embedding_dim == (E if embedded else None)
    assert cfg.nonlinearity == kwargs.get("nonlinearity", "tanh")
    loaded = checkpoint.load(checkpoint.save(model, tmp_path / "ck", training=model.training_record))
    assert loaded.training_record["imported"]["rnn"] == type(src.core).__name__
    assert_trace_equals_source(loaded, src, random_ids())


def write_files(tmp_path: Path, src: SourceModel, name_map: dict, vocab=VOCAB, extra=None):
    sd = {k: v.contiguous() for k, v in src.state_dict().items()} | (extra or {})
    save_file(sd, tmp_path / "w.safetensors")
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "map.json").write_text(json.dumps(name_map))
    return tmp_path / "w.safetensors", tmp_path / "vocab.json", tmp_path / "map.json"


@pytest.mark.parametrize("cell,kwargs,embedded", [("lstm", {}, True), ("rnn", {"nonlinearity": "relu"}, False)])
def test_cli_imports_a_state_dict_by_its_map_and_the_checkpoint_traces_as_the_source(tmp_path, capsys,
                                                                                      cell, kwargs, embedded):
    src = SourceModel(cell, kwargs, True, 2, embedded, batch_first=False, decoder_bias=False).eval()
    name_map = {"cell": cell, **kwargs, "embedding": "emb" if embedded else None, "rnn": "core", "decoder": "head"}
    files = write_files(tmp_path, src, name_map)
    code = main(["import", "torch", "--state-dict", str(files[0]), "--vocab", str(files[1]), "--map", str(files[2]),
                 "-o", str(tmp_path / "ck")])
    out = capsys.readouterr().out
    assert code == 0 and f"a 2-layer {cell.upper()}" in out and str(tmp_path / "ck") in out
    model = checkpoint.load(tmp_path / "ck")
    # the source has no decoder bias: the same function is a zero bias
    assert not model.decoder.bias.any() and model.training_record["imported"]["decoder_bias"] is False
    assert_trace_equals_source(model, src, random_ids(seed=3))


def test_a_vocabulary_object_maps_characters_to_their_rows(tmp_path):
    src = SourceModel("gru", {}, True, 1, True, True).eval()
    files = write_files(tmp_path, src, {"cell": "gru", "embedding": "emb", "rnn": "core", "decoder": "head"},
                        vocab={c: i for i, c in reversed(list(enumerate(VOCAB)))})
    assert import_state_dict_file(*files).config.vocab == VOCAB


def test_float64_weights_are_recorded_and_said(tmp_path, capsys):
    src = SourceModel("gru", {}, True, 1, True, True).double().eval()
    files = write_files(tmp_path, src, {"cell": "gru", "embedding": "emb", "rnn": "core", "decoder": "head"})
    assert main(["import", "torch", "--state-dict", str(files[0]), "--vocab", str(files[1]),
                 "--map", str(files[2]), "-o", str(tmp_path / "ck")]) == 0
    assert "(weights were float64; stored as float32)" in capsys.readouterr().out
    assert checkpoint.read_config(tmp_path / "ck")["training"]["imported"]["source_dtypes"] == ["float64"]


# --- refusals: one line naming the reason -----------------------------------------------------------

def refusal(embedding, rnn, decoder, vocab=VOCAB) -> str:
    with pytest.raises(ImportRefused) as info:
        import_torch_module(embedding, rnn, decoder, vocab)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_what_rnnscope_cannot_represent_is_refused_with_the_reason():
    emb, head = nn.Embedding(V, E), nn.Linear(H, V)
    assert "bidirectional" in refusal(emb, nn.GRU(E, H, bidirectional=True), head)
    assert "proj_size=3" in refusal(emb, nn.LSTM(E, H, proj_size=3), head)
    assert "max_norm" in refusal(nn.Embedding(V, E, max_norm=1.0), nn.GRU(E, H), head)
    assert "decoder maps 6 -> 9" in refusal(emb, nn.GRU(E, H), nn.Linear(H, V + 2))
    assert "decoder maps 4 -> 7" in refusal(emb, nn.GRU(E, H), nn.Linear(4, V))
    assert "embedding has 9 rows" in refusal(nn.Embedding(V + 2, E), nn.GRU(E, H), head)
    assert "reads inputs of size 5" in refusal(None, nn.GRU(E, H), head)               # one-hot would be 7 wide
    assert "reads inputs of size 4" in refusal(emb, nn.LSTM(4, H), head)
    gru = nn.GRU(E, H, 2)
    with torch.no_grad():
        gru.weight_hh_l1[3, 2] = float("nan")
    assert "the source's GRU's weight_hh_l1 holds NaN or infinite values" in refusal(emb, gru, head)
    assert "the recurrent module is a Linear" in refusal(emb, nn.Linear(E, H), head)

    class MyGRU(nn.GRU):     # a subclass may compute anything in forward: only torch's own class is imported
        pass
    assert "is a MyGRU" in refusal(emb, MyGRU(E, H), head)


def test_dropout_between_layers_is_accepted_it_acts_only_in_training():
    src = SourceModel("lstm", {}, True, 2, True, True).eval()
    assert src.core.dropout == 0.1
    assert_trace_equals_source(import_torch_module(src.emb, src.core, src.head, VOCAB), src, random_ids())


def cli_refusal(capsys, tmp_path, files) -> str:
    out = tmp_path / "ck"
    code = main(["import", "torch", "--state-dict", str(files[0]), "--vocab", str(files[1]), "--map", str(files[2]),
                 "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith("rnnscope import: error: ")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".ck")]
    return captured.err


def test_bad_state_dicts_and_maps_are_refused_naming_the_tensor_and_nothing_is_written(tmp_path, capsys):
    src = SourceModel("gru", {}, True, 2, True, True).eval()
    good = {"cell": "gru", "embedding": "emb", "rnn": "core", "decoder": "head"}
    assert "core.weight_ih_l0_reverse" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, extra={"core.weight_ih_l0_reverse": torch.zeros(3 * H, E)}))
    assert "['aux.weight']" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, extra={"aux.weight": torch.zeros(2)}))
    files = write_files(tmp_path, src, good | {"ignore": ["aux.weight"]}, extra={"aux.weight": torch.zeros(2)})
    assert import_state_dict_file(*files).config.num_layers == 2          # ignored on request, and only then
    assert "core.weight_ih_l0 has shape [18, 5]; an LSTM with 6 units (4 gate block(s)) reading 5 inputs " \
           "needs [24, 5]" in cli_refusal(capsys, tmp_path, write_files(tmp_path, src, good | {"cell": "lstm"}))
    assert "missing ['core.bias_hh_l1']" in cli_refusal(capsys, tmp_path, _without(tmp_path, src, good,
                                                                                   "core.bias_hh_l1"))
    assert "no tensors rnn.weight_ih_l0" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good | {"rnn": "rnn"}))
    assert "no tensor 'head.weight.weight'; the map names modules" in cli_refusal(
        capsys, tmp_path, write_files(tmp_path, src, good | {"decoder": "head.weight"}))
    assert "core.bias_hh_l0 holds NaN or infinite values" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, extra={"core.bias_hh_l0": torch.full((3 * H,), float("inf"))}))
    assert "unknown map key(s) ['layers']" in cli_refusal(capsys, tmp_path, write_files(tmp_path, src, good | {
        "layers": 2}))
    assert "nonlinearity" in cli_refusal(capsys, tmp_path, write_files(tmp_path, src, good | {
        "nonlinearity": "relu"}))                                          # a GRU has no choice of nonlinearity
    assert "a vocabulary is a JSON list" in cli_refusal(capsys, tmp_path, write_files(tmp_path, src, good,
                                                                                      vocab=["ab", "c"]))
    assert "entry 0 is \"ab\", not one character" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, vocab=["ab", "c"]))
    assert "'c' is both entry 1 and entry 3" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, vocab=["a", "c", "d", "c"]))
    assert "'a' and 'b' both map to 0" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, vocab={"a": 0, "b": 0}))
    assert "each once; 'a' maps to true" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, vocab={"a": True, "b": False}))                  # JSON true is no index
    assert "each once; 'b' maps to 2" in cli_refusal(capsys, tmp_path, write_files(
        tmp_path, src, good, vocab={"a": 0, "b": 2}))
    assert "embedding has 7 rows, but the vocabulary has 8" in cli_refusal(
        capsys, tmp_path, write_files(tmp_path, src, good, vocab=VOCAB + ["z"]))


def _without(tmp_path: Path, src: SourceModel, name_map: dict, name: str):
    sd = {k: v.contiguous() for k, v in src.state_dict().items() if k != name}
    files = write_files(tmp_path, src, name_map)
    save_file(sd, files[0])
    return files


def test_a_pickled_state_dict_is_refused_without_being_unpickled(tmp_path, capsys):
    """A torch.save file is a pickle: loading it could run code. This one would create a file if unpickled."""
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    src = SourceModel("gru", {}, True, 1, True, True)
    files = write_files(tmp_path, src, {"cell": "gru", "embedding": "emb", "rnn": "core", "decoder": "head"})
    files[0].write_bytes(pickle.dumps({"emb.weight": Payload()}))
    assert "never unpickles" in cli_refusal(capsys, tmp_path, files)
    assert not marker.exists()


def test_an_existing_checkpoint_is_replaced_only_with_force(tmp_path, capsys):
    src = SourceModel("rnn", {"nonlinearity": "relu"}, False, 1, False, True).eval()
    files = write_files(tmp_path, src, {"cell": "rnn", "nonlinearity": "relu", "embedding": None, "rnn": "core",
                                        "decoder": "head"})
    argv = ["import", "torch", "--state-dict", str(files[0]), "--vocab", str(files[1]), "--map", str(files[2]),
            "-o", str(tmp_path / "ck")]
    assert main(argv) == 0
    assert main(argv) == 2 and "give --force" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0
    assert checkpoint.load(tmp_path / "ck").config.nonlinearity == "relu"
    # an imported model records no training data: eval asks for text rather than guessing a grammar
    assert main(["eval", "--model", str(tmp_path / "ck")]) == 2
    assert capsys.readouterr().err == (f"rnnscope eval: error: {tmp_path / 'ck'} records no grammar it was trained "
                                       "on, and records no held-out text: give the text to evaluate on (rnnscope "
                                       "eval: --text, --file or --heldout FILE)\n")


def test_the_documented_example_runs_and_traces_as_the_source(tmp_path, monkeypatch, capsys):
    """docs/import-torch.md's worked example, run as written: its Python saves the files, its commands
    import and summarise them, and the checkpoint predicts what the user's modules predict."""
    namespace = run_worked_example("import-torch.md", tmp_path, monkeypatch)
    assert "a 2-layer LSTM with 16 units over 4 characters" in capsys.readouterr().out
    net, vocab = namespace["net"].eval(), namespace["vocab"]
    model = checkpoint.load(tmp_path / "my-lstm")
    ids = torch.as_tensor(np.random.default_rng(5).integers(0, len(vocab), 80))
    with torch.no_grad():
        out, (h_n, c_n) = net.lstm(net.tok(ids)[:, None])        # time first, as the user's module runs
        probs = torch.softmax(net.out(out[:, 0]), -1).numpy()
    tr = trace(model, "".join(vocab[i] for i in ids))
    np.testing.assert_allclose(tr.probs, probs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.stack([s.c for s in tr.final_state()]), c_n[:, 0].numpy(), rtol=0, atol=1e-5)


def test_a_carried_starting_state_reads_as_the_source_from_the_same_state():
    """Each layer's (h, c) given to the trace is the source's (h0, c0) for that layer, bottom first."""
    from rnnscope.models.reading.trace import LayerState
    src = SourceModel("lstm", {}, True, 2, False, batch_first=True).eval()
    model = import_torch_module(src.emb, src.core, src.head, VOCAB)
    rng = np.random.default_rng(7)
    h0, c0 = (torch.as_tensor(rng.uniform(-1, 1, (2, 1, H)), dtype=torch.float32) for _ in range(2))
    ids = random_ids(seed=9)
    with torch.no_grad():
        out, _ = src.core(nn.functional.one_hot(ids, V).float()[None], (h0, c0))
    tr = trace(model, "".join(VOCAB[i] for i in ids),
               state=[LayerState(h0[k, 0].numpy(), c0[k, 0].numpy()) for k in range(2)])
    np.testing.assert_allclose(tr.hidden[1], out[0].numpy(), rtol=0, atol=1e-5)


def test_the_imported_model_owns_its_weights_and_trains_like_any_checkpoint():
    """A copy, not a view: changing the source later changes nothing imported; its weights are
    parameters a trainer can update (the import builds them without a random init)."""
    src = SourceModel("gru", {}, True, 1, True, True).eval()
    model = import_torch_module(src.emb, src.core, src.head, VOCAB)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in src.parameters():
            p.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    params = list(model.parameters())
    assert len(params) == 7 and all(isinstance(p, nn.Parameter) and p.requires_grad and p.device.type == "cpu"
                                    for p in params)
