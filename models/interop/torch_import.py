"""Import a PyTorch character model built from torch's own modules: an ``nn.Embedding`` (or
one-hot input), an ``nn.GRU`` / ``nn.LSTM`` / ``nn.RNN`` and an ``nn.Linear`` decoder, given as
module objects (``import_torch_module``) or as a safetensors state dict with a map of its tensor
names (``import_state_dict_file``). The result is a CharRNN whose trace equals the source's own
outputs: the checkpoint format stores exactly torch's tensors (docs/checkpoint-format.md), so an
import is a check that rnnscope can represent the model, then a copy.

What rnnscope cannot represent is refused with one line saying why, never approximated:
bidirectional layers (a trace reads left to right), an LSTM's ``proj_size`` (h would not be
hidden_size wide), an embedding with ``max_norm`` (torch rescales rows at lookup), sizes that do
not agree with the vocabulary. Dropout only acts in training, so it is accepted. Pickles are never
loaded: a state dict comes only as safetensors."""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from rnnscope.models.network.linear_rnn import LinearRNN
from rnnscope.models.network.model import CELLS, CharRNN, ModelConfig
from rnnscope.models.interop.common import ImportRefused, read_json, read_vocab  # noqa: F401  (read_vocab: this module's API)

GATE_BLOCKS = {"gru": 3, "lstm": 4, "rnn": 1}   # row blocks stacked in each weight (r,z,n | i,f,g,o | one)
MAP_KEYS = {"cell", "nonlinearity", "embedding", "rnn", "decoder", "ignore"}


# --- from module objects ---------------------------------------------------------------------------

@torch.no_grad()
def import_torch_module(embedding: nn.Embedding | None, rnn: nn.Module, decoder: nn.Linear,
                        vocab: list[str]) -> CharRNN:
    """A CharRNN holding the modules' weights (float32, on the CPU). ``embedding`` None: the first
    layer reads one-hot vectors of len(vocab). ``vocab[i]`` is input index i and decoder row i.
    A decoder without a bias gets a zero bias (the same function; the format always has one).
    ``model.training_record["imported"]`` records the source (its modules, dtype)."""
    cell = _cell_of(rnn)
    _check_representable(rnn)
    V = len(vocab)
    config = ModelConfig(vocab=list(vocab), cell=cell, hidden_size=rnn.hidden_size, num_layers=rnn.num_layers,
                         embedding_dim=_embedding_dim(embedding, V), bias=bool(rnn.bias),
                         nonlinearity=getattr(rnn, "nonlinearity", "tanh") if cell == "rnn" else "tanh")
    expected_input = config.embedding_dim or V
    if rnn.input_size != expected_input:
        what = f"the embedding's width {config.embedding_dim}" if embedding is not None else f"one-hot vectors of {V}"
        raise ImportRefused(f"the {type(rnn).__name__} reads inputs of size {rnn.input_size}, but it would be fed "
                            f"{what} (the vocabulary has {V} characters)")
    _check_decoder(decoder, rnn.hidden_size, V)
    with torch.device("meta"):       # no random init of weights about to be replaced (most of the time for big models)
        model = CharRNN(config)
    tensors = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    if embedding is not None:
        tensors["embed.weight"] = embedding.weight
    tensors["decoder.weight"] = decoder.weight
    tensors["decoder.bias"] = decoder.bias if decoder.bias is not None else torch.zeros(V)
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()})
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:   # the checkpoint format refuses them; say so now, naming the source's module
        raise ImportRefused(f"the source's {_source_name(bad[0], rnn, embedding, decoder)} holds NaN or "
                            f"infinite values")
    model.load_state_dict({k: v.detach().to("cpu", torch.float32, copy=True) for k, v in tensors.items()},
                          strict=True, assign=True)   # copies: the checkpoint shares no memory with the source
    model.training_record = {"imported": {"from": "torch", "rnn": type(rnn).__name__, "source_dtypes": dtypes,
                                          "decoder_bias": decoder.bias is not None}}
    return model.eval()


