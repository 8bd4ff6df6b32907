"""The grammar's own minimal automaton, derived from its specification (never written out by hand).

The language is the set of streams the validator accepts: every character legal where it stands,
the stream free to stop anywhere. So every state but one is accepting; the one rejecting state is the
sink a first illegal character falls into. Before minimisation a state is (depth, what comes next):
a token at that depth (the spec's token table says which tokens, and the depth each leads to) or,
in a grammar with separators, the separator after a token. AALpy then merges what no suffix tells
apart. For the shipped grammar (max depth 4, digits, separator " ") that is 10 live states and the
sink: 11; brackets only with a separator also 11; with no separator, max_depth + 1 live states and
the sink.
"""
from __future__ import annotations

import numpy as np

from .dfa import Dfa
from .spec import GrammarSpec

SINK = "sink"


def grammar_dfa(spec: GrammarSpec = GrammarSpec(), minimise: bool = True) -> Dfa:
    """The automaton of ``spec``'s language over ``spec.alphabet``, started as the validator starts a
    stream (depth 0, a token next); minimal unless ``minimise`` is False."""
    alphabet = tuple(spec.alphabet)
    col = {c: i for i, c in enumerate(alphabet)}
    depths = range(spec.max_depth + 1)
    phases = ("token", "separator") if spec.separator else ("token",)
    names = [_name(d, p) for d in depths for p in phases] + [SINK]
    state = {n: i for i, n in enumerate(names)}
    sink = state[SINK]
    table = np.full((len(names), len(alphabet)), sink, dtype=np.int64)
    for d, options in enumerate(spec.token_table()):
        for token, step, _ in options:
            # After a token, the separator (if any) must come before the next token.
            table[state[_name(d, "token")], col[token]] = state[_name(d + step, phases[-1])]
        if spec.separator:
            table[state[_name(d, "separator")], col[spec.separator]] = state[_name(d, "token")]
    accepting = np.array([n != SINK for n in names])
    dfa = Dfa(alphabet, table, state[_name(0, "token")], accepting, tuple(names))
    return dfa.minimised() if minimise else dfa


def _name(depth: int, phase: str) -> str:
    return f"depth {depth}, {phase} next"
