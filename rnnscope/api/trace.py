"""A sequence as one model read it: the characters and, per step, every cell's state, gate and the
next-character probabilities, as NumPy arrays (steps x cells), and its heatmap as the page draws it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnscope.base.errors import RnnscopeError


class Trace:
    """Made by :meth:`rnnscope.Model.trace`. ``raw`` is the underlying models.reading.trace.Trace (saved to
    and loaded from .npz); ``model`` the Model that read it; ``source`` what the sequence is ("typed text",
    or which held-out characters and how they were read); ``index`` the held-out index (None: typed);
    ``in_context`` whether a held-out window was read with the state the stream leaves there."""

    def __init__(self, raw, model, source: str, index: int | None = None, in_context: bool = True):
        self.raw, self.model, self.source, self.index, self.in_context = raw, model, source, index, in_context

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        return f"<rnnscope.Trace {len(self):,} chars of {self.model.name}: {self.source}>"

    @property
    def text(self) -> str:
        """The characters read, one per step."""
        return self.raw.text

    @property
    def h(self) -> np.ndarray:
        """[steps, cells] float32: the hidden state of layer 0 after each character."""
        return self.raw.hidden[0]

    @property
    def views(self) -> list[str]:
        """What :meth:`view` shows: "h", then the gates (GRU z r n; LSTM i f g o c)."""
        return self.raw.views

    def view(self, name: str = "h", layer: int = 0) -> np.ndarray:
        """[steps, cells] float32: the hidden state ("h") or a gate (e.g. "z") of ``layer`` at every step."""
        self.model.check_layer(layer)
        return self.raw.values(name, layer)

    @property
    def probs(self) -> np.ndarray:
        """[steps, vocabulary] float32: after each character, the probability of each next character
        (columns in ``model.vocab`` order; no columns for a task model)."""
        return self.raw.probs

    @property
    def p_next(self) -> np.ndarray:
        """[steps - 1]: the probability the model gave the character that actually came next."""
        return self.raw.next_char_prob()

    @property
    def annotations(self) -> dict[str, np.ndarray]:
        """[steps] arrays by name, e.g. a grammar's "depth" (counted from the held-out stream's start for a window)."""
        return self.raw.annotations

    @property
    def note(self) -> str:
        """What the sequence is and where (if anywhere) it leaves the grammar, as the page says it."""
        from rnnscope.models.reading.window import grammar_note, start_depth
        depth = start_depth(self.raw) if self.index is not None and self.model.spec is not None else 0
        return f"{self.source} ({len(self):,} characters); {grammar_note(self.text, self.model.spec, depth)}"

    def frame(self, view: str = "h", layer: int = 0, cells: list[int] | None = None, order: str = "index",
              hide_separators: bool = False):
        """What the heatmap draws (app/drawing/frame.py Frame): ``view`` of ``layer``, rows in ``order``
        ("index", "depth": by |r| with depth, "cluster": similar cells adjacent), ``cells`` drawn as lines."""
        from rnnscope.api.drawing import frame_of
        return frame_of(self, view, layer, cells or [], order, hide_separators)

    def heatmap(self, view: str = "h", layer: int = 0, cells: list[int] | None = None, order: str = "index",
                hide_separators: bool = False):
        """The page's heatmap of cells x characters with its tracks (depth, p(next char), the chosen
        ``cells`` as lines), as a Panel pane: shown inline in Jupyter, ``.save("x.html")`` to keep it.
        Arguments as :meth:`frame`."""
        import panel as pn

        from rnnscope.app.drawing.scope import Scope
        scope = Scope()
        scope.update(self.frame(view, layer, cells, order, hide_separators))
        return pn.pane.Bokeh(scope.layout, sizing_mode="stretch_width")

    def to_html(self, view: str = "h", layer: int = 0, cells: list[int] | None = None, order: str = "index",
                hide_separators: bool = False, coloured_cell: int | None = None) -> str:
        """The heatmap as one standalone HTML file that opens offline (`rnnscope export`'s); ``coloured_cell``:
        also the text, each character's background coloured by that cell."""
        from rnnscope.app.drawing.export import standalone_html
        return standalone_html(self.frame(view, layer, cells, order, hide_separators),
                               f"{self.model.name}: {self.note}", coloured_cell)

    def save(self, path: str | Path, **heatmap) -> Path:
        """Write atomically: ``.npz`` the arrays (reload with models.reading.trace.Trace.load), ``.html`` the
        standalone heatmap (keyword arguments as :meth:`to_html`). Returns the path."""
        from rnnscope.base.atomic import check_writable, write_text_atomic
        path = Path(path)
        if path.suffix == ".npz":
            if heatmap:
                raise RnnscopeError(f"{path}: an .npz holds the arrays; {sorted(heatmap)} are for an .html heatmap")
            return self.raw.save(path)
        if path.suffix not in (".html", ".htm"):
            raise RnnscopeError(f"{path}: say .npz (the arrays) or .html (the heatmap)")
        check_writable(path)
        return write_text_atomic(path, self.to_html(**heatmap))

    def to_lstmvis(self, out: str | Path, force: bool = False) -> list[str]:
        """Write the states as a directory LSTMVis opens (lstm.yml, states.hdf5: h, and c for an LSTM, steps x
        cells per layer; words.hdf5, words.dict, meta.hdf5), atomically; ``force`` replaces an LSTMVis
        directory there. The meta tracks are the annotations labels and probes use; returns their names."""
        from rnnscope.api.interop import write_lstmvis
        return write_lstmvis(self, out, force)
