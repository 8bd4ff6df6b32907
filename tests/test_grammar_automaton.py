"""The grammar's own minimal automaton and the plain DFA type.

References: the validator (a string is in the language iff it says ok), the annotator's depth (counted
from the brackets), and, for minimisation, the Myhill-Nerode classes counted by brute force (two states
are one iff every suffix up to n characters gives the same verdict).
"""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from rnnscope import grammar
from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from rnnscope.grammar.spec import GrammarSpec

SPECS = [GrammarSpec(), GrammarSpec(digits=False), GrammarSpec(separator=""), GrammarSpec(max_depth=2),
         GrammarSpec(zero_digit=False), GrammarSpec(digits=False, separator="", max_depth=6),
         GrammarSpec(max_depth=9, separator=";"), GrammarSpec(digits=False, max_depth=12)]


def expected_states(spec: GrammarSpec) -> int:
    """Counted by hand: each depth 0..max_depth has 'a token next' and, with separators, 'the separator
    next' (they differ: one takes the separator, the other a token); each depth is told apart from the
    others by how many ')' it takes before the stream must open again; plus the sink."""
    return (spec.max_depth + 1) * (2 if spec.separator else 1) + 1


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_state_count_is_depths_times_phases_plus_the_sink(spec):
    dfa = grammar_dfa(spec)
    assert dfa.n_states == expected_states(spec)
    assert dfa.accepting.sum() == dfa.n_states - 1          # only the sink rejects
    assert dfa.alphabet == tuple(spec.alphabet)


def test_the_shipped_grammar_has_ten_live_states_and_the_sink():
    dfa = grammar_dfa()
    assert dfa.n_states == 11 and sorted(dfa.names)[-1] == "sink"
    assert dfa.name(dfa.start) == "depth 0, token next"


def _depth_of(name: str) -> int:
    return int(re.match(r"depth (\d+)", name).group(1))


@pytest.mark.parametrize("spec", [GrammarSpec(), GrammarSpec(digits=False), GrammarSpec(separator="")], ids=str)
def test_every_generated_character_is_accepted_and_the_state_tracks_the_true_depth(spec):
    text = grammar.generate(1_000_000 if spec == GrammarSpec() else 200_000, seed=3, spec=spec)
    dfa = grammar_dfa(spec)
    states = dfa.run(text)
    # The language is prefix-closed (a stream may stop anywhere), so accepting the whole stream means
    # accepting every prefix of it: no state on the way is the sink.
    assert dfa.accepting[states].all()
    depth_of_state = np.array([_depth_of(dfa.name(s)) for s in range(dfa.n_states) if dfa.accepting[s]])
    live_index = np.cumsum(dfa.accepting) - 1
    assert np.array_equal(depth_of_state[live_index[states[1:]]], grammar.annotate(text, spec)["depth"])


@pytest.mark.parametrize("spec", SPECS[:5], ids=str)
def test_single_character_corruptions_are_rejected_exactly_when_the_validator_rejects(spec):
    dfa = grammar_dfa(spec)
    text = grammar.generate(120, seed=11, spec=spec)
    others = [*spec.alphabet, "x", "9"]
    verdicts = []
    for i in range(len(text)):
        corrupted = {text[:i] + text[i + 1:]}                                              # deleted
        corrupted |= {text[:i] + ch + text[i + 1:] for ch in others}                       # replaced
        corrupted |= {text[:i] + ch + text[i:] for ch in others}                           # inserted
        verdicts += [(dfa.accepts(c), grammar.validate(c, spec).ok) for c in corrupted]
    assert len(verdicts) > 1_000 and all(mine == truth for mine, truth in verdicts)
    assert 0 < sum(truth for _, truth in verdicts) < len(verdicts)         # both verdicts occur


def test_every_short_string_gets_the_validators_verdict():
    spec = GrammarSpec(max_depth=2)
    dfa = grammar_dfa(spec)
    for n in range(6):
        for chars in itertools.product(spec.alphabet, repeat=n):
            s = "".join(chars)
            assert dfa.accepts(s) == grammar.validate(s, spec).ok, s


# --- the DFA type ------------------------------------------------------------------------------------

def random_dfa(rng: np.random.Generator, n: int, alphabet: str = "ab") -> Dfa:
    return Dfa(tuple(alphabet), rng.integers(0, n, size=(n, len(alphabet))), 0, rng.random(n) < 0.5)


def nerode_classes(dfa: Dfa) -> int:
    """Distinct futures of the reachable states, each told by every suffix up to n characters."""
    suffixes = ["".join(p) for k in range(dfa.n_states + 1) for p in itertools.product(dfa.alphabet, repeat=k)]
    reach = set(dfa.run("".join(p))[-1] for k in range(dfa.n_states) for p in itertools.product(dfa.alphabet, repeat=k))
    futures = {tuple(bool(dfa.accepting[dfa.run(s, state=q)[-1]]) for s in suffixes) for q in reach}
    return len(futures)


def test_minimisation_matches_the_myhill_nerode_count_and_keeps_the_language():
    rng = np.random.default_rng(0)
    for _ in range(25):
        dfa = random_dfa(rng, int(rng.integers(2, 7)))
        small = dfa.minimised()
        assert small.n_states == nerode_classes(dfa)
        for k in range(7):
            for p in itertools.product("ab", repeat=k):
                assert small.accepts("".join(p)) == dfa.accepts("".join(p))


def test_merged_states_keep_every_name_they_stand_for():
    # "even number of a's", each class written twice
    table = np.array([[1, 2], [0, 3], [3, 0], [2, 1]])
    dfa = Dfa(("a", "b"), table, 0, np.array([True, False, True, False]), ("e1", "o1", "e2", "o2"))
    small = dfa.minimised()
    assert small.n_states == 2 and sorted(small.names) == ["e1 | e2", "o1 | o2"]
    assert small.name(small.start) == "e1 | e2"


def test_unreachable_states_are_dropped():
    dfa = Dfa(("a",), np.array([[0], [1]]), 0, np.array([True, False]))
    assert dfa.reachable().n_states == 1 and dfa.minimised().n_states == 1


def test_a_malformed_dfa_is_refused_with_the_reason():
    with pytest.raises(RnnscopeError, match="needs transitions"):
        Dfa(("a", "b"), np.zeros((2, 1), int), 0, np.array([True, False]))
    with pytest.raises(RnnscopeError, match="must name its own states"):
        Dfa(("a",), np.array([[5]]), 0, np.array([True]))
    with pytest.raises(RnnscopeError, match="distinct single characters"):
        Dfa(("a", "a"), np.zeros((1, 2), int), 0, np.array([True]))
    dfa = grammar_dfa()
    assert not dfa.accepts("( x")
    with pytest.raises(RnnscopeError, match="not in the automaton's alphabet"):
        dfa.run("( x")


def test_aalpy_round_trip_and_json():
    dfa = grammar_dfa()
    back = Dfa.from_aalpy(dfa.to_aalpy(), dfa.alphabet)
    assert np.array_equal(back.transitions, dfa.transitions) and np.array_equal(back.accepting, dfa.accepting)
    d = dfa.to_dict()
    assert d["start"] == 0 and len(d["transitions"]) == 11 and d["names"][0] == "depth 0, token next"
