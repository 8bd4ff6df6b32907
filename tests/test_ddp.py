"""Training on several processes (docs/architecture.md, Scale): ``torchrun -m rnnscope
train`` on 2 CPU processes (gloo) against the same run on one process with the same global batch.

The reference is the one-process run itself (rnnscope's trainer before DDP, unchanged for one
process): two processes each take half of the batch rows and DDP averages their gradients, so the
loss trajectory and the weights must be those of one process up to float summation order. Measured
here: the weights differ by at most ~1e-7 (absolute) after 30 steps; we allow 2e-6. The metrics
lines are rounded to 5 decimals by the trainer, so they must be equal to the last digit (1e-5).

Each torchrun launch costs several seconds of start-up on these 2 cores, so the module launches it
twice: one run from the start (trajectory, weights, one writer, each file once) and one resume
(a run begun on one process, resumed on two, finished on one again).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnnscope import grammar
from rnnscope.models.data.batches import GrammarData, TextData
from rnnscope.models.training.distributed import World
from rnnscope.models.training.run import read_metrics, run_dir_of
from rnnscope.cli import main

WEIGHT_TOL = 2e-6
SHAPE = ["--steps", "30", "--batch", "8", "--bptt", "20", "--row-chars", "200", "--eval-chars", "2000",
         "--eval-every", "10", "--save-every", "10", "--threads", "1", "--device", "cpu", "--quiet"]
# 200-character rows in 20-character windows: an epoch is 10 steps, so 30 steps cross two epoch starts


def torchrun(*args: str, log: Path | None = None, program: tuple[str, ...] = ("-m", "rnnscope"),
             env_more: dict | None = None) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2 -m rnnscope ...`` (standalone: a free port, so
    parallel test runs do not meet on torchrun's default one); ``program``: another script to start,
    ``env_more``: what else its environment holds."""
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env |= {"OMP_NUM_THREADS": "1", "RNNSCOPE_DIST_TIMEOUT_S": "120", **(env_more or {})}
    if log is not None:
        env["RNNSCOPE_WRITE_LOG"] = str(log)
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           *program, *args], capture_output=True, text=True, env=env, timeout=300)


def one_process(*args: str) -> None:
    assert main(list(args)) == 0


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path / "model.safetensors")


def max_weight_difference(a: Path, b: Path) -> float:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    return max((wa[k] - wb[k]).abs().max().item() for k in wa)


def losses(run: Path) -> list[tuple]:
    return [(m["step"], m["train_loss_nats"], m["val_loss_nats"]) for m in read_metrics(run)]


def assert_same_trajectory(a: Path, b: Path) -> None:
    la, lb = losses(a), losses(b)
    assert [s for s, *_ in la] == [s for s, *_ in lb]
    for (_, ta, va), (_, tb, vb) in zip(la, lb):
        assert ta == pytest.approx(tb, abs=1e-5) and va == pytest.approx(vb, abs=1e-5)


def writes(log: Path, root: Path) -> tuple[set[str], Counter]:
    """The processes that wrote, and how often each path (relative to ``root``) was written."""
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    return {pid for pid, _ in lines}, Counter(str(Path(path).relative_to(root)) for _, path in lines)


