"""Checkpoints: a directory with ``model.safetensors`` (tensor names as the modules'
state_dict) and ``config.json`` (model config + training record). Never pickles. Written
to a temporary directory and swapped into place, so a crash never leaves half a checkpoint.
A file that is missing, corrupt or inconsistent with its config is refused, naming the
file and the problem."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import folder_mode, write_text_atomic
from .errors import CheckpointError, RnnscopeError
from .model import CharRNN, ModelConfig
from .paths import DEFAULT_CHECKPOINT  # noqa: F401  (re-exported: callers use checkpoint.DEFAULT_CHECKPOINT)

FORMAT = "rnnscope-checkpoint"
VERSION = 1


CHECKPOINT_FILES = {"config.json", "model.safetensors"}


def check_replaceable(path: str | Path) -> None:
    """Saving replaces the whole directory, so only a missing path or an rnnscope checkpoint
    (nothing but its two files) may be written: never a user's folder or file."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise CheckpointError(f"{path}: exists and is not a checkpoint directory; refusing to replace it")
    extra = sorted(p.name for p in path.iterdir() if p.name not in CHECKPOINT_FILES)
    try:
        is_checkpoint = json.loads((path / "config.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        is_checkpoint = False
    if extra or not is_checkpoint:
        what = f"it holds {extra[:5]}" if extra else "it is not an rnnscope checkpoint"
        raise CheckpointError(f"{path}: refusing to replace this directory: {what}; choose a new --out")


def save(model: CharRNN, path: str | Path, training: dict | None = None) -> Path:
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "version": VERSION, "model": model.config.to_dict(), "training": training or {}}
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, tmp / "model.safetensors")
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(f, folder_mode() & 0o666)
        os.chmod(tmp, folder_mode())   # mkdtemp makes 0700
        _swap_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def update_record(path: str | Path, training: dict) -> None:
    """Rewrite only the training record of a saved checkpoint (the weights stay): the record
    saved with the best weights stops at the best step, and the run's full history belongs there too."""
    path = Path(path)
    config = read_config(path)
    config["training"] = training
    write_text_atomic(path / "config.json", json.dumps(config, indent=2) + "\n")


def _swap_into_place(new: Path, path: Path) -> None:
    if not path.exists():
        os.replace(new, path)
        return
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    os.replace(path, old)
    os.replace(new, path)
    shutil.rmtree(old, ignore_errors=True)


def read_config(path: str | Path) -> dict:
    """The parsed and checked config.json of a checkpoint directory."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint directory")
    cfg_file = path / "config.json"
    try:
        config = json.loads(cfg_file.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{cfg_file}: missing (a checkpoint holds config.json and model.safetensors)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cfg_file}: not valid JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_file}: not an rnnscope checkpoint config (format should be {FORMAT!r})")
    if config.get("version") != VERSION:
        raise CheckpointError(f"{cfg_file}: version {config.get('version')!r} is not supported (expected {VERSION})")
    if not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{cfg_file}: no 'model' section")
    return config


def load(path: str | Path, device: str | torch.device = "cpu") -> CharRNN:
    """Build the model described by config.json and fill it from model.safetensors."""
    path = Path(path)
    config = read_config(path)
    try:
        model_config = ModelConfig(**config["model"])
    except (TypeError, RnnscopeError) as e:
        raise CheckpointError(f"{path / 'config.json'}: invalid model section ({e})") from None
    model = CharRNN(model_config)
    weights_file = path / "model.safetensors"
    if not weights_file.is_file():
        raise CheckpointError(f"{weights_file}: missing")
    try:
        tensors = load_file(weights_file)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights_file}: not a readable safetensors file ({e})") from None
    _check_matches(weights_file, tensors, model)
    model.load_state_dict(tensors)
    model.training_record = config.get("training", {})
    model.checkpoint_path = path
    return model.to(device).eval()


def _check_matches(weights_file: Path, tensors: dict[str, torch.Tensor], model: CharRNN) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    cfg = model.config
    what = f"a {cfg.num_layers}-layer {cfg.cell.upper()} with {cfg.hidden_size} units over {len(cfg.vocab)} characters"
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_file}: does not match config.json ({what}): "
                              f"missing tensors {missing}, unexpected tensors {unexpected}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise CheckpointError(f"{weights_file}: tensor {name} has shape {list(tensors[name].shape)}, "
                                  f"config.json ({what}) needs {list(shape)}")
        if not torch.isfinite(tensors[name]).all():
            raise CheckpointError(f"{weights_file}: tensor {name} contains NaN or infinite values")
