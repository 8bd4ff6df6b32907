"""The compiled tracer (models/reading/compiled.py, numba): on the CPU the tracer runs it, and it gives
the NumPy reference's h and gates for every cell type, from any starting state; the torch path
(what CUDA runs) stays equal to the reference too. tests/test_cells.py holds the CPU tracer --
this loop -- to the reference and to torch for every cell, layer count and input kind."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.models.reading import compiled, tracer
from rnnscope.models.network import reference
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.trace import LayerState

torch.set_num_threads(1)

TEXT = grammar.generate(120, seed=11) + "( ( ( ( 4 ) 3 ) 2 ) 1 ) 0 "
ATOL = 1e-5
KINDS = {"gru": dict(cell="gru"), "lstm": dict(cell="lstm"), "rnn-tanh": dict(cell="rnn"),
         "rnn-relu": dict(cell="rnn", nonlinearity="relu", scale=1.0),   # at x2 it grows to ~500
         "rnn-linear": dict(cell="rnn", nonlinearity="linear", scale=0.5),    # seed 000's SimpleRNN
         "gru-no-bias": dict(cell="gru", bias=False),
         "lstm-no-bias": dict(cell="lstm", bias=False), "rnn-relu-no-bias": dict(cell="rnn", nonlinearity="relu",
                                                                                  bias=False, scale=1.0)}


def make_model(embedding_dim=4, num_layers=2, scale=2.0, **config) -> CharRNN:
    torch.manual_seed(3)
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=6, num_layers=num_layers,
                                embedding_dim=embedding_dim, **config))
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.mul_(scale)   # out of the gates' linear region, so a wrong equation cannot hide
    return model.eval()


def start_state(model: CharRNN) -> list[LayerState]:
    """A nonzero starting state (what a window read in context starts from)."""
    rng = np.random.default_rng(5)
    H, lstm = model.config.hidden_size, model.config.cell == "lstm"
    return [LayerState(rng.uniform(-0.9, 0.9, H).astype(np.float32),
                       rng.uniform(-2, 2, H).astype(np.float32) if lstm else None)
            for _ in range(model.config.num_layers)]


def reference_from(model: CharRNN, text: str, state: list[LayerState]) -> list[dict[str, np.ndarray]]:
    """models/network/reference.py's step functions, stepped by hand from ``state`` (reference.run starts at zero)."""
    cfg, x_seq, layers = model.config, model.input_vectors(text), []
    for k, s in enumerate(state):
        w = model.layer_arrays(k)
        W = (w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
        h, c = s.h.astype(np.float64), None if s.c is None else s.c.astype(np.float64)
        record: dict[str, list] = {}
        for x in x_seq:
            if cfg.cell == "lstm":
                h, c, gates = reference.lstm_step(x, h, c, *W)
                gates = {**gates, "c": c}
            elif cfg.cell == "gru":
                h, gates = reference.gru_step(x, h, *W)
            else:
                h, gates = reference.rnn_step(x, h, *W, cfg.nonlinearity)
            for name, value in {"h": h, **gates}.items():
                record.setdefault(name, []).append(value)
        layers.append({name: np.stack(v) for name, v in record.items()})
        x_seq = layers[-1]["h"]
    return layers


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("embedding_dim", [4, None], ids=["embed", "onehot"])
def test_compiled_and_torch_paths_both_equal_the_reference_from_a_nonzero_state(kind, embedding_dim, monkeypatch):
    model = make_model(embedding_dim, **KINDS[kind])
    state = start_state(model)
    want = reference_from(model, TEXT, state)
    calls = []
    run_layer = compiled.run_layer
    monkeypatch.setattr(compiled, "run_layer", lambda *a, **k: calls.append(1) or run_layer(*a, **k))
    fast = tracer.trace(model, TEXT, state=state)
    assert len(calls) == 2                                   # the CPU trace really ran the compiled loop
    monkeypatch.setattr(tracer, "COMPILED", False)
    slow = tracer.trace(model, TEXT, state=state)
    assert len(calls) == 2                                   # ... and this one did not
    for tr in (fast, slow):
        for k in range(2):
            np.testing.assert_allclose(tr.hidden[k], want[k]["h"], atol=ATOL, rtol=0, err_msg=f"h, layer {k}")
            assert set(tr.gates[k]) == set(want[k]) - {"h"}
            for name in tr.gates[k]:
                np.testing.assert_allclose(tr.gates[k][name], want[k][name], atol=ATOL, rtol=0,
                                           err_msg=f"{name}, layer {k}")
    np.testing.assert_allclose(fast.probs, slow.probs, atol=ATOL, rtol=0)
    assert (np.ptp(want[-1]["h"], axis=0) > 0.05).sum() >= 3   # the states really move (a ReLU unit may die)


@pytest.mark.parametrize("kind", ["gru", "lstm", "rnn-relu"])
def test_hidden_states_carry_the_compiled_state_like_the_trace(kind):
    """What the store and the in-context reader use: h without gates, and the state after it."""
    model = make_model(**KINDS[kind])
    whole = tracer.trace(model, TEXT)
    first, after = tracer.hidden_states(model, TEXT[:50])
    rest, end = tracer.hidden_states(model, TEXT[50:], after)
    for k in range(2):
        np.testing.assert_allclose(np.concatenate([first[k], rest[k]]), whole.hidden[k], atol=ATOL, rtol=0)
        np.testing.assert_array_equal(end[k].h, whole.hidden[k][-1])
        if kind == "lstm":
            np.testing.assert_allclose(end[k].c, whole.gates[k]["c"][-1], atol=1e-6, rtol=0)
        else:
            assert end[k].c is None


def test_run_layer_reads_a_per_character_table_as_it_reads_the_inputs():
    """The first layer's shortcut (input projections once per vocabulary character) changes nothing."""
    model = make_model(5, num_layers=1)
    w = model.layer_arrays(0)
    ids = np.array(model.vocab.encode(TEXT))
    table = model.input_vectors("".join(model.config.vocab)).astype(np.float32)
    by_table = compiled.run_layer("gru", w, table, ids=ids)
    by_rows = compiled.run_layer("gru", w, table[ids])
    np.testing.assert_array_equal(by_table[0], by_rows[0])
    for name in ("r", "z", "n"):
        np.testing.assert_array_equal(by_table[1][name], by_rows[1][name])
    h_only, gates, c = compiled.run_layer("gru", w, table, ids=ids, gates=False)
    np.testing.assert_array_equal(h_only, by_rows[0])
    assert gates == {} and c is None


def test_shapes_the_compiled_loop_cannot_check_are_refused_before_it_runs():
    """No bounds checks run inside the loop: a wrong state, input width or character id is refused first."""
    from rnnscope.base.errors import RnnscopeError
    model = make_model(5, num_layers=1)
    w = model.layer_arrays(0)
    table = model.input_vectors("".join(model.config.vocab)).astype(np.float32)
    for bad in [dict(x=table, ids=np.array([0, len(table)])),            # an id past the table
                dict(x=table[:, :4], ids=np.array([0, 1])),              # inputs of another width
                dict(x=table, ids=np.array([0]), h0=np.zeros(5))]:       # a state of another size
        with pytest.raises(RnnscopeError, match="of another shape"):
            compiled.run_layer("gru", w, **bad)



def test_the_views_come_in_the_same_order_from_either_path(monkeypatch):
    """The page's view buttons follow the trace's order: compiled (CPU) and torch (CUDA) must agree."""
    import torch

    from rnnscope.models.reading import tracer
    from rnnscope.models.network.model import CharRNN, ModelConfig
    for cell, views in (("gru", ["h", "z", "r", "n"]), ("lstm", ["h", "i", "f", "g", "o", "c"])):
        torch.manual_seed(0)
        model = CharRNN(ModelConfig(vocab=list("() 01"), cell=cell, hidden_size=3))
        assert tracer.trace(model, "( 1 ) 0 ").views == views
        with monkeypatch.context() as m:
            m.setattr(tracer, "COMPILED", False)
            assert tracer.trace(model, "( 1 ) 0 ").views == views