def leftovers(folder: Path) -> list[str]:
    """Temporary names an interrupted or doubled write would leave (.NAME.tmp-PID-..., .NAME.old-PID)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


@pytest.fixture(scope="module")
def two_and_one(tmp_path_factory):
    """The same 2-layer GRU run on 2 processes (torchrun) and on 1 (in this process), each with a write log."""
    root = tmp_path_factory.mktemp("ddp")
    (root / "one").mkdir()
    (root / "two").mkdir()
    done = torchrun("train", "-o", str(root / "two" / "ck"), "--layers", "2", *SHAPE, log=root / "two.log")
    os.environ["RNNSCOPE_WRITE_LOG"] = str(root / "one.log")
    try:
        one_process("train", "-o", str(root / "one" / "ck"), "--layers", "2", *SHAPE)
    finally:
        del os.environ["RNNSCOPE_WRITE_LOG"]
    return root, done


def test_two_processes_follow_the_one_process_loss_trajectory_and_weights(two_and_one):
    root, done = two_and_one
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = root / "one" / "ck", root / "two" / "ck"
    assert_same_trajectory(run_dir_of(one), run_dir_of(two))
    assert max_weight_difference(one, two) <= WEIGHT_TOL
    for step in ("step-000010", "step-000020", "step-000030"):
        assert max_weight_difference(run_dir_of(one) / step, run_dir_of(two) / step) <= WEIGHT_TOL
    # the resume state holds the carried state of all 8 rows, gathered in row order from the two halves
    carried_one = load_file(run_dir_of(one) / "resume" / "trainer.safetensors")["carried.0"]
    carried_two = load_file(run_dir_of(two) / "resume" / "trainer.safetensors")["carried.0"]
    assert carried_two.shape == carried_one.shape == (2, 8, 15)
    assert (carried_one - carried_two).abs().max().item() <= WEIGHT_TOL


def test_the_run_records_its_processes_and_global_chars(two_and_one):
    root, _ = two_and_one
    two = run_dir_of(root / "two" / "ck")
    assert json.loads((two / "run.json").read_text())["processes"] == 2
    lines = read_metrics(two)
    assert [m["processes"] for m in lines] == [2, 2, 2]
    record = json.loads((root / "two" / "ck" / "config.json").read_text())["training"]
    # chars counts the global batch: 8 rows x 20 characters a step, over both processes
    assert [h["chars"] for h in record["history"]] == [10 * 8 * 20, 20 * 8 * 20, 30 * 8 * 20]
    assert record["processes"] == 2


def test_one_process_writes_each_file_as_often_as_a_single_process_run(two_and_one):
    root, done = two_and_one
    pids_two, written_two = writes(root / "two.log", root / "two")
    pids_one, written_one = writes(root / "one.log", root / "one")
    assert len(pids_two) == 1 and len(pids_one) == 1
    assert written_two == written_one
    assert written_two["ck.run/metrics.jsonl"] == 3 and written_two["ck.run/resume"] == 3
    assert leftovers(root / "two") == []
    # progress and the report are printed once (rank 0), not once per process
    assert done.stdout.count("best held-out loss") == 1 and done.stdout.count("step 10: held-out") == 1


def test_a_run_leaves_no_gloo_worker_thread_to_outlive_python(tmp_path):
    """The process group is freed, and its worker threads joined, when the run returns. A worker left
    alive can still be letting go of the last collective's tensors while the interpreter exits, which
    aborts the process (SIGABRT, "terminate called without an active exception"): by chance, about one
    run in 20 here. This checks the cause, which is certain, not the abort, which is not."""
    child, reports = Path(__file__).with_name("ddp_threads_child.py"), tmp_path / "reports"
    reports.mkdir()
    done = torchrun("-o", str(tmp_path / "ck"), *SHAPE, program=(str(child),),
                    env_more={"RNNSCOPE_TEST_REPORTS": str(reports)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in reports.iterdir()) == ["rank0.json", "rank1.json"], done.stdout[-3000:]
    assert [json.loads((reports / f"rank{r}.json").read_text()) for r in (0, 1)] == [
        {"rank": 0, "code": 0, "gloo_workers_left": []}, {"rank": 1, "code": 0, "gloo_workers_left": []}]


def test_a_run_begun_on_one_process_resumes_on_two_and_finishes_on_one(tmp_path, capsys):
    """The carried state is saved for the whole global batch; each process takes its rows of it,
    so the number of processes may change between sessions of a run (an LSTM: its state is (h, c))."""
    lstm = ["--cell", "lstm", *SHAPE]
    one_process("train", "-o", str(tmp_path / "straight"), *lstm)
    one_process("train", "-o", str(tmp_path / "ck"), *lstm, "--stop-at", "10")
    run = run_dir_of(tmp_path / "ck")
    done = torchrun("train", "--resume", str(run), "--stop-at", "20", "--threads", "1", "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [m["step"] for m in read_metrics(run)] == [10, 20]
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--stop-at", "20"]) == 2      # a step the run has passed
    assert capsys.readouterr().err == (f"rnnscope train: error: --stop-at 20: {run} is already at step 20; "
                                       f"give a later step\n")
    one_process("train", "--resume", str(run), "--threads", "1", "--quiet")
    assert [m["processes"] for m in read_metrics(run)] == [1, 2, 1]
    assert_same_trajectory(run_dir_of(tmp_path / "straight"), run)
    assert max_weight_difference(tmp_path / "straight", tmp_path / "ck") <= WEIGHT_TOL
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("rank, printed", [("0", True), ("1", False)])
def test_a_batch_the_processes_cannot_share_equally_is_refused_once(tmp_path, monkeypatch, capsys, rank, printed):
    """Checked from torchrun's environment before any process group starts: rank 0 says it, the
    others exit with it silently, nothing is written."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("LOCAL_RANK", rank)
    assert main(["train", "-o", str(tmp_path / "ck"), *SHAPE[:2], "--batch", "5", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    if printed:
        assert err == ("rnnscope train: error: the batch of 5 rows cannot be shared equally by 2 processes: "
                       "give a --batch divisible by 2\n")
    else:
        assert err == ""
    assert list(tmp_path.iterdir()) == []


def test_the_sum3_task_is_refused_under_torchrun(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--task", "sum3", "-o", str(tmp_path / "ck")]) == 2
    assert "--task sum3 trains on one process" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env, problem", [
    ({"WORLD_SIZE": "2"}, "RANK or LOCAL_RANK is missing"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK 2 is not within a WORLD_SIZE of 2"),
    ({"WORLD_SIZE": "2", "RANK": "0", "RNNSCOPE_DIST_TIMEOUT_S": "soon"},
     "RNNSCOPE_DIST_TIMEOUT_S must be a positive number of seconds, got 'soon'"),
    ({"WORLD_SIZE": "2", "RANK": "0", "RNNSCOPE_DIST_TIMEOUT_S": "0"}, "must be a positive number of seconds")])
def test_a_broken_torchrun_environment_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, env,
                                                                             problem):
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "RNNSCOPE_DIST_TIMEOUT_S"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["train", "-o", str(tmp_path / "ck"), *SHAPE]) == 2
    assert problem in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_shares_of_the_processes_are_the_rows_of_one_batch_in_order(tmp_path):
    """Each rank makes only its rows (grammar: its streams and their oracle targets; text: its
    segments), and the shares stacked in rank order are the one-process batch."""
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    for data in (GrammarData(grammar.GrammarSpec(), row_chars=60, eval_chars=400, soft_targets=True),
                 TextData(text)):
        whole, soft = data.epoch(2, 6)
        shares = [data.epoch(2, 6, rows=World(rank, 3).share(6)) for rank in range(3)]
        assert [list(World(rank, 3).share(6)) for rank in range(3)] == [[0, 1], [2, 3], [4, 5]]
        assert np.array_equal(np.concatenate([ids for ids, _ in shares]), whole)
        if soft is not None:
            assert np.array_equal(np.concatenate([s for _, s in shares]), soft)


