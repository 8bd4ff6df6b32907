"""Training on any UTF-8 text like a real trainer: NFC on the way in, a held-out file
or fraction, per-epoch row offsets, a run directory with metrics, periodic checkpoints and a resumable
state (a resumed run equals an uninterrupted one), sampling from the model's own start with top-k, and
the python-stdlib corpus. Each number is checked against an independent computation on a small case."""
from __future__ import annotations

import hashlib
import json
import math
import unicodedata

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnnscope.models.network import checkpoint, reference

from rnnscope.models.data import corpus
from rnnscope.models.training import train as train_module
from rnnscope.models.data.batches import TextData
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.training.run import periodic_checkpoints, read_metrics, run_dir_of
from rnnscope.models.reading.sample import sample
from rnnscope.models.reading.tracer import trace
from rnnscope.models.training.train import TrainConfig, resume, train
from rnnscope.cli import main

torch.set_num_threads(1)

WORDS = "def return self value if else for in while import class lambda yield None True".split()
SMALL = dict(steps=48, batch_size=8, bptt=40, warmup_steps=3, device="cpu", eval_every=12, lr=0.05)


def code_text(seed=0, lines=160) -> str:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(lines):
        indent = "    " * int(rng.integers(0, 3))
        out.append(indent + " ".join(rng.choice(WORDS, int(rng.integers(2, 7)))) + ("(x):" if i % 3 == 0 else ""))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "code.txt"
    path.write_text(code_text(), encoding="utf-8")
    return path


def small_run(text_file, out, stop_at=None, **kwargs):
    data = TextData(text_file, seed=0)
    config = ModelConfig(vocab=data.vocab.chars, cell="lstm", hidden_size=16, embedding_dim=8)
    return train(data, config, TrainConfig(**{**SMALL, **kwargs}), out, progress=False, stop_at=stop_at)


