"""The LSTMVis bridge: a trace written as the directory LSTMVis opens, checked
against LSTMVis's documented layout (README "Adding Your Own Data", docs/chapter/config_states.md,
meta.md; its reader lstmdata/data_handler.py) and read back exactly."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.models.reading import tracer
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.interop.lstmvis import escape, read_lstmvis, unescape, write_lstmvis
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.cli import main

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

ODD_VOCAB = ["a", " ", "\n", "\t", "\\", "é", "\u2028", "("]   # characters a plain ``line.split()`` would lose


def make_model(cell: str, num_layers: int, vocab=None) -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab=vocab or grammar.GrammarSpec().alphabet, cell=cell, hidden_size=4,
                               num_layers=num_layers, embedding_dim=None)).eval()


def lstmvis_dict(path: Path) -> dict[int, str]:
    """words.dict read exactly as LSTMVis's data_handler reads it (an independent copy of its rules)."""
    vk = {}
    with open(path) as f:
        for line in f:
            if len(line) > 0:
                if len(line.split()) == 2:
                    k, v = line.split()
                    vk[int(v)] = k
                elif line[0] == " ":
                    vk[int(line.strip())] = " "
    return vk


def test_round_trip_equals_the_trace_exactly(tmp_path):
    model = make_model("lstm", 2, ODD_VOCAB)
    text = "a (\n\t\\é\u2028 a(( \n" * 3
    tr = tracer.trace(model, text)
    write_lstmvis(tr, tmp_path / "lv")
    back = read_lstmvis(tmp_path / "lv")
    assert back.text == text
    assert set(back.states) == {("output", 1), ("state", 1), ("output", 2), ("state", 2)}
    for k in range(2):
        h, c = back.states[("output", k + 1)], back.states[("state", k + 1)]
        assert h.dtype == np.float32 and c.dtype == np.float32
        assert np.array_equal(h, tr.hidden[k]) and np.array_equal(c, tr.gates[k]["c"])
    assert back.annotations == {}                       # not grammar text: no tracks, none made up


def test_h_is_the_plain_numpy_gru_and_annotations_come_back(tmp_path):
    model = make_model("gru", 1)
    text = "( 1 ( 2 ) 1 ) 0 "
    write_lstmvis(tracer.trace(model, text), tmp_path / "lv")
    back = read_lstmvis(tmp_path / "lv")
    # torch's GRU equations by hand, one-hot input, gates in r, z, n order
    W = {k: v.detach().numpy().astype(np.float64) for k, v in model.rnn.named_parameters()}
    sig = lambda x: 1 / (1 + np.exp(-x))   # noqa: E731
    h, rows = np.zeros(4), []
    for ch in text:
        x = np.eye(len(model.config.vocab))[model.config.vocab.index(ch)]
        gi, gh = W["weight_ih_l0"] @ x + W["bias_ih_l0"], W["weight_hh_l0"] @ h + W["bias_hh_l0"]
        r, z = sig(gi[:4] + gh[:4]), sig(gi[4:8] + gh[4:8])
        n = np.tanh(gi[8:] + r * gh[8:])
        h = (1 - z) * n + z * h
        rows.append(h)
    np.testing.assert_allclose(back.states[("output", 1)], np.array(rows), atol=1e-6)
    depth = [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0]   # depth after each character, counted by hand
    assert back.annotations["depth"].tolist() == depth
    assert all(depth[t] == int(ch) for t, ch in enumerate(text) if ch.isdigit())   # a digit names its depth


