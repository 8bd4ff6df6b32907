"""The oracle-divergence track: KL(oracle || model) and the illegal
mass per step, from the grammar's exact distribution -- the stream's own for a held-out window,
none after typed text leaves the grammar, summed over hidden separators, absent for text models."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.app.pages.page import Page
from rnnscope.app.pages.state import AppState
from rnnscope.models.network import checkpoint
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig



def test_a_held_out_window_is_measured_against_the_streams_own_oracle(default_model):
    page = Page(AppState(default_model, index=5_000, window=100))
    frame, tr = page.frame, page.state.trace
    oracle = heldout_of(default_model).oracle[5_000:5_100]
    alphabet = grammar.GrammarSpec().alphabet
    for t in (0, 17, 99):                              # by hand, from the definition
        want = sum(p * math.log(p / tr.probs[t, tr.vocab.index(ch)]) for ch, p in zip(alphabet, oracle[t]) if p > 0)
        illegal = sum(tr.probs[t, tr.vocab.index(ch)] for ch, p in zip(alphabet, oracle[t]) if p == 0)
        assert frame.kl[t] == pytest.approx(want, abs=1e-6) and frame.illegal[t] == pytest.approx(illegal, abs=1e-7)
    data = page.scope.seq.data
    np.testing.assert_allclose(data["kl"], frame.kl)
    assert page.scope.tracks.kl.visible and "KL(oracle \u2016 model) per step" in page.scope.tracks.kl.title.text


def test_no_truth_after_typed_text_leaves_the_grammar(default_model):
    page = Page(AppState(default_model))
    page.state.text = "( 1 ) ) 0 ( 1 ) 0 "
    kl = page.frame.kl
    assert not np.isnan(kl[:6]).any() and np.isnan(kl[6:]).all()
    assert "none after the grammar breaks (12 columns)" in page.scope.tracks.kl.title.text


def test_hidden_separators_sum_the_divergence_up_to_the_next_shown_column(default_model):
    state = AppState(default_model, index=5_000, window=100)
    page = Page(state)
    whole = page.frame.kl.copy()
    state.hide_separators = True
    positions = page.frame.positions
    np.testing.assert_allclose(page.frame.kl, np.add.reduceat(whole, positions), rtol=1e-6)
    assert "summed up to the next shown column" in page.scope.tracks.kl.title.text


def test_a_text_model_has_no_divergence_track(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("hello world, hello rnnscope\n" * 100, encoding="utf-8")
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=sorted(set(text.read_text())), hidden_size=4, embedding_dim=3))
    checkpoint.save(model, tmp_path / "m", {"data": {"kind": "text", "path": str(text)}})
    page = Page(AppState(tmp_path / "m"))
    assert page.frame.kl is None and not page.scope.tracks.kl.visible