@pytest.fixture(scope="module")
def straight(text_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "ck"
    return out, small_run(text_file, out, save_every=24)


def weights(folder):
    return load_file(folder / "model.safetensors")


# --- the text going in ---------------------------------------------------------------------------------

def test_text_is_nfc_normalised_so_a_decomposed_e_acute_is_one_character(tmp_path):
    decomposed = "caf" + "e\u0301" + " "
    path = tmp_path / "t.txt"
    path.write_text(decomposed * 300, encoding="utf-8")
    data = TextData(path)
    assert "\u0301" not in data.vocab.chars and "é" in data.vocab.chars
    assert data.vocab.chars == sorted(set("café "))
    assert len(data.text) == 5 * 300 == len(unicodedata.normalize("NFC", decomposed * 300))


def test_the_held_out_text_is_the_tail_fraction_or_the_validation_file(tmp_path):
    text = code_text()
    path = tmp_path / "t.txt"
    path.write_text(text)
    tail = TextData(path, val_fraction=0.25)
    cut = int(len(text) * 0.75)
    assert tail.train_text == text[:cut] and tail.val_text == text[cut:]
    (tmp_path / "v.txt").write_text(code_text(seed=1))
    own = TextData(path, val_path=tmp_path / "v.txt")
    assert own.train_text == text and own.val_text == code_text(seed=1)
    assert own.describe()["val"] == {"path": str(tmp_path / "v.txt"), "chars": len(code_text(seed=1)),
                                     "sha256": hashlib.sha256(code_text(seed=1).encode()).hexdigest()}


def test_a_validation_file_changed_after_training_is_refused_as_the_held_out_stream(tmp_path):
    """The record keeps the validation text's digest: a file rewritten since is not the model's held-out text."""
    (tmp_path / "t.txt").write_text(code_text())
    (tmp_path / "v.txt").write_text(code_text(seed=1))
    data = TextData(tmp_path / "t.txt", val_path=tmp_path / "v.txt")
    checkpoint.save(CharRNN(ModelConfig(vocab=data.vocab.chars, hidden_size=3)), tmp_path / "ck",
                    training={"data": data.describe()})
    assert heldout_of(tmp_path / "ck").text == code_text(seed=1)
    (tmp_path / "v.txt").write_text(code_text(seed=2))
    with pytest.raises(RnnscopeError, match="changed since the model was trained on it"):
        heldout_of(tmp_path / "ck")


def test_a_validation_file_with_characters_the_training_text_lacks_is_refused_naming_them(tmp_path):
    (tmp_path / "t.txt").write_text(code_text())
    (tmp_path / "v.txt").write_text(code_text(seed=1) + "Z§Z")
    with pytest.raises(RnnscopeError, match=r"v\.txt: 2 character\(s\) never seen in the training text t\.txt.*"
                                            r"'Z' \(2x\), '§' \(1x\)"):
        TextData(tmp_path / "t.txt", val_path=tmp_path / "v.txt")


def test_each_epoch_cuts_rows_at_a_new_seeded_offset_of_the_same_text(text_file):
    data = TextData(text_file, seed=3)
    ids = data.vocab.encode(data.train_text)
    doubled = np.concatenate([ids, ids])
    starts = []
    for epoch in (0, 1, 2):
        rows, _ = data.epoch(epoch, 4)
        per_row = len(ids) // 4
        assert rows.shape == (4, per_row)
        # every row is a contiguous stretch of the text (wrapping once at its end), rows follow each other
        first = next(s for s in range(len(ids)) if np.array_equal(doubled[s:s + per_row], rows[0]))
        for r in range(4):
            assert np.array_equal(rows[r], doubled[first + r * per_row: first + (r + 1) * per_row])
        starts.append(first)
    assert len(set(starts)) == 3
    assert np.array_equal(TextData(text_file, seed=3).epoch(1, 4)[0], data.epoch(1, 4)[0])
    assert not np.array_equal(TextData(text_file, seed=4).epoch(1, 4)[0], data.epoch(1, 4)[0])


# --- training, the run directory, resuming ----------------------------------------------------------------

def test_a_small_model_learns_short_text(straight):
    _, record = straight
    losses = [h["heldout_loss"] for h in record["history"]]
    assert losses[-1] < 0.7 * losses[0]
    assert record["best"]["heldout_loss"] < record["unigram"]


def test_the_metrics_log_has_every_evaluation_in_nats_and_bits(straight):
    out, record = straight
    lines = read_metrics(run_dir_of(out))
    assert [m["step"] for m in lines] == [12, 24, 36, 48] == [h["step"] for h in record["history"]]
    for m, h in zip(lines, record["history"]):
        assert m["val_loss_nats"] == h["heldout_loss"]
        assert m["val_bits_per_char"] == pytest.approx(h["heldout_loss"] / math.log(2), abs=2e-5)
        assert m["train_bits_per_char"] == pytest.approx(m["train_loss_nats"] / math.log(2), abs=2e-5)
        assert m["chars_per_s"] > 0 and m["elapsed_s"] >= 0
    assert lines[-1]["lr"] == pytest.approx(train_module.lr_at(47, TrainConfig(**SMALL)))


def test_periodic_checkpoints_are_loadable_and_named_by_step(straight, text_file):
    out, record = straight
    found = periodic_checkpoints(run_dir_of(out))
    assert [p.name for p in found] == ["step-000024", "step-000048"]
    last = checkpoint.load(found[-1])
    resumed_state = weights(run_dir_of(out) / "resume")
    for name, value in last.state_dict().items():
        assert torch.equal(value, resumed_state[name])
    # its held-out loss, measured again here, is the record's loss at step 48
    from rnnscope.models.training.evaluate import heldout_loss
    assert heldout_loss(last, TextData(text_file).heldout()[0]) == pytest.approx(record["history"][-1]["heldout_loss"],
                                                                                abs=1e-5)


def test_a_run_stopped_and_resumed_from_disk_equals_one_never_stopped(straight, text_file, tmp_path):
    straight_out, straight_record = straight
    out = tmp_path / "ck"
    first = small_run(text_file, out, save_every=24, stop_at=9)
    assert first["stopped"] == "asked to stop at step 9" and first["history"][-1]["step"] == 9
    record = resume(run_dir_of(out), progress=False)
    assert record["resumed_at"] == [9] and record["stopped"] is None
    a, b = weights(run_dir_of(out) / "resume"), weights(run_dir_of(straight_out) / "resume")
    for name in a:
        assert torch.equal(a[name], b[name]), name
    on_schedule = [h for h in record["history"] if "stopped" not in h]
    assert [(h["step"], h["heldout_loss"]) for h in on_schedule] == \
        [(h["step"], h["heldout_loss"]) for h in straight_record["history"]]
    assert [m["step"] for m in read_metrics(run_dir_of(out))] == [9, 12, 24, 36, 48]


def test_the_cli_stops_at_its_time_limit_and_resume_finishes_the_run_identically(text_file, tmp_path, monkeypatch,
                                                                                   capsys):
    flags = ["--data", str(text_file), "--cell", "gru", "--hidden", "8", "--embedding", "4", "--steps", "10",
             "--batch", "8", "--bptt", "40", "--eval-every", "5", "--device", "cpu", "--quiet"]
    # 10 steps of 8 cells do not beat the character frequencies: exit 1, the checkpoint kept (and compared)
    assert main(["train", "-o", str(tmp_path / "straight"), *flags]) == 1
    clock = iter(range(0, 10_000, 7))            # every reading of the clock: 7 s later
    real = train_module.time.perf_counter
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: next(clock))
    assert main(["train", "-o", str(tmp_path / "ck"), *flags, "--minutes", "0.2"]) == 0   # 12 s: two steps
    monkeypatch.setattr(train_module.time, "perf_counter", real)
    said = capsys.readouterr().out
    assert "stopped at step 2 of 10 (time limit of 0.2 minutes): continue with --resume" in said
    assert main(["train", "--resume", str(tmp_path / "ck.run"), "--quiet"]) == 1      # the same run, finished
    a, b = weights(tmp_path / "ck.run" / "resume"), weights(tmp_path / "straight.run" / "resume")
    assert all(torch.equal(a[k], b[k]) for k in a)


