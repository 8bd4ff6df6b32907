"""Import benchmark: `rnnscope import torch`'s work (read the safetensors state dict, check it against
the map, rebuild torch's modules, copy into a CharRNN, save the checkpoint atomically) beside the floor
measured in the same run: reading the same file and writing its tensors to a new safetensors file synced
to disk, no checks. `rnnscope import keras`'s work (read the .keras zip's config.json and weights with
json and h5py, check every layer, transpose and reorder into torch's layout, save) beside its floor: the
same zip's weights read with h5py and written to a safetensors file synced to disk. Alternating, best of
each. Writes the "Import (torch)" and "Import (Keras)" sections of bench/RESULTS.md.

    python bench/bench_import.py            # the shipped GRU's shape and a 2-layer LSTM-512 over 100 characters
    python bench/bench_import.py --quick    # one small model, for a smoke run (does not write RESULTS.md)
    python bench/bench_import.py --framework keras   # only the Keras rows (needs rnnscope[keras])
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")   # before Keras is first imported (the Keras rows build models)

import torch
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.interop.keras_import import import_keras_file  # noqa: E402
from rnnscope.models.interop.torch_import import import_state_dict_file  # noqa: E402

VOCAB_100 = [chr(c) for c in range(32, 132)]


def write_source(folder: Path, cell: str, vocab: list[str], width: int, layers: int) -> tuple[Path, Path, Path]:
    """A user's model of torch modules, its safetensors state dict, vocabulary and map."""
    torch.manual_seed(0)
    net = nn.ModuleDict({"emb": nn.Embedding(len(vocab), width),
                         "core": {"gru": nn.GRU, "lstm": nn.LSTM}[cell](width, width, layers),
                         "head": nn.Linear(width, len(vocab))})
    files = folder / "w.safetensors", folder / "vocab.json", folder / "map.json"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, files[0])
    files[1].write_text(json.dumps(vocab))
    files[2].write_text(json.dumps({"cell": cell, "embedding": "emb", "rnn": "core", "decoder": "head"}))
    return files


def measure(cell, vocab, width, layers, rounds) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = write_source(tmp, cell, vocab, width, layers)

        def do_import():
            model = import_state_dict_file(*files)
            checkpoint.save(model, tmp / "ck", training=model.training_record)

        def floor():     # the checkpoint's save syncs its file to disk (crash safety): so does the floor
            save_file(load_file(files[0]), tmp / "copy.safetensors")
            fd = os.open(tmp / "copy.safetensors", os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

        imp, bare = [], []
        for _ in range(rounds):          # alternate, so a busy spell on the shared machine hits both
            imp.append(machine.best(do_import, 1))
            bare.append(machine.best(floor, 1))
        params = sum(t.numel() for t in load_file(files[0]).values())
        checkpoint.load(tmp / "ck")      # what was written is a checkpoint
    return {"what": f"{layers}-layer {cell.upper()}-{width} over {len(vocab)} chars", "params": params,
            "import": min(imp), "floor": min(bare)}


def write_keras_source(folder: Path, cell: str, vocab: list[str], width: int, layers: int) -> tuple[Path, Path]:
    """A user's Keras model (Embedding -> GRU/LSTM layers -> softmax Dense), saved as .keras, and its vocabulary."""
    import keras
    keras.utils.set_random_seed(0)
    recurrent = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    net = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(len(vocab), width)]
                           + [recurrent(width, return_sequences=True) for _ in range(layers)]
                           + [keras.layers.Dense(len(vocab), activation="softmax")])
    files = folder / "net.keras", folder / "vocab.json"
    net.save(files[0])
    files[1].write_text(json.dumps(vocab))
    return files


def measure_keras(cell, vocab, width, layers, rounds) -> dict:
    import h5py
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = write_keras_source(tmp, cell, vocab, width, layers)

        def do_import():
            model = import_keras_file(*files)
            checkpoint.save(model, tmp / "ck", training=model.training_record)

        def floor():     # the same weights out of the same zip, no checks, no layout change; synced like a save
            arrays = {}
            with zipfile.ZipFile(files[0]) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
                h5.visititems(lambda name, obj: arrays.__setitem__(name, torch.from_numpy(obj[()]))
                              if isinstance(obj, h5py.Dataset) else None)
            save_file(arrays, tmp / "copy.safetensors")
            fd = os.open(tmp / "copy.safetensors", os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

        imp, bare = [], []
        for _ in range(rounds):
            imp.append(machine.best(do_import, 1))
            bare.append(machine.best(floor, 1))
        params = sum(t.numel() for t in checkpoint.load(tmp / "ck").state_dict().values())
    return {"what": f"{layers}-layer {cell.upper()}-{width} over {len(vocab)} chars", "params": params,
            "import": min(imp), "floor": min(bare)}


def section(rows: list[dict], rounds: int, floor: str, command: str) -> str:
    table = [f"| model | parameters | import (file -> checked checkpoint) | floor: {floor} | ratio |",
             "|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['what']} | {r['params']:,} | {r['import'] * 1e3:.1f} ms | {r['floor'] * 1e3:.1f} ms | "
                     f"{r['import'] / r['floor']:.1f} x |")
    return (f"`{command}`, {datetime.date.today()}, on {machine.describe()}; best of {rounds} "
            f"each, alternating; {machine.load_note()}.\n\n" + "\n".join(table))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--framework", choices=["torch", "keras", "both"], default="both")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rounds = 2 if args.quick else 5
    shapes = [("gru", list(" ()01234"), 15, 1)] + ([] if args.quick else [("lstm", VOCAB_100, 512, 2)])
    command = "python bench/bench_import.py" + ("" if args.framework == "both" else f" --framework {args.framework}")
    if args.framework in ("torch", "both"):
        body = section([measure(*shape, rounds) for shape in shapes], rounds,
                       "read + write + fsync the tensors", command)
        print(body)
        if not args.quick:
            machine.write_section("Import (torch)", body)
    if args.framework in ("keras", "both"):
        body = section([measure_keras(*shape, rounds) for shape in shapes], rounds,
                       "h5py read of the zip's weights + write + fsync", command)
        print(body)
        if not args.quick:
            machine.write_section("Import (Keras)", body)


if __name__ == "__main__":
    main()
