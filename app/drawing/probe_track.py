"""The depth probe's prediction as a track under the heatmap: the probe the Probes tab scores
(trained on the first half of the held-out stream read in context, scored on the second) applied to
the states of the sequence on screen, one per layer. Grammar models only: text has no depth to probe
for. What is drawn lives here; app/pages/cache.py's ``probe_track`` computes it from the page's cached
probes (drawing sits below the page and never reads its caches: docs/architecture.md, "Layers")."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProbeTrack:
    predicted: dict[int, np.ndarray]     # layer -> [T] the depth the probe reads from that layer's states
    accuracy: dict[int, float]           # layer -> the probe's accuracy on its held-out test part
    test_chars: int

    def title(self, layer: int) -> str:
        # One line that fits the track at 1024 px (a Bokeh title is cut at the canvas' edge without a word):
        # 111 characters fitted there; the grey line is the grammar's depth, under the orange where they agree.
        return (f"depth read by a linear probe of layer {layer} (orange; held-out accuracy "
                f"{self.accuracy[layer]:.3f}, n = {self.test_chars:,}); grammar's: grey")


def probe_track_of(probes: list, trace) -> ProbeTrack:
    """``probes[k]`` (analysis/decode/probes.train_probe's, one per layer) applied to ``trace``'s hidden states."""
    predicted = {k: np.array([float(p.classes[c]) for c in range(len(p.classes))], np.float32)[p.predict(h)]
                 for k, (p, h) in enumerate(zip(probes, trace.hidden))}
    return ProbeTrack(predicted, {k: p.accuracy for k, p in enumerate(probes)}, probes[0].test_chars)
