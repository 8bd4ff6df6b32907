"""The one CLI: discoverable with --help; each command does its job;
an error a user can cause exits with status 2 and exactly one line on stderr."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.models.training.evaluate import heldout_loss
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.trace import Trace
from rnnscope.cli import main

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

COMMANDS = ["generate", "train", "eval", "trace", "states", "sample", "summary", "export", "probe", "explain", "match",
            "corpus", "compare", "weights", "import", "store", "automaton"]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ck(tmp_path_factory) -> Path:
    """A tiny GRU trained through the CLI itself."""
    out = tmp_path_factory.mktemp("cli") / "ck"
    code = main(["train", "--out", str(out), "--steps", "15", "--batch", "8", "--row-chars", "300",
                 "--eval-chars", "2000", "--hidden", "6", "--embedding", "4", "--device", "cpu", "--quiet"])
    assert code in (0, 1)      # 1: it did not beat the unigram baseline (the checkpoint is kept; the tests use it)
    return out


def run_ok(capsys, *argv: str) -> str:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def run_trained(capsys, *argv: str) -> str:
    """``rnnscope train`` of a model too small or too short to learn: it exits 0, or 1 when its best held-out loss
    is worse than the unigram baseline, and then says so and where the checkpoint was kept."""
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0 or (code == 1 and "worse than the unigram baseline" in captured.err
                         and "the checkpoint is kept at" in captured.err), captured.err
    return captured.out


def run_error(capsys, command: str, *argv: str) -> str:
    """Exit status 2, nothing on stdout, exactly one line on stderr naming the command."""
    code = main([command, *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and captured.err.endswith("\n"), captured.err
    assert lines[0].startswith(f"rnnscope {command}: error: "), lines[0]
    return lines[0]


# --- discoverability -----------------------------------------------------------------------------

def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command}" in out, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: rnnscope {command}" in capsys.readouterr().out


def test_python_dash_m_rnnscope_help():
    result = subprocess.run([sys.executable, "-m", "rnnscope", "--help"], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert result.stderr == ""


def test_python_dash_m_rnnscope_error_is_one_line_in_a_real_process(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rnnscope", "summary", "--model", str(tmp_path / "nope")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"rnnscope summary: error: {tmp_path / 'nope'}: no such checkpoint directory\n"


# --- commands ------------------------------------------------------------------------------------

def test_generate_to_a_file(capsys, tmp_path):
    out = run_ok(capsys, "generate", "--chars", "1001", "--seed", "3", "-o", str(tmp_path / "g.txt"))
    assert out == f"wrote 1,001 characters to {tmp_path / 'g.txt'}\n"
    assert (tmp_path / "g.txt").read_text() == grammar.generate(1001, seed=3)
    assert [p.name for p in tmp_path.iterdir()] == ["g.txt"]


def test_generate_to_stdout_with_grammar_options(capsys):
    out = run_ok(capsys, "generate", "--chars", "300", "--seed", "4", "--max-depth", "2", "--no-zero-digit",
                 "--separator", "")
    spec = grammar.GrammarSpec(max_depth=2, zero_digit=False, separator="")
    assert out == grammar.generate(300, seed=4, spec=spec) + "\n"


def test_train_writes_a_loadable_checkpoint_with_the_asked_for_sizes(ck):
    model = checkpoint.load(ck)
    assert (model.config.cell, model.config.hidden_size, model.config.embedding_dim) == ("gru", 6, 4)
    assert model.config.vocab == grammar.GrammarSpec().alphabet
    assert model.training_record["train"]["steps"] == 15


def test_train_prints_the_best_loss_and_where_it_saved(capsys, tmp_path):
    out = run_trained(capsys, "train", "--out", str(tmp_path / "m"), "--steps", "3", "--batch", "4", "--row-chars",
                 "150", "--bptt", "50", "--eval-chars", "800", "--cell", "rnn", "--one-hot", "--layers", "2",
                 "--hidden", "3", "--device", "cpu", "--quiet")
    last = out.splitlines()[-1]
    assert last.startswith("best held-out loss ") and "x the floor" in last
    assert last.endswith(f"saved to {tmp_path / 'm'}")
    model = checkpoint.load(tmp_path / "m")
    assert model.config.cell == "rnn" and model.config.num_layers == 2 and model.embed is None


def test_eval_prints_json_with_loss_floor_and_ratio(capsys, ck):
    result = json.loads(run_ok(capsys, "eval", "--model", str(ck), "--chars", "3000", "--seed", "9", "--json"))
    assert set(result) == {"chars", "predictions", "loss", "floor", "ratio_to_floor"}
    text = grammar.generate(3000, seed=9)
    model = checkpoint.load(ck)
    assert result["chars"] == 3000
    assert result["loss"] == pytest.approx(heldout_loss(model, model.vocab.encode(text)[None]), abs=1e-5)
    assert result["floor"] == pytest.approx(grammar.empirical_floor(text), abs=1e-5)
    assert result["ratio_to_floor"] == pytest.approx(result["loss"] / result["floor"], abs=1e-4)


def test_eval_on_given_text_has_no_floor_and_samples_are_counted(capsys, ck):
    result = json.loads(run_ok(capsys, "eval", "--model", str(ck), "--text", "( 1 ( 2 ) 1 ) 0 ", "--samples", "2",
                               "--json"))
    assert result["chars"] == 16 and "floor" not in result
    for name in ("from_start", "after_warmup"):
        good, n = result[f"grammatical_{name}"].split("/")
        assert n == "2" and 0 <= int(good) <= 2


def test_trace_writes_an_npz_that_trace_load_reads(capsys, ck, tmp_path):
    text = grammar.generate(200, seed=1)
    out = run_ok(capsys, "trace", "--model", str(ck), "--text", text, "-o", str(tmp_path / "t.npz"))
    assert out.startswith(f"wrote {tmp_path / 't.npz'}: 200 chars, h_l0, ")
    tr = Trace.load(tmp_path / "t.npz")
    assert tr.text == text and tr.cell == "gru" and tr.hidden[0].shape == (200, 6)
    assert set(tr.views) == {"h", "r", "z", "n"}
    np.testing.assert_array_equal(tr.annotations["depth"], grammar.annotate(text)["depth"])


def test_trace_reads_a_file(capsys, ck, tmp_path):
    (tmp_path / "in.txt").write_text("( 1 ) 0 ", encoding="utf-8")
    run_ok(capsys, "trace", "--model", str(ck), "--file", str(tmp_path / "in.txt"), "-o", str(tmp_path / "t.npz"))
    assert Trace.load(tmp_path / "t.npz").text == "( 1 ) 0 "


def test_sample_prints_n_lines(capsys, ck):
    out = run_ok(capsys, "sample", "--model", str(ck), "-n", "4", "--chars", "20", "--seed", "1")
    lines = out.splitlines()
    assert len(lines) == 4
    # no prime: each starts at the grammar's own start, a first token '(' or '0' drawn from its distribution
    assert all(line[0] in "(0" and len(line) == 20 for line in lines)
    assert run_ok(capsys, "sample", "--model", str(ck), "-n", "4", "--chars", "20", "--seed", "1") == out


def test_sample_with_a_prime(capsys, ck):
    out = run_ok(capsys, "sample", "--model", str(ck), "--prime", "( ( ", "--chars", "10")
    assert out.startswith("( ( ") and len(out) == 15


def test_summary_shows_each_layer_with_its_parameter_count(capsys, tmp_path):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet))  # the default GRU-15
    checkpoint.save(model, tmp_path / "m")
    out = run_ok(capsys, "summary", "--model", str(tmp_path / "m"))
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert rows["embed (Embedding)"].endswith(" 120")
    assert rows["rnn layer 0 (GRU, 15 units)"].endswith(" 1,440")
    assert rows["decoder (Linear)"].endswith(" 128")
    assert "Total params: 1,688 (all trainable)" in out
    assert 1_688 == sum(p.numel() for p in model.parameters())
    assert "Vocabulary (8): ' ()01234'" in out


def test_summary_of_a_two_layer_one_hot_lstm(capsys, tmp_path):
    model = CharRNN(ModelConfig(vocab=list("abc"), cell="lstm", hidden_size=4, num_layers=2, embedding_dim=None))
    checkpoint.save(model, tmp_path / "m")
    out = run_ok(capsys, "summary", "--model", str(tmp_path / "m"))
    layer0 = 4 * 4 * (3 + 4) + 2 * 4 * 4   # four gates over a one-hot of 3 plus 4 hidden, two biases
    layer1 = 4 * 4 * (4 + 4) + 2 * 4 * 4
    decoder = 4 * 3 + 3
    assert "one-hot input" in out
    assert any(line.startswith("rnn layer 0 (LSTM, 4 units)") and line.endswith(f" {layer0}")
               for line in out.splitlines())
    assert any(line.startswith("rnn layer 1 (LSTM, 4 units)") and line.endswith(f" {layer1}")
               for line in out.splitlines())
    assert f"Total params: {layer0 + layer1 + decoder:,}" in out


# --- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, extra", [
    ("summary", []), ("sample", []), ("eval", ["--chars", "100"]), ("trace", ["--text", "( ", "-o", "x.npz"]),
])
def test_a_bad_model_path_is_one_line(capsys, tmp_path, command, extra):
    line = run_error(capsys, command, "--model", str(tmp_path / "nope"), *extra)
    assert line.endswith(f"{tmp_path / 'nope'}: no such checkpoint directory")


def test_a_corrupt_checkpoint_is_one_line(capsys, ck, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((ck / "config.json").read_text())
    (bad / "model.safetensors").write_bytes(b"\x00" * 100)
    line = run_error(capsys, "summary", "--model", str(bad))
    assert f"{bad / 'model.safetensors'}: not a readable safetensors file" in line


def test_unknown_characters_in_text_are_one_line_with_positions(capsys, ck, tmp_path):
    line = run_error(capsys, "trace", "--model", str(ck), "--text", "( x\n(", "-o", str(tmp_path / "t.npz"))
    assert "2 character(s) not in the model's vocabulary" in line
    assert "'x' at 2, '\\n' at 3" in line
    assert not (tmp_path / "t.npz").exists()


def test_unknown_characters_in_eval_text(capsys, ck):
    line = run_error(capsys, "eval", "--model", str(ck), "--text", "hello")
    assert "'h' at 0" in line


def test_a_missing_file_is_one_line(capsys, ck, tmp_path):
    line = run_error(capsys, "trace", "--model", str(ck), "--file", str(tmp_path / "no.txt"), "-o",
                     str(tmp_path / "t.npz"))
    assert line == f"rnnscope trace: error: {tmp_path / 'no.txt'}: no such file"


def test_a_missing_training_file_is_one_line(capsys, tmp_path):
    line = run_error(capsys, "train", "--out", str(tmp_path / "m"), "--data", str(tmp_path / "no.txt"))
    assert line == f"rnnscope train: error: {tmp_path / 'no.txt'}: no such file"
    assert not (tmp_path / "m").exists()


def test_an_empty_text_is_one_line(capsys, ck, tmp_path):
    line = run_error(capsys, "trace", "--model", str(ck), "--text", "", "-o", str(tmp_path / "t.npz"))
    assert line.endswith("the sequence is empty")


def test_bad_sampling_settings_are_one_line(capsys, ck):
    assert run_error(capsys, "sample", "--model", str(ck), "--temperature", "0").endswith(
        "temperature must be positive, got 0.0")
    assert "sample length must be between 1 and 100,000" in run_error(capsys, "sample", "--model", str(ck),
                                                                      "--chars", "0")


def test_bad_grammar_settings_are_one_line(capsys):
    line = run_error(capsys, "generate", "--chars", "10", "--max-depth", "12")
    assert "max_depth must be between 1 and 9" in line
    line = run_error(capsys, "generate", "--chars", "-3")
    assert "length must be non-negative, got -3" in line


def test_writing_into_a_missing_directory_is_one_line(capsys, tmp_path):
    line = run_error(capsys, "generate", "--chars", "10", "-o", str(tmp_path / "no" / "g.txt"))
    assert str(tmp_path / "no") in line


# --- eval scores a model on its own grammar; outputs go only where they can -----------------------

def test_eval_uses_the_grammar_the_model_was_trained_on(capsys, tmp_path):
    out = tmp_path / "shallow"
    run_trained(capsys, "train", "--out", str(out), "--steps", "4", "--batch", "4", "--row-chars", "300",
           "--eval-chars", "2000", "--max-depth", "2", "--device", "cpu", "--quiet")
    result = json.loads(run_ok(capsys, "eval", "--model", str(out), "--chars", "20000", "--json"))
    shallow = grammar.GrammarSpec(max_depth=2)
    assert result["floor"] == round(grammar.empirical_floor(grammar.generate(20000, seed=12345, spec=shallow),
                                                           shallow), 5)
    deeper = json.loads(run_ok(capsys, "eval", "--model", str(out), "--chars", "20000", "--max-depth", "2", "--json"))
    assert deeper["floor"] == result["floor"]


def test_eval_of_a_text_model_reads_its_recorded_heldout_text(capsys, tmp_path):
    """With no flags: the tail training held out (val fraction 0.1), read from the zero state, the same loss as
    --text of that tail; every count is of predictions, one fewer than the characters."""
    data = tmp_path / "words.txt"
    data.write_text("the cat sat on the mat " * 300)
    run_trained(capsys, "train", "--out", str(tmp_path / "m"), "--data", str(data), "--steps", "2", "--batch", "4",
                "--bptt", "20", "--device", "cpu", "--quiet")
    tail = data.read_text()[int(6900 * 0.9):]
    own = json.loads(run_ok(capsys, "eval", "--model", str(tmp_path / "m"), "--json"))
    given = json.loads(run_ok(capsys, "eval", "--model", str(tmp_path / "m"), "--text", tail, "--json"))
    assert own["loss"] == given["loss"] and own["chars"] == len(tail) == 690 and own["predictions"] == 689
    assert own["on"] == "the last 0.1 of the training text" and "on" not in given
    assert run_ok(capsys, "eval", "--model", str(tmp_path / "m")).startswith(
        f"loss {own['loss']:.5f} nats/char averaged over 689 predictions (every character after the first of 690 of "
        "the last 0.1 of the training text)")
    (tmp_path / "other.txt").write_text("the mat sat on the cat " * 10)
    other = json.loads(run_ok(capsys, "eval", "--model", str(tmp_path / "m"), "--heldout", str(tmp_path / "other.txt"),
                              "--json"))
    assert other["predictions"] == 229 and other["on"] == f"the held-out text {tmp_path / 'other.txt'}"


@pytest.mark.parametrize("command, extra", [("generate", []), ("trace", ["--text", "( 1 "])])
def test_output_into_a_missing_folder_or_onto_a_folder_is_one_line(capsys, tmp_path, ck, command, extra):
    model = ["--model", str(ck)] if command == "trace" else []
    line = run_error(capsys, command, *model, *extra, "-o", str(tmp_path / "nope" / "x"))
    assert f"{tmp_path / 'nope'}: no such directory" in line
    line = run_error(capsys, command, *model, *extra, "-o", str(tmp_path))
    assert "is a directory; give a file name" in line


def test_train_refuses_to_replace_a_folder_that_is_not_a_checkpoint(capsys, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert "refusing to replace this directory" in run_error(capsys, "train", "--out", str(tmp_path / "mine"),
                                                             "--steps", "1", "--quiet")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# --- train checks its --out before training ----------------------------------------------------------

TINY_TRAIN = ["--steps", "2", "--batch", "4", "--row-chars", "150", "--bptt", "50", "--eval-chars", "800",
              "--hidden", "3", "--device", "cpu", "--threads", "1", "--quiet"]


@pytest.fixture
def no_training(monkeypatch):
    """Training must not start: building the model fails the test."""
    import rnnscope.models.training.train
    monkeypatch.setattr(rnnscope.models.training.train, "CharRNN", lambda *a, **k: pytest.fail("training started"))


def saved_gru(path: Path) -> Path:
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=7))
    return checkpoint.save(model, path, training={"best": {"step": 900, "heldout_loss": 0.49123}})


def test_train_refuses_existing_checkpoint_without_force(capsys, tmp_path, no_training):
    ck = saved_gru(tmp_path / "m")
    before = {p.name: p.read_bytes() for p in ck.iterdir()}
    line = run_error(capsys, "train", "--out", str(ck), "--cell", "lstm", *TINY_TRAIN)
    assert line == (f"rnnscope train: error: {ck}: already holds a checkpoint of a 1-layer GRU with 7 units over "
                    f"8 characters (best held-out loss 0.49123 nats/char at step 900); give --force to replace "
                    f"it, or choose another --out")
    assert {p.name: p.read_bytes() for p in ck.iterdir()} == before


def test_train_with_force_replaces_a_checkpoint_of_another_architecture(capsys, tmp_path):
    ck = saved_gru(tmp_path / "m")
    run_trained(capsys, "train", "-o", str(ck), "--force", "--cell", "lstm", *TINY_TRAIN)
    assert checkpoint.load(ck).config.cell == "lstm"


@pytest.mark.parametrize("where", ["/proc/rnnscope-out", "a-file/ck"])
def test_train_into_an_unwritable_place_fails_before_training_naming_the_path_given(
        capsys, tmp_path, monkeypatch, no_training, where):
    monkeypatch.chdir(tmp_path)
    Path("a-file").write_text("not a folder")
    line = run_error(capsys, "train", "--out", where, *TINY_TRAIN)
    assert line.startswith(f"rnnscope train: error: {where}: cannot write a checkpoint"), line
    assert ".tmp" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_train_into_a_read_only_folder_fails_before_training(capsys, tmp_path, no_training):
    """A folder mode 0555 stops everyone but root; sysfs refuses new files to root too (CI runs as
    root), so the check runs there as well instead of being skipped."""
    if os.geteuid() == 0:
        ro, why = Path("/sys/kernel"), "Operation not permitted"     # what sysfs says to mkdir
    else:
        ro, why = tmp_path / "ro", "Permission denied"
        ro.mkdir(mode=0o555)
    line = run_error(capsys, "train", "--out", str(ro / "m"), *TINY_TRAIN)
    assert f"{ro / 'm'}: cannot write a checkpoint in {ro} ({why})" in line


def test_train_creates_a_missing_parent_folder(capsys, tmp_path):
    run_trained(capsys, "train", "--out", str(tmp_path / "runs" / "new" / "m"), *TINY_TRAIN)
    assert checkpoint.load(tmp_path / "runs" / "new" / "m").config.hidden_size == 3


def test_train_says_loudly_in_its_final_line_when_the_best_is_worse_than_unigram(capsys, tmp_path):
    """Two steps of a 3-cell model cannot beat the character frequencies: its checkpoint is kept (a valid
    model), its last line says so, and it exits 1 saying where the checkpoint is."""
    code = main(["train", "--out", str(tmp_path / "m"), *TINY_TRAIN])
    captured = capsys.readouterr()
    record = checkpoint.load(tmp_path / "m").training_record
    assert code == 1 and captured.err.splitlines()[-1] == (
        f"rnnscope train: error: the best held-out loss {record['best']['heldout_loss']:.5f} nats/char is worse "
        f"than the unigram baseline {record['unigram']:.5f}: the model learned nothing from context; the checkpoint "
        f"is kept at {tmp_path / 'm'} (its run, to resume or look at, at {tmp_path / 'm.run'})")
    last, unigram = captured.out.splitlines()[-1], record["unigram"]
    assert f"WARNING: worse than the unigram baseline {unigram:.5f} nats/char" in last
    assert "worse than the unigram baseline" in captured.err


def test_train_reports_a_diverged_run_as_one_line_and_exits_2(capsys, tmp_path, monkeypatch):
    import rnnscope.models.training.train
    monkeypatch.setattr(rnnscope.models.training.train, "lr_at", lambda step, cfg: float("nan"))
    line = run_error(capsys, "train", "--out", str(tmp_path / "m"), *TINY_TRAIN)
    assert line == ("rnnscope train: error: training diverged at step 1: training loss is nan (try a smaller "
                    "--lr); nothing was saved by this run")
    assert not (tmp_path / "m").exists()


# --- ReLU RNNs and models without biases ----------------------------------------------------------------

def test_train_a_relu_rnn_without_biases(capsys, tmp_path):
    run_trained(capsys, "train", "--out", str(tmp_path / "m"), "--cell", "rnn", "--nonlinearity", "relu", "--no-bias",
           *TINY_TRAIN)
    model = checkpoint.load(tmp_path / "m")
    assert (model.config.nonlinearity, model.config.bias) == ("relu", False)
    assert model.rnn.nonlinearity == "relu" and model.rnn.bias is False


def test_train_refuses_a_nonlinearity_for_a_gru(capsys, tmp_path):
    line = run_error(capsys, "train", "--out", str(tmp_path / "m"), "--nonlinearity", "relu", *TINY_TRAIN)
    assert line.endswith("nonlinearity 'relu' is for cell 'rnn' only; a GRU has fixed nonlinearities")
    assert not (tmp_path / "m").exists()


def test_summary_of_a_bias_free_gru_and_a_relu_rnn_counts_only_the_weights_they_have(capsys, tmp_path):
    gru = CharRNN(ModelConfig(vocab=list("abc"), cell="gru", hidden_size=4, embedding_dim=2, bias=False))
    checkpoint.save(gru, tmp_path / "gru")
    out = run_ok(capsys, "summary", "--model", str(tmp_path / "gru"))
    assert any(line.startswith("rnn layer 0 (GRU, 4 units, no bias)") and line.endswith(f" {3 * 4 * (2 + 4)}")
               for line in out.splitlines()), out
    assert f"Total params: {3 * 2 + 3 * 4 * 6 + 4 * 3 + 3}" in out
    rnn = CharRNN(ModelConfig(vocab=list("abc"), cell="rnn", hidden_size=4, embedding_dim=2, nonlinearity="relu"))
    checkpoint.save(rnn, tmp_path / "rnn")
    out = run_ok(capsys, "summary", "--model", str(tmp_path / "rnn"))
    assert any(line.startswith("rnn layer 0 (RNN relu, 4 units)") and line.endswith(f" {4 * 6 + 2 * 4}")
               for line in out.splitlines()), out


# --- one CLI, consistent across commands -----------------------------------------------------------

RUNS_A_MODEL = ["train", "eval", "trace", "sample", "export"]


def subparsers() -> dict:
    from rnnscope.cli import build_parser
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return {"": parser, **action.choices}


def test_every_option_of_every_command_has_help():
    missing = [f"{name or 'rnnscope'} {'/'.join(a.option_strings)}"
               for name, parser in subparsers().items() for a in parser._actions
               if a.option_strings and not (a.help or "").strip()]
    assert missing == []


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"rnnscope {version('rnnscope')}\n"


@pytest.mark.parametrize("command", RUNS_A_MODEL)
def test_every_command_that_runs_a_model_takes_device_auto_and_threads(command):
    options = {o: a for a in subparsers()[command]._actions for o in a.option_strings}
    assert options["--device"].default == "auto"
    assert "--threads" in options


@pytest.mark.parametrize("command", ["train", "sample", "eval", "summary", "trace", "export", "generate"])
def test_every_command_that_writes_takes_dash_o_and_out(command):
    options = {o for a in subparsers()[command]._actions for o in a.option_strings}
    assert {"-o", "--out"} <= options


@pytest.mark.parametrize("command, extra", [("sample", []), ("eval", ["--chars", "100"]),
                                            ("trace", ["--text", "( 1 ", "-o", "t.npz"])])
def test_an_unknown_device_is_one_line_everywhere(capsys, ck, tmp_path, monkeypatch, command, extra):
    monkeypatch.chdir(tmp_path)
    line = run_error(capsys, command, "--model", str(ck), *extra, "--device", "bogus")
    assert line.endswith("unknown device 'bogus'; use auto, cpu or cuda")


def test_threads_sets_torchs_threads(capsys, ck, monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)
    run_ok(capsys, "sample", "--model", str(ck), "--chars", "5", "--threads", "1")
    assert seen == [1]


def test_export_refuses_a_device_it_cannot_use(capsys, ck, tmp_path):
    line = run_error(capsys, "export", "--model", str(ck), "--text", "( 1 ) 0 ", "--device", "cuda:0",
                     "-o", str(tmp_path / "x.html"))
    assert line.endswith("export runs the model through the page's own code, on the CPU; --device cuda:0 is not "
                         "available here (use auto or cpu)")
    assert not (tmp_path / "x.html").exists()


def test_eval_prints_text_for_people_by_default(capsys, ck):
    out = run_ok(capsys, "eval", "--model", str(ck), "--chars", "3000", "--seed", "9", "--samples", "2")
    result = json.loads(run_ok(capsys, "eval", "--model", str(ck), "--chars", "3000", "--seed", "9", "--samples",
                               "2", "--json"))
    lines = out.splitlines()
    assert lines[0] == (f"loss {result['loss']:.5f} nats/char averaged over 2,999 predictions (every character "
                        f"after the first of 3,000) (floor {result['floor']:.5f}, {result['ratio_to_floor']:.5f} x "
                        "the floor)")
    assert result["predictions"] == 2_999 and result["chars"] == 3_000
    assert f"grammatical samples from the start state: {result['grammatical_from_start']}" in lines
    assert f"grammatical samples after a warm-up: {result['grammatical_after_warmup']}" in lines


def test_eval_json_to_a_file(capsys, ck, tmp_path):
    out = run_ok(capsys, "eval", "--model", str(ck), "--chars", "3000", "--json", "-o", str(tmp_path / "e.json"))
    assert out == f"wrote the evaluation to {tmp_path / 'e.json'}\n"
    assert json.loads((tmp_path / "e.json").read_text())["chars"] == 3000
    assert [p.name for p in tmp_path.iterdir()] == ["e.json"]


def test_summary_json_has_the_same_rows_as_the_table(capsys, ck, tmp_path):
    table = run_ok(capsys, "summary", "--model", str(ck))
    data = json.loads(run_ok(capsys, "summary", "--model", str(ck), "--json"))
    assert [r["layer"] for r in data["layers"]] == ["embed (Embedding)", "rnn layer 0 (GRU, 6 units)",
                                                    "decoder (Linear)"]
    assert data["total_params"] == sum(p.numel() for p in checkpoint.load(ck).parameters())
    assert f"Total params: {data['total_params']:,}" in table
    assert data["model"] == checkpoint.read_config(ck)["model"]
    run_ok(capsys, "summary", "--model", str(ck), "-o", str(tmp_path / "s.txt"))
    assert (tmp_path / "s.txt").read_text() == table


def test_sample_to_a_file(capsys, ck, tmp_path):
    printed = run_ok(capsys, "sample", "--model", str(ck), "-n", "3", "--chars", "20", "--seed", "1")
    out = run_ok(capsys, "sample", "--model", str(ck), "-n", "3", "--chars", "20", "--seed", "1",
                 "-o", str(tmp_path / "s.txt"))
    assert out == f"wrote 3 sample(s) to {tmp_path / 's.txt'}\n"
    assert (tmp_path / "s.txt").read_text() == printed
    assert [p.name for p in tmp_path.iterdir()] == ["s.txt"]


@pytest.mark.parametrize("command", ["sample", "eval", "summary"])
def test_an_output_file_that_cannot_be_written_fails_before_the_model_runs(capsys, ck, tmp_path, monkeypatch,
                                                                           command):
    monkeypatch.setattr(checkpoint, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    line = run_error(capsys, command, "--model", str(ck), "-o", str(tmp_path / "nope" / "x.txt"))
    assert f"{tmp_path / 'nope'}: no such directory" in line


def test_output_cut_by_a_pipe_ends_quietly():
    """`rnnscope sample ... | head -1`: the reader goes away after one line; rnnscope ends as Unix tools do
    (status 141, 128 + SIGPIPE), with nothing on stderr: no 'Broken pipe' error. 300 kB of samples: more
    than a pipe holds, so the writer is still writing when the reader goes."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnscope", "sample", "--chars", "3000", "-n", "100", "--device",
                             "cpu", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == ""
