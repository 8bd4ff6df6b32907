"""What a Dask worker runs to build a state store (models/store/dask_build.py): read a span of the text,
cut into lanes each read after its own burn-in, and write the span's states into the store. Many
lanes are read side by side (models/store/lockstep.py), a few one after another by the compiled h-only
loops (models/reading/compiled.py); both equal the reference equations, so the choice is speed alone.

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

from rnnscope.models.reading import compiled


from rnnscope.models.store import lockstep
State = list[tuple[np.ndarray, np.ndarray | None]]
MIN_LOCKSTEP = 16    # lanes from which a task reads them side by side rather than one after another


@dataclass(frozen=True)
class KernelWeights:
    """A model as the compiled loops read it: the first layer's input projection per vocabulary
    character comes from ``table`` [V, D] (embedding rows or one-hot), each layer's weights in
    torch's layout (models/network/model.py's layer_arrays)."""
    cell: str
    nonlinearity: str
    table: np.ndarray
    layers: list[dict[str, np.ndarray]]

    max_lanes = 256      # lanes of a span read side by side; past ~256 a NumPy step's cost per lane hardly falls

    @property
    def hidden(self) -> int:
        return self.layers[0]["weight_hh"].shape[1]

    # The engine interface span_task and recompute_task call (models/store/torch_lanes.py has the other).
    def read(self, ids: np.ndarray, state: State | None) -> tuple[list[np.ndarray], State]:
        return read(self, ids, state)

    def read_lanes(self, span, layout, burn, first_seam):
        """Many lanes side by side, a few one after another by the compiled loop (see module doc)."""
        return (_lockstep if len(layout) >= MIN_LOCKSTEP else _one_by_one)(self, span, layout, burn, first_seam)


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


def span_task(engine, path: str, ids: np.ndarray, start: int, burn: int,
              lanes: int) -> list[tuple[State | None, State]]:
    """One task of the parallel pass: the span of the text at ``start`` cut into ``lanes`` lanes
    (``lane_layout``), each read after a burn-in of ``burn`` characters from the zero state, and
    the span's states written. ``engine``: KernelWeights, or models/store/torch_lanes.py's TorchLanes.
    ``ids``: the min(burn, start) characters before ``start``, then the span's own. Returns per
    lane its state at the seam (after its burn-in; None for the text's first lane, exact by
    construction) and after the lane: the caller checks every seam."""
    before = min(burn, start)
    span = ids[before:]
    layout = lane_layout(len(span), lanes, burn)
    first_seam = engine.read(ids[:before], None)[1] if before else None   # the text before the span
    hidden, seams, afters = engine.read_lanes(span, layout, burn, first_seam)
    write(path, start, hidden)
    return list(zip(seams, afters))


def lane_layout(length: int, lanes: int, burn: int) -> list[tuple[int, int]]:
    """(offset, length) of each lane of a span: equal lanes, the last taking the remainder. Every
    lane after the first reads its burn-in from the lane before, so lanes must be >= ``burn``."""
    size = length // max(lanes, 1)
    if lanes < 1 or size < 1 or (lanes > 1 and size < burn):
        raise ValueError(f"{length} characters cannot be cut into {lanes} lanes of at least {max(burn, 1)}")
    return [(k * size, size if k < lanes - 1 else length - k * size) for k in range(lanes)]


def _one_by_one(w, span, layout, burn, first_seam):
    """The lanes read one after another by the compiled loop (few lanes: a lockstep step costs
    ~20 us of NumPy calls whatever the number of lanes)."""
    hidden, seams, afters = [], [], []
    for k, (off, n) in enumerate(layout):
        seam = first_seam if k == 0 else read(w, span[off - burn:off], None)[1] if burn else None
        h, after = read(w, span[off:off + n], seam)
        hidden.append(h)
        seams.append(seam)
        afters.append(after)
    return [np.concatenate(layer) for layer in zip(*hidden)], seams, afters


def _lockstep(w, span, layout, burn, first_seam):
    """The lanes read side by side (models/store/lockstep.py): every burn-in after the first lane's at
    once, then every lane from its seam state, the last lane's extra characters padding the others."""
    B, size, longest = len(layout), layout[0][1], layout[-1][1]
    seams = [first_seam]
    if burn:
        burns = np.stack([span[off - burn:off] for off, _ in layout[1:]], axis=1)
        _, state = lockstep.read(w, burns, keep=False)
        seams += [lockstep.lanes_of(state, b) for b in range(B - 1)]
    else:
        seams += [None] * (B - 1)
    ids = np.zeros((longest, B), span.dtype)
    for b, (off, n) in enumerate(layout):
        ids[:n, b] = span[off:off + n]
    ends = np.array([n for _, n in layout])
    hidden, after = lockstep.read(w, ids, lockstep.stack(seams, len(w.layers), w.hidden, w.cell == "lstm"), ends)
    hidden = [np.concatenate([h[:B - 1, :size].reshape(-1, h.shape[2]), h[B - 1]]) for h in hidden]
    return hidden, seams, [lockstep.lanes_of(after, b) for b in range(B)]


def recompute_task(engine, path: str, ids: np.ndarray, start: int, state: State) -> State:
    """A lane read again from the true state before it (its seam did not agree): its states are
    rewritten and the state after it returned. Lanes need not fill whole store chunks, so these
    run one at a time, after the parallel pass: no other writer touches the chunk."""
    hidden, after = engine.read(ids, state)
    write(path, start, hidden)
    return after


def seam_gap(a: State, b: State) -> float:
    """The largest difference between two states over every layer's h and c."""
    gaps = [float(np.max(np.abs(np.asarray(ha, np.float64) - hb))) for (ha, _), (hb, _) in zip(a, b)]
    gaps += [float(np.max(np.abs(ca - cb))) for (_, ca), (_, cb) in zip(a, b) if ca is not None]
    return max(gaps)
