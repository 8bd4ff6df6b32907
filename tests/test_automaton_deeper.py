"""Where a model stops counting, against hand-built networks whose behaviour past their language is known
by construction: one loses its state on an illegal `(`, one saturates (its `(` at the deepest depth
leads back to that depth, while its decoder still calls that `(` illegal)."""
from __future__ import annotations

import numpy as np
import torch

from rnnscope.analysis.automaton.deeper import counting_numbers
from rnnscope.analysis.automaton.lstar import extract
from rnnscope.analysis.automaton.equivalence import isomorphic
from rnnscope.analysis.automaton.report import named
from tests.hand_built import dfa_network
from tests.test_automaton_lstar import SMALL, _moved, language_of

DEEPEST_TOKEN_NEXT = 6           # SMALL's "depth 2, token next"
DEEPEST_SEPARATOR_NEXT = 4       # SMALL's "depth 2, separator next"


def names_after(model) -> tuple[list, dict]:
    lang = language_of(SMALL, model)
    learned = extract(lang, words=300, max_length=20)
    assert isomorphic(learned.dfa, SMALL)               # inside its language the network is the grammar
    counted = counting_numbers(lang, named(learned.dfa, SMALL), " ", 5)
    return [r["name"].split(" (")[0] if r["name"] else None for r in counted["rows"]], counted


def test_a_network_that_loses_its_state_on_an_illegal_open_matches_no_state_then_counts_again():
    names, counted = names_after(dfa_network(SMALL))
    assert names[:3] == ["depth 0, token next", "depth 1, token next", "depth 2, token next"]
    # The third `(` is illegal at depth 2 and the separator after it illegal at the start: every unit is
    # off, the decoder's logits are all 0 and every character (1/3 >= theta) is legal: a future no state of
    # the automaton has. The next `(` is read as from the start: depth 1 again.
    assert names[3] is None and names[4] == "depth 1, token next"
    assert counted["counts_to"] == 2


def test_a_network_that_saturates_merges_the_deeper_depths_into_the_deepest():
    saturating = _moved(SMALL, DEEPEST_TOKEN_NEXT, "(", DEEPEST_SEPARATOR_NEXT)
    model = dfa_network(saturating)
    live = [q for q in range(saturating.n_states) if saturating.accepting[q]]
    with torch.no_grad():                # ... but its decoder still says `(` is illegal at depth 2
        for i, (q, _) in enumerate((q, a) for q in live for a in range(3)):
            if q == DEEPEST_TOKEN_NEXT:
                model.decoder.weight[SMALL.index("("), i] = 0.0
    names, counted = names_after(model)
    assert names == ["depth 0, token next", "depth 1, token next"] + ["depth 2, token next"] * 4
    assert counted["counts_to"] == 2 and np.all([r["state"] is not None for r in counted["rows"]])
