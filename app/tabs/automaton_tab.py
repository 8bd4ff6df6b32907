"""The Automaton tab: the finite automaton the network implements, extracted by L* with the model as the
membership oracle (analysis/automaton/), drawn as a graph whose states are named by the grammar state they
stand for (app/drawing/automaton_graph.py); the verdict of its exact comparison with the grammar's minimal
DFA, with the shortest separating string one click from being traced in the page; the quantisation sweep.
The shown sequence's path is lit on the graph, and a click on a heatmap column rings the state after that
character.

Computed when the tab is first opened for a model, off the page's thread, with settings smaller than the
CLI's (app/pages/cache.py AUTOMATON_*): the tab says which, and `rnnscope automaton` runs the full ones.
A model of text has no default threshold for its language, so the tab says how to extract one instead."""
from __future__ import annotations

import pandas as pd
import panel as pn
import param

from rnnscope.analysis.automaton.report import access_strings
from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.dfa import Dfa

from rnnscope.app.drawing.automaton_graph import AutomatonGraph
from rnnscope.app.pages import cache, network_cache
from rnnscope.app.pages.lazy_tab import COMPUTING, LazyTab
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.tables.network_cells import (AUTOMATON_TITLES, automaton_cells_frame, automaton_cells_note,
                                             cells_table)

SWEEP_TITLES = {"k": "k", "states": "states", "determinism": "determinism", "purity": "purity",
                "equivalent": "equivalent"}