def _source_name(ours: str, rnn: nn.Module, embedding, decoder) -> str:
    """Our tensor name as the source module calls it: 'rnn.weight_hh_l1' -> 'GRU's weight_hh_l1'."""
    module, name = ours.split(".", 1)
    owner = {"rnn": rnn, "embed": embedding, "decoder": decoder}[module]
    return f"{type(owner).__name__}'s {name}"


def _cell_of(rnn: nn.Module) -> str:
    if type(rnn) is LinearRNN:   # rnnscope's own identity-activation RNN (Keras' linear SimpleRNN comes in as one)
        return "rnn"
    for cell, cls in CELLS.items():
        if type(rnn) is cls:     # exactly torch's class: a subclass may compute something else in forward
            return cell
    raise ImportRefused(f"the recurrent module is a {type(rnn).__name__}; rnnscope imports torch's nn.GRU, "
                        f"nn.LSTM and nn.RNN")


def _check_representable(rnn: nn.Module) -> None:
    if getattr(rnn, "bidirectional", False):
        raise ImportRefused(f"the {type(rnn).__name__} is bidirectional; rnnscope's models read left to right only "
                            f"(a trace carries one state forward)")
    if getattr(rnn, "proj_size", 0):
        raise ImportRefused(f"the LSTM has proj_size={rnn.proj_size}; rnnscope's LSTM outputs h of hidden_size "
                            f"({rnn.hidden_size}), so a projected h cannot be represented")


def _embedding_dim(embedding: nn.Embedding | None, V: int) -> int | None:
    if embedding is None:
        return None
    if type(embedding) is not nn.Embedding:
        raise ImportRefused(f"the embedding is a {type(embedding).__name__}; give an nn.Embedding, or None for "
                            f"one-hot input")
    if embedding.max_norm is not None:
        raise ImportRefused(f"the embedding has max_norm={embedding.max_norm}: torch rescales its rows at lookup, "
                            f"which rnnscope's embedding does not")
    if embedding.num_embeddings != V:
        raise ImportRefused(f"the embedding has {embedding.num_embeddings} rows, but the vocabulary has {V} "
                            f"characters (row i is character i)")
    return embedding.embedding_dim


def _check_decoder(decoder: nn.Linear, H: int, V: int) -> None:
    if type(decoder) is not nn.Linear:
        raise ImportRefused(f"the decoder is a {type(decoder).__name__}; rnnscope imports an nn.Linear")
    if (decoder.in_features, decoder.out_features) != (H, V):
        raise ImportRefused(f"the decoder maps {decoder.in_features} -> {decoder.out_features}, but it must map the "
                            f"top layer's {H} units -> the vocabulary's {V} characters")


# --- from a safetensors state dict and a map of its names ------------------------------------------

def import_state_dict_file(state_dict: str | Path, vocab: str | Path, name_map: str | Path) -> CharRNN:
    """The files of `rnnscope import torch`: weights (safetensors), vocabulary (JSON) and map (JSON)."""
    tensors = read_safetensors(state_dict)
    tied = restore_tied(state_dict, tensors)
    model = import_state_dict(tensors, read_vocab(vocab), read_map(name_map), source=str(state_dict))
    model.training_record["imported"] |= {"state_dict": str(state_dict), **({"tied": tied} if tied else {}),
                                          "source_dtypes": sorted({str(t.dtype).removeprefix("torch.")
                                                                   for t in tensors.values()})}
    return model


