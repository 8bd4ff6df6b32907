"""MI against chance (analysis/describe/nulls.py) and what a cell carries beyond the current character
(analysis/describe/beyond.py): the Miller–Madow formula by hand, the shuffle null against real shuffles,
and cells built to carry a string flag on top of their input labelled by it -- while a cell that only
echoes its input keeps its plain label and a noise cell clears nothing."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hand_built import CODE

from rnnscope.analysis.describe.labels import label_cells, mi_bits
from rnnscope.analysis.describe.nulls import mm_cmi_bits, mm_mi_bits, null_draws
from rnnscope.analysis.describe.text_annotations import text_annotations


def table_of(*codes, shape):
    t = np.zeros(shape, np.int64)
    np.add.at(t, codes, 1)
    return t


def test_miller_madow_mi_is_the_plug_in_plus_the_entropies_corrections():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 6, (5, 7))
    t[1] = 0                                   # an empty row and column: not counted in m
    t[:, 3] = 0
    n, m_rows, m_cols, m_joint = t.sum(), (t.sum(1) > 0).sum(), (t.sum(0) > 0).sum(), (t > 0).sum()
    want = mi_bits(t) + ((m_rows - 1) + (m_cols - 1) - (m_joint - 1)) / (2 * n * math.log(2))
    assert mm_mi_bits(t) == pytest.approx(want, abs=1e-12)
    assert mm_mi_bits(np.zeros((3, 3))) == 0.0


def test_conditional_mi_is_the_strata_weighted_by_their_steps():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 5, (4, 6, 3))
    n = t.sum()
    per = [s.sum() / n * mm_mi_bits(s) for s in t]       # each stratum corrected over its own N_s ...
    # ... so reweighted to the whole: sum_s N_s/N (MI_s + c_s / (2 N_s ln 2)) = sum plug-in + sum c_s / (2N ln 2)
    assert mm_cmi_bits(t) == pytest.approx(sum(per), abs=1e-12)


def shuffles(x, a, c, shape, draws, rng):
    out = []
    for _ in range(draws):
        b = a.copy()
        for s in range(shape[0]):
            idx = np.flatnonzero(c == s)
            b[idx] = rng.permutation(a[idx])
        out.append(mm_cmi_bits(table_of(c, x, b, shape=shape)))
    return np.array(out)


@pytest.mark.parametrize("T,tolerance", [(150, 0.05), (2_000, 0.12)])
def test_the_shuffle_null_is_the_distribution_of_real_shuffles_within_strata(T, tolerance):
    """Small counts: every hypergeometric draw exact, the quantiles those of real shuffles to sampling
    noise. Counts of 12 and more are drawn from the normal approximation: within 12% of the 99th percentile."""
    rng = np.random.default_rng(2)
    x, a, c = rng.integers(0, 5, T), rng.integers(0, 4, T), rng.integers(0, 3, T)
    a[c == 2] = 0                                          # a stratum where a never varies: adds nothing
    drawn = null_draws(table_of(c, x, a, shape=(3, 5, 4)), 4_000, seed=1)
    real = shuffles(x, a, c, (3, 5, 4), 4_000, rng)
    q = [0.1, 0.5, 0.9, 0.99]
    np.testing.assert_allclose(np.quantile(drawn, q), np.quantile(real, q), atol=tolerance * np.quantile(real, 0.99))
    assert np.array_equal(null_draws(table_of(c, x, a, shape=(3, 5, 4)), 50, seed=1), drawn[:50])   # seeded


TEXT = (CODE + 'name = "a (b), c"\nprint(f(name, \'d [e]\'))\nx = g("f", 2)  # h\n' * 20) * 3
ANN = text_annotations(TEXT)


def test_a_cell_carrying_a_string_flag_on_its_input_is_labelled_by_the_string():
    """Cell 0 echoes the character (its code, scaled) and adds 0.5 inside a string: the plain label is
    the character, the label beyond it the string. Cell 1 only echoes: no label beyond. Cell 2 is
    noise: nothing clears its null."""
    rng = np.random.default_rng(3)
    char, in_string = ANN["char"].values, ANN["in_string"].values
    assert (in_string == ANN["in_string"].categories.index("yes")).any()
    echo = char / char.max() - 0.5
    inside = (in_string == ANN["in_string"].categories.index("yes")).astype(float)
    values = np.stack([0.6 * echo + 0.5 * inside - 0.2, echo, rng.uniform(-1, 1, len(TEXT))], axis=1)
    labels = {lab.cell: lab for lab in label_cells(values, ANN)}
    carrying, echoing, noise = labels[0], labels[1], labels[2]
    assert carrying.beyond is not None and carrying.beyond.annotation == "in_string" and carrying.beyond.stat == "CMI"
    row = carrying.to_dict()
    assert (row["annotation"], row["stat"], row["given"]) == ("in_string", "CMI", "char")
    assert row["label"].startswith("beyond the character: in string:") and row["score"] > row["null_99"] > 0
    assert row["plain_annotation"] == "char" and row["plain_label"] == carrying.plain_label != carrying.label
    assert row["label"] == carrying.label and row["beyond_annotation"] == "in_string"
    assert echoing.beyond is None and echoing.to_dict()["annotation"] == echoing.best.annotation == "char"
    assert echoing.to_dict()["given"] is None and echoing.cleared and echoing.to_dict()["beyond_label"] is None
    assert noise.label.startswith("weak: no annotation clears its shuffle null") and not noise.cleared
    assert noise.beyond is None and noise.null_stat <= noise.null
