"""Corpus states at scale (docs/architecture.md, Scale): the state store built by a dask.distributed cluster of
2 worker processes equals the single-process read of the whole text from its start; a model
that never forgets forces every seam to be recomputed and still equals it; labels and match read
the store chunk by chunk and equal the in-memory results. One cluster for the whole module."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from rnnscope.analysis.describe.labels import annotation_codes, label_cells
from rnnscope.analysis.describe.match import match, on_cells
from rnnscope.analysis.decode.probing import annotations_of
from rnnscope.analysis.describe.store_labels import label_store, store_annotations, store_text
from rnnscope.analysis.describe.tally import tally
from rnnscope.models.network import checkpoint
from rnnscope.models.reading import tracer
from rnnscope.models.store.dask_build import build_store_dask, dask_client
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.base.paths import DEFAULT_CHECKPOINT
from rnnscope.models.store.zarr_store import build_store, open_store
from rnnscope.cli import main
from hand_built import counter, lstm_counter

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def gru():
    return checkpoint.load(DEFAULT_CHECKPOINT)


@pytest.fixture(scope="module")
def gru_store(client, gru, tmp_path_factory):
    """The shipped GRU's held-out stream (200,000 characters) in chunks of 20,000, and every state
    of it read in one call in this process."""
    text = heldout_of(DEFAULT_CHECKPOINT).text
    path = tmp_path_factory.mktemp("gru") / "states.zarr"
    report = build_store_dask(gru, text, path, client, chunk=20_000, burn_in=1_000)
    return text, path, report, one_process(gru, text)[0]


def one_process(model: CharRNN, text: str) -> list[np.ndarray]:
    """Every layer's h read from the text's start in one call, in this process (the tracer's path)."""
    return tracer.hidden_states(model, text)[0]


def test_gru_store_equals_the_single_process_read(gru, gru_store):
    text, path, report, values = gru_store
    root = open_store(path, gru, text)
    gap = float(np.abs(root["h_l0"][:] - values).max())
    print(f"max |dask store - single-process read| over {len(text):,} steps x 15 cells: {gap:.2e}")
    assert gap <= 1e-5
    # 10 chunks shared by 2 workers: 2 spans of 100,000, each cut into 25 lanes of 4 burn-ins, read side by side
    assert (report.chunks, report.tasks, report.lanes, report.workers) == (10, 2, 50, 2)
    assert (report.seams, report.agreed, report.recomputed) == (49, 49, 0)
    assert root.attrs["built"]["agreed"] == 49 and root.attrs["built"]["by"] == "dask"
    assert store_text(root) == text
    assert not [p for p in path.parent.iterdir() if p.name != path.name]       # no temporary folder left


@pytest.mark.parametrize("lane", [2_000, 600])      # 7 lanes a span read one by one; 25 read side by side
def test_a_model_that_never_forgets_recomputes_every_seam_and_stays_exact(client, tmp_path, lane):
    text = "".join(np.random.default_rng(0).choice(list("abc"), 30_000))
    report = build_store_dask(counter(), text, tmp_path / "s.zarr", client, chunk=3_000, burn_in=500, lane=lane)
    lanes = 2 * (15_000 // lane)
    assert (report.tasks, report.lanes, report.seams, report.agreed, report.recomputed) == (2, lanes, lanes - 1, 0,
                                                                                          lanes - 1)
    counts = np.cumsum(np.eye(3)[["abc".index(c) for c in text]], axis=0)     # the counts, by NumPy
    root = zarr.open_group(tmp_path / "s.zarr", mode="r")
    assert np.array_equal(root["h_l0"][:], counts) and np.array_equal(root["h_l1"][:], counts)


def test_an_lstm_seam_is_judged_by_its_cell_state_too(client, tmp_path):
    model, text = lstm_counter(), "a" * 3_000 + "b" * 3_500
    report = build_store_dask(model, text, tmp_path / "s.zarr", client, chunk=1_000, burn_in=200)
    h = zarr.open_group(tmp_path / "s.zarr", mode="r")["h_l0"][:]
    c = np.cumsum([1.0 if ch == "a" else -1.0 for ch in text])                # c, by counting
    assert report.lanes == 5 + 3 and report.agreed == 0 and report.recomputed == 7    # spans of 4,000 and 2,500
    assert np.abs(h[:, 0] - np.tanh(c)).max() <= 1e-5
    assert np.abs(h - one_process(model, text)[0]).max() <= 1e-6


def test_a_two_layer_lstm_equals_the_single_process_store(client, tmp_path):
    torch.manual_seed(3)
    model = CharRNN(ModelConfig(vocab=list("ab()"), cell="lstm", hidden_size=6, num_layers=2)).eval()
    text = "".join(np.random.default_rng(1).choice(list("ab()"), 20_000))
    report = build_store_dask(model, text, tmp_path / "d.zarr", client, chunk=2_000, burn_in=300, lane=300)
    build_store(model, text, tmp_path / "one.zarr")
    d, one = (zarr.open_group(tmp_path / n, mode="r") for n in ("d.zarr", "one.zarr"))
    assert report.lanes == 2 * 33 and report.agreed + report.recomputed == report.seams == 65   # side by side
    assert all(np.abs(d[f"h_l{k}"][:] - one[f"h_l{k}"][:]).max() <= 1e-5 for k in range(2))
    assert dict(d.attrs)["model"] == dict(one.attrs)["model"]


def test_a_scheduler_given_by_address_builds_the_same_store(client, gru, tmp_path):
    text = heldout_of(DEFAULT_CHECKPOINT).text[:30_000]
    with dask_client(scheduler=client.scheduler.address) as remote:
        build_store_dask(gru, text, tmp_path / "s.zarr", remote, chunk=5_000)
    h = zarr.open_group(tmp_path / "s.zarr", mode="r")["h_l0"][:]
    assert np.abs(h - one_process(gru, text)[0]).max() <= 1e-5


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(gru, tmp_path):
    with socket.socket() as s:                    # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(RnnscopeError, match="no Dask scheduler answered within 2 s") as info:
        with dask_client(scheduler=f"tcp://127.0.0.1:{port}", timeout=2) as c:
            build_store_dask(gru, "( )", tmp_path / "s.zarr", c)
    assert time.perf_counter() - started < 30 and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_store_is_refused_and_kept(client, gru, gru_store, capsys):
    text, path, _, _ = gru_store
    before = sorted(p.name for p in path.iterdir())
    with pytest.raises(RnnscopeError, match="exists; a store is never overwritten"):
        build_store_dask(gru, text, path, client)
    assert main(["store", "build", "-o", str(path), "--workers", "1"]) == 2     # refused before any worker starts
    err = capsys.readouterr().err.strip()
    assert "exists; a store is never overwritten" in err and "\n" not in err
    assert sorted(p.name for p in path.iterdir()) == before
    (bad := path.parent / "bad.txt").write_text("( x )")
    assert main(["store", "build", "--corpus", str(bad), "-o", str(path.parent / "new.zarr"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not in the model's vocabulary" in err and "\n" not in err and not (path.parent / "new.zarr").exists()
    bad.unlink()
    assert open_store(path, gru, text)["h_l0"].shape == (len(text), 15)


def test_labels_read_chunk_by_chunk_equal_the_labels_in_memory(gru, gru_store):
    text, path, _, values = gru_store
    root = open_store(path, gru, text)
    held = heldout_of(DEFAULT_CHECKPOINT)
    ann = store_annotations(text, held)
    codes = annotation_codes(ann)
    whole, chunked = tally(values, codes, (-1.0, 1.0)), tally(root["h_l0"], codes, (-1.0, 1.0), chunk=7_000)
    assert np.array_equal(whole.hist, chunked.hist)
    for name, t in whole.by_annotation.items():       # counts exact; sums to float rounding
        assert np.array_equal(t.tables, chunked.by_annotation[name].tables)
        np.testing.assert_allclose(t.sums, chunked.by_annotation[name].sums, rtol=1e-9, atol=1e-6)
    in_memory = label_cells(values, ann, (-1.0, 1.0))
    from_store = label_store(root, 0, ann, chunk=7_000)
    assert [(lab.cell, lab.label) for lab in from_store] == [(lab.cell, lab.label) for lab in in_memory]
    other = text[:5_000] + " "                         # not the held-out stream: the grammar's annotations of it
    assert store_annotations(other, held).names() == ann.names()


def test_cli_builds_on_a_scheduler_then_labels_and_match_read_the_store(client, gru, gru_store, tmp_path, capsys):
    text, _, _, values = gru_store
    out = tmp_path / "held.zarr"
    assert main(["store", "build", "--scheduler", client.scheduler.address, "--chunk", "50000", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "4 chunks of 50,000, read as 50 lanes in 2 task(s)" in said
    assert "49 checked" in said and "49 agreed" in said and "0 recomputed" in said
    assert np.abs(open_store(out, gru, text)["h_l0"][:] - values).max() <= 1e-5
    assert main(["store", "build", "--one-process", "-o", str(tmp_path / "one.zarr")]) == 0
    assert "read in one process" in capsys.readouterr().out
    assert np.abs(open_store(tmp_path / "one.zarr", gru, text)["h_l0"][:] - values).max() <= 1e-6
    assert main(["store", "labels", "--store", str(out), "--json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    expected = label_cells(values, annotations_of(heldout_of(DEFAULT_CHECKPOINT), len(text)), (-1.0, 1.0))
    assert [c["label"] for c in cells] == [lab.label for lab in expected]
    start = next(s for s in range(190) if len(on_cells(values[:200], s, s + 4, 0.5)))   # a span with on-cells
    assert main(["match", "--index", "0", "--window", "200", "--start", str(start), "--end", str(start + 4),
                 "--threshold", "0.5", "--store", str(out), "--json", "--device", "cpu"]) == 0
    found = json.loads(capsys.readouterr().out)
    cells_on = found["selection"]["on_cells"]
    assert cells_on == on_cells(values[:200], start, start + 4, 0.5).tolist()
    expected = match(values, cells_on, 0.5, 5)
    assert [(m["start"], m["end"]) for m in found["matches"]] == [(m.start, m.end) for m in expected]
    assert Path(found["corpus"]["store"]) == out
