"""What a Dask worker runs to build a state store (models/dask_store.py): read a stretch of the
text with the compiled h-only loops (models/compiled.py) and write its states into the store.

Import-light on purpose (NumPy, Zarr, numba; no torch): a worker process imports this module to
run a task, and the weights reach it as plain arrays made on the client from our own checkpoint
(``KernelWeights``), never as a pickled model.

A state here is one (h, c) per layer, the same as the tracer carries between chunks: h is the
last float32 output, c (an LSTM's) the compiled loop's float64 cell state, None otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zarr

from . import compiled

State = list[tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class KernelWeights:
    """A model as the compiled loops read it: the first layer's input projection per vocabulary
    character comes from ``table`` [V, D] (embedding rows or one-hot), each layer's weights in
    torch's layout (models/model.py's layer_arrays)."""
    cell: str
    nonlinearity: str
    table: np.ndarray
    layers: list[dict[str, np.ndarray]]

    @property
    def hidden(self) -> int:
        return self.layers[0]["weight_hh"].shape[1]


def read(w: KernelWeights, ids: np.ndarray, state: State | None) -> tuple[list[np.ndarray], State]:
    """h [T, H] float32 of every layer for the character ids ``ids`` read from ``state`` (None:
    the zero state), and the state after them. With no ids the state comes back unchanged."""
    if len(ids) == 0:
        return [np.zeros((0, w.hidden), np.float32) for _ in w.layers], state or zero_state(w)
    hidden, after, x = [], [], None
    for k, layer in enumerate(w.layers):
        h0, c0 = (None, None) if state is None else state[k]
        if x is None:
            h, _, c = compiled.run_layer(w.cell, layer, w.table, h0, c0, w.nonlinearity, gates=False, ids=ids)
        else:
            h, _, c = compiled.run_layer(w.cell, layer, x, h0, c0, w.nonlinearity, gates=False)
        hidden.append(h)
        after.append((h[-1].copy(), c))
        x = h
    return hidden, after


def zero_state(w: KernelWeights) -> State:
    H = w.hidden
    return [(np.zeros(H, np.float32), np.zeros(H) if w.cell == "lstm" else None) for _ in w.layers]


def write(path: str, start: int, hidden: list[np.ndarray]) -> None:
    """Write each layer's states at steps ``start`` .. into the store's h_l{k} arrays (the caller
    keeps regions aligned to the arrays' chunks, so no two writers touch one chunk)."""
    for k, h in enumerate(hidden):
        zarr.open_array(f"{path}/h_l{k}", mode="r+")[start:start + len(h)] = h


def chunk_task(w: KernelWeights, path: str, ids: np.ndarray, start: int, burn: int) -> tuple[State | None, State]:
    """One chunk of the parallel pass. ``ids``: the ``burn`` characters before ``start`` and then
    the chunk's own. Reads the burn-in from the zero state, then the chunk from where the burn-in
    left it, and writes the chunk's states. Returns the state at the seam (after the burn-in;
    None when there is none: the text's first chunk is exact by construction) and after the chunk."""
    seam = None
    if burn:
        _, seam = read(w, ids[:burn], None)
    hidden, after = read(w, ids[burn:], seam)
    write(path, start, hidden)
    return seam, after


def recompute_task(w: KernelWeights, path: str, ids: np.ndarray, start: int, state: State) -> State:
    """A chunk read again from the true state before it (its seam did not agree): its states are
    rewritten and the state after it returned."""
    hidden, after = read(w, ids, state)
    write(path, start, hidden)
    return after


def seam_gap(a: State, b: State) -> float:
    """The largest difference between two states over every layer's h and c."""
    gaps = [float(np.max(np.abs(np.asarray(ha, np.float64) - hb))) for (ha, _), (hb, _) in zip(a, b)]
    gaps += [float(np.max(np.abs(ca - cb))) for (_, ca), (_, cb) in zip(a, b) if ca is not None]
    return max(gaps)
