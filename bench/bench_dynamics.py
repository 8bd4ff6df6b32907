"""Dynamics benchmark: the fixed points of every input character of the shipped grammar GRU
(analysis/dynamics/: batched Levenberg-Marquardt over all starts, autograd Jacobians), beside a baseline
measured in the same run on the first starts: the textbook search, scipy's L-BFGS-B from one start at a
time with q and its gradient by torch autograd (the way FixedPointFinder-style tools are usually
written). Writes the "Dynamics" section of bench/RESULTS.md.

    python bench/bench_dynamics.py            # every character, 256 + 32 starts; the baseline on 2 of them (~2-8 min)
    python bench/bench_dynamics.py --quick    # fewer starts, for a smoke run
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

import rnnscope as rs  # noqa: E402
from rnnscope.analysis.dynamics.fixed_points import EXACT_Q, Options, find_fixed_points  # noqa: E402
from rnnscope.analysis.dynamics.run import dynamics_run  # noqa: E402
from rnnscope.models.reading.update import Update  # noqa: E402


def lbfgs_baseline(update: Update, char: str, starts: np.ndarray, bounds) -> tuple[np.ndarray, float]:
    """q at rest from each start by scipy L-BFGS-B (one start at a time, q and grad by autograd); seconds."""
    x = update.input_of(char)

    def q_and_grad(s: np.ndarray):
        t = torch.as_tensor(s[None]).requires_grad_(True)
        r = update._run(t, x) - t
        q = 0.5 * (r * r).sum()
        q.backward()
        return float(q.detach()), t.grad[0].numpy().copy()

    t0 = time.perf_counter()
    qs = [minimize(q_and_grad, s, jac=True, method="L-BFGS-B", bounds=list(zip(*bounds)),
                   options={"maxiter": 2000, "ftol": 1e-30, "gtol": 1e-16}).fun for s in starts]
    return np.array(qs), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    starts, random_starts, baseline_starts = (32, 4, 1) if args.quick else (256, 32, 2)
    m = rs.load("gru15-parens")
    t0 = time.perf_counter()
    tr, ann = m.heldout_trace(20_000)
    read = time.perf_counter() - t0
    run = dynamics_run(m.module, tr, ann, None, starts, random_starts)
    total = read + run.seconds
    rows = [f"| {r.char!r} | {len(r.fixed)} | {sum(p.q <= EXACT_Q for p in r.fixed)} | "
            f"{sum(p.linear.stable for p in r.fixed)} | {len(r.slow)} | {r.neither} | "
            f"{max((p.linear.largest_modulus for p in r.fixed), default=float('nan')):.9f} | "
            f"{max((p.linear.slowest_time_constant or 0 for p in r.fixed), default=float('nan')):,.1f} |"
            for r in run.results]

    # The same first `baseline_starts` starts (in-context states) through both searches, every character
    update, sub = run.update, run.starts.states[:baseline_starts]
    bounds = update.bounds()
    t0 = time.perf_counter()
    ours = find_fixed_points(update, run.update.model.config.vocab, sub, Options(), bounds)
    ours_seconds = time.perf_counter() - t0
    ours_exact = sum(sum(p.starts for p in r.fixed if p.q <= EXACT_Q) for r in ours)
    ours_fixed = sum(sum(p.starts for p in r.fixed) for r in ours)
    base_q, base_seconds = [], 0.0
    for char in m.vocab:
        q, s = lbfgs_baseline(update, char, sub, bounds)
        base_q.append(q)
        base_seconds += s
    base_q = np.concatenate(base_q)
    n = len(sub) * len(m.vocab)
    searches = len(run.starts.states) * len(m.vocab)

    load = os.getloadavg()[0]
    body = (f"`python bench/bench_dynamics.py{' --quick' if args.quick else ''}`, "
            f"{datetime.date.today().isoformat()}, on {machine.describe()}; one run each; load average {load:.1f} "
            f"on {os.cpu_count()} cores at the end of the run.\n\n"
            f"Fixed points of every input character of the shipped GRU-15 ({len(m.vocab)} characters), "
            f"{starts} starts read in context on 20,000 held-out characters + {random_starts} random, "
            f"q_tol 1e-12, exact q <= 1e-24:\n\n"
            "| what | result | target |\n|---|---|---|\n"
            f"| read 20,000 held-out characters in context + search all {len(m.vocab)} characters | "
            f"{total:.2f} s ({read:.2f} s + {run.seconds:.2f} s) | < 30 s |\n"
            f"| same run, the same first {len(sub)} start(s) of every character (= {n} searches): batched "
            f"Levenberg-Marquardt (rnnscope) | {ours_seconds:.2f} s; {ours_fixed} of {n} reach q <= 1e-12, "
            f"{ours_exact} q <= 1e-24 | |\n"
            f"| baseline: scipy L-BFGS-B one start at a time, q and gradient by torch autograd, same box | "
            f"{base_seconds:.2f} s ({base_seconds / max(ours_seconds, 1e-9):.1f} x); {(base_q <= 1e-12).sum()} "
            f"of {n} reach q <= 1e-12, {(base_q <= EXACT_Q).sum()} q <= 1e-24 | |\n"
            f"| per search: rnnscope's full run / the baseline | {1e3 * run.seconds / searches:.1f} ms / "
            f"{1e3 * base_seconds / n:.0f} ms (the full run by the baseline: ~{base_seconds / n * searches / 60:.0f} "
            "min, extrapolated) | |\n\n"
            "| input | fixed | exact | stable | slow | rest elsewhere | largest abs eig | slowest tau (chars) |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    print(body)
    if not args.no_write:
        machine.write_section("Dynamics", body)


if __name__ == "__main__":
    main()
