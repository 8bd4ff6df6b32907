"""The Probes tab says what its numbers mean: every line of a curve in the legend, a sentence where
selectivity is <= 0, "cells for 99%" as a count with the cells on hover, and for text the n-gram
baseline -- the same numbers `rnnscope probe --json` gives, from the same functions."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnscope.analysis.decode.ngram import NGRAM_KS, last_chars_onehot, ngram_jobs
from rnnscope.analysis.decode.probes import curve_ks, probe, run_all
from rnnscope.app.pages import cache
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.models.network import checkpoint


@pytest.fixture(autouse=True, scope="module")
def own_results_folder(tmp_path_factory):
    """Results kept on disk go to a folder of this module's own (app/pages/stored.py reads XDG_CACHE_HOME)."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("xdg")
        mp.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


def legend_labels(fig) -> list[str]:
    return [item.label.value for legend in fig.legend for item in legend.items]


def test_every_line_has_a_legend_entry_and_cells_for_99_is_a_count_with_the_cells_on_hover(default_model):
    tab = ProbesTab(state=AppState(default_model))
    tab.open()
    results = cache.probes(tab.state.model_path)
    table = tab.body.objects[0].object
    for p, plot in zip(results, tab.body.objects[2].objects):
        fig = plot.object
        lines = [r for r in fig.renderers if r.glyph.__class__.__name__ == "Line"]
        assert len(lines) == 4 == len(legend_labels(fig))            # the curve and its three references
        assert legend_labels(fig) == ["probe on k cells", f"majority {p['majority_accuracy']:.3f}",
                                      f"input only {p['input_baseline_accuracy']:.3f}",
                                      f"control {p['control_accuracy']:.3f}"]
        needed = p["cells_needed_99"]
        cells = ", ".join(map(str, p["cell_order"][:needed]))
        assert f"title='cells, best first: {cells}'" in table and f">{needed} of 15</span>" in table


def test_a_selectivity_at_or_below_zero_gets_a_sentence_saying_why(default_model):
    tab = ProbesTab(state=AppState(default_model))
    tab.open()
    notes = tab.body.objects[1].object
    for p in cache.probes(tab.state.model_path):
        said = f"**{p['target']} (layer {p['layer']}): selectivity {p['selectivity']:+.3f} \u2264 0.**" in notes
        assert said == (p["selectivity"] <= 0)
        if said:
            assert f"the data has {p['char_types']} character types" in notes


def test_the_window_one_hot_holds_each_of_the_last_k_characters():
    codes = np.array([7, 3, 7, 9])                     # types 3, 7, 9 -> columns 0, 1, 2 of each block
    x = last_chars_onehot(codes, 3).toarray()
    assert x.shape == (4, 9)
    expected = np.zeros((4, 9))
    for t in range(4):
        for lag in range(3):
            if t - lag >= 0:
                expected[t, lag * 3 + [3, 7, 9].index(codes[t - lag])] = 1
    np.testing.assert_array_equal(x, expected)


