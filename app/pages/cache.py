"""Everything expensive, computed once per server and shared by all sessions (``pn.cache``); the probes,
the slowest, are also kept on disk between server runs (app/pages/stored.py).

Keys include the checkpoint's modification time, so a checkpoint rewritten on disk (a
training run keeping its best model) is reloaded rather than served stale. The trace cache
is bounded: a 100k-character GRU-15 trace with gates is ~30 MB.
"""
from __future__ import annotations

import threading
from pathlib import Path

import panel as pn

from rnnscope import grammar
# LABEL_CHARS: the held-out characters the Cells tab labels on, the API's default (>= 100k, read in context)
from rnnscope.base.heldout_defaults import LABEL_CHARS
from rnnscope.models.network import checkpoint
from rnnscope.models.reading.context import StreamReader
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.data.heldout_text import HeldoutText
from rnnscope.models.reading.tracer import trace as _trace
from rnnscope.models.reading.window import read_window

from rnnscope.app.drawing.probe_track import ProbeTrack, probe_track_of
from rnnscope.app.pages.stored import stored

TRACE_CACHE_ITEMS = 12


def stream_key(given: HeldoutText | None) -> tuple | None:
    """A held-out text the page was given (the sequence picker's file), as a cache key: the file, its range
    and its modification time (a file rewritten on disk is read again). None: the model's own stream."""
    if given is None:
        return None
    try:
        mtime = given.path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return str(given.path), given.start, given.end, mtime


def held(path: str | Path, key: tuple | None = None):
    """The held-out stream the page reads for the model at ``path``: the file ``key`` names, else its own."""
    return heldout_of(path, None if key is None else HeldoutText(Path(key[0]), key[1], key[2]))


def stamp(path: str | Path) -> float:
    """Modification time of a checkpoint's weights (0 when missing: loading will say why)."""
    try:
        return (Path(path) / "model.safetensors").stat().st_mtime
    except OSError:
        return 0.0


@pn.cache(max_items=8)
def _load(path: str, mtime: float):
    return checkpoint.load(path)


def load_model(path: str | Path):
    """The CharRNN at ``path`` (raises CheckpointError with a message naming the file)."""
    return _load(str(path), stamp(path))


@pn.cache(max_items=TRACE_CACHE_ITEMS)
def _traced(path: str, mtime: float, text: str, spec_items: tuple | None):
    spec = grammar.GrammarSpec(**dict(spec_items)) if spec_items else None
    return _trace(_load(path, mtime), text, spec)


def trace_text(path: str | Path, text: str, spec: grammar.GrammarSpec | None = None):
    """The Trace of ``text`` under the model at ``path``; shared across sessions."""
    spec_items = tuple(sorted(spec.to_dict().items())) if spec else None
    return _traced(str(path), stamp(path), text, spec_items)


@pn.cache(max_items=4)
def _reader(path: str, mtime: float, key: tuple | None = None) -> StreamReader:
    stream = held(path, key)
    return StreamReader(_load(path, mtime), stream.text, stream.annotations)


@pn.cache(max_items=TRACE_CACHE_ITEMS)
def _window(path: str, mtime: float, index: int, length: int, key: tuple | None = None):
    return read_window(_reader(path, mtime, key), index, length)


def trace_in_context(path: str | Path, index: int, length: int, key: tuple | None = None):
    """The held-out window at ``index`` as the model reads it along the stream (models/reading/context.py):
    the states it holds there, not those of a fresh start. ``key``: the stream a file given to the page
    makes (``stream_key``), else the model's own. Shared across sessions."""
    return _window(str(path), stamp(path), index, length, key)


@pn.cache(max_items=3)     # LABEL_CHARS and DYNAMICS_CHARS of one model, and one more
def _heldout_trace(path: str, mtime: float, chars: int, key: tuple | None = None):
    """The first ``chars`` of the held-out stream (``key``: the file given to the page), read from its start
    (so in context), with annotations."""
    from rnnscope.analysis.decode.probing import annotations_of
    stream = held(path, key)
    ann = annotations_of(stream, min(chars, len(stream.text)))
    return _trace(_load(path, mtime), stream.text[:min(chars, len(stream.text))]), ann


