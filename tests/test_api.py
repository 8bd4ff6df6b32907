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


# --- the verbs each command is one call of: the same numbers as the function each wraps ------------------

def test_samples_are_the_samplers_after_the_prime(gru):
    from rnnscope.models.reading.sample import sample
    ours = gru.sample(n=2, chars=30, temperature=0.8, seed=3, prime="( ")
    assert ours == ["( " + s for s in sample(gru.module, 30, 0.8, 3, ["( "] * 2)]


def test_evaluate_is_the_loss_and_floor_of_a_fresh_stream(gru):
    from rnnscope import grammar
    from rnnscope.models.training.evaluate import heldout_loss
    numbers = gru.evaluate(chars=5_000, seed=1).numbers
    text = grammar.generate(5_000, seed=1, spec=gru.spec)
    assert numbers["loss"] == round(heldout_loss(gru.module, gru.module.vocab.encode(text)[None]), 5)
    assert numbers["floor"] == round(grammar.empirical_floor(text, gru.spec), 5)
    assert "floor" not in gru.evaluate("( 1 ) 0 ( 1 ) 0 ").numbers


def test_summary_and_weights_are_the_models_own(gru):
    from rnnscope.analysis.decode.weights import predictions, sum3_weights
    from rnnscope.models.network.summary import summary, summary_data
    from rnnscope.models.training.sum3 import DIGITS, new_triples, predict
    assert gru.summary().numbers == summary_data(gru.module) and gru.summary().to_text() == summary(gru.module)
    sum3 = rs.load("sum3-scalar").module
    view = sum3_weights(sum3.layer_arrays(0), sum3.input_vectors(DIGITS), sum3.config.input_kind)
    view["predictions"] = predictions(new_triples(3, 2), predict(sum3, new_triples(3, 2)))
    assert rs.load("sum3-scalar").weights(triples=3, seed=2).numbers == view
    with pytest.raises(RnnscopeError, match="gru15-parens: the weights view reads a sum3 model"):
        gru.weights()


def test_explain_is_the_reference_equations(gru):
    from rnnscope.analysis.describe.explain import explain
    t = gru.trace("( 1 ( 2 ) 1 ) 0 ")
    ref = explain(t.raw, gru.module.layer_arrays(0), gru.module.input_vectors(t.text)[5], gru.module.input_names(),
                  0, 2, 5, gru.config.nonlinearity)
    assert gru.explain(t, step=5, cell=2).numbers == ref
    with pytest.raises(RnnscopeError, match=r"step 16 is outside the sequence \(0 .. 15\)"):
        gru.explain(t, step=16, cell=2)


def test_compare_pairs_the_cells_as_match_cells_does(gru):
    from rnnscope.analysis.describe.compare import match_cells
    t = gru.trace(index=100, window=200)
    report = gru.compare(rs.load("gru15-parens"), t, match_on="sequence")
    ref = match_cells(t.h, t.h).to_dict()
    assert {k: report.numbers[k] for k in ref} == ref and report.numbers["model_a"] == "gru15-parens"
    assert "<html" in report.to_html().lower()


def test_generalise_is_the_comparison_of_the_models():
    from rnnscope.analysis.decode.generalise import TEST_SEED, comparison
    m = rs.load("gru28-brackets")
    assert rs.generalise([m], test_depth=6, chars=4_000).numbers == comparison([("gru28-brackets", m.module)], 6,
                                                                                4_000, None, TEST_SEED)


def test_match_and_the_store_read_the_states_in_context(gru, tmp_path):
    from rnnscope.analysis.describe.match import match, on_cells
    from rnnscope.analysis.describe.store_labels import label_store, store_annotations
    from rnnscope.models.reading.tracer import trace
    corpus = gru.heldout.text[:3_000]
    assert gru.build_store(tmp_path / "s.zarr", corpus, build="one-process")["chars"] == 3_000
    store = gru.open_store(tmp_path / "s.zarr")
    np.testing.assert_allclose(store.states(0)[:], trace(gru.module, corpus).hidden[0], atol=2e-5)
    ref = label_store(store.root, 0, store_annotations(corpus, gru.heldout))
    assert store.labels(0).numbers["cells"] == [lab.to_dict() for lab in ref]
    t = gru.trace(corpus[:200])
    start, end = next((s, s + 3) for s in range(1, 190) if len(on_cells(t.h, s, s + 3, 0.5)))
    found = match(store.states(0), on_cells(t.h, start, end, 0.5), 0.5, 4, top=5)
    ours = gru.match(t, start, end, top=5, corpus=corpus, store=tmp_path / "s.zarr").numbers
    assert [(r["start"], r["end"]) for r in ours["matches"]] == [(f.start, f.end) for f in found]
    with pytest.raises(RnnscopeError, match="exists; a store is never overwritten"):
        gru.build_store(tmp_path / "s.zarr", corpus)


