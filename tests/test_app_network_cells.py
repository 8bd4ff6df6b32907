"""The whole-network views feed the cell card: a row of the Automaton tab's cells table or of the Dynamics tab's
opens that cell's card, whose sections "In the automaton" and "In the dynamics" hold the tables' numbers.
References: the grammar's own minimal DFA (the shipped GRU implements it, so its states split the held-out
characters exactly as the extracted automaton's do) with eta² from pandas; a linear RNN whose Jacobian is its
recurrent matrix, whose slowest mode is that matrix's eigenvector of largest eigenvalue."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from test_app_dynamics import linear_text_model
from test_network_cells import eta2_by_pandas

from rnnscope.analysis.automaton.cell_states import states_after
from rnnscope.app.pages import cache, network_cache
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.pages.state import AppState
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.models.network.checkpoint import load
from rnnscope.models.reading.tracer import trace

torch.set_num_threads(1)


class Click:
    def __init__(self, row: int):
        self.row = row


def opened(path, tab: str) -> Page:
    page = Page(AppState(path))
    page.__panel__()
    page.tools.active = TOOLS.index(tab)          # opened: computed now (no served page, no thread)
    return page


@pytest.mark.slow
def test_the_automaton_tabs_cells_are_the_grammar_states_eta2_and_a_row_opens_the_card(default_model):
    page = opened(default_model, "Automaton")
    rows = page.automaton.cells.value
    assert len(rows) == 15 and list(rows["eta2"]) == sorted(rows["eta2"], reverse=True)
    held = cache.held(default_model)
    text = held.text[:cache.LABEL_CHARS]
    values = trace(load(default_model), text).hidden[0]      # the held-out stream's first characters, read in context
    expected = eta2_by_pandas(values, states_after(grammar_dfa(held.spec), text))
    for _, row in rows.iterrows():
        assert row["eta2"] == pytest.approx(expected[int(row["cell"])], abs=1e-4)
        assert row["null_99"] < 0.001            # (S - 1) / (N - 1) = 1e-4 for 11 states and 100,000 characters
    # 11 of the shipped GRU's 15 cells are functions of the automaton's state; cell 5 sits at +1 whatever the state
    assert (rows["eta2"] > 0.99).sum() == 11 and rows.set_index("cell").loc[5, "eta2"] < 0.001
    # a row opens its card, whose section says the same
    second = int(rows.iloc[1]["cell"])
    page.automaton._on_cell_row(Click(1))
    assert TOOLS[page.tools.active] == "Cell card" and page.card.cell == second
    text = page.card.texts["automaton"]
    assert f"**{rows.iloc[1]['eta2']:.4f}**" in text and "ranked 2 of 15" in text
    states = re.findall(r"^\| (depth \d, (?:token|separator) next) \|", text, flags=re.M)
    assert len(states) == 10          # the ten live states the stream visits; the sink never
    assert "Not available" not in page.card.texts["dynamics"]


@pytest.mark.slow
def test_the_dynamics_tabs_cells_span_the_projection_and_a_row_opens_the_card(default_model):
    page = opened(default_model, "Dynamics")
    tab = page.dynamics
    rows = tab.cells.value
    comps = tab.projection.components
    shares = (comps ** 2).mean(axis=0)
    assert list(rows["cell"]) == list(np.argsort(-shares, kind="stable")[:10])
    np.testing.assert_allclose(rows["PC1"], np.round(comps[0, rows["cell"]], 3))
    first = int(rows.iloc[0]["cell"])
    tab._on_cell_row(Click(0))
    assert TOOLS[page.tools.active] == "Cell card" and page.card.cell == first
    text = page.card.texts["dynamics"]
    top = rows.iloc[0]
    assert f"| h {first} | {top['PC1']:+.3f} | {top['PC2']:+.3f} | {top['share']:.3f} | 1 |" in text
    fixed = [p for i in tab.numbers["inputs"] for p in i["points"] if p["kind"] == "fixed"]
    assert len(re.findall(r"^\| '.' \| (?:stable|unstable|marginal) \|", text, flags=re.M)) == len(fixed) > 0


def test_a_text_models_card_reads_fixed_points_only_once_searched_and_its_slowest_mode_is_as_largest(tmp_path):
    path, model = linear_text_model(tmp_path)
    page = Page(AppState(path, source="held-out", window=50))
    page.open_card(1, 0)
    assert "Not available for this model" in page.card.texts["automaton"]      # no grammar: no default theta
    assert "not searched yet" in page.card.texts["dynamics"] and "PC1 loading" in page.card.texts["dynamics"]
    assert not network_cache.searched(path)
    page.__panel__()
    page.tools.active = TOOLS.index("Dynamics")       # the tab searches them
    assert network_cache.searched(path)
    page.open_card(1, 0)
    A = model.layer_arrays(0)["weight_hh"].astype(np.float64)
    values, vectors = np.linalg.eigh(A)        # symmetric by construction: largest eigenvalue 0.8
    share = vectors[:, np.argmax(values)][1] ** 2
    rows = re.findall(r"^\| '(.)' \| stable \| 0\.80000 \| [\d.,]+ \| [+-][\d.]+ \| ([\d.]+) \|$",
                      page.card.texts["dynamics"], flags=re.M)
    assert sorted(c for c, _ in rows) == ["a", "b", "c"]
    assert all(float(s) == pytest.approx(share, abs=1e-3) for _, s in rows)


def test_the_tables_first_empty_frames_give_text_columns_a_text_formatter():
    """A Tabulator keeps the formatters of its first frame; empty and untyped, every column was a number, and the
    state names and input characters showed as NaN in the browser."""
    from bokeh.document import Document
    from bokeh.models import NumberFormatter, StringFormatter

    from rnnscope.app.tabs.dynamics_tab import summary_frame
    from rnnscope.app.tabs.tables.network_cells import automaton_cells_frame, projection_cells_frame
    import panel as pn
    text = {"highest", "lowest", "entry", "char", "largest_abs_eigenvalue", "slowest_time_constant"}
    for frame in (automaton_cells_frame(None, None), projection_cells_frame(None, 0, ()), summary_frame([])):
        columns = pn.widgets.Tabulator(frame).get_root(Document()).columns
        for c in columns:
            assert isinstance(c.formatter, StringFormatter if c.field in text else NumberFormatter), c.field
        ints = [c for c in columns if c.field in ("cell", "fixed_points")]
        assert all(c.formatter.format == "0,0" for c in ints)       # a cell number reads 13, not 13.0
