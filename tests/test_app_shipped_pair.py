"""The shipped second GRU-15 (models/checkpoints/gru15-parens-seed1, models/train_seed1.sh) in the page's
Compare and Timeline tabs: the Compare tab pairs the shipped GRU-15 with it by itself, and its pairs are those of
analysis.compare.match_cells on hidden states from the plain NumPy equations; the Timeline replays its run's 20
periodic checkpoints, labels checked against analysis.labels on NumPy states, and cells are seen forming.
Measured on this run: at step 100 one cell's best label explains >= 0.95 of its variation, at step 2,000 eight do;
six pairs of the two trained models' cells have |r| >= 0.999 (Pearson r on 20,000 held-out characters),
where untrained GRU-15s' best pair reaches at most 0.86."""
from __future__ import annotations

import shutil

import numpy as np
import torch

from rnnscope.analysis.describe.compare import match_cells
from rnnscope.analysis.describe.labels import label_cells
from rnnscope.analysis.decode.probing import annotations_of
from rnnscope.app.pages import cache
from rnnscope.app.pages.checkpoints import sibling_of
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.compare_tab import NONE, CompareTab
from rnnscope.app.tabs.timeline_tab import TimelineTab
from rnnscope.base.paths import CHECKPOINTS_DIR
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network import checkpoint, reference
from rnnscope.models.network.model import CharRNN
from rnnscope.models.training.run import periodic_checkpoints, run_dir_of

torch.set_num_threads(1)
SEED1 = CHECKPOINTS_DIR / "gru15-parens-seed1"


def numpy_h(model: CharRNN, text: str) -> np.ndarray:
    """[T, H] layer 0's h over ``text`` from the zero state: the plain NumPy equations."""
    W = {k.removeprefix("rnn."): v.double().numpy() for k, v in model.state_dict().items() if k.startswith("rnn.")}
    return reference.run(model.config.cell, W, model.input_vectors(text), model.config.num_layers)[0]["h"]


# --- the pair ------------------------------------------------------------------------------------------

def test_a_sibling_is_the_same_network_with_other_weights(default_model, lstm_model, tmp_path):
    copy = shutil.copytree(default_model, tmp_path / "copy")        # the same weights: not a second training
    offered = [str(default_model), str(copy), str(lstm_model), str(SEED1)]
    assert sibling_of(default_model, offered) == str(SEED1)
    assert sibling_of(SEED1, offered) == str(default_model)
    assert sibling_of(lstm_model, offered) is None                   # no other LSTM-6
    assert sibling_of(tmp_path / "missing", offered) is None


def test_compare_pairs_the_shipped_gru15_with_its_second_seed_and_shows_match_cells_on_numpy_states(
        default_model):
    state = AppState(default_model, index=300, window=50)
    tab = CompareTab(state=state)
    assert tab.other == str(SEED1.resolve())                        # picked before anything is computed
    tab.open()
    held = heldout_of(default_model).text[:cache.COMPARE_CHARS]
    a, b = numpy_h(checkpoint.load(default_model), held), numpy_h(checkpoint.load(SEED1), held)
    expected = match_cells(a, b)
    got = tab.comparison
    assert [(p.a, p.b) for p in got.pairs] == [(p.a, p.b) for p in expected.pairs]
    np.testing.assert_allclose([p.r for p in got.pairs], [p.r for p in expected.pairs], atol=1e-4)
    assert tab.table.value["A cell"].tolist() == [p.a for p in expected.pairs]
    np.testing.assert_allclose(tab.table.value["r"], [round(p.r, 3) for p in expected.pairs], atol=1.1e-3)
    assert f"**{expected.mean_abs_r:.3f}**" in tab.note.object and "another training" in tab.note.object

    # A sensible pair: the two trainings share cells. Measured: six pairs |r| >= 0.999, mean |r| 0.793; the
    # null, untrained GRU-15s of the same shape on the same text: best |r| 0.56 .. 0.86 (seeds 0 to
    # 5), mean |r| 0.35 .. 0.43.
    config = checkpoint.load(SEED1).config
    nulls = []
    for seed in range(3):
        torch.manual_seed(seed)
        nulls.append(match_cells(a, numpy_h(CharRNN(config), held)))
    close = [p for p in expected.pairs if abs(p.r) >= 0.99]
    assert len(close) >= 4, expected.pairs
    assert all(abs(p.r) < 0.95 for n in nulls for p in n.pairs), [n.pairs[0] for n in nulls]
    assert expected.mean_abs_r > max(n.mean_abs_r for n in nulls) + 0.2


def test_b_follows_the_page_model_until_chosen_by_hand(default_model, lstm_model):
    state = AppState(default_model, index=0, window=40)
    state.param.model_path.objects = {**state.param.model_path.objects, "lstm6": str(lstm_model)}
    tab = CompareTab(state=state)
    tab.open()
    state.model_path = str(SEED1.resolve())                          # its sibling: the first other GRU-15 listed
    assert tab.other == sibling_of(SEED1, state.param.model_path.objects.values()) != str(SEED1.resolve())
    assert tab.comparison is not None and tab.table.visible
    tab.other = NONE                                                 # nothing chosen: nothing compared shown
    assert tab.comparison is None and not tab.table.visible and not tab.plots.visible
    tab.other = str(lstm_model)                                      # by hand: it stays when the model changes
    state.model_path = str(default_model)
    assert tab.other == str(lstm_model) and tab.comparison is not None


# --- the run -------------------------------------------------------------------------------------------

def test_the_shipped_run_holds_what_the_timeline_reads_and_no_resume_state():
    run = run_dir_of(SEED1)
    steps = periodic_checkpoints(run)
    assert [int(p.name.split("-")[1]) for p in steps] == list(range(100, 2001, 100))
    for p in steps:
        assert sorted(f.name for f in p.iterdir()) == ["config.json", "model.safetensors"]
    assert not (run / "resume").exists()
    last = checkpoint.load(steps[-1])
    for name, weights in checkpoint.load(SEED1).state_dict().items():   # the best model is the last step's
        assert torch.equal(weights, last.state_dict()[name]), name


def test_the_timeline_replays_the_shipped_run_and_its_cells_form():
    state = AppState(str(SEED1), index=1000, window=80)
    tab = TimelineTab(state=state)
    tab.open()
    steps = list(range(100, 2001, 100))
    assert sorted(tab.checkpoints) == steps and tab.step == 2000
    assert tab.scores.data["xs"][0] == steps
    held = heldout_of(SEED1)
    annotations = annotations_of(held, cache.TIMELINE_CHARS)
    shares = {}
    for step in (100, 2000):                 # the first and last steps' labels, from NumPy states
        h = numpy_h(checkpoint.load(tab.checkpoints[step]), held.text[:cache.TIMELINE_CHARS])
        expected = label_cells(h, annotations, (-1.0, 1.0))
        assert [(lab.cell, lab.label) for lab in tab.labels[step]] == [(lab.cell, lab.label) for lab in expected]
        shares[step] = np.zeros(15)
        for lab in expected:
            shares[step][lab.cell] = lab.best.explained if lab.best else 0.0
        np.testing.assert_allclose([ys[steps.index(step)] for ys in tab.scores.data["ys"]], shares[step], atol=1e-4)
    # the label lines rise: the best cell at the end explained less at the start, and more cells are explained
    best = int(np.argmax(shares[2000]))
    assert shares[2000][best] > 0.99 and shares[100][best] < shares[2000][best] - 0.05
    formed = {step: int((s >= 0.95).sum()) for step, s in shares.items()}
    assert formed[100] <= 2 and formed[2000] >= 6, formed
