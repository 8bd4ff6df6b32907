"""Cell ordering by correlation with depth: plain NumPy, property-tested."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope import grammar
from rnnscope.app.drawing.ordering import ORDERS, cell_order, depth_correlation


def test_a_cell_that_copies_depth_correlates_one_and_comes_first():
    rng = np.random.default_rng(0)
    depth = rng.integers(0, 5, 500)
    values = rng.normal(size=(500, 6))
    values[:, 4] = depth * 0.3 - 1
    values[:, 2] = -depth + rng.normal(scale=0.5, size=500)
    r = depth_correlation(values, depth)
    assert r[4] == np.float64(1.0) or abs(r[4] - 1) < 1e-12
    assert list(cell_order(values, depth, "depth")[0][:2]) == [4, 2]   # |r|: sign does not matter


def test_constant_cells_and_no_depth_are_safe():
    values = np.ones((50, 3))
    assert list(depth_correlation(values, np.arange(50))) == [0, 0, 0]
    assert cell_order(values, None, "depth")[0].tolist() == [0, 1, 2]


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 200), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_order_is_a_permutation_sorted_by_strength(T, H, seed):
    rng = np.random.default_rng(seed)
    values, depth = rng.normal(size=(T, H)), rng.integers(0, 5, T)
    order, _ = cell_order(values, depth, "depth")
    assert sorted(order) == list(range(H))
    r = np.abs(depth_correlation(values, depth))[order]
    assert np.all(np.diff(r) <= 1e-12)


def test_row_labels_never_show_a_signed_zero():
    from rnnscope.app.drawing.frame import Frame
    r = np.array([-0.001, 0.004, -0.5, -0.0])
    frame = Frame(text="ab", title="t", values=np.zeros((4, 2), np.float32), cells=np.arange(4), low=-1, high=1,
                  depth=np.array([0, 1]), p_next=np.zeros(2), correlation=r, order="depth")
    assert frame.row_labels == ["cell 0  r=+0.00", "cell 1  r=+0.00", "cell 2  r=-0.50", "cell 3  r=+0.00"]


def test_a_constant_depth_has_no_r_and_says_so():
    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.models.reading import tracer
    from rnnscope.models.network.model import CharRNN, ModelConfig
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=3, embedding_dim=2))
    frame = make_frame(tracer.trace(model, "0 0 0 0 0 0 "), order="depth")
    assert frame.row_labels == ["cell 0  r=n/a", "cell 1  r=n/a", "cell 2  r=n/a"]
    assert "depth is constant here: r is undefined, rows in index order" in frame.title


def test_cluster_order_puts_similar_cells_side_by_side():
    from rnnscope.analysis.describe.clustering import cluster_order, correlation_matrix
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    noise = lambda: 0.05 * rng.normal(size=500)    # noqa: E731
    # cells 0, 2, 4 follow a (4 mirrored); 1, 3 follow b; 5 is constant
    values = np.stack([a + noise(), b + noise(), a + noise(), b + noise(), -a + noise(), np.full(500, 0.3)], axis=1)
    order = list(cluster_order(values))
    assert sorted(order) == list(range(6))
    groups = [{0, 2, 4}, {1, 3}]
    for g in groups:
        where = sorted(order.index(c) for c in g)
        assert where == list(range(where[0], where[0] + len(g))), order      # contiguous
    r = correlation_matrix(values)
    assert r[5, 0] == 0 and r[5, 5] == 1 and r[0, 4] < -0.9


def test_the_page_offers_the_cluster_order():
    assert "cluster" in ORDERS
