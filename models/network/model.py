"""The character language model and its config: embedding (or one-hot, or a digit's value)
-> recurrent cell (GRU | LSTM | tanh, ReLU or linear RNN, with or without biases, 1..n layers)
-> linear decoder (none for a task whose prediction is the last state itself, seed 000's sum3).
Nothing else lives here."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.linear_rnn import LinearRNN
from rnnscope.models.network.vocab import Vocab

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
# The plain RNN's activation: nn.RNN's tanh or relu, or the identity (seed 000's linear
# SimpleRNN, run by models/network/linear_rnn.py). GRU and LSTM have fixed ones.
NONLINEARITIES = ("tanh", "relu", "linear")
# Tasks whose prediction is the top layer's last state itself, with no decoder (None: next-character
# prediction). "sum3": three digits in, their sum out (seed 000; models/training/sum3.py).
TASKS = ("sum3",)
RECURRENT_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

@dataclass
class ModelConfig:
    vocab: list[str] = field(default_factory=list)
    cell: str = "gru"
    hidden_size: int = 15
    num_layers: int = 1
    embedding_dim: int | None = 15   # None: one-hot input (the seed's "simple" variant)
    nonlinearity: str = "tanh"       # RNN only: "tanh" or "relu"
    bias: bool = True                # the recurrent layers' bias_ih/bias_hh (the decoder always has one)
    scalar_input: bool = False       # each character read as its digit's value, one number (seed 000's first model)
    task: str | None = None          # None: predict the next character; "sum3": the last h is the prediction

    @classmethod
    def from_dict(cls, model: dict) -> ModelConfig:
        """The config a checkpoint's ``model`` section describes; a key it does not know is refused by
        name (rnnscope never guesses what an unknown setting means), not by Python's keyword error."""
        known = [f.name for f in fields(cls)]
        unknown = [k for k in model if k not in known]
        if unknown:
            raise RnnscopeError(f"unknown model key(s) {unknown}; the keys are {known}")
        return cls(**model)

    def __post_init__(self):
        if self.cell not in CELLS:
            raise RnnscopeError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.nonlinearity not in NONLINEARITIES:
            raise RnnscopeError(f"nonlinearity must be one of {list(NONLINEARITIES)}, got {self.nonlinearity!r}")
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise RnnscopeError(f"nonlinearity {self.nonlinearity!r} is for cell 'rnn' only; "
                                f"a {self.cell.upper()} has fixed nonlinearities")
        if not isinstance(self.bias, bool):
            raise RnnscopeError(f"bias must be true or false, got {self.bias!r}")
        for name in ("hidden_size", "num_layers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise RnnscopeError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.embedding_dim is not None and (not isinstance(self.embedding_dim, int) or self.embedding_dim < 1):
            raise RnnscopeError(f"embedding_dim must be a positive integer or null, got {self.embedding_dim!r}")
        Vocab(self.vocab)  # validates
        self._check_digits_and_task()

    def _check_digits_and_task(self) -> None:
        if self.scalar_input not in (True, False):
            raise RnnscopeError(f"scalar_input must be true or false, got {self.scalar_input!r}")
        if self.scalar_input and self.embedding_dim is not None:
            raise RnnscopeError("scalar_input reads each digit as one number: embedding_dim must be null")
        if (self.scalar_input or self.task) and not all(c in "0123456789" for c in self.vocab):
            raise RnnscopeError(f"a {'scalar input' if self.scalar_input else f'task {self.task!r}'} needs a "
                                f"vocabulary of digits, got {''.join(self.vocab)!r}")
        if self.task is not None and self.task not in TASKS:
            raise RnnscopeError(f"task must be one of {list(TASKS)} or null, got {self.task!r}")
        if self.task and self.hidden_size != 1:
            raise RnnscopeError(f"task {self.task!r} reads its prediction off a 1-unit state: hidden_size must be 1, "
                                f"got {self.hidden_size}")

    @property
    def input_size(self) -> int:
        return 1 if self.scalar_input else self.embedding_dim or len(self.vocab)

    @property
    def input_kind(self) -> str:
        """How a character reaches the first layer: "scalar" | "one-hot" | "embedding"."""
        return "scalar" if self.scalar_input else "embedding" if self.embedding_dim else "one-hot"

    def describe(self) -> str:
        """In a phrase, for messages: 'a 1-layer GRU with 15 units over 8 characters'."""
        cell = self.cell.upper() + {"relu": " (ReLU)", "linear": " (linear)"}.get(self.nonlinearity, "")
        return (f"a {self.num_layers}-layer {cell} with {self.hidden_size} units over {len(self.vocab)} characters"
                + ("" if self.bias else ", without biases") + (", digits read as numbers" if self.scalar_input else "")
                + (f", trained on task {self.task}" if self.task else ""))

    @property
    def rnn_kwargs(self) -> dict:
        """What torch's recurrent module needs beyond sizes (nonlinearity exists only on nn.RNN)."""
        return {"bias": self.bias, **({"nonlinearity": self.nonlinearity} if self.cell == "rnn" else {})}

    def to_dict(self) -> dict:
        """config.json's model section: nonlinearity is written for RNNs only (it has no meaning for others)."""
        d = asdict(self)
        if self.cell != "rnn":
            del d["nonlinearity"]
        # Written only when used, so every model's config.json reads as before they existed
        for name, default in (("scalar_input", False), ("task", None)):
            if d[name] == default:
                del d[name]
        return d

    @property
    def rnn_class(self) -> type[nn.Module]:
        return LinearRNN if self.cell == "rnn" and self.nonlinearity == "linear" else CELLS[self.cell]


class CharRNN(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.vocab = Vocab(config.vocab)
        V = len(config.vocab)
        self.embed = nn.Embedding(V, config.embedding_dim) if config.embedding_dim else None
        self.rnn = config.rnn_class(config.input_size, config.hidden_size, config.num_layers, batch_first=True,
                                    **config.rnn_kwargs)
        self.decoder = None if config.task else nn.Linear(config.hidden_size, V)
        if config.scalar_input:   # not saved: it follows from the vocabulary
            self.register_buffer("digit_values", torch.tensor([float(c) for c in config.vocab]), persistent=False)

    def inputs(self, ids: torch.Tensor) -> torch.Tensor:
        """[B, T] indices -> [B, T, input_size] vectors the first layer reads."""
        dtype = self.rnn.weight_ih_l0.dtype
        if self.embed is not None:
            return self.embed(ids)
        if self.config.scalar_input:
            return self.digit_values.to(dtype)[ids][..., None]
        return F.one_hot(ids, len(self.config.vocab)).to(dtype)

    def forward(self, ids: torch.Tensor, state=None):
        """Logits [B, T, V] for the character after each position, and the carried state; for a
        task model (no decoder) the top layer's h [B, T, H] itself, its prediction read at the end."""
        out, state = self.rnn(self.inputs(ids), state)
        return (out if self.decoder is None else self.decoder(out)), state

    def layer(self, k: int) -> nn.Module:
        """A single-layer module sharing layer ``k``'s weights (no copy): torch's stacked
        module only returns the top layer, and each layer's own states are what we look at."""
        rnn = self.rnn
        single = type(rnn)(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size, 1, batch_first=True,
                           **self.config.rnn_kwargs)
        for name in RECURRENT_WEIGHTS[:4 if self.config.bias else 2]:
            setattr(single, f"{name}_l0", getattr(rnn, f"{name}_l{k}"))
        return single.to(self.device)

    @torch.no_grad()
    def layer_arrays(self, k: int) -> dict[str, np.ndarray]:
        """Layer ``k``'s weight_ih, weight_hh, bias_ih, bias_hh as float64 NumPy (zero biases for a
        model without them): what the NumPy reference equations (and explain-a-value) read."""
        w = {n: getattr(self.rnn, f"{n}_l{k}").double().cpu().numpy() for n in RECURRENT_WEIGHTS[:2]}
        for n in RECURRENT_WEIGHTS[2:]:
            w[n] = (getattr(self.rnn, f"{n}_l{k}").double().cpu().numpy() if self.config.bias
                    else np.zeros(w["weight_ih"].shape[0]))
        return w

    @torch.no_grad()
    def input_vectors(self, text: str) -> np.ndarray:
        """[T, input_size] float64: what the first layer reads for each character."""
        ids = torch.as_tensor(self.vocab.encode(text), device=self.device)
        return self.inputs(ids[None])[0].double().cpu().numpy()

    def input_names(self) -> list[str]:
        """A name for each input dimension of the first layer."""
        if self.embed is not None:
            return [f"embedding {d}" for d in range(self.config.embedding_dim)]
        if self.config.scalar_input:
            return ["digit value"]
        return [f"one-hot {c!r}" for c in self.config.vocab]

    @property
    def device(self) -> torch.device:
        return self.rnn.weight_ih_l0.device
