"""One probing pass over a model: every method of this package run on the same held-out states,
gathered into plain numbers -- what `rnnscope probe --json` writes and its report draws.

The states are read in context: the first ``chars`` characters of the model's held-out stream,
from the stream's start (DESIGN.md section 9). Ablation re-runs the model step by step, so it
uses the first ``ablation_chars`` of the same stretch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from models.errors import RnnscopeError
from models.heldout import HeldOut
from models.trace import Trace, value_range

from .ablation import held_out_means, rank_by_ablation, top_ablation_samples
from .annotations import Annotations, grammar_annotations
from .causal import CausalCode, grammar_depth_oracle, layer_readout, search
from .divergence import oracle_divergence
from .labels import label_cells, signed
from .probes import probe
from .saturation import saturation

PROBE_TARGETS = ("depth_level", "next_kind")
SCHEMA_VERSION = 1


@dataclass
class ProbingRun:
    """Everything one pass found, as JSON-ready numbers (``numbers``) plus what the report draws."""
    numbers: dict
    trace: Trace
    annotations: Annotations
    seconds: dict = field(default_factory=dict)


def annotations_of(held: HeldOut, chars: int) -> Annotations:
    if held.spec is None:
        raise RnnscopeError("this model was trained on a text file: text annotations (character class, "
                            "brackets, strings ...) are not there yet, so there is nothing to label or probe "
                            "against; use a grammar model")
    return grammar_annotations(held.text[:chars], held.spec, held.annotations["depth"][:chars])


def depth_code(model, tr: Trace, ann: Annotations, held: HeldOut, layer: int | None = None) -> CausalCode | None:
    """The causal code of depth in ``layer`` (default the top one), intervened right after
    separators (where the next token depends on depth alone); None for a grammar without separators."""
    spec, kind = held.spec, ann["kind"]
    if not spec.separator or "separator" not in kind.categories:
        return None
    layer = tr.num_layers - 1 if layer is None else layer
    after_separator = kind.values == kind.categories.index("separator")
    cell_states = [g["c"] for g in tr.gates] if tr.cell == "lstm" else None
    readout = layer_readout(model, tr.hidden, cell_states, layer)
    return search(tr.hidden[layer], ann["depth"].values.astype(int), after_separator,
                  grammar_depth_oracle(spec, list(model.config.vocab)), readout, list(range(spec.max_depth + 1)),
                  layer=layer)


def probing_run(model, held: HeldOut, chars: int = 100_000, ablation_chars: int = 20_000,
                targets: tuple[str, ...] = PROBE_TARGETS) -> ProbingRun:
    from models.tracer import trace           # torch: only the trace and the ablation re-run the model

    if chars < 1_000:
        raise RnnscopeError(f"probing needs at least 1,000 held-out characters, got {chars:,}")
    ann = annotations_of(held, chars)        # a text model is refused first: more text would not help
    if chars > len(held.text):
        raise RnnscopeError(f"the held-out stream has {len(held.text):,} characters; asked for {chars:,}")
    seconds, start = {}, time.perf_counter()
    text = held.text[:chars]
    missing = [t for t in targets if t not in ann.names()]
    if missing:
        raise RnnscopeError(f"no annotation {missing} for this data; it has {ann.names()}")
    tr = trace(model, text)
    seconds["trace"] = time.perf_counter() - start

    start = time.perf_counter()
    cells = []
    for layer in range(tr.num_layers):
        for view in tr.views:
            values = tr.values(view, layer)
            for lab in label_cells(values, ann, value_range(view, values)):
                cells.append({"layer": layer, "view": view, **lab.to_dict()})
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
    ablation_samples = top_ablation_samples(model, held.spec, effects, means)
    seconds["ablation_samples"] = time.perf_counter() - start

    start = time.perf_counter()
    char_codes = ann["char"].values
    probes = [{"layer": layer, **probe(tr.hidden[layer], ann[t].values, char_codes, t, ann[t].categories).to_dict()}
              for layer in range(tr.num_layers) for t in targets]
    seconds["probes"] = time.perf_counter() - start

    start = time.perf_counter()
    causal = [depth_code(model, tr, ann, held, layer) for layer in range(tr.num_layers)]
    seconds["causal_code"] = time.perf_counter() - start

    div = oracle_divergence(tr.probs, tr.vocab, held.oracle[:chars], held.spec.alphabet)
    sat = [{"layer": layer, "view": view, "cells": saturation(tr.values(view, layer),
                                                               value_range(view, tr.values(view, layer))).to_dict()}
           for layer in range(tr.num_layers) for view in tr.views if view != "c"]
    numbers = {
        "schema": SCHEMA_VERSION,
        "model": {"cell": model.config.cell, "layers": model.config.num_layers, "hidden": model.config.hidden_size},
        "data": {"held_out_chars": chars, "read": "in context, from the held-out stream's start",
                 "ablation_chars": min(ablation_chars, chars), "intact_loss": round(intact, 5)},
        "statistics": {"r": "Pearson correlation with a numeric annotation",
                       "MI": "mutual information in bits between the annotation (or a rule's two-way split) and "
                             "the cell's value in 10 equal-width bins over the view's range",
                       "explained": "r squared, or MI / entropy of the binned cell"},
        "cells": cells,
        "probes": probes,
        "ablation_samples": ablation_samples,
        "oracle_divergence": div.summary(),
        "saturation": sat,
        "causal_code": causal[-1].to_dict() if causal[-1] else None,
        "causal_codes": [c.to_dict() for c in causal if c],
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
        lines.append(f"  layer {c['layer']} {c['view']:>2} cell {c['cell']:>3}: {c['label']}{drop}")
    lines += ["", "probes (accuracy on held-out states; references beside):"]
    for p in numbers["probes"]:
        lines.append(f"  layer {p['layer']} {p['target']}: {p['accuracy']:.3f} (majority {p['majority_accuracy']:.3f}, "
                     f"input only {p['input_baseline_accuracy']:.3f}, control {p['control_accuracy']:.3f}, "
                     f"selectivity {p['selectivity']:+.3f}); cells needed for 99%: {p['cells_needed_99']}")
    a = numbers["ablation_samples"]
    lines += ["", f"grammatical samples ({a['intact']['samples']} of {a['chars']} chars after {a['prime']!r}): "
                  f"{a['intact']['grammatical']} intact, {a['ablated']['grammatical']} with layer {a['layer']} "
                  f"cell(s) {a['cells']} {a['mode']}-ablated"]
    d = numbers["oracle_divergence"]
    lines += ["", f"oracle divergence: mean KL {d['mean_kl_nats']:.2e} nats/step, mean illegal mass "
                  f"{d['mean_illegal_mass']:.2e}"]
    return "\n".join(lines)