def rank_pids(launcher: int) -> dict[int, int]:
    """The worker processes torchrun started, by their RANK (read from each one's environment)."""
    ranks = {}
    for child in Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split():
        env = dict(kv.split("=", 1) for kv in Path(f"/proc/{child}/environ").read_bytes().decode().split("\0") if
                   "=" in kv)
        if "RANK" in env:
            ranks[int(env["RANK"])] = int(child)
    return ranks


def test_a_killed_process_stops_the_run_and_leaves_the_last_checkpoint_to_resume_from(tmp_path, capsys):
    """SIGKILL to rank 1 once rank 0 has written a checkpoint: the run stops (no process waits on
    the dead one past the collective timeout), no temporary file is left, the checkpoint at -o
    loads, and the run resumes from it on one process."""
    import signal
    import time

    from rnnscope.models.network import checkpoint
    out, log = tmp_path / "ck", tmp_path / "writes.log"
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env |= {"OMP_NUM_THREADS": "1", "RNNSCOPE_DIST_TIMEOUT_S": "30", "RNNSCOPE_WRITE_LOG": str(log)}
    shape = [a if a != "30" else "100000" for a in SHAPE]           # a run far longer than the test
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                                 "2", "-m", "rnnscope", "train", "-o", str(out), *shape],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 120
        while not (log.exists() and "step-" in log.read_text()) and time.time() < deadline:
            assert launcher.poll() is None, launcher.communicate()[0][-3000:]
            time.sleep(0.2)
        assert "step-" in log.read_text(), "no checkpoint was written within 120 s"
        os.kill(rank_pids(launcher.pid)[1], signal.SIGKILL)
        killed = time.time()
        said = launcher.communicate(timeout=90)[0]
        stopped_in = time.time() - killed
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.communicate()
    print(f"torchrun stopped {stopped_in:.1f} s after rank 1 was killed")
    assert launcher.returncode != 0 and ("Signals.SIGKILL" in said or "exitcode  : -9" in said), said[-3000:]
    assert leftovers(tmp_path) == []
    run = run_dir_of(out)
    saved = [m["step"] for m in read_metrics(run)]
    assert saved and checkpoint.load(out).training_record["history"][-1]["step"] == saved[-1]
    assert main(["train", "--resume", str(run), "--stop-at", str(saved[-1] + 10), "--threads", "1", "--quiet"]) == 0
    assert [m["step"] for m in read_metrics(run)] == saved + [saved[-1] + 10]
    assert [m["processes"] for m in read_metrics(run)][-1] == 1
