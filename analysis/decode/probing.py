"""One probing pass over a model: every method of this package run on the same held-out states,
gathered into plain numbers -- what `rnnscope probe --json` writes and its report draws.

The states are read in context: the first ``chars`` characters of the model's held-out stream,
from the stream's start (docs/methods.md, "Read in context"). Ablation re-runs the model step by step, so it
uses the first ``ablation_chars`` of the same stretch.

A grammar model is probed against the grammar's annotations and its exact oracle; a text model
against the text annotations (analysis/describe/text_annotations.py: character class, strings, comments,
brackets, lines, indentation), counted from its training file's start. A text has no oracle, so
the oracle's parts (divergence, the causal code of depth) are absent for it, and ``absent`` says why.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import HeldOut
from rnnscope.models.reading.trace import Trace, value_range

from rnnscope.analysis.intervene.ablation import held_out_means, rank_by_ablation, top_ablation_samples
from rnnscope.analysis.describe.annotations import Annotations, grammar_annotations
from rnnscope.analysis.describe.best_cells import best_cells
from rnnscope.analysis.intervene.causal import CausalCode, grammar_depth_oracle, layer_readout, search
from rnnscope.analysis.intervene import interchange
from rnnscope.analysis.describe.text_annotations import text_annotations
from rnnscope.analysis.describe.divergence import oracle_divergence
from rnnscope.analysis.describe.labels import annotation_codes, label_cells, signed
from rnnscope.analysis.decode.ngram import NGRAM_KS, ngram_summary
from rnnscope.analysis.decode.probes import probe
from rnnscope.analysis.describe.saturation import saturation_by_view

PROBE_TARGETS = ("depth_level", "next_kind")
# Text: what the state must carry from the past (a string or brackets left open) and what it
# predicts (the next character's class); the current character's class is left out because the
# input alone gives it away (its input-only baseline is 1.0).
TEXT_PROBE_TARGETS = ("in_string", "bracket_level", "next_char_class")
# Causal codes by interchange (analysis/intervene/interchange.py): the grammar's depth, and for text what
# the state must carry past the current character -- a string, brackets and indentation left open.
CAUSAL_TARGETS = ("depth",)
TEXT_CAUSAL_TARGETS = ("in_string", "bracket_depth", "indentation")
# Text pairs share the last TEXT_CONTEXT + 1 characters and the other TEXT_CAUSAL_TARGETS (interchange.py says why)
TEXT_CONTEXT = 2
NO_ORACLE = "a text has no exact oracle (only the grammar's next-character distribution is known)"
SCHEMA_VERSION = 1


@dataclass
class ProbingRun:
    """Everything one pass found, as JSON-ready numbers (``numbers``) plus what the report draws."""
    numbers: dict
    trace: Trace
    annotations: Annotations
    seconds: dict = field(default_factory=dict)


def annotations_of(held: HeldOut, chars: int) -> Annotations:
    """The annotations of the first ``chars`` held-out characters: the grammar's, or for a text
    model the text ones, counted from the start of the file the stream ends."""
    if held.spec is None:
        start = len(held.before)
        return text_annotations(held.before + held.text, start, start + chars)
    return grammar_annotations(held.text[:chars], held.spec, held.annotations["depth"][:chars])


def probe_targets(held: HeldOut) -> tuple[str, ...]:
    """The default probe targets for this model's data."""
    return PROBE_TARGETS if held.spec is not None else TEXT_PROBE_TARGETS


def depth_code(model, tr: Trace, ann: Annotations, held: HeldOut, layer: int | None = None) -> CausalCode | None:
    """The causal code of depth in ``layer`` (default the top one), intervened right after
    separators (where the next token depends on depth alone); None for a grammar without
    separators and for text."""
    spec = held.spec
    if spec is None or "kind" not in ann.names():
        return None
    kind = ann["kind"]
    if not spec.separator or "separator" not in kind.categories:
        return None
    layer = tr.num_layers - 1 if layer is None else layer
    after_separator = kind.values == kind.categories.index("separator")
    cell_states = [g["c"] for g in tr.gates] if tr.cell == "lstm" else None
    readout = layer_readout(model, tr.hidden, cell_states, layer)
    return search(tr.hidden[layer], ann["depth"].values.astype(int), after_separator,
                  grammar_depth_oracle(spec, list(model.config.vocab)), readout, list(range(spec.max_depth + 1)),
                  layer=layer)


