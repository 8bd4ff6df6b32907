"""White-box extraction by quantising states: stepping checked against the tracer, the machine against
hand-built networks whose states are one-hot by construction, and the shipped GRU against the grammar."""
from __future__ import annotations

import numpy as np
import pytest

import rnnscope as rs
from rnnscope.analysis.automaton.equivalence import isomorphic, separating_string
from rnnscope.analysis.automaton.membership import default_theta
from rnnscope.analysis.automaton.quantise import Quantiser, states_in_context, step, sweep
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from rnnscope.models.reading.sample import start_distribution
from tests.hand_built import dfa_network, rewire, start_counts
from tests.test_automaton_lstar import COUNTER, SMALL, _moved, first_disagreement


def walk(dfa: Dfa, n: int, seed: int = 0) -> str:
    """``n`` characters of ``dfa``'s language: each drawn uniformly among those that do not reach the sink."""
    rng = np.random.default_rng(seed)
    s, out = dfa.start, []
    for _ in range(n):
        legal = np.flatnonzero(dfa.accepting[dfa.transitions[s]])
        c = int(rng.choice(legal))
        out.append(dfa.alphabet[c])
        s = int(dfa.transitions[s, c])
    return "".join(out)


def theta_and_start(dfa: Dfa):
    legal = max(int(dfa.accepting[dfa.transitions[q]].sum()) for q in range(dfa.n_states))
    start = np.array(start_counts(dfa), float)
    return 1 / (2 * legal), start / start.sum()


@pytest.mark.parametrize("name", ["gru15-parens", "lstm24-brackets"])
def test_one_step_from_a_state_in_context_gives_the_next_state_in_context(name):
    m = rs.load(name)
    text = m.heldout.text[:400]
    states, probs = states_in_context(m.module, text)
    ids = np.array(m.module.vocab.encode(text[1:]))
    assert np.allclose(step(m.module, states[:-1], ids), states[1:], atol=1e-5)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("dfa", [SMALL, COUNTER], ids=["brackets-depth-2", "mod-3-counter"])
def test_a_hand_built_network_quantises_to_exactly_its_automaton(dfa):
    theta, start = theta_and_start(dfa)
    q = Quantiser(dfa_network(dfa), walk(dfa, 3_000), theta, start)
    distinct = len(np.unique(q.states, axis=0))          # one-hot (state, last character) units
    result = sweep(q, ks=(distinct,), reference=dfa.minimised())
    row = result["rows"][0]
    assert row["determinism"] == 1.0 and row["equivalent"] and row["purity"] == 1.0
    assert isomorphic(result["smallest_equivalent"]["dfa"], dfa.minimised())


def test_a_rewired_network_quantises_to_the_rewired_automaton():
    dfa, state, char = SMALL, 6, ")"
    moved = _moved(dfa, state, char, 5)
    theta, start = theta_and_start(dfa)
    model = rewire(dfa_network(dfa), dfa, state, char, 5)
    # The network reads text of its own language, as a trained model reads held-out text of what it learned.
    q = Quantiser(model, walk(moved, 3_000), theta, start)
    k = len(np.unique(q.states, axis=0))
    machine = q.machine(k)["dfa"].minimised()
    assert isomorphic(machine, moved.minimised())
    assert separating_string(machine, dfa) == first_disagreement(moved, dfa, 2 * dfa.n_states)


def test_too_few_clusters_give_a_machine_that_is_not_the_automaton():
    dfa = SMALL
    theta, start = theta_and_start(dfa)
    q = Quantiser(dfa_network(dfa), walk(dfa, 2_000), theta, start)
    row = sweep(q, ks=(3,), reference=dfa.minimised())["rows"][0]
    assert not row["equivalent"] and row["separating_string"] and row["purity"] < 1.0


@pytest.mark.slow
def test_the_shipped_gru_quantises_to_the_grammars_automaton_at_ten_clusters():
    m = rs.load("gru15-parens")
    q = Quantiser(m.module, m.heldout.text[:20_000], default_theta(m.spec), start_distribution(m.module))
    result = sweep(q, ks=(8, 10), reference=grammar_dfa(m.spec))
    assert [r["equivalent"] for r in result["rows"]] == [False, True]
    assert result["smallest_equivalent"]["k"] == 10 and result["smallest_equivalent"]["purity"] == 1.0
