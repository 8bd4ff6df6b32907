"""The Automaton and Dynamics tabs' computations, cached per model like the rest of the page's (app/pages/cache.py,
whose held-out traces they share): the whole network, with settings small enough for a page."""
from __future__ import annotations

from pathlib import Path

import panel as pn

from rnnscope.app.pages.cache import _heldout_trace, _load, stamp
from rnnscope.models.data.heldout import heldout_of

# L*'s equivalence oracle draws this many of the model's own words a round (the CLI's default is 3,000);
# the quantisation sweep clusters this many held-out states, at these k.
AUTOMATON_WORDS, AUTOMATON_CHARS, AUTOMATON_KS = 1_000, 10_000, (4, 6, 8, 10, 11, 12, 16)
DYNAMICS_CHARS = 20_000     # held-out characters the projection is fitted on and the starts drawn from
# Fixed-point starts per input character: (in context, random). A text model searches only its most frequent
# characters, from fewer starts: a 128-cell LSTM's Jacobian is 256 x 256 at every iteration of every start.
DYNAMICS_STARTS = {"grammar": (64, 8), "text": (16, 4)}
TEXT_INPUTS = 4


@pn.cache(max_items=4)
def _automaton(path: str, mtime: float, words: int, chars: int, ks: tuple):
    from rnnscope.analysis.automaton.report import automaton_numbers
    stream = heldout_of(path)
    return automaton_numbers(_load(path, mtime), Path(path).name, stream.spec, stream.text, None, 0, words,
                             chars=min(chars, len(stream.text)), ks=ks)


def automaton(path: str | Path, words: int = AUTOMATON_WORDS, chars: int = AUTOMATON_CHARS,
              ks: tuple = AUTOMATON_KS) -> dict:
    """What `rnnscope automaton --words W --chars C --k K...` gives for the model's own held-out stream
    (analysis/automaton/report.py; docs/automaton-json.md): L* against the model's language at the grammar's
    default theta, compared exactly with the grammar's minimal DFA, and the quantisation sweep. Raises
    RnnscopeError for a model with no grammar (no default theta)."""
    return _automaton(str(path), stamp(path), words, chars, tuple(ks))


@pn.cache(max_items=8)
def _projection(path: str, mtime: float, layer: int, chars: int):
    from rnnscope.analysis.dynamics.projection import fit_projection
    from rnnscope.models.reading.update import Update
    tr, ann = _heldout_trace(path, mtime, chars)
    update = Update(_load(path, mtime))
    states = update.flat_states(tr)[:, update.layer_slice(layer)]
    proj = fit_projection(states, 2)
    return proj, proj(states), ann


def projection(path: str | Path, layer: int, chars: int = DYNAMICS_CHARS):
    """(the PCA of layer ``layer``'s state (h, and c for an LSTM) fitted on the first ``chars`` held-out states
    read in context (analysis/dynamics/projection.py), those states on its two axes [T, 2], their annotations)."""
    return _projection(str(path), stamp(path), layer, chars)


@pn.cache(max_items=4)
def _fixed_points(path: str, mtime: float, chars: int) -> dict:
    from rnnscope.analysis.dynamics.run import dynamics_run
    model = _load(path, mtime)
    tr, ann = _heldout_trace(path, mtime, chars)
    text = heldout_of(path).spec is None
    starts, random_starts = DYNAMICS_STARTS["text" if text else "grammar"]
    inputs = None
    if text:
        from rnnscope.analysis.dynamics.run import default_inputs
        inputs = default_inputs(tr.text, list(model.config.vocab))[:TEXT_INPUTS]
    return dynamics_run(model, tr, ann, inputs, starts, random_starts).numbers


def fixed_points(path: str | Path, chars: int = DYNAMICS_CHARS) -> dict:
    """The fixed and slow points of the model's update (analysis/dynamics/run.py's numbers,
    docs/dynamics-json.md) for every character of a grammar model's vocabulary, or a text model's
    TEXT_INPUTS most frequent held-out characters, from DYNAMICS_STARTS starts each."""
    return _fixed_points(str(path), stamp(path), chars)
