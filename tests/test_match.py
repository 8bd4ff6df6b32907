"""Pattern select and match against a plain loop over every step, for every
chunking of the corpus; and the Zarr state store: written in context, equal to a trace of the
whole text, refused when it belongs to another model or text."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.describe.match import match, on_cells
from rnnscope.models.reading import tracer
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.store.zarr_store import build_store, open_store, store_for

torch.set_num_threads(1)


def brute_force(values, cells, threshold, length, top):
    on = values > threshold
    runs, t, N = [], 0, len(values)
    while t < N:
        if on[t, cells].all():
            s = t
            while t < N and on[t, cells].all():
                t += 1
            together = on[s:t].all(axis=0)
            extra = int(together.sum() - together[cells].sum())
            runs.append((extra, abs((t - s) - length), s, t - 1))
        else:
            t += 1
    return sorted(runs)[:top]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 50, 1000])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("top", [1, 15, 1000])
def test_match_equals_a_plain_loop_for_any_chunking(chunk, seed, top):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, (300, 6)).astype(np.float32)
    values[40:47, [1, 4]] = 0.9                    # a clean pattern to find
    cells = [1, 4]
    got = [(m.extra_on, m.length_gap, m.start, m.end) for m in match(values, cells, 0.5, 7, top=top, chunk=chunk)]
    want = brute_force(values, cells, 0.5, 7, top)
    assert got == want and len(want) == min(top, len(brute_force(values, cells, 0.5, 7, 10_000)))
    assert len(brute_force(values, cells, 0.5, 7, 10_000)) > 15          # the top really cuts


def test_match_reads_float64_and_a_run_to_the_very_end():
    values = np.zeros((10, 3))
    values[7:, 0] = 1.0
    values[8:, 2] = 1.0
    assert [m.to_dict() for m in match(values, [0], 0.5, 3, chunk=4)] == [
        {"start": 7, "end": 9, "extra_on": 0, "length_gap": 0}]


def test_on_cells_are_on_inside_and_off_just_outside():
    v = np.full((10, 4), -1.0)
    v[3:6, 0] = 1.0                  # on exactly for 3..5
    v[2:6, 1] = 1.0                  # on too early: not an on-cell of 3..5
    v[3:6, 2] = 1.0
    v[6, 2] = 1.0                    # stays on after: not an on-cell either
    assert list(on_cells(v, 3, 5, 0.5)) == [0]
    assert list(on_cells(v, 0, 9, 0.5)) == []
    with pytest.raises(RnnscopeError, match="not inside the sequence"):
        on_cells(v, 5, 12, 0.5)


def test_an_empty_selection_is_refused():
    with pytest.raises(RnnscopeError, match="no on-cells"):
        match(np.zeros((10, 3)), [], 0.5, 3)


def tiny(seed=0) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=5, num_layers=2)).eval()


def test_the_store_holds_the_states_read_in_context(tmp_path):
    model, text = tiny(), grammar.generate(2_500, seed=3)
    root = open_store(build_store(model, text, tmp_path / "s.zarr", chunk=300), model, text)
    whole = tracer.trace(model, text)
    for k in range(2):
        np.testing.assert_allclose(root[f"h_l{k}"][:], whole.hidden[k], atol=2e-5)
    assert root["chars"][:].tobytes().decode("utf-32-le") == text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary left
    found = match(open_store(tmp_path / "s.zarr", model, text)["h_l0"], [0], 0.0, 5, chunk=700)
    assert found == match(whole.hidden[0], [0], 0.0, 5)


def test_a_store_of_another_model_or_text_is_refused_never_mixed(tmp_path):
    model, text = tiny(), grammar.generate(500, seed=3)
    store_for(model, text, tmp_path / "s.zarr")
    with pytest.raises(RnnscopeError, match="written by another model"):
        open_store(tmp_path / "s.zarr", tiny(seed=1))
    with pytest.raises(RnnscopeError, match="another text"):
        store_for(model, text + "( 1 ) 0 ", tmp_path / "s.zarr")
    with pytest.raises(RnnscopeError, match="never overwritten"):
        build_store(model, text, tmp_path / "s.zarr")
    with pytest.raises(RnnscopeError, match="not a readable state store|not an rnnscope state store"):
        open_store(tmp_path, model)


@pytest.mark.parametrize("argv, message", [
    (["--start", "1", "--end", "2"], "no cell of layer 0 is above 0.5 throughout steps 1 .. 2"),
    (["--start", "50", "--end", "70"], "the span 50 .. 70 is not inside the sequence (0 .. 59)"),
    (["--start", "48", "--end", "51", "--layer", "1"], "--layer 1 does not exist"),
])
def test_cli_match_refuses_bad_spans_in_one_line_and_builds_no_store(capsys, tmp_path, argv, message):
    from app_fixtures import _copy_checkpoint
    from rnnscope.cli import main
    model = _copy_checkpoint(tmp_path / "m")
    code = main(["match", "--model", str(model), "--index", "5000", "--window", "60", *argv,
                 "--store", str(tmp_path / "s.zarr"), "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s.zarr").exists()