@pn.cache(max_items=16)
def _labels(path: str, mtime: float, view: str, layer: int, chars: int, key: tuple | None = None):
    from rnnscope.analysis.describe.labels import category_means, label_cells
    from rnnscope.analysis.decode.report import profile_names
    from rnnscope.models.reading.trace import value_range
    tr, ann = _heldout_trace(path, mtime, chars, key)
    values = tr.values(view, layer)
    low_high = value_range(view, values)
    profiles = {name: category_means(values, ann[name]) for name in profile_names(ann)}
    return label_cells(values, ann, low_high), profiles, ann, low_high


# One labelling at a time: a text model's page asks for its labels on a thread of its own as it opens (the
# coloured text's cell), and the Cells tab opened meanwhile must wait for that result, not compute it again.
_LABELLING = threading.Lock()


def cell_labels(path: str | Path, view: str, layer: int, chars: int = LABEL_CHARS, key: tuple | None = None):
    """Labels of every cell of one view and layer on the model's held-out stream (``key``: the file given to
    the page; so for every function below) read in context, the per-category means (grammar: depth level,
    token kind; text: character class, strings, bracket level), the annotations and the view's range.
    Raises RnnscopeError for a model with no held-out data."""
    with _LABELLING:
        return _labels(str(path), stamp(path), view, layer, chars, key)


# The version of the probes' and causal codes' numbers kept on disk (app/pages/stored.py): bump it when
# analysis/decode/probes.py, ngram.py or the interchange pairing changes what they compute, so results of the
# old method are not read back. 3: text interchange pairs share their last three characters.
PROBES_VERSION = 3


def _result_key(path: str, mtime: float, chars: int, key: tuple | None = None) -> tuple:
    """What a probe result depends on besides the method: the weights, the held-out text (and the text
    before it, which text annotations count from), how much of it, and scikit-learn's version (read from its
    metadata: importing scikit-learn takes seconds, which a result read back from disk need not spend)."""
    from importlib.metadata import version

    from rnnscope.models.store.zarr_store import fingerprint, text_sha
    stream = held(path, key)
    return (fingerprint(_load(path, mtime)), text_sha(stream.before + stream.text), chars, PROBES_VERSION,
            version("scikit-learn"))


@pn.cache(max_items=4)
def _probe_heads(path: str, mtime: float, chars: int, key: tuple | None = None):
    def compute() -> list[dict]:          # imports scikit-learn: only when not read back from disk
        from rnnscope.analysis.decode.probes import probe
        from rnnscope.analysis.decode.probing import probe_targets
        tr, ann = _heldout_trace(path, mtime, chars, key)
        found = []
        for k in range(tr.num_layers):
            for t in probe_targets(held(path, key)):
                result = probe(tr.hidden[k], ann[t].values, ann["char"].values, t, ann[t].categories, curve=False)
                # unrounded: the curve's "99% of the full probe" must compare with what `probe` compares with
                found.append({"layer": k, **result.to_dict(), "exact_accuracy": result.accuracy})
        return found
    return stored("probe-heads", _result_key(path, mtime, chars, key), compute)


def probe_heads(path: str | Path, chars: int = LABEL_CHARS, key: tuple | None = None) -> list[dict]:
    """``probes`` without the accuracy-vs-k curves (``accuracy_by_k`` and ``cells_needed_99`` None): the probes
    and their references, three fits per target where the curve takes eleven on a 128-cell layer. The Probes tab
    shows these first."""
    return _probe_heads(str(path), stamp(path), chars, key)


