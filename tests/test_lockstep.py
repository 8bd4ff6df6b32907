"""Lanes read side by side (models/store/lockstep.py) against the plain NumPy cell equations
(models/network/reference.py) stepped lane by lane, for every cell type; and a store span cut into lanes
(models/store/kernel.py) read side by side, one by one, and as one stream: the same states."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import zarr

from rnnscope.models.store import lockstep, kernel as store_kernel

from rnnscope.models.network import reference
from rnnscope.models.network.checkpoint import load
from rnnscope.models.store.dask_build import kernel_weights
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.base.paths import DEFAULT_CHECKPOINT

KINDS = [("gru", "tanh"), ("lstm", "tanh"), ("rnn", "tanh"), ("rnn", "relu"), ("rnn", "linear")]


def model_of(cell: str, nonlinearity: str, layers: int, embedding: bool, scale: float = 1.0) -> CharRNN:
    torch.manual_seed(7)
    model = CharRNN(ModelConfig(vocab=list("ab()"), cell=cell, nonlinearity=nonlinearity, hidden_size=5,
                                num_layers=layers, embedding_dim=3 if embedding else None)).eval()
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.mul_(scale if nonlinearity == "tanh" else 0.5)    # a ReLU or linear RNN must contract, or it overflows
    return model


def by_reference(model: CharRNN, ids: np.ndarray, state) -> tuple[list[np.ndarray], list]:
    """Every layer's h [B, T, H] and the final (h, c) by models/network/reference.py, all lanes as one batch."""
    cfg = model.config
    table = kernel_weights(model).table.astype(np.float64)
    x, hidden, after = table[ids], [], []                                   # x [T, B, D]
    for k in range(cfg.num_layers):
        w = model.layer_arrays(k)
        h = np.array(state[k][0], np.float64)
        c = np.array(state[k][1], np.float64) if cfg.cell == "lstm" else None
        out = []
        for t in range(len(ids)):
            if cfg.cell == "lstm":
                h, c, _ = reference.lstm_step(x[t], h, c, *w.values())
            elif cfg.cell == "gru":
                h, _ = reference.gru_step(x[t], h, *w.values())
            else:
                h, _ = reference.rnn_step(x[t], h, *w.values(), nonlinearity=cfg.nonlinearity)
            out.append(h.astype(np.float32))
        x = np.stack(out).astype(np.float64)
        hidden.append(np.stack(out, axis=1))
        after.append((h, c))
    return hidden, after


def random_state(model: CharRNN, B: int, rng) -> list:
    cfg = model.config
    return [(rng.uniform(-0.9, 0.9, (B, cfg.hidden_size)),
             rng.uniform(-2, 2, (B, cfg.hidden_size)) if cfg.cell == "lstm" else None) for _ in range(cfg.num_layers)]


@pytest.mark.parametrize("cell,nonlinearity", KINDS)
@pytest.mark.parametrize("layers,embedding", [(1, False), (2, True)])
def test_lanes_side_by_side_equal_the_reference_equations(cell, nonlinearity, layers, embedding):
    model = model_of(cell, nonlinearity, layers, embedding, scale=3.0)     # gates well away from 0.5
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 4, (300, 6))                 # 300 steps (> one BLOCK: the upper layers' blocks meet)
    state = random_state(model, 6, rng)
    hidden, after = lockstep.read(kernel_weights(model), ids, state)
    expected, expected_after = by_reference(model, ids, state)
    for k in range(layers):
        assert hidden[k].shape == (6, 300, 5) and hidden[k].dtype == np.float32
        np.testing.assert_allclose(hidden[k], expected[k], atol=2e-6, rtol=0)
        np.testing.assert_allclose(after[k][0], expected_after[k][0], atol=1e-6, rtol=0)
        if cell == "lstm":
            np.testing.assert_allclose(after[k][1], expected_after[k][1], atol=1e-6, rtol=0)
        else:
            assert after[k][1] is None


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_each_lane_stops_at_its_own_end(cell):
    """Padding after a lane's end does not reach what it returns: each lane's end state equals that
    lane read alone for its own length."""
    model = model_of(cell, "tanh", 2, False)
    w, rng = kernel_weights(model), np.random.default_rng(1)
    ids, ends = rng.integers(0, 4, (40, 3)), np.array([40, 17, 1])
    _, after = lockstep.read(w, ids, None, ends, keep=False)
    for b, end in enumerate(ends):
        _, alone = lockstep.read(w, ids[:end, b:b + 1])
        for (h, c), (h_alone, c_alone) in zip(after, alone):     # to rounding: BLAS may sum 3 rows unlike 1
            assert np.abs(h[b] - h_alone[0]).max() <= 1e-12
            assert c is None or np.abs(c[b] - c_alone[0]).max() <= 1e-12
    with pytest.raises(ValueError, match="must end within the 40 steps"):
        lockstep.read(w, ids, None, np.array([40, 41, 1]))


