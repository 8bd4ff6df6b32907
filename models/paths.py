"""Where shipped things live. Torch-free, so the CLI can name its defaults before loading torch."""
from pathlib import Path

CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "gru15-parens"
