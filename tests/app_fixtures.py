"""Fixtures for the app tests: a frozen copy of the shipped checkpoint (training may be
rewriting the original), tiny untrained LSTM / two-layer GRU checkpoints, and a short training run
with periodic checkpoints. tests/conftest.py registers them once for the session: test modules name
them as arguments and must not import them (an imported fixture is rebuilt for each importing module)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import torch

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.models.data.batches import GrammarData
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.train import TrainConfig, train

GRAMMAR_VOCAB = grammar.GrammarSpec().alphabet


def _copy_checkpoint(dst: Path) -> Path:
    for _ in range(20):             # the original is swapped atomically every few seconds
        try:
            shutil.copytree(checkpoint.DEFAULT_CHECKPOINT, dst)
            checkpoint.load(dst)
            return dst
        except Exception:
            shutil.rmtree(dst, ignore_errors=True)
            time.sleep(0.5)
    raise RuntimeError("could not copy the default checkpoint")


def _tiny(path: Path, cell: str, layers: int, hidden: int = 6) -> Path:
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=GRAMMAR_VOCAB, cell=cell, hidden_size=hidden, num_layers=layers))
    return checkpoint.save(model, path)


@pytest.fixture(scope="session")
def default_model(tmp_path_factory) -> Path:
    return _copy_checkpoint(tmp_path_factory.mktemp("models") / "gru15-parens")


@pytest.fixture(scope="session")
def lstm_model(tmp_path_factory) -> Path:
    return _tiny(tmp_path_factory.mktemp("models") / "lstm6", "lstm", 1)


@pytest.fixture(scope="session")
def gru2_model(tmp_path_factory) -> Path:
    return _tiny(tmp_path_factory.mktemp("models") / "gru6x2", "gru", 2)


@pytest.fixture(scope="session")
def corrupt_model(tmp_path_factory, default_model) -> Path:
    bad = tmp_path_factory.mktemp("models") / "corrupt"
    shutil.copytree(default_model, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    return bad


@pytest.fixture(scope="session")
def run_model(tmp_path_factory) -> Path:
    """A GRU-6 trained 24 steps on the grammar, a periodic checkpoint every 8 (OUT.run/step-000008 ...):
    the Compare and Timeline tabs' run, in plain Python (test_app_tabs) and in the browser (test_browser_tabs)."""
    out = tmp_path_factory.mktemp("run") / "gru6"
    data = GrammarData(grammar.GrammarSpec(), row_chars=300, eval_chars=2000, seed=0)
    train(data, ModelConfig(vocab=data.vocab.chars, cell="gru", hidden_size=6),
          TrainConfig(steps=24, batch_size=8, warmup_steps=2, device="cpu", eval_every=8, save_every=8, lr=0.05),
          out, progress=False)
    return out