@pn.cache(max_items=4)
def _probes(path: str, mtime: float, chars: int, key: tuple | None = None):
    def compute() -> list[dict]:          # imports scikit-learn: only when not read back from disk
        from rnnscope.analysis.decode.probes import accuracy_curve
        tr, ann = _heldout_trace(path, mtime, chars, key)
        found = []
        for head in _probe_heads(path, mtime, chars, key):
            head, t = dict(head), head["target"]
            by_k, needed = accuracy_curve(tr.hidden[head["layer"]], ann[t].values, head["cell_order"],
                                          head.pop("exact_accuracy"), t)
            found.append(head | {"accuracy_by_k": [round(a, 4) for a in by_k], "cells_needed_99": needed})
        return found
    return stored("probes", _result_key(path, mtime, chars, key), compute)


def probes(path: str | Path, chars: int = LABEL_CHARS, key: tuple | None = None) -> list[dict]:
    """Linear probes of every layer for the data's targets (grammar: depth and the next token's kind;
    text: analysis.probing.TEXT_PROBE_TARGETS), with their references and accuracy-vs-k curves
    (analysis/decode/probes.py), on the held-out stream read in context; as `rnnscope probe --json` gives them,
    less the n-gram baseline (``ngram_baselines``: the tab shows the probes before it is done)."""
    return _probes(str(path), stamp(path), chars, key)


@pn.cache(max_items=4)
def _ngram_baselines(path: str, mtime: float, chars: int, key: tuple | None = None) -> dict[str, list[dict]]:
    stream = held(path, key)
    if stream.spec is not None:
        return {}

    def compute() -> dict:                # imports scikit-learn: only when not read back from disk
        from rnnscope.analysis.decode.ngram import NGRAM_KS, ngram_jobs
        from rnnscope.analysis.decode.probes import run_all
        from rnnscope.analysis.decode.probing import probe_targets
        _, ann = _heldout_trace(path, mtime, chars, key)
        targets = probe_targets(stream)
        accuracies = iter(run_all([job for t in targets for job in ngram_jobs(ann[t].values, ann["char"].values)]))
        return {t: [{"k": k, "accuracy": round(next(accuracies), 4)} for k in NGRAM_KS] for t in targets}
    return stored("ngram", _result_key(path, mtime, chars, key), compute)


def ngram_baselines(path: str | Path, chars: int = LABEL_CHARS, key: tuple | None = None) -> dict[str, list[dict]]:
    """{target: [{k, accuracy}]} the text probes' n-gram baseline (analysis/decode/ngram.py), as
    `rnnscope probe --json` gives it in ``ngram_accuracy``; empty for a grammar model (none there)."""
    return _ngram_baselines(str(path), stamp(path), chars, key)


@pn.cache(max_items=4)
def _held_out_means(path: str, mtime: float, chars: int, key: tuple | None = None) -> dict:
    from rnnscope.analysis.intervene.ablation import held_out_means
    tr, _ = _heldout_trace(path, mtime, chars, key)
    return held_out_means(tr.hidden, [g["c"] for g in tr.gates] if tr.cell == "lstm" else None)


def held_out_means(path: str | Path, chars: int = LABEL_CHARS, key: tuple | None = None) -> dict:
    """{(layer, "h" | "c"): [H]} each cell's mean over the held-out stream read in context (ablation's "mean")."""
    return _held_out_means(str(path), stamp(path), chars, key)


@pn.cache(max_items=4)
def _ablation_ranking(path: str, mtime: float, chars: int, key: tuple | None = None):
    from rnnscope.analysis.intervene.ablation import rank_by_ablation
    return rank_by_ablation(_load(path, mtime), held(path, key).text[:chars], held_out_means(path, key=key))


def ablation_ranking(path: str | Path, chars: int = 20_000, key: tuple | None = None):
    """The intact held-out loss and every cell's rise in loss when it alone is mean-ablated."""
    return _ablation_ranking(str(path), stamp(path), chars, key)


@pn.cache(max_items=16)
def _trained_probe(path: str, mtime: float, layer: int, target: str, chars: int, key: tuple | None = None):
    from rnnscope.analysis.decode.probes import train_probe
    tr, ann = _heldout_trace(path, mtime, chars, key)
    a = ann[target]
    return train_probe(tr.hidden[layer], a.values, a.name, a.categories)


