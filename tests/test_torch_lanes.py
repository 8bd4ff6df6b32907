"""The state store built in one process by torch's own modules (models/store/torch_lanes.py; cuDNN when
the model is on a GPU, here torch on the CPU): the same plan and seam checks as the Dask build,
states equal to the single-process float64 read to float32 precision, and every seam of a model
that never forgets recomputed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import zarr

from rnnscope.models.network import checkpoint

from rnnscope.models.reading import tracer
from rnnscope.models.store.dask_build import kernel_weights
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.base.paths import DEFAULT_CHECKPOINT
from rnnscope.models.store.zarr_store import build_store, open_store
from rnnscope.models.store.kernel import lane_layout, seam_gap
from rnnscope.models.store.torch_lanes import TorchLanes, build_store_torch
from rnnscope.cli import main
from hand_built import counter, lstm_counter

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def gru():
    return checkpoint.load(DEFAULT_CHECKPOINT)


def test_the_shipped_gru_equals_the_single_process_read(gru, tmp_path):
    text = heldout_of(DEFAULT_CHECKPOINT).text
    report = build_store_torch(gru, text, tmp_path / "s.zarr", chunk=20_000)
    root = open_store(tmp_path / "s.zarr", gru, text)
    values = tracer.hidden_states(gru, text)[0][0]
    assert np.abs(root["h_l0"][:] - values).max() <= 1e-5        # float32 (torch) against float64
    # one span (one process) of 200,000 characters: 50 lanes of 4 burn-ins, read side by side
    assert (report.chunks, report.tasks, report.lanes, report.seams, report.agreed) == (10, 1, 50, 49, 49)
    assert root.attrs["built"]["by"] == "torch on cpu"


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_lanes_by_torch_equal_lanes_by_numpy(cell):
    """One span, 20 lanes and a last lane 7 characters longer, after burn-ins: the same states,
    seams and states after each lane from both engines, to float32 precision."""
    torch.manual_seed(4)
    model = CharRNN(ModelConfig(vocab=list("ab()"), cell=cell, hidden_size=6, num_layers=2)).eval()
    span = np.random.default_rng(3).integers(0, 4, 20 * 400 + 7)
    layout = lane_layout(len(span), 20, 100)
    first = kernel_weights(model).read(span[:50], None)[1]
    by_torch = TorchLanes(model).read_lanes(span, layout, 100, first)
    by_numpy = kernel_weights(model).read_lanes(span, layout, 100, first)
    for k in range(2):
        assert by_torch[0][k].shape == (len(span), 6)
        assert np.abs(by_torch[0][k] - by_numpy[0][k]).max() <= 1e-5
    for a, b in zip(by_torch[1][1:] + by_torch[2], by_numpy[1][1:] + by_numpy[2]):
        assert seam_gap(a, b) <= 1e-5


def test_a_model_that_never_forgets_is_recomputed_exactly(tmp_path):
    text = "".join(np.random.default_rng(0).choice(list("abc"), 30_000))
    report = build_store_torch(counter(), text, tmp_path / "s.zarr", chunk=3_000, burn_in=500, lane=600)
    assert (report.lanes, report.agreed, report.recomputed) == (50, 0, 49)
    counts = np.cumsum(np.eye(3)[["abc".index(c) for c in text]], axis=0)
    root = zarr.open_group(tmp_path / "s.zarr", mode="r")
    assert np.array_equal(root["h_l0"][:], counts) and np.array_equal(root["h_l1"][:], counts)


def test_an_lstm_seam_is_judged_by_its_cell_state_too(tmp_path):
    text = "a" * 3_000 + "b" * 3_500
    report = build_store_torch(lstm_counter(), text, tmp_path / "s.zarr", chunk=1_000, burn_in=200)
    h = zarr.open_group(tmp_path / "s.zarr", mode="r")["h_l0"][:, 0]
    assert report.agreed == 0 and report.recomputed == report.seams == 7
    assert np.abs(h - np.tanh(np.cumsum([1.0 if ch == "a" else -1.0 for ch in text]))).max() <= 1e-6


def test_a_two_layer_lstm_equals_the_single_process_store(tmp_path):
    torch.manual_seed(3)
    model = CharRNN(ModelConfig(vocab=list("ab()"), cell="lstm", hidden_size=6, num_layers=2)).eval()
    text = "".join(np.random.default_rng(1).choice(list("ab()"), 20_011))     # lanes that do not divide it
    report = build_store_torch(model, text, tmp_path / "t.zarr", chunk=2_000, burn_in=300, lane=300)
    build_store(model, text, tmp_path / "one.zarr")
    t, one = (zarr.open_group(tmp_path / n, mode="r") for n in ("t.zarr", "one.zarr"))
    assert report.lanes == 66 and report.agreed + report.recomputed == report.seams == 65
    assert all(np.abs(t[f"h_l{k}"][:] - one[f"h_l{k}"][:]).max() <= 1e-5 for k in range(2))


def test_cli_builds_with_torch_on_a_device(gru, tmp_path, capsys):
    out = tmp_path / "held.zarr"
    assert main(["store", "build", "--device", "cpu", "--chunk", "50000", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "by torch on cpu" in said and "49 checked" in said and "49 agreed" in said
    text = heldout_of(DEFAULT_CHECKPOINT).text
    assert np.abs(open_store(out, gru, text)["h_l0"][:] - tracer.hidden_states(gru, text)[0][0]).max() <= 1e-5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where torch sees no GPU")
def test_a_device_torch_cannot_see_is_refused_in_one_line(tmp_path, capsys):
    assert main(["store", "build", "--device", "cuda", "-o", str(tmp_path / "s.zarr")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("device cuda asked for, but this torch build sees no CUDA GPU") and "\n" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs,said", [({"burn_in": 500, "lane": 400}, "lane 400"), ({"chunk": 0}, "chunk 0"),
                                         ({"tol": -1.0}, "tolerance -1.0"), ({"burn_in": -1}, "burn-in -1")])
def test_a_plan_that_cannot_be_read_is_refused_in_one_line_and_nothing_is_written(gru, tmp_path, kwargs, said):
    """A lane shorter than its burn-in could not take its burn-in from the lane before; the others are
    meaningless. Checked before anything is made (the plan is the Dask build's too: build_store_lanes)."""
    from rnnscope.base.errors import RnnscopeError
    with pytest.raises(RnnscopeError, match="the chunk must be at least 1 character") as info:
        build_store_torch(gru, "( 1 ) 0 " * 100, tmp_path / "s.zarr", **kwargs)
    assert said in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