def test_a_window_as_long_as_the_dependency_reads_it_and_a_shorter_one_cannot():
    """The target is 'the character three back was an a': only windows of 4 and more see it."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=4_000)
    target = np.r_[0, 0, 0, (codes[:-3] == 0).astype(int)]
    one, two, four, eight = run_all(ngram_jobs(target, codes, ks=(1, 2, 4, 8)))
    assert four > 0.99 and eight > 0.99
    assert one < 0.8 and two < 0.8                     # the majority is 0.75


def test_the_curve_measures_every_k_for_small_layers_and_a_grid_for_wide_ones():
    assert curve_ks(15) == list(range(1, 16)) and curve_ks(32) == list(range(1, 33))
    assert curve_ks(128) == [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128]


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    from hand_built import CODE, depth_counter
    root = tmp_path_factory.mktemp("probes-text")
    text = root / "code.py.txt"
    text.write_text(CODE * 3, encoding="utf-8")
    checkpoint.save(depth_counter(sorted(set(CODE)), "["), root / "m", {"data": {"kind": "text", "path": str(text)}})
    return root / "m"


def test_a_text_model_s_tab_gives_the_n_gram_baseline_the_probe_command_gives(text_model):
    tab = ProbesTab(state=AppState(text_model))
    tab.open()
    tr, ann = cache._heldout_trace(tab.state.model_path, cache.stamp(text_model), cache.LABEL_CHARS)
    table, notes = tab.body.objects[0].object, tab.body.objects[1].object
    assert "n-gram best (k)" in table and "computing" not in notes
    for p, plot in zip(tab.results, tab.body.objects[2].objects):
        # the same function `rnnscope probe --json` runs (analysis/decode/probing.py), on the same states
        reference = probe(tr.hidden[0], ann[p["target"]].values, ann["char"].values, p["target"],
                          ngram_ks=NGRAM_KS).to_dict()["ngram_accuracy"]
        assert tab.ngram[p["target"]] == reference
        best = max(reference, key=lambda g: g["accuracy"])
        assert f"<td>{best['accuracy']:.3f} ({best['k']})</td>" in table
        assert f"last {best['k']} chars {best['accuracy']:.3f}" in legend_labels(plot.object)
        assert f"*n-gram baseline, {p['target']}*" in notes
    assert re.search(r"k = 2, 4, 8, 16, 32; k = 1 is \*input only\*", notes)


def test_probes_are_kept_on_disk_and_read_back_by_the_next_server(default_model, own_results_folder, monkeypatch):
    from rnnscope.analysis.decode import probes as probes_module
    from rnnscope.app.pages import stored
    path = str(default_model.resolve())
    cache._probes.clear()          # computed by an earlier test into its own folder: this one computes afresh
    first = cache.probes(path)
    kept = [stored.result_path("probes", *cache._result_key(path, cache.stamp(path), cache.LABEL_CHARS))]
    assert kept[0].parent == own_results_folder / "rnnscope" / "results" and kept[0].is_file()
    cache._probes.clear()                                 # a new server: nothing in memory ...

    def never(*args, **kwargs):
        raise AssertionError("computed again although kept on disk")
    monkeypatch.setattr(probes_module, "probe", never)
    assert cache.probes(path) == first                   # ... read back, not computed
    kept[0].write_text("{not json", encoding="utf-8")     # a damaged file is computed again, never trusted
    cache._probes.clear()
    monkeypatch.undo()
    assert cache.probes(path) == first and stored.json.loads(kept[0].read_text())["result"] == first
    assert stored.result_path("probes", 1, 2) != stored.result_path("probes", 1, 3)    # the key decides the file


def test_the_probes_show_before_their_curves_and_the_curves_join_them(default_model, monkeypatch):
    """The tab's first view is the probes and their references (three fits per target); the accuracy-vs-k
    curves (a refit per k) join it when measured: what the tab shows while ``cache.probes`` runs is recorded."""
    tab = ProbesTab(state=AppState(default_model))
    seen = {}
    measure = cache.probes

    def recording(*args, **kw):
        seen["table"], seen["notes"] = tab.body.objects[0].object, tab.body.objects[1].object
        seen["plots"] = len(tab.body.objects[2].objects)
        seen["buttons"] = [row.objects for row in tab.body.objects[3].objects[1:]]
        return measure(*args, **kw)
    monkeypatch.setattr(cache, "probes", recording)
    tab.open()
    heads, whole = cache.probe_heads(tab.state.model_path), measure(tab.state.model_path)
    assert seen["plots"] == 0 and "computing\u2026" in seen["notes"] and "<td>\u2026</td>" in seen["table"]
    for head, p in zip(heads, whole):
        assert f"<b>{p['accuracy']:.3f}</b>" in seen["table"]           # the headline numbers at once
        assert {k: v for k, v in head.items() if k != "exact_accuracy"} == p | {"accuracy_by_k": None,
                                                                               "cells_needed_99": None}
    assert len(tab.body.objects[2].objects) == len(whole) and "computing\u2026" not in tab.body.objects[1].object
    # the card buttons are the same objects: a click on one while the curves join is not lost to its replacement
    after = [row.objects for row in tab.body.objects[3].objects[1:]]
    assert len(after) == len(seen["buttons"]) == len(whole)
    assert all(a is b for row, was in zip(after, seen["buttons"]) for a, b in zip(row, was))
