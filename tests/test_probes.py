"""Linear probes with their references (docs/methods.md, Probes), each number
checked against a computation worked out here: the majority rate, the input-only baseline as
a per-character lookup table, the control task fixed per character type, and states built so
that the answer is known."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.describe.annotations import grammar_annotations
from rnnscope.analysis.decode.probes import accuracy_curve, control_labels, probe, train_probe
from rnnscope.models.network import checkpoint
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.tracer import trace


torch.set_num_threads(1)

TEXT = grammar.generate(12_000, seed=4)
ANN = grammar_annotations(TEXT)
DEPTH = ANN["depth_level"].values
CHARS = ANN["char"].values


def lookup_accuracy(keys: np.ndarray, target: np.ndarray) -> float:
    """Train on the first half: the most common target per key; score on the second half."""
    half = len(target) // 2
    best = {}
    for k in np.unique(keys[:half]):
        vals, counts = np.unique(target[:half][keys[:half] == k], return_counts=True)
        best[k] = vals[np.argmax(counts)]
    return float(np.mean([best.get(k, -99) == t for k, t in zip(keys[half:], target[half:])]))


def test_a_state_holding_depth_in_one_cell_is_read_perfectly_from_that_cell():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(len(TEXT), 6))
    states[:, 3] = DEPTH + 0.05 * rng.normal(size=len(TEXT))
    result = probe(states, DEPTH, CHARS, "depth")
    assert result.accuracy > 0.99
    assert result.cell_order[0] == 3 and result.cells_needed_99 == 1
    assert result.accuracy_by_k[0] > 0.99 and len(result.accuracy_by_k) == 6


def test_the_probe_without_its_curve_then_the_curve_is_the_whole_probe():
    """What the page shows first (the probe and its references) and what joins it (the curve) are ``probe``'s."""
    rng = np.random.default_rng(5)
    states = rng.normal(size=(len(TEXT), 40))
    states[:, 7] = DEPTH + 0.3 * rng.normal(size=len(TEXT))
    target = DEPTH.copy()
    target[::17] = -1                                           # MISSING positions: left out by both
    whole = probe(states, target, CHARS, "depth")
    head = probe(states, target, CHARS, "depth", curve=False)
    assert head.accuracy_by_k is None and head.cells_needed_99 is None
    assert head.to_dict() | {"accuracy_by_k": None, "cells_needed_99": None} == whole.to_dict() | {
        "accuracy_by_k": None, "cells_needed_99": None}
    by_k, needed = accuracy_curve(states, target, head.cell_order, head.accuracy, "depth")
    assert by_k == whole.accuracy_by_k and needed == whole.cells_needed_99 and len(by_k) == 40


def test_noise_states_score_about_the_majority_rate():
    states = np.random.default_rng(1).normal(size=(len(TEXT), 6))
    result = probe(states, DEPTH, CHARS, "depth")
    half = len(DEPTH) // 2
    classes, counts = np.unique(DEPTH[:half], return_counts=True)
    assert result.majority_accuracy == pytest.approx(np.mean(DEPTH[half:] == classes[np.argmax(counts)]))
    assert abs(result.accuracy - result.majority_accuracy) < 0.05


def test_the_input_baseline_is_what_the_current_character_alone_gives():
    result = probe(np.random.default_rng(2).normal(size=(len(TEXT), 4)), DEPTH, CHARS, "depth")
    assert result.input_baseline_accuracy == pytest.approx(lookup_accuracy(CHARS, DEPTH), abs=0.01)
    assert 0.33 < result.input_baseline_accuracy < 0.45        # ~0.39 on the default stream (docs/methods.md)


def test_the_control_task_gives_each_character_type_one_label_in_the_targets_proportions():
    control = control_labels(CHARS, DEPTH, seed=0)
    for c in np.unique(CHARS):
        assert len(np.unique(control[CHARS == c])) == 1
    assert set(np.unique(control)) <= set(np.unique(DEPTH))
    # states that know the current character solve the control task: selectivity is small by nature
    onehot = (CHARS[:, None] == np.unique(CHARS)[None]).astype(float)
    result = probe(onehot, DEPTH, CHARS, "depth")
    assert result.control_accuracy > 0.99
    assert result.selectivity == pytest.approx(result.accuracy - result.control_accuracy)


def test_missing_targets_are_left_out():
    target = DEPTH.copy()
    target[::3] = -1
    result = probe(np.random.default_rng(3).normal(size=(len(TEXT), 3)), target, CHARS, "depth")
    kept = (target != -1).sum()
    assert result.train_chars + result.test_chars == kept


def test_the_shipped_gru_holds_depth_in_a_few_cells_and_a_random_one_does_not(default_model):
    held = heldout_of(default_model)
    n = 20_000
    ann = grammar_annotations(held.text[:n], held.spec, held.annotations["depth"][:n])
    model = checkpoint.load(default_model)
    trained = probe(trace(model, held.text[:n]).hidden[0], ann["depth_level"].values, ann["char"].values, "depth",
                    ks=[1, 2, 3, 4, 5, 6])
    assert trained.accuracy >= 0.99
    assert trained.accuracy - trained.input_baseline_accuracy >= 0.5
    assert trained.cells_needed_99 <= 6
    torch.manual_seed(0)
    untrained = CharRNN(model.config).eval()
    random_probe = probe(trace(untrained, held.text[:n]).hidden[0], ann["depth_level"].values,
                         ann["char"].values, "depth", ks=[15])
    assert random_probe.accuracy < trained.accuracy - 0.05


def test_a_trained_probe_reads_new_states_as_its_equations_say():
    """The kept probe scores what ``probe`` scores, and its prediction is the argmax of the
    logistic regression's scores on standardised states, computed here by hand."""
    rng = np.random.default_rng(3)
    states = rng.normal(size=(len(DEPTH), 4))
    states[:, 1] += 0.8 * DEPTH                         # depth in cell 1, blurred: the probe errs sometimes
    kept = train_probe(states, DEPTH, "depth_level", ANN["depth_level"].categories)
    assert kept.accuracy == probe(states, DEPTH, CHARS, "depth_level").accuracy
    assert kept.test_chars == len(DEPTH) - len(DEPTH) // 2 and kept.classes == ("0", "1", "2", "3", "4")
    scaler, lr = kept.model[0], kept.model[-1]
    fresh = rng.normal(size=(500, 4)) + np.array([0, 1.6, 0, 0])
    scores = ((fresh - scaler.mean_) / scaler.scale_) @ lr.coef_.T + lr.intercept_
    np.testing.assert_array_equal(kept.predict(fresh), lr.classes_[scores.argmax(axis=1)])
    exact = states.copy()
    exact[:, 1] = DEPTH * 10                            # depth written plainly: every prediction right
    assert (train_probe(exact, DEPTH).predict(exact[:300]) == DEPTH[:300]).all()
    one = train_probe(states[:100], np.zeros(100, int))   # one class seen: it answers that class
    assert one.accuracy == 1.0 and (one.predict(fresh) == 0).all()