def test_lstmvis_directory_holds_the_traces_states(gru, tmp_path):
    from rnnscope.models.interop.lstmvis import read_lstmvis
    t = gru.trace(index=0, window=120)
    meta = t.to_lstmvis(tmp_path / "vis")
    assert "depth" in meta
    np.testing.assert_allclose(np.asarray(read_lstmvis(tmp_path / "vis").states[("output", 1)]), t.h, atol=1e-6)


def test_generate_corpus_and_training_are_the_functions_they_wrap(tmp_path):
    from rnnscope import grammar
    from rnnscope.models.data import corpus
    from rnnscope.models.data.batches import GrammarData
    from rnnscope.models.network.model import ModelConfig
    from rnnscope.models.training.train import TrainConfig, train
    spec = rs.grammar_spec(max_depth=3)
    assert rs.generate(500, seed=4, spec=spec) == grammar.generate(500, seed=4, spec=spec)
    record = rs.corpus("python-stdlib", tmp_path / "c.txt", max_chars=20_000)
    assert (tmp_path / "c.txt").read_text() == corpus.build("python-stdlib", 20_000)[0] and record["chars"] <= 20_000
    small = {"row_chars": 2_000, "eval_chars": 2_000, "seed": 1}
    m = rs.train(tmp_path / "a", spec=spec, hidden=6, embedding=4, steps=6, batch=8, bptt=20, eval_every=3,
                 threads=1, device="cpu", progress=False, **small)
    data = GrammarData(spec, soft_targets=False, **small)
    ref = train(data, ModelConfig(vocab=data.vocab.chars, hidden_size=6, embedding_dim=4),
                TrainConfig(steps=6, batch_size=8, bptt=20, seed=1, eval_every=3, threads=1, device="cpu"),
                tmp_path / "b", progress=False)
    assert m.training["best"]["heldout_loss"] == ref["best"]["heldout_loss"] and m.run_dir == tmp_path / "a.run"
    sum3 = rs.train_sum3(tmp_path / "s", triples=100, epochs=1)
    assert sum3.training["config"]["epochs"] == 1 and sum3.weights(triples=2).numbers["predictions"]


def test_a_torch_state_dict_imports_as_the_importer_reads_it(tmp_path):
    import json

    import torch
    from safetensors.torch import save_file

    from rnnscope.models.interop.torch_import import import_state_dict_file
    vocab = list("ab()")
    torch.manual_seed(0)
    net = torch.nn.ModuleDict({"emb": torch.nn.Embedding(4, 3), "rnn": torch.nn.GRU(3, 5, batch_first=True),
                               "dec": torch.nn.Linear(5, 4)})
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / "w.safetensors")
    (tmp_path / "v.json").write_text(json.dumps(vocab))
    (tmp_path / "m.json").write_text(json.dumps({"cell": "gru", "embedding": "emb", "rnn": "rnn", "decoder": "dec"}))
    files = (tmp_path / "w.safetensors", tmp_path / "v.json", tmp_path / "m.json")
    m = rs.import_torch(*files, out=tmp_path / "ckpt")
    ref = import_state_dict_file(*files)
    for name, tensor in ref.state_dict().items():
        assert torch.equal(tensor, m.module.state_dict()[name]), name
    assert rs.load(tmp_path / "ckpt").config.describe() == m.config.describe()


def test_every_cli_handler_uses_only_the_public_api():
    """The command line is a client of the API: its modules import rnnscope itself, rnnscope.api*, the
    CLI's own modules, the plumbing (rnnscope.base) and serving, nothing below."""
    import ast
    from pathlib import Path
    allowed = ("rnnscope.api", "rnnscope.cli", "rnnscope.base", "rnnscope.serving")
    bad = []
    for path in sorted((Path(rs.__file__).parent / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            bad += [f"{path.name}:{node.lineno} {name}" for name in names if name.startswith("rnnscope.")
                    and not any(name == a or name.startswith(a + ".") for a in allowed)]
    assert bad == []


def test_help_lists_the_api():
    import pydoc
    text = pydoc.render_doc(rs)
    assert all(name in text for name in ("train", "import_torch", "generalise", "Report", "Store"))
