"""Fixed points, their linearisation and the projection (analysis/dynamics/, models/reading/update.py) against
references known by construction: a linear map and a hand-built linear RNN, whose fixed point is
(I - A)^-1 b and whose Jacobian is A; a tanh RNN that rests at 0 with Jacobian W_hh; the NumPy reference
equations (models/network/reference.py, sharing no code with the update) and their finite differences;
the network itself, read from a fixed point by the tracer."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnscope as rs
from rnnscope.analysis.dynamics.fixed_points import Options, find_fixed_points
from rnnscope.analysis.dynamics.linearise import linearise
from rnnscope.analysis.dynamics.projection import fit_projection, nearest
from rnnscope.base.errors import RnnscopeError
from rnnscope.cli import main
from rnnscope.models.network import reference
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.tracer import trace
from rnnscope.models.reading.update import Update

DOC = Path(__file__).resolve().parent.parent / "docs" / "dynamics-json.md"


@pytest.fixture(scope="module")
def gru():
    return rs.load("gru15-parens")


class LinearMap:
    """F(s, x) = A s + b[x]: what the solver is given, with no network behind it."""

    def __init__(self, A: np.ndarray, b: dict[str, np.ndarray]):
        self.A, self.b = A, b

    def step(self, states, char):
        return states @ self.A.T + self.b[char]

    def jacobian(self, states, char):
        return self.step(states, char), np.broadcast_to(self.A, (len(states), *self.A.shape)).copy()


def random_matrix(rng, n: int, radius: float) -> np.ndarray:
    """An n x n matrix with spectral radius ``radius`` (complex eigenvalues included)."""
    A = rng.normal(size=(n, n))
    return A * radius / np.abs(np.linalg.eigvals(A)).max()


def same_eigenvalues(found: np.ndarray, expected: np.ndarray, atol: float = 1e-9) -> bool:
    return np.allclose(np.sort_complex(np.round(found, 12)), np.sort_complex(np.round(expected, 12)), atol=atol)


@pytest.mark.parametrize("radius, stability", [(0.9, "stable"), (1.5, "unstable")])
def test_a_linear_maps_fixed_point_is_the_inverse_of_i_minus_a_and_its_eigenvalues_are_as(radius, stability):
    rng = np.random.default_rng(1)
    A, b = random_matrix(rng, 5, radius), {"x": rng.normal(size=5), "y": rng.normal(size=5)}
    results = find_fixed_points(LinearMap(A, b), ["x", "y"], rng.normal(size=(20, 5)) * 3)
    for r in results:
        assert len(r.points) == 1 and r.points[0].kind == "fixed" and r.points[0].starts == 20     # one, from all
        p = r.points[0]
        np.testing.assert_allclose(p.state, np.linalg.solve(np.eye(5) - A, b[r.char]), atol=1e-10)
        assert same_eigenvalues(p.linear.eigenvalues, np.linalg.eigvals(A))
        assert p.linear.stability == stability
        assert p.linear.unstable_modes == int((np.abs(np.linalg.eigvals(A)) > 1).sum())


def test_time_constants_are_minus_one_over_log_modulus():
    lin = linearise(np.diag([0.5, -0.9, 1.0, 2.0]))
    assert [round(abs(v), 6) for v in lin.eigenvalues] == [2.0, 1.0, 0.9, 0.5]
    taus = lin.time_constants
    assert taus[0] == pytest.approx(-1 / np.log(2.0)) and taus[1] is None
    assert taus[2] == pytest.approx(-1 / np.log(0.9)) and taus[3] == pytest.approx(-1 / np.log(0.5))
    assert lin.slowest_time_constant == pytest.approx(-1 / np.log(0.9)) and lin.stability == "unstable"
    assert linearise(np.diag([0.3, 1.0])).stability == "marginal"


def test_a_map_without_a_fixed_point_rests_at_the_slow_point_where_q_is_least():
    class Parabola:             # F(s) = s + eps + s^2: never fixed; q = (eps + s^2)^2 / 2 is least at s = 0
        def __init__(self, eps):
            self.eps = eps

        def step(self, s, char):
            return s + self.eps + s ** 2

        def jacobian(self, s, char):
            return self.step(s, char), (1 + 2 * s)[:, :, None]

    starts = np.linspace(-0.5, 0.5, 7)[:, None]
    (slow,) = find_fixed_points(Parabola(1e-3), ["x"], starts)
    assert slow.fixed == [] and len(slow.slow) == 1 and abs(slow.slow[0].state[0]) < 1e-3
    assert slow.slow[0].q == pytest.approx(0.5e-6, rel=1e-3)
    (neither,) = find_fixed_points(Parabola(1e-2), ["x"], starts)      # q = 5e-5 at best: above the slow-point q
    assert neither.points == [] and neither.neither == 7


def linear_rnn(layers: int, seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    model = CharRNN(ModelConfig(vocab=list("abc"), cell="rnn", nonlinearity="linear", hidden_size=4,
                                num_layers=layers, embedding_dim=None)).double().eval()
    with torch.no_grad():
        rng = np.random.default_rng(seed)
        for k in range(layers):
            getattr(model.rnn, f"weight_hh_l{k}").copy_(torch.as_tensor(random_matrix(rng, 4, 0.8)))
    return model


def test_a_hand_built_linear_rnn_rests_at_its_fixed_point_with_the_eigenvalues_of_its_recurrence():
    model = linear_rnn(1)
    w = model.layer_arrays(0)
    A = w["weight_hh"]
    update = Update(model)
    starts = np.random.default_rng(2).normal(size=(16, 4)) * 2
    for r in find_fixed_points(update, list("abc"), starts, bounds=update.bounds()):
        x = np.eye(3)[list("abc").index(r.char)]
        expected = np.linalg.solve(np.eye(4) - A, w["weight_ih"] @ x + w["bias_ih"] + w["bias_hh"])
        assert len(r.fixed) == 1 and r.fixed[0].starts == 16
        np.testing.assert_allclose(r.fixed[0].state, expected, atol=1e-10)
        assert same_eigenvalues(r.fixed[0].linear.eigenvalues, np.linalg.eigvals(A))


def test_a_two_layer_linear_rnns_fixed_point_is_each_layers_in_turn():
    """The whole stack's state [h_0, h_1]: layer 1 rests where layer 0's fixed point drives it, and the
    Jacobian is block triangular, so its eigenvalues are both recurrences'."""
    model = linear_rnn(2, seed=3)
    w0, w1 = model.layer_arrays(0), model.layer_arrays(1)
    (r,) = find_fixed_points(Update(model), ["b"], np.random.default_rng(4).normal(size=(8, 8)))
    h0 = np.linalg.solve(np.eye(4) - w0["weight_hh"], w0["weight_ih"][:, 1] + w0["bias_ih"] + w0["bias_hh"])
    h1 = np.linalg.solve(np.eye(4) - w1["weight_hh"], w1["weight_ih"] @ h0 + w1["bias_ih"] + w1["bias_hh"])
    np.testing.assert_allclose(r.fixed[0].state, np.concatenate([h0, h1]), atol=1e-10)
    assert same_eigenvalues(r.fixed[0].linear.eigenvalues, np.concatenate(
        [np.linalg.eigvals(w0["weight_hh"]), np.linalg.eigvals(w1["weight_hh"])]))


