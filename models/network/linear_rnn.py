"""A plain RNN whose activation is the identity: h' = W_ih x + b_ih + W_hh h + b_hh.

Seed 000 sums three digits with Keras' ``SimpleRNN(1, activation='linear')``; torch's nn.RNN
offers only tanh and relu. This module stands in for nn.RNN where the config says
``nonlinearity="linear"``: the same constructor, the same parameter names (``weight_ih_l{k}``
...), the same state layout [layers, batch, H] and the same batch-first forward, so checkpoints,
CharRNN.layer(k), the tracer and the NumPy reference treat it exactly as an nn.RNN.

The time loop is Python: fine for the short sequences a linear RNN is used for (a sum of three
digits), slow (~10 us a step) for long text.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class LinearRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = True,
                 bias: bool = True, nonlinearity: str = "linear"):
        super().__init__()
        if not batch_first or nonlinearity != "linear":
            raise ValueError("LinearRNN is batch-first and linear only")
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.batch_first, self.nonlinearity = True, "linear"
        for k in range(num_layers):
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, input_size if k == 0
                                                                                else hidden_size)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size)))
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(hidden_size)))
                self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(hidden_size)))
        bound = 1.0 / math.sqrt(hidden_size)        # nn.RNN's own initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` [B, T, D], ``h0`` [layers, B, H] (None: zeros) -> (top layer's h [B, T, H], last h [layers, B, H])."""
        B, T, _ = x.shape
        h0 = x.new_zeros(self.num_layers, B, self.hidden_size) if h0 is None else h0
        finals = []
        for k in range(self.num_layers):
            W_ih, W_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            driven = x @ W_ih.T                     # every step's input part in one matmul
            if self.bias:
                driven = driven + getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}")
            h, steps = h0[k], []
            for t in range(T):
                h = driven[:, t] + h @ W_hh.T
                steps.append(h)
            x = torch.stack(steps, dim=1)
            finals.append(h)
        return x, torch.stack(finals)
