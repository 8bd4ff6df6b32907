"""Import a Keras 3 character model: [an ``Embedding``, or one-hot input] -> one or more ``SimpleRNN`` /
``GRU`` / ``LSTM`` layers (all of one kind and width, returning sequences) -> a ``Dense`` over the
vocabulary (softmax or linear), saved as ``.keras`` (``import_keras_file``) or given as the model object
(``import_keras_model``, which needs Keras). The result is a CharRNN whose trace equals Keras' own outputs.

A ``.keras`` file is a zip of config.json (the layers and their settings) and model.weights.h5 (the
variables). Both are read as data, with json and h5py: no code from the file runs, nothing is unpickled,
and Keras itself is not needed. The weights are turned into torch's layout and handed to the torch
importer (torch_import.import_torch_module), so both frameworks land in the checkpoint through one path.

Keras' layout, and torch's (docs/import-keras.md has the derivation):
- a kernel is [inputs, units * gates] (x @ W); torch's weight_ih is [gates * units, inputs] (W @ x): transpose;
- GRU gate blocks are z, r, h; torch's are r, z, n: swap the first two blocks. With ``reset_after=True``
  (Keras 3's default) r multiplies (W_hh h + b_hh), exactly torch's GRU, and the bias is [2, 3 * units]:
  row 0 the input bias, row 1 the recurrent one. Both update h = z * h_prev + (1 - z) * candidate;
- LSTM gate blocks are i, f, c, o, torch's i, f, g, o: the same order; one bias (torch's bias_hh is 0);
- SimpleRNN: one block and one bias.

Refused, each with one line naming the layer and the setting: a GRU with ``reset_after=False`` (r scales
h before the recurrent matmul, which torch's GRU cannot compute), ``go_backwards``, ``Bidirectional``,
activations other than tanh (SimpleRNN: tanh, relu or linear) and sigmoid, masking, a middle layer that
returns only its last step, layers of different kinds or widths, Lambda and custom layers, branching
graphs, float16 compute, a NaN or infinite weight. Accepted because they do not change what a trained
model computes on one sequence from the zero state: dropout (training only), ``Dropout`` layers,
``stateful`` (the trace starts from the zero state, as after ``reset_states()``), ``unroll``,
``return_state``, regularisers, constraints and initialisers (``unit_forget_bias``); and the same
computation written another way: the Dense inside ``TimeDistributed`` (a Dense applies at every step
anyway), a final ``Softmax`` or ``Activation("softmax")`` after a linear Dense (rnnscope's softmax)."""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnscope.models.network.linear_rnn import LinearRNN
from rnnscope.models.network.model import CharRNN
from rnnscope.models.interop.common import ImportRefused, read_vocab
from rnnscope.models.interop.keras_config import RECURRENT, model_chain, name_of
from rnnscope.models.interop.torch_import import import_torch_module

GRU_TO_TORCH = [1, 0, 2]          # Keras' z, r, h blocks, in torch's order r, z, n

# Each layer's variables in the order Keras creates (and saves) them, to name them in messages
VARIABLE_NAMES = {"Embedding": ["embeddings"], "Dense": ["kernel", "bias"],
                  "RNN": ["kernel", "recurrent_kernel", "bias"]}
WeightReader = Callable[[int, dict], list[np.ndarray]]   # (layer's index in the chain, its config) -> variables


# --- entry points ----------------------------------------------------------------------------------

def import_keras_file(path: str | Path, vocab: str | Path | list[str]) -> CharRNN:
    """The files of `rnnscope import keras`: a ``.keras`` model and its vocabulary (a JSON file, or the list)."""
    path = Path(path)
    chars = vocab if isinstance(vocab, list) else read_vocab(vocab)
    with _open_zip(path) as archive:
        config = _zip_json(archive, path, "config.json")
        version = _zip_json(archive, path, "metadata.json").get("keras_version", "?")
        if not str(version).startswith("3."):
            raise ImportRefused(f"{path}: saved by Keras {version}; rnnscope reads files of Keras 3")
        try:
            chain = model_chain(config, str(path))
        except (KeyError, TypeError, AttributeError, IndexError) as e:   # a field missing or of the wrong type
            raise ImportRefused(f"{path}: its config.json is not a Keras model's config (at {e!r})") from None
        weights_file = io.BytesIO(archive.read("model.weights.h5"))   # read in memory: nothing is extracted
    import h5py   # here, not at the top: the object path and --help do not need it
    try:
        h5 = h5py.File(weights_file, "r")
    except OSError as e:
        raise ImportRefused(f"{path}: its model.weights.h5 is not a readable HDF5 file ({e})") from None
    with h5:
        model = import_chain(chain, _h5_reader(h5, config, str(path)), chars, str(path))
    model.training_record["imported"] |= {"file": str(path), "keras_version": version}
    return model


