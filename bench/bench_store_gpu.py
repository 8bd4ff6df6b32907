"""Corpus store on a GPU: the shipped GRU's states of a long grammar stream read as lanes by torch's
own modules on CUDA (models/store/torch_lanes.py, `rnnscope store build --device cuda`), beside a bare
cuDNN baseline measured in the same run: model.rnn's forward over the same lanes as one batch,
the outputs left on the GPU (no burn-ins, no seams, no copy to the host, no store). Rows: the bare
forward; the lanes read with their burn-ins and copied to the host (TorchLanes.read_lanes, no
store); the whole store build (Zarr writes included). Writes the "Corpus store (GPU)" section of
bench/RESULTS.md. Needs a CUDA GPU (refused in one line without one); the issue's target is
>= 100 M chars/s.

    python bench/bench_store_gpu.py                   # 20,000,000 characters
    python bench/bench_store_gpu.py --chars 2000000 --quick
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import machine  # noqa: E402

from rnnscope import grammar  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.store.dask_build import BURN_IN, LANE_PER_BURN, lanes_for  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.base.paths import DEFAULT_CHECKPOINT  # noqa: E402
from rnnscope.models.store.kernel import lane_layout  # noqa: E402
from rnnscope.models.store.torch_lanes import TorchLanes, build_store_torch  # noqa: E402


def timed(fn) -> float:
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=20_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench_store_gpu: torch sees no CUDA GPU; this benchmark measures the GPU path only", file=sys.stderr)
        return 2
    model = checkpoint.load(DEFAULT_CHECKPOINT, device="cuda")
    text = grammar.generate(args.chars, seed=(5, 9, 0), spec=heldout_of(DEFAULT_CHECKPOINT).spec)
    ids = np.asarray(model.vocab.encode(text), np.int32)
    engine = TorchLanes(model)
    lanes = lanes_for(len(ids), LANE_PER_BURN * BURN_IN, engine.max_lanes)
    layout = lane_layout(len(ids), lanes, BURN_IN)
    size = layout[0][1]
    batch = torch.as_tensor(ids[: lanes * size].reshape(lanes, size), device=model.device, dtype=torch.long)

    @torch.no_grad()
    def bare():
        for t0 in range(0, size, 2_048):                 # the same step blocks as the engine, outputs dropped
            model.rnn(model.inputs(batch[:, t0:t0 + 2_048]))

    rows = {"bare": min(timed(bare) for _ in range(args.rounds)) * len(ids) / batch.numel(),
            "lanes": min(timed(lambda: engine.read_lanes(ids, layout, BURN_IN, None)) for _ in range(args.rounds))}
    tmp = Path(tempfile.mkdtemp())
    try:
        builds = [build_store_torch(model, text, tmp / f"s{i}.zarr") for i in range(args.rounds)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    best = min(builds, key=lambda r: r.seconds)
    rows["store"] = best.seconds
    N = len(text)
    table = ["| what | chars/s (time) | relative to bare cuDNN (> 1: faster) |", "|---|---|---|",
             *[f"| {label} | {N / rows[k] / 1e6:.1f} M chars/s ({rows[k]:.2f} s) | {rows['bare'] / rows[k]:.2f} x |"
               for k, label in [("store", f"store build, torch on {torch.cuda.get_device_name()} ({best.lanes:,} "
                                          f"lanes, burn-in {best.burn_in:,}, Zarr writes included)"),
                                ("lanes", "the lanes read with burn-ins, states copied to the host, no store"),
                                ("bare", f"baseline: bare cuDNN forward of {lanes:,} lanes x {size:,} steps, "
                                         "outputs left on the GPU")]]]
    body = (f"`python bench/bench_store_gpu.py`, {datetime.date.today()}, on {torch.cuda.get_device_name()} "
            f"(host: {machine.describe()}); the shipped GRU over {N:,} characters; best of {args.rounds}; seams: "
            f"{best.seams:,} checked, {best.agreed:,} agreed (largest |difference| {best.worst_agreed:.1e}), "
            f"{best.recomputed} recomputed. Target: >= 100 M chars/s.\n\n" + "\n".join(table))
    print(body)
    if not args.quick:
        machine.write_section("Corpus store (GPU)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
