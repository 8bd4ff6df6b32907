"""Seed 000's experiment as a built-in task: three digits in, their sum out.

A 1-unit linear RNN reads the digits one at a time from the zero state and its last state is the
prediction (no decoder): h_t = x_t W + h_{t-1} U + b, so W = U = 1, b = 0 sums exactly. The seed
feeds each digit three ways, and so does ``rnnscope train --task sum3 --input ...``:
  scalar     the digit's value as one number (the seed's first model: 4 parameters here, 3 in Keras)
  one-hot    ten inputs, one of them 1 (W is 10 x 1: each digit picks its own W_d)
  embedding  a learned 10 x 10 embedding before the RNN
The seed's recipes (Adam at a constant rate, mean squared error, 10,000 triples of which the last
20% validate) are the defaults: what each input reaches is read back by analysis/decode/weights.py, never assumed.

Keras initialises a SimpleRNN's recurrent weight orthogonally (a 1 x 1 orthogonal matrix is +-1),
its kernel Glorot-uniform and its bias at zero; torch's uniform(-1, 1) start for one unit may begin
with U near 0, where the sum's gradient through time vanishes. The task starts as Keras does, so
the seed's recipe is what is being reproduced.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from rnnscope.models.network import checkpoint
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig

DIGITS = "0123456789"
LENGTH = 3
INPUTS = ("scalar", "one-hot", "embedding")
# The seed's recipe for each input: Adam's learning rate, batch size, epochs
RECIPES = {"scalar": (1e-3, 4, 5), "one-hot": (5e-3, 8, 8), "embedding": (1e-2, 8, 4)}
EMBEDDING_DIM = 10          # the seed's Embedding(input_dim=10, output_dim=10)


@dataclass
class Sum3Config:
    input: str = "scalar"
    triples: int = 10_000        # all of them; the last ``validation`` share is never trained on
    validation: float = 0.2
    epochs: int | None = None    # None: the seed's recipe for this input
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    cosine: bool = False         # decay Adam's rate to zero along a cosine (the seed keeps it constant)

    def __post_init__(self):
        if self.input not in INPUTS:
            raise RnnscopeError(f"--input must be one of {', '.join(INPUTS)}, got {self.input!r}")
        lr, batch, epochs = RECIPES[self.input]
        self.lr = lr if self.lr is None else self.lr
        self.batch_size = batch if self.batch_size is None else self.batch_size
        self.epochs = epochs if self.epochs is None else self.epochs
        for name in ("triples", "epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise RnnscopeError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not 0 < self.validation < 1:
            raise RnnscopeError(f"the validation share must be between 0 and 1, got {self.validation}")
        if self.train_count < 1 or self.triples - self.train_count < 1:
            raise RnnscopeError(f"{self.triples} triples leave nothing to train or validate on; ask for more")
        if not self.lr > 0 or math.isinf(self.lr):
            raise RnnscopeError(f"lr must be a positive number, got {self.lr}")

    @property
    def train_count(self) -> int:
        return int(round(self.triples * (1 - self.validation)))


def model_config(input_kind: str) -> ModelConfig:
    """The seed's model for one way of reading the digits: a 1-unit linear RNN, no decoder."""
    if input_kind not in INPUTS:
        raise RnnscopeError(f"--input must be one of {', '.join(INPUTS)}, got {input_kind!r}")
    return ModelConfig(vocab=list(DIGITS), cell="rnn", hidden_size=1, num_layers=1, nonlinearity="linear",
                       embedding_dim=EMBEDDING_DIM if input_kind == "embedding" else None,
                       scalar_input=input_kind == "scalar", task="sum3")


def triples(n: int, seed) -> np.ndarray:
    """[n, 3] random digits 0..9 (uniform, as the seed's randint)."""
    return np.random.default_rng(seed).integers(0, 10, size=(n, LENGTH))


def new_triples(n: int, seed: int = 0) -> np.ndarray:
    """Triples drawn from a stream training never reads (training's is (seed, 0))."""
    return triples(n, (seed, 1))


def as_text(digits: np.ndarray) -> list[str]:
    return ["".join(DIGITS[d] for d in row) for row in np.asarray(digits)]


def is_sum3(model: CharRNN) -> bool:
    return model.config.task == "sum3"


