"""Training and sampling: seeded runs are reproducible, the loss falls,
the record says what happened, the best model is the one kept; samples are seeded and
validated arguments are refused with a clear message."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnnscope import grammar
from rnnscope.models.network import checkpoint
from rnnscope.models.training import train as train_module
from rnnscope.models.data.batches import GrammarData, TextData
from rnnscope.base.errors import RnnscopeError, TrainingDiverged
from rnnscope.models.training.evaluate import grammatical_share, heldout_loss
from rnnscope.models.network.model import ModelConfig
from rnnscope.models.reading.sample import MAX_SAMPLE_CHARS, sample
from rnnscope.models.training.train import TrainConfig, train

torch.set_num_threads(1)  # tiny matrices; avoids OpenMP spinning against other processes on 2 cores

SPEC = grammar.GrammarSpec()
TINY = dict(steps=60, batch_size=16, warmup_steps=5, device="cpu", eval_every=5)


def grammar_data(seed: int = 0) -> GrammarData:
    return GrammarData(SPEC, row_chars=500, eval_chars=4000, seed=seed)


def run(out, seed=0, steps=60, **model_kwargs):
    data = grammar_data()
    config = ModelConfig(vocab=data.vocab.chars, **model_kwargs)
    return train(data, config, TrainConfig(**{**TINY, "steps": steps, "seed": seed}), out, progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "ck"
    record = run(out)
    return out, record


def weights(path) -> dict[str, torch.Tensor]:
    return load_file(path / "model.safetensors")


def is_grammatical(text: str) -> bool:
    """An independent check of section 3's rules: token, space, token, space ..., '(' below
    depth 4, ')' above 0, a digit equal to the depth."""
    depth = 0
    for i, ch in enumerate(text):
        if i % 2:
            if ch != " ":
                return False
        elif ch == "(" and depth < 4:
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
        elif ch != str(depth):
            return False
    return True


# --- training ------------------------------------------------------------------------------------

def test_same_seed_gives_identical_weights(trained, tmp_path):
    path, record = trained
    again = run(tmp_path / "again")
    a, b = weights(path), weights(tmp_path / "again")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert [h["heldout_loss"] for h in again["history"]] == [h["heldout_loss"] for h in record["history"]]


def test_different_seed_gives_different_weights(trained, tmp_path):
    run(tmp_path / "other", seed=1, steps=5)
    short_same_seed = run(tmp_path / "same", seed=0, steps=5)
    assert short_same_seed["best"] is not None
    assert not torch.equal(weights(tmp_path / "other")["decoder.weight"],
                           weights(tmp_path / "same")["decoder.weight"])


def test_loss_decreases(trained):
    _, record = trained
    losses = [h["heldout_loss"] for h in record["history"]]
    assert losses[0] < math.log(len(SPEC.alphabet)) + 0.1  # about chance after a few steps
    assert losses[-1] < 0.8 * losses[0]
    assert record["best"]["heldout_loss"] == min(losses)


def test_record_has_history_best_and_floor(trained):
    _, record = trained
    assert {"data", "train", "device", "torch", "floor", "history", "best"} <= set(record)
    assert record["data"]["kind"] == "grammar" and record["data"]["spec"] == SPEC.to_dict()
    assert record["train"]["seed"] == 0 and record["train"]["steps"] == 60
    assert abs(record["floor"] - grammar.entropy_floor()) < 0.03  # a 4000-char stream's own floor
    steps = [h["step"] for h in record["history"]]
    assert steps == sorted(steps) and steps[-1] == 60
    # 500-char rows in 100-char windows: an epoch is 5 steps, evaluated after each
    assert steps[:3] == [5, 10, 15]
    for h in record["history"]:
        assert h["ratio_to_floor"] == pytest.approx(h["heldout_loss"] / record["floor"], abs=1e-4)
        assert h["chars"] == h["step"] * 16 * 100
    assert record["best"] in record["history"]


def test_saved_checkpoint_is_the_best_and_its_heldout_loss_matches_the_record(trained):
    path, record = trained
    model = checkpoint.load(path)
    ids, floor = grammar_data().heldout()
    assert heldout_loss(model, ids) == pytest.approx(record["best"]["heldout_loss"], abs=1e-5)
    assert model.training_record["best"] == record["best"]


def test_keep_best_keeps_an_earlier_model_when_later_ones_are_worse(tmp_path, monkeypatch):
    """Make every evaluation from the fourth on look terrible: the checkpoint must stay the
    model from the third evaluation, whose real loss is what the record says."""
    calls = []

    def scored(model, ids):
        calls.append(1)
        return heldout_loss(model, ids) + (10.0 if len(calls) >= 4 else 0.0)

    monkeypatch.setattr(train_module, "heldout_loss", scored)
    record = run(tmp_path / "ck", steps=30)
    assert record["best"]["step"] == 15 and record["history"][-1]["step"] == 30
    model = checkpoint.load(tmp_path / "ck")
    ids, _ = grammar_data().heldout()
    assert heldout_loss(model, ids) == pytest.approx(record["best"]["heldout_loss"], abs=1e-5)
    assert model.training_record["best"]["step"] == 15


def test_other_cells_and_one_hot_train(tmp_path):
    record = run(tmp_path / "ck", steps=10, cell="lstm", hidden_size=6, num_layers=2, embedding_dim=None)
    model = checkpoint.load(tmp_path / "ck")
    assert model.config.cell == "lstm" and model.config.num_layers == 2 and model.embed is None
    assert record["best"]["heldout_loss"] < math.log(8) + 0.5


# --- training on any text file ---------------------------------------------------------------------

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly hex bold jumping zebras".split()


@pytest.fixture
def text_file(tmp_path):
    rng = np.random.default_rng(0)
    text = "".join(" ".join(rng.choice(WORDS, 12)) + ".\n" for _ in range(70))
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    assert 4000 < len(text) < 7000
    return path, text


def test_training_on_a_text_file_uses_that_files_characters(text_file, tmp_path):
    path, text = text_file
    data = TextData(path)
    assert data.vocab.chars == sorted(set(text))
    config = ModelConfig(vocab=data.vocab.chars, hidden_size=8, embedding_dim=4)
    record = train(data, config, TrainConfig(steps=8, batch_size=8, bptt=50, warmup_steps=2, device="cpu"),
                   tmp_path / "ck", progress=False)
    assert record["floor"] is None
    assert {k: record["data"][k] for k in ("kind", "path", "chars", "normalised")} == {
        "kind": "text", "path": str(path), "chars": len(text), "normalised": "NFC"}
    assert "ratio_to_floor" not in record["best"]
    model = checkpoint.load(tmp_path / "ck")
    assert model.config.vocab == sorted(set(text))
    assert set(sample(model, 40, primes=["t"])[0]) <= set(text)


def test_text_data_refuses_missing_short_and_binary_files(tmp_path):
    with pytest.raises(RnnscopeError, match=r"nope\.txt: no such file"):
        TextData(tmp_path / "nope.txt")
    (tmp_path / "short.txt").write_text("abc" * 10)
    with pytest.raises(RnnscopeError, match=r"short\.txt: only 30 characters; need at least 1,000"):
        TextData(tmp_path / "short.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe" * 1000)
    with pytest.raises(RnnscopeError, match=r"bin\.txt: not UTF-8 text"):
        TextData(tmp_path / "bin.txt")


def test_grammar_rows_are_fresh_streams_from_depth_zero():
    rows, soft = grammar_data().epoch(3, 4)
    vocab = grammar_data().vocab
    assert rows.shape == (4, 501) and soft is None
    texts = [vocab.decode(r) for r in rows]
    assert len(set(texts)) == 4
    assert all(grammar.validate(t).ok for t in texts)
    assert not np.array_equal(grammar_data().epoch(4, 4)[0], rows)


def test_soft_targets_are_the_oracle_distribution_of_each_next_character():
    data = grammar_data()
    data.soft_targets = True
    rows, soft = data.epoch(3, 4)
    assert soft.shape == (4, 501, len(data.vocab))
    for ids, q in zip(rows, soft):
        text = data.vocab.decode(ids)
        np.testing.assert_allclose(q, grammar.next_char_probs(text), atol=1e-7)
        # the character that actually came next always had positive oracle probability
        assert (q[np.arange(500), ids[1:]] > 0).all()


def test_training_with_soft_targets_learns_and_records_it(tmp_path):
    data = grammar_data()
    data.soft_targets = True
    record = train(data, ModelConfig(vocab=data.vocab.chars), TrainConfig(**TINY), tmp_path / "soft", progress=False)
    assert record["data"]["soft_targets"] is True
    losses = [e["heldout_loss"] for e in record["history"]]
    assert losses[-1] < 0.8 * losses[0]


# --- sampling ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model(trained):
    return checkpoint.load(trained[0])


def test_sampling_is_seeded(model):
    a = sample(model, 80, seed=1, primes=["(", "( ( "])
    assert sample(model, 80, seed=1, primes=["(", "( ( "]) == a
    assert sample(model, 80, seed=2, primes=["(", "( ( "]) != a
    assert len(a) == 2 and all(len(s) == 80 for s in a)
    assert all(set(s) <= set(SPEC.alphabet) for s in a)


def test_sampling_defaults_to_one_sample_from_the_grammars_own_start(model):
    """No prime: the first character is drawn from the grammar's first-token distribution ('(' or '0',
    one half each), and the rest is the model read from there."""
    firsts = [s[0] for s in sample(model, 1, seed=3, primes=[""] * 2000)]
    assert set(firsts) == {"(", "0"} and abs(firsts.count("(") / 2000 - 0.5) < 0.04   # sd 0.011
    assert sample(model, 30)[0][0] in "(0"


def test_near_zero_temperature_is_greedy(model):
    """At a tiny temperature sampling must pick the most likely character every step."""
    text = sample(model, 30, temperature=1e-4, seed=5, primes=["( "])[0]
    ids = torch.as_tensor(model.vocab.encode("( "))[None]
    greedy, state = [], None
    with torch.no_grad():
        logits, state = model(ids)
        for _ in range(30):
            nxt = int(logits[0, -1].argmax())
            greedy.append(nxt)
            logits, state = model(torch.tensor([[nxt]]), state)
    assert text == model.vocab.decode(greedy)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_bad_temperature_is_refused(model, temperature):
    with pytest.raises(RnnscopeError, match="temperature must be positive"):
        sample(model, 10, temperature=temperature)


@pytest.mark.parametrize("n_chars", [0, -5, MAX_SAMPLE_CHARS + 1])
def test_bad_length_is_refused(model, n_chars):
    with pytest.raises(RnnscopeError, match=f"sample length must be between 1 and 100,000, got {n_chars}"):
        sample(model, n_chars)


def test_a_prime_with_unknown_characters_is_refused(model):
    with pytest.raises(RnnscopeError, match="'x' at 2"):
        sample(model, 10, primes=["( x"])


def test_grammatical_share_agrees_with_validating_the_samples(model):
    n, tokens = 30, 3
    good, reasons = grammatical_share(model, SPEC, n=n, tokens=tokens, seed=3)
    assert 0 <= good <= n
    texts = ["(" + s for s in sample(model, 2 * tokens - 1, seed=3, primes=["("] * n)]
    assert all(len(t) == 2 * tokens for t in texts)
    verdicts = [grammar.validate(t) for t in texts]
    assert good == sum(v.ok for v in verdicts) == sum(map(is_grammatical, texts))
    assert reasons == [v.reason for v in verdicts if not v.ok][:5]
    assert 0 < good < n, "a mixed outcome makes the agreement meaningful"  # tiny model, short samples


def test_grammatical_share_after_warmup_counts_within_range(model):
    good, reasons = grammatical_share(model, SPEC, n=6, tokens=20, seed=0, warmup_chars=40)
    assert 0 <= good <= 6 and len(reasons) == min(5, 6 - good)
    assert all(r.startswith("position ") for r in reasons)


# --- settings are checked before anything runs -------------------------------------------------------

@pytest.mark.parametrize("change, problem", [
    ({"steps": 0}, "steps must be a positive integer, got 0"),
    ({"batch_size": -1}, "batch_size must be a positive integer"),
    ({"bptt": 0}, "bptt must be a positive integer"),
    ({"eval_every": 0}, "eval_every must be a positive integer"),
    ({"threads": 0}, "threads must be at least 1, got 0"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"lr": float("nan")}, "lr must be a positive number"),
])
def test_bad_training_settings_are_refused(change, problem):
    with pytest.raises(RnnscopeError, match=problem):
        TrainConfig(**{**TINY, **change})


def test_an_unknown_device_is_refused():
    from rnnscope.base.runtime import pick_device
    with pytest.raises(RnnscopeError, match="unknown device 'bogus'"):
        pick_device("bogus")


def test_text_too_short_for_one_window_per_row_is_refused_before_training(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("abcdefghij " * 200)
    data = TextData(path)
    with pytest.raises(RnnscopeError, match="fewer than one window of 100"):
        train(data, ModelConfig(vocab=data.vocab.chars), TrainConfig(steps=2, batch_size=128, device="cpu"),
              tmp_path / "ck", progress=False)
    assert not (tmp_path / "ck").exists()


def test_the_saved_record_holds_the_whole_run_not_just_up_to_the_best_step(trained):
    out, record = trained
    saved = checkpoint.load(out).training_record
    assert saved["history"] == record["history"] and saved["best"] == record["best"]
    assert saved["history"][-1]["step"] == TINY["steps"]


def test_text_data_records_an_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "t.txt").write_text("hello world " * 200)
    monkeypatch.chdir(tmp_path)
    assert TextData("t.txt").describe()["path"] == str(tmp_path / "t.txt")


def test_the_grammar_of_a_model_comes_from_its_record_or_its_vocabulary():
    from rnnscope.models.data.batches import grammar_spec_of
    shallow = grammar.GrammarSpec(max_depth=2)
    assert grammar_spec_of({"data": grammar_data().describe()}) == SPEC
    assert grammar_spec_of({"data": {"kind": "grammar", "spec": shallow.to_dict()}}) == shallow
    assert grammar_spec_of({"data": {"kind": "text", "path": "/x.txt"}}, grammar.GrammarSpec().alphabet) is None
    # a hand-saved checkpoint with no record: the default grammar only if the vocabulary says so
    assert grammar_spec_of({}, grammar.GrammarSpec().alphabet) == grammar.GrammarSpec()
    assert grammar_spec_of({}, list("abc")) is None


# --- divergence and the unigram baseline -------------------------------------------------------------

def nan_lr_from(step_from: int, monkeypatch) -> None:
    """Adam with a NaN learning rate makes every weight NaN: a divergence on demand."""
    lr_at = train_module.lr_at
    monkeypatch.setattr(train_module, "lr_at",
                        lambda step, cfg: float("nan") if step >= step_from else lr_at(step, cfg))


def test_a_non_finite_training_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    nan_lr_from(7, monkeypatch)   # weights turn NaN at step 7, so step 8's loss is NaN
    with pytest.raises(TrainingDiverged) as info:
        run(tmp_path / "ck", steps=30)
    assert str(info.value) == (f"training diverged at step 8: training loss is nan (try a smaller --lr); "
                               f"kept {tmp_path / 'ck'} from step 5 (held-out "
                               f"{checkpoint.load(tmp_path / 'ck').training_record['best']['heldout_loss']:.5f} "
                               f"nats/char)")
    model = checkpoint.load(tmp_path / "ck")
    assert model.training_record["best"]["step"] == 5
    assert model.training_record["diverged"] == {"step": 8, "loss": "training", "value": "nan"}
    ids, _ = grammar_data().heldout()
    assert heldout_loss(model, ids) == pytest.approx(model.training_record["best"]["heldout_loss"], abs=1e-5)


def test_a_run_that_diverges_before_its_first_evaluation_saves_nothing(tmp_path, monkeypatch):
    nan_lr_from(0, monkeypatch)
    with pytest.raises(TrainingDiverged, match=r"at step 1: training loss is nan .*; nothing was saved by this run"):
        run(tmp_path / "ck", steps=30)
    assert list(tmp_path.iterdir()) == []


def test_a_non_finite_heldout_loss_stops_the_run(tmp_path, monkeypatch):
    calls = []

    def scored(model, ids):
        calls.append(1)
        return float("inf") if len(calls) == 2 else heldout_loss(model, ids)

    monkeypatch.setattr(train_module, "heldout_loss", scored)
    with pytest.raises(TrainingDiverged, match=r"at step 10: held-out loss is inf .*; kept .* from step 5"):
        run(tmp_path / "ck", steps=30)
    assert checkpoint.load(tmp_path / "ck").training_record["diverged"]["loss"] == "held-out"


def test_saving_a_non_finite_model_is_refused_and_writes_nothing(tmp_path):
    from rnnscope.models.network.model import CharRNN
    model = CharRNN(ModelConfig(vocab=SPEC.alphabet))
    with torch.no_grad():
        model.decoder.weight[0, 0] = float("nan")
    with pytest.raises(RnnscopeError, match=r"ck: not saved: tensor decoder.weight contains NaN or infinite"):
        checkpoint.save(model, tmp_path / "ck")
    assert list(tmp_path.iterdir()) == []


def test_unigram_entropy_is_the_entropy_of_character_frequencies():
    from rnnscope.models.training.evaluate import unigram_entropy
    assert unigram_entropy(np.array([[0, 0, 1, 1]]), 5) == pytest.approx(math.log(2))
    assert unigram_entropy(np.array([0, 1, 2, 3]), 4) == pytest.approx(math.log(4))
    assert unigram_entropy(np.array([3, 3, 3]), 4) == 0.0


def test_heldout_worse_than_unigram_is_warned_on_stderr_and_recorded(tmp_path, monkeypatch, capsys):
    from rnnscope.models.training.evaluate import unigram_entropy
    monkeypatch.setattr(train_module, "heldout_loss", lambda model, ids: 9.0)
    record = run(tmp_path / "ck", steps=10)
    rows, _ = grammar_data().epoch(0, TINY["batch_size"])
    assert record["unigram"] == round(unigram_entropy(rows, 8), 5)
    assert 1.4 < record["unigram"] < 1.7   # spaces are half the stream
    assert all(e["worse_than_unigram"] for e in record["history"]) and record["best_worse_than_unigram"]
    err = capsys.readouterr().err
    assert (f"warning: step 5: held-out loss 9.00000 is worse than the unigram baseline {record['unigram']:.5f} "
            f"nats/char") in err
    assert checkpoint.load(tmp_path / "ck").training_record["best_worse_than_unigram"] is True


def test_a_run_that_beats_unigram_says_so_in_its_record(trained):
    _, record = trained
    assert record["best"]["heldout_loss"] < record["unigram"] and record["best_worse_than_unigram"] is False
    assert "worse_than_unigram" not in record["best"]


def test_a_forced_run_that_diverges_at_once_says_the_previous_checkpoint_is_still_there(tmp_path, monkeypatch):
    from rnnscope.models.network.model import CharRNN
    checkpoint.save(CharRNN(ModelConfig(vocab=SPEC.alphabet)), tmp_path / "ck", training={"note": "before"})
    nan_lr_from(0, monkeypatch)
    data = grammar_data()
    with pytest.raises(TrainingDiverged, match=r"nothing was saved by this run \(.*ck still holds the checkpoint "
                                               r"that was there before\)"):
        train(data, ModelConfig(vocab=data.vocab.chars), TrainConfig(**TINY), tmp_path / "ck", progress=False,
              force=True)
    assert checkpoint.load(tmp_path / "ck").training_record == {"note": "before"}
