"""A held-out text for any model (models/data/heldout_text.py): a pytorch/examples-style RNNModel (the
word_language_model's, run at character level) trained here for a few steps, imported with no text, then
probed and traced on a text file given with --heldout from the command line, the API and the page's
state. The references are the user's own torch modules: the probe's intact loss and a window's states
read in context must be theirs on the same characters. Bad files are refused with positions, never cut."""
from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import rnnscope as rs
from rnnscope.base.errors import RnnscopeError
from rnnscope.cli import main

torch.set_num_threads(1)

TEXT = inspect.getsource(textwrap)        # Python source, on every machine that runs the tests
SPLIT = int(len(TEXT) * 0.8)              # trained on TEXT[:SPLIT]; the held-out range is the rest


class RNNModel(nn.Module):
    """pytorch/examples' word_language_model RNNModel (encoder, rnn, decoder, dropout), untied."""

    def __init__(self, ntoken, ninp=16, nhid=24, nlayers=2, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)      # time first, as in the example
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, ids, hidden=None):
        output, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)
        return self.decoder(self.drop(output)), hidden


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The trained RNNModel, its files, and its checkpoint imported with no text (no held-out stream)."""
    folder = tmp_path_factory.mktemp("heldout")
    vocab = sorted(set(TEXT))
    ids = torch.as_tensor([vocab.index(c) for c in TEXT[:SPLIT]])
    torch.manual_seed(0)
    net = RNNModel(len(vocab))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(25):                     # a few steps: the test needs a model, not a good one
        starts = rng.integers(0, len(ids) - 51, 8)
        batch = torch.stack([ids[s:s + 51] for s in starts], 1)           # [51, 8], time first
        logits, _ = net(batch[:-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), batch[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, folder / "net.safetensors")
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "map.json").write_text(json.dumps({"cell": "lstm", "embedding": "encoder", "rnn": "rnn",
                                                 "decoder": "decoder"}))
    (folder / "source.py").write_text(TEXT, encoding="utf-8")
    assert main(["import", "torch", "--state-dict", str(folder / "net.safetensors"), "--vocab",
                 str(folder / "vocab.json"), "--map", str(folder / "map.json"), "-o", str(folder / "ck")]) == 0
    return folder, net, vocab


def torch_run(net, vocab, text):
    """The user's modules on ``text`` from the zero state: top-layer h [T, H] and log-probabilities [T, V]."""
    with torch.no_grad():
        out, _ = net.rnn(net.encoder(torch.as_tensor([vocab.index(c) for c in text]))[:, None])
        return out[:, 0].numpy(), torch.log_softmax(net.decoder(out[:, 0]), -1).numpy()


def test_a_model_without_text_is_refused_saying_how_to_give_one(imported, capsys):
    folder, _, _ = imported
    assert main(["probe", "--model", str(folder / "ck")]) == 2
    err = capsys.readouterr().err
    assert "no held-out data known for this model" in err and "--heldout FILE" in err


def test_probe_on_a_heldout_file_from_the_cli_is_the_source_models_own_loss(imported, tmp_path, capsys):
    folder, net, vocab = imported
    out = tmp_path / "probe.json"
    assert main(["probe", "--model", str(folder / "ck"), "--heldout", str(folder / "source.py"), "--heldout-range",
                 f"{SPLIT}:", "--chars", "1000", "--ablation-chars", "300", "--device", "cpu", "-o", str(out)]) == 0
    numbers = json.loads(out.read_text())
    stream = TEXT[SPLIT:]
    _, logp = torch_run(net, vocab, stream[:300])
    truth = -np.mean(logp[np.arange(299), [vocab.index(c) for c in stream[1:300]]])
    assert numbers["data"]["intact_loss"] == pytest.approx(truth, abs=2e-5)
    assert numbers["data"]["held_out_chars"] == 1000 and f"source.py characters {SPLIT}:" in numbers["data"]["source"]
    assert f"({SPLIT:,} characters before" in numbers["data"]["annotations"]   # strings counted from the file's start
    assert len(numbers["cells"]) > 0 and numbers["probes"]


