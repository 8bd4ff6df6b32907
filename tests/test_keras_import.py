"""Importing a Keras 3 model (models/interop/keras_import.py, `rnnscope import keras`): for SimpleRNN
(tanh, relu, linear), GRU and LSTM, with and without biases, 1 and 2 layers, embedding or one-hot input,
the checkpoint imported from the .keras file (CLI) and from the model object traces as Keras itself runs
the model on random inputs: every layer's h, the final c, the probabilities, to 1e-5. Keras' own forward
pass (on its torch backend) is the reference. What rnnscope cannot represent is refused with one line,
exit 2, and nothing is written."""
from __future__ import annotations

import io
import itertools
import json
import os
import sys
import zipfile
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"   # before Keras' first import: it picks its backend once, then

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.interop.keras_import import import_keras_file, import_keras_model  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402
from rnnscope.cli import main  # noqa: E402
from doc_examples import run_worked_example  # noqa: E402

torch.set_num_threads(1)
# Keras' own variable -> NumPy conversion calls np.array(x) on torch tensors; NumPy 2 warns about it
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
assert keras.backend.backend() == "torch"

VOCAB = list("abcdefg")
V, E, H, T = len(VOCAB), 5, 6, 50
KINDS = [("SimpleRNN", "tanh"), ("SimpleRNN", "relu"), ("SimpleRNN", "linear"), ("GRU", "tanh"), ("LSTM", "tanh")]
# bias x layers x embedding, pairwise: every value of each beside every value of the others
VARIANTS = [(True, 1, True), (False, 2, False), (True, 2, False), (False, 1, True)]
CASES = list(itertools.product(KINDS, VARIANTS))


def randomise(model: keras.Model, seed: int, recurrent_scale: float) -> None:
    """Weights far from Keras' small initial ones, so gates and states use their whole range; the
    recurrent kernel of an unbounded (relu, linear) SimpleRNN smaller, so 50 steps do not blow up."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        names = [v.path.rsplit("/", 1)[-1] for v in layer.weights]
        layer.set_weights([rng.uniform(-1, 1, w.shape).astype("float32")
                           * (recurrent_scale if name == "recurrent_kernel" else 0.8)
                           for name, w in zip(names, layer.get_weights())])


def build(kind, activation, bias, layers, embedded, softmax=True, seed=0, **rnn_kwargs):
    """A functional Keras model, and a second one over the same layers giving every recurrent layer's
    sequence, its final state(s) and the Dense output: Keras' own answers to compare with."""
    cls = getattr(keras.layers, kind)
    inp = keras.Input((None,), dtype="int32") if embedded else keras.Input((None, V))
    x = keras.layers.Embedding(V, E)(inp) if embedded else inp
    seqs, finals = [], []
    for _ in range(layers):
        extra = {"activation": activation} if kind == "SimpleRNN" else {}
        out = cls(H, return_sequences=True, return_state=True, use_bias=bias, **extra, **rnn_kwargs)(x)
        x = out[0]
        seqs.append(out[0])
        finals.append(out[1:])          # (h,) or LSTM's (h, c)
    y = keras.layers.Dense(V, activation="softmax" if softmax else "linear")(x)
    model = keras.Model(inp, y)
    randomise(model, seed, 0.3 if activation in ("relu", "linear") else 0.8)
    reference = keras.Model(inp, [*seqs, *[s for f in finals for s in f], y])
    return model, reference


def keras_answers(reference, ids: np.ndarray, layers: int, lstm: bool, softmax: bool, embedded: bool):
    x = ids[None] if embedded else np.eye(V, dtype="float32")[ids][None]
    outs = [keras.ops.convert_to_numpy(o)[0] for o in reference(x, training=False)]
    seqs, states, y = outs[:layers], outs[layers:-1], outs[-1]
    per_layer = 2 if lstm else 1
    finals = [states[k * per_layer:(k + 1) * per_layer] for k in range(layers)]
    probs = y if softmax else np.exp(y - y.max(-1, keepdims=True)) / np.exp(y - y.max(-1, keepdims=True)).sum(
        -1, keepdims=True)
    return seqs, finals, probs