def test_a_tanh_rnn_with_no_input_rests_at_zero_with_the_jacobian_w_hh():
    """No bias, and `a`'s input column zero: 0 is a fixed point, tanh'(0) = 1 makes the Jacobian W_hh, and with
    ||W_hh|| < 1 the map contracts, so 0 is the only one and every start reaches it."""
    model = CharRNN(ModelConfig(vocab=list("ab"), cell="rnn", hidden_size=5, embedding_dim=None, bias=False)).eval()
    rng = np.random.default_rng(5)
    W = rng.normal(size=(5, 5))
    W *= 0.9 / np.linalg.norm(W, 2)
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(torch.as_tensor(W))
        model.rnn.weight_ih_l0[:, 0] = 0.0
    update = Update(model)
    starts = rng.uniform(-1, 1, size=(12, 5))
    (r,) = find_fixed_points(update, ["a"], starts, bounds=update.bounds())
    assert len(r.points) == 1 and r.points[0].kind == "fixed" and r.points[0].starts == 12
    np.testing.assert_allclose(r.points[0].state, 0, atol=1e-10)
    assert same_eigenvalues(r.points[0].linear.eigenvalues, np.linalg.eigvals(W.astype(np.float32)), atol=1e-6)


def reference_step(model: CharRNN, char: str):
    """One layer's step from the NumPy reference equations, on flat states [..., D]."""
    w = model.layer_arrays(0)
    args = (w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
    x, H = model.input_vectors(char)[0], model.config.hidden_size
    if model.config.cell == "gru":
        return lambda s: reference.gru_step(x, s, *args)[0]

    def lstm(s):
        h, c, _ = reference.lstm_step(x, s[..., :H], s[..., H:], *args)
        return np.concatenate([h, c], axis=-1)
    return lstm


@pytest.mark.parametrize("name", ["gru15-parens", "lstm24-brackets"])
def test_the_update_is_the_reference_equations_and_its_jacobian_their_finite_differences(name):
    model = rs.load(name).module
    update, char = Update(model), model.config.vocab[1]
    states = np.random.default_rng(6).uniform(-1, 1, size=(4, update.size))
    f = reference_step(model, char)
    values, jac = update.jacobian(states, char)
    np.testing.assert_allclose(update.step(states, char), f(states), atol=1e-12)
    np.testing.assert_allclose(values, f(states), atol=1e-12)
    eps, eye = 1e-6, np.eye(update.size)
    numeric = np.stack([(f(states + eps * eye[j]) - f(states - eps * eye[j])) / (2 * eps)
                        for j in range(update.size)], axis=-1)
    np.testing.assert_allclose(jac, numeric, atol=1e-8)


def test_a_two_layer_lstms_update_is_the_network_read_from_that_state():
    """The flat layout [h_0, c_0, h_1, c_1] against the tracer reading one character from the same state."""
    torch.manual_seed(7)
    model = CharRNN(ModelConfig(vocab=list("xyz"), cell="lstm", hidden_size=3, num_layers=2, embedding_dim=2)).eval()
    update = Update(model)
    s = np.random.default_rng(8).uniform(-1, 1, size=update.size)
    tr = trace(model, "y", state=update.layer_states(s))
    np.testing.assert_allclose(update.step(s[None], "y")[0], update.flat_states(tr)[0], atol=1e-6)


def test_the_shipped_grus_exact_fixed_point_stays_put_while_the_network_reads_its_character(gru):
    report = gru.fixed_points(inputs="3", starts=32, random_starts=0)
    (entry,) = report.numbers["inputs"]
    exact = [p for p in entry["points"] if p["kind"] == "fixed" and p["q"] <= report.numbers["method"]["exact_q"]]
    assert entry["exact"] == len(exact) == 1 and exact[0]["stability"] == "stable"
    update = Update(gru.module)
    tr = trace(gru.module, "3" * 200, state=update.layer_states(np.array(exact[0]["state"])))
    assert np.abs(update.flat_states(tr) - np.array(exact[0]["state"])).max() < 1e-5   # float32's own steps
    eig = exact[0]["eigenvalues"]
    assert exact[0]["largest_abs_eigenvalue"] == eig[0]["abs"] < 1
    assert exact[0]["slowest_time_constant"] == pytest.approx(-1 / np.log(eig[0]["abs"]), rel=1e-6)


@pytest.mark.slow
def test_the_shipped_lstms_fixed_points_are_fixed_points_of_the_reference_equations():
    """h and c together, c unbounded: each exact point the search finds for `' '` is a fixed point of the NumPy
    reference LSTM too, and its eigenvalues are those of the reference's finite-difference Jacobian."""
    lstm = rs.load("lstm24-brackets")
    model, update = lstm.module, Update(lstm.module)
    heldout = update.flat_states(trace(model, lstm.heldout.text[:2_000]))
    starts = heldout[np.random.default_rng(10).choice(len(heldout), 16, replace=False)]
    (r,) = find_fixed_points(update, [" "], starts, Options(max_iter=100), update.bounds())
    exact = [p for p in r.fixed if p.q <= 1e-24]
    assert exact, "the search found no exact fixed point of ' '"
    f = reference_step(model, " ")
    eps, eye = 1e-6, np.eye(update.size)
    for p in exact:
        assert np.abs(f(p.state) - p.state).max() < 1e-10
        jac = np.stack([(f(p.state + eps * eye[j]) - f(p.state - eps * eye[j])) / (2 * eps)
                        for j in range(update.size)], axis=-1)
        assert same_eigenvalues(p.linear.eigenvalues, np.linalg.eigvals(jac), atol=1e-5)


def test_the_projection_is_the_pca_of_the_held_out_states(gru):
    X = np.random.default_rng(9).normal(size=(500, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1])
    proj = fit_projection(X, 3)
    _, sv, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(proj.components), np.abs(vt[:3]), atol=1e-10)
    np.testing.assert_allclose(proj.explained, sv[:3] ** 2 / (sv ** 2).sum(), atol=1e-12)
    np.testing.assert_allclose(proj(X.mean(axis=0)), 0, atol=1e-12)
    rows, dist = nearest(X[[7, 42]] + 1e-3, X)
    assert rows.tolist() == [7, 42] and dist == pytest.approx([1e-3 * np.sqrt(6)] * 2)

    report = gru.fixed_points(inputs="4", starts=16, random_starts=0, chars=2_000)
    view = gru.projection(gru.trace("( 1 ( 2 ) 1 ) 0 "), dims=3, chars=2_000, fixed_points=report)
    states = Update(gru.module).flat_states(gru.heldout_trace(2_000)[0])
    np.testing.assert_allclose(view.heldout, view.projection(states), atol=1e-12)
    assert view.trajectory.shape == (16, 3) and view.colour_by == "depth" and len(view.colour) == 2_000
    assert view.fixed_points.shape == (len(report.numbers["inputs"][0]["points"]), 3)


