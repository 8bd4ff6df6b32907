"""Which checkpoints a model's page offers and how it names the one it shows: the models folder's
checkpoints plus the one the server was started with, and a model described in one line."""
from __future__ import annotations

import os
from pathlib import Path

from rnnscope.models.network.checkpoint import DEFAULT_CHECKPOINT

MODEL_ENV = "RNNSCOPE_MODEL"          # serve.py --model passes the chosen checkpoint this way
MODELS_DIR = DEFAULT_CHECKPOINT.parent


def find_checkpoints(extra: str | Path | None = None) -> dict[str, str]:
    """{label: directory} of checkpoints (directories holding config.json) in the models
    folder, plus ``extra`` (the model the server was started with) wherever it lives. A
    second model of the same folder name is labelled ``name (parent folder)``."""
    found = {p.parent.name: str(p.parent.resolve()) for p in sorted(MODELS_DIR.glob("*/config.json"))
             if not p.parent.name.startswith(".")}
    if extra and str(Path(extra).resolve()) not in found.values():
        path = Path(extra).resolve()
        name = path.name
        if name in found:
            name = f"{path.name} ({path.parent.name or path.parent})"
        if name in found:
            name = str(path)
        found = {name: str(path), **found}
    return found


def default_model() -> str:
    return str(Path(os.environ.get(MODEL_ENV) or DEFAULT_CHECKPOINT).resolve())


def describe_model(model) -> str:
    cfg, record = model.config, getattr(model, "training_record", {}) or {}
    what = (f"{cfg.cell.upper()}, {cfg.num_layers} layer(s) \u00d7 {cfg.hidden_size} cells, "
            f"vocabulary of {len(cfg.vocab)}")
    best = record.get("best") or {}
    final = record.get("final") or {}
    if cfg.task and final.get("val_mse") is not None:     # a task model: its own loss, not nats/char
        what += (f"; task {cfg.task}, {cfg.input_kind} input: validation mean squared error {final['val_mse']:.3g}, "
                 f"{final['val_rounded_correct']:.1%} of validation triples rounded to their sum")
    if best.get("heldout_loss") is not None:
        what += f"; held-out loss {best['heldout_loss']:.4f} nats/char"
        if best.get("ratio_to_floor"):
            what += f" ({best['ratio_to_floor']:.4f} \u00d7 the grammar's floor)"
    return what
