"""`rnnscope automaton` and Model.automaton: the numbers are the analysis functions', on the shipped GRU;
bad input is refused in one line before anything is written."""
from __future__ import annotations

import json

import numpy as np
import pytest

import rnnscope as rs
from rnnscope.analysis.automaton.report import automaton_numbers
from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from tests.hand_built import dfa_network
from tests.test_automaton_lstar import COUNTER
from tests.test_cli import run_error, run_ok

SMALL_RUN = ["--words", "400", "--chars", "4000", "--k", "8", "10", "--threads", "1"]


@pytest.fixture(scope="module")
def report():
    return rs.load("gru15-parens").automaton(words=400, chars=4_000, ks=(8, 10))


def test_the_shipped_gru_is_the_grammars_automaton_by_both_methods(report):
    n = report.numbers
    assert n["grammar_dfa"]["states"] == 11 and n["lstar"]["states"] == 11
    assert n["lstar_vs_grammar"] == {"equivalent": True, "isomorphic": True, "separating_string": None}
    assert n["quantise"]["smallest_equivalent_k"] == 10 and n["quantise"]["smallest_equivalent"]["purity"] == 1.0
    assert n["theta"] == pytest.approx(1 / 6) and n["lstar"]["oracle"]["words_per_round"] == 400
    # it counts to the grammar's depth 4; a fifth `(` and more leave it as after the fourth
    assert n["counting"]["counts_to"] == 4
    assert {r["state"] for r in n["counting"]["rows"][4:]} == {n["counting"]["rows"][4]["state"]}
    # the extracted states are named by the grammar state the same string reaches
    assert n["lstar"]["dfa"]["names"][0] == "depth 0, token next (after '')"
    learned = Dfa(tuple(n["lstar"]["dfa"]["alphabet"]), np.array(n["lstar"]["dfa"]["transitions"]),
                  n["lstar"]["dfa"]["start"], np.array(n["lstar"]["dfa"]["accepting"]))
    assert learned.accepts("( 1 ( 2 ) 1 ) 0 ") and not learned.accepts("( 2")
    assert "equivalent to the grammar's DFA (isomorphic)" in report.to_text()
    assert json.loads(report.to_json()) == json.loads(json.dumps(n))
    assert report.to_html().lstrip().lower().startswith("<!doctype html")


def test_the_command_writes_the_numbers_and_the_page(capsys, tmp_path):
    out = run_ok(capsys, "automaton", "--model", "gru15-parens", *SMALL_RUN, "--json")
    assert json.loads(out)["lstar_vs_grammar"]["equivalent"] is True
    page = tmp_path / "a.html"
    assert "wrote the report" in run_ok(capsys, "automaton", "--model", "gru15-parens", *SMALL_RUN, "-o", str(page))
    assert "rnnscope automaton" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--theta", "1.5"], "--theta must be a probability strictly between 0 and 1"),
    (["--chars", "100000000"], "--chars must be between 2 and the held-out stream's 200,000"),
    (["--k", "5000", "--chars", "4000"], "every k must be between 1 and the 4,000 states clustered"),
])
def test_bad_settings_are_refused_in_one_line_and_nothing_is_written(capsys, tmp_path, argv, message):
    out = tmp_path / "a.json"
    line = run_error(capsys, "automaton", "--model", "gru15-parens", *argv, "-o", str(out))
    assert message in line and not out.exists()


def test_a_model_with_no_grammar_needs_theta():
    with pytest.raises(RnnscopeError, match="no default theta"):
        automaton_numbers(dfa_network(COUNTER), "counter", None, "abc" * 100)


def test_a_text_model_with_theta_is_extracted_without_the_grammars_side():
    from tests.test_automaton_quantise import walk
    model = dfa_network(COUNTER)
    model.training_record = {"data": {"kind": "text", "char_counts": [1, 1, 0]}}
    n = automaton_numbers(model, "counter", None, walk(COUNTER, 2_000), theta=0.2, words=200, ks=(5,), chars=2_000)
    assert n["grammar_dfa"] is None and n["lstar_vs_grammar"] is None and n["lstar"]["states"] == 4
    assert n["quantise"]["rows"][0]["states"] == 4 and "equivalent" not in n["quantise"]["rows"][0]
    assert grammar_dfa().n_states == 11


def test_a_network_that_is_not_the_grammars_automaton_gets_the_shortest_separating_string():
    from rnnscope.grammar.spec import GrammarSpec
    from tests.hand_built import rewire, start_counts
    from tests.test_automaton_lstar import SMALL, _moved, first_disagreement
    from tests.test_automaton_quantise import walk
    spec = GrammarSpec(digits=False, max_depth=2)
    assert np.array_equal(grammar_dfa(spec).transitions, SMALL.transitions)
    moved = _moved(SMALL, 6, ")", 5)                 # from depth 2, `)` now leads to depth 0
    model = rewire(dfa_network(SMALL), SMALL, 6, ")", 5)
    model.training_record = {"data": {"kind": "text", "char_counts": start_counts(SMALL)}}
    n = automaton_numbers(model, "rewired", spec, walk(moved, 3_000), words=300, chars=3_000, ks=(6,))
    expected = first_disagreement(moved, SMALL, 12)
    assert n["lstar_vs_grammar"]["separating_string"] == expected == "( ( ) )"
    assert n["lstar_vs_grammar"]["model_accepts"] == moved.accepts(expected) and not n["lstar_vs_grammar"]["equivalent"]
    assert n["quantise"]["rows"][0]["separating_string"] == expected
    from rnnscope.analysis.automaton.report import automaton_text
    assert "rnnscope export --model rewired --text '( ( ) )' -o separating.html" in automaton_text(n)
