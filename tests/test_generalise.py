"""Depth generalisation: hand-built models whose single job is counting are
scored exactly as a plain simulation of their counter says they must be -- an exact counter is
right at every depth, one that saturates at 4 is wrong exactly where its count has hit 0 while
brackets are still open -- and bad input gets one line and writes nothing."""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.decode import generalise as gen
from rnnscope.models.network import checkpoint
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.cli import main


torch.set_num_threads(1)

BRACKETS = grammar.GrammarSpec(digits=False)              # trained to depth 4, space separated
RECORD = {"data": {"kind": "grammar", "spec": BRACKETS.to_dict()}}
DOC = Path(__file__).resolve().parent.parent / "docs" / "generalise-json.md"
CHARS = 20_000


def relu_counter(cap: int | None = None) -> CharRNN:
    """A ReLU RNN on one-hot input whose count is depth by construction, and a decoder that
    makes p(`)`) = e^(10c - 5) / (e^(10c - 5) + 2): 0.003 at count 0, > 0.98 from count 1.
    No cap: one cell, c' = relu(c + [`(`] - [`)`]). Cap m: two cells reading the same sum
    s = (u - v) + [`(`] - [`)`], u' = relu(s) and v' = relu(s - m), so the count u - v = clip(s, 0, m)."""
    vocab = BRACKETS.alphabet
    H = 1 if cap is None else 2
    model = CharRNN(ModelConfig(vocab=vocab, cell="rnn", nonlinearity="relu", hidden_size=H, embedding_dim=None))
    count = torch.tensor([1.0] if cap is None else [1.0, -1.0])          # the count read off the cells
    with torch.no_grad():
        for w in model.parameters():
            w.zero_()
        model.rnn.weight_hh_l0[:] = count                                # every cell reads the count
        model.rnn.weight_ih_l0[:, vocab.index("(")] = 1.0
        model.rnn.weight_ih_l0[:, vocab.index(")")] = -1.0
        if cap is not None:
            model.rnn.bias_ih_l0[1] = -float(cap)
        model.decoder.weight[vocab.index(")")] = 10 * count
        model.decoder.bias[vocab.index(")")] = -5.0
    model.training_record = RECORD
    return model.eval()


def simulated_counts(text: str, cap: int | None) -> np.ndarray:
    """The counter after each character, stepped in plain Python: what the model was built to hold."""
    c, out = 0, []
    for ch in text:
        c += 1 if ch == "(" else -1 if ch == ")" else 0
        c = max(c, 0) if cap is None else min(max(c, 0), cap)
        out.append(c)
    return np.array(out)


def test_an_exact_counter_is_right_at_every_depth():
    result = gen.generalise(relu_counter(), "exact", test_depth=8, chars=CHARS)
    rows = result["per_depth"]
    assert [r["depth"] for r in rows] == list(range(9)) and all(r["count"] > 0 for r in rows)
    assert [r["accuracy"] for r in rows] == [1.0] * 9
    assert result["accuracy"] == result["accuracy_unseen_depths"] == 1.0
    assert rows[0]["mean_p_close"] == pytest.approx(math.exp(-5) / (math.exp(-5) + 2), rel=1e-5)
    assert [r["oracle_p_close"] for r in rows] == [0.0] + [0.5] * 7 + [1.0]
    assert result["parameters"] == 3 * 1 + 1 * 1 + 2 * 1 + 3 * 1 + 3      # W_ih, W_hh, biases, decoder


def test_a_counter_that_saturates_at_4_fails_exactly_where_its_count_runs_out():
    """Its count never exceeds depth, and reaches 0 with brackets open only after the stream went
    deeper than 4: the expected accuracy per depth is computed here from the simulated counter."""
    result = gen.generalise(relu_counter(cap=4), "capped", test_depth=8, chars=CHARS)
    text = grammar.generate(CHARS, seed=gen.TEST_SEED, spec=gen.deeper_grammar(BRACKETS, 8))
    at = np.array([t for t, ch in enumerate(text) if ch == " "])
    depth = np.cumsum([1 if ch == "(" else -1 if ch == ")" else 0 for ch in text])[at]
    right = (simulated_counts(text, 4)[at] >= 1) == (depth > 0)
    expected = [right[depth == d].mean() for d in range(9)]
    got = [r["accuracy"] for r in result["per_depth"]]
    assert got == pytest.approx(expected, abs=1e-12)
    assert got[0] == 1.0 and got[5:] == [1.0] * 4              # a deficit of at most 8 - 4 = 4 levels
    assert all(a < 0.99 for a in got[1:5])                     # ... shows at depths 1..4
    # ... and only after the stream went deeper than 4: at depth 0 the count is reset to the truth
    assert [r["otherwise_accuracy"] for r in result["per_depth"][:5]] == [1.0] * 5
    assert result["accuracy_seen_depths_otherwise"] == 1.0 > result["accuracy_seen_depths_after_deeper"]
    in_training = gen.generalise(relu_counter(cap=4), "capped", test_depth=4, chars=CHARS)
    assert in_training["accuracy"] == 1.0                       # within its training depth it is perfect


