"""Corpus store benchmark: the shipped GRU's states of a long grammar stream written to a Zarr store
by a dask.distributed LocalCluster of 1 and of 2 worker processes (models/store/dask_build.py), beside
baselines measured in the same run over the same text: the compiled h-only loop in this process
(no store: one stream on one core), one worker's task run in this process (the whole text as one
span, its lanes read side by side, the store write included), the single-process store build
(models/store/zarr_store.py), and torch's batched extract (models/reading/extract.py, rows read from the zero state:
a throughput figure only, not states in context). Cluster start-up is timed apart; each build is best of --rounds on
a started cluster whose workers have already built a small store (numba caches loaded). Writes
the "Corpus store (Dask)" section of bench/RESULTS.md.

    python bench/bench_store.py                  # 2,000,000 characters
    python bench/bench_store.py --chars 200000 --quick   # a smoke run (does not write RESULTS.md)
"""
from __future__ import annotations

import argparse
import datetime
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import zarr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope import grammar  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.store import kernel as store_kernel
from rnnscope.models.store.dask_build import BURN_IN, LANE_PER_BURN, build_store_dask, dask_client, kernel_weights, lanes_for  # noqa: E402,E501
from rnnscope.models.reading.extract import extract_hidden  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.base.paths import DEFAULT_CHECKPOINT  # noqa: E402
from rnnscope.models.store.zarr_store import CHUNK, build_store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = checkpoint.load(DEFAULT_CHECKPOINT)
    text = grammar.generate(args.chars, seed=(5, 9, 0), spec=heldout_of(DEFAULT_CHECKPOINT).spec)
    ids = np.asarray(model.vocab.encode(text), np.int32)
    w = kernel_weights(model)
    store_kernel.read(w, ids[:1000], None)                           # load the numba cache here too
    tmp = Path(tempfile.mkdtemp())
    n = iter(range(10**6))
    rows = {}
    try:
        rows["loop"] = machine.best(lambda: store_kernel.read(w, ids, None), args.rounds)
        lanes = lanes_for(len(ids), LANE_PER_BURN * BURN_IN, w.max_lanes)
        zarr.create_array(tmp / "task.zarr" / "h_l0", shape=(len(ids), w.hidden), chunks=(CHUNK, w.hidden),
                          dtype="float32", compressors=None)
        rows["task"] = machine.best(lambda: store_kernel.span_task(w, str(tmp / "task.zarr"), ids, 0, BURN_IN, lanes),
                                    args.rounds)
        rows["one"] = machine.best(lambda: build_store(model, text, tmp / f"s{next(n)}.zarr"), args.rounds)
        batch = ids[: len(ids) // 100 * 100].reshape(100, -1)
        rows["torch"] = machine.best(lambda: extract_hidden(model, batch), 1) * len(ids) / batch.size
        reports = {}
        for workers in (1, 2):
            t = time.perf_counter()
            with dask_client(workers) as client:
                rows[f"start{workers}"] = time.perf_counter() - t
                build_store_dask(model, text[:50_000], tmp / f"s{next(n)}.zarr", client, chunk=10_000)   # warm
                seconds = []
                for _ in range(args.rounds):
                    r = build_store_dask(model, text, tmp / f"s{next(n)}.zarr", client, chunk=CHUNK)
                    seconds.append(r.seconds)
                    reports[workers] = r
                rows[f"dask{workers}"] = min(seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    N = len(text)

    def rate(s: float) -> str:
        return f"{N / s / 1e6:.2f} M chars/s ({s:.2f} s)"

    r2 = reports[2]
    table = ["| what | chars/s (time) | speed relative to the compiled loop (> 1: faster) |", "|---|---|---|",
             f"| Dask store build, 2 workers ({r2.tasks} tasks, {r2.lanes} lanes, burn-in {r2.burn_in:,}) | "
             f"{rate(rows['dask2'])} | "
             f"{rows['loop'] / rows['dask2']:.2f} x |",
             f"| Dask store build, 1 worker | {rate(rows['dask1'])} | {rows['loop'] / rows['dask1']:.2f} x |",
             f"| one task in this process: the text as one span, {lanes} lanes side by side, store write included "
             f"| {rate(rows['task'])} | {rows['loop'] / rows['task']:.2f} x |",
             f"| baseline: compiled h-only loop in this process, no store | {rate(rows['loop'])} | 1.00 x |",
             f"| baseline: single-process store build (models/store/zarr_store.py) | {rate(rows['one'])} | "
             f"{rows['loop'] / rows['one']:.2f} x |",
             f"| baseline: torch batched extract, 100 rows from the zero state (not in context) | "
             f"{rate(rows['torch'])} | {rows['loop'] / rows['torch']:.2f} x |",
             f"| cluster start-up, 1 / 2 workers (not in the rates) | {rows['start1']:.1f} s / {rows['start2']:.1f} s "
             "| |"]
    body = (f"`python bench/bench_store.py`, {datetime.date.today()}, on {machine.describe()}; the shipped GRU over "
            f"{N:,} characters of a grammar stream; best of {args.rounds} each; seams of the 2-worker build: "
            f"{r2.seams} checked, {r2.agreed} agreed (largest |difference| {r2.worst_agreed:.1e}), {r2.recomputed} "
            f"recomputed; {machine.load_note()}. Target: >= 2 M chars/s on 2 cores.\n\n" + "\n".join(table))
    print(body)
    if not args.quick:
        machine.write_section("Corpus store (Dask)", body)


if __name__ == "__main__":
    main()
