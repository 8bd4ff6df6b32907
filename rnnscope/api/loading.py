"""Finding a model by name: a shipped checkpoint (models/checkpoints/NAME) or a checkpoint directory.
The names and their folder are rnnscope.base.paths' (shared with ``rnnscope serve``)."""
from __future__ import annotations

from pathlib import Path

from rnnscope.base.paths import CHECKPOINTS_DIR, shipped_checkpoints


def shipped_models() -> list[str]:
    """The names of the checkpoints that ship with rnnscope, e.g. ``["gru15-parens", ...]``."""
    return shipped_checkpoints()


def resolve(model: str | Path) -> Path:
    """The checkpoint directory ``model`` names: a path that exists (it wins over a shipped name of the
    same spelling), else a shipped name (``"gru15-parens"``). Anything else is returned as given, so
    loading it says what is wrong with that path."""
    path = Path(model)
    if path.exists() or len(path.parts) != 1 or str(model) not in shipped_checkpoints():
        return path
    return CHECKPOINTS_DIR / str(model)
