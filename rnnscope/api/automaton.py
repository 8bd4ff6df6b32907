"""``Model.automaton``: the automaton the network implements, extracted by L* and by quantising its
states, and checked exactly against the grammar's own (analysis/automaton/). A mixin of
:class:`rnnscope.Model`; rnnscope/api/model.py is the class."""
from __future__ import annotations

from rnnscope.api.reports import Report
from rnnscope.base.heldout_defaults import AUTOMATON_CHARS


class Automata:
    def automaton(self, theta: float | None = None, seed: int = 0, words: int = 3_000, max_length: int = 60,
                  chars: int | None = None, ks=(4, 6, 8, 10, 11, 12, 14, 16, 20, 24, 32)) -> Report:
        """L* against the model's language (a word is in it when every character had p >= ``theta`` where
        it stands; default: half the least probable legal continuation of its grammar), with an equivalence
        oracle of ``words`` of the model's own words per round (up to ``max_length`` characters, each ending
        in one random character; seed ``seed``); then k-means on ``chars`` held-out states read in context
        (None: 20,000, or the whole stream when it is shorter) for each k of ``ks``. For a grammar model both
        are compared exactly with the grammar's minimal DFA: equivalent, or the shortest separating string
        (docs/automaton-json.md)."""
        from rnnscope.analysis.automaton.report import automaton_numbers, automaton_text
        self.check_predicts("extract")
        numbers = automaton_numbers(self.module, self.ref, self.spec, self.heldout.text, theta, seed, words,
                                    max_length, self.heldout_chars(chars, AUTOMATON_CHARS), tuple(ks))

        def html(numbers) -> str:
            from rnnscope.analysis.automaton.html import report_html
            return report_html(numbers)
        return Report(numbers, "automaton", automaton_text, html)
