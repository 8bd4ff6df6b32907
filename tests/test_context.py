"""Held-out windows read in context (docs/methods.md, "Read in context"): a window at
index N shows the states the model holds at N after reading the stream from its start, the
same numbers as one trace of the whole stream cut at N -- in the models layer, the page and
`rnnscope trace --index N --window W`. Reading from the zero state stays a choice, and says so."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.app.pages.state import AppState
from rnnscope.models.network import checkpoint
from rnnscope.models.reading import tracer
from rnnscope.models.reading.context import StreamReader
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.trace import LayerState, Trace
from rnnscope.cli import main


torch.set_num_threads(1)

STREAM = grammar.generate(2_600, seed=7)


def tiny(cell: str, layers: int, embedding_dim: int | None = 4) -> CharRNN:
    torch.manual_seed(1)
    return CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, cell=cell, hidden_size=5,
                               num_layers=layers, embedding_dim=embedding_dim)).eval()


def assert_close(a: Trace, b: Trace, atol: float = 2e-5) -> None:
    assert a.text == b.text
    for k in range(a.num_layers):
        np.testing.assert_allclose(a.hidden[k], b.hidden[k], atol=atol)
        assert a.gates[k].keys() == b.gates[k].keys()
        for name in a.gates[k]:
            np.testing.assert_allclose(a.gates[k][name], b.gates[k][name], atol=atol)
    np.testing.assert_allclose(a.probs, b.probs, atol=atol)


MODELS = {"gru": ("gru", 1, 4), "gru-2-layers": ("gru", 2, 4), "lstm-one-hot": ("lstm", 1, None),
          "lstm-2-layers": ("lstm", 2, 4), "rnn": ("rnn", 1, 4)}


@pytest.mark.parametrize("name", MODELS)
def test_reading_on_from_a_final_state_continues_the_same_trace(name):
    model = tiny(*MODELS[name])
    whole = tracer.trace(model, STREAM[:900])
    first = tracer.trace(model, STREAM[:400])
    rest = tracer.trace(model, STREAM[400:900], state=first.final_state())
    assert_close(rest, whole.slice(400, 900))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("index", [0, 1, 99, 100, 101, 1234, 2_550])
def test_a_window_read_in_context_is_the_whole_streams_trace_cut_there(name, index):
    model = tiny(*MODELS[name])
    whole = tracer.trace(model, STREAM)
    reader = StreamReader(model, STREAM, grammar.annotate(STREAM), stride=100)
    window = reader.trace(index, 120)
    stop = min(index + 120, len(STREAM))
    assert_close(window, whole.slice(index, stop))
    np.testing.assert_array_equal(window.annotations["depth"], grammar.annotate(STREAM)["depth"][index:stop])


def test_run_hidden_gives_the_state_a_trace_ends_in():
    model = tiny("lstm", 2)
    state = tracer.run_hidden(model, STREAM[:700])
    for got, want in zip(state, tracer.trace(model, STREAM[:700]).final_state()):
        np.testing.assert_allclose(got.h, want.h, atol=2e-5)
        np.testing.assert_allclose(got.c, want.c, atol=2e-5)


def test_a_mid_stream_window_from_the_zero_state_is_not_what_the_model_holds_there():
    """Why the page reads in context: from the zero state the first characters differ a lot."""
    model = tiny("gru", 1)
    whole = tracer.trace(model, STREAM)
    fresh = tracer.trace(model, STREAM[1500:1600])
    assert np.abs(fresh.hidden[0][0] - whole.hidden[0][1500]).max() > 0.05


def test_a_starting_state_of_the_wrong_shape_is_refused():
    model = tiny("lstm", 1)
    with pytest.raises(RnnscopeError, match=r"1 layer\(s\) of h \[5\] and c"):
        tracer.trace(model, "( 1 ) 0 ", state=[LayerState(np.zeros(5, np.float32))])   # no c
    with pytest.raises(RnnscopeError, match="1 layer"):
        tracer.trace(model, "( 1 ) 0 ", state=[LayerState(np.zeros(4, np.float32), np.zeros(4, np.float32))])


@pytest.mark.parametrize("index, length", [(-1, 10), (len(STREAM), 10), (5, 0)])
def test_a_window_outside_the_stream_is_refused(index, length):
    with pytest.raises(RnnscopeError, match="outside the stream"):
        StreamReader(tiny("gru", 1), STREAM).trace(index, length)


# --- the page --------------------------------------------------------------------------------------

def test_the_page_reads_held_out_windows_in_context_and_says_so(default_model):
    model = checkpoint.load(default_model)
    held = heldout_of(default_model)
    whole = tracer.trace(model, held.text[:5_300])
    state = AppState(default_model, index=5_000, window=300)
    assert "read in context" in state.sequence_note
    assert_close(state.trace, whole.slice(5_000, 5_300))
    np.testing.assert_array_equal(state.trace.annotations["depth"], held.annotations["depth"][5_000:5_300])


def test_the_zero_state_stays_a_choice_and_says_so(default_model):
    model = checkpoint.load(default_model)
    held = heldout_of(default_model)
    state = AppState(default_model, index=5_000, window=300)
    state.reading = "from the zero state"
    assert "read from the zero state" in state.sequence_note
    assert_close(state.trace, tracer.trace(model, held.text[5_000:5_300]))
    # the true depth is still the stream's, counted from its start
    np.testing.assert_array_equal(state.trace.annotations["depth"], held.annotations["depth"][5_000:5_300])
    state.reading = "in context"
    assert_close(state.trace, tracer.trace(model, held.text[:5_300]).slice(5_000, 5_300))


# --- the command line ----------------------------------------------------------------------------

def test_cli_trace_index_window_gives_the_pages_in_context_states(capsys, default_model, tmp_path):
    out = tmp_path / "w.npz"
    assert main(["trace", "--model", str(default_model), "--index", "5000", "--window", "300", "-o", str(out)]) == 0
    assert "held-out characters 5,000 .. 5,299, read in context" in capsys.readouterr().out
    page = AppState(default_model, index=5_000, window=300).trace
    saved = Trace.load(out)
    assert_close(saved, page, atol=0)
    np.testing.assert_array_equal(saved.annotations["depth"], page.annotations["depth"])


def test_cli_trace_from_zero_state(capsys, default_model, tmp_path):
    out = tmp_path / "z.npz"
    assert main(["trace", "--model", str(default_model), "--index", "5000", "--window", "50",
                 "--from-zero-state", "-o", str(out)]) == 0
    assert "read from the zero state" in capsys.readouterr().out
    held = heldout_of(default_model)
    assert_close(Trace.load(out), tracer.trace(checkpoint.load(default_model), held.text[5_000:5_050]))


@pytest.mark.parametrize("argv, message", [
    (["--index", "200000"], "outside the held-out stream (0 .. 199,999)"),
    (["--index", "-3"], "outside the held-out stream"),
    (["--index", "10", "--window", "0"], "--window must be at least 1"),
    (["--text", "( 1 ) 0 ", "--window", "5"], "go with --index"),
    (["--text", "( 1 ) 0 ", "--from-zero-state"], "go with --index"),
])
def test_cli_trace_window_errors_are_one_line(capsys, default_model, tmp_path, argv, message):
    code = main(["trace", "--model", str(default_model), *argv, "-o", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.npz").exists()


def test_cli_trace_help_documents_in_context_windows(capsys):
    with pytest.raises(SystemExit):
        main(["trace", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--index" in out and "--window" in out and "in context" in out and "--from-zero-state" in out


@pytest.mark.parametrize("name", ["gru-2-layers", "lstm-2-layers"])
def test_a_window_knows_the_state_it_was_read_from_and_keeps_it_on_disk(name, tmp_path):
    model = tiny(*MODELS[name])
    whole = tracer.trace(model, STREAM[:700])
    window = StreamReader(model, STREAM[:700], stride=100).trace(250, 100)
    for got, want in zip(window.state_before(0), whole.state_before(250)):
        np.testing.assert_allclose(got.h, want.h, atol=2e-5)
        assert (got.c is None) == (want.c is None)
    # reading on from that state gives the window again
    assert_close(tracer.trace(model, window.text, state=window.initial), window)
    window.save(tmp_path / "w.npz")
    loaded = Trace.load(tmp_path / "w.npz")
    assert loaded.views == window.views                 # init_* keys are not taken for gates
    for got, want in zip(loaded.initial, window.initial):
        np.testing.assert_array_equal(got.h, want.h)
    assert tracer.trace(model, "( 1 ) 0 ").initial is None


def test_a_window_past_the_streams_end_says_it_was_shortened(capsys, default_model, tmp_path):
    state = AppState(default_model, index=199_950, window=100)
    assert len(state.trace) == 50
    assert "the stream ends there: 50 of the 100 characters asked for" in state.sequence_note
    assert main(["trace", "--model", str(default_model), "--index", "199990", "--window", "300",
                 "-o", str(tmp_path / "e.npz")]) == 0
    assert "the stream ends there: 10 of the 300 characters asked for" in capsys.readouterr().out


def test_export_can_read_a_window_from_the_zero_state_as_the_page_can(default_model, tmp_path):
    for flag, said in ((["--from-zero-state"], "read from the zero state"), ([], "read in context")):
        assert main(["export", "--model", str(default_model), "--index", "5000", *flag,
                     "-o", str(tmp_path / "x.html")]) == 0
        assert said in (tmp_path / "x.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [["summary"], ["eval", "--chars", "1000"], ["sample", "--chars", "5"]])
def test_an_unwritable_out_names_the_path_given(capsys, default_model, command):
    assert main([*command, "--model", str(default_model), "-o", "/proc/x"]) == 2
    err = capsys.readouterr().err
    assert "/proc/x: cannot write in /proc" in err and ".tmp" not in err
