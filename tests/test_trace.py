"""The Trace (docs/architecture.md, The flow): the plain-array seam between models and everything
downstream. It saves to .npz without pickles, reloads exactly, and refuses bad input with
messages a user can act on."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope import grammar
from rnnscope.models.reading import tracer
from rnnscope.base.errors import RnnscopeError, UnknownCharacters
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.trace import Trace

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

TEXT = grammar.generate(300, seed=1)


def make_model(cell="gru", num_layers=2, vocab=None, embedding_dim=6) -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab=vocab or grammar.GrammarSpec().alphabet, cell=cell, hidden_size=5,
                               num_layers=num_layers, embedding_dim=embedding_dim)).eval()


@pytest.fixture(scope="module")
def gru_trace() -> Trace:
    return tracer.trace(make_model("gru", 2), TEXT)


@pytest.fixture(scope="module")
def lstm_trace() -> Trace:
    return tracer.trace(make_model("lstm", 1, embedding_dim=None), TEXT)


def assert_same_trace(a: Trace, b: Trace) -> None:
    assert a.text == b.text and a.vocab == b.vocab and a.cell == b.cell
    assert a.num_layers == b.num_layers
    for k in range(a.num_layers):
        np.testing.assert_array_equal(a.hidden[k], b.hidden[k])
        assert a.gates[k].keys() == b.gates[k].keys()
        for name in a.gates[k]:
            np.testing.assert_array_equal(a.gates[k][name], b.gates[k][name])
    np.testing.assert_array_equal(a.probs, b.probs)
    assert a.annotations.keys() == b.annotations.keys()
    for name in a.annotations:
        np.testing.assert_array_equal(a.annotations[name], b.annotations[name])


# --- save / load ---------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["gru_trace", "lstm_trace"])
def test_save_load_round_trip_is_exact(which, request, tmp_path):
    tr = request.getfixturevalue(which)
    path = tr.save(tmp_path / "t.npz")
    assert path == tmp_path / "t.npz"
    assert_same_trace(Trace.load(path), tr)
    assert Trace.load(str(path)).views == tr.views


def test_npz_keys_are_as_documented(gru_trace, tmp_path):
    gru_trace.save(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert set(z.files) == {"chars", "vocab", "cell", "probs", "h_l0", "h_l1",
                                "r_l0", "z_l0", "n_l0", "r_l1", "z_l1", "n_l1", "ann_depth", "ann_kind"}
        assert z["chars"].shape == (len(TEXT),) and z["chars"].dtype == np.uint32
        assert "".join(map(chr, z["chars"])) == TEXT
        assert [chr(c) for c in z["vocab"]] == grammar.GrammarSpec().alphabet
        assert z["cell"].shape == () and str(z["cell"]) == "gru"
        assert z["probs"].shape == (len(TEXT), 8) and z["probs"].dtype == np.float32
        assert z["h_l1"].shape == (len(TEXT), 5) and z["h_l1"].dtype == np.float32
        np.testing.assert_array_equal(z["z_l1"], gru_trace.values("z", 1))
        np.testing.assert_array_equal(z["ann_depth"], grammar.annotate(TEXT)["depth"])


def test_lstm_npz_has_gates_and_cell_state(lstm_trace, tmp_path):
    lstm_trace.save(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert {"i_l0", "f_l0", "g_l0", "o_l0", "c_l0", "h_l0"} <= set(z.files)
        assert not any(k.endswith("_l1") for k in z.files)


def test_round_trip_keeps_every_character(tmp_path):
    """Text from any file may hold NUL; NumPy's fixed-width unicode arrays drop trailing NULs."""
    vocab = ["\x00", "a", "b", "\n", " "]
    text = "a\x00b \n\x00a"
    tr = tracer.trace(make_model(vocab=vocab, num_layers=1), text)
    back = Trace.load(tr.save(tmp_path / "t.npz"))
    assert back.text == text and back.vocab == vocab


def test_saving_over_a_trace_replaces_it_and_leaves_no_temporary_files(gru_trace, lstm_trace, tmp_path):
    gru_trace.save(tmp_path / "t.npz")
    lstm_trace.save(tmp_path / "t.npz")
    assert Trace.load(tmp_path / "t.npz").cell == "lstm"
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]


def test_a_failed_save_keeps_the_old_trace(gru_trace, lstm_trace, tmp_path, monkeypatch):
    gru_trace.save(tmp_path / "t.npz")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(OSError, match="disk full"):
        lstm_trace.save(tmp_path / "t.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]
    assert_same_trace(Trace.load(tmp_path / "t.npz"), gru_trace)


class _Booby:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_loading_never_unpickles(gru_trace, tmp_path):
    marker = tmp_path / "unpickled"
    arrays = {"chars": np.array(list(TEXT)), "vocab": np.array(gru_trace.vocab), "cell": np.array("gru"),
              "probs": gru_trace.probs, "h_l0": gru_trace.hidden[0],
              "ann_depth": np.array([_Booby(marker)], dtype=object)}
    np.savez(tmp_path / "evil.npz", **arrays)  # object arrays are stored as pickles
    with pytest.raises(RnnscopeError, match=r"evil\.npz: not a readable trace \.npz"):
        Trace.load(tmp_path / "evil.npz")
    assert not marker.exists()


def test_a_raw_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_Booby(marker)))
    with pytest.raises(RnnscopeError, match="evil.npz: not a readable trace"):
        Trace.load(path)
    assert not marker.exists()