@torch.no_grad()
def predict(model: CharRNN, digits: np.ndarray) -> np.ndarray:
    """[n] the model's sum for each row of ``digits`` [n, 3]: its last state, read from the zero state."""
    if not is_sum3(model):
        raise RnnscopeError(f"this is {model.config.describe()}, not a sum3 model")
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] != LENGTH or not np.isin(digits, range(10)).all():
        raise RnnscopeError(f"sum3 reads rows of {LENGTH} digits 0..9, got an array of shape {list(digits.shape)}")
    ids = torch.as_tensor(model.vocab.encode("".join(as_text(digits))).reshape(digits.shape), device=model.device)
    model.eval()
    return _last_state(model, ids).double().cpu().numpy()


def _last_state(model: CharRNN, ids: torch.Tensor) -> torch.Tensor:
    out, _ = model(ids)
    return out[:, -1, 0]


def keras_start(model: CharRNN, generator: torch.Generator) -> None:
    """Keras' SimpleRNN start: kernel Glorot-uniform, recurrent orthogonal (+-1 for one unit), biases
    zero (torch's two, whose sum is Keras' one); an embedding uniform(-0.05, 0.05) as Keras' default."""
    rnn = model.rnn
    with torch.no_grad():
        fan_in, fan_out = rnn.weight_ih_l0.shape[1], rnn.weight_ih_l0.shape[0]
        limit = math.sqrt(6 / (fan_in + fan_out))
        rnn.weight_ih_l0.uniform_(-limit, limit, generator=generator)
        rnn.weight_hh_l0.copy_(torch.sign(torch.randn(1, 1, generator=generator)))
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        if model.embed is not None:
            model.embed.weight.uniform_(-0.05, 0.05, generator=generator)


def train_sum3(cfg: Sum3Config, out: str | Path, force: bool = False, progress=print) -> dict:
    """Train the seed's model on ``cfg``, save it to ``out`` and return its training record: per
    epoch the mean squared error on the training triples and on the validation triples, and the
    share of validation triples whose prediction rounds to the true sum."""
    checkpoint.check_output(out, force=force)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = CharRNN(model_config(cfg.input))
    keras_start(model, gen)
    digits = torch.as_tensor(triples(cfg.triples, (cfg.seed, 0)))
    sums = digits.sum(dim=1).float()
    n = cfg.train_count
    train_x, train_y, val_x, val_y = digits[:n], sums[:n], digits[n:], sums[n:]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)   # one kernel: the step is tiny
    steps = cfg.epochs * math.ceil(n / cfg.batch_size)
    # The seed keeps Adam's rate constant. A cosine decay to zero lets a larger rate and batch (fewer,
    # cheaper steps) end without the last steps' noise blurring the weights; at the seed's small rate
    # it halves the distance travelled, and 5 epochs at 0.001 no longer reach W = 1.
    decay = (lambda k: 0.5 * (1 + math.cos(math.pi * min(k / steps, 1.0)))) if cfg.cosine else (lambda k: 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, decay)
    history, start = [], time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order, total = torch.randperm(n, generator=gen), 0.0
        for i in range(0, n, cfg.batch_size):
            rows = order[i:i + cfg.batch_size]
            loss = torch.mean((_last_state(model, train_x[rows]) - train_y[rows]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(rows)
        with torch.no_grad():
            model.eval()
            pred = _last_state(model, val_x)
            val_loss = torch.mean((pred - val_y) ** 2).item()
            val_acc = (torch.round(pred) == val_y).float().mean().item()
        if not math.isfinite(total) or not math.isfinite(val_loss):
            raise RnnscopeError(f"training diverged at epoch {epoch} (loss {total / n}); try a smaller --lr")
        history.append({"epoch": epoch, "mse": total / n, "val_mse": val_loss, "val_rounded_correct": val_acc,
                        "seconds": round(time.perf_counter() - start, 3)})
        if progress:
            progress(f"epoch {epoch}/{cfg.epochs}: mse {total / n:.4g}, validation mse {val_loss:.4g}, "
                     f"validation triples whose rounded prediction is the sum {val_acc:.1%}")
    record = {"data": {"kind": "sum3", "triples": cfg.triples, "trained_on": n, "validated_on": cfg.triples - n,
                       "seed": cfg.seed},
              "config": asdict(cfg), "history": history, "final": history[-1]}
    checkpoint.save(model, out, training=record)
    return record