def assert_traces_as_keras(model, reference, layers, lstm, softmax, embedded, seed=1):
    ids = np.random.default_rng(seed).integers(0, V, T)
    seqs, finals, probs = keras_answers(reference, ids, layers, lstm, softmax, embedded)
    tr = trace(model, "".join(VOCAB[i] for i in ids))
    assert len(tr.hidden) == layers
    for k in range(layers):
        np.testing.assert_allclose(tr.hidden[k], seqs[k], rtol=0, atol=1e-5)
        state = tr.final_state()[k]
        np.testing.assert_allclose(state.h, finals[k][0], rtol=0, atol=1e-5)
        if lstm:
            np.testing.assert_allclose(state.c, finals[k][1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(tr.probs, probs, rtol=0, atol=1e-5)


def write_vocab(tmp_path: Path, vocab=VOCAB) -> Path:
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    return tmp_path / "vocab.json"


def case_id(case) -> str:
    (kind, activation), (bias, layers, embedded) = case
    return f"{kind}-{activation}-{'bias' if bias else 'nobias'}-L{layers}-{'embed' if embedded else 'onehot'}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_the_file_and_the_object_import_trace_as_keras(case, tmp_path, capsys):
    (kind, activation), (bias, layers, embedded) = case
    softmax = layers == 1                       # a softmax Dense and a linear (logits) one, over the cases
    model, reference = build(kind, activation, bias, layers, embedded, softmax)
    model.save(tmp_path / "m.keras")
    assert main(["import", "keras", str(tmp_path / "m.keras"), "--vocab", str(write_vocab(tmp_path)),
                 "-o", str(tmp_path / "ck")]) == 0
    assert str(tmp_path / "ck") in capsys.readouterr().out
    from_file = checkpoint.load(tmp_path / "ck")
    cell = {"SimpleRNN": "rnn", "GRU": "gru", "LSTM": "lstm"}[kind]
    cfg = from_file.config
    assert (cfg.cell, cfg.num_layers, cfg.bias, cfg.hidden_size, cfg.embedding_dim) == \
        (cell, layers, bias, H, E if embedded else None)
    assert cfg.nonlinearity == (activation if kind == "SimpleRNN" else "tanh")
    assert from_file.training_record["imported"]["from"] == "keras"
    lstm = kind == "LSTM"
    assert_traces_as_keras(from_file, reference, layers, lstm, softmax, embedded)
    assert_traces_as_keras(import_keras_model(model, VOCAB), reference, layers, lstm, softmax, embedded, seed=2)


def test_a_stateful_sequential_with_dropout_and_a_layer_without_bias_traces_as_keras(tmp_path):
    """Keras names weight groups by class ('gru', 'gru_1'), not by the layers' own names, and leaves a
    Sequential's InputLayer out of the count; dropout acts only in training; a layer without biases
    beside one with them gets zero biases (the same function); a stateful layer's first call starts
    from the zero state, as a trace does."""
    model = keras.Sequential([keras.Input(batch_shape=(1, None), dtype="int32"),
                              keras.layers.Embedding(V, E, name="chars"),
                              keras.layers.GRU(H, return_sequences=True, use_bias=False, dropout=0.3,
                                               recurrent_dropout=0.2, name="lower"),
                              keras.layers.Dropout(0.5, name="drop"),
                              keras.layers.GRU(H, return_sequences=True, stateful=True, name="upper"),
                              keras.layers.Dense(V, name="head")])
    randomise(model, 3, 0.8)
    model.save(tmp_path / "s.keras")
    imported = import_keras_file(tmp_path / "s.keras", write_vocab(tmp_path))
    assert imported.training_record["imported"]["zero_biases_added_to"] == ["lower"]
    assert not imported.rnn.bias_ih_l0.any() and not imported.rnn.bias_hh_l0.any()
    inp = model.layers[0].input
    reference = keras.Model(inp, [model.get_layer("lower").output, model.get_layer("upper").output,
                                      model.get_layer("head").output])
    ids = np.random.default_rng(4).integers(0, V, T)
    lower, upper, logits = (keras.ops.convert_to_numpy(o)[0] for o in reference(ids[None], training=False))
    tr = trace(imported, "".join(VOCAB[i] for i in ids))
    np.testing.assert_allclose(tr.hidden[0], lower, rtol=0, atol=1e-5)
    np.testing.assert_allclose(tr.hidden[1], upper, rtol=0, atol=1e-5)
    np.testing.assert_allclose(tr.probs, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), rtol=0, atol=1e-5)


def test_the_gru_mapping_by_hand_one_step():
    """One GRU step worked out from Keras' own equations (keras/src/layers/rnn/gru.py, reset_after=True)
    with NumPy, from the Keras variables: z, r, h blocks of x @ kernel; r scales (h @ recurrent + b_rec);
    h' = z * h + (1 - z) * candidate. The imported model's first step from h0 gives the same h'."""
    model, _ = build("GRU", "tanh", True, 1, False, seed=5)
    kernel, recurrent, bias = model.layers[1].get_weights()
    rng = np.random.default_rng(6)
    h0 = rng.uniform(-1, 1, H).astype("float32")
    x = np.eye(V, dtype="float32")[2]
    xs, hs = x @ kernel + bias[0], h0 @ recurrent + bias[1]
    sig = lambda a: 1 / (1 + np.exp(-a))   # noqa: E731
    z, r = sig(xs[:H] + hs[:H]), sig(xs[H:2 * H] + hs[H:2 * H])
    candidate = np.tanh(xs[2 * H:] + r * hs[2 * H:])
    expected = z * h0 + (1 - z) * candidate
    from rnnscope.models.reading.trace import LayerState
    tr = trace(import_keras_model(model, VOCAB), VOCAB[2], state=[LayerState(h0, None)])
    np.testing.assert_allclose(tr.hidden[0][0], expected, rtol=0, atol=1e-6)


# --- refusals: one line, exit 2, nothing written -----------------------------------------------------

def refused(tmp_path: Path, capsys, model: keras.Model, vocab=VOCAB) -> str:
    model.save(tmp_path / "m.keras")
    out = tmp_path / "ck"
    code = main(["import", "keras", str(tmp_path / "m.keras"), "--vocab", str(write_vocab(tmp_path, vocab)),
                 "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith("rnnscope import: error: ")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".ck")]
    return captured.err


def chain(*layers, embedded=True) -> keras.Model:
    inp = keras.Input((None,), dtype="int32") if embedded else keras.Input((None, V))
    x = keras.layers.Embedding(V, E)(inp) if embedded else inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


def seq(**kwargs):
    return {"return_sequences": True} | kwargs


def test_what_rnnscope_cannot_represent_is_refused_naming_the_layer_and_setting(tmp_path, capsys):
    L, dense = keras.layers, lambda: keras.layers.Dense(V)
    cases = [
        (chain(L.GRU(H, reset_after=False, **seq(), name="g"), dense()),
         "GRU layer 'g' has reset_after=False: r scales h before the recurrent matmul"),
        (chain(L.LSTM(H, go_backwards=True, **seq(), name="back"), dense()), "'back' has go_backwards=True"),
        (chain(L.Bidirectional(L.GRU(H, **seq()), name="bi"), dense()), "layer 'bi' is a Bidirectional"),
        (chain(L.SimpleRNN(H, activation="sigmoid", **seq(), name="s"), dense()),
         "SimpleRNN layer 's' has activation='sigmoid'"),
        (chain(L.GRU(H, recurrent_activation="hard_sigmoid", **seq(), name="g"), dense()),
         "recurrent_activation='hard_sigmoid'"),
        (chain(L.GRU(H, name="last"), dense()), "GRU layer 'last' has return_sequences=False"),
        (chain(L.GRU(H, name="mid"), L.RepeatVector(3), L.GRU(H, **seq()), dense()), "'repeat_vector"),
        (chain(L.GRU(H, **seq(), name="a"), L.LSTM(H, **seq(), name="b"), dense()),
         "[('a', 'GRU', 6), ('b', 'LSTM', 6)]; rnnscope's layers are all of one kind and width"),
        (chain(L.GRU(H, **seq(), name="a"), L.GRU(H + 1, **seq(), name="b"), dense()), "('b', 'GRU', 7)"),
        (chain(L.GRU(H, **seq()), L.Lambda(lambda t: t * 2, name="code"), dense()),
         "layer 'code' is a Lambda: it holds Python code"),
        (chain(L.GRU(H, **seq()), L.Dense(V, activation="relu", name="head")),
         "Dense 'head' has activation='relu'"),
        (chain(L.GRU(H, **seq()), L.Dense(V + 1)), "the decoder maps 6 -> 8"),
        (chain(L.GRU(H, **seq(), dtype="mixed_float16", name="half"), dense()),
         "layer 'half' computes with dtype policy 'mixed_float16'"),
    ]
    masked = keras.Input((None,), dtype="int32")
    x = L.Embedding(V, E, mask_zero=True, name="m")(masked)
    cases.append((keras.Model(masked, L.Dense(V)(L.GRU(H, **seq())(x))), "Embedding 'm' has mask_zero=True"))
    twice = keras.Input((None,), dtype="int32")       # one layer applied twice: its weights would be shared
    shared = L.GRU(H, **seq(), name="shared")
    cases.append((keras.Model(twice, L.Dense(V)(shared(shared(L.Embedding(V, H)(twice))))),
                  "layer 'shared' does not read just the output of"))
    for model, expected in cases:
        assert expected in refused(tmp_path, capsys, model), expected


def test_a_nan_weight_is_refused_naming_it(tmp_path, capsys):
    model, _ = build("LSTM", "tanh", True, 2, True)
    layer = model.layers[3]          # input, embedding, lstm, lstm_1
    kernel, recurrent, bias = layer.get_weights()
    recurrent[1, 2] = np.nan
    layer.set_weights([kernel, recurrent, bias])
    assert f"LSTM layer '{layer.name}': its recurrent_kernel holds NaN or infinite values" in refused(tmp_path, capsys,
                                                                                                    model)


class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2


def test_files_that_are_not_keras_3_models_are_refused(tmp_path, capsys):
    keras.saving.register_keras_serializable("tests")(Doubler)
    assert "is a tests>Doubler; rnnscope imports Keras' own" in refused(
        tmp_path, capsys, chain(keras.layers.GRU(H, **seq()), Doubler(), keras.layers.Dense(V)))
    vocab, out = write_vocab(tmp_path), tmp_path / "ck"
    good, _ = build("GRU", "tanh", True, 2, True)
    good.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    weights = io.BytesIO(members["model.weights.h5"])
    with h5py.File(weights, "r+") as h5:            # the upper layer's kernel reading 7 inputs, not the lower's 6
        del h5["layers/gru_1/cell/vars/0"]
        h5["layers/gru_1/cell/vars/0"] = np.zeros((H + 1, 3 * H), "float32")
    config = json.loads(members["config.json"])
    del config["config"]["layers"][2]["config"]["units"]
    for name, replaced in [("wide.keras", {"model.weights.h5": weights.getvalue()}),
                           ("broken.keras", {"config.json": json.dumps(config).encode()})]:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for member, data in (members | replaced).items():
                archive.writestr(member, data)
    for path, expected in [
            (tmp_path / "wide.keras", "GRU layer 'gru_"),
            (tmp_path / "wide.keras", "holds variables of shapes [(7, 18), (6, 18), (2, 18)]; its config (6 units) "
                                      "needs [(6, 18), (6, 18), (2, 18)]"),
            (tmp_path / "broken.keras", "its config.json is not a Keras model's config (at KeyError('units'))"),
    ]:
        assert main(["import", "keras", str(path), "--vocab", str(vocab), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.splitlines()) == 1 and not out.exists(), err
    (tmp_path / "old.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    for path, expected in [(tmp_path / "old.h5", "not a .keras file"), (tmp_path / "nope.keras", "no such file")]:
        assert main(["import", "keras", str(path), "--vocab", str(vocab), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.splitlines()) == 1 and not out.exists()


def test_an_existing_checkpoint_is_replaced_only_with_force(tmp_path, capsys):
    model, _ = build("SimpleRNN", "relu", False, 1, False)
    model.save(tmp_path / "m.keras")
    argv = ["import", "keras", str(tmp_path / "m.keras"), "--vocab", str(write_vocab(tmp_path)), "-o",
            str(tmp_path / "ck")]
    assert main(argv) == 0
    assert main(argv) == 2 and "give --force" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0


def test_the_command_needs_no_keras(tmp_path, monkeypatch):
    """`rnnscope import keras` reads the file as data: it runs where Keras cannot be imported at all."""
    model, reference = build("GRU", "tanh", True, 1, True)
    model.save(tmp_path / "m.keras")
    monkeypatch.setitem(sys.modules, "keras", None)       # None: any `import keras` now raises ImportError
    with pytest.raises(ImportError):
        import keras  # noqa: F401, F811
    assert main(["import", "keras", str(tmp_path / "m.keras"), "--vocab", str(write_vocab(tmp_path)),
                 "-o", str(tmp_path / "ck")]) == 0
    assert_traces_as_keras(checkpoint.load(tmp_path / "ck"), reference, 1, False, True, True)


def test_the_documented_example_runs_and_traces_as_keras(tmp_path, monkeypatch, capsys):
    """docs/import-keras.md's worked example, run as written: its Python saves the files, its commands
    import and summarise them, and the checkpoint predicts what the user's Keras model predicts."""
    namespace = run_worked_example("import-keras.md", tmp_path, monkeypatch)
    assert "a 2-layer LSTM with 16 units over 4 characters" in capsys.readouterr().out
    net, vocab = namespace["net"], namespace["vocab"]
    ids = np.random.default_rng(5).integers(0, len(vocab), 80)
    probs = keras.ops.convert_to_numpy(net(ids[None], training=False))[0]
    tr = trace(checkpoint.load(tmp_path / "my-lstm"), "".join(vocab[i] for i in ids))
    np.testing.assert_allclose(tr.probs, probs, rtol=0, atol=1e-5)


def test_a_time_distributed_dense_and_a_final_softmax_import_as_the_dense_they_compute(tmp_path, capsys):
    """The tutorials' char-RNN head, TimeDistributed(Dense) then Softmax (or Activation("softmax")),
    computes what a plain Dense with softmax does: it imports, from the file and from the object, and
    traces to Keras' own probabilities. What changes the output is refused."""
    L = keras.layers
    heads = {"time_distributed": [L.TimeDistributed(L.Dense(V), name="td"), L.Softmax(name="sm")],
             "activation": [L.Dense(V, name="d"), L.Activation("softmax", name="act")]}
    ids = np.random.default_rng(5).integers(0, V, T)
    for name, head in heads.items():
        model = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(V, E), L.Dropout(0.1),
                                  L.LSTM(H, return_sequences=True), *head])
        randomise(model, 3, 0.8)
        model.save(tmp_path / f"{name}.keras")
        out = tmp_path / f"ck-{name}"
        assert main(["import", "keras", str(tmp_path / f"{name}.keras"), "--vocab", str(write_vocab(tmp_path)),
                     "-o", str(out)]) == 0
        capsys.readouterr()
        expected = keras.ops.convert_to_numpy(model(ids[None], training=False))[0]
        for imported in (checkpoint.load(out), import_keras_model(model, VOCAB)):
            np.testing.assert_allclose(trace(imported, "".join(VOCAB[i] for i in ids)).probs, expected,
                                       rtol=0, atol=1e-5)
    cases = [
        (chain(L.GRU(H, **seq()), L.TimeDistributed(L.LayerNormalization(), name="tn"), L.Dense(V)),
         "TimeDistributed 'tn' wraps a LayerNormalization; rnnscope imports a TimeDistributed only around "
         "Keras' own Dense"),
        (chain(L.GRU(H, **seq()), L.Dense(V, activation="softmax", name="d"), L.Softmax(name="twice")),
         "the final Softmax 'twice' follows Dense 'd' with activation='softmax'"),
        (chain(L.GRU(H, **seq()), L.Dense(V), L.Softmax(axis=1, name="across")),
         "ends in Softmax 'across' (axis=1)"),
        (chain(L.GRU(H, **seq()), L.Dense(V), L.Activation("relu", name="r")),
         "ends in Activation 'r' (activation='relu')"),
        (chain(L.GRU(H, **seq()), L.Softmax(name="mid"), L.Dense(V)), "Softmax 'mid' is not the last layer"),
    ]
    for model, expected in cases:
        assert expected in refused(tmp_path, capsys, model), expected
