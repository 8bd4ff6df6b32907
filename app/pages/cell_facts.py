"""What the project knows about one cell, section by section, for the cell card (app/tabs/cell_card.py): each a
plain dict with its statistic and its sample size, read from the same caches the tabs read
(app/pages/cache.py), so the card's numbers are the Cells, Probes, Ablation, Saturation tabs' and
`rnnscope probe --json`'s numbers. The slow ones (labels, probes, ablation, causal codes) are called off the
page's thread; ``recurrent_weights`` only reads the weights.

The Automaton and Dynamics tabs' computations (app/pages/network_cache.py) give two more: the cell's mean in each
state of the extracted automaton, and its part in the dynamics (the projection's axes, the fixed points).

Every held-out number is on the held-out stream read in context -- the model's own, or the file given to the
page (``stream``: its key, as the tabs take it): labels, probes, saturation and causal codes on its first
``cache.LABEL_CHARS`` characters, ablation on the first ``ABLATION_CHARS``.
"""
from __future__ import annotations

import numpy as np

from rnnscope.analysis.describe.labels import threshold_groups

from rnnscope.app.pages import cache, network_cache

ABLATION_CHARS = 20_000     # as the Ablation tab's ranking and `rnnscope probe --ablation-chars`'s default
RUNNERS_UP = 3              # findings shown after the label's own
TOP_WEIGHTS = 3             # incoming and outgoing recurrent weights shown per gate
GATES = {"gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o"), "rnn": ("h",)}     # PyTorch's row blocks


def label_facts(path: str, view: str, layer: int, cell: int, stream: tuple | None = None) -> dict:
    """The cell's label and the findings after it (the Cells tab's), and its mean in each category of each
    profile (the Cells tab's profiles) with how many held-out characters fall in the category."""
    labels, profiles, ann, low_high = cache.cell_labels(path, view, layer, key=stream)
    lab = next(lab for lab in labels if lab.cell == cell)
    rank = [lab.cell for lab in labels].index(cell) + 1
    findings = [{"annotation": f.annotation, "value": f.value, "stat": f.stat, "score": round(f.score, 4),
                 "explained": round(f.explained, 4)} for f in lab.findings[:1 + RUNNERS_UP]]
    means = {}
    for name, table in profiles.items():
        a = ann[name]
        names, counts = _categories(a)
        means[name] = [{"category": n, "mean": None if np.isnan(m) else round(float(m), 4), "n": int(k)}
                       for n, m, k in zip(names, table[cell], counts)]
    return {"label": lab.label, "mean": round(lab.mean, 4), "std": round(lab.std, 4), "findings": findings,
            "rank": rank, "cells": len(labels), "chars": cache.LABEL_CHARS, "range": list(low_high),
            "profiles": means}


def _categories(a) -> tuple[list[str], np.ndarray]:
    """Each category's name and count, as analysis.labels.category_means groups them (numeric annotations by
    threshold group, each named by its lowest value)."""
    values = a.values[a.valid]
    if a.numeric:
        codes, cuts = threshold_groups(values)
        names = [f"\u2265 {c:g}" if i else f"< {cuts[1]:g}" if len(cuts) > 1 else f"{c:g}"
                 for i, c in enumerate(cuts)]
        return names, np.bincount(codes, minlength=len(cuts))
    names = [a.wording[k] if a.wording else a.categories[k] for k in range(len(a.categories))]
    return names, np.bincount(values, minlength=len(a.categories))


