"""Train a character model by truncated back-propagation through a carried hidden state.

The story: build the model, then for each step take the next ``bptt``-character window of
every batch row, predict each next character, back-propagate through that window only,
and carry the (detached) state on to the next window. Each epoch brings fresh rows and a
zero state; every ``eval_every`` steps the held-out loss is measured against the oracle
floor and the best model so far is saved. Adam with cosine decay and gradient clipping; seeded.

A run that diverges (a NaN or infinite training or held-out loss) stops at once with
TrainingDiverged, keeping the last good checkpoint; nothing non-finite is ever saved. A
held-out loss worse than the unigram baseline (the entropy of the training data's character
frequencies) is warned about on stderr and marked in the record; such a run still ends
normally, because its checkpoint is a valid model and a few-step smoke run is expected to be
there: the record's ``best_worse_than_unigram`` says so for scripts that want to fail on it.

Under ``torchrun`` the same story runs in every process on its share of the batch rows, with the
model wrapped in DistributedDataParallel; rank 0 alone evaluates and writes (models/training/distributed.py).
"""
from __future__ import annotations

import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rnnscope.models.network import checkpoint

from rnnscope.models.training import distributed
from rnnscope.models.data.batches import GrammarData, TextData, data_from_record
from rnnscope.models.training.distributed import World
from rnnscope.models.training.evaluate import entropy_of_counts, heldout_loss
from rnnscope.base.errors import RnnscopeError, TrainingDiverged
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.run import (BITS_PER_NAT, append_metrics, load_state, metrics_line, read_run_json,
                                          run_dir_of, save_state, step_name, truncate_metrics, write_run_json)
from rnnscope.base.runtime import set_threads


