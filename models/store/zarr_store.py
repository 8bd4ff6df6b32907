"""Corpus states on disk: every hidden state of a long text, read in context, in a Zarr store
chunked along time, so that match (and labelling) can scan millions of steps without loading
them whole (docs/architecture.md, Scale).

Layout of a store directory (Zarr v3):
  chars      [T] uint32      the text as code points
  h_l{k}     [T, H] float32  hidden state of layer k after each character, chunks of CHUNK steps
  attrs      rnnscope_store (format version), model (fingerprint of the checkpoint's weights and
             config), text_sha256, chars, layers, hidden, read ("in context, from the text's start")

The text is read in one pass from its start, CHUNK characters at a time with the state carried,
so every state is the one the model really holds there. A store written by another model or of
another text is detected by its attributes and refused, never mixed; a build writes a temporary
directory and renames it into place, so a killed build leaves no half store under the name.
This one-process build is the reference; models/store/dask_build.py builds the same store on a Dask
cluster, in time chunks whose seams it checks.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import zarr

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.tracer import hidden_states

FORMAT = 1
CHUNK = 100_000


def fingerprint(model: CharRNN) -> str:
    """The weights and config of a model, hashed: two stores agree only if this does."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_store(model: CharRNN, text: str, path: str | Path, chunk: int = CHUNK) -> Path:
    """Write the states of ``text`` to a new store at ``path`` (refuses to replace anything)."""
    path = Path(path)
    if path.exists():
        raise RnnscopeError(f"{path}: exists; a store is never overwritten (open it, or choose another path)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        root = zarr.open_group(tmp, mode="w")
        cfg = model.config
        root.attrs.update({"rnnscope_store": FORMAT, "model": fingerprint(model), "text_sha256": text_sha(text),
                           "chars": len(text), "layers": cfg.num_layers, "hidden": cfg.hidden_size,
                           "read": "in context, from the text's start"})
        root.create_array("chars", data=np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).copy(),
                          chunks=(chunk,))
        arrays = [root.create_array(f"h_l{k}", shape=(len(text), cfg.hidden_size), chunks=(chunk, cfg.hidden_size),
                                    dtype="float32", compressors=None) for k in range(cfg.num_layers)]
        state = None
        for start in range(0, len(text), chunk):
            hidden, state = hidden_states(model, text[start:start + chunk], state)
            for k, h in enumerate(hidden):
                arrays[k][start:start + len(h)] = h
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def open_store(path: str | Path, model: CharRNN, text: str | None = None) -> zarr.Group:
    """The store at ``path``, checked to hold ``model``'s states (of ``text``, when given)."""
    path = Path(path)
    try:
        root = zarr.open_group(path, mode="r")
        attrs = dict(root.attrs)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError) as e:
        raise RnnscopeError(f"{path}: not a readable state store ({e})") from None
    if attrs.get("rnnscope_store") != FORMAT:
        raise RnnscopeError(f"{path}: not an rnnscope state store (format {attrs.get('rnnscope_store')!r})")
    if attrs.get("model") != fingerprint(model):
        raise RnnscopeError(f"{path}: written by another model (fingerprint {attrs.get('model')}, this model's is "
                            f"{fingerprint(model)}); never mixed: delete it or choose another store")
    if text is not None and attrs.get("text_sha256") != text_sha(text):
        raise RnnscopeError(f"{path}: holds the states of another text; delete it or choose another store")
    return root


def store_for(model: CharRNN, text: str, path: str | Path) -> zarr.Group:
    """Open the store at ``path`` if it holds this model's states of this text, else build it there."""
    if not Path(path).exists():
        build_store(model, text, path)
    return open_store(path, model, text)


def default_store_path(model: CharRNN, text: str) -> Path:
    """Where a model's store of a text lives unless told otherwise: a cache folder keyed by both."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnscope" / "stores"
    return cache / f"{fingerprint(model)}-{text_sha(text)}.zarr"
