"""Which checkpoints a model's page offers and how it names the one it shows: the models folder's
checkpoints plus the one the server was started with, a model described in one line, and the model the
Compare tab pairs it with first (another training of the same network)."""
from __future__ import annotations

import filecmp
import os
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.checkpoint import DEFAULT_CHECKPOINT, read_config
from rnnscope.models.network.model import ModelConfig

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


def sibling_of(path: str | Path, offered) -> str | None:
    """The first of ``offered`` (paths, in the page's order) that is another training of the model at ``path``:
    the same network and vocabulary (equal model configs, defaults filled in) with other weights. Comparing a
    model with one trained from another seed asks whether the same cells form again, which a comparison with
    itself or with a network of another shape cannot. None when there is none (or ``path`` is unreadable)."""
    try:
        model = network_of(path)
    except RnnscopeError:
        return None
    weights = Path(path) / "model.safetensors"
    for other in offered:
        if Path(other).resolve() == Path(path).resolve():
            continue
        try:
            if network_of(other) != model:
                continue
        except RnnscopeError:           # an unreadable entry is the model selector's to refuse, not this one's
            continue
        twin = Path(other) / "model.safetensors"
        if weights.is_file() and twin.is_file() and filecmp.cmp(weights, twin, shallow=False):
            continue                    # a copy of the same weights: every pair would have r = 1
        return str(other)
    return None


def network_of(path: str | Path) -> ModelConfig:
    """The model config of the checkpoint at ``path``, from its config.json alone (no weights read): a key a
    version left out (e.g. ``bias``, written since version 2) takes its default, so old and new compare equal."""
    return ModelConfig.from_dict(read_config(path)["model"])
