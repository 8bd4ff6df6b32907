"""Checkpoints: a directory with ``model.safetensors`` (tensor names as the modules'
state_dict) and ``config.json`` (model config + training record). Never pickles. Written
to a temporary directory and swapped into place, so a crash never leaves half a checkpoint.
A file that is missing, corrupt or inconsistent with its config is refused, naming the
file and the problem."""
from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rnnscope.base.atomic import folder_mode, note_write
from rnnscope.base.errors import CheckpointError, RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.base.paths import DEFAULT_CHECKPOINT  # noqa: F401  (re-exported: callers use checkpoint.DEFAULT_CHECKPOINT)

FORMAT = "rnnscope-checkpoint"
# Version 2 added the model keys ``nonlinearity`` (RNN) and ``bias``. A version-1 file lacks
# them and means tanh with biases, so it still loads; the bump makes an older rnnscope refuse a
# version-2 file by its version, clearly, instead of by an unknown key (docs/checkpoint-format.md).
VERSION = 2
READABLE_VERSIONS = (1, 2)


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


def check_output(path: str | Path, force: bool = False) -> None:
    """Everything a long run's first save could trip on, checked before the run starts: a
    checkpoint already there (replaced only with ``force``), anything else there (never
    replaced), and a place that cannot be written. Each message names ``path`` as given."""
    path = Path(path)
    recover(path)
    check_replaceable(path)
    if path.exists() and not force:
        raise CheckpointError(f"{path}: already holds {describe(path)}; give --force to replace it, "
                              f"or choose another --out")
    _probe_writable(path)


def describe(path: str | Path) -> str:
    """What a saved checkpoint is, in a phrase: 'a checkpoint of a 1-layer GRU ... (best held-out ...)'."""
    config = read_config(path)
    best = (config.get("training") or {}).get("best") or {}
    try:
        what = f"a checkpoint of {ModelConfig.from_dict(config['model']).describe()}"
    except RnnscopeError:
        what = "a checkpoint with an invalid model section"
    if isinstance(best.get("heldout_loss"), (int, float)):
        what += f" (best held-out loss {best['heldout_loss']:.5f} nats/char at step {best.get('step')})"
    return what


def _probe_writable(path: Path) -> None:
    """Really try: create the parent folder if needed, then a temporary directory in it (named
    as save names its own, so a kill here leaves nothing recover() would not remove)."""
    if path.parent.exists() and not path.parent.is_dir():
        raise CheckpointError(f"{path}: cannot write a checkpoint here: {path.parent} is not a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-"))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write a checkpoint in {path.parent} ({e.strerror or e})") from None


def save(model: CharRNN, path: str | Path, training: dict | None = None) -> Path:
    path = Path(path)
    recover(path)
    check_replaceable(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = [name for name, t in tensors.items() if not torch.isfinite(t).all()]
    if bad:   # a diverged model is never saved: load would refuse it anyway
        raise CheckpointError(f"{path}: not saved: tensor {bad[0]} contains NaN or infinite values")
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "version": VERSION, "model": model.config.to_dict(), "training": training or {}}
    _write_dir(path, lambda tmp: save_file(tensors, tmp / "model.safetensors"), config)
    return path


def update_record(path: str | Path, training: dict) -> None:
    """Rewrite only the training record of a saved checkpoint (the weights stay): the record
    saved with the best weights stops at the best step, and the run's full history belongs there too.
    The whole directory is swapped as in save, so there is one crash-safe protocol, and no
    stray temporary file can be left inside a checkpoint (which would make it unreplaceable)."""
    path = Path(path)
    recover(path)
    config = read_config(path)
    config["training"] = training
    _write_dir(path, lambda tmp: shutil.copyfile(path / "model.safetensors", tmp / "model.safetensors"), config)