class AutomatonTab(LazyTab):
    state = param.ClassSelector(class_=AppState)
    step = param.Integer(default=None, allow_None=True, doc="the heatmap column clicked (its index in the trace)")

    def __init__(self, **params):
        super().__init__(**params)
        self.graph = AutomatonGraph()
        self.numbers: dict | None = None
        self.dfa: Dfa | None = None
        self.path: list[int] = []           # the states the shown sequence visits (before it, then after each)
        self.drawn_for: str | None = None       # the model whose automaton is drawn
        self.verdict = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.trace_separating = pn.widgets.Button(name="Trace the separating string", button_type="primary",
                                                  visible=False)
        self.trace_separating.on_click(lambda _: self.trace_counterexample())
        self.where = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.sweep = pn.widgets.Tabulator(sweep_frame([]), show_index=False, disabled=True, selectable=False,
                                          titles=SWEEP_TITLES, layout="fit_data_table",
                                          widths={"equivalent": 170},    # its title's header fits, not only its cells
                                          sortable=False)      # seven rows in k's order: no sort arrows to cut
        self.method = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.cells_note = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.cells = cells_table(automaton_cells_frame(None, None), AUTOMATON_TITLES, self._on_cell_row)
        self.body = pn.Column(sizing_mode="stretch_width")
        self._request = self._cells_request = 0
        self.state.param.watch(self._refresh, ["model_path", "heldout_key"])
        self.state.param.watch(self._refresh_cells, ["view", "layer"])
        self.state.param.watch(self._on_trace, ["trace"])
        self.param.watch(self._light, ["step"])

    # --- the automaton ------------------------------------------------------------------------
    def _refresh(self, *events) -> None:
        if not self.opened:
            return
        self._request += 1
        request, path, key = self._request, self.state.model_path, self.state.heldout_key
        self.numbers, self.dfa, self.path = None, None, []
        if self.state.grammar_spec is None:
            self.body.objects = [pn.pane.Markdown(
                "No automaton view for this model: its language needs a threshold (a string is the model's when "
                "every character had p \u2265 \u03b8), and only a grammar model has a default one. "
                "`rnnscope automaton --model M --theta P` extracts one from the command line.",
                sizing_mode="stretch_width")]
            return
        self.body.objects = [pn.pane.Markdown(COMPUTING.replace("*Computing", "*Extracting the automaton (L*) and "
                                                                "quantising the states"))]

        def work():
            try:
                return network_cache.automaton(path, key=key), ""
            except RnnscopeError as e:
                return None, str(e)
        self.off_thread(work, lambda found: self._show(request, path, *found), "rnnscope-automaton")

    def _show(self, request: int, path: str, numbers: dict | None, why: str) -> None:
        if request != self._request:            # another model was asked for since
            return
        if numbers is None:
            self.body.objects = [pn.pane.Markdown(f"No automaton for this model: {why}", sizing_mode="stretch_width")]
            return
        self.numbers, self.drawn_for = numbers, path
        self.dfa = Dfa.from_dict(numbers["lstar"]["dfa"])
        reference = Dfa.from_dict(numbers["grammar_dfa"]["dfa"]) if numbers["grammar_dfa"] else None
        self.graph.show(self.dfa, reference, access_strings(self.dfa))
        self.verdict.object = verdict_markdown(numbers)
        separating = (numbers["lstar_vs_grammar"] or {}).get("separating_string")
        self.trace_separating.name = f"Trace {separating!r} in the page" if separating else "Trace"
        self.trace_separating.visible = bool(separating)
        self.sweep.value = sweep_frame(numbers["quantise"]["rows"])
        self.method.object = method_markdown(numbers)
        self.body.objects = [self.verdict, self.trace_separating, self.where,
                             pn.pane.Bokeh(self.graph.figure, sizing_mode="stretch_width"),
                             pn.pane.Markdown(sweep_heading(numbers["quantise"]), sizing_mode="stretch_width"),
                             self.sweep, self.cells_note, self.cells.box, self.method]
        self._on_trace()
        self._refresh_cells()

    # --- the cells and the states --------------------------------------------------------------------
    def _refresh_cells(self, *events) -> None:
        """Each cell's share of variance between the automaton's states, for the view and layer shown (off the
        page's thread: the first time it reads the labels' held-out stream)."""
        if self.dfa is None or self.drawn_for != self.state.model_path:
            return
        self._cells_request += 1
        s, request = self.state, self._cells_request
        path, view, layer, key = s.model_path, s.view, s.layer, s.heldout_key
        self.cells_note.object = "*Computing each cell's mean in each state \u2026*"

        def work():
            try:
                return network_cache.automaton_cells(path, view, layer, key=key)[1], ""
            except RnnscopeError as e:
                return None, str(e)

        def apply(found):
            if request != self._cells_request:
                return
            cs, why = found
            self.cells.show(automaton_cells_frame(self.dfa, cs))
            self.cells_note.object = automaton_cells_note(cs, view, layer) if cs is not None else \
                f"No cells table: {why}"
        self.off_thread(work, apply, "rnnscope-automaton-cells")

    def _on_cell_row(self, event) -> None:
        self.state.inspect(int(self.cells.value.iloc[event.row]["cell"]), self.state.layer)

    def trace_counterexample(self) -> None:
        """Load the shortest separating string as the typed sequence: the heatmap shows the model reading it,
        and its path is lit here."""
        separating = ((self.numbers or {}).get("lstar_vs_grammar") or {}).get("separating_string")
        if not separating:
            return
        s = self.state
        if s.text == separating:          # the same text again: no change to watch, so ask for the load
            s.param.trigger("text")
        else:
            s.text = separating

    # --- the shown sequence on it ----------------------------------------------------------------
    def _on_trace(self, *events) -> None:
        # a new model's first trace arrives before its automaton: ``_show`` lights it then
        if self.dfa is None or self.drawn_for != self.state.model_path:
            return
        self.step = None
        try:
            self.path = self.shown_path()
            self.where.object = path_markdown(self.dfa, self.path, self.state.trace.text)
        except RnnscopeError as e:
            self.path = []
            self.where.object = f"The sequence shown cannot be read on this automaton: {e}"
        self._light()

    def shown_path(self) -> list[int]:
        """The states the shown sequence visits: a held-out window read in context from where the stream before
        it leaves the automaton, any other sequence from the start."""
        s = self.state
        start = self.dfa.start
        if s.source == "held-out" and s.reading == "in context" and s.index:
            start = int(self.dfa.run(cache.held(s.model_path, s.heldout_key).text[:s.index])[-1])
        return self.dfa.run(s.trace.text, start).tolist()

    def _light(self, *events) -> None:
        if self.dfa is not None:
            self.graph.light(self.path, self.step)

    def _layout(self):
        return self.body


