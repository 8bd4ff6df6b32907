"""The dynamics of a model, end to end: start the fixed-point search (analysis/dynamics/fixed_points.py) from
held-out states read in context and from a few random ones, for each input character, and say for every
point found where the stream comes nearest it. What
``rnnscope dynamics``, ``Model.fixed_points`` and a page view call; docs/dynamics-json.md is its JSON."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.describe.annotations import Annotations
from rnnscope.analysis.dynamics.fixed_points import EXACT_Q, CharResult, Options, Starts, find_fixed_points
from rnnscope.analysis.dynamics.fixed_points import starting_states
from rnnscope.analysis.dynamics.projection import nearest
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.trace import Trace
from rnnscope.models.reading.update import Update

MAX_DEFAULT_INPUTS = 16      # a larger vocabulary (text) searches its most frequent characters by default


@dataclass
class DynamicsRun:
    update: Update
    heldout_states: np.ndarray        # [T, D] flat states after each of the first T held-out characters, in context
    annotations: Annotations          # of those T characters
    text: str                         # those T characters
    starts: Starts
    results: list[CharResult]
    options: Options
    seconds: float                    # the search alone (reading the stream not counted)
    seed: int

    @property
    def numbers(self) -> dict:
        return numbers_of(self)


def default_inputs(text: str, vocab: list[str]) -> list[str]:
    """Every character of a small vocabulary (a grammar's); else the MAX_DEFAULT_INPUTS most frequent
    characters of ``text``."""
    if len(vocab) <= MAX_DEFAULT_INPUTS:
        return list(vocab)
    return [c for c, _ in Counter(text).most_common(MAX_DEFAULT_INPUTS)]


def check_inputs(inputs: str | list[str], vocab: list[str]) -> list[str]:
    """The characters to search, each once, in the order given; RnnscopeError naming any the model cannot read."""
    chars = list(dict.fromkeys(inputs))
    unknown = [c for c in chars if c not in vocab]
    if not chars or unknown:
        raise RnnscopeError(f"input characters {unknown!r} are not in the model's vocabulary {''.join(vocab)!r}"
                            if unknown else "give at least one input character")
    return chars


def dynamics_run(model: CharRNN, heldout: Trace, annotations: Annotations, inputs: str | list[str] | None = None,
                 starts: int = 256, random_starts: int = 32, seed: int = 0,
                 options: Options = Options()) -> DynamicsRun:
    """Fixed and slow points of ``model`` for each of ``inputs`` (default: see default_inputs), from ``starts``
    states drawn from ``heldout`` (a Trace of held-out text read in context, from the stream's start; its
    ``annotations``) and ``random_starts`` random states in the box they span (seed ``seed``)."""
    if len(heldout) < 2:
        raise RnnscopeError(f"read at least 2 held-out characters, got {len(heldout)}")
    vocab = list(model.config.vocab)
    inputs = check_inputs(default_inputs(heldout.text, vocab) if inputs is None else inputs, vocab)
    update = Update(model)
    states = update.flat_states(heldout)
    drawn = starting_states(states, starts, random_starts, seed)
    t0 = time.perf_counter()
    results = find_fixed_points(update, inputs, drawn.states, options, update.bounds())
    seconds = time.perf_counter() - t0
    return DynamicsRun(update, states, annotations, heldout.text, drawn, results, options, seconds, seed)


def numbers_of(run: DynamicsRun) -> dict:
    """The JSON-ready result (docs/dynamics-json.md)."""
    u, o = run.update, run.options
    return {
        "network": {"cell": u.cell, "layers": u.layers, "hidden_size": u.hidden_size},
        "state": {"size": u.size, "layout": "per layer, bottom first: h, then c for an LSTM",
                  "names": u.names()},
        "method": {"q": "1/2 ||F(s, x) - s||^2, F one step of the whole network with the input character x held",
                   "minimiser": "Levenberg-Marquardt, batched over starts, Jacobians by torch autograd, float64",
                   "q_tol": o.q_tol, "slow_q": o.slow_q, "exact_q": EXACT_Q, "dedupe_tol": o.dedupe_tol,
                   "max_iter": o.max_iter, "bounds": bounds_note(u.cell, u.model.config.nonlinearity),
                   "starts": {"in_context": run.starts.in_context,
                              "random": len(run.starts.states) - run.starts.in_context,
                              "held_out_chars": len(run.text), "read": "in context, from the stream's start",
                              "seed": run.seed}},
        "seconds": round(run.seconds, 3),
        "inputs": [char_numbers(r, run) for r in run.results],
    }


def bounds_note(cell: str, nonlinearity: str) -> str:
    if cell == "rnn" and nonlinearity != "tanh":
        return "none: a ReLU or linear RNN's state is unbounded"
    return "h within [-1, 1], where one step of the network puts it" + (" (c unbounded)" if cell == "lstm" else "")


def char_numbers(r: CharResult, run: DynamicsRun) -> dict:
    fixed = r.fixed
    rows, dist = nearest([p.state for p in r.points], run.heldout_states) if r.points else ([], [])
    taus = [p.linear.slowest_time_constant for p in fixed if p.linear.slowest_time_constant is not None]
    return {"char": r.char, "fixed_points": len(fixed), "exact": sum(p.q <= EXACT_Q for p in fixed),
            "stable": sum(p.linear.stable for p in fixed), "slow_points": len(r.slow),
            "starts": r.starts, "starts_elsewhere": r.neither, "iterations": r.iterations,
            "largest_abs_eigenvalue": max((round(p.linear.largest_modulus, 9) for p in fixed), default=None),
            "slowest_time_constant": round(max(taus), 4) if taus else None,
            "points": [p.to_dict() | {"nearest_held_out": nearest_entry(int(i), float(d), run)}
                       for p, i, d in zip(r.points, rows, dist)]}


def nearest_entry(row: int, distance: float, run: DynamicsRun) -> dict:
    """Where the held-out stream comes nearest a point: its index, the distance, the annotations there."""
    entry = {"index": row, "distance": round(distance, 6), "char": run.text[row]}
    for a in run.annotations:
        v = a.values[row]
        if a.numeric:
            entry[a.name] = None if np.isnan(v) else round(float(v), 6)
        else:
            entry[a.name] = a.categories[int(v)] if 0 <= int(v) < len(a.categories) else None
    return entry
