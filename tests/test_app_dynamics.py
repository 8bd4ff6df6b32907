"""The Dynamics tab, set by parameters in plain Python, against references known independently: a
hand-built linear RNN h' = A h + B x + b read as a text model, whose one fixed point per character is
(I - A)^-1 (B x + b) with A's eigenvalues; the PCA recomputed here with NumPy's SVD; the grammar's depth
for the colours of the shipped GRU's held-out states."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from bokeh.palettes import Viridis256

from rnnscope.app.drawing.projection_plot import MAX_CLOUD
from rnnscope.app.pages import network_cache
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.dynamics_tab import DynamicsTab
from rnnscope.models.network import checkpoint
from rnnscope.models.network.model import CharRNN, ModelConfig

torch.set_num_threads(1)


def linear_text_model(tmp_path) -> tuple:
    """A linear RNN over "abc" (spectral radius 0.8), its held-out text a file of those characters."""
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=list("abc"), cell="rnn", nonlinearity="linear", hidden_size=4,
                                embedding_dim=None)).eval()
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    A = q @ np.diag([0.8, -0.5, 0.3, 0.1]) @ q.T
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(torch.as_tensor(A, dtype=torch.float32))
    text = tmp_path / "abc.txt"
    text.write_text("".join(rng.choice(list("abc"), size=6_000)), encoding="utf-8")
    path = checkpoint.save(model, tmp_path / "linear", {"data": {"kind": "text", "path": str(text)}})
    return path, checkpoint.load(path)


def test_a_linear_rnns_fixed_points_are_drawn_where_i_minus_a_inverse_puts_them_with_as_eigenvalues(tmp_path):
    path, model = linear_text_model(tmp_path)
    tab = DynamicsTab(state=AppState(path, source="held-out", window=50))
    tab.open()
    w = model.layer_arrays(0)
    A = w["weight_hh"].astype(np.float64)
    expected = {c: np.linalg.solve(np.eye(4) - A, w["weight_ih"] @ np.eye(3)[i] + w["bias_ih"] + w["bias_hh"])
                for i, c in enumerate("abc")}
    points = tab.plot.points.data
    assert sorted(points["char"]) == ["'a'", "'b'", "'c'"] and set(points["kind"]) == {"fixed"}     # one each
    for k, char in enumerate(points["char"]):
        xy = tab.projection(expected[char[1]][None])[0]
        np.testing.assert_allclose([points["x"][k], points["y"][k]], xy, atol=1e-5)
        assert points["stability"][k] == "stable" and points["fill"][k] != "white"
        assert points["eig"][k] == pytest.approx(0.8, abs=1e-5)
        assert points["eigenvalues"][k] == "0.80000, -0.50000, 0.30000, 0.10000"
        assert points["tau"][k] == pytest.approx(-1 / np.log(0.8), rel=1e-4)
    # the projection: the PCA of the held-out states, by NumPy's SVD
    states = np.stack([row for row in _states(model, tab)])
    centred = states - states.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    proj = tab.projection.components
    assert np.allclose(np.abs(np.sum(proj * axes, axis=1)), 1, atol=1e-6)          # the same axes, up to sign
    # a text model: coloured by a text annotation, not depth; the table has a row per character searched
    assert tab.colour_by not in ("(none)", "depth", "char")
    assert len(tab.table.value) == min(3, network_cache.TEXT_INPUTS)
    assert "the 4 most frequent held-out characters" in tab.note.object


def _states(model, tab):
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.reading.tracer import trace
    held = heldout_of(tab.state.model_path).text[:network_cache.DYNAMICS_CHARS]
    return trace(model, held).hidden[0].astype(np.float64)


@pytest.mark.slow
def test_the_shipped_grus_states_are_coloured_by_depth_with_the_trajectory_and_the_clicked_step(default_model):
    state = AppState(default_model, index=1_000, window=80)
    page = Page(state)
    page.__panel__()
    page.tools.active = TOOLS.index("Dynamics")
    tab = page.dynamics
    assert tab.colour_by == "depth"
    cloud = tab.plot.cloud.data
    assert len(cloud["x"]) == MAX_CLOUD
    depth = tab.annotations["depth"].values[cloud["index"]]
    deepest = depth.max()
    assert all(c == Viridis256[0] for c, d in zip(cloud["colour"], depth) if d == 0)
    assert all(c == Viridis256[-1] for c, d in zip(cloud["colour"], depth) if d == deepest)
    tab.colour_by = "kind"
    assert len(set(tab.plot.cloud.data["colour"])) == len(tab.annotations["kind"].categories)
    # the trajectory: the window's states (read in context) on the same axes as the cloud
    traj = tab.plot.trajectory.data
    np.testing.assert_allclose(np.c_[traj["x"], traj["y"]], tab.projection(state.trace.hidden[0]), atol=1e-9)
    page._on_cell_clicked(2, 33)
    assert tab.plot.lit.data["x"] == [traj["x"][33]]
    # every point the search found is drawn, its eigenvalues in the hover
    found = [p for i in tab.numbers["inputs"] for p in i["points"]]
    assert len(tab.plot.points.data["x"]) == len(found) > 0
    assert all(tab.plot.points.data["eigenvalues"])
    state.index = 2_000                                   # another window: a new trajectory, nothing ringed
    assert tab.plot.lit.data["x"] == [] and len(tab.plot.trajectory.data["x"]) == 80


@pytest.mark.slow
def test_switching_models_refits_the_projection_or_says_why_there_is_none(tmp_path, gru2_model):
    path, _ = linear_text_model(tmp_path)
    state = AppState(path, source="held-out", window=50)
    tab = DynamicsTab(state=state)
    tab.open()
    assert tab.projection.mean.shape == (4,) and len(tab.plot.points.data["x"]) == 3
    (tmp_path / "other").mkdir()
    other, _ = linear_text_model(tmp_path / "other")
    state.param.model_path.objects = {"linear": str(path), "other": str(other), "gru": str(gru2_model)}
    state.model_path = str(gru2_model)              # a grammar model of 2 layers of 6 cells: depth, refitted
    assert tab.colour_by == "depth" and tab.projection.mean.shape == (6,) and tab.drawn_for == (str(gru2_model), 0)
    assert len(tab.plot.trajectory.data["x"]) == len(state.trace)
    state.layer = 1
    assert tab.drawn_for == (str(gru2_model), 1)
    np.testing.assert_allclose(np.c_[tab.plot.trajectory.data["x"], tab.plot.trajectory.data["y"]],
                               tab.projection(state.trace.hidden[1]), atol=1e-9)
    state.model_path = str(other)
    assert tab.drawn_for == (str(other), 0) and tab.colour_by not in ("depth", "(none)")
    assert len(tab.plot.points.data["x"]) == 3