def test_saturated_gates_give_their_exact_limits_without_a_warning():
    """Pre-activations past +-709 make exp overflow to inf: the sigmoid is then exactly 0, as it
    should be, and NumPy's overflow warning is not raised for it."""
    model = model_of("gru", "tanh", 1, False, scale=2000.0)
    ids = np.random.default_rng(2).integers(0, 4, (50, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hidden, _ = lockstep.read(kernel_weights(model), ids)
    with np.errstate(over="ignore"):
        expected, _ = by_reference(model, ids, [(np.zeros((4, 5)), None)])
    assert np.isfinite(hidden[0]).all()
    np.testing.assert_allclose(hidden[0], expected[0], atol=1e-6, rtol=0)


def test_a_span_read_side_by_side_one_by_one_and_as_one_stream_gives_the_same_states(tmp_path):
    """The shipped GRU on 60,000 held-out characters starting at 20,000 (a burn-in before the span):
    the span cut into 20 lanes read side by side, into 5 read one by one by the compiled loop, and
    the whole text read as one stream from its start write the same states; every seam agrees."""
    model = load(DEFAULT_CHECKPOINT)
    w = kernel_weights(model)
    ids = np.asarray(model.vocab.encode(heldout_of(DEFAULT_CHECKPOINT).text[:80_000]), np.int32)
    stream, stream_after = store_kernel.read(w, ids, None)
    runs = {}
    for lanes in (20, 5):
        assert (lanes >= store_kernel.MIN_LOCKSTEP) == (lanes == 20)
        path = str(tmp_path / f"{lanes}.zarr")
        zarr.create_array(f"{path}/h_l0", shape=(80_000, 15), chunks=(20_000, 15), dtype="float32")
        lanes_out = store_kernel.span_task(w, path, ids[19_000:], 20_000, 1_000, lanes)
        runs[lanes] = zarr.open_array(f"{path}/h_l0")[20_000:], lanes_out
        assert len(lanes_out) == lanes
        for (seam, _), (_, before) in zip(lanes_out[1:], lanes_out[:-1]):
            assert store_kernel.seam_gap(seam, before) <= 1e-6
    side, one = runs[20][0], runs[5][0]
    assert np.abs(side - stream[0][20_000:]).max() <= 1e-6 and np.abs(one - stream[0][20_000:]).max() <= 1e-6
    assert store_kernel.seam_gap(runs[20][1][-1][1], stream_after) <= 1e-6


def test_lane_layout_covers_the_span_and_refuses_lanes_shorter_than_a_burn_in():
    layout = store_kernel.lane_layout(1_003, 4, 100)
    assert layout == [(0, 250), (250, 250), (500, 250), (750, 253)]
    assert store_kernel.lane_layout(50, 1, 1_000) == [(0, 50)]          # one lane needs no burn-in inside the span
    with pytest.raises(ValueError, match="cannot be cut into 11 lanes of at least 100"):
        store_kernel.lane_layout(1_000, 11, 100)
