"""Where shipped things live. Torch-free, so the CLI can name its defaults before loading torch."""
from importlib.util import find_spec
from pathlib import Path

# The checkpoints ship inside the rnnscope.models package (models/checkpoints/ in the repository);
# find_spec locates the package without importing it.
MODELS_DIR = Path(find_spec("rnnscope.models").submodule_search_locations[0]).resolve()
CHECKPOINTS_DIR = MODELS_DIR / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "gru15-parens"