def verdict_markdown(n: dict) -> str:
    ls, cmp_ = n["lstar"], n["lstar_vs_grammar"]
    last = ls["oracle"]["last_round"]
    how = (f"L* in {ls['seconds']:.1f} s, {ls['rounds']} rounds; the last round's {last['words']:,} words of the "
           f"model's own agreed on {last['agreed']:,}")
    if not ls["oracle"]["converged"]:
        how += f" (**stopped at the limit of {ls['oracle']['max_rounds']} rounds**: this is the last hypothesis)"
    if cmp_ is None:
        return f"**{ls['states']} states** ({how})."
    grammar_states = n["grammar_dfa"]["states"]
    if cmp_["equivalent"]:
        iso = "isomorphic to it" if cmp_["isomorphic"] else "not isomorphic"
        return (f"**Equivalent to the grammar's minimal DFA: {ls['states']} states** ({iso}; checked exactly, "
                f"state pair by state pair). {how}.")
    sep = cmp_["separating_string"]
    who = "the model accepts it, the grammar does not" if cmp_["model_accepts"] else \
        "the grammar accepts it, the model does not"
    return (f"**Not equivalent to the grammar's minimal DFA** ({grammar_states} states): L* finds "
            f"**{ls['states']} states**. Shortest separating string: **`{sep!r}`** ({who}). {how}.")


def path_markdown(dfa: Dfa, path: list[int], text: str) -> str:
    rejected = [t for t in range(1, len(path)) if not dfa.accepting[path[t]] and dfa.accepting[path[t - 1]]]
    where = "" if not rejected else (f" It leaves the model's language at character {rejected[0] - 1:,} "
                                     f"({text[rejected[0] - 1]!r}): from there on it is in the sink.")
    return ("Orange: the transitions the shown sequence takes; click a heatmap column to ring the state after "
            f"that character.{where} Nodes: dN tok = depth N with a token next, dN sep = the separator next "
            "(hover a node for its full name and the shortest string reaching it); green: the start. Characters "
            "not drawn lead to the sink.")


def sweep_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({
        "k": [r["k"] for r in rows], "states": [r["states"] for r in rows],
        "determinism": [r["determinism"] for r in rows], "purity": [r.get("purity") for r in rows],
        "equivalent": ["" if "equivalent" not in r else "yes" if r["equivalent"] else f"no: {r['separating_string']!r}"
                       for r in rows]})


def sweep_heading(q: dict) -> str:
    best = "" if q["smallest_equivalent_k"] is None else (
        f" Smallest equivalent k: **{q['smallest_equivalent_k']}** (purity {q['smallest_equivalent']['purity']:.4f}).")
    return (f"**Quantisation** (white box): k-means on the whole state after each of {q['chars']:,} held-out "
            f"characters read in context; the machine read off the clusters, minimised.{best} Determinism: share "
            "of legal (cluster, character) pairs whose states all go to one cluster; purity: share of states in "
            "their cluster's most common grammar state.")


def method_markdown(n: dict) -> str:
    o = n["lstar"]["oracle"]
    ks = ", ".join(str(r["k"]) for r in n["quantise"]["rows"])
    return (f"*Settings, smaller than `rnnscope automaton`'s so the page answers in seconds:* the model's language "
            f"at \u03b8 = {n['theta']:.4g} ({n['theta_rule']}); L*'s equivalence oracle draws "
            f"{o['words_per_round']:,} of the model's own words a round (the command's default: 3,000), at most "
            f"{o['max_length']} characters + 1 random, seed {o['seed']}; quantisation on {n['quantise']['chars']:,} "
            f"held-out states (the command's default: 20,000), k = {ks}.")
