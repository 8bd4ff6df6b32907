"""Comparing two models cell by cell: Pearson r between every pair of cells and
an optimal one-to-one assignment on |r|, checked against NumPy's corrcoef and a brute-force
search over every assignment; then `rnnscope compare` on the shipped GRU against itself, a
mirror image of itself and a smaller LSTM."""
from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
import torch
from app_fixtures import GRAMMAR_VOCAB
from test_cli import run_error, run_ok

from rnnscope.analysis.describe.compare import cross_correlation, match_cells
from rnnscope.models.network import checkpoint
from rnnscope.models.network.model import CharRNN, ModelConfig

RNG = np.random.default_rng(7)


def test_cross_correlation_is_numpys_corrcoef():
    a, b = RNG.normal(size=(200, 4)), RNG.normal(size=(200, 3))
    expected = np.corrcoef(a.T, b.T)[:4, 4:]
    np.testing.assert_allclose(cross_correlation(a, b), expected, atol=1e-12)


def test_a_permuted_mirrored_copy_is_paired_back_exactly():
    a = RNG.normal(size=(300, 5))
    perm = np.array([3, 0, 4, 1, 2])                  # b's cell j is a's cell perm[j]
    signs = np.array([1, -1, 2, -0.5, 1])             # scaled and mirrored: |r| stays 1
    b = a[:, perm] * signs + 3.0
    result = match_cells(a, b)
    assert {(p.a, p.b) for p in result.pairs} == {(int(perm[j]), j) for j in range(5)}
    for p in result.pairs:
        assert p.r == pytest.approx(np.sign(signs[p.b]), abs=1e-12)
    assert result.unmatched_a == [] and result.unmatched_b == [] and result.mean_abs_r == pytest.approx(1.0)


def test_the_assignment_is_optimal_against_brute_force():
    for _ in range(20):
        a, b = RNG.normal(size=(30, 4)), RNG.normal(size=(30, 5))
        r = np.abs(np.corrcoef(a.T, b.T)[:4, 4:])
        best = max(sum(r[i, cols[i]] for i in range(4)) for cols in itertools.permutations(range(5), 4))
        result = match_cells(a, b)
        assert sum(abs(p.r) for p in result.pairs) == pytest.approx(best)
        assert len(result.unmatched_b) == 1 and result.unmatched_a == []
        assert [abs(p.r) for p in result.pairs] == sorted((abs(p.r) for p in result.pairs), reverse=True)


def test_a_constant_cell_has_no_r_and_says_so():
    a = np.column_stack([np.linspace(0, 1, 50), np.ones(50)])
    b = np.column_stack([np.ones(50), np.linspace(0, 1, 50) ** 2])
    result = match_cells(a, b)
    by_a = {p.a: p for p in result.pairs}
    assert by_a[0].b == 1 and by_a[0].r > 0.9
    assert by_a[1].b == 0 and np.isnan(by_a[1].r) and by_a[1].to_dict()["r"] is None
    assert result.mean_abs_r == pytest.approx(by_a[0].r)


# --- the command ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mirror(tmp_path_factory, default_model):
    """The shipped GRU with its cells renumbered and every h negated, so that B's cell j is A's
    cell perm[j] exactly, with r = -1. -h is a GRU too: the gates r and z read -h through
    negated recurrent columns and stay the same; tanh is odd, so negating the candidate's input
    and recurrent parts and biases gives -n; the decoder reads -h through negated columns."""
    model = checkpoint.load(default_model)
    H = model.config.hidden_size
    perm = torch.as_tensor(np.random.default_rng(3).permutation(H))
    rnn = model.rnn
    with torch.no_grad():
        rows = torch.cat([perm + k * H for k in range(3)])            # the r, z, n blocks, renumbered
        for p in (rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.bias_hh_l0):
            p.copy_(p[rows])
        rnn.weight_hh_l0.copy_(-rnn.weight_hh_l0[rows][:, perm])     # every gate reads -h
        n = slice(2 * H, 3 * H)
        for p in (rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0):
            p[n] *= -1                                                # the candidate: n -> -n
        model.decoder.weight.copy_(-model.decoder.weight[:, perm])
    out = checkpoint.save(model, tmp_path_factory.mktemp("cmp") / "mirror")
    return out, perm.numpy()


def test_compare_finds_the_shipped_cells_in_a_renumbered_mirror(capsys, tmp_path, default_model, mirror):
    path, perm = mirror
    out = run_ok(capsys, "compare", "--model", str(default_model), "--other", str(path), "--index", "500",
                 "--window", "120", "--chars", "5000", "-o", str(tmp_path / "c.json"),
                 "-o", str(tmp_path / "c.html"))
    assert "wrote the numbers" in out and "wrote the comparison" in out
    numbers = json.loads((tmp_path / "c.json").read_text())
    assert numbers["steps"] == 5000 and numbers["matched_on"].startswith("the first 5,000 characters")
    pairs = {p["a"]: p for p in numbers["pairs"]}
    for j, i in enumerate(perm):          # B's cell j is A's cell perm[j], negated
        assert pairs[int(i)]["b"] == j and pairs[int(i)]["r"] == pytest.approx(-1.0, abs=1e-4)
    page = (tmp_path / "c.html").read_text()
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)     # the inlined code's own strings aside
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", markup)  # one offline file
    assert "A: hidden state h" in page and "B: hidden state h" in page and "mean |r| of the pairs 1.000" in page


def test_compare_with_a_smaller_model_lists_the_unmatched(capsys, default_model, lstm_model):
    out = run_ok(capsys, "compare", "--model", str(default_model), "--other", str(lstm_model), "--text",
                 "( 1 ( 2 ) 1 ) 0 ( 1 ) 1 ", "--match-on", "sequence")
    assert out.splitlines()[0].startswith("A gru15-parens vs B lstm6, view h: Pearson r over the sequence shown")
    assert sum(" <-> " in line for line in out.splitlines()) == 6
    assert "unmatched in A gru15-parens:" in out and out.count(",") >= 8


def test_compare_refuses_a_model_that_cannot_read_the_text(capsys, tmp_path, default_model):
    no_zero = checkpoint.save(CharRNN(ModelConfig(vocab=[c for c in GRAMMAR_VOCAB if c != "0"], hidden_size=4)),
                              tmp_path / "nozero")
    err = run_error(capsys, "compare", "--model", str(default_model), "--other", str(no_zero), "--text",
                    "( 1 ) 1 ) 0 ", "-o", str(tmp_path / "c.json"))
    assert "model B cannot read the text: 1 characters ('0', first at position 10)" in err
    assert not (tmp_path / "c.json").exists()
    err = run_error(capsys, "compare", "--model", str(default_model), "--other", str(no_zero), "--index", "0",
                    "--other-layer", "1")
    assert "--other-layer 1 does not exist; that model's layers are 0 .. 0" in err