def test_per_depth_equals_a_plain_loop():
    rng = np.random.default_rng(3)
    p, depth = rng.random(500), rng.integers(0, 6, 500)
    depth[depth == 5] = 4                                       # depth 5 never occurs: no statistics
    deeper = rng.random(500) < 0.3
    rows = gen.per_depth(p, depth, 0.3, 5, deeper)
    for d, r in enumerate(rows):
        here = [i for i in range(500) if depth[i] == d]
        assert r["count"] == len(here)
        if not here:
            assert r["accuracy"] is None and r["mean_p_close"] is None and r["otherwise_accuracy"] is None
            continue
        right = {i: (p[i] > 0.3) == (d > 0) for i in here}
        assert r["accuracy"] == pytest.approx(sum(right.values()) / len(here))
        assert r["mean_p_close"] == pytest.approx(sum(p[i] for i in here) / len(here))
        after = [i for i in here if deeper[i]]
        assert r["after_deeper_count"] == len(after)
        assert r["after_deeper_accuracy"] == pytest.approx(sum(right[i] for i in after) / len(after))
        rest = [i for i in here if not deeper[i]]
        assert r["otherwise_accuracy"] == pytest.approx(sum(right[i] for i in rest) / len(rest))


def test_after_deeper_marks_the_points_since_an_excursion_beyond_training_until_depth_0():
    depth = np.array([1, 2, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 3, 2, 1, 0, 1])
    expect = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]    # written out by hand, training depth 2
    assert gen.after_deeper(depth, 2).astype(int).tolist() == expect


def test_the_default_threshold_is_half_the_least_legal_close_probability():
    assert gen.default_threshold(BRACKETS) == 0.25
    assert gen.default_threshold(grammar.GrammarSpec(digits=False, open_weight=3.0)) == 0.125   # `)` is 1/4 inside
    assert gen.default_threshold(grammar.GrammarSpec(digits=False, max_depth=1)) == 0.5         # `)` is forced


def test_decision_points_are_the_steps_before_a_token():
    at, depth = gen.decision_points("( ( ) ", BRACKETS)
    assert at.tolist() == [1, 3, 5] and depth.tolist() == [1, 2, 1]
    at, depth = gen.decision_points("(()", grammar.GrammarSpec(digits=False, separator=""))
    assert at.tolist() == [0, 1, 2] and depth.tolist() == [1, 2, 1]


def with_record(model: CharRNN, record: dict) -> CharRNN:
    model.training_record = record
    return model


@pytest.mark.parametrize("make, depth, message", [
    (lambda: with_record(relu_counter(), {"data": {"kind": "grammar", "spec": grammar.GrammarSpec().to_dict()}}), 8,
     "m: trained on the grammar with digits, where the input names the depth; generalise tests counting on the "
     "brackets-only grammar: train with --no-digits"),
    (lambda: with_record(relu_counter(), {"data": {"kind": "text", "path": "x.txt"}}), 8,
     "m: not trained on the grammar (no grammar in its training record)"),
    (relu_counter, 3, "--test-depth 3 is below the training depth 4"),
    (lambda: with_record(CharRNN(ModelConfig(vocab=["(", ")"], cell="gru", hidden_size=2)), RECORD), 8,
     "m: its vocabulary '()' cannot read the test stream (it lacks [' '])"),
])
def test_a_model_that_cannot_take_the_test_is_refused(make, depth, message):
    with pytest.raises(RnnscopeError, match=re.escape(message)):
        gen.comparison([("m", make())], test_depth=depth, chars=1000)


@pytest.mark.parametrize("threshold", [0.0, 1.0, float("nan")])
def test_a_threshold_that_is_not_a_probability_is_refused(threshold):
    with pytest.raises(RnnscopeError, match="--threshold must be a probability strictly between 0 and 1"):
        gen.comparison([("m", relu_counter())], threshold=threshold, chars=1000)


# --- the command -----------------------------------------------------------------------------------

def documented_keys(section: str) -> set[str]:
    text = DOC.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return {k for line in text.splitlines() if line.startswith("| `")
            for k in re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])}


@pytest.fixture(scope="module")
def saved_counters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counters")
    for name, cap in (("exact", None), ("capped", 4)):
        checkpoint.save(relu_counter(cap), folder / name, RECORD)
    return folder


@pytest.fixture(scope="module")
def command_run(saved_counters, tmp_path_factory):
    """One run of the command on both counters, writing the report and the numbers."""
    folder = tmp_path_factory.mktemp("generalise")
    out, numbers = folder / "g.html", folder / "g.json"
    assert main(["generalise", "--models", str(saved_counters / "exact"), str(saved_counters / "capped"),
                 "--chars", "8000", "--threads", "1", "-o", str(out), "-o", str(numbers)]) == 0
    return out, json.loads(numbers.read_text(encoding="utf-8"))