def trained_probe(path: str | Path, layer: int, target: str, chars: int = LABEL_CHARS, key: tuple | None = None):
    """The probe of ``target`` on one layer's h (analysis.probes.train_probe: the same split and fit as the Probes
    tab's, so its weights rank the cells as that tab's ``cell_order`` does), kept for its weights and predictions."""
    return _trained_probe(str(path), stamp(path), layer, target, chars, key)


def depth_probe(path: str | Path, layer: int, chars: int = LABEL_CHARS, key: tuple | None = None):
    """The depth probe of one layer (``trained_probe`` of depth_level, as the Probes tab's): what the probe
    track under the heatmap applies to each sequence."""
    return trained_probe(path, layer, "depth_level", chars, key)


@pn.cache(max_items=8)
def _causal_codes(path: str, mtime: float, layer: int, chars: int, key: tuple | None = None) -> list[dict]:
    from rnnscope.analysis.decode.probing import CAUSAL_TARGETS, TEXT_CAUSAL_TARGETS, depth_code, interchange_code
    from rnnscope.base.errors import RnnscopeError

    def compute() -> list[dict]:
        tr, ann = _heldout_trace(path, mtime, chars, key)
        stream, model = held(path, key), _load(path, mtime)
        found = []
        if (code := depth_code(model, tr, ann, stream, layer)) is not None:
            found.append({"method": "oracle", "annotation": "depth", **code.to_dict()})
        for name in CAUSAL_TARGETS if stream.spec is not None else TEXT_CAUSAL_TARGETS:
            try:
                found.append({"method": "interchange", **interchange_code(model, tr, ann, name, layer).to_dict()})
            except RnnscopeError as e:      # no two contexts to interchange: said, as probe --json's `absent` says
                found.append({"method": "interchange", "annotation": name, "layer": layer, "absent": str(e)})
        return found
    return stored("causal", (*_result_key(path, mtime, chars, key), layer), compute)


def causal_codes(path: str | Path, layer: int, chars: int = LABEL_CHARS, key: tuple | None = None) -> list[dict]:
    """The causal codes of one layer as `rnnscope probe --json` finds them on the same held-out characters: the
    depth code against the grammar's oracle (``causal_codes``; grammar models with separators) and the
    interchange codes of the default annotations (``interchange_codes``; ``absent`` says why one is missing)."""
    return _causal_codes(str(path), stamp(path), layer, chars, key)


def probe_track(model_path: str, trace, key: tuple | None = None) -> ProbeTrack:
    """Every layer's depth probe (``depth_probe``) applied to ``trace``'s hidden states: the probe track
    under the heatmap (app/drawing/probe_track.py)."""
    return probe_track_of([depth_probe(model_path, k, key=key) for k in range(trace.num_layers)], trace)


@pn.cache(max_items=4)
def _saturation(path: str, mtime: float, chars: int, key: tuple | None = None) -> list[dict]:
    from rnnscope.analysis.describe.saturation import saturation_by_view
    tr, _ = _heldout_trace(path, mtime, chars, key)
    return saturation_by_view(tr)


def saturation(path: str | Path, chars: int = LABEL_CHARS, key: tuple | None = None) -> list[dict]:
    """Every cell's share of left- and right-saturated steps, per layer and bounded view
    (analysis/describe/saturation.py), on the held-out stream read in context."""
    return _saturation(str(path), stamp(path), chars, key)


# One build at a time: two sessions asking for a model's store at once must not both write it.
_STORE_BUILD = threading.Lock()


def corpus_store_path(path: str | Path, key: tuple | None = None) -> Path:
    """Where the state store of the model's held-out stream (or the given one, ``key``) lives
    (models/store/zarr_store.py's default: keyed by the model's weights and the text, so another model's
    or another text's store is never picked up)."""
    from rnnscope.models.store.zarr_store import default_store_path
    return default_store_path(load_model(path), held(path, key).text)