# --- the crash-safe swap ---------------------------------------------------------------------------
# A save writes a complete new directory ``.NAME.tmp-PID-XXXX`` beside NAME, then swaps it in.
# Where the kernel and file system allow (Linux >= 3.15, glibc >= 2.28; ext4, tmpfs, xfs, btrfs),
# renameat2(RENAME_EXCHANGE) swaps the two names in one atomic step: NAME always holds a whole
# checkpoint, and the old one is left under the temporary name to be removed. Elsewhere NAME is
# first renamed to ``.NAME.old-PID`` and the new directory then renamed to NAME; a kill between the
# two leaves no NAME, so every load and save first calls ``recover``, which puts the old one back.
# Temporaries of writers that died are removed by ``recover`` too; a live writer's are never touched.

def _write_dir(path: Path, write_weights, config: dict) -> None:
    def write(tmp: Path) -> None:
        write_weights(tmp)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    write_dir(path, write)


def write_dir(path: Path, write) -> None:
    """Call ``write(tmp)`` to fill a new temporary directory beside ``path``, then swap it into
    place as a whole (the protocol above). Also what a training run's resume state uses."""
    path = Path(path)
    recover(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-"))
    try:
        write(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(f, folder_mode() & 0o666)
        os.chmod(tmp, folder_mode())   # mkdtemp makes 0700
        _swap_into_place(tmp, path)
        note_write(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(new: Path, path: Path) -> None:
    if not path.exists():
        os.replace(new, path)
    elif _exchange(new, path):
        shutil.rmtree(new, ignore_errors=True)          # now holds the previous checkpoint
    else:
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, old)
        os.replace(new, path)                           # a kill just before this: recover() undoes it
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(path.parent)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False where the platform cannot (then the caller
    falls back to two renames). Other failures (permissions ...) raise as rename would."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False                                    # not glibc >= 2.28 (or not Linux)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False                                    # old kernel, or a file system without exchange
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    """Make the renames themselves durable, not only the files' contents."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)(-.*)?$")


def recover(path: str | Path) -> None:
    """Repair what an interrupted save left beside ``path``: if ``path`` is missing and a
    ``.NAME.old-PID`` of a dead writer holds the previous checkpoint, rename it back (saying so
    on stderr); remove the temporaries and old copies of writers that are no longer running."""
    path = Path(path)
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    leftovers = []
    for p in siblings:
        m = _LEFTOVER.match(p.name)
        if m and m["name"] == path.name and p.is_dir() and not _alive(int(m["pid"])):
            leftovers.append((m["kind"], p))
    olds = sorted((p for kind, p in leftovers if kind == "old"), key=lambda p: p.stat().st_mtime)
    if olds and not path.exists():
        try:
            os.replace(olds[-1], path)
        except OSError as e:
            raise CheckpointError(f"{path}: missing after an interrupted save; the previous checkpoint is "
                                  f"{olds[-1]}, which could not be renamed back ({e.strerror})") from None
        print(f"rnnscope: {path}: restored the previous checkpoint from {olds[-1].name} "
              f"(a save was interrupted)", file=sys.stderr)
        leftovers = [(kind, p) for kind, p in leftovers if p != olds[-1]]
    for _, p in leftovers:
        shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                                     # someone else's live process
    return True


def read_config(path: str | Path) -> dict:
    """The parsed and checked config.json of a checkpoint directory."""
    path = Path(path)
    recover(path)
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
    if config.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(f"{cfg_file}: version {config.get('version')!r} is not supported "
                              f"(this rnnscope reads versions {', '.join(map(str, READABLE_VERSIONS))})")
    if not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{cfg_file}: no 'model' section")
    return config


def load(path: str | Path, device: str | torch.device = "cpu") -> CharRNN:
    """Build the model described by config.json and fill it from model.safetensors."""
    path = Path(path)
    config = read_config(path)
    try:
        model_config = ModelConfig.from_dict(config["model"])
    except RnnscopeError as e:
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
    what = model.config.describe()
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
