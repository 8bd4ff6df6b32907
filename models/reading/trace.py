"""The Trace: everything recorded while a model reads one sequence, as plain NumPy arrays.

It is the seam between the model and everything downstream (app, export, analysis), so
this module must not import torch.

Saved as ``.npz`` (no pickles) with these keys:
  chars         [T] uint32, the sequence as Unicode code points (fixed-width unicode arrays drop NULs)
  vocab         [V] uint32, the model's vocabulary in index order, as code points
  cell          scalar unicode: "gru" | "lstm" | "rnn"
  probs         [T, V] float32, the model's next-character distribution after reading char t
                ([T, 0] for a task model, seed 000's sum3: it predicts no next character)
  h_l{k}        [T, H] float32, hidden state of layer k after char t
  {gate}_l{k}   [T, H] float32, GRU: r, z, n; LSTM: i, f, g, o and the cell state c
  ann_{name}    [T], per-character annotations (grammar text: depth, kind)
  init_h_l{k}   [H] float32, optional: the state layer k read the first character from, when it was
  init_c_l{k}   not the zero state (a window read in context); init_c for an LSTM
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnscope.base.atomic import write_atomic
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.vocab import Vocab

VIEW_LABELS = {
    "h": "hidden state h", "r": "reset gate r", "z": "update gate z", "n": "candidate n",
    "i": "input gate i", "f": "forget gate f", "g": "cell input g", "o": "output gate o", "c": "cell state c",
}

SIGMOID_VIEWS = {"r", "z", "i", "f", "o"}          # values in 0..1
TANH_VIEWS = {"h", "n", "g"}                       # values in -1..1 (h of an LSTM too: o * tanh(c))


def value_range(view: str, values: np.ndarray) -> tuple[float, float]:
    """The range a view's values live in, fixed per view so that colours and bins mean the same
    across sequences; unbounded values (an LSTM's c, a ReLU RNN's h) get a symmetric range from the
    largest magnitude, rounded up to 0.5."""
    if view in SIGMOID_VIEWS:
        return 0.0, 1.0
    m = float(np.nanmax(np.abs(values))) if values.size else 1.0
    if view in TANH_VIEWS and m <= 1.0:
        return -1.0, 1.0
    # Unbounded: an LSTM's c, or the h of a ReLU RNN (never fitted into -1..1 without a word)
    m = float(np.ceil(max(m, 1e-6) * 2) / 2)
    return -m, m


@dataclass(frozen=True)
class LayerState:
    """What one layer carries from one character to the next: h, and the LSTM's cell state c."""
    h: np.ndarray                  # [H]
    c: np.ndarray | None = None    # [H] for an LSTM, None otherwise


State = list[LayerState]           # one per layer, bottom first


