"""The compiled counts cell labels are made of (analysis/describe/tally.py) equal plain NumPy's: the
labeller's former implementation (bin, one bincount per cell, per-category sums) is kept here as
the reference, on values with bin edges, out-of-range values and annotations with missing steps."""
from __future__ import annotations

import numpy as np
import pytest

from rnnscope.analysis.describe.annotations import Annotation, Annotations
from rnnscope.analysis.describe.labels import annotation_codes, pearson, threshold_groups
from rnnscope.analysis.describe.tally import BINS, tally


def reference_counts(values: np.ndarray, ann: Annotation, value_range):
    """The former analysis/describe/labels.py: bins over the range, a bincount per cell, sums per code."""
    low, high = value_range
    v = np.asarray(values, np.float64).T                                      # [H, T]
    binned = np.clip(np.floor((v - low) / max(high - low, 1e-12) * BINS), 0, BINS - 1).astype(np.int64)
    ok = ann.valid
    if ann.numeric:
        codes, cuts = threshold_groups(ann.values[ok])
        K = len(cuts)
    else:
        codes, cuts, K = ann.values[ok], None, len(ann.categories)
    tables = np.stack([np.bincount(row * K + codes, minlength=BINS * K) for row in binned[:, ok]]).reshape(-1, BINS, K)
    sums = np.stack([np.bincount(codes, weights=row, minlength=K) for row in v[:, ok]])
    r = pearson(v[:, ok], ann.values[ok].astype(np.float64)) if ann.numeric else None
    return tables, sums, np.bincount(codes, minlength=K), cuts, r, binned


def some_annotations(T: int, rng, categories: int = 6) -> Annotations:
    kind = rng.integers(0, categories, T)
    nxt = rng.integers(-1, 4, T)                                 # -1: no value at that step
    depth = rng.integers(0, 5, T).astype(np.float64)
    dist = rng.integers(0, 60, T).astype(np.float64)             # many values: quantile threshold groups
    dist[rng.random(T) < 0.2] = np.nan
    return Annotations({
        "kind": Annotation("kind", False, kind, tuple(f"k{i}" for i in range(categories))),
        "depth": Annotation("depth", True, depth),
        "next": Annotation("next", False, nxt, ("a", "b", "c", "d")),
        "distance": Annotation("distance", True, dist)})


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_counts_equal_the_former_numpy_counts(dtype, direct):
    rng = np.random.default_rng(0)
    T, H = 3_000, 5
    values = rng.uniform(-1.3, 1.3, (T, H))                      # some outside -1..1: the end bins
    values[::7, 1] = np.linspace(-1, 1, BINS + 1)[rng.integers(0, BINS + 1, len(values[::7]))]   # on bin edges
    values[:, 4] = np.tanh(3 * values[:, 4])                     # saturated
    values = values.astype(dtype)
    ann = some_annotations(T, rng)
    got = tally(values, annotation_codes(ann), (-1.0, 1.0), direct=direct)
    for a in ann:
        tables, sums, counts, cuts, r, binned = reference_counts(values, a, (-1.0, 1.0))
        t = got.by_annotation[a.name]
        np.testing.assert_array_equal(t.tables, tables, err_msg=a.name)
        np.testing.assert_array_equal(t.counts, counts)
        np.testing.assert_allclose(t.sums, sums, rtol=1e-12, atol=1e-9)
        if a.numeric:
            np.testing.assert_array_equal(t.cuts, cuts)
            np.testing.assert_allclose(t.r, r, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.hist, np.stack([np.bincount(row, minlength=BINS) for row in binned]))
    np.testing.assert_allclose(got.mean, values.astype(np.float64).mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.std, values.astype(np.float64).std(axis=0), rtol=0, atol=1e-9)
    assert len(got.by_annotation["distance"].cuts) == 24          # the quantile groups really were used


def test_counts_hold_when_the_combinations_outgrow_one_integer():
    """Eight annotations of 300 codes each make 300^8 > 2^62 combinations: ids are renumbered."""
    rng = np.random.default_rng(1)
    T = 2_000
    anns = Annotations({f"a{i}": Annotation(f"a{i}", False, rng.integers(-1, 300, T), tuple(map(str, range(300))))
                        for i in range(8)})
    values = rng.uniform(-1, 1, (T, 3)).astype(np.float32)
    got = tally(values, annotation_codes(anns), (-1.0, 1.0))
    for a in anns:
        tables, sums, counts, *_ = reference_counts(values, a, (-1.0, 1.0))
        np.testing.assert_array_equal(got.by_annotation[a.name].tables, tables)
        np.testing.assert_allclose(got.by_annotation[a.name].sums, sums, rtol=1e-12, atol=1e-9)