def import_state_dict(tensors: dict[str, torch.Tensor], vocab: list[str], name_map: dict,
                      source: str = "the state dict") -> CharRNN:
    """Rebuild torch's modules from ``tensors`` as ``name_map`` names them, then import_torch_module.
    Every tensor is accounted for: mapped, or listed in ``ignore``; a missing, unknown or misshapen
    one is refused naming it."""
    cell, nonlinearity = name_map["cell"], name_map.get("nonlinearity", "tanh")
    rnn_prefix = _prefix(name_map["rnn"])
    ours = {k.removeprefix(rnn_prefix): v for k, v in tensors.items() if k.startswith(rnn_prefix)}
    embed_name = None if name_map.get("embedding") is None else _prefix(name_map["embedding"]) + "weight"
    dec = _prefix(name_map["decoder"])
    # the names the map gives come first: a wrong module name explains every "unmapped" tensor after it
    if "weight_hh_l0" not in ours or "weight_ih_l0" not in ours:
        raise ImportRefused(f"{source}: no tensors {rnn_prefix}weight_ih_l0 / {rnn_prefix}weight_hh_l0: is the map's "
                            f"\"rnn\" the recurrent module's name?")
    for name in ([embed_name] if embed_name else []) + [dec + "weight"]:
        if name not in tensors:
            tied = (f"; if the embedding is tied to the decoder ({name} is {dec}weight), say \"embedding\": "
                    f"{name_map['decoder']!r} in the map" if name == embed_name and dec + "weight" in tensors else "")
            raise ImportRefused(f"{source}: no tensor {name!r}; the map names modules (\"head\" for head.weight "
                                f"and head.bias), as the model's named_modules() does{tied}")
    ignored = set(name_map.get("ignore", []))
    used = {rnn_prefix + k for k in ours} | {dec + "weight", dec + "bias"} | {embed_name}
    unmapped = sorted(set(tensors) - used - ignored)
    if unmapped:
        more = " ..." if len(unmapped) > 6 else ""
        raise ImportRefused(f"{source}: tensors the map does not account for: {unmapped[:6]}{more}; "
                            f"list them in the map's \"ignore\" to leave them out")
    not_float = sorted(k for k in set(tensors) - ignored if not tensors[k].is_floating_point())
    if not_float:
        raise ImportRefused(f"{source}: {not_float[0]} holds {tensors[not_float[0]].dtype}, not floating-point weights")
    not_finite = sorted(k for k in set(tensors) - ignored if not torch.isfinite(tensors[k]).all())
    if not_finite:
        raise ImportRefused(f"{source}: {not_finite[0]} holds NaN or infinite values")
    rnn = _rnn_from(ours, cell, nonlinearity, rnn_prefix, source)
    embedding = None
    if embed_name:
        w = tensors[embed_name]
        if w.ndim != 2:
            raise ImportRefused(f"{source}: {embed_name} has shape {list(w.shape)}; an embedding is [rows, width]")
        embedding = nn.Embedding.from_pretrained(w.float(), freeze=True)
    decoder = _decoder_from(tensors, dec, source)
    return import_torch_module(embedding, rnn, decoder, vocab)


def _prefix(module_name: str) -> str:
    return f"{module_name}." if module_name else ""


def _rnn_from(ours: dict[str, torch.Tensor], cell: str, nonlinearity: str, prefix: str, source: str) -> nn.Module:
    """torch's module of the sizes the tensors imply, loaded with them; every tensor checked by name first."""
    reverse = sorted(k for k in ours if k.endswith("_reverse"))
    if reverse:
        raise ImportRefused(f"{source}: {prefix}{reverse[0]} belongs to a bidirectional module; rnnscope's models "
                            f"read left to right only")
    if any(k.startswith("weight_hr_l") for k in ours):
        raise ImportRefused(f"{source}: {prefix}weight_hr_l0 belongs to an LSTM with proj_size; rnnscope's LSTM "
                            f"outputs h of hidden_size, so a projected h cannot be represented")
    H, D0 = ours["weight_hh_l0"].shape[-1], ours["weight_ih_l0"].shape[-1]
    layers = 1 + max(int(k.rsplit("_l", 1)[1]) for k in ours if k.rsplit("_l", 1)[-1].isdigit())
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    rnn = CELLS[cell](D0, H, layers, bias="bias_ih_l0" in ours, batch_first=True, device="meta", **kwargs)
    expected = {k: tuple(v.shape) for k, v in rnn.state_dict().items()}
    missing, unknown = sorted(set(expected) - set(ours)), sorted(set(ours) - set(expected))
    if missing or unknown:
        raise ImportRefused(f"{source}: the {cell.upper()} tensors under {prefix or 'the top level'} do not form "
                            f"{layers} layer(s): missing {[prefix + k for k in missing]}, "
                            f"unexpected {[prefix + k for k in unknown]}")
    for k, shape in expected.items():
        if tuple(ours[k].shape) != shape:
            raise ImportRefused(f"{source}: {prefix}{k} has shape {list(ours[k].shape)}; {_a(cell)} with "
                                f"{H} units ({GATE_BLOCKS[cell]} gate block(s)) reading {D0} inputs needs "
                                f"{list(shape)}")
    rnn.load_state_dict({k: v.float() for k, v in ours.items()}, assign=True)
    return rnn


