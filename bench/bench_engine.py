"""Engine benchmarks: generation, training throughput and time to 1.01 x floor, tracing a
100k-char sequence with gates, batched hidden-state extraction, and the default model's
loss and sample grammaticality. Writes the "Engine" section of bench/RESULTS.md.

    python bench/bench_engine.py            # CPU (and CUDA too when present)
    python bench/bench_engine.py --quick    # smaller sizes, for a smoke run
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope import grammar  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.data.batches import GrammarData  # noqa: E402
from rnnscope.models.training.evaluate import grammatical_share, heldout_loss  # noqa: E402
from rnnscope.models.reading.extract import extract_hidden  # noqa: E402
from rnnscope.models.network.model import CharRNN, ModelConfig  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402
from rnnscope.models.training.train import TrainConfig, train  # noqa: E402


def bench_generate(n):
    return machine.best(lambda: grammar.generate(n, seed=1))


def bench_train_throughput(batch, steps, device):
    """Steady-state chars/s: between two evaluations, so start-up and the first epoch's data are excluded."""
    data = GrammarData(grammar.GrammarSpec(), row_chars=2 * steps * 100 + 1, eval_chars=8_000)
    with tempfile.TemporaryDirectory() as tmp:
        record = train(data, ModelConfig(vocab=data.vocab.chars), TrainConfig(steps=2 * steps, batch_size=batch,
                       device=device, warmup_steps=5, eval_every=steps), Path(tmp) / "m", progress=False)
    first, last = record["history"][0], record["history"][-1]
    return (last["chars"] - first["chars"]) / (last["seconds"] - first["seconds"])


