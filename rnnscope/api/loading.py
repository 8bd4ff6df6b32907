"""Finding a model by name: a shipped checkpoint (models/checkpoints/NAME) or a checkpoint directory."""
from __future__ import annotations

from pathlib import Path

from rnnscope.base.paths import CHECKPOINTS_DIR


def shipped_models() -> list[str]:
    """The names of the checkpoints that ship with rnnscope, e.g. ``["gru15-parens", ...]``."""
    return sorted(p.name for p in CHECKPOINTS_DIR.iterdir() if (p / "config.json").is_file())


def resolve(model: str | Path) -> Path:
    """The checkpoint directory ``model`` names: a directory that exists, else a shipped name
    (``"gru15-parens"``). Anything else is returned as given, so loading it says what is wrong."""
    path = Path(model)
    if path.is_dir() or len(path.parts) != 1:
        return path
    shipped = CHECKPOINTS_DIR / path.name
    return shipped if (shipped / "config.json").is_file() else path
