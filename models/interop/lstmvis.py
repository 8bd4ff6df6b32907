"""The LSTMVis bridge: a Trace written as the project directory LSTMVis (Strobelt et al. 2017,
github.com/HendrikStrobelt/LSTMVis) opens, and such a directory read back as arrays.

LSTMVis's documented layout (its README, docs/chapter/config_states.md and meta.md; its reader is
lstmdata/data_handler.py), which this module writes:

  lstm.yml       the config: ``files`` gives every file a reference name (HDF5 names must end in .h5
                 or .hdf5, dictionaries in .dict); ``word_sequence`` names the word-id dataset and its
                 dictionary; ``states.types`` lists one ``{type, layer, path}`` per T x D dataset
                 (type ``output`` = h, ``state`` = an LSTM's cell c, as LSTMVis's own extractor names
                 them; layers count from 1); ``meta`` holds annotation tracks, one value per step.
  states.hdf5    h1, h2, ... (and c1, c2, ... for an LSTM): [T, H] float32, one row per character.
  words.hdf5     word_ids: [T] int64, the character at each step as its 1-based dictionary id
                 (LSTMVis's indexers count from 1).
  words.dict     one ``word id`` line per character, read by LSTMVis with ``line.split()``: a space is
                 the line " id" (the one case its reader handles by hand); any other whitespace or
                 unprintable character would vanish in that split, so it is escaped (``\\n``, ``\\t``,
                 ``\\r``, ``\\uXXXX``; a space inside a longer name too), and a backslash is written
                 ``\\\\`` so escapes stay unambiguous.
  meta.hdf5      one [T] dataset per annotation (depth, kind ...), each a meta track: floats as
                 ``scalar`` on their [min, max] (NaN: no value); integer codes as ``discrete``, with
  meta_NAME.dict their names (``open 0``, ``close 1`` ...; ``(none) -1`` where a step has no value) when
                 the caller gives them, as meta.md's categorical annotations (``range: dict``).

LSTMVis squashes states with tanh unless a type says ``transform: none``. The h of a GRU, an LSTM or a
tanh RNN lies in -1..1 by construction and would be squashed twice, so it is written with
``transform: none``; unbounded states (an LSTM's c, the h of a ReLU or linear RNN) keep LSTMVis's tanh.
The choice follows the cell, never the values, so two exports of one model are drawn alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.trace import Trace

CONFIG, STATES, WORDS, DICT, META = "lstm.yml", "states.hdf5", "words.hdf5", "words.dict", "meta.hdf5"
WORD_IDS = "word_ids"
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNNAMED = {v: k for k, v in _NAMED.items()} | {"\\\\": "\\"}
_ESCAPE = re.compile(r"\\\\|\\n|\\t|\\r|\\u[0-9a-f]{4}|\\U[0-9a-f]{8}")
_NAME = re.compile(r"[A-Za-z0-9_]+")
TRANSFORMS = ("tanh", "none")   # a states type's ``transform``: LSTMVis's default squashes with tanh
MISSING_WORD = "(none)"     # the name of code -1 (no value) in a category dictionary


@dataclass
class LstmvisData:
    """What an LSTMVis directory holds, as arrays."""
    words: list[str]                              # [T] the token at each step (one character for ours)
    states: dict[tuple[str, int], np.ndarray]     # (type, layer from 1) -> [T, D]
    annotations: dict[str, np.ndarray]            # meta track name -> [T]
    categories: dict[str, dict[int, str]]         # meta track name -> its dictionary, code -> name
    # (type, layer) -> how LSTMVis draws it: "tanh" (its default: values squashed into -1..1) or "none"
    transforms: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.words)


def escape(word: str) -> str:
    """A word (one character, or a category's name) as a .dict token that survives LSTMVis's
    ``line.split()``: the lone space stays as it is (LSTMVis reads the line " id" as the space)."""
    if word == " ":
        return word
    if not word:
        raise RnnscopeError("an empty word cannot be written to an LSTMVis dictionary")
    return "".join(_escape_char(ch) for ch in word)


def _escape_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch.isprintable() and not ch.isspace():
        return ch
    return _NAMED.get(ch) or (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")


def unescape(token: str) -> str:
    """The inverse of ``escape`` (a foreign dictionary's word with a backslash in it is read the same way)."""
    return _ESCAPE.sub(lambda m: _UNNAMED.get(m.group(0)) or chr(int(m.group(0)[2:], 16)), token)


def write_lstmvis(trace: Trace, out_dir: str | Path, name: str = "rnnscope", force: bool = False,
                  nonlinearity: str = "tanh", categories: dict[str, tuple[str, ...]] | None = None) -> Path:
    """Write ``trace`` as an LSTMVis project directory at ``out_dir``, atomically: a complete
    temporary directory is swapped into place. An existing directory is replaced only with
    ``force``, and only if it is an LSTMVis project (holds lstm.yml). ``nonlinearity``: the model
    config's (an RNN's h is bounded only when it is tanh). ``categories``: the name of each code
    0, 1, ... of a categorical annotation (-1: no value), written as its dictionary so LSTMVis
    shows "letter" rather than 0."""
    import h5py
    import yaml

    from rnnscope.models.network.checkpoint import write_dir
    out_dir = Path(out_dir)
    if len(trace) == 0:
        raise RnnscopeError("nothing to write: the sequence is empty")
    check_out_dir(out_dir, force)

    ids = {ch: i + 1 for i, ch in enumerate(trace.vocab)}          # LSTMVis counts word ids from 1
    unknown = sorted(set(trace.text) - ids.keys())
    if unknown:
        raise RnnscopeError(f"characters {unknown[:5]} are not in the model's vocabulary")
    bad = [key for key, values in trace.annotations.items()
           if not _NAME.fullmatch(key) or values.shape != (len(trace),)]
    if bad:   # a name is an HDF5 path and a file name: "a/b" would make a group, not a track
        raise RnnscopeError(f"annotation {bad[0]!r}: names are letters, digits and _, one value per character")
    categories = categories or {}
    for key, names in categories.items():
        values = trace.annotations.get(key)
        if values is None or not np.issubdtype(values.dtype, np.integer) or \
                not -1 <= values.min() <= values.max() < len(names):
            raise RnnscopeError(f"categories for {key!r} do not fit its annotation "
                                f"(integer codes -1 .. {len(names) - 1})")
    types = _state_types(trace, h_bounded=trace.cell != "rnn" or nonlinearity == "tanh")

    def write(tmp: Path) -> None:
        with h5py.File(tmp / STATES, "w") as f:
            for entry, values in types:
                f.create_dataset(entry["path"], data=values.astype(np.float32, copy=False))
        with h5py.File(tmp / WORDS, "w") as f:
            f.create_dataset(WORD_IDS, data=np.array([ids[c] for c in trace.text], dtype=np.int64))
        (tmp / DICT).write_text("".join(f"{escape(ch)} {i}\n" for ch, i in ids.items()), encoding="utf-8")
        meta, dicts = {}, {}
        if trace.annotations:
            with h5py.File(tmp / META, "w") as f:
                for key, values in trace.annotations.items():
                    f.create_dataset(key, data=values)
                    meta[key] = {"file": "meta", "path": key, "vis": _vis(values)}
                    if key in categories:
                        dicts[f"{key}_dict"] = _write_categories(tmp / f"meta_{key}.dict", categories[key], values)
                        meta[key].update(dict=f"{key}_dict", vis={"type": "discrete", "range": "dict"})
        config = {"name": name, "description": f"{trace.cell.upper()} states of {len(trace):,} characters, "
                                               "written by rnnscope",
                  "files": {"states": STATES, "words": WORDS, "dict": DICT,
                            **({"meta": META} if meta else {}), **dicts},
                  "word_sequence": {"file": "words", "path": WORD_IDS, "dict_file": "dict"},
                  "states": {"file": "states", "types": [entry for entry, _ in types]}}
        if meta:
            config["meta"] = meta
        (tmp / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")

    write_dir(out_dir, write)
    return out_dir


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Before any work: ``out_dir`` can be written (its parent exists; an existing directory only
    with ``force``, and only an LSTMVis one, never a folder of something else)."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not force:
            raise RnnscopeError(f"{out_dir}: exists; give --force to replace it, or choose another -o")
        if not (out_dir / CONFIG).is_file():
            raise RnnscopeError(f"{out_dir}: exists and is no LSTMVis directory (no {CONFIG}); not replacing it")
    if not out_dir.parent.is_dir():
        raise RnnscopeError(f"{out_dir.parent}: no such directory")


def _write_categories(path: Path, names: tuple[str, ...], values: np.ndarray) -> str:
    """A meta track's dictionary, code -> name; LSTMVis looks every value up, so -1 (no value) gets
    a name too where it occurs."""
    lines = [f"{escape(n)} {code}\n" for code, n in enumerate(names)]
    if (values == -1).any():
        lines.append(f"{MISSING_WORD} -1\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path.name


def _state_types(trace: Trace, h_bounded: bool) -> list[tuple[dict, np.ndarray]]:
    """One ``states.types`` entry per layer and state kind, with its [T, H] values."""
    out = []
    for k in range(trace.num_layers):
        views = [("output", "h")] + ([("state", "c")] if "c" in trace.gates[k] else [])
        for kind, view in views:
            values = trace.values(view, k)
            entry = {"type": kind, "layer": k + 1, "path": f"{view}{k + 1}"}
            if view == "h" and h_bounded:      # already in LSTMVis's range: a second tanh would distort it
                entry["transform"] = "none"
            out.append((entry, values))
    return out


def _vis(values: np.ndarray) -> dict:
    """How LSTMVis draws a meta track: integer codes as discrete values, floats on [min, max]."""
    if np.issubdtype(values.dtype, np.integer):
        return {"type": "discrete", "range": sorted(int(v) for v in np.unique(values))}
    finite = values[np.isfinite(values)]
    if finite.size == 0:    # no value anywhere in this stretch (NaN throughout): LSTMVis still needs a range
        return {"type": "scalar", "range": [0.0, 1.0]}
    return {"type": "scalar", "range": [float(finite.min()), float(finite.max())]}


def read_lstmvis(directory: str | Path) -> LstmvisData:
    """Read an LSTMVis project directory (ours or another tool's) back into arrays, checking that
    every name in lstm.yml resolves and that every array has one row per word."""
    try:
        return _read(Path(directory))
    except RnnscopeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:   # an lstm.yml entry lacks a key or has a bad one
        raise RnnscopeError(f"{Path(directory) / CONFIG}: not an LSTMVis config ({type(e).__name__}: {e})") from None


def _read(directory: Path) -> LstmvisData:
    import h5py
    import yaml
    directory = Path(directory)
    config_path = directory / CONFIG
    if not config_path.is_file():
        raise RnnscopeError(f"{directory}: no {CONFIG}; not an LSTMVis directory")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        files = config["files"]
        ws = config["word_sequence"]
        st = config["states"]
    except (yaml.YAMLError, TypeError, KeyError, UnicodeDecodeError) as e:
        raise RnnscopeError(f"{config_path}: not an LSTMVis config ({type(e).__name__}: {e})") from None

    def path_of(ref: str) -> Path:
        if ref not in files:
            raise RnnscopeError(f"{config_path}: file reference {ref!r} is not in its files section")
        p = directory / files[ref]
        if not p.is_file():
            raise RnnscopeError(f"{p}: no such file (named in {CONFIG})")
        return p

    def dataset(ref: str, key: str) -> np.ndarray:
        try:
            with h5py.File(path_of(ref), "r") as f:
                if key not in f:
                    raise RnnscopeError(f"{path_of(ref)}: no dataset {key!r} (named in {CONFIG})")
                return f[key][()]
        except OSError as e:
            raise RnnscopeError(f"{path_of(ref)}: not an HDF5 file ({e})") from None

    vocab = _read_dict(path_of(ws["dict_file"]))
    word_ids = dataset(ws["file"], ws["path"])
    missing = sorted(set(np.unique(word_ids).tolist()) - vocab.keys())
    if missing:
        raise RnnscopeError(f"{path_of(ws['file'])}: word ids {missing[:5]} are not in {files[ws['dict_file']]}")
    words = [vocab[int(i)] for i in word_ids]
    states, transforms = {}, {}
    for t in st["types"]:
        key = (t["type"], int(t["layer"]))
        if key in states:      # two datasets under one name: one would hide the other
            raise RnnscopeError(f"{config_path}: states type {key[0]!r} of layer {key[1]} is listed twice")
        transform = t.get("transform", "tanh")
        if transform not in TRANSFORMS:
            raise RnnscopeError(f"states {t['path']!r}: transform {transform!r} is not one LSTMVis knows "
                                f"({' or '.join(TRANSFORMS)})")
        values = dataset(t.get("file", st["file"]), t["path"])
        if values.ndim != 2 or len(values) != len(words):
            raise RnnscopeError(f"states {t['path']!r}: shape {values.shape}, expected [{len(words)}, D]")
        states[key], transforms[key] = values, transform
    annotations, categories = {}, {}
    for key, m in (config.get("meta") or {}).items():
        values = dataset(m["file"], m["path"])
        if values.shape != (len(words),):
            raise RnnscopeError(f"meta track {key!r}: shape {values.shape}, expected [{len(words)}]")
        annotations[key] = values
        if "dict" in m:
            categories[key] = _read_dict(path_of(m["dict"]))
            unnamed = sorted(set(np.unique(values).tolist()) - categories[key].keys())
            if unnamed:
                raise RnnscopeError(f"meta track {key!r}: codes {unnamed[:5]} are not in {files[m['dict']]}")
    return LstmvisData(words=words, states=states, annotations=annotations, categories=categories,
                       transforms=transforms)


def _read_dict(path: Path) -> dict[int, str]:
    """id -> word, by LSTMVis's own rules (``word id`` lines; " id" is the space), then unescaped."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[int(parts[1])] = unescape(parts[0])
        elif len(parts) == 1 and line.startswith(" ") and parts[0].isdigit():
            out[int(parts[0])] = " "
        elif line.strip():
            raise RnnscopeError(f"{path}:{n}: not a 'word id' line: {line[:40]!r}")
    return out
