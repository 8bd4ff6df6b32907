"""A trace's Frame as the page would draw it, with the grammar's oracle divergence and the depth
probe's track, computed from the Model (not from the page's state, which this never builds)."""
from __future__ import annotations

from rnnscope.base.errors import RnnscopeError


def frame_of(t, view: str, layer: int, cells: list[int], order: str, hide_separators: bool):
    """The Frame (app/drawing/frame.py) of Trace ``t``; a view, layer or cell the model lacks is refused."""
    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.app.drawing.probe_track import probe_track_of
    model = t.model
    if view not in model.views:
        raise RnnscopeError(f"view {view!r} does not exist for this model; choose from {model.views}")
    model.check_layer(layer)
    model.check_cells(cells)
    probe = probe_track_of(model.depth_probes(), t.raw) if model.spec is not None else None
    return make_frame(t.raw, view, layer, order, cells, hide_separators=hide_separators,
                      divergence=divergence(t), probe=probe)


def divergence(t):
    """KL(oracle || model) and illegal mass per step (analysis/describe/divergence.py); None for text.
    A held-out window's oracle is the stream's own; typed text's is counted from depth 0."""
    from rnnscope import grammar
    from rnnscope.analysis.describe.divergence import oracle_divergence
    spec = t.model.spec
    if spec is None:
        return None
    if t.index is not None:
        oracle = t.model.heldout.oracle[t.index:t.index + len(t)]
    else:
        oracle = grammar.next_char_probs(t.text, spec, 0)
    return oracle_divergence(t.raw.probs, t.raw.vocab, oracle, spec.alphabet)