def import_keras_model(keras_model, vocab: list[str]) -> CharRNN:
    """A CharRNN of a Keras model object (Keras 3, any backend; import Keras with KERAS_BACKEND=torch set
    before its first import to stay on torch). Its layers must be Keras' own classes, as in a file."""
    import keras
    config = keras.saving.serialize_keras_object(keras_model)   # what model.save writes as config.json
    chain = model_chain(config, f"the {type(keras_model).__name__}")

    def weights(k: int, layer: dict) -> list[np.ndarray]:
        return [keras.ops.convert_to_numpy(v) for v in keras_model.get_layer(layer["config"]["name"]).weights]

    model = import_chain(chain, weights, list(vocab), f"the {type(keras_model).__name__}")
    model.training_record["imported"] |= {"keras_version": keras.__version__}
    return model


# --- the weights, in torch's layout ---------------------------------------------------------------

def import_chain(chain: list[dict], read: WeightReader, vocab: list[str], source: str) -> CharRNN:
    """torch's modules holding the chain's weights, through the torch importer; every variable checked
    by name (its count, shape and finiteness) before anything is built."""
    weights, width = [], None       # width: what the previous layer outputs (None: read off the first kernel)
    for k, layer in enumerate(chain):
        weights.append(_checked_weights(k, layer, read, width, source))
        width = layer["config"].get("output_dim") or layer["config"].get("units")
    embedded = chain[0]["class_name"] == "Embedding"
    embedding = nn.Embedding.from_pretrained(_t(weights[0][0]), freeze=True) if embedded else None
    rnn_layers = chain[1 if embedded else 0:-1]
    rnn = _recurrent_module(rnn_layers, weights[1 if embedded else 0:-1], source)
    dense = weights[-1]
    decoder = nn.Linear(dense[0].shape[0], dense[0].shape[1], bias=len(dense) == 2)
    decoder.load_state_dict({"weight": _t(dense[0].T), **({"bias": _t(dense[1])} if len(dense) == 2 else {})})
    model = import_torch_module(embedding, rnn, decoder, vocab)
    biased = [layer["config"].get("use_bias", True) for layer in rnn_layers]
    model.training_record["imported"] = {
        "from": "keras", "layers": [f"{x['class_name']}:{name_of(x)}" for x in chain],
        "source_dtypes": sorted({str(a.dtype) for w in weights for a in w}),
        "decoder_bias": len(dense) == 2, "zero_biases_added_to": [name_of(x) for x, b in zip(rnn_layers, biased)
                                                                  if not b and any(biased)]}
    return model


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _expected_shapes(layer: dict, inputs: int | None) -> list[tuple]:
    """The variables Keras creates for the layer, in order; None where the width is read off the kernel."""
    c, kind = layer["config"], layer["class_name"]
    if kind == "Embedding":
        return [(c["input_dim"], c["output_dim"])]
    if kind == "Dense":
        return [(inputs, c["units"])] + ([(c["units"],)] if c.get("use_bias", True) else [])
    gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[kind] * c["units"]
    bias = (2, gates) if kind == "GRU" and c.get("reset_after", True) else (gates,)
    return [(inputs, gates), (c["units"], gates)] + ([bias] if c.get("use_bias", True) else [])


def _checked_weights(k: int, layer: dict, read: WeightReader, width: int | None, source: str) -> list[np.ndarray]:
    """Layer k's variables, checked against its config and the width of what it reads; a first layer
    fed one-hot vectors has its width read off its kernel (the torch importer then checks it is V)."""
    arrays = read(k, layer)
    kind = layer["class_name"]
    names = VARIABLE_NAMES.get(kind, VARIABLE_NAMES["RNN"])
    if width is None and arrays and arrays[0].ndim == 2:
        width = arrays[0].shape[0]
    expected = _expected_shapes(layer, width)
    shapes = [tuple(a.shape) for a in arrays]
    if shapes != expected:
        raise ImportRefused(f"{source}: {kind} layer {name_of(layer)!r} holds variables of shapes {shapes}; its config "
                            f"({layer['config'].get('units', '')} units) needs {expected}")
    for name, a in zip(names, arrays):
        if not np.issubdtype(a.dtype, np.floating):
            raise ImportRefused(f"{source}: {kind} layer {name_of(layer)!r}: its {name} holds {a.dtype}, not floats")
        if not np.isfinite(a).all():
            raise ImportRefused(f"{source}: {kind} layer {name_of(layer)!r}: its {name} holds NaN or infinite values")
    return arrays