def interchange_code(model, tr: Trace, ann: Annotations, name: str, layer: int | None = None,
                     max_pairs: int = 500, max_cells: int = 32, seed: int = 0) -> interchange.InterchangeCode:
    """The causal code of annotation ``name`` in ``layer`` (default the top one) by interchange between
    contexts that read the same character -- for text, the same last TEXT_CONTEXT + 1 characters with the other
    TEXT_CAUSAL_TARGETS equal too (analysis/intervene/interchange.py)."""
    if name not in ann.names():
        raise RnnscopeError(f"no annotation {name!r} for this data; it has {ann.names()}")
    layer = tr.num_layers - 1 if layer is None else layer
    cell_states = [g["c"] for g in tr.gates] if tr.cell == "lstm" else None
    readout = layer_readout(model, tr.hidden, cell_states, layer)
    strata, matched_on = pairing(ann, name)
    return interchange.search(tr.hidden[layer], interchange.annotation_codes(ann[name]), strata, readout,
                              name, layer, max_pairs, max_cells, seed, matched_on)


def pairing(ann: Annotations, name: str) -> tuple[np.ndarray, str]:
    """Which positions may pair when ``name`` is interchanged, and in words: the grammar's (one state variable,
    depth) share the current character; text contexts also the TEXT_CONTEXT characters before it, and when
    ``name`` is one of the TEXT_CAUSAL_TARGETS the values of the other two (another annotation may be part of
    one of them, as paren_depth is of bracket_depth: it could not differ with them held)."""
    chars = ann["char"].values
    if not set(TEXT_CAUSAL_TARGETS) <= set(ann.names()):
        return np.asarray(chars, np.int64), "char"
    held = [t for t in TEXT_CAUSAL_TARGETS if t != name] if name in TEXT_CAUSAL_TARGETS else []
    strata = interchange.strata(chars, TEXT_CONTEXT, tuple(interchange.annotation_codes(ann[t]) for t in held))
    return strata, ", ".join([f"char and the {TEXT_CONTEXT} before it", *held])


