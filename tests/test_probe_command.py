"""`rnnscope probe`: the numbers carry every key docs/probe-json.md names, the report
is one offline HTML file, and bad input gets one line and writes nothing."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnscope.models.network import checkpoint
from rnnscope.analysis.decode.report import report_html
from rnnscope.cli import main


torch.set_num_threads(1)

DOC = Path(__file__).resolve().parent.parent / "docs" / "probe-json.md"


def documented_keys(section: str) -> set[str]:
    """The keys in the first column of the table under ``## section`` of the doc."""
    text = DOC.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            keys |= set(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return keys


@pytest.fixture(scope="module")
def probed(default_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("probe")
    code = main(["probe", "--model", str(default_model), "--chars", "6000", "--ablation-chars", "800",
                 "--threads", "1", "--device", "cpu", "-o", str(out / "report.html"), "-o", str(out / "n.json")])
    assert code == 0
    return json.loads((out / "n.json").read_text(encoding="utf-8")), (out / "report.html").read_text(encoding="utf-8")


def test_the_numbers_have_every_documented_key(probed):
    numbers, _ = probed
    assert documented_keys("Top level") <= set(numbers)
    cell_keys = documented_keys("`cells[]`")
    assert numbers["cells"] and all(cell_keys <= set(c) for c in numbers["cells"])
    probe_keys = documented_keys("`probes[]`")
    assert {(p["layer"], p["target"]) for p in numbers["probes"]} == {(0, "depth_level"), (0, "next_kind")}
    assert all(probe_keys <= set(p) for p in numbers["probes"])
    assert all(p["ngram_accuracy"] is None and p["char_types"] == 8 for p in numbers["probes"])   # the grammar's
    code = numbers["causal_code"]
    assert documented_keys("`causal_code`") <= set(code) and code["variable"] == "depth"
    assert len(code["kl"]) == len(code["cells"]) + 1 == 16


def test_a_two_layer_model_gets_a_causal_code_in_each_layer(gru2_model):
    from rnnscope.analysis.intervene.causal import grammar_depth_oracle, layer_readout, search
    from rnnscope.analysis.decode.probing import depth_code, probing_run
    from rnnscope.models.data.heldout import heldout_of
    model, held = checkpoint.load(gru2_model), heldout_of(gru2_model)
    run = probing_run(model, held, chars=1_500, ablation_chars=200)
    codes = run.numbers["causal_codes"]
    assert [c["layer"] for c in codes] == [0, 1] and run.numbers["causal_code"] == codes[1]
    assert all(documented_keys("`causal_code`") <= set(c) and len(c["kl"]) == 7 for c in codes)
    # layer 0's code is the search through layer 1, as analysis.causal builds it by hand
    kind = run.annotations["kind"]
    by_hand = search(run.trace.hidden[0], run.annotations["depth"].values.astype(int),
                     kind.values == kind.categories.index("separator"),
                     grammar_depth_oracle(held.spec, list(model.config.vocab)),
                     layer_readout(model, run.trace.hidden, None, 0), list(range(5)), layer=0)
    assert codes[0] == by_hand.to_dict() and depth_code(model, run.trace, run.annotations, held, 0) == by_hand
    assert "layer 0, depth" in report_html(run, "t") and "layer 1, depth" in report_html(run, "t")


def test_the_top_ranked_ablation_is_sampled_beside_intact(probed):
    numbers, _ = probed
    a = numbers["ablation_samples"]
    assert documented_keys("`ablation_samples`") <= set(a)
    top = max((c for c in numbers["cells"] if c["view"] == "h"), key=lambda c: c["ablation_delta_loss"])
    assert (a["layer"], a["cells"]) == (top["layer"], [top["cell"]])
    for side in ("intact", "ablated"):
        s = a[side]
        assert s["samples"] == 100 and s["share"] == pytest.approx(s["grammatical"] / 100)
        assert all(t.startswith("(") and len(t) == 301 for t in s["examples"])
        assert len(s["first_reasons"]) == min(3, 100 - s["grammatical"])
    assert a["intact"]["grammatical"] >= 90 > a["ablated"]["grammatical"]


def test_every_cell_of_every_view_is_labelled_and_h_is_ablated(probed):
    numbers, _ = probed
    views = {"h", "z", "r", "n"}
    assert {(c["view"], c["cell"]) for c in numbers["cells"]} == {(v, c) for v in views for c in range(15)}
    assert all((c["ablation_delta_loss"] is None) == (c["view"] != "h") for c in numbers["cells"])
    depth = next(p for p in numbers["probes"] if p["target"] == "depth_level")
    assert depth["accuracy"] > 0.95 and depth["selectivity"] == pytest.approx(
        depth["accuracy"] - depth["control_accuracy"], abs=1e-3)


def test_the_report_is_one_offline_file(probed):
    _, html = probed
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.S)     # the inlined code's own strings aside
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", markup)  # nothing loaded from elsewhere
    assert "bokeh-tables" in html and "Linear probes" in html and "Per-category profiles" in html
    assert "Grammatical samples" in html


def test_with_neither_file_it_prints_the_labels(capsys, default_model):
    assert main(["probe", "--model", str(default_model), "--chars", "2000", "--ablation-chars", "200",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "read in context" in out and "layer 0  h cell" in out and "depth_level: " in out


# Python source nobody here wrote (19,718 characters in 3.11): a repeated snippet has no two contexts that share
# their last three characters and differ in a string, a bracket or an indentation, which text interchange needs
SOURCE = Path(textwrap.__file__).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def text_probed(tmp_path_factory):
    """A tiny GRU trained for a few steps on a small Python file, then probed end to end."""
    out = tmp_path_factory.mktemp("textprobe")
    data = out / "code.py.txt"
    data.write_text(SOURCE, encoding="utf-8")
    assert main(["train", "--out", str(out / "m"), "--data", str(data), "--steps", "20", "--batch", "8", "--bptt", "40",
                 "--hidden", "8", "--embedding", "6", "--eval-every", "20", "--device", "cpu", "--threads", "1",
                 "--quiet"]) == 1      # 20 steps do not beat the unigram baseline: exit 1, the checkpoint kept
    assert main(["probe", "--model", str(out / "m"), "--chars", "1500", "--ablation-chars", "200", "--threads", "1",
                 "--device", "cpu", "-o", str(out / "r.html"), "-o", str(out / "n.json")]) == 0
    return (json.loads((out / "n.json").read_text(encoding="utf-8")), (out / "r.html").read_text(encoding="utf-8"),
            out)


def test_a_text_model_is_labelled_and_probed_against_text_annotations(text_probed):
    from rnnscope.analysis.decode.probing import TEXT_PROBE_TARGETS
    from rnnscope.analysis.describe.text_annotations import REGISTRY
    numbers, _, _ = text_probed
    assert documented_keys("Top level") <= set(numbers) and numbers["data"]["kind"] == "text"
    assert {(c["view"], c["cell"]) for c in numbers["cells"]} == {(v, c) for v in "hzrn" for c in range(8)}
    assert {c["annotation"] for c in numbers["cells"]} <= set(REGISTRY) | {None}
    assert [b["annotation"] for b in numbers["best_cells"]] == list(REGISTRY)
    assert all(documented_keys("`best_cells[]`") <= set(b) and b["view"] == "h" for b in numbers["best_cells"])
    assert [p["target"] for p in numbers["probes"]] == list(TEXT_PROBE_TARGETS)
    assert next(p for p in numbers["probes"] if p["target"] == "in_string")["classes"] == ["yes", "no"]
    assert all([g["k"] for g in p["ngram_accuracy"]] == [2, 4, 8, 16, 32] for p in numbers["probes"])
    assert numbers["oracle_divergence"] is None and numbers["causal_code"] is None
    assert set(numbers["absent"]) == {"oracle_divergence", "causal_code", "ablation_samples"}
    assert numbers["ablation_samples"] is None and numbers["causal_codes"] == []
    assert all("no exact oracle" in why for why in numbers["absent"].values())


def test_a_text_models_held_out_annotations_are_counted_from_its_files_start(text_probed):
    """The held-out 10% of SOURCE starts mid-file: its annotations must be those of the
    whole file sliced, not of the tail read from nothing (an independent count here)."""
    from rnnscope.analysis.decode.probing import annotations_of
    from rnnscope.analysis.describe.text_annotations import text_annotations
    from rnnscope.models.data.heldout import heldout_of
    _, _, out = text_probed
    text = SOURCE
    split = int(len(text) * 0.9)
    held = heldout_of(out / "m")
    assert held.text == text[split:] and held.before == text[:split]
    got, whole = annotations_of(held, 1500), text_annotations(text)
    for name in ("in_string", "paren_depth", "column", "indentation"):
        a, b = got[name], whole[name]
        if a.numeric:
            np.testing.assert_array_equal(a.values, b.values[split:split + 1500])
        else:
            assert [a.categories[k] for k in a.values] == [b.categories[k] for k in b.values[split:split + 1500]]


def test_the_text_report_says_why_the_oracle_parts_are_absent(text_probed):
    _, html, _ = text_probed
    assert "no oracle divergence: a text has no exact oracle" in html
    assert "Causal code: none for this model" in html and "The best cell for each annotation" in html
    assert "KL(oracle" not in html


def test_the_terminal_summary_of_a_text_model(capsys, text_probed):
    _, _, out = text_probed
    assert main(["probe", "--model", str(out / "m"), "--chars", "1000", "--ablation-chars", "100",
                 "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "the best cell of h for each annotation" in printed and "in_string: layer 0 h cell" in printed
    assert "no oracle divergence: a text has no exact oracle" in printed and "oracle divergence: mean KL" not in printed


TOO_MANY = ("asked for 300,000 held-out characters; the held-out stream (a fresh stream of the model's grammar) "
            "has 200,000: ask for fewer (--chars)")


@pytest.mark.parametrize("argv, message", [(["--chars", "10"], "at least 1000"), (["--chars", "300000"], TOO_MANY)])
def test_bad_sizes_are_refused(capsys, default_model, argv, message):
    with pytest.raises(SystemExit) if "at least" in message else _no_raise():
        code = main(["probe", "--model", str(default_model), *argv])
        assert code == 2
    assert message in capsys.readouterr().err


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_probe_has_the_causal_code_of_depth_by_interchange(probed):
    numbers, html = probed
    (code,) = numbers["interchange_codes"]
    assert documented_keys("`interchange_codes[]`") <= set(code) and (code["annotation"], code["layer"]) == ("depth", 0)
    assert len(code["score"]) == len(code["null_mean"]) == len(code["null_p99"]) == len(code["cells"]) + 1
    assert "layer 0, depth: complete code" in html or "layer 0, depth:" in html


def test_probe_causal_names_the_annotations_and_refuses_an_unknown_one(default_model, tmp_path, capsys):
    args = ["probe", "--model", str(default_model), "--chars", "3000", "--ablation-chars", "200", "--threads", "1",
            "--device", "cpu"]
    assert main([*args, "--causal", "depth,next_kind", "-o", str(tmp_path / "n.json")]) == 0
    numbers = json.loads((tmp_path / "n.json").read_text(encoding="utf-8"))
    assert [c["annotation"] for c in numbers["interchange_codes"]] == ["depth", "next_kind"]
    assert main([*args, "--causal", "", "-o", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["interchange_codes"] == []
    assert main([*args, "--causal", "depth,quotes", "-o", str(tmp_path / "x.json")]) == 2
    assert "no annotation ['quotes']" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_a_text_model_gets_causal_codes_by_interchange_and_labels_against_nulls(text_probed):
    from rnnscope.analysis.decode.probing import TEXT_CAUSAL_TARGETS
    numbers, html, _ = text_probed
    assert [c["annotation"] for c in numbers["interchange_codes"]] == list(TEXT_CAUSAL_TARGETS)
    codes = numbers["interchange_codes"]
    assert all(len(c["score"]) == len(c["cells"]) + 1 for c in codes)
    assert [c["matched_on"] for c in codes] == ["char and the 2 before it, bracket_depth, indentation",
                                                 "char and the 2 before it, in_string, indentation",
                                                 "char and the 2 before it, in_string, bracket_depth"]
    assert "Causal codes by interchange" in html
    cells = [c for c in numbers["cells"] if c["annotation"] is not None and not c["label"].startswith("weak: no ")]
    assert cells and all(c["score"] is not None and c["tested_mi"] > c["null_99"] for c in cells)
    for c in numbers["cells"]:
        assert (c["given"] == "char") == (c["stat"] == "CMI")
        if c["given"]:
            assert c["label"] == c["beyond_label"] and c["plain_label"] != c["label"]