def _a(cell: str) -> str:
    return f"{'a' if cell == 'gru' else 'an'} {cell.upper()}"


def _decoder_from(tensors: dict[str, torch.Tensor], dec: str, source: str) -> nn.Linear:
    w, b = tensors[dec + "weight"], tensors.get(dec + "bias")
    if w.ndim != 2 or (b is not None and tuple(b.shape) != (w.shape[0],)):
        raise ImportRefused(f"{source}: the decoder's {dec}weight {list(w.shape)} and {dec}bias "
                            f"{None if b is None else list(b.shape)} are not an nn.Linear's [out, in] and [out]")
    decoder = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    decoder.load_state_dict({"weight": w.float(), **({"bias": b.float()} if b is not None else {})})
    return decoder


# --- reading the three files -----------------------------------------------------------------------

def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise ImportRefused(f"{path}: not a readable safetensors file ({e}); rnnscope never unpickles a .pt/.pth "
                            f"file: save the weights with safetensors.torch.save_model(model, ...)"
                            ) from None


def restore_tied(path: str | Path, tensors: dict[str, torch.Tensor]) -> dict[str, str]:
    """Put back the tensors safetensors' ``save_model`` left out because they shared memory with another
    (tied weights: encoder.weight is decoder.weight). It records each as metadata {left out: kept};
    ``tensors`` gets the kept tensor under both names. Returns {left out: kept}."""
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    tied = {name: kept for name, kept in metadata.items() if name not in tensors and kept in tensors}
    for name, kept in tied.items():
        tensors[name] = tensors[kept]
    return tied


def read_map(path: str | Path) -> dict:
    """{"cell": "gru"|"lstm"|"rnn", "nonlinearity": "tanh"|"relu" (rnn only), "embedding": module name or null
    (one-hot), "rnn": module name, "decoder": module name, "ignore": [tensor names]}."""
    m = read_json(path, "a tensor-name map")
    if not isinstance(m, dict):
        raise ImportRefused(f"{path}: the map is a JSON object")
    unknown = sorted(set(m) - MAP_KEYS)
    if unknown:
        raise ImportRefused(f"{path}: unknown map key(s) {unknown}; the keys are {sorted(MAP_KEYS)}")
    for key in ("cell", "rnn", "decoder"):
        if not isinstance(m.get(key), str):
            raise ImportRefused(f"{path}: the map needs {key!r} (a string)")
    if "embedding" not in m or not (m["embedding"] is None or isinstance(m["embedding"], str)):
        raise ImportRefused(f"{path}: the map needs 'embedding': the embedding module's name, "
                            f"or null for one-hot input")
    if m["cell"] not in CELLS:
        raise ImportRefused(f"{path}: cell must be one of {sorted(CELLS)}, got {m['cell']!r}")
    if m["cell"] == "rnn" and "nonlinearity" not in m:    # nothing in an nn.RNN's tensors says which it is
        raise ImportRefused(f"{path}: cell 'rnn' needs \"nonlinearity\": \"tanh\" or \"relu\" in the map (the "
                            f"nn.RNN's nonlinearity argument): its tensors are the same either way, and a ReLU "
                            f"network read as tanh computes something else")
    if "nonlinearity" in m and (m["cell"] != "rnn" or m["nonlinearity"] not in ("tanh", "relu")):
        raise ImportRefused(f"{path}: nonlinearity is nn.RNN's 'tanh' or 'relu' (cell 'rnn' only), "
                            f"got {m['nonlinearity']!r} for cell {m['cell']!r}")
    if not isinstance(m.get("ignore", []), list) or not all(isinstance(n, str) for n in m.get("ignore", [])):
        raise ImportRefused(f"{path}: 'ignore' is a list of tensor names")
    return m