def test_layout_is_lstmvis_documented_format(tmp_path):
    model = make_model("lstm", 2)
    text = "( 1 )"
    tr = tracer.trace(model, text)
    out = write_lstmvis(tr, tmp_path / "lv", name="tiny")
    config = yaml.safe_load((out / "lstm.yml").read_text())
    files = config["files"]
    # LSTMVis opens only .h5/.hdf5 as HDF5 and only .dict/.txt as dictionaries
    assert all(f.endswith((".h5", ".hdf5", ".dict")) for f in files.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(["lstm.yml", *files.values()]) and config["name"] == "tiny"

    ws = config["word_sequence"]
    assert files[ws["dict_file"]].endswith(".dict")
    with h5py.File(out / files[ws["file"]]) as f:
        ids = f[ws["path"]][()]
    # vocab ' ( ) 0 1 2 3 4' -> ids 1..8 (LSTMVis counts from 1): "( 1 )" is 2 1 5 1 3
    assert ids.tolist() == [2, 1, 5, 1, 3]
    vk = lstmvis_dict(out / files[ws["dict_file"]])
    assert vk == {i + 1: ch for i, ch in enumerate(grammar.GrammarSpec().alphabet)}
    assert "".join(vk[i] for i in ids) == text

    types = config["states"]["types"]
    assert [(t["type"], t["layer"], t["path"]) for t in types] == [
        ("output", 1, "h1"), ("state", 1, "c1"), ("output", 2, "h2"), ("state", 2, "c2")]
    with h5py.File(out / files[config["states"]["file"]]) as f:
        for t in types:
            assert f[t["path"]].shape == (5, 4) and f[t["path"]].dtype == np.float32
    # h of an LSTM is in -1..1: LSTMVis's default tanh would squash it twice; c is unbounded: keep it
    assert [t.get("transform") for t in types] == ["none", None, "none", None]

    with h5py.File(out / files["meta"]) as f:
        for m in config["meta"].values():
            values = f[m["path"]][()]
            assert m["file"] == "meta" and values.shape == (5,)
            assert m["vis"]["type"] == "discrete" and set(values.tolist()) <= set(m["vis"]["range"])
    assert config["meta"]["depth"]["vis"]["range"] == [0, 1]


@given(st.text(min_size=1, max_size=6))
def test_every_word_survives_lstmvis_dict_reading(word):
    token = escape(word)
    line = f"{token} 7\n"
    assert lstmvis_dict_line(line) == token and unescape(token) == word


def test_escapes_are_the_documented_ones():
    assert [escape(w) for w in [" ", "\n", "a b", "\\n", "\u2028"]] == [" ", "\\n", "a\\u0020b", "\\\\n", "\\u2028"]
    with pytest.raises(RnnscopeError, match="empty word"):
        escape("")


def lstmvis_dict_line(line: str) -> str | None:
    if len(line.split()) == 2:
        return line.split()[0]
    return " " if line[0] == " " and len(line.split()) == 1 else None


def test_an_existing_directory_is_kept_without_force_and_replaced_with_it(tmp_path):
    model = make_model("gru", 1)
    out = tmp_path / "lv"
    write_lstmvis(tracer.trace(model, "( 1 )"), out)
    before = (out / "states.hdf5").read_bytes()
    with pytest.raises(RnnscopeError, match="exists; give --force"):
        write_lstmvis(tracer.trace(model, "( 2 )"), out)
    assert (out / "states.hdf5").read_bytes() == before
    write_lstmvis(tracer.trace(model, "( 2 ) 0"), out, force=True)
    assert read_lstmvis(out).text == "( 2 ) 0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lv"]        # no temporary left behind
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(RnnscopeError, match="no LSTMVis directory"):
        write_lstmvis(tracer.trace(model, "( 1 )"), other, force=True)
    assert (other / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "lstm.yml").unlink(), "no lstm.yml"),
    (lambda d: (d / "words.dict").write_text("( 2\n"), r"word ids \[1, 3, 5\] are not in words.dict"),
    (lambda d: (d / "lstm.yml").write_text((d / "lstm.yml").read_text().replace("path: h1", "path: h9")),
     "no dataset 'h9'"),
    (lambda d: (d / "states.hdf5").write_bytes(b"not hdf5"), "not an HDF5 file"),
    (lambda d: (d / "words.dict").write_text("( 2 extra\n"), "not a 'word id' line"),
])
def test_a_damaged_directory_is_refused_in_one_line(tmp_path, damage, message):
    out = write_lstmvis(tracer.trace(make_model("gru", 1), "( 1 )"), tmp_path / "lv")
    damage(out)
    with pytest.raises(RnnscopeError, match=message) as e:
        read_lstmvis(out)
    assert "\n" not in str(e.value)


def test_cli_writes_what_the_tracer_reads_and_refuses_bad_input(tmp_path, capsys):
    ck = checkpoint.save(make_model("gru", 2), tmp_path / "ck")
    out = tmp_path / "lv"
    argv = ["states", "--format", "lstmvis", "--model", str(ck), "-o", str(out), "--device", "cpu"]
    assert main([*argv, "--text", "( 1 ) 0"]) == 0
    assert "wrote" in capsys.readouterr().out
    tr = tracer.trace(checkpoint.load(ck), "( 1 ) 0")
    back = read_lstmvis(out)
    assert all(np.array_equal(back.states[("output", k + 1)], tr.hidden[k]) for k in range(2))
    for extra, message in [(["--text", "( 2 )"], "exists; give --force"),
                           (["--chars", "10", "--window", "5", "--force"], "--window goes with --index"),
                           (["--index", "10", "--window", "0", "--force"], "--window must be at least 1")]:
        assert main([*argv, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err
    with pytest.raises(SystemExit) as info:                                  # argparse's own refusal
        main([*argv, "--chars", "0", "--force"])
    assert info.value.code == 2 and "--chars: must be at least 1" in capsys.readouterr().err
    assert read_lstmvis(out).text == "( 1 ) 0"                             # untouched by the refusals


@pytest.mark.parametrize("nonlinearity, transform", [("tanh", "none"), ("relu", None)])
def test_an_rnn_h_is_left_to_lstmvis_tanh_only_when_unbounded(tmp_path, nonlinearity, transform):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, cell="rnn", hidden_size=3,
                                nonlinearity=nonlinearity, embedding_dim=None)).eval()
    out = write_lstmvis(tracer.trace(model, "( 1 )"), tmp_path / "lv", nonlinearity=nonlinearity)
    types = yaml.safe_load((out / "lstm.yml").read_text())["states"]["types"]
    assert [(t["path"], t.get("transform")) for t in types] == [("h1", transform)]