@pn.cache(max_items=4)
def _corpus_store(path: str, mtime: float, store_path: str, key: tuple | None = None):
    from rnnscope.models.store.zarr_store import store_for
    with _STORE_BUILD:
        return store_for(_load(path, mtime), held(path, key).text, store_path)


def corpus_store(path: str | Path, key: tuple | None = None):
    """The Zarr store of every hidden state of the model's whole held-out stream (``key``: the file given
    to the page) read in context: built on first use (once per model and text; this blocks while it is
    written), then opened and shared."""
    return _corpus_store(str(path), stamp(path), str(corpus_store_path(path, key)), key)


# --- the Compare and Timeline tabs: other models reading the shown model's held-out stream ----------------

COMPARE_CHARS = 20_000      # held-out characters two models' cells are matched on (`rnnscope compare --chars`)
TIMELINE_CHARS = 20_000     # held-out characters each checkpoint of a run is labelled on


@pn.cache(max_items=8)
def _reader_of(path: str, mtime: float, stream_path: str, stream_mtime: float, key: tuple | None = None):
    stream = held(stream_path, key)
    return StreamReader(_load(path, mtime), stream.text, stream.annotations)


@pn.cache(max_items=TRACE_CACHE_ITEMS)
def _window_of(path: str, mtime: float, stream_path: str, stream_mtime: float, index: int, length: int,
               key: tuple | None = None):
    return _reader_of(path, mtime, stream_path, stream_mtime, key).trace(index, length)


def trace_stream_in_context(path: str | Path, stream_path: str | Path, index: int, length: int,
                            key: tuple | None = None):
    """The window at ``index`` of the held-out stream of the model at ``stream_path`` (``key``: the file
    given to the page), as the model at ``path`` reads it along that stream from its start: model B of a
    comparison reading A's stream, or a run's periodic checkpoint reading the final model's. The caller
    checks that ``path`` can read it."""
    return _window_of(str(path), stamp(path), str(stream_path), stamp(stream_path), index, length, key)


@pn.cache(max_items=8)
def _comparison(path_a: str, mtime_a: float, path_b: str, mtime_b: float, view: str, layer_a: int, layer_b: int,
                chars: int, key: tuple | None = None):
    from rnnscope.analysis.describe.compare import compare_models
    return compare_models(_load(path_a, mtime_a), _load(path_b, mtime_b), held(path_a, key).text[:chars], view,
                          layer_a, layer_b, names=("model A", "model B"))


def comparison(path_a: str | Path, path_b: str | Path, view: str, layer_a: int, layer_b: int,
               chars: int = COMPARE_CHARS, key: tuple | None = None):
    """The cells of A and B paired (analysis.compare.compare_models) over the first ``chars`` of A's
    held-out stream, read from its start (in context) by both. Raises RnnscopeError, in one line, when B
    cannot read that text or lacks the view or layer."""
    return _comparison(str(path_a), stamp(path_a), str(path_b), stamp(path_b), view, layer_a, layer_b, chars, key)


@pn.cache(max_items=32)
def _step_labels(path: str, mtime: float, stream_path: str, stream_mtime: float, view: str, layer: int,
                 chars: int, key: tuple | None = None):
    from rnnscope.analysis.describe.labels import label_cells
    from rnnscope.analysis.decode.probing import annotations_of
    from rnnscope.models.reading.trace import value_range
    stream = held(stream_path, key)
    n = min(chars, len(stream.text))
    values = _trace(_load(path, mtime), stream.text[:n]).values(view, layer)
    return label_cells(values, annotations_of(stream, n), value_range(view, values))


def step_labels(path: str | Path, stream_path: str | Path, view: str, layer: int, chars: int = TIMELINE_CHARS,
                key: tuple | None = None):
    """Labels (analysis.labels) of every cell of the checkpoint at ``path`` on the first ``chars`` of the held-out
    stream of the model at ``stream_path`` read in context: one checkpoint of a run, on the final model's stream."""
    return _step_labels(str(path), stamp(path), str(stream_path), stamp(stream_path), view, layer, chars, key)
