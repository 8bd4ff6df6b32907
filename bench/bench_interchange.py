"""Causal codes by interchange (analysis/intervene/interchange.py): the search for the grammar GRU's depth
beside the oracle search it must agree with, and for the 128-cell text model's in_string, bracket_depth and
indentation beside one plain NumPy greedy step (every candidate's logits and softmax built whole), all on
100,000 held-out characters read in context. Writes the "Causal codes by interchange" section of
bench/RESULTS.md.

    python bench/bench_interchange.py
"""
from __future__ import annotations

import datetime
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope.analysis.decode.probing import annotations_of, depth_code, interchange_code  # noqa: E402
from rnnscope.analysis.intervene.causal import layer_readout  # noqa: E402
from rnnscope.analysis.intervene.interchange import annotation_codes, interchange_pairs  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "models" / "checkpoints"


def plain_greedy_step(states, codes, chars, readout, pairs=500) -> None:
    """One greedy step the plain way: for every cell, the patched logits and their softmax built whole."""
    base, source = interchange_pairs(codes, chars, pairs)
    xb, xs = states[base].astype(float), states[source].astype(float)

    def log_softmax(z):
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))
    ls = log_softmax(readout.logits(xs, source))
    for c in range(states.shape[1]):
        x = xb.copy()
        x[:, c] = xs[:, c]
        (np.exp(ls) * (ls - log_softmax(readout.logits(x, base)))).sum(-1).mean()


def main() -> None:
    torch.set_num_threads(1)
    n, rows = 100_000, []
    gru = checkpoint.load(ROOT / "gru15-parens")
    held = heldout_of(ROOT / "gru15-parens")
    tr, ann = trace(gru, held.text[:n]), annotations_of(held, n)
    interchange_code(gru, tr, ann, "depth")                     # compile first
    t_oracle = machine.best(lambda: depth_code(gru, tr, ann, held), 3)
    t_swap = machine.best(lambda: interchange_code(gru, tr, ann, "depth"), 3)
    code = interchange_code(gru, tr, ann, "depth")
    rows.append(f"| gru15-parens, depth | {t_swap:.2f} s (complete: {code.complete_size} cells, {code.cells[:8]}) | "
                f"oracle search {t_oracle:.2f} s |")
    lstm = checkpoint.load(ROOT / "lstm128-pystdlib")
    held = heldout_of(ROOT / "lstm128-pystdlib")
    tr, ann = trace(lstm, held.text[:n]), annotations_of(held, n)
    readout = layer_readout(lstm, tr.hidden, [g["c"] for g in tr.gates], 0)
    for name in ("in_string", "bracket_depth", "indentation"):
        t_swap = machine.best(lambda name=name: interchange_code(lstm, tr, ann, name), 1)
        code = interchange_code(lstm, tr, ann, name)
        t_step = machine.best(lambda name=name: plain_greedy_step(tr.hidden[0], annotation_codes(ann[name]),
                                                                  ann["char"].values, readout), 1)
        k = len(code.cells)
        rows.append(f"| lstm128-pystdlib, {name} | {t_swap:.2f} s ({k} greedy steps and {k} x 100 random sets; "
                    f"{code.score[-1]:.3f} closed with {k} cells, random sets {code.null_mean[-1]:.3f} / 99% "
                    f"{code.null_p99[-1]:.3f}) | one plain NumPy greedy step {t_step:.2f} s |")
    body = [f"`python bench/bench_interchange.py`, {datetime.date.today()}, on {machine.describe()}; {n:,} held-out "
            f"characters read in context, 500 pairs; {machine.load_note()}.", "",
            "| model, annotation | interchange search (greedy to complete or 32 cells, with its null) | "
            "baseline, same run |",
            "|---|---|---|", *rows]
    text = "\n".join(body)
    print(text)
    machine.write_section("Causal codes by interchange", text)


if __name__ == "__main__":
    main()
