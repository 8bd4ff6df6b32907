"""Exact comparison of two automata: are their languages equal, and if not, the shortest string that
separates them; are they the same machine up to the numbering of states.

Equivalence is a breadth-first search over the product automaton (pairs of states) from the pair of
starts: the first pair reached where one accepts and the other does not gives a separating string,
and breadth first with the characters in code-point order makes it the shortest one, and among the
shortest the first in code-point order, so the answer does not depend on how either DFA numbers its
states. Two alphabets may differ: a character outside one automaton's alphabet sends it to a
rejecting sink (a string with such a character is not in its language).
"""
from __future__ import annotations

from collections import deque

import numpy as np

from rnnscope.grammar.dfa import Dfa

OUTSIDE = -1       # the implicit sink of a character outside an automaton's alphabet


def separating_string(a: Dfa, b: Dfa) -> str | None:
    """The shortest string one of ``a``, ``b`` accepts and the other rejects (first in code-point
    order among the shortest); None when their languages are equal."""
    alphabet = sorted(set(a.alphabet) | set(b.alphabet))
    step_a, step_b = _steps(a, alphabet), _steps(b, alphabet)
    start = (a.start, b.start)
    parent: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        if _accepts(a, pair[0]) != _accepts(b, pair[1]):
            return _path(parent, pair)
        for ch, ta, tb in zip(alphabet, step_a[pair[0]], step_b[pair[1]]):
            nxt = (ta, tb)
            if nxt not in parent:
                parent[nxt] = (pair, ch)
                queue.append(nxt)
    return None


def equivalent(a: Dfa, b: Dfa) -> bool:
    return separating_string(a, b) is None


def _steps(dfa: Dfa, alphabet: list[str]) -> dict[int, list[int]]:
    """For each state (and the outside sink), its successor on each character of ``alphabet``."""
    cols = [dfa.alphabet.index(c) if c in dfa.alphabet else None for c in alphabet]
    table = {s: [OUTSIDE if c is None else int(dfa.transitions[s, c]) for c in cols] for s in range(dfa.n_states)}
    table[OUTSIDE] = [OUTSIDE] * len(alphabet)
    return table


def _accepts(dfa: Dfa, state: int) -> bool:
    return state != OUTSIDE and bool(dfa.accepting[state])


def _path(parent: dict, pair) -> str:
    chars = []
    while parent[pair] is not None:
        pair, ch = parent[pair]
        chars.append(ch)
    return "".join(reversed(chars))


def isomorphism(a: Dfa, b: Dfa) -> dict[int, int] | None:
    """The map from ``a``'s reachable states to ``b``'s that makes them the same machine (start to
    start, every transition to the matching transition, accepting to accepting), or None when there
    is none. A DFA's states are reached by strings from the start, so the map, if it exists, is the
    one that walks both automata along the same strings: one breadth-first pass finds it or a clash."""
    if set(a.alphabet) != set(b.alphabet):
        return None
    cols_b = [b.alphabet.index(c) for c in a.alphabet]
    mapping, queue = {a.start: b.start}, deque([a.start])
    while queue:
        s = queue.popleft()
        t = mapping[s]
        if bool(a.accepting[s]) != bool(b.accepting[t]):
            return None
        for ta, tb in zip(a.transitions[s].tolist(), b.transitions[t, cols_b].tolist()):
            if ta in mapping:
                if mapping[ta] != tb:
                    return None
            else:
                mapping[ta] = tb
                queue.append(ta)
    # one to one, and onto b's reachable states
    if len(set(mapping.values())) != len(mapping) or len(mapping) != b.reachable().n_states:
        return None
    return mapping


def isomorphic(a: Dfa, b: Dfa) -> bool:
    return isomorphism(a, b) is not None


def state_contingency(labels: np.ndarray, states: np.ndarray, n_labels: int, n_states: int) -> np.ndarray:
    """[n_labels, n_states] counts of (label, state) pairs over the same positions: how clusters (or the
    states of one automaton) fall into the states of another."""
    table = np.zeros((n_labels, n_states), dtype=np.int64)
    np.add.at(table, (np.asarray(labels), np.asarray(states)), 1)
    return table


def purity(table: np.ndarray) -> float:
    """Share of positions whose row (cluster) agrees with its row's most common column (state)."""
    total = table.sum()
    return float(table.max(axis=1).sum() / total) if total else float("nan")
