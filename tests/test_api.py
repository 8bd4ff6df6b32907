"""The public API (rnnscope.api, docs/api.md) against the functions it wraps, called directly."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import rnnscope as rs
from doc_examples import run_python_example
from rnnscope.base.errors import CheckpointError, RnnscopeError
from rnnscope.base.paths import DEFAULT_CHECKPOINT


@pytest.fixture(scope="module")
def gru():
    return rs.load("gru15-parens")


def test_importing_rnnscope_loads_neither_torch_nor_panel():
    code = "import sys, rnnscope; assert not {'torch', 'panel', 'bokeh'} & set(sys.modules), sys.modules.keys()"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_the_api_is_listed_by_dir_and_help():
    assert {"load", "Model", "Trace", "ProbeReport", "shipped_models"} <= set(dir(rs))
    assert "load" in rs.__all__ and rs.load is __import__("rnnscope.api", fromlist=["load"]).load
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        rs.nothing    # noqa: B018


def test_a_shipped_name_and_its_directory_load_the_same_model(gru):
    from rnnscope.models.network import checkpoint
    assert "gru15-parens" in rs.shipped_models() and gru.path == DEFAULT_CHECKPOINT
    direct = checkpoint.load(DEFAULT_CHECKPOINT)
    for name, tensor in direct.state_dict().items():
        assert np.array_equal(tensor.numpy(), gru.module.state_dict()[name].numpy()), name


def test_a_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nothing: no such checkpoint directory"):
        rs.load(tmp_path / "nothing")


def test_typed_text_is_the_tracers_trace(gru):
    from rnnscope.models.reading.tracer import trace
    text = "( 1 ( 2 ) 1 ) 0 "
    t, ref = gru.trace(text), trace(gru.module, text)
    assert t.text == text and t.h.shape == (16, 15)
    np.testing.assert_array_equal(t.h, ref.hidden[0])
    np.testing.assert_array_equal(t.view("z"), ref.gates[0]["z"])
    np.testing.assert_array_equal(t.annotations["depth"], ref.annotations["depth"])


def test_a_held_out_window_is_the_whole_streams_trace_cut_there(gru):
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.reading.tracer import trace
    held = heldout_of(DEFAULT_CHECKPOINT)
    whole = trace(gru.module, held.text[:5300])
    w = gru.trace(index=5000, window=300)
    np.testing.assert_allclose(w.h, whole.hidden[0][5000:5300], atol=2e-5)
    np.testing.assert_array_equal(w.annotations["depth"], held.annotations["depth"][5000:5300])
    cold = gru.trace(index=5000, window=300, from_zero_state=True)
    np.testing.assert_array_equal(cold.h, trace(gru.module, held.text[5000:5300]).hidden[0])


def test_the_page_reads_the_same_window_as_the_api(gru):
    from rnnscope.app.pages import cache
    np.testing.assert_array_equal(cache.trace_in_context(DEFAULT_CHECKPOINT, 777, 120).hidden[0],
                                  gru.trace(index=777, window=120).h)


def test_bad_windows_layers_and_cells_are_refused_in_one_line(gru):
    for call, message in ((lambda: gru.trace(index=200_000), "outside the held-out stream (0 .. 199,999)"),
                          (lambda: gru.trace(index=0, window=0), "window length must be at least 1"),
                          (lambda: gru.trace(), "give the text to read"),
                          (lambda: gru.trace("( 1 ) 0 ").view("h", 1), "layer 1 does not exist"),
                          (lambda: gru.trace("( 1 ) 0 ").heatmap(cells=[15]), "cells [15] do not exist"),
                          (lambda: gru.trace("( 1 ) 0 ").heatmap(view="f"), "view 'f' does not exist")):
        with pytest.raises(RnnscopeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            call()


def test_labels_are_the_labellers_and_find_the_shipped_grus_depth_4_cell(gru):
    from rnnscope.analysis.decode.probing import annotations_of
    from rnnscope.analysis.describe.labels import label_cells
    from rnnscope.models.reading.trace import value_range
    from rnnscope.models.reading.tracer import trace
    labels = gru.label_cells(chars=20_000)
    assert len(labels) == 15 * 4 and set(labels.view) == {"h", "z", "r", "n"}
    held = gru.heldout
    h = trace(gru.module, held.text[:20_000]).hidden[0]
    ref = label_cells(h, annotations_of(held, 20_000), value_range("h", h))
    ours = labels[labels.view == "h"]
    assert list(ours.cell) == [lab.cell for lab in ref] and list(ours.label) == [lab.label for lab in ref]
    rules = ours[(ours.annotation == "depth") & (ours.value == ">= 4")]
    assert len(rules) >= 1 and all("when depth \u2265 4" in label for label in rules.label)


def test_the_heatmap_is_a_panel_pane_of_the_pages_frame(gru):
    import panel as pn
    w = gru.trace(index=40, window=80)
    pane = w.heatmap(cells=[4, 12], order="depth")
    assert isinstance(pane, pn.pane.Bokeh)
    frame = w.frame(cells=[4, 12], order="depth")
    assert frame.selected == [4, 12] and frame.kl is not None and frame.probe_depth is not None
    assert "characters 40 .. 119" in w.to_html()


def test_a_trace_saves_its_arrays_or_its_heatmap(gru, tmp_path):
    from rnnscope.models.reading.trace import Trace
    t = gru.trace("( 1 ) 0 ")
    np.testing.assert_array_equal(Trace.load(t.save(tmp_path / "t.npz")).hidden[0], t.h)
    assert "hidden state h" in t.save(tmp_path / "t.html").read_text(encoding="utf-8")
    with pytest.raises(RnnscopeError, match="say .npz"):
        t.save(tmp_path / "t.txt")
    assert not (tmp_path / "t.txt").exists()


def test_the_docs_worked_example_runs(tmp_path, monkeypatch):
    namespace = run_python_example("api.md", tmp_path, monkeypatch)
    assert (tmp_path / "window.html").is_file() and len(namespace["labels"]) == 15
