"""An LSTMVis directory (models/interop/lstmvis.py reads it) as what the page draws: windows of one states
dataset as a Trace, its meta tracks, labels of its cells against them, and match over the whole file.

There are only states here, no weights: nothing is traced, sampled, probed or ablated. The values are
those LSTMVis draws -- squashed with tanh unless the states type says ``transform: none`` (LSTMVis's
own rule) -- so a threshold or a colour means here what it means there. Whether the states were read
in context, on held-out text, is up to whoever wrote the file: the page says so rather than assume it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import panel as pn

from rnnscope.analysis.describe.annotations import Annotation, Annotations, _categorical
from rnnscope.analysis.describe.labels import label_cells
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.interop.lstmvis import CONFIG, LstmvisData, read_lstmvis
from rnnscope.models.reading.trace import Trace, value_range

from rnnscope.app.drawing.frame import STATES_ONLY
from rnnscope.app.pages.sequences import MAX_CHARS

MAX_WINDOW = MAX_CHARS          # the longest window the page draws, as for a model's sequences
TRANSFORM_NOTES = {"tanh": "tanh applied, as LSTMVis draws it", "none": "as stored, transform: none"}


def state_label(key: tuple[str, int], transform: str) -> str:
    """e.g. "output, layer 1 (tanh applied, as LSTMVis draws it)": the name offered and the heatmap's title."""
    return f"{key[0]}, layer {key[1]} ({TRANSFORM_NOTES[transform]})"


@dataclass
class StatesSource:
    directory: Path
    data: LstmvisData
    _drawn: dict = field(default_factory=dict, repr=False)      # key -> [T, D] as LSTMVis draws it
    _labels: dict = field(default_factory=dict, repr=False)     # key -> its cells' labels

    def __len__(self) -> int:
        return len(self.data.words)

    @property
    def labels(self) -> dict[str, tuple[str, int]]:
        """{what the page offers: (type, layer)}, in lstm.yml's order."""
        return {state_label(key, self.data.transforms.get(key, "tanh")): key for key in self.data.states}

    @property
    def one_char_words(self) -> bool:
        """Every word is one character (a character model's file): the axis shows the text itself."""
        return all(len(w) == 1 for w in self.data.words)

    def values(self, key: tuple[str, int]) -> np.ndarray:
        """[T, D] float32: the states of ``key`` as LSTMVis draws them (tanh unless transform: none)."""
        if key not in self._drawn:
            raw = np.asarray(self.data.states[key], dtype=np.float32)
            drawn = np.tanh(raw) if self.data.transforms.get(key, "tanh") == "tanh" else raw
            if not np.isfinite(drawn).all():
                bad = np.argwhere(~np.isfinite(drawn))[0]
                raise RnnscopeError(f"states {key[0]}, layer {key[1]}: not a finite number at step {bad[0]:,}, "
                                    f"cell {bad[1]}")
            self._drawn[key] = drawn
        return self._drawn[key]

    def value_range(self, key: tuple[str, int]) -> tuple[float, float]:
        """The colour range, over the whole file (not the window: colours mean the same in every window)."""
        return value_range("h", self.values(key))

    def window(self, key: tuple[str, int], start: int, length: int) -> Trace:
        """Steps ``start .. start+length-1`` (cut at the file's end) of one states dataset, as a one-layer
        Trace whose only view is named by the dataset; no next-character probabilities (no model)."""
        values = self.values(key)[start:start + length]
        label = state_label(key, self.data.transforms.get(key, "tanh"))
        words = self.data.words[start:start + length]
        return Trace(text=column_text(words), vocab=[], cell=STATES_ONLY, hidden=[values], gates=[{label: values}],
                     probs=np.zeros((len(values), 0), np.float32))

    def words(self, start: int, length: int) -> list[str]:
        return self.data.words[start:start + length]

    def meta(self, start: int, length: int) -> dict[str, np.ndarray]:
        """{meta track: [length] float64} its values in the window, as stored (codes for a categorical one)."""
        return {name: np.asarray(values[start:start + length], dtype=np.float64)
                for name, values in self.data.annotations.items()}

    def annotations(self) -> Annotations:
        """The meta tracks as the labeller takes them: integer tracks categorical (named by their dictionary
        where there is one), float tracks numeric (NaN: no value)."""
        items = {}
        for name, values in self.data.annotations.items():
            if np.issubdtype(values.dtype, np.integer):
                names = self.data.categories.get(name, {})
                keys = np.asarray(values, np.int64)
                named = {int(k): names.get(int(k), str(int(k))) for k in np.unique(keys)}
                items[name] = _categorical(name, keys, named, f"where {name} is {{}}", f"meta track {name}")
            else:
                items[name] = Annotation(name, True, np.asarray(values, np.float64), phrase=f"{name} {{}}",
                                         doc=f"meta track {name}")
        return Annotations(items)

    def cell_labels(self, key: tuple[str, int]):
        """analysis.labels.label_cells of one states dataset against the meta tracks, over all of the
        file's steps (the statistic of each: r or MI in bits); computed once per dataset and kept."""
        if key not in self._labels:
            self._labels[key] = label_cells(self.values(key), self.annotations(), self.value_range(key))
        return self._labels[key]


def column_text(words: list[str]) -> str:
    """One character per column, as the Trace and the Frame need: the word itself when it is one
    character; a longer word's column holds U+2026, and the page draws the word from ``words``."""
    return "".join(w if len(w) == 1 else "\u2026" for w in words)


def _stamp(directory: Path) -> float:
    """The newest modification time of the directory's files: any of them rewritten, it is read again."""
    try:
        return max((f.stat().st_mtime for f in directory.iterdir()), default=0.0)
    except OSError:
        return 0.0


@pn.cache(max_items=4)
def _open(directory: str, mtime: float) -> StatesSource:
    data = read_lstmvis(directory)
    if not data.words:
        raise RnnscopeError(f"{directory}: the word sequence is empty: nothing to show")
    if not data.states:
        raise RnnscopeError(f"{directory}: {CONFIG} lists no states")
    return StatesSource(Path(directory), data)


def open_source(directory: str | Path) -> StatesSource:
    """The LSTMVis directory at ``directory``, read once per server (again when one of its files changes).
    Raises RnnscopeError with one line naming what is wrong."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise RnnscopeError(f"{directory}: no such directory")
    return _open(str(directory), _stamp(directory))
