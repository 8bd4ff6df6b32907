"""Where shipped things live. Torch-free, so the CLI can name its defaults before loading torch."""
from importlib.util import find_spec
from pathlib import Path

from rnnscope.base.errors import RnnscopeError

# The checkpoints ship inside the rnnscope.models package (models/checkpoints/ in the repository);
# find_spec locates the package without importing it.
MODELS_DIR = Path(find_spec("rnnscope.models").submodule_search_locations[0]).resolve()
CHECKPOINTS_DIR = MODELS_DIR / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "gru15-parens"


def shipped_checkpoints() -> list[str]:
    """The names of the checkpoints that ship with rnnscope (``gru15-parens``, ``lstm128-pystdlib`` ...)."""
    return sorted(p.name for p in CHECKPOINTS_DIR.iterdir() if (p / "config.json").is_file())


def find_checkpoint(model: str | Path) -> Path:
    """``model`` as a checkpoint directory: a path, or the name of a shipped checkpoint. A path that
    exists wins over a shipped name, so a user's own ``./gru15-parens`` is the one they meant. Whether
    the directory holds a valid checkpoint is checkpoint.load's to say."""
    path = Path(model)
    if path.exists():
        return path
    if str(model) in shipped_checkpoints():
        return CHECKPOINTS_DIR / str(model)
    raise RnnscopeError(f"{model}: no such checkpoint directory, nor the name of a shipped checkpoint "
                        f"({', '.join(shipped_checkpoints())})")
