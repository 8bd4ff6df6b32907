"""The cells behind the whole-network views: eta² of each cell between an automaton's states, checked on a
hand-built network that is the automaton by construction and against pandas' group statistics; the
projection's plane shares against a plain SVD; the slowest mode's shares against a matrix built from known
eigenvectors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnscope.analysis.automaton.cell_states import cell_states, states_after
from rnnscope.analysis.dynamics.cell_roles import plane_shares, ranked, slowest_mode
from rnnscope.analysis.dynamics.projection import fit_projection
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.tracer import trace
from tests.hand_built import dfa_network
from tests.test_automaton_lstar import SMALL
from tests.test_automaton_quantise import walk


def eta2_by_pandas(values: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Between-group over total sum of squares, from pandas' groupby: the textbook definition."""
    out = []
    for col in np.asarray(values, np.float64).T:
        df = pd.DataFrame({"v": col, "s": states})
        total = ((df.v - df.v.mean()) ** 2).sum()
        g = df.groupby("s").v.agg(["mean", "size"])
        out.append(0.0 if total == 0 else float((g["size"] * (g["mean"] - df.v.mean()) ** 2).sum() / total))
    return np.array(out)


def test_a_network_that_is_the_automaton_has_cells_that_are_its_states():
    text = walk(SMALL, 3_000)
    model = dfa_network(SMALL)
    values = trace(model, text).hidden[0]
    states = states_after(SMALL, text)
    cs = cell_states(values, states, SMALL.n_states)
    # unit j is on exactly when the automaton is in state q, entered by character a (tests/hand_built.py)
    live = [q for q in range(SMALL.n_states) if SMALL.accepting[q]]
    units = [(q, a) for q in live for a in range(len(SMALL.alphabet))]
    last = np.array([SMALL.alphabet.index(c) for c in text])
    for j, (q, a) in enumerate(units):
        for s in np.flatnonzero(cs.counts):
            expected = np.mean((states[states == s] == q) & (last[states == s] == a))
            assert cs.means[j, s] == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(cs.eta2, eta2_by_pandas(values, states), atol=1e-9)
    # a state entered by one character only: its unit is that state's indicator, all of its variance between states
    for j, (q, a) in enumerate(units):
        entered_by = {text[t] for t in np.flatnonzero(states == q)}
        if entered_by == {SMALL.alphabet[a]}:
            assert cs.eta2[j] == pytest.approx(1.0)
        elif not np.any((states == q) & (last == a)):
            assert cs.eta2[j] == 0 and cs.null_99[j] == 0         # never on: no variance to explain
    assert cs.counts.sum() == len(text) == cs.chars
    assert list(cs.ranking()) == sorted(range(len(units)), key=lambda j: (-cs.eta2[j], j))


def test_a_cell_unrelated_to_the_states_sits_at_its_null():
    rng = np.random.default_rng(1)
    states = rng.integers(0, 6, 5_000)
    values = np.stack([rng.normal(size=5_000), states + 0.1 * rng.normal(size=5_000)], axis=1)
    cs = cell_states(values, states, 6)
    chance = (6 - 1) / (5_000 - 1)                # the expected eta² of a cell independent of the states
    assert chance < cs.null_99[0] < 5 * chance
    assert cs.eta2[0] < 5 * chance and cs.eta2[1] > 0.98 > cs.null_99[1]


def test_cell_states_refuses_mismatched_input():
    with pytest.raises(RnnscopeError, match="one automaton state per character"):
        cell_states(np.zeros((10, 3)), np.zeros(9, int), 2)


def test_plane_shares_are_the_squared_loadings_of_a_plain_svd():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(400, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    shares = plane_shares(fit_projection(states, 2))
    _, _, vt = np.linalg.svd(states - states.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(shares, (vt[:2] ** 2).mean(axis=0), atol=1e-9)
    assert shares.sum() == pytest.approx(1.0) and list(ranked(shares)[:2]) == [0, 1]


def test_the_slowest_modes_shares_are_its_known_eigenvectors():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    jacobian = q @ np.diag([0.3, 0.99, -0.5, 0.1, 0.7]) @ q.T     # symmetric: eigenvectors are q's columns
    value, shares = slowest_mode(jacobian)
    assert value == pytest.approx(0.99)
    np.testing.assert_allclose(shares, q[:, 1] ** 2, atol=1e-9)
    rotation = np.array([[0.0, -0.9, 0], [0.9, 0.0, 0], [0, 0, 0.5]])     # a complex pair of modulus 0.9
    value, shares = slowest_mode(rotation)
    assert abs(value) == pytest.approx(0.9)
    np.testing.assert_allclose(shares, [0.5, 0.5, 0.0], atol=1e-9)
