"""An automaton drawn as a graph (Bokeh's networkx renderer, ``from_networkx``): a node per state, one curved
arrow per pair of states with every character that goes that way on its label, and a sequence's path lit on it.

The layout is fixed, not a force layout, so a state is where its meaning says and stays there from one
model to the next: a state the grammar can name (the grammar state its shortest access string reaches) sits
at x = its depth, on the upper row when a token comes next and the lower one when the separator does; the
sink, and any state the grammar cannot name, in a column past the deepest depth. Edges into a rejecting
state are not drawn (every live state has some, and they would cross everything): the sink's note says so.
Figure built once; a new automaton or path changes its sources. Bokeh only; no page state.
"""
from __future__ import annotations

import re

import networkx as nx
import numpy as np
from bokeh.models import (Arrow, ColumnDataSource, HoverTool, LabelSet, NodesOnly, Range1d, Scatter, VeeHead)
from bokeh.plotting import figure, from_networkx

from rnnscope.grammar.dfa import Dfa

PLACE = re.compile(r"depth (\d+), (token|separator) next")
BEND = 0.18             # an edge's bow, as a share of its length: A->B and B->A bow to opposite sides
ROW = {"token": 1.0, "separator": 0.0}


def shown(char: str) -> str:
    return {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5"}.get(char, char)


def places(dfa: Dfa, reference: Dfa | None, access: list[str]) -> dict[int, tuple[float, float]]:
    """Where each state of ``dfa`` is drawn, from the ``reference`` (grammar) state its access string reaches."""
    depths = [int(m.group(1)) for n in (reference.names if reference is not None else ()) for m in PLACE.finditer(n)]
    aside = max(depths, default=0) + 1.3        # the column of the sink and of the states the grammar cannot name
    taken: dict[tuple[float, float], int] = {}
    out = {}
    for s in range(dfa.n_states):
        spot = (aside, 0.5 if not dfa.accepting[s] else 1.5)
        if reference is not None and set(access[s]) <= set(reference.alphabet):
            m = PLACE.search(reference.name(int(reference.run(access[s])[-1])))
            if m and dfa.accepting[s]:
                spot = (float(m.group(1)), ROW[m.group(2)])
        k = taken.get(spot, 0)
        taken[spot] = k + 1
        out[s] = (spot[0] + 0.35 * k, spot[1] + (0.3 * k if spot[0] == aside else 0.0))
    return out


def label(dfa: Dfa, s: int, reference: Dfa | None, access: list[str]) -> str:
    """The short label under a node: the grammar state, or "sink"."""
    if not dfa.accepting[s]:
        return "sink"
    if reference is not None and set(access[s]) <= set(reference.alphabet):
        m = PLACE.search(reference.name(int(reference.run(access[s])[-1])))
        if m:
            return f"d{m.group(1)} {'tok' if m.group(2) == 'token' else 'sep'}"
    return "?"


def edges(dfa: Dfa) -> dict[tuple[int, int], str]:
    """{(from, to): the characters that go that way}, parallel edges merged; none into a rejecting state."""
    out: dict[tuple[int, int], str] = {}
    for s in range(dfa.n_states):
        if not dfa.accepting[s]:
            continue
        for a, t in enumerate(dfa.transitions[s].tolist()):
            if dfa.accepting[t]:
                out[(s, t)] = out.get((s, t), "") + dfa.alphabet[a]
    return out


def curve(p: tuple[float, float], q: tuple[float, float], n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A quadratic Bezier from p to q bowed to the left of the direction of travel; a loop for p == q."""
    t = np.linspace(0, 1, n)
    if p == q:
        angle = 2 * np.pi * t - np.pi / 2
        return p[0] + 0.18 * np.cos(angle), p[1] + 0.18 + 0.18 * np.sin(angle)
    (x0, y0), (x1, y1) = p, q
    cx, cy = (x0 + x1) / 2 - BEND * (y1 - y0), (y0 + y1) / 2 + BEND * (x1 - x0)
    return ((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1,
            (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1)


class AutomatonGraph:
    """The figure (``figure``), redrawn by ``show`` (a new automaton) and ``light`` (a path on it)."""

    def __init__(self):
        fig = figure(height=430, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset,save",
                     toolbar_location="right", x_range=Range1d(-0.6, 1.6), y_range=Range1d(-0.6, 1.9),
                     title="the automaton the network implements (L*)")
        fig.axis.visible = False
        fig.grid.visible = False
        self.trail = ColumnDataSource({"xs": [], "ys": []})         # the edges the shown sequence takes
        fig.multi_line("xs", "ys", source=self.trail, line_color="#ff7f0e", line_width=6, line_alpha=0.45)
        self.graph = from_networkx(nx.DiGraph(), {})
        self.graph.node_renderer.glyph = Scatter(size=30, fill_color="fill", line_color="#333", line_width=1.5)
        self.graph.edge_renderer.glyph.update(line_color="#777", line_width=1.4)
        self.graph.inspection_policy = NodesOnly()
        fig.renderers.append(self.graph)
        self.arrows = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": []})
        fig.add_layout(Arrow(end=VeeHead(size=9, fill_color="#555", line_color="#555"), source=self.arrows,
                             x_start="x0", y_start="y0", x_end="x1", y_end="y1", line_alpha=0))
        self.edge_labels = ColumnDataSource({"x": [], "y": [], "text": []})
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=self.edge_labels, text_font_size="13px",
                                text_align="center", text_baseline="middle", background_fill_color="white",
                                background_fill_alpha=0.8))
        # above the upper row's nodes and below the others', clear of the edges between the rows
        self.node_labels = ColumnDataSource({"x": [], "y": [], "text": [], "dy": []})
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=self.node_labels, text_font_size="12px",
                                text_font_style="bold", text_align="center", text_baseline="middle", y_offset="dy",
                                background_fill_color="white", background_fill_alpha=0.8))
        self.lit = ColumnDataSource({"x": [], "y": []})              # the state at the step clicked
        fig.scatter("x", "y", source=self.lit, size=44, fill_alpha=0, line_color="#d62728", line_width=3, name="lit")
        fig.add_tools(HoverTool(renderers=[self.graph], tooltips=[("state", "@index"), ("is", "@name"),
                                                                  ("reached by", "@access")]))
        self.figure = fig
        self.positions: dict[int, tuple[float, float]] = {}
        self.paths: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def show(self, dfa: Dfa, reference: Dfa | None, access: list[str]) -> None:
        """Draw ``dfa``, its states placed and named by ``reference`` (access: each state's access string)."""
        self.positions = pos = places(dfa, reference, access)
        merged = edges(dfa)
        g = nx.DiGraph()
        for s in range(dfa.n_states):
            g.add_node(s, name=dfa.name(s), access=repr(access[s]),
                       fill="#bbbbbb" if not dfa.accepting[s] else "#9ecae1" if s != dfa.start else "#74c476")
        self.paths = {e: curve(pos[e[0]], pos[e[1]]) for e in merged}
        for (s, t), chars in merged.items():
            g.add_edge(s, t, chars=chars)
        new = from_networkx(g, pos)
        data = dict(new.edge_renderer.data_source.data)
        data["xs"] = [self.paths[(s, t)][0] for s, t in zip(data["start"], data["end"])]
        data["ys"] = [self.paths[(s, t)][1] for s, t in zip(data["start"], data["end"])]
        self.graph.node_renderer.data_source.data = dict(new.node_renderer.data_source.data)
        self.graph.edge_renderer.data_source.data = data
        self.graph.layout_provider.graph_layout = {int(k): list(v) for k, v in pos.items()}
        heads = [(xs[int(0.72 * len(xs))], ys[int(0.72 * len(ys))], xs[int(0.8 * len(xs))], ys[int(0.8 * len(ys))])
                 for xs, ys in self.paths.values()]
        self.arrows.data = {k: [h[i] for h in heads] for i, k in enumerate(("x0", "y0", "x1", "y1"))}
        mids = [(xs[len(xs) // 2], ys[len(ys) // 2]) for xs, ys in self.paths.values()]
        self.edge_labels.data = {"x": [m[0] for m in mids], "y": [m[1] for m in mids],
                                 "text": [" ".join(shown(c) for c in chars) for chars in merged.values()]}
        self.node_labels.data = {"x": [pos[s][0] for s in pos], "y": [pos[s][1] for s in pos],
                                 "text": [label(dfa, s, reference, access) for s in pos],
                                 "dy": [30 if pos[s][1] >= 1 else -30 for s in pos]}
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        self.figure.x_range.update(start=min(xs) - 0.6, end=max(xs) + 0.6)
        self.figure.y_range.update(start=min(ys) - 0.6, end=max(ys) + 0.5)
        self.light([], None)

    def light(self, path: list[int], at: int | None) -> None:
        """``path``: the states visited (before the first character, then after each); every edge it takes is
        drawn thick, and the state after character ``at`` (None: none) ringed."""
        taken = dict.fromkeys(zip(path[:-1], path[1:]))
        shown_paths = [self.paths[e] for e in taken if e in self.paths]
        self.trail.data = {"xs": [p[0] for p in shown_paths], "ys": [p[1] for p in shown_paths]}
        if at is None or not 0 <= at + 1 < len(path):
            self.lit.data = {"x": [], "y": []}
            return
        x, y = self.positions[path[at + 1]]
        self.lit.data = {"x": [x], "y": [y]}
