"""Training speed against a bare torch loop of the same shape, and what evaluation costs a run.

Three shapes: the grammar GRU-15 (15-d embedding) at batch 128 with hard targets (the command's
defaults) and at batch 256 with the oracle's soft targets (the shipped checkpoint's settings), and
the text LSTM-128 (32-d embedding, batch 64) on the python-stdlib corpus; bptt 100, one thread,
seed 0 in all. Each measurement is its own process, and the rounds alternate them (bare loop, this
checkout's trainer, the baseline checkout's trainer), so a busy spell on the shared machine hits
all of them; best of the rounds each.

- bare loop: the same CharRNN, Adam, clipping, carried state, loss and ``.item()`` a step, on rows
  made before the clock starts; no learning-rate schedule, evaluation, saving or data making.
- trainer: ``train()`` for 2K steps with an evaluation every K; the window is from the first
  evaluation's record to the last's, so it holds K steps, one epoch's data made (grammar: rows of
  K * bptt + 1 characters, so one epoch is K steps; text: the epoch is made once, at the start),
  the metrics line and resume state saved at the first evaluation, and the evaluation itself,
  which is timed (a wrapper around the trainer's ``heldout_loss``) and taken out: "steady state".
- evaluation share of a default-length run (3,000 steps, an evaluation every 500: six): six
  evaluations and the held-out set (a grammar's with its oracle floor), made once at the start,
  over those plus 3,000 steps at the steady-state step time.
- all in CPU seconds of the measuring process (one thread): on a shared machine wall time
  measures the other work as much as this; the trainer's own records are wall time.

    python bench/bench_train_speed.py --baseline-python /path/to/main/.venv/bin/python
    python bench/bench_train_speed.py --quick        # short, no baseline, does not write RESULTS.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = {   # name: (what, batch, K steps between evaluations)
    "gru128": ("grammar GRU-15, batch 128, hard targets", 128, 200),
    "gru256soft": ("grammar GRU-15, batch 256, soft targets", 256, 200),
    "text": ("text LSTM-128, batch 64, python-stdlib", 64, 60),
}
BPTT = 100


def _data_and_model(case: str, k: int, text_path: str | None):
    from rnnscope import grammar
    from rnnscope.models.data.batches import GrammarData, TextData
    from rnnscope.models.network.model import ModelConfig
    if case == "text":
        data = TextData(text_path)
        return data, ModelConfig(vocab=data.vocab.chars, cell="lstm", hidden_size=128, embedding_dim=32)
    data = GrammarData(grammar.GrammarSpec(), row_chars=k * BPTT, soft_targets=case.endswith("soft"))
    return data, ModelConfig(vocab=data.vocab.chars, cell="gru", hidden_size=15, embedding_dim=15)


def trainer(case: str, k: int, text_path: str | None) -> dict:
    """Steady-state chars/s of train() between its two evaluations, the evaluation taken out."""
    from rnnscope.models.training import train as train_module
    data, config = _data_and_model(case, k, text_path)
    starts, timed, inner = [], [], train_module.heldout_loss

    def heldout_loss(*args, **kwargs):
        starts.append(time.process_time())
        try:
            return inner(*args, **kwargs)
        finally:
            timed.append(time.process_time() - starts[-1])
    train_module.heldout_loss = heldout_loss
    made, make_heldout = [], data.heldout

    def heldout():     # the held-out set (and a grammar's floor), made once a run: evaluation's too
        start = time.process_time()
        try:
            return make_heldout()
        finally:
            made.append(time.process_time() - start)
    data.heldout = heldout
    cfg = train_module.TrainConfig(steps=2 * k, batch_size=CASES[case][1], bptt=BPTT, device="cpu",
                                   eval_every=k, threads=1, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        record = train_module.train(data, config, cfg, Path(tmp) / "m", progress=False)
    first, last = record["history"][0], record["history"][-1]
    seconds = starts[-1] - starts[0] - timed[0]    # CPU seconds from evaluation to evaluation, less the first
    return {"chars_per_s": (last["chars"] - first["chars"]) / seconds, "step_s": seconds / k,
            "eval_s": min(timed), "heldout_s": made[0], "losses": [h["train_loss"] for h in record["history"]]}


def bare(case: str, k: int, text_path: str | None) -> dict:
    """The same shape in plain torch, timed over k steps after 5 warm-up steps."""
    import torch
    import torch.nn.functional as F
    from rnnscope.models.network.model import CharRNN
    data, config = _data_and_model(case, k + 5, text_path)
    ids, soft = data.epoch(0, CASES[case][1])
    rows, soft = torch.as_tensor(ids), None if soft is None else torch.as_tensor(soft)
    torch.manual_seed(0)
    model = CharRNN(config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    state, start = None, None
    for step in range(k + 5):
        if step == 5:
            start = time.process_time()
        pos = step * BPTT
        x, y = rows[:, pos:pos + BPTT], rows[:, pos + 1:pos + BPTT + 1]
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        if soft is None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        else:
            loss = -(soft[:, pos:pos + BPTT] * F.log_softmax(logits, dim=-1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    seconds = time.process_time() - start
    return {"chars_per_s": k * rows.shape[0] * BPTT / seconds, "step_s": seconds / k}


def measure(python: str, cwd: Path, kind: str, case: str, k: int, text_path: str) -> dict:
    """One measurement in a fresh process of ``python``: its own rnnscope (this checkout's or the
    baseline's) is the one it imports; ``cwd`` is a scratch folder, so nothing there shadows it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNNSCOPE_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run([python, str(HERE / "bench_train_speed.py"), "--worker", kind, "--case", case,
                           "--k", str(k), "--text", text_path], capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode:
        raise SystemExit(f"{kind} {case} with {python} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def eval_share(m: dict, steps: int = 3000, every: int = 500) -> float:
    """Evaluation's share of a run of ``steps`` evaluated every ``every``: its evaluations and the
    held-out set made at its start, against those plus the steps at the steady-state step time."""
    evaluation = steps // every * m["eval_s"] + m["heldout_s"]
    return evaluation / (evaluation + steps * m["step_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-python", help="a Python whose rnnscope is the baseline checkout (e.g. main)")
    ap.add_argument("--baseline-name", default="main", help="how the results name the baseline")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--quick", action="store_true", help="K = 10 steps, one round, no RESULTS.md")
    ap.add_argument("--worker", choices=["trainer", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--text", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        import torch
        torch.set_num_threads(1)
        print(json.dumps((trainer if args.worker == "trainer" else bare)(args.case, args.k, args.text)))
        return
    sys.path.insert(0, str(HERE))
    import machine
    from rnnscope.models.data import corpus
    cases = args.cases.split(",")
    rounds = 1 if args.quick else args.rounds
    import torch
    torch.set_num_threads(1)     # as in every worker (machine.describe reports it)
    kinds = [("bare", sys.executable), ("ours", sys.executable)]
    if args.baseline_python:
        kinds.append(("baseline", args.baseline_python))
    found = {(c, kind): [] for c in cases for kind, _ in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        text, record = corpus.python_stdlib(3_000_000)
        text_path = str(Path(tmp) / "python-stdlib.txt")
        Path(text_path).write_text(text)
        for r in range(rounds):
            for case in cases:
                k = 10 if args.quick else CASES[case][2]
                for kind, py in kinds:
                    result = measure(py, Path(tmp), "bare" if kind == "bare" else "trainer", case, k, text_path)
                    found[(case, kind)].append(result)
                    print(f"round {r + 1} {case} {kind}: {result['chars_per_s'] / 1e3:.1f}k chars/s"
                          + (f", eval {result['eval_s']:.2f} s" if "eval_s" in result else ""), flush=True)
    load = machine.load_note()

    def best(case, kind):
        return max(found[(case, kind)], key=lambda m: m["chars_per_s"])
    rows = ["| shape | bare loop chars/s | rnnscope train, steady state | ratio | evaluation: a call, the held-out "
            "set, share of a 3,000-step run |" + (f" {args.baseline_name}: steady state, ratio, evaluation |"
                                                 if args.baseline_python else ""),
            "|---|---|---|---|---|" + ("---|" if args.baseline_python else "")]
    for case in cases:
        b, o = best(case, "bare"), best(case, "ours")
        line = (f"| {CASES[case][0]} | {b['chars_per_s']:,.0f} | {o['chars_per_s']:,.0f} | "
                f"**{o['chars_per_s'] / b['chars_per_s']:.2f}** | {o['eval_s']:.2f} s, {o['heldout_s']:.2f} s, "
                f"{eval_share(o):.1%} |")
        if args.baseline_python:
            m = best(case, "baseline")
            line += (f" {m['chars_per_s']:,.0f}, {m['chars_per_s'] / b['chars_per_s']:.2f}, "
                     f"{m['eval_s']:.2f} s, {m['heldout_s']:.2f} s, {eval_share(m):.1%} |")
            if m["losses"] != o["losses"]:
                line += " (training losses differ from the baseline's!)"
        rows.append(line)
    if args.baseline_python:
        same = all(best(c, "ours")["losses"] == best(c, "baseline")["losses"] for c in cases)
        rows.append("\nThe training losses at both evaluations (5 decimals) are the baseline's in every shape: "
                    + ("yes." if same else "**no** (marked above)."))
    body = (f"`python bench/bench_train_speed.py{' --baseline-python ...' if args.baseline_python else ''} "
            f"--rounds {rounds}`, {datetime.date.today()}, on {machine.describe()}; each figure the best of "
            f"{rounds} alternating rounds, each measurement a fresh process, in CPU seconds of that process "
            f"(the machine is shared: wall time would measure the other work); {load}. Steady state: "
            f"between two evaluations K steps apart (K = "
            f"{', '.join(f'{c} {CASES[c][2]}' for c in cases)}), the evaluation taken out; the bare loop has no "
            f"schedule, data making, evaluation or saving.\n\n" + "\n".join(rows))
    print(body)
    if not args.quick:
        machine.write_section("Training speed against the bare loop", body)


if __name__ == "__main__":
    main()
