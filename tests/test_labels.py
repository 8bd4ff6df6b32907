"""Cell labels (docs/methods.md, Labels): every number is checked against an
independent computation on a case worked out here -- cells whose meaning is known by
construction get that meaning as their label, with the MI a hand formula gives -- and the
shipped GRU's depth-4 cell (seed 001's "positive throughout, negative just before a 4") is
found whatever its index."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hand_built import depth_counter

from rnnscope import grammar
from rnnscope.analysis.describe.annotations import grammar_annotations
from rnnscope.analysis.describe.labels import signed, category_means, label_cells
from rnnscope.models.network import checkpoint
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.reading.tracer import trace


torch.set_num_threads(1)

TEXT = grammar.generate(20_000, seed=3)
ANN = grammar_annotations(TEXT)
DEPTH = grammar.annotate(TEXT)["depth"]


def h2(p: float) -> float:
    """Entropy of a coin with P(heads) = p, in bits: the MI of a cell that is a function of that coin."""
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def label_of(values: np.ndarray, value_range=(-1.0, 1.0)):
    (label,) = label_cells(values[:, None], ANN, value_range)
    return label


# --- annotations, against brute force ------------------------------------------------------------

def test_next_token_is_the_first_non_separator_after_each_character():
    text = TEXT[:600]
    nt = grammar_annotations(text)["next_token"]
    for t in range(len(text)):
        later = [c for c in text[t + 1:] if c != " "]
        got = nt.categories[nt.values[t]] if nt.values[t] >= 0 else None
        assert got == (later[0] if later else None), t


def test_distance_to_close_is_the_way_to_the_matching_bracket():
    text = TEXT[:800]
    dist = grammar_annotations(text)["distance_to_close"].values
    depth = grammar.annotate(text)["depth"]
    for t in range(len(text)):
        ahead = [s for s in range(t + 1, len(text)) if depth[s] < depth[t]]
        want = ahead[0] - t if depth[t] > 0 and ahead else None
        assert (np.isnan(dist[t]) if want is None else dist[t] == want), (t, dist[t], want)


def test_depth_of_a_continued_stream_is_the_streams():
    depth = DEPTH[5_000:5_400]
    ann = grammar_annotations(TEXT[5_000:5_400], depth=depth)
    np.testing.assert_array_equal(ann["depth"].values, depth)
    assert ann["depth_level"].categories == tuple(str(d) for d in range(depth.min(), depth.max() + 1))


# --- labels of cells built to mean something -------------------------------------------------------

def test_a_cell_negative_just_before_a_4_gets_that_rule_and_its_mi():
    before_4 = np.array([c == "4" for c in TEXT[1:]] + [False])
    label = label_of(np.where(before_4, -1.0, 0.8))
    p = before_4[:-1].mean()           # the last character has no next one: left out
    assert label.label == f"\u22121.0 just before a `4`, +0.8 elsewhere (MI {h2(p):.2f} bits)"
    # Miller–Madow: + ((2 - 1) + (2 - 1) - (2 - 1)) / (2N ln 2) bits over the N steps that have a next one
    assert label.best.score == pytest.approx(h2(p) + 1 / (2 * (len(TEXT) - 1) * math.log(2)), abs=1e-9)
    assert label.best.explained == pytest.approx(1.0)


def test_a_saturated_depth_cell_gets_a_threshold_rule():
    label = label_of(np.where(DEPTH >= 3, -1.0, 1.0))
    assert label.label == f"\u22121.0 when depth \u2265 3, +1.0 below (MI {h2((DEPTH >= 3).mean()):.2f} bits)"
    assert (label.best.annotation, label.best.value, label.best.stat) == ("depth", ">= 3", "MI")


def test_a_cell_that_equals_depth_tracks_depth():
    label = label_of(DEPTH / 4.0)
    assert label.label == "tracks depth (r = +1.00)"
    assert (label.best.stat, label.best.score) == ("r", pytest.approx(1.0))


def test_a_cell_that_fires_on_open_brackets():
    label = label_of(np.where(np.array(list(TEXT)) == "(", 1.0, -1.0))
    assert label.label.startswith("+1.0 on an opening bracket, \u22121.0 elsewhere") or \
        label.label.startswith("+1.0 on `(`, \u22121.0 elsewhere"), label.label


def test_sigmoid_views_are_binned_over_0_to_1():
    label = label_of(np.where(np.array(list(TEXT)) == " ", 0.0, 1.0), value_range=(0.0, 1.0))
    assert label.label.startswith("0.0 on a separator, +1.0 elsewhere")


def test_constant_and_noise_cells_say_so():
    rng = np.random.default_rng(0)
    assert label_of(np.full(len(TEXT), 0.97)).label == "constant +1.0 (std 0.000): carries nothing"
    noise = label_of(rng.uniform(-1, 1, len(TEXT)))
    assert noise.label.startswith("weak: ") and noise.best.explained < 0.01


def test_cells_are_ranked_by_what_their_label_explains():
    rng = np.random.default_rng(1)
    values = np.stack([rng.uniform(-1, 1, len(TEXT)), np.where(DEPTH >= 2, -1.0, 1.0)], axis=1)
    labels = label_cells(values, ANN)
    assert [lab.cell for lab in labels] == [1, 0]


def test_category_means_are_the_plain_means():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(len(TEXT), 3))
    kind = ANN["kind"]
    means = category_means(values, kind)
    for k in range(len(kind.categories)):
        np.testing.assert_allclose(means[:, k], values[kind.values == k].mean(axis=0))


def test_no_signed_zero_in_labels():
    assert signed(-0.001) == "0.0" and signed(-0.04) == "0.0" and signed(-0.05, 2) == "\u22120.05"
    assert signed(0.8) == "+0.8" and signed(-1.0) == "\u22121.0"


# --- the shipped model ---------------------------------------------------------------------------

def test_the_shipped_gru_has_the_seeds_depth_4_cell_and_separator_cells(default_model):
    held = heldout_of(default_model)
    n = 100_000                                       # read in context: from the stream's start
    states = trace(checkpoint.load(default_model), held.text[:n]).hidden[0]
    ann = grammar_annotations(held.text[:n], held.spec, held.annotations["depth"][:n])
    labels = label_cells(states, ann)
    depth4 = [lab for lab in labels if lab.best and (lab.best.annotation, lab.best.value) == ("depth", ">= 4")]
    assert len(depth4) == 1, [lab.label for lab in labels]
    cell = depth4[0]
    assert cell.best.inside < -0.9 and cell.best.outside > 0.9 and cell.best.explained > 0.95
    # ... which is seed 001's cell: positive throughout, negative just before a 4
    nt = ann["next_token"]
    before_4 = states[nt.values == nt.categories.index("4"), cell.cell]
    assert before_4.mean() < -0.9 and np.median(states[:, cell.cell]) > 0.9
    separators = [lab for lab in labels if lab.best and (lab.best.annotation, lab.best.value) == ("kind", "separator")]
    assert len(separators) >= 2 and all(lab.best.explained > 0.95 for lab in separators)


def test_mutual_information_is_scikit_learns():
    from sklearn.metrics import mutual_info_score

    from rnnscope.analysis.describe.labels import mi_bits
    rng = np.random.default_rng(5)
    tables = rng.integers(0, 50, size=(6, 10, 4))
    tables[2, :, 1] = 0                      # an empty column
    got = mi_bits(tables)
    for k, table in enumerate(tables):
        assert got[k] == pytest.approx(mutual_info_score(None, None, contingency=table) / math.log(2), abs=1e-12)
    assert mi_bits(np.zeros((10, 3)))[()] == 0.0


def hand_built_relu_rnn():
    """Cell 0 = depth exactly, cell 1 = 1 on `(` and 0 elsewhere (hand_built.depth_counter)."""
    return depth_counter(grammar.GrammarSpec().alphabet, "(")


def test_a_hand_built_model_is_labelled_by_what_its_cells_were_built_to_do():
    from rnnscope.models.reading.trace import value_range
    tr = trace(hand_built_relu_rnn(), TEXT)
    np.testing.assert_allclose(tr.hidden[0][:, 0], DEPTH, atol=1e-6)           # the construction holds
    h = tr.hidden[0]
    assert value_range("h", h) == (-4.0, 4.0)          # a ReLU h is not squeezed into -1..1
    labels = {lab.cell: lab for lab in label_cells(h, ANN, value_range("h", h))}
    assert labels[0].label == "tracks depth (r = +1.00)"
    assert labels[1].best.value in ("(", "open") and labels[1].best.explained == pytest.approx(1.0)
    assert labels[1].label.startswith(("+1.0 on `(`, 0.0 elsewhere", "+1.0 on an opening bracket, 0.0 elsewhere"))