def test_a_text_shorter_than_the_defaults_is_read_whole_and_more_than_it_holds_is_refused(imported, tmp_path,
                                                                                          capsys):
    """A researcher's own held-out text is often shorter than the 100,000 characters probe reads by default
    (20,000 for compare, automaton, dynamics): with no --chars all of it is read, and stderr says so; a
    number beyond it is refused naming both, with nothing written."""
    folder, _, _ = imported
    short = len(TEXT) - SPLIT
    assert 1_000 <= short < 20_000
    given = ["--model", str(folder / "ck"), "--heldout", str(folder / "source.py"), "--heldout-range", f"{SPLIT}:"]
    out = tmp_path / "probe.json"
    assert main(["probe", *given, "--ablation-chars", "300", "--causal", "", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["data"]["held_out_chars"] == short
    assert (f"reading the whole held-out stream (the held-out text {folder / 'source.py'} characters {SPLIT}:): "
            f"{short:,} characters, fewer than the default 100,000") in capsys.readouterr().err
    assert main(["probe", *given, "--chars", str(short + 1), "-o", str(tmp_path / "no.json")]) == 2
    assert f"asked for {short + 1:,} held-out characters" in capsys.readouterr().err
    assert not (tmp_path / "no.json").exists()
    # the API: the same defaults, and a number beyond the stream is refused, never cut to it
    m = rs.load(folder / "ck", heldout=folder / "source.py", heldout_range=f"{SPLIT}:")
    whole = m.label_cells(views=["h"], layers=[1])
    assert whole.equals(m.label_cells(chars=short, views=["h"], layers=[1]))
    with pytest.raises(RnnscopeError, match=f"asked for {short + 1:,} held-out characters; .* has {short:,}"):
        m.label_cells(chars=short + 1)
    window = m.trace(index=0, window=50)
    assert f"the first {short:,} characters" in m.compare(m, window).numbers["matched_on"]
    with pytest.raises(RnnscopeError, match=f"2 to {short:,} held-out characters .* got {short + 1:,}"):
        m.compare(m, window, chars=short + 1)


def test_the_api_reads_the_range_and_a_window_in_context_is_the_source_models_states(imported):
    folder, net, vocab = imported
    m = rs.load(folder / "ck", heldout=folder / "source.py", heldout_range=(SPLIT, SPLIT + 1500))
    assert m.heldout.text == TEXT[SPLIT:SPLIT + 1500] and m.heldout.before == TEXT[:SPLIT]
    w = m.trace(index=700, window=50)                   # in context: after reading the range from its start
    h, _ = torch_run(net, vocab, TEXT[SPLIT:SPLIT + 750])
    np.testing.assert_allclose(w.view("h", layer=1), h[700:750], rtol=0, atol=1e-5)
    labels = m.label_cells(chars=1000, views=["h"])
    assert len(labels) == 2 * 24


def test_import_records_the_heldout_text_and_every_command_reads_it(imported, tmp_path, capsys):
    folder, net, vocab = imported
    ck = tmp_path / "ck"
    assert main(["import", "torch", "--state-dict", str(folder / "net.safetensors"), "--vocab",
                 str(folder / "vocab.json"), "--map", str(folder / "map.json"), "-o", str(ck), "--heldout",
                 str(folder / "source.py"), "--heldout-range", f"{SPLIT}:"]) == 0
    assert f"held-out text {folder / 'source.py'} characters {SPLIT}:" in capsys.readouterr().out
    record = json.loads((ck / "config.json").read_text())["training"]["heldout"]
    assert record["start"] == SPLIT and record["end"] is None and Path(record["path"]).is_absolute()
    assert main(["trace", "--model", str(ck), "--index", "10", "--window", "40", "-o", str(tmp_path / "t.npz")]) == 0
    h, _ = torch_run(net, vocab, TEXT[SPLIT:SPLIT + 50])
    np.testing.assert_allclose(np.load(tmp_path / "t.npz")["h_l1"], h[10:50], rtol=0, atol=1e-5)
    # the recorded text changed: refused, not read as if it were the model's
    changed = tmp_path / "changed.py"
    changed.write_text(TEXT, encoding="utf-8")
    ck2 = tmp_path / "ck2"
    rs.import_torch(folder / "net.safetensors", folder / "vocab.json", folder / "map.json", out=ck2, heldout=changed)
    changed.write_text(TEXT[::-1], encoding="utf-8")
    with pytest.raises(RnnscopeError, match="changed since it was recorded"):
        rs.load(ck2).label_cells(chars=1000)


def test_characters_outside_the_vocabulary_are_refused_with_positions_and_nothing_written(imported, tmp_path, capsys):
    folder, _, vocab = imported
    bad = tmp_path / "bad.txt"
    text = TEXT[:100] + "\u00e9" + TEXT[100:200] + "\u2603" * 8 + TEXT[200:300]
    bad.write_text(text, encoding="utf-8")
    assert main(["import", "torch", "--state-dict", str(folder / "net.safetensors"), "--vocab",
                 str(folder / "vocab.json"), "--map", str(folder / "map.json"), "-o", str(tmp_path / "ck"),
                 "--heldout", str(bad)]) == 2
    err = capsys.readouterr().err
    line = TEXT[:100].count("\n") + 1
    assert "9 character(s) of the held-out text are not in the model's vocabulary" in err
    assert f"'\u00e9' at 100 (line {line}, column" in err and "'\u2603' at 201" in err and "and 4 more" in err
    assert not (tmp_path / "ck").exists()
    # a range that leaves them out is read (nothing is dropped from it: it has no such character)
    assert len(rs.load(folder / "ck", heldout=bad, heldout_range=":100").heldout.text) == 100
    # NFC, as training reads text: a decomposed e + accent is the one character the model refuses
    nfd = tmp_path / "nfd.txt"
    nfd.write_text("ab" + "e\u0301", encoding="utf-8")
    with pytest.raises(RnnscopeError, match="'\u00e9' at 2 "):
        rs.load(folder / "ck", heldout=nfd)


@pytest.mark.parametrize("chars, why", [("0:999999", "outside"), ("50:10", "START < END"), ("a:b", "START:END"),
                                        ("12", "START:END")])
def test_a_bad_range_is_refused_never_clamped(imported, chars, why):
    folder, _, _ = imported
    with pytest.raises(RnnscopeError, match=why):
        rs.load(folder / "ck", heldout=folder / "source.py", heldout_range=chars)


def test_a_missing_file_or_a_range_alone_is_refused(imported, tmp_path, capsys):
    folder, _, _ = imported
    assert main(["probe", "--model", str(folder / "ck"), "--heldout", str(tmp_path / "none.txt")]) == 2
    assert "none.txt: no such file" in capsys.readouterr().err
    with pytest.raises(RnnscopeError, match="goes with a held-out file"):
        rs.load(folder / "ck", heldout_range="0:10")


def test_a_grammar_model_reads_a_grammar_file_with_its_depth_counted_from_the_files_start(tmp_path):
    text = rs.generate(3000, seed=4)
    (tmp_path / "g.txt").write_text(text, encoding="utf-8")
    m = rs.load("gru15-parens", heldout=tmp_path / "g.txt", heldout_range="1001:2001")
    from rnnscope import grammar
    whole = grammar.annotate(text)
    np.testing.assert_array_equal(m.heldout.annotations["depth"], whole["depth"][1001:2001])
    np.testing.assert_allclose(m.heldout.oracle, grammar.next_char_probs(text)[1001:2001])
    (tmp_path / "bad.txt").write_text(") " + text, encoding="utf-8")
    with pytest.raises(RnnscopeError, match="not in the model's grammar"):
        rs.load("gru15-parens", heldout=tmp_path / "bad.txt")


def test_the_pages_state_takes_a_heldout_file(imported, tmp_path):
    from rnnscope.app.pages.state import AppState
    folder, net, vocab = imported
    with pytest.raises(RnnscopeError, match="no held-out data known"):      # nothing to open on
        AppState(str(folder / "ck"), source="held-out")
    s = AppState(str(folder / "ck"), heldout_file=str(folder / "source.py"), heldout_range=f":{SPLIT}")
    assert s.source == "held-out" and s.trace.text == TEXT[:s.window]
    s = AppState(str(folder / "ck"), text="def f():")     # no stream of its own: it opens on typed text
    assert s.source == "typed" and s.trace is not None
    s.param.update(heldout_range=f"{SPLIT}:")    # a range alone is refused; the box goes back
    assert "goes with a held-out file" in s.error and s.heldout_range == ""
    s.heldout_file = str(tmp_path / "none.txt")
    assert "no such file" in s.error and s.heldout_file == "" and s.source == "typed"
    s.param.update(heldout_file=str(folder / "source.py"))
    s.param.update(heldout_range=f"{SPLIT}:")
    assert s.error == "" and s.source == "held-out" and s.trace.text == TEXT[SPLIT:SPLIT + s.window]
    s.index = 200
    h, _ = torch_run(net, vocab, TEXT[SPLIT:SPLIT + 200 + s.window])
    np.testing.assert_allclose(s.trace.values("h", 1), h[200:], rtol=0, atol=1e-5)
    assert s.sequence_note.startswith("held-out stream of source.py, characters 200 .. ")
    # the tabs read the same stream: the Cells tab's labels are the API's on that file
    from rnnscope.app.pages import cache
    from rnnscope.app.tabs.cells import CellsTab
    tab = CellsTab(state=s)
    tab.open()
    assert not tab.note.object.startswith("No labels") and len(tab.table.value) == 24
    api = rs.load(folder / "ck", heldout=folder / "source.py", heldout_range=f"{SPLIT}:").label_cells(
        views=["h"], layers=[0])
    page = cache.cell_labels(s.model_path, "h", 0, key=s.heldout_key)[0]
    assert {lab.cell: lab.label for lab in page} == dict(zip(api["cell"], api["label"]))
    bad = tmp_path / "bad.txt"
    bad.write_text(TEXT + "\u2603", encoding="utf-8")
    s.heldout_file = str(bad)                  # refused: the stream shown stays
    assert "not in the model's vocabulary" in s.error and s.heldout_file == str(folder / "source.py")
    assert s.trace.text == TEXT[SPLIT + 200:SPLIT + 200 + s.window]


def test_explain_match_compare_and_store_take_the_heldout_file(imported, tmp_path, capsys):
    """Each command that reads a held-out window or stream reads the file given, in context."""
    folder, net, vocab = imported
    ck, held = str(folder / "ck"), ["--heldout", str(folder / "source.py"), "--heldout-range", f"{SPLIT}:"]
    h, _ = torch_run(net, vocab, TEXT[SPLIT:SPLIT + 120])
    assert main(["explain", "--model", ck, *held, "--index", "100", "--window", "20", "--cell", "3", "--step", "5",
                 "--layer", "1", "--json", "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["h"] == pytest.approx(h[105, 3], abs=1e-5)
    assert main(["match", "--model", ck, *held, "--index", "100", "--window", "20", "--start", "0", "--end", "19",
                 "--threshold", "-1", "--store", str(tmp_path / "m.zarr"), "--json", "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["corpus"]["chars"] == len(TEXT) - SPLIT
    assert main(["compare", "--model", ck, "--other", ck, *held, "--index", "0", "--window", "50", "--chars", "500",
                 "--json", "--device", "cpu"]) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert all(p["r"] == pytest.approx(1.0, abs=1e-6) for p in pairs)        # a model paired with itself
    assert main(["store", "build", "--model", ck, *held, "--one-process", "-o", str(tmp_path / "s.zarr")]) == 0
    assert f"{len(TEXT) - SPLIT:,} characters" in capsys.readouterr().out
    assert main(["store", "labels", "--model", ck, *held, "--store", str(tmp_path / "s.zarr"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chars"] == len(TEXT) - SPLIT
    # without --heldout the model has no stream of its own: the store's text is annotated by itself
    assert main(["store", "labels", "--model", ck, "--store", str(tmp_path / "s.zarr"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chars"] == len(TEXT) - SPLIT
