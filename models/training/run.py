"""A training run's directory: what lets a run be watched, stopped and resumed.

    OUT              the best checkpoint, as always (every command and the app load it)
    OUT.run/         the run beside it:
      run.json         what defines the run, fixed at its start: the data, the model, the settings
      metrics.jsonl    one JSON line per evaluation: step, losses in nats and bits per char, chars/s, elapsed
      step-000500/     periodic checkpoints (--save-every), each loadable like OUT
      resume/          the latest state: model.safetensors, optimizer.safetensors (Adam's moments and
                       step counts), trainer.safetensors (the carried hidden state and torch's RNG
                       state) and state.json (the step, the epoch and the position in it, the record so far)

The learning-rate schedule has no state of its own (``lr_at`` is a function of the step) and the
data of an epoch is rebuilt from its seed, so these files are the whole of a run's state: a resumed
run equals an uninterrupted one. Nothing is pickled: tensors are safetensors, the rest JSON, and
each directory is written whole and swapped into place (models/network/checkpoint.py).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rnnscope.models.network import checkpoint
from rnnscope.base.atomic import note_write, write_text_atomic
from rnnscope.base.errors import RnnscopeError

FORMAT = "rnnscope-run"
VERSION = 1
BITS_PER_NAT = 1 / math.log(2)


def run_dir_of(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".run")


def step_name(step: int, total: int) -> str:
    """step-000500: zero-padded to the run's last step, so the folders sort in training order."""
    return f"step-{step:0{max(6, len(str(total)))}d}"


def periodic_checkpoints(run: str | Path) -> list[Path]:
    """A run's periodic checkpoints in training order."""
    return sorted(p for p in Path(run).glob("step-*") if (p / "config.json").is_file())


def write_run_json(run: Path, out: Path, data: dict, model: dict, train_cfg, processes: int = 1) -> None:
    """``processes``: how many the run began on (torchrun); a resume may use another number."""
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run / "run.json", json.dumps(
        {"format": FORMAT, "version": VERSION, "out": str(Path(out).resolve()), "data": data, "model": model,
         "train": asdict(train_cfg), "processes": processes}, indent=1) + "\n")


def read_run_json(run: str | Path) -> dict:
    """run.json of a run directory; anything else is refused, naming what is wrong."""
    run = Path(run)
    if not run.is_dir():
        raise RnnscopeError(f"{run}: no such run directory (a run directory is OUT.run beside a checkpoint OUT)")
    try:
        spec = json.loads((run / "run.json").read_text())
    except FileNotFoundError:
        hint = f"; its run is {run_dir_of(run)}" if run_dir_of(run).is_dir() else ""
        raise RnnscopeError(f"{run}: not a training run (no run.json){hint}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RnnscopeError(f"{run / 'run.json'}: not valid JSON ({e})") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise RnnscopeError(f"{run / 'run.json'}: not an rnnscope run (format should be {FORMAT!r})")
    if spec.get("version") != VERSION:
        raise RnnscopeError(f"{run / 'run.json'}: run version {spec.get('version')!r} is not supported")
    if not (run / "resume" / "state.json").is_file():
        raise RnnscopeError(f"{run}: holds no saved state to resume from (resume/state.json is missing)")
    return spec


def metrics_line(step: int, train_loss: float, heldout: float, lr: float, chars_per_s: float,
                 elapsed: float, processes: int = 1) -> dict:
    """chars_per_s counts the characters of the whole (global) batch, over all ``processes``."""
    return {"step": step, "train_loss_nats": round(train_loss, 5),
            "train_bits_per_char": round(train_loss * BITS_PER_NAT, 5),
            "val_loss_nats": round(heldout, 5), "val_bits_per_char": round(heldout * BITS_PER_NAT, 5),
            "lr": lr, "chars_per_s": round(chars_per_s), "elapsed_s": round(elapsed, 1), "processes": processes}


def append_metrics(run: Path, line: dict) -> None:
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    note_write(run / "metrics.jsonl")


def read_metrics(run: str | Path) -> list[dict]:
    path = Path(run) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def truncate_metrics(run: Path, step: int) -> None:
    """On resume: drop lines a killed session wrote after its last saved state, which the resumed
    run writes again."""
    kept = [line for line in read_metrics(run) if line["step"] <= step]
    write_text_atomic(run / "metrics.jsonl", "".join(json.dumps(line) + "\n" for line in kept))


# --- the resume state --------------------------------------------------------------------------------

def _flat_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Adam's state_dict as named tensors (state.<param>.<name>) and JSON (the param groups)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for index, entry in sd["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflat_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for key, value in meta["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_state(run: Path, model, opt, carried, state: dict) -> None:
    """The whole of the run's state after ``state['step']`` steps, swapped in as one directory."""
    opt_tensors, opt_meta = _flat_optimizer(opt)
    trainer = {"torch_rng": torch.get_rng_state()}
    if carried is not None:
        parts = carried if isinstance(carried, tuple) else (carried,)
        trainer |= {f"carried.{i}": p.detach().cpu().contiguous() for i, p in enumerate(parts)}
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(weights, tmp / "model.safetensors")
        save_file(opt_tensors, tmp / "optimizer.safetensors")
        save_file(trainer, tmp / "trainer.safetensors")
        (tmp / "state.json").write_text(json.dumps({**state, "optimizer": opt_meta}, indent=1) + "\n")
    checkpoint.write_dir(run / "resume", write)


def load_state(run: Path, model, opt, device) -> tuple[object, dict]:
    """Fill ``model`` and ``opt`` from the run's resume state; return the carried hidden state and state.json."""
    folder = run / "resume"
    try:
        state = json.loads((folder / "state.json").read_text())
        weights = load_file(folder / "model.safetensors")
        opt_tensors = load_file(folder / "optimizer.safetensors")
        trainer = load_file(folder / "trainer.safetensors")
    except (OSError, ValueError, SafetensorError) as e:
        raise RnnscopeError(f"{folder}: the saved state cannot be read ({e})") from None
    model.load_state_dict(weights)
    opt.load_state_dict(_unflat_optimizer(opt_tensors, state.pop("optimizer")))
    torch.set_rng_state(trainer["torch_rng"])
    parts = [trainer[f"carried.{i}"].to(device) for i in range(2) if f"carried.{i}" in trainer]
    carried = None if not parts else (tuple(parts) if len(parts) == 2 else parts[0])
    return carried, state
