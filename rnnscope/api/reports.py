"""What `rnnscope probe` computes, as an object: the numbers (docs/probe-json.md), the report page."""
from __future__ import annotations

import json


class ProbeReport:
    """Made by :meth:`rnnscope.Model.probe`. ``numbers``: the JSON-ready dict (docs/probe-json.md);
    ``run``: the analysis/decode/probing.py ProbingRun behind it (its trace and annotations)."""

    def __init__(self, run, title: str):
        self.run, self.title = run, title

    @property
    def numbers(self) -> dict:
        return self.run.numbers

    def __repr__(self) -> str:
        return f"<rnnscope.ProbeReport {self.title}: {len(self.numbers['cells'])} cell labels>"

    def to_json(self) -> str:
        """The numbers as JSON text (the schema of `rnnscope probe --json`)."""
        return json.dumps(self.numbers, indent=1, ensure_ascii=False)

    def to_html(self) -> str:
        """The report as one standalone HTML page that opens offline."""
        from rnnscope.analysis.decode.report import report_html
        return report_html(self.run, self.title)

    def to_text(self) -> str:
        """The labels and probes as plain lines, for a terminal."""
        from rnnscope.analysis.decode.probing import text_summary
        return text_summary(self.numbers)

    def cells(self):
        """The cell rows as a pandas DataFrame (layer, view, cell, label, statistic, ablation_delta_loss ...)."""
        import pandas as pd
        return pd.DataFrame(self.numbers["cells"])


class Report:
    """What a command computes, as an object: ``numbers`` (a JSON-ready dict or list), and the same as
    text for a terminal and, where the command has one, an offline HTML page. Made by the Model's
    methods (``evaluate``, ``summary``, ``weights``, ``explain``, ``match``, ``compare``), by
    :func:`rnnscope.generalise` and by ``Store.labels``; each names the docs/ file of its JSON schema."""

    def __init__(self, numbers, title: str, text, html=None, indent: int = 1, ensure_ascii: bool = False):
        self.numbers, self.title = numbers, title
        self._text, self._html, self._json = text, html, {"indent": indent, "ensure_ascii": ensure_ascii}

    def __repr__(self) -> str:
        return f"<rnnscope.Report {self.title}>"

    def to_json(self) -> str:
        """The numbers as JSON text (the schema of the command's --json)."""
        return json.dumps(self.numbers, **self._json)

    def to_text(self) -> str:
        """The result as plain lines, for a terminal."""
        return self._text(self.numbers)

    def to_html(self) -> str:
        """One standalone HTML page that opens offline; RnnscopeError where this result has none."""
        if self._html is None:
            from rnnscope.base.errors import RnnscopeError
            raise RnnscopeError(f"{self.title}: this result is text or JSON, not HTML")
        return self._html(self.numbers)
