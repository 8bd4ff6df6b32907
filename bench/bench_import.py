"""Import benchmark: `rnnscope import torch`'s work (read the safetensors state dict, check it against
the map, rebuild torch's modules, copy into a CharRNN, save the checkpoint atomically) beside the floor
measured in the same run: reading the same file and writing its tensors to a new safetensors file synced
to disk, no checks. Alternating, best of each. Writes the "Import (torch)" section of bench/RESULTS.md.

    python bench/bench_import.py            # the shipped GRU's shape and a 2-layer LSTM-512 over 100 characters
    python bench/bench_import.py --quick    # one small model, for a smoke run (does not write RESULTS.md)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from models import checkpoint  # noqa: E402
from models.importers.torch_import import import_state_dict_file  # noqa: E402

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


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


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
            imp.append(best(do_import, 1))
            bare.append(best(floor, 1))
        params = sum(t.numel() for t in load_file(files[0]).values())
        checkpoint.load(tmp / "ck")      # what was written is a checkpoint
    return {"what": f"{layers}-layer {cell.upper()}-{width} over {len(vocab)} chars", "params": params,
            "import": min(imp), "floor": min(bare)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rounds = 2 if args.quick else 5
    shapes = [("gru", list(" ()01234"), 15, 1)] + ([] if args.quick else [("lstm", VOCAB_100, 512, 2)])
    rows = [measure(*shape, rounds) for shape in shapes]
    table = ["| model | parameters | import (file -> checked checkpoint) | floor: read + write + fsync the tensors "
             "| ratio |",
             "|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['what']} | {r['params']:,} | {r['import'] * 1e3:.1f} ms | {r['floor'] * 1e3:.1f} ms | "
                     f"{r['import'] / r['floor']:.1f} x |")
    body = (f"`python bench/bench_import.py`, {datetime.date.today()}, on {machine.describe()}; best of {rounds} "
            f"each, alternating; {machine.load_note()}.\n\n" + "\n".join(table))
    print(body)
    if not args.quick:
        machine.write_section("Import (torch)", body)


if __name__ == "__main__":
    main()