def probe_facts(path: str, layer: int, cell: int, stream: tuple | None = None) -> list[dict]:
    """For each probe of the layer (the Probes tab's, `rnnscope probe --json`'s ``probes``): the cell's rank in
    the probe's ``cell_order``, whether it is among the cells needed for 99%, and its weight: the largest |weight|
    over classes on standardised states, the number the rank sorts by."""
    out = []
    for p in cache.probes(path, key=stream):
        if p["layer"] != layer:
            continue
        trained = cache.trained_probe(path, layer, p["target"], key=stream)
        weight = None
        if trained.model is not None:           # one class in training: no weights
            coef = trained.model[-1].coef_
            weight = round(float(np.abs(coef).max(axis=0)[cell]), 4)
        rank = p["cell_order"].index(cell) + 1
        out.append({"target": p["target"], "accuracy": p["accuracy"], "rank": rank, "of": len(p["cell_order"]),
                    "weight": weight, "cells_needed_99": p["cells_needed_99"],
                    "in_99": rank <= p["cells_needed_99"], "test_chars": p["test_chars"]})
    return out


def ablation_facts(path: str, layer: int, cell: int, chars: int = ABLATION_CHARS, stream: tuple | None = None) -> dict:
    """The rise in held-out loss (nats/char) when the cell alone is replaced by its held-out mean (the Ablation
    tab's ranking, probe --json's ``ablation_delta_loss``) and by zero, after every step; for a grammar model
    also the grammatical share of samples with it mean-ablated beside intact (the Ablation tab's samples)."""
    from rnnscope.analysis.intervene.ablation import grammatical_shares
    from rnnscope.models.reading.ablation import Ablation, loss_of, run_ablated
    model, held = cache.load_model(path), cache.held(path, stream)
    text = held.text[:chars]
    means = cache.held_out_means(path, key=stream)
    mean, zero = [Ablation(layer, (cell,), "mean")], [Ablation(layer, (cell,), "zero")]
    intact, by_mean, by_zero = loss_of(run_ablated(model, text, [[], mean, zero], means), model.vocab.encode(text))
    shares = grammatical_shares(model, held.spec, [[], mean], means) if held.spec is not None else None
    return {"chars": len(text), "intact": round(float(intact), 5), "mean_loss": round(float(by_mean), 5),
            "zero_loss": round(float(by_zero), 5), "mean_delta": round(float(by_mean - intact), 5),
            "zero_delta": round(float(by_zero - intact), 5), "shares": shares}


def saturation_facts(path: str, layer: int, cell: int, stream: tuple | None = None) -> list[dict]:
    """The cell's point in each bounded view of its layer (the Saturation tab's, probe --json's ``saturation``)."""
    out = []
    for s in cache.saturation(path, key=stream):
        if s["layer"] == layer:
            point = next(c for c in s["cells"] if c["cell"] == cell)
            out.append({"view": s["view"], "range": s["range"], "left": point["left"], "right": point["right"],
                        "chars": cache.LABEL_CHARS})
    return out


def causal_facts(path: str, layer: int, cell: int, stream: tuple | None = None) -> list[dict]:
    """The layer's causal codes (probe --json's ``causal_codes`` and ``interchange_codes``) and where the cell
    stands in each: the order it was added in (None: never), and whether it is in the complete code."""
    out = []
    for code in cache.causal_codes(path, layer, key=stream):
        if "absent" in code:
            out.append(code)
            continue
        order = code["cells"].index(cell) + 1 if cell in code["cells"] else None
        size = code["complete_size"]
        measure = code["kl"] if code["method"] == "oracle" else code["score"]
        out.append({**code, "order": order, "member": order is not None and size is not None and order <= size,
                    "with_it": measure[order] if order is not None else None,
                    "before_it": measure[order - 1] if order is not None else None})
    return out


def recurrent_weights(model, layer: int, cell: int, top: int = TOP_WEIGHTS) -> list[dict]:
    """Per gate (PyTorch's row blocks of weight_hh), the cells that drive this one most (its row: the largest
    |weight| from cell j into it) and the cells it drives most (its column: from it into cell j). Raw weights on
    h: multiplied by the source cell's h (within -1..1 for tanh cells) they are the pre-activation terms that the
    Explain breakdown lists."""
    w = model.layer_arrays(layer)["weight_hh"]
    H = w.shape[1]
    out = []
    for g, gate in enumerate(GATES.get(model.config.cell, ("h",))):
        block = w[g * H:(g + 1) * H]
        incoming, outgoing = block[cell], block[:, cell]
        out.append({"gate": gate, "from": _strongest(incoming, top), "to": _strongest(outgoing, top)})
    return out