def run_error(capsys, *argv):
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    return captured.err


def test_resume_refuses_what_is_not_a_run_and_flags_that_contradict_it_changing_nothing(straight, tmp_path,
                                                                                        capsys):
    out, _ = straight
    err = run_error(capsys, "train", "--resume", str(out))
    assert f"{out}: not a training run (no run.json); its run is {run_dir_of(out)}" in err
    err = run_error(capsys, "train", "--resume", str(tmp_path / "nowhere"))
    assert "no such run directory" in err
    run = run_dir_of(out)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    err = run_error(capsys, "train", "--resume", str(run), "--hidden", "64")
    assert "--hidden 64 contradicts the run, which has 16" in err
    err = run_error(capsys, "train", "--resume", str(run), "--lr", "0.5")
    assert "--lr 0.5 contradicts the run, which has 0.05" in err
    err = run_error(capsys, "train", "--resume", str(run), "--max-depth", "3")
    assert "--max-depth 3 contradicts the run, which has nothing (it trains on text)" in err
    err = run_error(capsys, "train", "--resume", str(run))
    assert "already finished all 48 steps" in err
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


def test_train_refuses_text_flags_without_text_and_a_folder_in_the_runs_place(text_file, tmp_path, capsys):
    assert "--val and --val-fraction go with --data" in run_error(capsys, "train", "-o", str(tmp_path / "a"),
                                                                  "--val-fraction", "0.2")
    (tmp_path / "b.run").mkdir()
    (tmp_path / "b.run" / "mine.txt").write_text("keep me")
    err = run_error(capsys, "train", "-o", str(tmp_path / "b"), "--data", str(text_file), "--force", "--quiet")
    assert "b.run: exists and is not a training run; refusing to replace it" in err
    assert (tmp_path / "b.run" / "mine.txt").read_text() == "keep me"


# --- sampling -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model(straight):
    return checkpoint.load(straight[0])