def bench_time_to_floor(device, target=1.01, steps=1500):
    """Wall time until the held-out loss first reaches ``target`` x the floor (evaluated every 50 steps)."""
    data = GrammarData(grammar.GrammarSpec(), row_chars=5_000, eval_chars=50_000, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        record = train(data, ModelConfig(vocab=data.vocab.chars),
                       TrainConfig(steps=steps, batch_size=128, device=device, eval_every=50),
                       Path(tmp) / "m", progress=False)
    for entry in record["history"]:
        if entry["ratio_to_floor"] <= target:
            return entry["seconds"], entry["step"], entry["ratio_to_floor"]
    return None, steps, record["history"][-1]["ratio_to_floor"]


def bench_trace(model, n):
    text = grammar.generate(n, seed=5)
    trace(model, text[:1000])  # warm-up
    return machine.best(lambda: trace(model, text))


@njit(cache=False)
def _floor_gru(gi, W_hh, b_hh, h, out, gates):
    """A plain compiled GRU step loop (the issue's "compiled-loop floor"): float32, the equations as
    written, input projections given, h and r, z, n stored. Written apart from models/reading/compiled.py,
    so it measures what a straightforward loop does, not ours."""
    T, H = out.shape
    gh = np.empty(3 * H, np.float32)
    for t in range(T):
        for j in range(3 * H):
            acc = b_hh[j]
            for k in range(H):
                acc += W_hh[j, k] * h[k]
            gh[j] = acc
        for j in range(H):
            r = 1 / (1 + np.exp(-(gi[t, j] + gh[j])))
            z = 1 / (1 + np.exp(-(gi[t, H + j] + gh[H + j])))
            n = np.tanh(gi[t, 2 * H + j] + r * gh[2 * H + j])
            h[j] = (1 - z) * n + z * h[j]
            out[t, j], gates[0, t, j], gates[1, t, j], gates[2, t, j] = h[j], r, z, n


def bench_trace_floor(model, n):
    """Beside the trace: a plain compiled loop (inputs projected outside the timing) and torch's own
    nn.GRU forward over the same text, chunks of 10k with the state carried (h only, no gates)."""
    text = grammar.generate(n, seed=5)
    w = {k: v.astype(np.float32) for k, v in model.layer_arrays(0).items()}
    gi = model.input_vectors(text).astype(np.float32) @ w["weight_ih"].T + w["bias_ih"]
    H = w["weight_hh"].shape[1]
    out, gates = np.empty((n, H), np.float32), np.empty((3, n, H), np.float32)
    run = lambda: _floor_gru(gi, w["weight_hh"], w["bias_hh"], np.zeros(H, np.float32), out, gates)  # noqa: E731
    run()
    x = model.inputs(torch.as_tensor(model.vocab.encode(text))[None])

    @torch.no_grad()
    def bare_torch():
        state = None
        for start in range(0, n, 10_000):
            _, state = model.rnn(x[:, start:start + 10_000], state)
    return machine.best(run), machine.best(bare_torch)


def first_trace_seconds(cold: bool) -> float:
    """A fresh process's first 1,000-char trace: with the numba cache (what every run after the
    first gets), or with an empty one (a fresh checkout: the GRU loop is compiled then)."""
    code = ("import time; from models import checkpoint, tracer; m = checkpoint.load(checkpoint.DEFAULT_CHECKPOINT); "
            "t = time.perf_counter(); tracer.trace(m, '( 1 ) 0 ' * 125); print(time.perf_counter() - t)")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = tmp
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def trace_rows(device, model, n, row):
    t_trace = bench_trace(model, n)
    if device == "cpu":
        t_floor, t_torch = bench_trace_floor(model, n)
        row(f"trace {n:,} chars, default GRU, with gates", device,
            f"{t_trace:.3f} s ({t_trace / t_floor:.2f} x a plain compiled loop, "
            f"{t_torch / t_trace:.1f} x faster than torch's nn.GRU without gates)", "< 0.15 s")
        row(f"baseline: a plain compiled GRU step loop (numba, float32), h and gates, {n:,} steps", device,
            f"{t_floor:.3f} s", "")
        row(f"baseline: torch's nn.GRU forward, h only, {n:,} chars in chunks of 10k", device, f"{t_torch:.3f} s", "")
        row("first trace in a fresh process: numba cache present / empty (compiles the GRU loop)", device,
            f"{first_trace_seconds(False):.2f} s / {first_trace_seconds(True):.2f} s", "")
    else:
        row(f"trace {n:,} chars, default GRU, with gates", device, f"{t_trace:.3f} s", "< 0.15 s")


def bench_extract(model, rows, n):
    ids = np.stack([model.vocab.encode(grammar.generate(n, seed=(9, r))) for r in range(rows)])
    extract_hidden(model, ids[:, :1000])
    return rows * n / machine.best(lambda: extract_hidden(model, ids), 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--model", default=str(checkpoint.DEFAULT_CHECKPOINT))
    ap.add_argument("--trace-only", action="store_true",
                    help="only the trace figures, written to the Tracer section (the Engine section is left alone)")
    args = ap.parse_args()
    q = args.quick
    if args.trace_only:
        return trace_section(args)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    lines = [f"Measured {datetime.date.today()} on {machine.describe()}.", "",
             "| what | device | result | target |", "|---|---|---|---|"]

    def row(what, device, result, target):
        lines.append(f"| {what} | {device} | {result} | {target} |")
        print(lines[-1], flush=True)

    n_gen = 200_000 if q else 2_000_000
    row(f"generate {n_gen:,} chars", "cpu", f"{bench_generate(n_gen):.3f} s (best of 3)", "< 1 s for 2M")
    for device in devices:
        for batch in ([128] if q else [128, 256, 1024]):
            cps = bench_train_throughput(batch, 20 if q else 100, device)
            row(f"training throughput, batch {batch} x 100 steps", device, f"{cps / 1e3:,.0f}k chars/s", ">= 300k")
        if not q:
            secs, step, ratio = bench_time_to_floor(device)
            row("time to 1.01 x floor (batch 128, held-out 50k)", device,
                f"{secs:.1f} s (step {step}, {ratio:.4f} x)" if secs else f"not reached ({ratio:.4f} x)", "")

        default = checkpoint.load(args.model, device)
        n_trace = 10_000 if q else 100_000
        trace_rows(device, default, n_trace, row)
        lstm = CharRNN(ModelConfig(vocab=default.config.vocab, cell="lstm")).to(device)
        row(f"trace {n_trace:,} chars, LSTM-15, with gates and c", device, f"{bench_trace(lstm, n_trace):.3f} s",
            "< 2 s")
        rows, n = (16, 10_000) if q else (256, 10_000)
        row(f"batched extraction, {rows} rows x {n:,} chars", device,
            f"{bench_extract(default, rows, n) / 1e6:.2f}M chars/s", ">= 1M")

    default = checkpoint.load(args.model)
    text = grammar.generate(200_000, seed=12345)
    loss, floor = heldout_loss(default, default.vocab.encode(text)[None]), grammar.empirical_floor(text)
    row("default model, fresh 200k held-out stream", "cpu",
        f"{loss:.5f} nats/char, floor {floor:.5f}, {loss / floor:.5f} x", "<= 0.489")
    n = 20 if q else 500
    for name, warm in (("from the start state (primed '(')", 0), ("after a 200-char warm-up", 200)):
        good, _ = grammatical_share(default, n=n, seed=2024, warmup_chars=warm)
        row(f"grammatical 500-token samples at T=1, {name}", "cpu", f"{good} of {n}", ">= 99 of 100")
    record = default.training_record
    best = record.get("best") or {}
    lines += ["", f"Default checkpoint: trained {best.get('seconds', '?')} s to its best step {best.get('step', '?')} "
              f"on {record.get('device', '?')}, {best.get('chars_per_s', '?')} chars/s single-threaded, "
              f"soft targets: {record.get('data', {}).get('soft_targets')}; settings {record.get('train', {})}."]
    if not q:
        machine.write_section("Engine", "\n".join(lines))


def trace_section(args):
    torch.set_num_threads(1)
    lines = [f"`python bench/bench_engine.py --trace-only`, {datetime.date.today()}, on {machine.describe()}; "
             "best of 3 each, every ratio against a baseline measured in the same run; "
             + machine.load_note() + ".", "",
             "| what | device | result | target |", "|---|---|---|---|"]

    def row(what, device, result, target):
        lines.append(f"| {what} | {device} | {result} | {target} |")
        print(lines[-1], flush=True)

    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        model = checkpoint.load(args.model, device)
        trace_rows(device, model, 10_000 if args.quick else 100_000, row)
        lstm = CharRNN(ModelConfig(vocab=model.config.vocab, cell="lstm")).to(device)
        row("trace 100,000 chars, LSTM-15, with gates and c", device, f"{bench_trace(lstm, 100_000):.3f} s", "")
    if not args.quick:
        machine.write_section("Tracer", "\n".join(lines))


if __name__ == "__main__":
    main()