def _recurrent_module(layers: list[dict], weights: list[list[np.ndarray]], source: str) -> nn.Module:
    """torch's nn.RNN / nn.GRU / nn.LSTM (or rnnscope's LinearRNN for a linear SimpleRNN) of the layers."""
    kind, units = layers[0]["class_name"], layers[0]["config"]["units"]
    activation = layers[0]["config"]["activation"]
    if len({x["config"]["activation"] for x in layers}) > 1:
        raise ImportRefused(f"{source}: its SimpleRNN layers use activations "
                            f"{[x['config']['activation'] for x in layers]}; rnnscope's layers share one")
    bias = any(x["config"].get("use_bias", True) for x in layers)
    state = {}
    for k, arrays in enumerate(weights):
        state |= _torch_tensors(kind, k, arrays, units, bias)
    inputs = weights[0][0].shape[0]
    with torch.device("meta"):   # no random init of weights about to be replaced (most of the time for big models)
        if kind == "SimpleRNN" and activation == "linear":
            rnn = LinearRNN(inputs, units, len(layers), batch_first=True, bias=bias)
        else:
            cls = {"SimpleRNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[kind]
            rnn = cls(inputs, units, len(layers), bias=bias, batch_first=True,
                      **({"nonlinearity": activation} if kind == "SimpleRNN" else {}))
    rnn.load_state_dict(state, strict=True, assign=True)
    return rnn


def _torch_tensors(kind: str, k: int, arrays: list[np.ndarray], units: int, bias: bool) -> dict[str, torch.Tensor]:
    """Layer k's Keras variables as torch's weight_ih_lk, weight_hh_lk, bias_ih_lk, bias_hh_lk. A layer
    without a bias among layers with one gets zero biases: the same function, in a module of one bias flag."""
    kernel, recurrent = arrays[0].T, arrays[1].T       # [gates * units, inputs]: torch multiplies W @ x
    gates = kernel.shape[0]
    b = arrays[2] if len(arrays) == 3 else np.zeros(gates, np.float32)
    b_ih, b_hh = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros_like(b))
    if kind == "GRU":
        order = np.concatenate([np.arange(g * units, (g + 1) * units) for g in GRU_TO_TORCH])
        kernel, recurrent, b_ih, b_hh = kernel[order], recurrent[order], b_ih[order], b_hh[order]
    out = {f"weight_ih_l{k}": kernel, f"weight_hh_l{k}": recurrent}
    if bias:
        out |= {f"bias_ih_l{k}": b_ih, f"bias_hh_l{k}": b_hh}
    return {name: _t(a) for name, a in out.items()}


# --- reading the file ------------------------------------------------------------------------------

def _saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def _open_zip(path: Path) -> zipfile.ZipFile:
    if path.is_dir():     # a Keras 2 / TensorFlow SavedModel is a directory (saved_model.pb, variables/)
        what = "a TensorFlow SavedModel" if _saved_model(path) else "no saved_model.pb in it"
        raise ImportRefused(f"{path}: a directory ({what}), not a .keras file; a SavedModel of Keras 2 is not read: "
                            f"load it in Keras 3 and save it with model.save('m.keras')")
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ImportRefused(f"{path}: not a .keras file (a zip of config.json and model.weights.h5): {e}; "
                            f"an .h5 or SavedModel of Keras 2 is not read: save with Keras 3's model.save('m.keras')"
                            ) from None
    missing = {"config.json", "metadata.json", "model.weights.h5"} - set(archive.namelist())
    if missing:
        archive.close()
        raise ImportRefused(f"{path}: a .keras file holds config.json, metadata.json and model.weights.h5; "
                            f"missing {sorted(missing)}")
    return archive


def _zip_json(archive: zipfile.ZipFile, path: Path, member: str) -> dict:
    try:
        data = json.loads(archive.read(member).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ImportRefused(f"{path}: its {member} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ImportRefused(f"{path}: its {member} is not a JSON object")
    return data


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: how Keras names a layer's group in model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _h5_groups(config: dict) -> dict[str, str]:
    """Each layer's group in model.weights.h5, by layer name. Keras names groups by class, not by the
    layer's own name ('gru', 'gru_1', ... in the order of model.layers, which for a Sequential leaves
    out the InputLayer): keras.src.saving.saving_lib._save_container_state."""
    layers = config["config"]["layers"]
    if config["class_name"] == "Sequential" and layers and layers[0]["class_name"] == "InputLayer":
        layers = layers[1:]
    used: dict[str, int] = {}
    groups = {}
    for layer in layers:
        base = _snake(layer["class_name"])
        used[base] = used.get(base, -1) + 1
        groups[name_of(layer)] = f"layers/{base}" + (f"_{used[base]}" if used[base] else "")
    return groups


def _h5_reader(h5, config: dict, source: str) -> WeightReader:
    groups = _h5_groups(config)

    def read(k: int, layer: dict) -> list[np.ndarray]:
        group = groups[name_of(layer)] + ("/cell/vars" if layer["class_name"] in RECURRENT else
                                        "/layer/vars" if layer.get("wrapped_in") else "/vars")
        if group not in h5:
            raise ImportRefused(f"{source}: model.weights.h5 has no {group} for layer {name_of(layer)!r}")
        variables = h5[group]
        if sorted(variables) != sorted(str(i) for i in range(len(variables))):
            raise ImportRefused(f"{source}: model.weights.h5's {group} holds {sorted(variables)}, not variables 0..n-1")
        return [np.asarray(variables[str(i)]) for i in range(len(variables))]
    return read
