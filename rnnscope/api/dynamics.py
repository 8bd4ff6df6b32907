"""The network's dynamics: ``Model.fixed_points`` (fixed and slow points of the update for each input
character, linearised) and ``Model.projection`` (a PCA of held-out states read in context, with a
sequence's trajectory and the fixed points on it). A mixin of :class:`rnnscope.Model`; rnnscope/api/model.py
is the class; analysis/dynamics/ does the work."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.api.reports import Report
from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import DYNAMICS_CHARS



@dataclass(frozen=True)
class ProjectionView:
    """What ``Model.projection`` returns, every array in the projection's coordinates [N, dims]:
    ``heldout`` (the held-out states it was fitted on, read in context), ``colour`` (the annotation ``colour_by``
    at each of them, or None; ``categories`` name a categorical one's codes), ``trajectory`` (the sequence's
    states, or None), ``fixed_points`` (the fixed and slow points given, or None; ``fixed_point_info`` says
    what each is) and ``projection`` (analysis/dynamics/projection.py's Projection: axes, explained variance)."""
    projection: object
    layer: int
    heldout: np.ndarray
    colour_by: str | None
    colour: np.ndarray | None
    categories: tuple[str, ...]
    trajectory: np.ndarray | None
    trajectory_text: str
    fixed_points: np.ndarray | None
    fixed_point_info: list[dict]


class Dynamics:
    def fixed_points(self, inputs: str | list[str] | None = None, starts: int = 256, random_starts: int = 32,
                     chars: int | None = None, seed: int = 0, q_tol: float = 1e-12, slow_q: float = 1e-6,
                     dedupe_tol: float = 1e-3, max_iter: int = 200) -> Report:
        """The fixed points of the network's update for each character of ``inputs`` (default: the whole
        vocabulary of a grammar model, the 16 most frequent held-out characters of a text model): minima
        of q(s) = 1/2 ||F(s, x) - s||^2 (F one step of the whole network, x held) reached from ``starts`` states
        drawn from the first ``chars`` held-out characters read in context (None: 20,000, or the whole stream
        when it is shorter) and ``random_starts`` random ones;
        q <= ``q_tol`` is a fixed point, up to ``slow_q`` a slow point; points closer than ``dedupe_tol`` are
        one. Each with its Jacobian's eigenvalues, stability and time constants (docs/dynamics-json.md).
        ``.to_html()`` draws them on the projection of layer 0 (``dynamics_html`` for another layer)."""
        from rnnscope.analysis.dynamics.fixed_points import Options
        from rnnscope.analysis.dynamics.run import dynamics_run
        from rnnscope.analysis.dynamics.summary import summary_text
        options = Options(q_tol=q_tol, slow_q=slow_q, dedupe_tol=dedupe_tol, max_iter=max_iter)
        tr, ann = self.heldout_trace(_check_chars(self.heldout_chars(chars, DYNAMICS_CHARS)))
        run = dynamics_run(self.module, tr, ann, inputs, starts, random_starts, seed, options)
        numbers = {"schema_version": 1, "model": self.ref, **run.numbers}
        return Report(numbers, f"fixed points of {self.name}", summary_text,
                      lambda numbers: self.dynamics_html(numbers, chars=chars))

    def projection(self, trace=None, layer: int = 0, dims: int = 2, chars: int | None = None,
                   colour_by: str | None = "default", fixed_points=None) -> ProjectionView:
        """A PCA (``dims`` 2 or 3) of layer ``layer``'s state (h, and c for an LSTM) fitted on the first ``chars``
        held-out characters read in context (None: as ``fixed_points``), with ``trace``'s trajectory (a Trace of
        this model, or None) and ``fixed_points`` (a ``fixed_points()`` Report or its numbers, or None) projected
        onto it; the held-out states coloured by the annotation ``colour_by`` ("default": depth for a grammar
        model, none for text; None: none)."""
        from rnnscope.analysis.dynamics.projection import fit_projection
        from rnnscope.models.reading.update import Update
        self.check_layer(layer)
        tr, ann = self.heldout_trace(_check_chars(self.heldout_chars(chars, DYNAMICS_CHARS)))
        update = Update(self.module)
        part = update.layer_slice(layer)
        states = update.flat_states(tr)[:, part]
        proj = fit_projection(states, dims)
        colour, categories, name = _colour(ann, colour_by, self.spec is not None)
        traj = None if trace is None else proj(update.flat_states(trace.raw)[:, part])
        points, info = None, []
        if fixed_points is not None:
            found = [p for i in getattr(fixed_points, "numbers", fixed_points)["inputs"] for p in i["points"]]
            info = [{k: v for k, v in p.items() if k not in ("state", "eigenvalues")} for p in found]
            points = proj(np.asarray([p["state"] for p in found])[:, part]) if found else np.zeros((0, dims))
        return ProjectionView(proj, layer, proj(states), name, colour, categories, traj,
                              "" if trace is None else trace.text, points, info)

    def dynamics_html(self, fixed_points, layer: int = 0, trace=None, chars: int | None = None,
                      colour_by: str | None = "default") -> str:
        """The fixed-point report (a ``fixed_points()`` Report or its numbers) as one offline HTML page: a table
        per input character, and the 2-D projection of layer ``layer`` with the points (and ``trace``'s
        trajectory, a Trace of this model) on it."""
        from rnnscope.analysis.dynamics.report import report_html
        numbers = getattr(fixed_points, "numbers", fixed_points)
        view = self.projection(trace, layer, 2, chars, colour_by, numbers)
        return report_html(numbers, view, f"rnnscope dynamics: {self.name}")


def _check_chars(chars: int) -> int:
    if not isinstance(chars, int) or chars < 10:
        raise RnnscopeError(f"read at least 10 held-out characters, got {chars}")
    return chars


def _colour(ann, colour_by: str | None, grammar: bool):
    """(values [T] or None, category names, the annotation's name) for colouring the held-out states."""
    if colour_by == "default":
        colour_by = "depth" if grammar and "depth" in ann.names() else None
    if colour_by is None:
        return None, (), None
    if colour_by not in ann.names():
        raise RnnscopeError(f"no annotation {colour_by!r} to colour by; this model's are {ann.names()}")
    a = ann[colour_by]
    return np.asarray(a.values), tuple(a.categories), colour_by
