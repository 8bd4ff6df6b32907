"""Equivalence and isomorphism of automata, against brute force: every string up to a length in
code-point order (the first one two automata disagree on), and networkx's graph isomorphism."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from networkx.algorithms.isomorphism import categorical_multiedge_match, categorical_node_match

from rnnscope.analysis.automaton.equivalence import (
    equivalent, isomorphic, isomorphism, purity, separating_string, state_contingency)
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from rnnscope.grammar.spec import GrammarSpec


def random_dfa(rng, n, alphabet="ab") -> Dfa:
    return Dfa(tuple(alphabet), rng.integers(0, n, size=(n, len(alphabet))), 0, rng.random(n) < 0.5)


def first_disagreement(a: Dfa, b: Dfa, up_to: int) -> str | None:
    alphabet = sorted(set(a.alphabet) | set(b.alphabet))
    for n in range(up_to + 1):
        for chars in itertools.product(alphabet, repeat=n):
            s = "".join(chars)
            if a.accepts(s) != b.accepts(s):
                return s
    return None


def test_the_separating_string_is_the_first_string_brute_force_finds():
    rng = np.random.default_rng(1)
    differed = 0
    for _ in range(60):
        a, b = random_dfa(rng, int(rng.integers(1, 5))), random_dfa(rng, int(rng.integers(1, 5)))
        # two DFAs of n and m states that differ do so on a string shorter than n + m
        expected = first_disagreement(a, b, a.n_states + b.n_states)
        assert separating_string(a, b) == expected
        differed += expected is not None
    assert 10 < differed < 60


def test_a_dfa_is_equivalent_to_its_minimisation_and_to_a_renumbering():
    rng = np.random.default_rng(2)
    for _ in range(20):
        a = random_dfa(rng, 6, "abc")
        assert equivalent(a, a.minimised())
        perm = rng.permutation(6)
        inv = np.argsort(perm)
        b = Dfa(a.alphabet, perm[a.transitions[inv]], int(perm[a.start]), a.accepting[inv])
        assert isomorphism(a, b) == {s: int(perm[s]) for s in isomorphism(a, b)}


def test_alphabets_may_differ_a_foreign_character_is_rejected():
    small = grammar_dfa(GrammarSpec(digits=False))            # " ()"
    big = grammar_dfa(GrammarSpec())                           # " ()01234"
    assert separating_string(small, big) == "0"
    assert separating_string(big, big) is None


def as_graph(dfa: Dfa) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for s in range(dfa.n_states):
        g.add_node(s, tag=(bool(dfa.accepting[s]), s == dfa.start))
    for s in range(dfa.n_states):
        for c, t in zip(dfa.alphabet, dfa.transitions[s].tolist()):
            g.add_edge(s, t, ch=c)
    return g


def test_isomorphism_agrees_with_networkx():
    rng = np.random.default_rng(3)
    agreed = {True: 0, False: 0}
    for _ in range(80):
        a = random_dfa(rng, 4).reachable()
        b = random_dfa(rng, 4).reachable() if rng.random() < 0.5 else a.minimised()
        truth = nx.is_isomorphic(as_graph(a), as_graph(b), node_match=categorical_node_match("tag", None),
                                 edge_match=categorical_multiedge_match("ch", None))
        assert isomorphic(a, b) == truth
        agreed[truth] += 1
    assert min(agreed.values()) > 5


def test_contingency_and_purity():
    table = state_contingency(np.array([0, 0, 1, 1, 1]), np.array([2, 2, 0, 1, 1]), 2, 3)
    assert table.tolist() == [[0, 0, 2], [1, 2, 0]]
    assert purity(table) == 4 / 5