def test_samples_use_only_the_vocabulary_and_the_same_seed_gives_the_same_samples(model):
    a = sample(model, 150, seed=4, primes=["", "", "def "])
    assert a == sample(model, 150, seed=4, primes=["", "", "def "])
    assert a != sample(model, 150, seed=5, primes=["", "", "def "])
    assert all(len(s) == 150 and set(s) <= set(model.config.vocab) for s in a)
    assert a[0] != a[1]   # two samples from the start are drawn, not copied


def test_top_k_1_is_greedy_decoding(model):
    got = sample(model, 40, seed=1, primes=["def ", "if "], top_k=1)
    for prime, text in zip(["def ", "if "], got):
        # greedy decoding by hand, with the NumPy reference equations and the decoder as a matrix
        cfg = model.config
        W = {k.removeprefix("rnn."): v.double().numpy() for k, v in model.state_dict().items() if k.startswith("rnn.")}
        dec_w, dec_b = model.decoder.weight.double().detach().numpy(), model.decoder.bias.double().detach().numpy()
        chars = prime
        for _ in range(40):
            h = reference.run(cfg.cell, W, model.input_vectors(chars), cfg.num_layers)[-1]["h"][-1]
            chars += cfg.vocab[int(np.argmax(dec_w @ h + dec_b))]
        assert prime + text == chars


def test_an_empty_prime_starts_from_the_training_texts_character_frequencies(model):
    counts = np.zeros(len(model.config.vocab), dtype=int)
    counts[model.config.vocab.index("w")] = 5           # all the start mass on 'w'
    original = model.training_record
    model.training_record = {**original, "data": {**original["data"], "char_counts": counts.tolist()}}
    try:
        assert all(s[0] == "w" for s in sample(model, 5, seed=0, primes=[""] * 20))
        # the rest continues from reading 'w' in the zero state: greedy equals greedy after the prime 'w'
        assert sample(model, 12, primes=[""], top_k=1)[0][1:] == sample(model, 11, primes=["w"], top_k=1)[0]
    finally:
        model.training_record = original


def test_the_first_characters_follow_the_recorded_frequencies(straight):
    model = checkpoint.load(straight[0])
    counts = np.asarray(model.training_record["data"]["char_counts"], dtype=float)
    firsts = [s[0] for s in sample(model, 1, seed=7, primes=[""] * 4000)]
    seen = np.array([firsts.count(c) for c in model.config.vocab]) / 4000
    assert np.abs(seen - counts / counts.sum()).max() < 0.03      # 4000 draws: sd of a share <= 0.008


def test_a_text_model_without_recorded_frequencies_asks_for_a_prime(tmp_path, capsys):
    torch.manual_seed(0)
    bare = CharRNN(ModelConfig(vocab=list("abc \n")))
    checkpoint.save(bare, tmp_path / "old", {"data": {"kind": "text", "path": "/gone.txt", "chars": 5000}})
    err = run_error(capsys, "sample", "--model", str(tmp_path / "old"))
    assert "records no start distribution" in err and "give a prime" in err
    out = main(["sample", "--model", str(tmp_path / "old"), "--prime", "ab", "-n", "3", "--chars", "5"])
    assert out == 0 and capsys.readouterr().out.count("=== sample") == 3


def test_sample_cli_writes_several_samples_to_a_file(straight, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["sample", "--model", str(straight[0]), "--samples", "3", "--chars", "30", "--top-k", "5",
                 "--json", "-o", str(out)]) == 0
    samples = json.loads(out.read_text())
    assert len(samples) == 3 and all(len(s) == 30 for s in samples)
    assert samples == sample(checkpoint.load(straight[0]), 30, primes=[""] * 3, top_k=5)


def test_a_trace_of_the_text_model_equals_the_numpy_reference(model):
    text = code_text()[:200]
    tr = trace(model, text)
    W = {k.removeprefix("rnn."): v.double().numpy() for k, v in model.state_dict().items() if k.startswith("rnn.")}
    ref = reference.run("lstm", W, model.input_vectors(text), 1)[0]
    np.testing.assert_allclose(tr.hidden[0], ref["h"], atol=1e-5)


