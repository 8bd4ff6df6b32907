"""The Automaton and Dynamics tabs' computations, cached per model and held-out stream like the rest of the page's
(app/pages/cache.py, whose held-out traces they share): the whole network, with settings small enough for a page.
``key``: the held-out file given to the page (cache.stream_key), else the model's own stream."""
from __future__ import annotations

from pathlib import Path

import panel as pn

from rnnscope.base.heldout_defaults import DYNAMICS_CHARS, LABEL_CHARS

from rnnscope.app.pages.cache import _heldout_trace, _load, held, stamp

# L*'s equivalence oracle draws this many of the model's own words a round (the CLI's default is 3,000);
# the quantisation sweep clusters this many held-out states, at these k.
AUTOMATON_WORDS, AUTOMATON_CHARS, AUTOMATON_KS = 1_000, 10_000, (4, 6, 8, 10, 11, 12, 16)
# DYNAMICS_CHARS (the API's default): held-out characters the projection is fitted on and the starts drawn from
# Fixed-point starts per input character: (in context, random). A text model searches only its most frequent
# characters, from fewer starts: a 128-cell LSTM's Jacobian is 256 x 256 at every iteration of every start.
DYNAMICS_STARTS = {"grammar": (64, 8), "text": (16, 4)}
TEXT_INPUTS = 4


@pn.cache(max_items=4)
def _automaton(path: str, mtime: float, words: int, chars: int, ks: tuple, key: tuple | None = None):
    from rnnscope.analysis.automaton.report import automaton_numbers
    stream = held(path, key)
    return automaton_numbers(_load(path, mtime), Path(path).name, stream.spec, stream.text, None, 0, words,
                             chars=min(chars, len(stream.text)), ks=ks)


def automaton(path: str | Path, words: int = AUTOMATON_WORDS, chars: int = AUTOMATON_CHARS,
              ks: tuple = AUTOMATON_KS, key: tuple | None = None) -> dict:
    """What `rnnscope automaton --words W --chars C --k K...` gives for the held-out stream
    (analysis/automaton/report.py; docs/automaton-json.md): L* against the model's language at the grammar's
    default theta, compared exactly with the grammar's minimal DFA, and the quantisation sweep (of the stream's
    states). Raises RnnscopeError for a model with no grammar (no default theta)."""
    return _automaton(str(path), stamp(path), words, chars, tuple(ks), key)


@pn.cache(max_items=8)
def _projection(path: str, mtime: float, layer: int, chars: int, key: tuple | None = None):
    from rnnscope.analysis.dynamics.projection import fit_projection
    from rnnscope.models.reading.update import Update
    tr, ann = _heldout_trace(path, mtime, chars, key)
    update = Update(_load(path, mtime))
    states = update.flat_states(tr)[:, update.layer_slice(layer)]
    proj = fit_projection(states, 2)
    return proj, proj(states), ann


def projection(path: str | Path, layer: int, chars: int = DYNAMICS_CHARS, key: tuple | None = None):
    """(the PCA of layer ``layer``'s state (h, and c for an LSTM) fitted on the first ``chars`` held-out states
    read in context (analysis/dynamics/projection.py), those states on its two axes [T, 2], their annotations)."""
    return _projection(str(path), stamp(path), layer, chars, key)


@pn.cache(max_items=4)
def _fixed_points(path: str, mtime: float, chars: int, key: tuple | None = None) -> dict:
    from rnnscope.analysis.dynamics.run import dynamics_run
    model = _load(path, mtime)
    tr, ann = _heldout_trace(path, mtime, chars, key)
    text = held(path, key).spec is None
    starts, random_starts = DYNAMICS_STARTS["text" if text else "grammar"]
    inputs = None
    if text:
        from rnnscope.analysis.dynamics.run import default_inputs
        inputs = default_inputs(tr.text, list(model.config.vocab))[:TEXT_INPUTS]
    return dynamics_run(model, tr, ann, inputs, starts, random_starts).numbers


def fixed_points(path: str | Path, chars: int = DYNAMICS_CHARS, key: tuple | None = None) -> dict:
    """The fixed and slow points of the model's update (analysis/dynamics/run.py's numbers,
    docs/dynamics-json.md) for every character of a grammar model's vocabulary, or a text model's
    TEXT_INPUTS most frequent held-out characters, from DYNAMICS_STARTS starts each."""
    found = _fixed_points(str(path), stamp(path), chars, key)
    _SEARCHED.add((str(path), stamp(path), chars, key))
    return found


_SEARCHED: set[tuple] = set()        # the fixed-point searches done in this process (their results are cached)


def searched(path: str | Path, chars: int = DYNAMICS_CHARS, key: tuple | None = None) -> bool:
    """Whether ``fixed_points`` has been computed here for this model and stream: a text model's search takes
    minutes, and the cell card only reads what the Dynamics tab found."""
    return (str(path), stamp(path), chars, key) in _SEARCHED


@pn.cache(max_items=8)
def _automaton_cells(path: str, mtime: float, view: str, layer: int, chars: int, key: tuple | None = None):
    from rnnscope.analysis.automaton.cell_states import cell_states, states_after
    from rnnscope.grammar.dfa import Dfa
    dfa = Dfa.from_dict(automaton(path, key=key)["lstar"]["dfa"])
    tr, _ = _heldout_trace(path, mtime, chars, key)
    return dfa, cell_states(tr.values(view, layer), states_after(dfa, tr.text), dfa.n_states)


def automaton_cells(path: str | Path, view: str, layer: int, chars: int = LABEL_CHARS, key: tuple | None = None):
    """(the L* automaton of ``automaton``, analysis/automaton/cell_states.py's CellStates of one view and layer):
    each cell's mean in each of the automaton's states and the share of its variance they account for, on the
    first ``chars`` held-out characters read in context (the Cells tab's)."""
    return _automaton_cells(str(path), stamp(path), view, layer, chars, key)


@pn.cache(max_items=4)
def _slowest_modes(path: str, mtime: float, chars: int, key: tuple | None = None) -> list[dict]:
    import numpy as np

    from rnnscope.analysis.dynamics.cell_roles import slowest_mode
    from rnnscope.models.reading.update import Update
    update = Update(_load(path, mtime))
    out = []
    for found in _fixed_points(path, mtime, chars, key)["inputs"]:
        for p in (p for p in found["points"] if p["kind"] == "fixed"):
            _, jacobian = update.jacobian(np.asarray([p["state"]]), p["char"])
            value, shares = slowest_mode(jacobian[0])
            out.append({"point": p, "eigenvalue": value, "shares": shares})
    return out


def slowest_modes(path: str | Path, chars: int = DYNAMICS_CHARS, key: tuple | None = None) -> list[dict]:
    """For each fixed point of ``fixed_points`` (not the slow points): the point (its dict), its Jacobian's
    eigenvalue of largest modulus and each state entry's share of that mode's eigenvector
    (analysis/dynamics/cell_roles.py)."""
    return _slowest_modes(str(path), stamp(path), chars, key)
