"""White-box extraction: quantise the hidden states into k clusters and read a machine off the clusters
(Omlin & Giles 1996).

The states are the network's whole state (every layer's h, and an LSTM's c) after each character of
held-out text read in context, from the stream's start. k-means (scikit-learn) groups them. Each state
is then stepped by the model with every character that is in its language there (p >= theta, as the
membership oracle judges), and its successor quantised: that gives every (cluster, character) pair
the clusters its states go to. The machine takes, per pair, the majority: a character legal for most
of the cluster's states goes to the most common successor, any other to the sink. The zero state is
its own start node (legality by the recorded start distribution, as for L*). Minimised, the machine
is compared exactly with the grammar's automaton; the clusters are also set against the grammar
automaton's states along the same text (contingency, purity).

Determinism: the share of legal (cluster, character) pairs whose states all go to one cluster. The
machine is only as good as k lets it be: the sweep reports every k and the smallest whose minimised
machine is equivalent to the reference.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.cluster import KMeans

from rnnscope.analysis.automaton.equivalence import purity, separating_string, state_contingency
from rnnscope.base.runtime import torch_threads
from rnnscope.grammar.dfa import Dfa
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.tracer import trace

DEFAULT_KS = (4, 6, 8, 10, 11, 12, 14, 16, 20, 24, 32)
DEFAULT_CHARS = 20_000      # held-out characters whose states are clustered
N_INIT = 3                  # k-means restarts: the best of three by inertia


def states_in_context(model: CharRNN, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The whole state after each character of ``text`` read from the zero state [T, D], and the model's
    next-character distribution there [T, V]."""
    tr = trace(model, text)
    parts = []
    for k in range(model.config.num_layers):
        parts.append(tr.hidden[k])
        if model.config.cell == "lstm":
            parts.append(tr.gates[k]["c"])
    return np.concatenate(parts, axis=1).astype(np.float32), tr.probs


@torch.no_grad()
def step(model: CharRNN, states: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """[N, D] the whole state after reading ``chars[i]`` (vocabulary indices) from ``states[i]``."""
    cfg = model.config
    per = 2 if cfg.cell == "lstm" else 1
    x = torch.as_tensor(states, device=model.device).reshape(len(states), cfg.num_layers, per, cfg.hidden_size)
    h = x[:, :, 0].permute(1, 0, 2).contiguous()
    state = (h, x[:, :, 1].permute(1, 0, 2).contiguous()) if per == 2 else h
    dtype = model.rnn.weight_ih_l0.dtype
    state = tuple(s.to(dtype) for s in state) if per == 2 else state.to(dtype)
    ids = torch.as_tensor(chars, device=model.device)[:, None]
    out = []
    for at in range(0, len(states), 100_000):            # bounded memory for large samples
        sl = slice(at, at + 100_000)
        _, new = model(ids[sl], tuple(s[:, sl] for s in state) if per == 2 else state[:, sl])
        layers = torch.stack(new, dim=2) if per == 2 else new[:, :, None]       # [L, n, per, H]
        out.append(layers.permute(1, 0, 2, 3).reshape(len(ids[sl]), -1).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros_like(states)


class Quantiser:
    """The states of one text, their legal characters and their successors, ready to be clustered at any k."""

    def __init__(self, model: CharRNN, text: str, theta: float, start: np.ndarray, seed: int = 0):
        self.model, self.text, self.theta, self.seed = model, text, theta, seed
        self.alphabet = tuple(model.config.vocab)
        with torch_threads(1):
            self.states, probs = states_in_context(model, text)
            self.legal = probs >= theta                                       # [T, V]
            self.start_legal = np.asarray(start) >= theta                     # [V]
            self.rows, self.cols = np.nonzero(self.legal)
            self.successors = step(model, self.states[self.rows], self.cols)  # [pairs, D]
            zero = np.zeros((1, self.states.shape[1]), np.float32)
            start_cols = np.flatnonzero(self.start_legal)
            self.start_successors = step(model, np.repeat(zero, len(start_cols), 0), start_cols)
        self.start_cols = start_cols

    def machine(self, k: int) -> dict:
        """Cluster at ``k``; the machine (a Dfa of k clusters + start + sink, not yet minimised), its
        determinism and the cluster of every state."""
        began = time.perf_counter()
        km = KMeans(n_clusters=k, n_init=N_INIT, random_state=self.seed).fit(self.states)
        labels = km.labels_
        succ = km.predict(self.successors)
        start_succ = km.predict(self.start_successors)
        V, start, sink = len(self.alphabet), k, k + 1
        table = np.full((k + 2, V), sink, dtype=np.int64)
        single = legal_pairs = 0
        # legal share per (cluster, char): more than half the cluster's states take the character
        size = np.bincount(labels, minlength=k)
        legal_count = np.zeros((k, V), np.int64)
        np.add.at(legal_count, labels, self.legal.astype(np.int64))
        counts = np.zeros((k, V, k), np.int64)
        np.add.at(counts, (labels[self.rows], self.cols, succ), 1)
        for q in range(k):
            for c in range(V):
                if size[q] and legal_count[q, c] * 2 > size[q]:
                    table[q, c] = int(counts[q, c].argmax())
                    legal_pairs += 1
                    single += int((counts[q, c] > 0).sum() == 1)
        table[start, self.start_cols] = start_succ
        accepting = np.ones(k + 2, bool)
        accepting[sink] = False
        names = tuple(f"cluster {q}" for q in range(k)) + ("start", "sink")
        dfa = Dfa(self.alphabet, table, start, accepting, names)
        return {"k": k, "dfa": dfa, "labels": labels, "legal_pairs": legal_pairs,
                "determinism": single / legal_pairs if legal_pairs else float("nan"),
                "seconds": time.perf_counter() - began}


def sweep(quantiser: Quantiser, ks=DEFAULT_KS, reference: Dfa | None = None) -> dict:
    """Every k: the minimised machine's size, determinism, and (given ``reference``) whether it is
    equivalent to it, the shortest separating string and the clusters' purity against its states."""
    ref_states = None
    if reference is not None:
        ref_states = reference.run(quantiser.text)[1:]
    rows, smallest = [], None
    for k in ks:
        m = quantiser.machine(k)
        small = m["dfa"].minimised()
        row = {"k": k, "states": small.n_states, "determinism": round(m["determinism"], 4),
               "legal_pairs": m["legal_pairs"], "seconds": round(m["seconds"], 3)}
        if reference is not None:
            sep = separating_string(small, reference)
            table = state_contingency(m["labels"], ref_states, k, reference.n_states)
            row |= {"equivalent": sep is None, "separating_string": sep, "purity": round(purity(table), 4)}
            if sep is None and smallest is None:
                smallest = {"k": k, "dfa": small, "contingency": table.tolist(), "purity": row["purity"]}
        rows.append(row)
    return {"rows": rows, "smallest_equivalent": smallest}
