"""The automaton report: one offline HTML page of report.py's numbers -- the L* automaton's transition
table (states numbered, named by the grammar state they stand for; each cell the number of the state a
character leads to), the grammar's own, and the quantisation sweep."""
from __future__ import annotations

import html

from bokeh.layouts import column
from bokeh.models import ColumnDataSource, DataTable, Div, TableColumn

from rnnscope.analysis.automaton.report import automaton_text, transition_rows
from rnnscope.analysis.decode.html import standalone


def report_html(numbers: dict, title: str = "rnnscope automaton") -> str:
    text = html.escape(automaton_text(numbers))
    parts = [Div(text=f"<pre style='white-space: pre-wrap'>{text}</pre>", sizing_mode="stretch_width"),
             Div(text="<h3>The automaton L* extracted from the network</h3>"), _table(numbers["lstar"]["dfa"])]
    if numbers["grammar_dfa"]:
        parts += [Div(text="<h3>The grammar's minimal automaton</h3>"), _table(numbers["grammar_dfa"]["dfa"])]
    sweep = numbers["quantise"]["rows"]
    parts += [Div(text="<h3>Quantised machines, by k</h3>"),
              _rows_table(sweep, [k for k in ("k", "states", "determinism", "purity", "equivalent",
                                              "separating_string", "legal_pairs") if k in sweep[0]])]
    caption = (f"theta {numbers['theta']:.4g}: {numbers['theta_rule']}. {numbers['start_rule']}. "
               f"Oracle: {numbers['lstar']['oracle']['kind']}.")
    return standalone(column(*parts, sizing_mode="stretch_width"), title, caption,
                      parts=("bokeh", "bokeh-widgets", "bokeh-tables"))


def _table(dfa: dict) -> DataTable:
    rows = transition_rows(dfa)
    return _rows_table(rows, list(rows[0]))


def _rows_table(rows: list[dict], keys: list[str]) -> DataTable:
    source = ColumnDataSource({k: [_cell(r.get(k)) for r in rows] for k in keys})
    columns = [TableColumn(field=k, title=k, width=420 if k == "state" else 60) for k in keys]
    return DataTable(source=source, columns=columns, height=40 + 26 * len(rows), index_position=None,
                     sizing_mode="stretch_width")


def _cell(value):
    if value is None:
        return ""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