def test_a_text_model_gets_its_text_annotations_with_named_categories(tmp_path, capsys):
    vocab = sorted(set("abx = #\n"))
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=vocab, cell="gru", hidden_size=3, embedding_dim=None)).eval()
    ck = checkpoint.save(model, tmp_path / "ck", training={"data": {"kind": "text"}})
    text = "a = b # x\nb"
    out = tmp_path / "lv"
    assert main(["states", "--format", "lstmvis", "--model", str(ck), "-o", str(out), "--text", text]) == 0
    capsys.readouterr()
    back = read_lstmvis(out)
    names = back.categories["in_comment"]
    assert names == {0: "yes", 1: "no"}
    # from the # to the end of its line (the line break itself is no longer in the comment): by hand
    assert "".join("#" if names[v] == "yes" else "." for v in back.annotations["in_comment"]) == "......###.."
    assert [back.categories["char"][v] for v in back.annotations["char"]] == list(text)
    nxt = back.annotations["next_char"]
    assert [back.categories["next_char"][v] for v in nxt[:-1]] == list(text[1:]) and nxt[-1] == -1
    assert back.categories["next_char"][-1] == "(none)"          # the last step has no next character
    assert back.annotations["column"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]   # the line break ends line 1
    config = yaml.safe_load((out / "lstm.yml").read_text())
    assert config["meta"]["in_comment"] == {"file": "meta", "path": "in_comment", "dict": "in_comment_dict",
                                            "vis": {"type": "discrete", "range": "dict"}}
    assert config["files"]["in_comment_dict"] == "meta_in_comment.dict"
    assert lstmvis_dict(out / "meta_in_comment.dict") == {0: "yes", 1: "no"}
    assert config["meta"]["column"]["vis"] == {"type": "scalar", "range": [0.0, 9.0]}


def test_cli_held_out_windows_are_read_in_context(tmp_path, capsys):
    from rnnscope.models.data.heldout import heldout_of
    model = make_model("gru", 1)
    ck = checkpoint.save(model, tmp_path / "ck")
    held = heldout_of(ck)
    base = ["states", "--format", "lstmvis", "--model", str(ck), "--device", "cpu", "-o"]
    assert main([*base, str(tmp_path / "a"), "--chars", "80"]) == 0
    assert main([*base, str(tmp_path / "b"), "--index", "50", "--window", "30"]) == 0
    assert main([*base, str(tmp_path / "nowhere" / "c"), "--chars", "5"]) == 2
    assert "no such directory" in capsys.readouterr().err
    whole = tracer.trace(model, held.text[:80])      # the stream from its start: the state at 50 is in context
    a, b = read_lstmvis(tmp_path / "a"), read_lstmvis(tmp_path / "b")
    assert a.text == held.text[:80] and b.text == held.text[50:80]
    assert np.array_equal(a.states[("output", 1)], whole.hidden[0])
    np.testing.assert_allclose(b.states[("output", 1)], whole.hidden[0][50:], atol=1e-6)
    assert np.array_equal(b.annotations["depth"], held.annotations["depth"][50:80])   # counted from the start
    assert {b.categories["kind"][v] for v in b.annotations["kind"]} <= {"open", "close", "digit", "separator"}


@pytest.mark.parametrize("annotations, categories, message", [
    ({"a/b": np.zeros(5, np.int64)}, None, "annotation 'a/b': names are letters"),
    ({"depth": np.zeros(4, np.int64)}, None, "one value per character"),
    ({"kind": np.array([0, 1, 2, 0, 1])}, {"kind": ("x", "y")}, r"integer codes -1 \.\. 1"),
    ({"kind": np.array([0, -2, 0, 0, 1])}, {"kind": ("x", "y")}, r"integer codes -1 \.\. 1"),
    ({"depth": np.zeros(5)}, {"depth": ("x",)}, "do not fit"),
    ({}, {"kind": ("x",)}, "do not fit"),
])
def test_annotations_that_cannot_be_tracks_are_refused_and_nothing_written(tmp_path, annotations, categories, message):
    import dataclasses
    tr = dataclasses.replace(tracer.trace(make_model("gru", 1), "( 1 )"), annotations=annotations)
    with pytest.raises(RnnscopeError, match=message):
        write_lstmvis(tr, tmp_path / "lv", categories=categories)
    assert list(tmp_path.iterdir()) == []