def probing_run(model, held: HeldOut, chars: int = 100_000, ablation_chars: int = 20_000,
                targets: tuple[str, ...] | None = None, causal: tuple[str, ...] | None = None) -> ProbingRun:
    from rnnscope.models.reading.tracer import trace           # torch: only the trace and the ablation re-run the model

    if chars < 1_000:
        raise RnnscopeError(f"probing needs at least 1,000 held-out characters, got {chars:,}")
    if chars > len(held.text):
        raise RnnscopeError(f"asked for {chars:,} held-out characters; the held-out stream ({held.origin}) has "
                            f"{len(held.text):,}: ask for fewer (--chars), or give a longer text")
    targets = probe_targets(held) if targets is None else targets
    asked = causal is not None
    causal_targets = tuple(causal) if asked else CAUSAL_TARGETS if held.spec is not None else TEXT_CAUSAL_TARGETS
    seconds, start = {}, time.perf_counter()
    ann = annotations_of(held, chars)
    seconds["annotations"] = time.perf_counter() - start
    start = time.perf_counter()
    text = held.text[:chars]
    missing = [t for t in (*targets, *causal_targets) if t not in ann.names()]
    if missing:
        raise RnnscopeError(f"no annotation {missing} for this data; it has {ann.names()}")
    tr = trace(model, text)
    seconds["trace"] = time.perf_counter() - start

    start = time.perf_counter()
    cells, labelled = [], {}
    codes = annotation_codes(ann)           # shared by every view
    for layer in range(tr.num_layers):
        for view in tr.views:
            values = tr.values(view, layer)
            low_high = value_range(view, values)
            labels = label_cells(values, ann, low_high, codes)
            labelled[(layer, view)] = values, low_high, labels
            cells += [{"layer": layer, "view": view, **lab.to_dict()} for lab in labels]
    best = [b.to_dict() for b in best_cells(labelled, ann)]
    seconds["labels"] = time.perf_counter() - start

    start = time.perf_counter()
    cell_states = [g["c"] for g in tr.gates] if tr.cell == "lstm" else None
    means = held_out_means(tr.hidden, cell_states)
    intact, effects = rank_by_ablation(model, text[:ablation_chars], means)
    delta = {(e.layer, e.cell): e.delta for e in effects}
    for row in cells:
        row["ablation_delta_loss"] = round(delta[(row["layer"], row["cell"])], 5) if row["view"] == "h" else None
    seconds["ablation"] = time.perf_counter() - start
    start = time.perf_counter()
    ablation_samples = top_ablation_samples(model, held.spec, effects, means) if held.spec is not None else None
    seconds["ablation_samples"] = time.perf_counter() - start

    start = time.perf_counter()
    char_codes = ann["char"].values
    ngram_ks = NGRAM_KS if held.spec is None else None     # text: the type control is nearly free
    probes = [{"layer": layer, **probe(tr.hidden[layer], ann[t].values, char_codes, t, ann[t].categories,
                                       ngram_ks=ngram_ks).to_dict()}
              for layer in range(tr.num_layers) for t in targets]
    seconds["probes"] = time.perf_counter() - start

    start = time.perf_counter()
    causal = [depth_code(model, tr, ann, held, layer) for layer in range(tr.num_layers)]
    seconds["causal_code"] = time.perf_counter() - start
    start = time.perf_counter()
    swapped, not_found = [], []
    for name in causal_targets:
        for layer in range(tr.num_layers):
            try:
                swapped.append(interchange_code(model, tr, ann, name, layer).to_dict())
            except RnnscopeError as e:      # asked for by name: the caller hears why; by default: absent says
                if asked:
                    raise
                not_found.append(f"layer {layer} {name}: {e}")
    seconds["interchange_codes"] = time.perf_counter() - start

    absent = {}
    if held.spec is None:
        div = None
        absent = {"oracle_divergence": NO_ORACLE, "causal_code": NO_ORACLE + ": no distribution to match "
                  "an intervention against, and no depth variable",
                  "ablation_samples": NO_ORACLE + ": no grammar decides which samples are well formed"}
    else:
        div = oracle_divergence(tr.probs, tr.vocab, held.oracle[:chars], held.spec.alphabet).summary()
        if causal[-1] is None:
            absent["causal_code"] = "the grammar has no separator: no step where the next token depends on depth alone"
    if not_found:
        absent["interchange_codes"] = "; ".join(not_found)
    sat = saturation_by_view(tr)
    numbers = {
        "schema": SCHEMA_VERSION,
        "model": {"cell": model.config.cell, "layers": model.config.num_layers, "hidden": model.config.hidden_size},
        "data": {"kind": "grammar" if held.spec is not None else "text", "held_out_chars": chars,
                 "read": "in context, from the held-out stream's start",
                 "source": held.origin or None,
                 "annotations": ("counted from the grammar stream's start" if held.spec is not None else
                                 f"counted from the start of the stream's file ({len(held.before):,} "
                                 "characters before the held-out stream read for them)"),
                 "ablation_chars": min(ablation_chars, chars), "intact_loss": round(intact, 5)},
        "statistics": {"r": "Pearson correlation with a numeric annotation",
                       "MI": "mutual information in bits (Miller-Madow corrected) between the annotation (or a "
                             "rule's two-way split) and the cell's value in 10 equal-width bins over the view's range",
                       "CMI": "conditional mutual information in bits (Miller-Madow) between the annotation and the "
                              "binned cell given the current character: what the cell carries beyond its input",
                       "null_99": "99th percentile of the tested MI (tested_mi) with the annotation shuffled against "
                                  "the cell (within each character for CMI); a label only above it",
                       "explained": "r squared, or MI / entropy of the binned cell"},
        "cells": cells,
        "best_cells": best,
        "probes": probes,
        "ablation_samples": ablation_samples,
        "oracle_divergence": div,
        "saturation": sat,
        "causal_code": causal[-1].to_dict() if causal[-1] else None,
        "causal_codes": [c.to_dict() for c in causal if c],
        "interchange_codes": swapped,
        "absent": absent,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    return ProbingRun(numbers, tr, ann, seconds)



def text_summary(numbers: dict) -> str:
    """The labels and probes as plain lines, for a terminal."""
    lines = [f"{numbers['data']['held_out_chars']:,} held-out characters, read {numbers['data']['read']}", "",
             "cells (best explained first within each layer and view; statistic in brackets):"]
    for c in numbers["cells"]:
        delta = c["ablation_delta_loss"]
        drop = f"  ablated: loss {signed(delta, 4)} nats/char" if delta is not None else ""
        null = f" [{c['stat']} {c['score']:.3g}; null 99% {c['null_99']:.3g}]" if c.get("null_99") is not None else ""
        lines.append(f"  layer {c['layer']} {c['view']:>2} cell {c['cell']:>3}: {c['label']}{null}{drop}")
    lines += ["", "the best cell of h for each annotation (statistic in brackets):"]
    lines += [f"  {b['annotation']:>17}: layer {b['layer']} {b['view']} cell {b['cell']:>3}: {b['says']}, explains "
              f"{b['explained']:.0%}" for b in numbers["best_cells"]]
    lines += ["", "probes (accuracy on held-out states; references beside):"]
    for p in numbers["probes"]:
        lines.append(f"  layer {p['layer']} {p['target']}: {p['accuracy']:.3f} (majority {p['majority_accuracy']:.3f}, "
                     f"input only {p['input_baseline_accuracy']:.3f}, control {p['control_accuracy']:.3f}, "
                     f"selectivity {p['selectivity']:+.3f}); cells needed for 99%: {p['cells_needed_99']}")
        if p.get("ngram_accuracy"):
            windows = ", ".join(f"k={g['k']} {g['accuracy']:.3f}" for g in p["ngram_accuracy"])
            lines.append(f"    n-gram baseline (the last k characters: {windows}): "
                         f"{ngram_summary(p['accuracy'], p['ngram_accuracy'])}")
    a = numbers["ablation_samples"]
    if a is not None:
        lines += ["", f"grammatical samples ({a['intact']['samples']} of {a['chars']} chars after {a['prime']!r}): "
                      f"{a['intact']['grammatical']} intact, {a['ablated']['grammatical']} with layer {a['layer']} "
                      f"cell(s) {a['cells']} {a['mode']}-ablated"]
    d = numbers["oracle_divergence"]
    if d is not None:
        lines += ["", f"oracle divergence: mean KL {d['mean_kl_nats']:.2e} nats/step, mean illegal mass "
                      f"{d['mean_illegal_mass']:.2e}"]
    codes = numbers.get("interchange_codes", [])
    if codes:
        lines += ["", "causal codes by interchange (share of the KL gap closed, beside random sets of as many cells: "
                      "mean / 99th percentile):"]
    lines += interchange_lines(codes)
    lines += [f"no {name.replace('_', ' ')}: {why}" for name, why in numbers["absent"].items()]
    return "\n".join(lines)


def interchange_lines(codes: list[dict]) -> list[str]:
    """One line per causal code by interchange (docs/probe-json.md, ``interchange_codes``)."""
    lines = []
    for c in codes:
        k = c["complete_size"] if c["complete_size"] is not None else len(c["cells"])
        found = (f"complete with {k} cells {c['cells'][:k]}" if c["complete_size"] is not None else
                 f"not complete within {k} cells {c['cells'][:8]}{' ...' if k > 8 else ''}")
        lines.append(f"  layer {c['layer']} {c['annotation']}: {found}: {c['score'][k]:.3f} closed (random sets "
                     f"{c['null_mean'][k]:.3f} / {c['null_p99'][k]:.3f}; {c['pairs']:,} pairs matched on the "
                     f"character, gap {c['gap_nats']:.3f} nats)")
    return lines
