"""DDP benchmark: training chars/s of ``rnnscope train`` on 1 process and under
``torchrun --nproc-per-node 2`` (gloo, CPU, 1 thread a process, the same global batch), beside a
bare torch loop of the same shape (embedding 15 -> GRU 15 -> linear, Adam, clipping, carried state,
no data making, no evaluation, no DDP) measured in the same run. Writes the "DDP" section of
bench/RESULTS.md.

Throughput is read from the run's own metrics.jsonl between its first and last evaluation
(characters of the whole batch over the elapsed seconds between them), so start-up, the data of the
one epoch (made before the first step) and torch's import are left out; the held-out set is small
(20,000 characters), so the one evaluation in the window costs little. Rounds alternate the three,
best of each.

    python bench/bench_ddp.py            # batch 128 x 100 characters, 250 steps (the shipped GRU's shape)
    python bench/bench_ddp.py --quick    # batch 16, 60 steps: a smoke run (does not write RESULTS.md)
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope.models.training.run import read_metrics, run_dir_of  # noqa: E402


def rnnscope_train(processes: int, out: Path, batch: int, bptt: int, steps: int, eval_every: int) -> float:
    """chars/s (global batch) of one rnnscope training run, between its first and last evaluation."""
    args = ["-m", "rnnscope", "train", "-o", str(out), "--batch", str(batch), "--bptt", str(bptt),
            "--steps", str(steps), "--eval-every", str(eval_every), "--row-chars", str(steps * bptt),
            "--eval-chars", "20000", "--threads", "1", "--device", "cpu", "--quiet"]
    launcher = ([] if processes == 1 else
                ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *launcher, *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"training on {processes} process(es) failed:\n{done.stderr[-3000:]}")
    lines = read_metrics(run_dir_of(out))
    first, last = lines[0], lines[-1]
    assert all(m["processes"] == processes for m in lines)
    return (last["step"] - first["step"]) * batch * bptt / (last["elapsed_s"] - first["elapsed_s"])


def bare_loop(batch: int, bptt: int, steps: int, skip: int, vocab: int = 8, width: int = 15) -> float:
    """chars/s of a plain torch loop of the same shape, timed over the same steps (after ``skip``)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    emb, rnn, head = nn.Embedding(vocab, width), nn.GRU(width, width, batch_first=True), nn.Linear(width, vocab)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    data = torch.randint(vocab, (batch, steps * bptt + 1))
    state, start = None, None
    for step in range(steps):
        if step == skip:
            start = time.perf_counter()
        x, y = data[:, step * bptt:(step + 1) * bptt], data[:, step * bptt + 1:(step + 1) * bptt + 1]
        out, state = rnn(emb(x), state)
        state = state.detach()
        loss = F.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return (steps - skip) * batch * bptt / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    batch, bptt, steps, eval_every = (16, 20, 60, 20) if args.quick else (128, 100, 250, 50)
    found: dict[str, list[float]] = {"bare": [], "1": [], "2": []}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):      # alternate, so a busy spell on the shared machine hits all three
            found["bare"].append(bare_loop(batch, bptt, steps, skip=eval_every))
            for p in (1, 2):
                found[str(p)].append(rnnscope_train(p, Path(tmp) / f"r{r}p{p}", batch, bptt, steps, eval_every))
            loads.append(os.getloadavg()[0])
    bare, one, two = (max(found[k]) for k in ("bare", "1", "2"))
    table = ["| training | chars/s (best of rounds) | ratio to the bare loop |", "|---|---|---|",
             f"| bare torch loop, 1 process, 1 thread (same shape, no data making, no DDP) | {bare:,.0f} | 1.00 |",
             f"| rnnscope train, 1 process, 1 thread | {one:,.0f} | {one / bare:.2f} |",
             f"| torchrun --nproc-per-node 2 rnnscope train (gloo, 1 thread each) | {two:,.0f} | {two / bare:.2f} |"]
    body = (f"`python bench/bench_ddp.py`, {datetime.date.today()}, on {machine.describe()}; GRU-15 with a 15-d "
            f"embedding, global batch {batch} x {bptt} characters, steps {eval_every}..{steps} timed (chars/s counts "
            f"the whole batch); {args.rounds} rounds alternating, best of each; 1-minute load average "
            f"{', '.join(f'{x:.1f}' for x in loads)} after each round, on {os.cpu_count()} cores shared with other "
            f"work.\n\n" + "\n".join(table) + f"\n\n2 processes / 1 process: {two / one:.2f} x.")
    print(body)
    if not args.quick:
        machine.write_section("DDP", body)


if __name__ == "__main__":
    main()
