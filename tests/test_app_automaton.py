"""The Automaton tab, set by parameters in plain Python, against references known independently: the
grammar's own minimal DFA (grammar/automaton.py) for the shipped GRU, which the network implements; and a
hand-built network that is the grammar's automaton with one transition rewired (tests/hand_built.py), whose
shortest separating string is found by brute force here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hand_built import dfa_network, rewire

from rnnscope.app.pages import network_cache
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.automaton_tab import AutomatonTab
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.spec import GrammarSpec
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network import checkpoint

torch.set_num_threads(1)
SMALL_SPEC = GrammarSpec(digits=False, max_depth=2)


def opened(state: AppState) -> Page:
    page = Page(state)
    page.__panel__()
    page.tools.active = TOOLS.index("Automaton")         # opened: computed now (no served page, no thread)
    return page


@pytest.mark.slow
def test_the_shipped_gru_is_drawn_as_the_grammars_automaton_and_the_window_walks_the_grammars_states(default_model):
    state = AppState(default_model, index=500, window=60)
    page = opened(state)
    tab = page.automaton
    assert "Equivalent to the grammar's minimal DFA: 11 states" in tab.verdict.object
    assert not tab.trace_separating.visible
    nodes = tab.graph.graph.node_renderer.data_source.data
    assert list(nodes["index"]) == list(range(11))
    reference = grammar_dfa()
    # isomorphic and both numbered breadth first: the same table, so the learned state s is the grammar's s
    assert np.array_equal(tab.dfa.transitions, reference.transitions)
    held = heldout_of(default_model).text
    walked = reference.run(held[:560])[500:].tolist()       # the grammar's states before and after each character
    assert tab.path == walked
    # each state drawn at its grammar depth, a token next on the upper row
    depth = heldout_of(default_model).annotations["depth"]
    for step in (0, 17, 59):
        page._on_cell_clicked(3, step)
        x, y = tab.graph.lit.data["x"][0], tab.graph.lit.data["y"][0]
        assert x == depth[500 + step]
        assert y == (1.0 if held[500 + step] == " " else 0.0)       # after the separator a token is next
    # the edges taken: exactly the distinct transitions of the window, none into the sink
    taken = {(a, b) for a, b in zip(walked[:-1], walked[1:])}
    assert len(tab.graph.trail.data["xs"]) == len(taken)
    edges = tab.graph.graph.edge_renderer.data_source.data
    live = reference.accepting
    expected = {(s, int(t)) for s in range(11) if live[s] for t in reference.transitions[s] if live[t]}
    assert set(zip(edges["start"], edges["end"])) == expected
    # the quantisation sweep, with the smallest equivalent k the command finds (docs: k = 10 for this model)
    sweep = tab.sweep.value
    assert list(sweep["k"]) == list(network_cache.AUTOMATON_KS)
    assert sweep.loc[sweep["k"] == 10, "equivalent"].item() == "yes"
    assert "k = 4, 6, 8, 10, 11, 12, 16" in tab.method.object and "1,000 of the model's own words" in tab.method.object


@pytest.fixture(scope="module")
def rewired_model(tmp_path_factory):
    """The brackets-only grammar of depth 2 as a network, with `)` from depth 2 leading to depth 0."""
    small = grammar_dfa(SMALL_SPEC)
    model = rewire(dfa_network(small), small, 6, ")", 5)
    return checkpoint.save(model, tmp_path_factory.mktemp("rewired") / "rewired",
                           {"data": {"kind": "grammar", "spec": SMALL_SPEC.to_dict(), "seed": 0}})


@pytest.mark.slow
def test_a_rewired_network_gets_the_separating_string_one_click_from_being_traced(rewired_model):
    from test_automaton_lstar import _moved, first_disagreement
    small = grammar_dfa(SMALL_SPEC)
    moved = _moved(small, 6, ")", 5)
    expected = first_disagreement(moved, small, 12)
    state = AppState(rewired_model, window=40)
    tab = opened(state).automaton
    assert expected == "( ( ) )"
    assert "Not equivalent" in tab.verdict.object and "'( ( ) )'" in tab.verdict.object
    assert not moved.accepts(expected)       # from depth 2 `)` leads to depth 0, where the last `)` is illegal
    assert "the grammar accepts it, the model does not" in tab.verdict.object
    assert tab.trace_separating.visible and tab.trace_separating.name == "Trace '( ( ) )' in the page"
    tab.trace_separating.clicks += 1
    assert state.source == "typed" and state.trace.text == expected
    assert tab.path == tab.dfa.run(expected).tolist()
    assert all(tab.dfa.accepting[tab.path[:-1]]) and not tab.dfa.accepting[tab.path[-1]]
    assert "leaves the model's language at character 6 (')')" in tab.where.object
    tab.graph.light(tab.path, 6)                             # the last character's state: the sink
    assert tab.graph.lit.data["x"] == [tab.graph.positions[tab.path[-1]][0]]
    tab.trace_separating.clicks += 1                         # the same string again still loads it
    assert state.trace.text == expected and state.source == "typed"


def test_a_text_model_is_told_why_there_is_no_automaton(tmp_path):
    from hand_built import CODE, depth_counter
    text = tmp_path / "code.txt"
    text.write_text(CODE * 3, encoding="utf-8")
    path = checkpoint.save(depth_counter(sorted(set(CODE)), "["), tmp_path / "m",
                           {"data": {"kind": "text", "path": str(text)}})
    tab = AutomatonTab(state=AppState(path))
    tab.open()
    said = tab.body.objects[0].object
    assert "only a grammar model has a default one" in said and "--theta P" in said
    assert tab.dfa is None