def test_a_hand_counted_case():
    """Four steps worked out by hand: bins of width 0.2 over -1..1."""
    values = np.array([[-1.0], [-0.05], [0.95], [1.0]], np.float32)  # bins 0, 4, 9, 9 (1.0 joins the top bin)
    ann = Annotations({"c": Annotation("c", False, np.array([0, 1, -1, 1]), ("x", "y"))})
    t = tally(values, annotation_codes(ann), (-1.0, 1.0))
    assert t.hist[0].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]
    table = t.by_annotation["c"].tables[0]
    assert table[0].tolist() == [1, 0] and table[4].tolist() == [0, 1] and table[9].tolist() == [0, 1]
    assert t.by_annotation["c"].sums[0].tolist() == pytest.approx([-1.0, 0.95], abs=1e-7)
    assert t.by_annotation["c"].counts.tolist() == [1, 2]


def test_counts_of_values_and_annotations_of_different_lengths_are_refused():
    from rnnscope.base.errors import RnnscopeError
    ann = Annotations({"c": Annotation("c", False, np.array([0, 1, 0]), ("x", "y"))})
    with pytest.raises(RnnscopeError, match="the values have 5 steps but the annotations 3"):
        tally(np.zeros((5, 2), np.float32), annotation_codes(ann), (-1.0, 1.0))


def test_the_combinations_rows_are_summed_per_code_exactly_as_np_add_at_sums_them():
    """tally sums the combinations' rows into each annotation's codes in a compiled loop (np.add.at took
    seconds on text's tens of thousands of combinations): the same rows in the same order, so the
    counts and the float sums are equal to the last bit; code -1 (no value) is left out."""
    from rnnscope.analysis.describe.tally import _sum_rows_by_code
    rng = np.random.default_rng(3)
    J, H, K = 5_000, 7, 9
    code = rng.integers(-1, K, J)
    tables = rng.integers(0, 1_000, (J, H, BINS))
    sums = rng.normal(size=(J, H)) * 10.0 ** rng.integers(-8, 8, (J, 1))    # magnitudes where order matters
    t, s = np.zeros((K, H, BINS), np.int64), np.zeros((K, H))
    _sum_rows_by_code(code, tables, sums, t, s)
    keep = code >= 0
    t_at, s_at = np.zeros_like(t), np.zeros_like(s)
    np.add.at(t_at, code[keep], tables[keep])
    np.add.at(s_at, code[keep], sums[keep])
    np.testing.assert_array_equal(t, t_at)
    assert s.tobytes() == s_at.tobytes()


@pytest.mark.parametrize("direct", [False, True])
def test_counts_given_an_annotation_are_counts_per_pair_of_codes(direct):
    """Each annotation counted per (its code, the given annotation's code) pair: the plain counts of
    a categorical annotation made of the pairs, steps where either has no value left out."""
    from rnnscope.analysis.describe.tally import joint
    rng = np.random.default_rng(3)
    T, H = 2_500, 4
    ann = some_annotations(T, rng)
    values = rng.uniform(-1, 1, (T, H)).astype(np.float32)
    plain = annotation_codes(ann)
    j = joint(ann, dict(zip(plain.names, zip(plain.codes, plain.cuts))), given="next")
    got = tally(values, j, (-1.0, 1.0), direct=direct)
    assert set(got.given) == {"kind", "depth", "distance"}       # not the given annotation itself
    nxt = ann["next"].values
    for name, g in got.given.items():
        codes = j.codes[j.names.index(name)]
        ok = (codes >= 0) & (nxt >= 0)
        keys = codes[ok] * 4 + nxt[ok]
        present = np.unique(keys)
        np.testing.assert_array_equal(g.pairs, np.stack([present // 4, present % 4], axis=1))
        pair = Annotation("pair", False, np.where(ok, np.searchsorted(present, codes * 4 + nxt), -1),
                          tuple(map(str, present)))
        tables, _, counts, *_ = reference_counts(values, pair, (-1.0, 1.0))
        np.testing.assert_array_equal(g.tables, tables)
        np.testing.assert_array_equal(g.counts, counts)