# --- the python-stdlib corpus ---------------------------------------------------------------------------

def test_the_stdlib_corpus_is_whole_sorted_library_files_within_the_size(tmp_path):
    text, record = corpus.python_stdlib(60_000)
    assert (text, record) == corpus.python_stdlib(60_000)           # reproducible
    assert len(text) <= 60_000 and record["chars"] == len(text) and record["text_sha256"] == corpus.sha256(text)
    heads = [line[len("# file: "):] for line in text.splitlines() if line.startswith("# file: ")]
    assert heads == [name for name, _ in record["file_list"]] == sorted(heads)
    assert not any("/test" in h or h.startswith("test") or "site-packages" in h for h in heads)
    import sysconfig
    from pathlib import Path
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    assert text.startswith(f"# file: {heads[0]}\n" + (stdlib / heads[0]).read_text())
    assert text.isascii()


def test_the_corpus_command_writes_the_text_and_its_record_and_a_model_rebuilds_its_held_out_tail(tmp_path,
                                                                                               capsys):
    out = tmp_path / "py.txt"
    assert main(["corpus", "python-stdlib", "-o", str(out), "--max-chars", "30000"]) == 0
    side = json.loads((tmp_path / "py.txt.json").read_text())
    assert side["text_sha256"] == corpus.sha256(out.read_text()) and side["python"]
    data = TextData(out)
    assert data.describe()["corpus"]["text_sha256"] == side["text_sha256"]
    config = ModelConfig(vocab=data.vocab.chars, hidden_size=4, embedding_dim=3)
    train(data, config, TrainConfig(steps=2, batch_size=4, bptt=20, device="cpu", eval_every=1), tmp_path / "ck",
          progress=False)
    tail = heldout_of(tmp_path / "ck").text
    assert tail == out.read_text()[int(len(out.read_text()) * 0.9):]
    out.unlink()                                       # gone: rebuilt from this Python's standard library
    assert heldout_of(tmp_path / "ck").text == tail


def test_the_shipped_text_model_is_offered_and_reads_its_held_out_stream():
    from rnnscope.app.pages.state import find_checkpoints
    from rnnscope.base.paths import CHECKPOINTS_DIR
    shipped = CHECKPOINTS_DIR / "lstm128-pystdlib"
    assert "lstm128-pystdlib" in find_checkpoints()
    model = checkpoint.load(shipped)
    best = model.training_record["best"]
    assert best["heldout_bits_per_char"] == pytest.approx(best["heldout_loss"] / math.log(2), abs=2e-5)
    held = heldout_of(shipped)
    from rnnscope.models.training.evaluate import heldout_loss
    ids = model.vocab.encode(held.text)
    n = len(ids) // 4
    assert heldout_loss(model, ids[: 4 * n].reshape(4, n)) == pytest.approx(best["heldout_loss"], abs=1e-4)
    assert set(sample(model, 300, seed=0)[0]) <= set(model.config.vocab)


def test_the_shipped_512_cell_text_model_reads_its_rebuilt_held_out_text_below_1_25_nats():
    """lstm512-pystdlib (models/train_text512.sh): its record's best held-out loss and, independently, its loss on
    the first 20,000 characters of its held-out stream -- rebuilt from this Python's standard library when the
    corpus file it was trained on is not here, as on a fresh machine -- both under 1.25 nats/char."""
    from rnnscope.base.paths import CHECKPOINTS_DIR
    from rnnscope.models.training.evaluate import heldout_loss
    shipped = CHECKPOINTS_DIR / "lstm512-pystdlib"
    model = checkpoint.load(shipped)
    assert model.config.hidden_size == 512 and model.config.cell == "lstm"
    record = model.training_record
    assert record["data"]["corpus"]["max_chars"] == 12_000_000 and record["best"]["heldout_loss"] <= 1.25
    held = heldout_of(shipped)
    assert len(held.text) == record["data"]["val"]["chars"]
    torch.set_num_threads(1)
    ids = model.vocab.encode(held.text[:20_000])
    assert heldout_loss(model, ids.reshape(1, -1)) < 1.25
