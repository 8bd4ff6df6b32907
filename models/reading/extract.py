"""Hidden states for a whole corpus at once: many rows in a batch, every layer, no gates.

This is what correlations and probes over thousands of characters need; the Trace (one
sequence, every gate) is for looking. Rows are read from the zero state in chunks with a
carried state, so memory stays bounded by the output.
"""
from __future__ import annotations

import numpy as np
import torch

from rnnscope.models.network.model import CharRNN

CHUNK = 10_000


@torch.no_grad()
def extract_hidden(model: CharRNN, ids: np.ndarray) -> list[np.ndarray]:
    """``ids`` [R, N] -> one array [R, N, H] per layer (float32)."""
    model.eval()
    ids = torch.as_tensor(np.asarray(ids), device=model.device)
    layers = [np.empty((ids.shape[0], ids.shape[1], model.config.hidden_size), np.float32)
              for _ in range(model.config.num_layers)]
    modules = [model.layer(k) for k in range(model.config.num_layers)]
    states = [None] * len(modules)
    for start in range(0, ids.shape[1], CHUNK):
        x = model.inputs(ids[:, start:start + CHUNK])
        for k, module in enumerate(modules):
            x, states[k] = module(x, states[k])
            layers[k][:, start:start + x.shape[1]] = x.float().cpu().numpy()
    return layers