@dataclass
class TrainConfig:
    steps: int = 3000
    batch_size: int = 128
    bptt: int = 100
    lr: float = 1e-2
    min_lr_ratio: float = 0.02   # cosine decay ends at lr * min_lr_ratio
    warmup_steps: int = 50
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    eval_every: int = 500        # steps between held-out evaluations (and keep-best saves)
    save_every: int | None = None  # steps between periodic checkpoints in the run directory
    threads: int | None = None   # CPU threads for torch; 1 is immune to other load and to the core count

    def __post_init__(self):
        for name in ("steps", "batch_size", "bptt", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise RnnscopeError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.save_every is not None and (not isinstance(self.save_every, int) or self.save_every < 1):
            raise RnnscopeError(f"save_every must be a positive integer, got {self.save_every!r}")
        if self.threads is not None and self.threads < 1:
            raise RnnscopeError(f"threads must be at least 1, got {self.threads}")
        if not self.lr > 0 or self.lr == float("inf"):       # also refuses NaN
            raise RnnscopeError(f"lr must be a positive number, got {self.lr}")
        if not (self.clip > 0 and 0 <= self.min_lr_ratio <= 1 and self.warmup_steps >= 0):
            raise RnnscopeError("clip must be positive, min_lr_ratio within 0..1, warmup_steps >= 0")


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def train(data: GrammarData | TextData, model_config: ModelConfig, cfg: TrainConfig, out: str | Path,
          progress: bool = True, force: bool = False, minutes: float | None = None,
          stop_at: int | None = None) -> dict:
    """Train, saving the best model (by held-out loss) to ``out`` and the run (its settings,
    metrics, periodic checkpoints and resumable state) to ``out``.run (models/training/run.py). Returns the
    training record. An existing checkpoint at ``out`` is replaced only with ``force``.
    ``minutes`` limits this session's time and ``stop_at`` its last step: either stops cleanly
    (evaluates, saves), and ``resume`` goes on from there. Under torchrun every process calls
    this; they share the batch and rank 0 writes (models/training/distributed.py)."""
    world = World.from_env()
    world.rows_per_rank(cfg.batch_size)   # refused before anything starts
    run = run_dir_of(out)

    def prepare() -> None:
        checkpoint.check_output(out, force)   # fail now, not at the first evaluation minutes in
        if run.exists() and not force:
            raise RnnscopeError(f"{run}: a run is already there; continue it with --resume {run}, or give --force")
        if run.exists():
            if not (run / "run.json").is_file():
                raise RnnscopeError(f"{run}: exists and is not a training run; refusing to replace it, "
                                    f"choose a new --out")
            shutil.rmtree(run)    # --force: this run starts afresh
    if not world.distributed:
        prepare()
    set_threads(cfg.threads)
    device = distributed.start(world, cfg.device)
    try:
        if world.distributed:
            distributed.on_writer(world, prepare)
        torch.manual_seed(cfg.seed)   # every rank builds the same weights (and DDP sends rank 0's anyway)
        model = CharRNN(model_config).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        record = {"data": data.describe(), "train": asdict(cfg), "device": str(device), "torch": torch.__version__,
                  "processes": world.size, "floor": None, "unigram": None, "history": [], "best": None}

        def start_run() -> None:   # at the first save: a run that dies before it leaves nothing behind
            write_run_json(run, out, record["data"], model_config.to_dict(), cfg, processes=world.size)
        state = {"step": 0, "epoch": -1, "pos": 0, "chars": 0, "seconds": 0.0, "window_losses": [], "record": record}
        return _loop(data, model, opt, cfg, Path(out), run, state, None, progress, minutes, stop_at, start_run, world)
    finally:
        distributed.stop(world)


def resume(run: str | Path, progress: bool = True, minutes: float | None = None, stop_at: int | None = None,
           threads: int | None = None, device: str | None = None) -> dict:
    """Go on with the run in ``run`` (an OUT.run directory) from its saved state to its last step.
    Its data, model and settings are those of run.json; ``threads`` and ``device`` may differ
    (they change speed, not the run: on the CPU the result is the same to the bit), and so may the
    number of processes: the saved carried state holds every row of the global batch, and each
    process takes its share of it, so a run begun on N processes goes on with M (same global batch)."""
    run = Path(run)
    spec = read_run_json(run)
    cfg = TrainConfig(**{**spec["train"], **({"threads": threads} if threads else {}),
                         **({"device": device} if device else {})})
    world = World.from_env()
    world.rows_per_rank(cfg.batch_size)
    data = data_from_record(spec["data"])
    model_config = ModelConfig.from_dict(spec["model"])
    set_threads(cfg.threads)
    dev = distributed.start(world, cfg.device)
    try:
        model = CharRNN(model_config).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        carried, state = load_state(run, model, opt, dev)
        carried = distributed.take_rows(world, carried, cfg.batch_size)
        if state["step"] >= cfg.steps:
            raise RnnscopeError(f"{run}: the run already finished all {cfg.steps} steps; nothing to resume")
        if stop_at is not None and stop_at <= state["step"]:
            raise RnnscopeError(f"--stop-at {stop_at}: {run} is already at step {state['step']}; "
                                f"give a later step")
        # every rank has read the state before rank 0 may write the run again
        distributed.on_writer(world, truncate_metrics, run, state["step"])
        state["record"]["resumed_at"] = state["record"].get("resumed_at", []) + [state["step"]]
        return _loop(data, model, opt, cfg, Path(spec["out"]), run, state, carried, progress, minutes, stop_at,
                     lambda: None, world)
    finally:
        distributed.stop(world)


def _loop(data, model, opt, cfg: TrainConfig, out: Path, run: Path, st: dict, carried, progress: bool,
          minutes: float | None, stop_at: int | None, start_run, world: World) -> dict:
    """The training story from step ``st['step']`` on; ``st`` holds everything a resume needs.
    Under torchrun each rank runs it on its share of the rows; ``net`` is the DDP-wrapped model,
    whose backward averages the gradients over the ranks; ``model`` is the shared module itself."""
    device = model.device
    net = model if not world.distributed else DistributedDataParallel(
        model, device_ids=[device] if device.type == "cuda" else None,
        forward_sync_buffers=False)   # the only buffer (digit values) is a constant: no need to send it each step
    record, window_losses = st["record"], st["window_losses"]
    heldout, floor = data.heldout() if world.writer else (None, None)   # only rank 0 evaluates
    record["floor"] = floor
    epoch, pos, state, rows, soft = st["epoch"], st["pos"], carried, None, None
    if epoch >= 0:    # resuming mid-epoch: rebuild that epoch's rows (they come from its seed)
        rows, soft = _rows(data, epoch, cfg, device, world)
    session_start, chars = time.perf_counter(), st["chars"]

    def elapsed() -> float:
        return st["seconds"] + time.perf_counter() - session_start

    def snapshot(step: int) -> dict:
        return {"step": step, "epoch": epoch, "pos": pos, "chars": chars, "seconds": elapsed(),
                "window_losses": window_losses[-100:], "record": record}

    def write(done: int, stopped: str | None, evaluate: bool, whole_state) -> None:   # rank 0's part of a save
        if not (run / "run.json").exists():
            start_run()
        if evaluate:
            _evaluate(model, heldout, floor, record, done, window_losses, out, run, elapsed(), chars, cfg, stopped,
                      world.size)
        if cfg.save_every and (done % cfg.save_every == 0 or done == cfg.steps):
            checkpoint.save(model, run / step_name(done, cfg.steps), record)
        save_state(run, model, opt, whole_state, snapshot(done))

    stopped = None
    bar = tqdm(range(st["step"], cfg.steps), initial=st["step"], total=cfg.steps,
               disable=not (progress and world.writer), unit="step", dynamic_ncols=True, mininterval=1.0)
    for step in bar:
        if rows is None or pos + cfg.bptt + 1 > rows.shape[1]:
            epoch, pos, state = epoch + 1, 0, None
            rows, soft = _rows(data, epoch, cfg, device, world)
            if record["unigram"] is None:   # the baseline a model must beat to have learned anything from context
                counts = np.bincount(rows.cpu().numpy().ravel(), minlength=len(model.config.vocab))
                record["unigram"] = round(entropy_of_counts(distributed.sum_counts(world, counts)), 5)
        x, y = rows[:, pos:pos + cfg.bptt], rows[:, pos + 1:pos + cfg.bptt + 1]
        target = None if soft is None else soft[:, pos:pos + cfg.bptt]
        pos += cfg.bptt

        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        net.train()
        logits, state = net(x, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        if target is None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        else:  # expected loss under the oracle's distribution (see models/data/batches.py)
            loss = -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()
        # the global batch's loss, and whether any rank's clock ran out: one all-reduce, so all agree
        out_of_time = minutes is not None and time.perf_counter() - session_start >= minutes * 60
        value, out_of_time = distributed.mean_and_any(world, loss, out_of_time)
        if not math.isfinite(value):
            distributed.on_writer(world, _stop_diverged, record, out, step, "training", value)
        opt.zero_grad(set_to_none=True)
        loss.backward()      # under DDP: the gradients arrive averaged over the ranks
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()

        chars += y.numel() * world.size
        window_losses.append(value)
        del window_losses[:-100]
        if progress and world.writer and step % 20 == 0:
            recent = sum(window_losses[-50:]) / len(window_losses[-50:])
            gap = f" floor x{recent / floor:.4f}" if floor else ""
            bar.set_postfix_str(f"loss {recent:.4f}{gap} lr {lr_at(step, cfg):.1e} "
                                f"{(chars - st['chars']) / (time.perf_counter() - session_start) / 1e3:.0f}k chars/s"
                                + (f" on {world.size} processes" if world.distributed else ""))
        done = step + 1
        if done == cfg.steps:
            break
        if out_of_time:
            stopped = f"time limit of {minutes:g} minutes"
        elif stop_at is not None and done >= stop_at:
            stopped = f"asked to stop at step {stop_at}"
        evaluate = bool(done % cfg.eval_every == 0 or stopped)
        if evaluate or (cfg.save_every and done % cfg.save_every == 0):
            whole = distributed.gather_rows(world, state)   # every rank's rows, for the one resume state
            distributed.on_writer(world, write, done, stopped, evaluate, whole)
        if stopped:
            break
    bar.close()
    if stopped is None:
        whole = distributed.gather_rows(world, state)
        distributed.on_writer(world, write, cfg.steps, None, True, whole)

    def finish() -> dict:
        record["best_worse_than_unigram"] = record["best"]["heldout_loss"] > record["unigram"]
        record["stopped"] = stopped
        checkpoint.update_record(out, record)   # the saved record stopped at the best step
        return record
    return distributed.on_writer(world, finish)   # every rank returns rank 0's record


def _rows(data, epoch: int, cfg: TrainConfig, device, world: World):
    """This rank's rows of the epoch (all of them for one process)."""
    rows, soft = data.epoch(epoch, cfg.batch_size, rows=world.share(cfg.batch_size) if world.distributed else None)
    if rows.shape[1] < cfg.bptt + 1:
        raise RnnscopeError(f"each of the {cfg.batch_size} batch rows holds {rows.shape[1]} characters, "
                            f"fewer than one window of {cfg.bptt} + 1: use more text, a smaller --batch "
                            f"or a smaller --bptt")
    return torch.as_tensor(rows, device=device), None if soft is None else torch.as_tensor(soft, device=device)


def _stop_diverged(record: dict, out, step: int, which: str, value: float) -> None:
    """Record where the run diverged in the kept checkpoint (if this run saved one) and stop."""
    record["diverged"] = {"step": step, "loss": which, "value": str(value)}
    best = record["best"]
    if best is None:
        kept = "nothing was saved by this run" + (f" ({out} still holds the checkpoint that was there before)"
                                                  if Path(out).exists() else "")
    else:
        checkpoint.update_record(out, record)
        kept = f"kept {out} from step {best['step']} (held-out {best['heldout_loss']:.5f} nats/char)"
    raise TrainingDiverged(f"training diverged at step {step}: {which} loss is {value} "
                           f"(try a smaller --lr); {kept}")


def _evaluate(model, heldout, floor, record, step, window_losses, out, run, elapsed, chars, cfg, stopped,
              processes: int = 1) -> None:
    loss = heldout_loss(model, heldout)
    if not math.isfinite(loss):
        _stop_diverged(record, out, step, "held-out", loss)
    train_loss = sum(window_losses[-100:]) / max(1, len(window_losses[-100:]))
    entry = {"step": step, "train_loss": round(train_loss, 5), "heldout_loss": round(loss, 5),
             "heldout_bits_per_char": round(loss * BITS_PER_NAT, 5),
             "seconds": round(elapsed, 1), "chars": chars, "chars_per_s": round(chars / elapsed),
             "processes": processes}
    if floor:
        entry["ratio_to_floor"] = round(loss / floor, 5)
    if stopped:
        entry["stopped"] = stopped
    if loss > record["unigram"]:
        entry["worse_than_unigram"] = True
        tqdm.write(f"warning: step {step}: held-out loss {loss:.5f} is worse than the unigram baseline "
                   f"{record['unigram']:.5f} nats/char (character frequencies alone)", file=sys.stderr)
    record["history"].append(entry)
    append_metrics(run, metrics_line(step, train_loss, loss, lr_at(step - 1, cfg), chars / elapsed, elapsed,
                                     processes))
    tqdm.write(f"step {step}: held-out {loss:.5f} nats/char ({loss * BITS_PER_NAT:.4f} bits/char)"
               + (f" (floor {floor:.5f}, x{loss / floor:.5f})" if floor else "") + f" after {elapsed:.0f}s"
               + (f"; stopped: {stopped}" if stopped else ""))
    if record["best"] is None or loss < record["best"]["heldout_loss"]:
        record["best"] = entry
        checkpoint.save(model, out, record)
