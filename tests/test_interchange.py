"""Causal codes by interchange between contexts (docs/methods.md, Causal codes): the pairs read the same
character and differ in the annotation; the compiled scores are the plain KL computed here; a hand-built
model's code is found exactly, nothing extra, in either layer; and on the shipped GRU the search agrees
with the oracle's (analysis/intervene/causal.py): the same 8 cells."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hand_built import CODE, depth_reader

from rnnscope.analysis.decode.probing import interchange_code, pairing
from rnnscope.analysis.describe.text_annotations import text_annotations
from rnnscope.analysis.intervene.causal import Readout
from rnnscope.analysis.intervene.interchange import (COMPLETE_SHARE, _Patcher, annotation_codes, interchange_pairs,
                                                    search, strata)
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.tracer import trace

torch.set_num_threads(1)


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def kl(log_p, log_q):
    return float((np.exp(log_p) * (log_p - log_q)).sum(axis=-1).mean())


def test_pairs_read_the_same_character_and_differ_in_the_annotation():
    rng = np.random.default_rng(0)
    chars, codes = rng.integers(0, 6, 3_000), rng.integers(-1, 4, 3_000)
    chars[chars == 5] = 4                         # character 5 never occurs; 4 occurs
    codes[chars == 3] = 2                         # character 3 always with one code: never a base
    base, source = interchange_pairs(codes, chars, 10_000)
    assert len(set(base)) == len(base) and (codes[base] >= 0).all() and (codes[source] >= 0).all()
    assert (chars[base] == chars[source]).all() and (codes[base] != codes[source]).all()
    assert set(base) == set(np.flatnonzero((codes >= 0) & (chars != 3)))    # every eligible base, once
    # the source is uniform over the other codes of the character: every one of them is drawn
    many = [interchange_pairs(codes, chars, 10_000, seed)[1] for seed in range(40)]
    assert set(np.concatenate(many)) == set(np.flatnonzero((codes >= 0) & (chars != 3)))
    with pytest.raises(RnnscopeError, match="nothing to interchange"):
        interchange_pairs(np.array([0, 1, 0]), np.array([0, 1, 2]), 10)


def test_the_compiled_scores_are_the_plain_kl_gap_closed():
    rng = np.random.default_rng(1)
    T, H, V = 400, 9, 7
    states, w, b = rng.normal(size=(T, H)), rng.normal(size=(V, H)), rng.normal(size=V)
    base, source = np.arange(0, 200), np.arange(200, 400)
    patch = _Patcher(Readout(w, b), states, base, source)
    log_s, log_b = log_softmax(states[source] @ w.T + b), log_softmax(states[base] @ w.T + b)
    gap = kl(log_s, log_b)
    assert patch.gap == pytest.approx(gap, rel=1e-10)

    def plain(cells):
        x = states[base].copy()
        x[:, cells] = states[source][:, cells]
        return 1 - kl(log_s, log_softmax(x @ w.T + b)) / gap

    chosen, left = [4, 1], np.array([0, 2, 3, 5, 6, 7, 8])
    np.testing.assert_allclose(patch.scores_added(chosen, left), [plain([4, 1, c]) for c in left], atol=1e-10)
    orders = np.array([[3, 0, 8], [5, 6, 2]])
    np.testing.assert_allclose(patch.prefix_scores(orders), [[plain(o[:k]) for k in (1, 2, 3)] for o in orders],
                               atol=1e-10)
    assert plain(list(range(H))) == pytest.approx(1.0)      # every cell patched: the source's prediction


@pytest.mark.parametrize("layers,layer", [(1, 0), (2, 1), (2, 0)])
def test_a_hand_built_models_depth_code_is_found_exactly(layers, layer):
    vocab = sorted(set(CODE))
    model = depth_reader(vocab, layers)
    tr = trace(model, CODE)
    ann = text_annotations(CODE)
    np.testing.assert_allclose(tr.hidden[0][:, 0], ann["paren_depth"].values, atol=1e-6)  # the construction holds
    code = interchange_code(model, tr, ann, "paren_depth", layer)
    assert code.layer == layer and code.complete_size == 2 and sorted(code.cells) == [0, 2]    # 1, 3, 5-7: never
    assert code.score[2] == pytest.approx(1.0, abs=1e-9) and 0 < code.score[1] < COMPLETE_SHARE
    assert code.null_mean[2] < 0.5 and code.gap_nats > 0.01
    d = code.to_dict()
    assert d["cells"] == code.cells and len(d["score"]) == len(d["null_p99"]) == 3
    assert d["matched_on"] == "char and the 2 before it"      # text: the last three characters shared


def test_an_annotation_the_model_does_not_read_cannot_be_closed():
    """The newline count (cell 3) differs between contexts but the decoder never reads it: patching
    it moves nothing. Pairs that differ in the line, at the same character, still differ in depth --
    so the search finds the depth cells, never cell 3."""
    vocab = sorted(set(CODE))
    model = depth_reader(vocab, 1)
    tr = trace(model, CODE)
    lines = np.cumsum([c == "\n" for c in CODE])
    readout = Readout(model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy())
    chars = text_annotations(CODE)["char"].values
    code = search(tr.hidden[0], lines, chars, readout, "line")
    assert 3 not in code.cells[:code.complete_size] and sorted(code.cells[:code.complete_size]) == [0, 2]
    deaf = Readout(np.zeros_like(readout.w), readout.b)         # a decoder that reads no cell
    with pytest.raises(RnnscopeError, match="predict the same next character"):
        search(tr.hidden[0], lines, chars, deaf, "line")


def test_a_numeric_annotations_codes_are_its_distinct_values():
    ann = text_annotations(CODE)["indentation"]
    codes = annotation_codes(ann)
    ok = ann.valid
    assert (codes[~ok] == -1).all()
    values = ann.values[ok]
    assert ((codes[ok][:, None] == codes[ok][None, :100]) == (values[:, None] == values[None, :100])).all()


def test_on_the_shipped_gru_it_finds_the_oracle_searchs_8_cells(default_model):
    from rnnscope.analysis.decode.probing import annotations_of, depth_code
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.network import checkpoint
    model, held = checkpoint.load(default_model), heldout_of(default_model)
    n = 40_000
    tr, ann = trace(model, held.text[:n]), annotations_of(held, n)
    oracle = depth_code(model, tr, ann, held)
    swapped = interchange_code(model, tr, ann, "depth")
    assert oracle.complete_size == swapped.complete_size == 8
    assert sorted(swapped.cells) == sorted(oracle.cells[:8])
    assert swapped.score[8] > swapped.null_p99[8] and swapped.score[7] < COMPLETE_SHARE


def test_strata_pair_positions_that_share_the_characters_and_the_held_values():
    chars = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1])
    held = np.array([5, 5, 5, 5, 5, 5, 6, 6, 6, -1])
    s = strata(chars, 1, (held,))
    assert s[0] == -1 and s[9] == -1              # no character before the first; no held value at the last
    # (current, previous, held): 1 = (1, 0, 5) at 1 and 4; 2 = (2, 1, 5) at 2 and 5; at 7 and 8 held is 6
    assert s[1] == s[4] and s[2] == s[5] and s[7] != s[1] and s[8] != s[2] and len(set(s[1:9])) == 6
    np.testing.assert_array_equal(strata(chars), chars)    # the current character alone: its own codes' order


def test_text_pairs_share_the_last_three_characters_and_the_other_variables():
    text = Path(textwrap.__file__).read_text(encoding="utf-8")[:30_000]     # Python source nobody here wrote
    ann = text_annotations(text)
    st, said = pairing(ann, "bracket_depth")
    assert said == "char and the 2 before it, in_string, indentation"
    base, source = interchange_pairs(annotation_codes(ann["bracket_depth"]), st, 10_000)
    assert len(base) > 100
    for b, s in zip(base, source):
        assert text[b - 2:b + 1] == text[s - 2:s + 1]
        assert ann["bracket_depth"].values[b] != ann["bracket_depth"].values[s]
        for held in ("in_string", "indentation"):
            assert ann[held].values[b] == ann[held].values[s]
