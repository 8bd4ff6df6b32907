"""Cell labels read from a state store (models/store/zarr_store.py), chunk by chunk: the same labels as
analysis/describe/labels.py gives for states in memory, for corpora too long to load.

The annotations are computed for the store's own text (kept in the store), counted from its
start like the states: the model's held-out stream gets exactly the annotations probing uses.
"""
from __future__ import annotations

import numpy as np

from rnnscope.models.data.heldout import HeldOut
from rnnscope.models.reading.trace import value_range

from rnnscope.analysis.describe.annotations import Annotations, grammar_annotations
from rnnscope.analysis.describe.labels import CellLabel, label_cells
from rnnscope.analysis.decode.probing import annotations_of
from rnnscope.analysis.describe.tally import CHUNK
from rnnscope.analysis.describe.text_annotations import text_annotations


def store_text(root) -> str:
    """The text a store holds the states of."""
    return np.asarray(root["chars"][:], np.uint32).tobytes().decode("utf-32-le")


def store_annotations(text: str, held: HeldOut) -> Annotations:
    """The annotations of ``text``: the held-out stream's own when it is that stream, else the
    grammar's (a grammar model) or the text ones (a text model), counted from the text's start."""
    if text == held.text:
        return annotations_of(held, len(text))
    return grammar_annotations(text, held.spec) if held.spec is not None else text_annotations(text)


def max_abs(values, chunk: int = CHUNK) -> float:
    """The largest |value| of a [T, H] array, read ``chunk`` steps at a time."""
    return max((float(np.abs(np.asarray(values[lo:lo + chunk])).max()) for lo in range(0, values.shape[0], chunk)),
               default=0.0)


def label_store(root, layer: int, annotations: Annotations, chunk: int = CHUNK) -> list[CellLabel]:
    """A label for every cell of h in ``layer`` over the store's whole text, best first; the value
    range (for the bins) is models/trace.value_range's for h, from the largest |h| in the store."""
    values = root[f"h_l{layer}"]
    low_high = value_range("h", np.array([max_abs(values, chunk)]))
    return label_cells(values, annotations, low_high, chunk=chunk)
