"""Black-box extraction by L*: the membership oracle against the model's own probabilities read by the
tracer, and extraction against hand-built networks whose automaton is known by construction."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnscope as rs
from rnnscope.analysis.automaton.equivalence import equivalent, isomorphic, separating_string
from rnnscope.analysis.automaton.lstar import draw_words, extract
from rnnscope.analysis.automaton.membership import ModelLanguage, default_theta
from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from rnnscope.grammar.spec import GrammarSpec
from rnnscope.models.network.model import CharRNN, ModelConfig
from rnnscope.models.reading.tracer import trace
from tests.hand_built import dfa_network, rewire, start_counts

SMALL = grammar_dfa(GrammarSpec(digits=False, max_depth=2))          # 6 live states + sink over " ()"
# a mod-3 counter of `a` where `b` is legal only at 0 and `c` only at 2, and resets: 3 live + sink over "abc"
COUNTER = Dfa(("a", "b", "c"), np.array([[1, 0, 3], [2, 3, 3], [0, 3, 0], [3, 3, 3]]), 0,
              np.array([True, True, True, False]))


def language_of(dfa: Dfa, model=None) -> ModelLanguage:
    legal = max(int(dfa.accepting[dfa.transitions[q]].sum()) for q in range(dfa.n_states))
    start = np.array(start_counts(dfa), dtype=float)
    return ModelLanguage(model or dfa_network(dfa), theta=1 / (2 * legal), start=start / start.sum())


def first_disagreement(a: Dfa, b: Dfa, up_to: int) -> str | None:
    for n in range(up_to + 1):
        for chars in itertools.product(sorted(a.alphabet), repeat=n):
            if a.accepts("".join(chars)) != b.accepts("".join(chars)):
                return "".join(chars)
    return None


def test_default_theta_is_half_the_least_probable_legal_continuation():
    assert default_theta(GrammarSpec()) == pytest.approx(1 / 6)          # depths 1-3: three tokens
    assert default_theta(GrammarSpec(digits=False)) == pytest.approx(1 / 4)
    assert default_theta(GrammarSpec(max_depth=1)) == pytest.approx(1 / 4)


def test_membership_is_every_character_above_theta_by_the_traced_probabilities():
    m = rs.load("gru15-parens")
    lang = ModelLanguage(m.module, theta=1 / 6)
    start = lang.next_probs("")
    rng = np.random.default_rng(0)
    words = draw_words(lang, 20, 30, rng) + ["", "(", "0 0 ( 1 ) 0", ") ", "( 1 ( 2 ( 3 ( 4 ( "]
    vocab = m.vocab
    for word in words:
        got = lang.outputs(word)
        if not word:
            assert got == [True]
            continue
        probs = trace(m.module, word).probs                              # p(next) after each character
        p = [start[vocab.index(word[0])]] + [probs[t - 1, vocab.index(word[t])] for t in range(1, len(word))]
        assert got == list(np.minimum.accumulate(np.array(p) >= 1 / 6)), word
    calls = lang.model_calls
    lang.outputs_many(words)
    assert lang.model_calls == calls                                     # every prefix already known


@pytest.mark.parametrize("dfa", [SMALL, COUNTER], ids=["brackets-depth-2", "mod-3-counter"])
def test_a_hand_built_network_is_extracted_to_exactly_its_automaton(dfa):
    result = extract(language_of(dfa), words=300, max_length=20)
    assert result.dfa.n_states == dfa.minimised().n_states
    assert isomorphic(result.dfa, dfa.minimised())
    assert result.oracle["last_round"]["agreed"] == 300 and result.oracle["converged"]


def test_learning_cut_short_says_it_did_not_converge():
    result = extract(language_of(SMALL), words=300, max_length=20, max_rounds=1)
    assert not result.oracle["converged"] and result.dfa.n_states < SMALL.n_states


@pytest.mark.parametrize("dfa, state, char", [(SMALL, 6, ")"), (SMALL, 0, "("), (COUNTER, 1, "a")],
                         ids=["inner", "from-the-start", "counter"])
def test_a_rewired_transition_is_found_and_separated_by_the_shortest_string_through_it(dfa, state, char):
    live = [q for q in range(dfa.n_states) if dfa.accepting[q]]
    old = int(dfa.transitions[state, dfa.index(char)])
    new = next(q for q in live if q != old and not equivalent(_moved(dfa, state, char, q), dfa))
    moved = _moved(dfa, state, char, new)
    model = rewire(dfa_network(dfa), dfa, state, char, new)
    result = extract(language_of(dfa, model), words=300, max_length=20)
    assert isomorphic(result.dfa, moved.minimised())
    sep = separating_string(result.dfa, dfa)
    assert sep is not None and sep == first_disagreement(moved, dfa, 2 * dfa.n_states)
    path = dfa.run(sep)
    assert any(path[i] == state and sep[i] == char for i in range(len(sep)))   # it goes through the rewiring


def _moved(dfa: Dfa, state: int, char: str, new: int) -> Dfa:
    table = dfa.transitions.copy()
    table[state, dfa.index(char)] = new
    return Dfa(dfa.alphabet, table, dfa.start, dfa.accepting.copy())


@pytest.mark.slow
def test_the_shipped_gru_is_the_grammars_automaton():
    m = rs.load("gru15-parens")
    result = extract(ModelLanguage(m.module, default_theta(m.spec)), seed=0)
    assert result.dfa.n_states == 11 and equivalent(result.dfa, grammar_dfa(m.spec))
    assert result.oracle["last_round"] == {"words": 3000, "agreed": 3000, "longest_word": 61}


def test_what_cannot_be_extracted_is_refused():
    with pytest.raises(RnnscopeError, match="strictly between 0 and 1"):
        language_of(SMALL).__class__(dfa_network(SMALL), theta=1.5, start=np.ones(3) / 3)
    big = CharRNN(ModelConfig(vocab=[chr(65 + i) for i in range(20)], hidden_size=2))
    with pytest.raises(RnnscopeError, match="takes at most 16"):
        ModelLanguage(big, theta=0.1, start=np.ones(20) / 20)
    with pytest.raises(RnnscopeError, match="not in the model's vocabulary"):
        language_of(SMALL).outputs("(x")
