"""`rnnscope probe` (issue 7): the numbers carry every key docs/probe-json.md names, the report
is one offline HTML file, and bad input gets one line and writes nothing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from models import checkpoint
from models.model import CharRNN, ModelConfig
from analysis.report import report_html
from rnnscope.cli import main

from app_fixtures import default_model, gru2_model  # noqa: F401

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
def probed(default_model, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("probe")
    code = main(["probe", "--model", str(default_model), "--chars", "6000", "--ablation-chars", "800",
                 "--threads", "1", "--device", "cpu", "-o", str(out / "report.html"), "--json", str(out / "n.json")])
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
    code = numbers["causal_code"]
    assert documented_keys("`causal_code`") <= set(code) and code["variable"] == "depth"
    assert len(code["kl"]) == len(code["cells"]) + 1 == 16


def test_a_two_layer_model_gets_a_causal_code_in_each_layer(gru2_model):  # noqa: F811
    from analysis.causal import grammar_depth_oracle, layer_readout, search
    from analysis.probing import depth_code, probing_run
    from models.heldout import heldout_of
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


def test_with_neither_file_it_prints_the_labels(capsys, default_model):  # noqa: F811
    assert main(["probe", "--model", str(default_model), "--chars", "2000", "--ablation-chars", "200",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "read in context" in out and "layer 0  h cell" in out and "depth_level: " in out


def test_a_text_model_is_refused_in_one_line(capsys, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("hello world\n" * 200, encoding="utf-8")
    model = CharRNN(ModelConfig(vocab=sorted(set(text.read_text())), hidden_size=4, embedding_dim=3))
    checkpoint.save(model, tmp_path / "m", {"data": {"kind": "text", "path": str(text)}})
    assert main(["probe", "--model", str(tmp_path / "m"), "--chars", "1000", "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "text annotations" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("argv, message", [(["--chars", "10"], "at least 1000"),
                                           (["--chars", "300000"], "has 200,000 characters")])
def test_bad_sizes_are_refused(capsys, default_model, argv, message):  # noqa: F811
    with pytest.raises(SystemExit) if "at least" in message else _no_raise():
        code = main(["probe", "--model", str(default_model), *argv])
        assert code == 2
    assert message in capsys.readouterr().err


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
