"""Which cells does the model need? Each cell ablated alone: the rise in
held-out loss when it is replaced after every step (models/reading/ablation.py holds the semantics).
All cells of a layer run as one batch of variants beside the intact model.

Loss is not the whole story (docs/methods.md, Ablation: low loss is not having learned the language),
so an ablation is also judged by what the model then writes: the share of samples the grammar's
validator accepts, intact beside ablated, drawn with the same random numbers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope import grammar
from rnnscope.models.reading.ablation import Ablation, ablated_losses, sample_ablated


@dataclass(frozen=True)
class CellEffect:
    layer: int
    cell: int
    loss: float             # nats/char with the cell ablated
    delta: float            # loss - intact loss

    def to_dict(self) -> dict:
        return {"layer": self.layer, "cell": self.cell, "loss": round(self.loss, 5), "delta_loss": round(self.delta, 5)}


def held_out_means(hidden: list[np.ndarray], cell_states: list[np.ndarray] | None = None) -> dict:
    """{(layer, "h"): [H] mean, (layer, "c"): ...} over states read in context: what mode "mean" puts in."""
    means = {(k, "h"): h.mean(axis=0) for k, h in enumerate(hidden)}
    means |= {(k, "c"): c.mean(axis=0) for k, c in enumerate(cell_states or [])}
    return means


def rank_by_ablation(model, text: str, means: dict, mode: str = "mean", state: str = "h",
                     value: float = 0.0) -> tuple[float, list[CellEffect]]:
    """The intact loss on ``text`` and every cell's effect, largest rise first."""
    H, layers = model.config.hidden_size, model.config.num_layers
    variants = [[]] + [[Ablation(k, (c,), mode, value, state)] for k in range(layers) for c in range(H)]
    losses = ablated_losses(model, text, variants, means)
    effects = [CellEffect(k, c, float(losses[1 + k * H + c]), float(losses[1 + k * H + c] - losses[0]))
               for k in range(layers) for c in range(H)]
    return float(losses[0]), sorted(effects, key=lambda e: (-e.delta, e.layer, e.cell))

# The grammatical share's defaults: 100 samples of 300 characters after "(" (~0.2 s for two
# variants of the shipped GRU), the page's and the report's alike.
SHARE_SAMPLES, SHARE_CHARS, SHARE_PRIME = 100, 300, "("


@dataclass(frozen=True)
class SampleShare:
    """Samples of one variant and how many of them the grammar accepts (grammar/validate.py)."""
    prime: str
    texts: list[str]                # each the prime and its continuation, as validated
    grammatical: list[bool]
    reasons: list[str]              # why each rejected sample was rejected, in order

    @property
    def share(self) -> float:
        return sum(self.grammatical) / len(self.grammatical)

    def to_dict(self, examples: int = 3) -> dict:
        return {"samples": len(self.texts), "grammatical": sum(self.grammatical), "share": round(self.share, 4),
                "examples": self.texts[:examples], "first_reasons": self.reasons[:examples]}


def grammatical_shares(model, spec, variants: list[list[Ablation]], means: dict | None = None,
                       n: int = SHARE_SAMPLES, chars: int = SHARE_CHARS, temperature: float = 1.0, seed: int = 0,
                       prime: str = SHARE_PRIME) -> list[SampleShare]:
    """For each variant ([] is the intact model), ``n`` samples of ``chars`` characters after
    ``prime``, sampled with the variant's cells replaced after every step, each validated as a
    stream from depth 0 (prime included)."""
    shares = []
    for texts in sample_ablated(model, variants, n, chars, temperature, seed, prime, means):
        verdicts = [grammar.validate(prime + t, spec) for t in texts]
        shares.append(SampleShare(prime, [prime + t for t in texts], [v.ok for v in verdicts],
                                  [v.reason for v in verdicts if not v.ok]))
    return shares


def top_ablation_samples(model, spec, effects: list[CellEffect], means: dict, mode: str = "mean") -> dict:
    """The grammatical share with the top-ranked cell ablated, beside intact: `rnnscope probe`'s
    ``ablation_samples`` (docs/probe-json.md)."""
    top = effects[0]
    intact, ablated = grammatical_shares(model, spec, [[], [Ablation(top.layer, (top.cell,), mode)]], means)
    return {"layer": top.layer, "cells": [top.cell], "mode": mode, "chars": SHARE_CHARS, "prime": SHARE_PRIME,
            "temperature": 1.0, "seed": 0, "intact": intact.to_dict(), "ablated": ablated.to_dict()}