def _strongest(weights: np.ndarray, top: int) -> list[dict]:
    """The ``top`` largest |weight|, largest first (ties by cell number), with their cells."""
    return [{"cell": int(j), "weight": round(float(weights[j]), 4)}
            for j in np.lexsort((np.arange(len(weights)), -np.abs(weights)))[:top]]


def automaton_facts(path: str, view: str, layer: int, cell: int, stream: tuple | None = None) -> dict:
    """The cell's mean in each state of the L* automaton (the Automaton tab's) that the held-out stream visits,
    and eta², the share of its variance between those states, beside its shuffle null and the cell's rank by it
    (analysis/automaton/cell_states.py). Raises RnnscopeError for a model with no automaton (text)."""
    from rnnscope.analysis.automaton.report import access_strings
    dfa, cs = network_cache.automaton_cells(path, view, layer, key=stream)
    access = access_strings(dfa)
    rows = [{"state": s, "name": dfa.names[s].split(" (after ")[0] if dfa.names else f"state {s}",
             "access": access[s],
             "mean": round(float(cs.means[cell, s]), 4), "n": int(cs.counts[s])}
            for s in np.flatnonzero(cs.counts)]
    return {"view": view, "eta2": round(float(cs.eta2[cell]), 4), "null_99": round(float(cs.null_99[cell]), 4),
            "rank": int(list(cs.ranking()).index(cell)) + 1, "cells": len(cs.eta2), "chars": cs.chars,
            "states": dfa.n_states, "rows": rows}


def dynamics_facts(path: str, layer: int, cell: int, stream: tuple | None = None) -> dict:
    """The cell's part in the dynamics (analysis/dynamics/cell_roles.py): its loadings on the Dynamics tab's
    projection axes and its share of their plane (h, and c for an LSTM) with its rank among the layer's state
    entries; at each fixed point, its h there and its share of the slowest mode (slow points: the Dynamics tab's).
    A grammar model's fixed points are searched here if need be (seconds); a text model's only once the Dynamics
    tab has searched them (minutes): until then ``points`` is None."""
    from rnnscope.analysis.dynamics.cell_roles import plane_shares, ranked
    projection, _, _ = network_cache.projection(path, layer, key=stream)
    config = cache.load_model(path).config
    H, parts = config.hidden_size, ("h", "c") if config.cell == "lstm" else ("h",)
    shares = plane_shares(projection)
    order = ranked(shares)
    entries = [{"part": part, "loadings": [round(float(v), 4) for v in projection.components[:, k * H + cell]],
                "share": round(float(shares[k * H + cell]), 4), "rank": int(list(order).index(k * H + cell)) + 1}
               for k, part in enumerate(parts)]
    start = layer * len(parts) * H          # the layer's h in the whole network's flat state
    points = [{"char": m["point"]["char"], "stability": m["point"]["stability"],
               "largest_abs_eigenvalue": m["point"]["largest_abs_eigenvalue"],
               "tau": m["point"]["slowest_time_constant"], "h": m["point"]["state"][start + cell],
               "slow_share": round(float(m["shares"][start + cell]), 4)}
              for m in network_cache.slowest_modes(path, key=stream)] \
        if cache.held(path, stream).spec is not None or network_cache.searched(path, key=stream) else None
    D = len(projection.mean)
    full = config.num_layers * len(parts) * H
    return {"fitted_on": projection.fitted_on, "explained": [round(float(e), 4) for e in projection.explained],
            "entries": entries, "of": D, "equal_share": round(1 / D, 4), "points": points,
            "equal_slow_share": round(1 / full, 4), "state_size": full}
