"""One step of the network from any state with one input character held fixed, and its Jacobian:
the map F(s, x) whose fixed points and linearisation analysis/dynamics/ studies (Sussillo & Barak 2013).

The state s is everything the network carries from one character to the next, as one flat vector,
bottom layer first: [h_0, c_0, h_1, c_1, ...] (c only for an LSTM), so a 1-layer GRU-15's state has
15 numbers and a 1-layer LSTM-24's 48. One step of the stack is F: layer 0 reads the character's input
vector (embedding, one-hot or digit value), each layer above reads the new h of the layer below.

F is the model's own recurrent module run for one step, on a float64 copy: the fixed points are
those of the network itself, not of a re-derivation of its equations (the tests hold both F and its
Jacobian against models/network/reference.py, which shares no code with this). float64 because a
fixed point is polished until ||F(s) - s|| is ~1e-12, below float32's resolution.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.trace import LayerState, Trace

JACOBIAN_ROWS = 1 << 16     # states x state size per backward pass: bounds the memory of one Jacobian batch


class Update:
    """F(s, x) for a model (a CharRNN; the model itself is left untouched). ``step`` and ``jacobian``
    take a batch of states [N, D] and one character; both return float64 NumPy."""

    def __init__(self, model: CharRNN):
        self.model = copy.deepcopy(model).double().cpu().eval()
        for p in self.model.parameters():    # gradients are taken with respect to the state only
            p.requires_grad_(False)
        cfg = model.config
        self.cell, self.layers, self.hidden_size = cfg.cell, cfg.num_layers, cfg.hidden_size
        self.parts = ("h", "c") if cfg.cell == "lstm" else ("h",)

    @property
    def size(self) -> int:
        """D, the length of the flat state."""
        return self.layers * len(self.parts) * self.hidden_size

    def names(self) -> list[str]:
        """A name for each entry of the flat state: "h l0 3" is layer 0's h, cell 3."""
        return [f"{part} l{k} {j}" for k in range(self.layers) for part in self.parts for j in range(self.hidden_size)]

    def input_of(self, char: str) -> torch.Tensor:
        """[1, 1, input_size]: what the bottom layer reads for ``char`` (UnknownCharacters if it is not in
        the vocabulary)."""
        ids = torch.as_tensor(self.model.vocab.encode(char))
        return self.model.inputs(ids[None])

    def _run(self, states: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F for a batch of flat states [N, D] as tensors (differentiable)."""
        n = states.shape[0]
        # [N, D] -> [N, layers, parts, H] -> per part [layers, N, H], as torch's modules take a state
        per = states.reshape(n, self.layers, len(self.parts), self.hidden_size).permute(2, 1, 0, 3)
        state = (per[0].contiguous(), per[1].contiguous()) if self.cell == "lstm" else per[0].contiguous()
        _, new = self.model.rnn(x.expand(n, 1, x.shape[-1]), state)
        new = torch.stack(new) if self.cell == "lstm" else new[None]        # [parts, layers, N, H]
        return new.permute(2, 1, 0, 3).reshape(n, self.size)

    @torch.no_grad()
    def step(self, states: np.ndarray, char: str) -> np.ndarray:
        """[N, D]: F(s, char) for each state s of ``states`` [N, D]."""
        return self._run(torch.as_tensor(np.asarray(states, np.float64)), self.input_of(char)).numpy()

    def jacobian(self, states: np.ndarray, char: str) -> tuple[np.ndarray, np.ndarray]:
        """(F [N, D], J [N, D, D]) with J[n, i, j] = dF_i / ds_j at states[n], by autograd.

        One backward pass serves a whole batch: each state is repeated D times, copy i keeps only
        output i, and the gradient of their sum is row i of that state's Jacobian (torch's modules are
        batch-parallel, so the copies never mix). Batches are cut to JACOBIAN_ROWS rows."""
        states = np.asarray(states, np.float64)
        x, D = self.input_of(char), self.size
        per_batch = max(1, JACOBIAN_ROWS // D)
        values, jacobians = [], []
        for start in range(0, len(states), per_batch):
            s = torch.as_tensor(states[start:start + per_batch])
            n = len(s)
            copies = s.repeat_interleave(D, dim=0).requires_grad_(True)          # [n * D, D]
            out = self._run(copies, x).reshape(n, D, D)                          # out[b, i] = F(s_b), copy i
            out.diagonal(dim1=1, dim2=2).sum().backward()                        # d F_i / d s, copy i
            values.append(out[:, 0].detach().numpy())
            jacobians.append(copies.grad.reshape(n, D, D).numpy())
        return np.concatenate(values), np.concatenate(jacobians)

    # --- between the flat state and the network's per-layer states --------------------------------------
    def flat_states(self, trace: Trace, rows: np.ndarray | None = None) -> np.ndarray:
        """[N, D] float64: the state after each character ``rows`` (default all) of a trace of this model."""
        rows = np.arange(len(trace)) if rows is None else np.asarray(rows)
        blocks = []
        for k in range(self.layers):
            blocks.append(trace.hidden[k][rows])
            if self.cell == "lstm":
                blocks.append(trace.gates[k]["c"][rows])
        return np.concatenate(blocks, axis=1).astype(np.float64)

    def layer_slice(self, layer: int) -> slice:
        """Where layer ``layer``'s part (h, and c for an LSTM) sits in the flat state."""
        width = len(self.parts) * self.hidden_size
        return slice(layer * width, (layer + 1) * width)

    def layer_states(self, flat: np.ndarray) -> list[LayerState]:
        """One flat state [D] as the network's per-layer states (what tracer.trace takes as ``state``)."""
        H = self.hidden_size
        out = []
        for k in range(self.layers):
            part = np.asarray(flat[self.layer_slice(k)], np.float32)
            out.append(LayerState(part[:H], part[H:] if self.cell == "lstm" else None))
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low [D], high [D]): where a fixed point can be. One step of a GRU (from h in [-1, 1]), an LSTM or a
        tanh RNN puts h in [-1, 1]; outside it a GRU whose update gate rounds to 1 looks fixed without being
        reachable. An LSTM's c is not bounded (c' = f c + i g: a forget gate near 1 holds a large c, and the
        network gets there by reading the character long enough), nor is a ReLU or linear RNN's h."""
        low, high = np.full(self.size, -np.inf), np.full(self.size, np.inf)
        if self.cell == "rnn" and self.model.config.nonlinearity != "tanh":
            return low, high
        for k in range(self.layers):
            h = self.layer_slice(k).start
            low[h:h + self.hidden_size], high[h:h + self.hidden_size] = -1.0, 1.0
        return low, high