def test_the_command_writes_an_offline_report_and_the_documented_numbers(saved_counters, command_run):
    out, data = command_run
    assert documented_keys("Top level") <= set(data)
    assert [m["name"] for m in data["models"]] == [str(saved_counters / "exact"), str(saved_counters / "capped")]
    assert all(documented_keys("`models[]`") <= set(m) for m in data["models"])
    assert all(documented_keys("`per_depth[]`") <= set(r) for m in data["models"] for r in m["per_depth"])
    assert [r["accuracy"] for r in data["models"][0]["per_depth"]] == [1.0] * 9
    page = out.read_text(encoding="utf-8")
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", markup)     # nothing fetched: opens offline
    assert "threshold 0.25" in page
    assert f"exact = {saved_counters / 'exact'}: threshold 0.25" in html.unescape(page)   # full path said once


@pytest.mark.browser
def test_the_report_opens_offline_in_a_browser_with_hover(command_run, chromium):
    """Both plots and the table draw with nothing fetched and nothing logged; hovering the
    accuracy plot names the model, the depth, the accuracy and how many points it rests on."""
    from browser_fixtures import screenshot
    from browser_pages import TOOLTIP_TEXT, offline_file
    out, _ = command_run
    with offline_file(chromium, out) as (page, watched, refused):
        page.locator(".bk-Figure").nth(1).wait_for(timeout=60_000)          # both plots drawn
        assert page.locator(".bk-DataTable").count() == 1
        figure = page.locator(".bk-Figure").first
        box = figure.bounding_box()
        tip = ""
        for y in range(0, int(box["height"]), 3):       # down the middle: the lines at accuracy 1 and below
            page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + y)
            tip = page.evaluate(TOOLTIP_TEXT)
            if tip:
                break
        for field in ("model", "depth", "accuracy", "decision points", "after going deeper"):
            assert field in tip, tip
        screenshot(page, "generalise-report-hover", full_page=True)
        page.set_viewport_size({"width": 1200, "height": 1000})           # fits a 1,200 px window: no sideways scroll
        # the plots follow the window through a resize observer: wait for the layout to fit, then check it
        page.wait_for_function("() => innerWidth === 1200 && document.documentElement.scrollWidth <= 1200",
                               timeout=10_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1200
        assert watched.console_warnings == [], watched.console_warnings
        watched.assert_clean()
        assert refused == []


def test_the_report_names_models_by_folder_unless_two_folders_share_a_name():
    from rnnscope.analysis.decode.generalise_report import short_names
    assert short_names(["runs/a/gru28", "lstm24/"]) == ["gru28", "lstm24"]
    assert short_names(["a/gru", "b/gru", "c/lstm"]) == ["a/gru", "b/gru", "lstm"]


def test_without_files_the_command_prints_a_table(saved_counters, capsys):
    assert main(["generalise", "--models", str(saved_counters / "capped"), "--chars", "8000", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("is ) legal? accuracy per true depth")
    assert any(line.startswith(str(saved_counters / "capped")) for line in lines)


@pytest.mark.parametrize("extra, message", [
    (["--test-depth", "2"], "--test-depth 2 is below the training depth 4"),
    (["--threshold", "1.5"], "--threshold must be a probability strictly between 0 and 1, got 1.5"),
    (["--chars", "10"], "--chars must be at least 100, got 10"),
])
def test_bad_input_gets_one_line_and_writes_nothing(saved_counters, tmp_path, capsys, extra, message):
    out = tmp_path / "g.html"
    assert main(["generalise", "--models", str(saved_counters / "exact"), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and err.startswith("rnnscope generalise: error: ")
    assert list(tmp_path.iterdir()) == []


def test_a_model_trained_with_digits_is_refused_naming_it(tmp_path, capsys):
    path = tmp_path / "digits"
    checkpoint.save(CharRNN(ModelConfig(vocab=grammar.GrammarSpec().alphabet, hidden_size=3)), path,
                    {"data": {"kind": "grammar", "spec": grammar.GrammarSpec().to_dict()}})
    assert main(["generalise", "--models", str(path)]) == 2
    assert f"{path}: trained on the grammar with digits" in capsys.readouterr().err


def test_a_model_trained_with_no_digits_keeps_its_grammar_through_its_checkpoint(tmp_path, capsys):
    """train --no-digits records the spec; loading gives back the brackets-only grammar, its held-out
    stream is of that grammar, and the model can take the test."""
    from rnnscope.models.data.heldout import heldout_of
    path = tmp_path / "m"
    assert main(["train", "--out", str(path), "--no-digits", "--steps", "2", "--batch", "4", "--row-chars", "150",
                 "--bptt", "50", "--eval-chars", "800", "--hidden", "3", "--device", "cpu", "--threads", "1",
                 "--quiet"]) == 1      # 2 steps do not beat the unigram baseline; the checkpoint is kept
    model = checkpoint.load(path)
    assert model.config.vocab == [" ", "(", ")"]
    assert gen.trained_grammar(model) == BRACKETS
    held = heldout_of(path)
    assert held.spec == BRACKETS and grammar.validate(held.text, BRACKETS).ok and set(held.text) == {" ", "(", ")"}
