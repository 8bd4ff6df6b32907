"""Making data and models: a grammar stream (``generate``), a text corpus (``corpus``), a character model
trained on either (``train``, ``resume``) and seed 000's sum3 model (``train_sum3``). Each returns what it
made; the training functions return the saved model as a :class:`rnnscope.Model`."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from rnnscope.grammar import GrammarError, GrammarSpec

__all__ = ["GrammarError", "GrammarSpec", "grammar_spec", "generate", "corpus", "train", "resume", "train_sum3",
           "read_run", "world"]


def grammar_spec(base: GrammarSpec | None = None, **changes) -> GrammarSpec:
    """The parenthesis language: ``base`` (default the standard one) with ``changes`` (max_depth,
    separator, zero_digit, digits), each left out or None taken from ``base``."""
    return dataclasses.replace(base or GrammarSpec(), **{k: v for k, v in changes.items() if v is not None})


def generate(chars: int, seed: int = 0, spec: GrammarSpec | None = None) -> str:
    """A stream of ``chars`` characters of the grammar ``spec`` (grammar/generate.py), from depth 0."""
    from rnnscope import grammar
    return grammar.generate(chars, seed=seed, spec=spec or GrammarSpec())


def corpus(name: str, out: str | Path, max_chars: int = 3_000_000) -> dict:
    """Build a demonstration corpus (models/data/corpus.py: "python-stdlib") of whole files up to
    ``max_chars`` characters, write it to ``out`` and its record to the sidecar ``out``.json (both
    atomically). Returns the record (chars, files, python, text_sha256 ...) with "sidecar": its path."""
    import json

    from rnnscope.base.atomic import check_writable, write_text_atomic
    from rnnscope.models.data import corpus as corpora
    check_writable(Path(out))
    text, record = corpora.build(name, max_chars)
    side = corpora.sidecar_path(out)
    write_text_atomic(side, json.dumps(record, indent=1) + "\n")
    write_text_atomic(Path(out), text)
    return record | {"sidecar": str(side)}


def train(out: str | Path, *, data: str | Path | None = None, val: str | Path | None = None,
          val_fraction: float = 0.1, spec: GrammarSpec | None = None, row_chars: int = 20_000,
          eval_chars: int = 200_000, soft_targets: bool = False, cell: str = "gru", hidden: int = 15,
          layers: int = 1, embedding: int | None = 15, nonlinearity: str = "tanh", bias: bool = True,
          steps: int = 3000, batch: int = 128, bptt: int = 100, lr: float = 1e-2, seed: int = 0,
          eval_every: int = 500, save_every: int | None = None, device: str = "auto", threads: int | None = None,
          progress: bool = True, force: bool = False, minutes: float | None = None, stop_at: int | None = None):
    """Train a character model on the grammar ``spec`` (default) or on the UTF-8 text file ``data`` and save
    the best by held-out loss (nats/char) to ``out``, the run (settings, metrics, resumable state) to
    ``out``.run (models/training/train.py). ``embedding`` None feeds one-hot characters; ``batch`` is the
    global batch of rows of ``bptt`` characters; ``lr`` the peak Adam rate, cosine-decayed over ``steps``.
    ``minutes`` / ``stop_at`` stop cleanly early (:func:`resume` goes on). Returns the saved Model, its
    ``training`` the run's record (history, best, floor, unigram, stopped); under torchrun, None on every
    process but rank 0."""
    from rnnscope.models.data.batches import GrammarData, TextData
    from rnnscope.models.network.model import ModelConfig
    from rnnscope.models.training import train as training
    dataset = (TextData(data, val_path=val, val_fraction=val_fraction, seed=seed) if data else
               GrammarData(spec or GrammarSpec(), row_chars=row_chars, eval_chars=eval_chars, seed=seed,
                           soft_targets=soft_targets))
    model_config = ModelConfig(vocab=dataset.vocab.chars, cell=cell, hidden_size=hidden, num_layers=layers,
                               embedding_dim=embedding, nonlinearity=nonlinearity, bias=bias)
    cfg = training.TrainConfig(steps=steps, batch_size=batch, bptt=bptt, lr=lr, seed=seed, device=device,
                               eval_every=eval_every, save_every=save_every, threads=threads)
    record = training.train(dataset, model_config, cfg, out, progress=progress, force=force, minutes=minutes,
                            stop_at=stop_at)
    return _trained(out, record)


def resume(run: str | Path, *, minutes: float | None = None, stop_at: int | None = None,
           threads: int | None = None, device: str | None = None, progress: bool = True):
    """Go on with the run in ``run`` (an OUT.run directory) from its saved state; the same result as a run
    never stopped. ``device`` and ``threads`` may differ from the run's (None: its own). Returns the saved
    Model as :func:`train` does."""
    from rnnscope.models.training import train as training
    record = training.resume(run, progress=progress, minutes=minutes, stop_at=stop_at, threads=threads,
                             device=device)
    return _trained(read_run(run)["out"], record)


def train_sum3(out: str | Path, *, input: str = "scalar", triples: int = 10_000, epochs: int | None = None,
               seed: int = 0, cosine: bool = False, batch_size: int | None = None, lr: float | None = None,
               force: bool = False, progress=None):
    """Seed 000's task: a 1-unit linear RNN learns the sum of three digits (models/training/sum3.py).
    ``input``: "scalar", "one-hot" or "embedding"; ``epochs``, ``batch_size``, ``lr`` None take the seed's
    recipe for that input; ``progress``: a function given one line per epoch. Returns the saved Model;
    its ``training`` holds "config" (the recipe as run), "history" and "final" (mse, val_mse ...)."""
    from rnnscope.models.training.sum3 import Sum3Config
    from rnnscope.models.training.sum3 import train_sum3 as run_sum3
    cfg = Sum3Config(input=input, triples=triples, epochs=epochs, seed=seed, cosine=cosine, batch_size=batch_size,
                     lr=lr)
    return _trained(out, run_sum3(cfg, out, force=force, progress=progress))


def read_run(run: str | Path) -> dict:
    """A training run's settings (OUT.run/run.json): "out", "data", "model", "train"."""
    from rnnscope.models.training.run import read_run_json
    return read_run_json(run)


def world():
    """The processes torchrun started (models/training/distributed.py World: ``rank``, ``size``,
    ``writer`` (rank 0, the one that writes and prints), ``distributed``); a world of one without torchrun."""
    from rnnscope.models.training.distributed import World
    return World.from_env()


def _trained(out, record: dict):
    from rnnscope.api.model import load
    if not world().writer:
        return None
    model = load(out)
    model.training = record
    return model