def test_missing_trace_file_is_a_clear_error(tmp_path):
    with pytest.raises(RnnscopeError, match=r"nope\.npz: no such trace file"):
        Trace.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("content", [b"", b"garbage, not a zip", bytes(range(256)) * 10, b"PK\x03\x04truncated"])
def test_garbage_file_is_a_clear_error(tmp_path, content):
    (tmp_path / "bad.npz").write_bytes(content)
    with pytest.raises(RnnscopeError, match=r"bad\.npz: not a readable trace \.npz"):
        Trace.load(tmp_path / "bad.npz")


def test_an_npz_that_is_not_a_trace_names_the_missing_keys(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3), chars=np.array(list("abc")))
    with pytest.raises(RnnscopeError, match=r"other\.npz: not an rnnscope trace, missing keys "
                                            r"\['vocab', 'cell', 'probs', 'h_l0'\]"):
        Trace.load(tmp_path / "other.npz")


# --- reading a trace -----------------------------------------------------------------------------

def test_views_per_cell(gru_trace, lstm_trace):
    assert set(gru_trace.views) == {"h", "r", "z", "n"} and gru_trace.views[0] == "h"
    assert set(lstm_trace.views) == {"h", "i", "f", "g", "o", "c"}
    rnn = tracer.trace(make_model("rnn", 1), TEXT[:20])
    assert rnn.views == ["h"]


def test_values_returns_the_layer_and_view_asked_for(gru_trace):
    assert gru_trace.values() is gru_trace.hidden[0]
    assert gru_trace.values("h", 1) is gru_trace.hidden[1]
    assert gru_trace.values("n", 1) is gru_trace.gates[1]["n"]


@pytest.mark.parametrize("view, layer, message", [
    ("h", 2, "layer 2 does not exist; this model has 2"),
    ("h", -1, "layer -1 does not exist; this model has 2"),
    ("c", 0, r"view 'c' does not exist for a GRU; choose from \['h', "),
    ("bogus", 1, "view 'bogus' does not exist for a GRU"),
])
def test_values_for_a_bad_view_or_layer_is_a_helpful_error(gru_trace, view, layer, message):
    with pytest.raises(RnnscopeError, match=message):
        gru_trace.values(view, layer)


def test_rnn_has_no_gate_views():
    tr = tracer.trace(make_model("rnn", 1), TEXT[:20])
    with pytest.raises(RnnscopeError, match=r"view 'z' does not exist for a RNN; choose from \['h'\]"):
        tr.values("z")


def test_next_char_prob_is_the_probability_of_what_came_next(gru_trace):
    p = gru_trace.next_char_prob()
    assert p.shape == (len(TEXT) - 1,)
    for t in (0, 1, 57, len(TEXT) - 2):
        assert p[t] == gru_trace.probs[t, gru_trace.vocab.index(TEXT[t + 1])]


# --- annotations and bad input -------------------------------------------------------------------

def test_grammar_text_is_annotated_with_depth_and_kind(gru_trace):
    assert set(gru_trace.annotations) == {"depth", "kind"}
    truth = grammar.annotate(TEXT)
    np.testing.assert_array_equal(gru_trace.annotations["depth"], truth["depth"])
    np.testing.assert_array_equal(gru_trace.annotations["kind"], truth["kind"])


def test_other_text_has_no_annotations():
    model = make_model(vocab=list(" (abc"), num_layers=1)
    assert tracer.trace(model, "a (b c").annotations == {}
    assert tracer.trace(model, "( ( ").annotations.keys() == {"depth", "kind"}


def test_annotations_follow_a_given_spec():
    spec = grammar.GrammarSpec(separator="", max_depth=2)
    model = make_model(vocab=spec.alphabet, num_layers=1)
    tr = tracer.trace(model, "(()1", spec=spec)
    assert tr.annotations["depth"].tolist() == [1, 2, 1, 1]


def test_unknown_characters_are_listed_with_their_positions():
    model = make_model(num_layers=1)
    with pytest.raises(UnknownCharacters) as info:
        tracer.trace(model, "( x ( yy")
    assert info.value.found == [(2, "x"), (6, "y"), (7, "y")]
    assert "3 character(s) not in the model's vocabulary" in str(info.value)
    assert "'x' at 2, 'y' at 6, 'y' at 7" in str(info.value)
    assert isinstance(info.value, RnnscopeError)


@given(st.text(alphabet=st.sampled_from(list("( )0123\x00xy\u00e9\U0001f600\n")), max_size=60))
@settings(max_examples=80, deadline=None)
def test_unknown_characters_are_those_a_plain_scan_finds(text):
    from rnnscope.models.network.vocab import Vocab
    vocab = Vocab(list("( )0123\x00"))
    assert vocab.unknown(text) == [(i, c) for i, c in enumerate(text) if c not in vocab.chars]


def test_many_unknown_characters_are_summarised_on_one_line():
    model = make_model(num_layers=1)
    with pytest.raises(UnknownCharacters) as info:
        tracer.trace(model, "( " + "\n" * 25)
    message = str(info.value)
    assert len(info.value.found) == 25 and "and 15 more" in message and "\n" not in message


def test_empty_text_is_a_clear_error():
    with pytest.raises(RnnscopeError, match="the sequence is empty"):
        tracer.trace(make_model(num_layers=1), "")


def test_text_over_the_limit_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(tracer, "MAX_TRACE_CHARS", 10)
    model = make_model(num_layers=1)
    assert len(tracer.trace(model, "( ( ( 3 ) ")) == 10
    with pytest.raises(RnnscopeError, match="the sequence has 12 characters; a trace takes at most 10"):
        tracer.trace(model, "( ( ( 3 ) 2 ")