def test_bad_settings_are_refused_in_one_line(gru):
    with pytest.raises(RnnscopeError, match=r"input characters \['x'\] are not in the model's vocabulary"):
        gru.fixed_points(inputs="2x")
    with pytest.raises(RnnscopeError, match="need 0 < q tolerance < slow-point q"):
        Options(q_tol=1e-3, slow_q=1e-6)
    with pytest.raises(RnnscopeError, match="a projection has 2 or 3 dimensions, got 4"):
        gru.projection(dims=4, chars=1_000)
    with pytest.raises(RnnscopeError, match="no annotation 'colour' to colour by"):
        gru.projection(colour_by="colour", chars=1_000)
    with pytest.raises(RnnscopeError, match="need at least one starting state"):
        gru.fixed_points(inputs="2", starts=0, random_starts=0, chars=1_000)


def documented_keys(section: str) -> set[str]:
    text = DOC.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return {k for line in text.splitlines() if line.startswith("| `")
            for k in re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])}


def test_the_command_writes_the_documented_json_and_the_report_and_refuses_bad_input(tmp_path, capsys):
    out_json, out_html = tmp_path / "fp.json", tmp_path / "fp.html"
    assert main(["dynamics", "--inputs", "34", "--starts", "16", "--random-starts", "2", "--chars", "2000",
                 "--threads", "1", "--window", "40", "-o", str(out_json), "-o", str(out_html)]) == 0
    numbers = json.loads(out_json.read_text())
    assert [i["char"] for i in numbers["inputs"]] == ["3", "4"]
    assert set(numbers) == documented_keys("Top level")
    assert set(numbers["method"]) == documented_keys("method")
    assert set(numbers["inputs"][0]) == documented_keys("inputs")
    point = numbers["inputs"][0]["points"][0]
    assert set(point) == documented_keys("points") and set(point["eigenvalues"][0]) == documented_keys("eigenvalues")
    assert "rnnscope dynamics: gru15-parens" in out_html.read_text()
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    assert main(["dynamics", "--inputs", "x", "-o", str(bad)]) == 2 and not bad.exists()
    assert "rnnscope dynamics: error: input characters ['x']" in capsys.readouterr().err
