"""A state store built in this process by torch's own recurrent modules -- cuDNN on a GPU -- with
the lanes of the Dask build (models/store/dask_build.py) as the batch: the same plan, burn-ins and seam
checks, another engine. ``rnnscope store build --device cuda``.

Why a second engine: on a GPU one cuDNN call reads thousands of lanes for thousands of steps,
where the CPU workers' NumPy steps (models/store/lockstep.py) read a few hundred. It runs in float32,
as torch does, so its states equal the float64 reference to ~1e-6, not to float32 rounding; the
seam tolerance (1e-6) holds because a lane's burn-in state and the true state it is compared with
come from the same float32 arithmetic and contract to the same values.

The engine's interface is store_kernel.KernelWeights': ``read`` (one lane from a state) and
``read_lanes`` (a span's lanes after their burn-ins); states go in and out as store_kernel.State
(h float32, an LSTM's c float64) so the seam checks compare like with like.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnnscope.models.store import lockstep
from rnnscope.models.store.dask_build import BURN_IN, SEAM_TOL, BuildReport, InProcess, build_store_lanes
from rnnscope.models.network.model import CharRNN
from rnnscope.models.store.zarr_store import CHUNK
from rnnscope.models.store.kernel import State

STEPS = 2_048            # time steps per module call: bounds the inputs and outputs held on the device
SPAN_VALUES = 2**28      # states (float32) one span holds on the host: 1 GiB


class TorchLanes:
    """``model``'s layers as single-layer torch modules on the model's device (model.layer)."""

    def __init__(self, model: CharRNN):
        # a GPU reads tens of thousands of lanes in one call; on a CPU torch's step is NumPy's size
        self.max_lanes = 65_536 if model.device.type == "cuda" else 256
        self.model = model.eval()
        self.cell = model.config.cell
        self.hidden = model.config.hidden_size
        self.modules = [model.layer(k) for k in range(model.config.num_layers)]

    def read(self, ids: np.ndarray, state: State | None) -> tuple[list[np.ndarray], State]:
        """One lane: every layer's h [T, H] float32 from ``state`` (None: zeros), and the state after."""
        hidden, after = self._run(np.asarray(ids)[None], self._stack([state]))
        return [h[0] for h in hidden], lockstep.lanes_of(after, 0)

    def read_lanes(self, span, layout, burn, first_seam):
        """The lanes side by side: every burn-in after the first lane's at once, then every lane's
        first ``size`` characters, then the last lane's extra characters alone."""
        B, size = len(layout), layout[0][1]
        seams = [first_seam]
        if burn and B > 1:
            _, state = self._run(np.stack([span[off - burn:off] for off, _ in layout[1:]]), None, keep=False)
            seams += [lockstep.lanes_of(state, b) for b in range(B - 1)]
        else:
            seams += [None] * (B - 1)
        hidden, after = self._run(np.stack([span[off:off + size] for off, _ in layout]), self._stack(seams))
        afters = [lockstep.lanes_of(after, b) for b in range(B)]
        rest = span[layout[-1][0] + size:]
        tail = []
        if len(rest):
            tail, afters[-1] = self.read(rest, afters[-1])
        return ([np.concatenate([h.reshape(-1, h.shape[2])] + ([tail[k]] if tail else []))
                 for k, h in enumerate(hidden)], seams, afters)

    @torch.no_grad()
    def _run(self, ids: np.ndarray, state, keep: bool = True):
        """``ids`` [B, T] from ``state`` (per layer (h [B, H], c [B, H] or None) or None): every
        layer's h [B, T, H] float32 on the host (None unless ``keep``), and the state after as the
        same per-layer pairs, copied to the host once (not once a lane: on a GPU each copy waits on it)."""
        device = self.model.device
        B, T = ids.shape
        hidden = [np.empty((B, T, self.hidden), np.float32) for _ in self.modules] if keep else None
        states = [None if state is None else self._to_torch(state[k], device) for k in range(len(self.modules))]
        ids = torch.as_tensor(ids, device=device, dtype=torch.long)
        for t0 in range(0, T, STEPS):
            x = self.model.inputs(ids[:, t0:t0 + STEPS])
            for k, module in enumerate(self.modules):
                x, states[k] = module(x, states[k])
                if keep:
                    hidden[k][:, t0:t0 + x.shape[1]] = x.float().cpu().numpy()
        pairs = [(s[0][0], s[1][0]) if self.cell == "lstm" else (s[0], None) for s in states]
        return hidden, [tuple(None if a is None else a.float().cpu().numpy() for a in pair) for pair in pairs]

    def _to_torch(self, layer_state, device):
        h, c = (torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)[None].contiguous()
                if a is not None else None for a in layer_state)
        return (h, c) if self.cell == "lstm" else h

    def _stack(self, states: list):
        """Lanes' store_kernel states (None: zeros) as per-layer [B, H] arrays; None when all are zeros."""
        if all(s is None for s in states):
            return None
        return lockstep.stack(states, len(self.modules), self.hidden, self.cell == "lstm")


def build_store_torch(model: CharRNN, text: str, path: str | Path, chunk: int = CHUNK, burn_in: int = BURN_IN,
                      tol: float = SEAM_TOL, lane: int | None = None) -> BuildReport:
    """The store of ``text`` built in this process by ``model``'s own modules on its device."""
    return build_store_lanes(model, text, path, InProcess(), TorchLanes(model), 1, f"torch on {model.device}",
                             SPAN_VALUES, chunk, burn_in, tol, lane)