@dataclass
class Trace:
    text: str
    vocab: list[str]
    cell: str
    hidden: list[np.ndarray]                                  # per layer [T, H]
    gates: list[dict[str, np.ndarray]]                        # per layer {name: [T, H]}
    probs: np.ndarray                                         # [T, V]
    annotations: dict[str, np.ndarray] = field(default_factory=dict)
    initial: State | None = None          # the state before the first character (None: the zero state)

    def __len__(self) -> int:
        return len(self.text)

    @property
    def num_layers(self) -> int:
        return len(self.hidden)

    @property
    def views(self) -> list[str]:
        """What can be shown per layer: "h" then the gates (and c for LSTM)."""
        return ["h", *self.gates[0].keys()]

    def values(self, view: str = "h", layer: int = 0) -> np.ndarray:
        """[T, H] activations for one view of one layer."""
        if not 0 <= layer < self.num_layers:
            raise RnnscopeError(f"layer {layer} does not exist; this model has {self.num_layers}")
        if view == "h":
            return self.hidden[layer]
        if view not in self.gates[layer]:
            raise RnnscopeError(f"view {view!r} does not exist for a {self.cell.upper()}; choose from {self.views}")
        return self.gates[layer][view]

    def final_state(self) -> State:
        """The state after the last character: where reading the text that follows would start."""
        return [LayerState(h[-1].copy(), g["c"][-1].copy() if "c" in g else None)
                for h, g in zip(self.hidden, self.gates)]

    def slice(self, start: int, stop: int) -> Trace:
        """Characters ``start .. stop-1`` with every array cut alike (states stay as read in
        the whole trace: a slice of a longer reading is a window read in context)."""
        if not 0 <= start < stop <= len(self):
            raise RnnscopeError(f"slice {start}..{stop} is outside the trace (0 .. {len(self)})")
        before = self.initial if start == 0 else self.state_before(start)
        return Trace(text=self.text[start:stop], vocab=self.vocab, cell=self.cell,
                     hidden=[h[start:stop] for h in self.hidden],
                     gates=[{k: v[start:stop] for k, v in g.items()} for g in self.gates],
                     probs=self.probs[start:stop],
                     annotations={k: v[start:stop] for k, v in self.annotations.items()}, initial=before)

    def state_before(self, t: int) -> State:
        """The state step ``t`` read from: after character t-1, or the initial state (zeros by default)."""
        if t > 0:
            return [LayerState(h[t - 1], g["c"][t - 1] if "c" in g else None) for h, g in zip(self.hidden, self.gates)]
        if self.initial is not None:
            return self.initial
        H = self.hidden[0].shape[1]
        return [LayerState(np.zeros(H, np.float32), np.zeros(H, np.float32) if "c" in g else None) for g in self.gates]

    def next_char_prob(self) -> np.ndarray:
        """[T-1]: the probability the model gave to the character that actually came next (NaN
        throughout for a task model: it gives none)."""
        if self.probs.shape[1] == 0:
            return np.full(len(self) - 1, np.nan, np.float32)
        if len(self) < 2:
            return np.empty(0, self.probs.dtype)
        nxt = Vocab(self.vocab).encode(self.text[1:])       # one table lookup, not a loop over the text
        return self.probs[np.arange(len(nxt)), nxt]

    def save(self, path: str | Path) -> Path:
        """Write atomically: a crash leaves either the old file or the new one."""
        path = Path(path)
        arrays = {"chars": _code_points(self.text), "vocab": _code_points("".join(self.vocab)),
                  "cell": np.array(self.cell), "probs": self.probs}
        for k, h in enumerate(self.hidden):
            arrays[f"h_l{k}"] = h
            arrays.update({f"{name}_l{k}": v for name, v in self.gates[k].items()})
        arrays.update({f"ann_{name}": v for name, v in self.annotations.items()})
        for k, layer_state in enumerate(self.initial or []):
            arrays[f"init_h_l{k}"] = layer_state.h
            if layer_state.c is not None:
                arrays[f"init_c_l{k}"] = layer_state.c
        return write_atomic(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise RnnscopeError(f"{path}: no such trace file") from None
        except Exception as e:
            raise RnnscopeError(f"{path}: not a readable trace .npz ({e})") from None
        missing = [k for k in ("chars", "vocab", "cell", "probs", "h_l0") if k not in data]
        if missing:
            raise RnnscopeError(f"{path}: not an rnnscope trace, missing keys {missing}")
        n_layers = sum(1 for k in data if k.startswith("h_l"))
        gates = [{k.rsplit("_l", 1)[0]: v for k, v in data.items()
                  if k.endswith(f"_l{layer}") and not k.startswith(("h_", "ann_", "init_"))}
                 for layer in range(n_layers)]
        initial = ([LayerState(data[f"init_h_l{k}"], data.get(f"init_c_l{k}")) for k in range(n_layers)]
                   if "init_h_l0" in data else None)
        return cls(text=_text(data["chars"]), vocab=list(_text(data["vocab"])), cell=str(data["cell"]),
                   hidden=[data[f"h_l{k}"] for k in range(n_layers)], gates=gates, probs=data["probs"],
                   annotations={k[4:]: v for k, v in data.items() if k.startswith("ann_")}, initial=initial)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _text(code_points: np.ndarray) -> str:
    return code_points.astype("<u4").tobytes().decode("utf-32-le")
