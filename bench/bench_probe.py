"""Probing benchmarks: labelling every cell of every view on 1M characters, the
probes, the whole `rnnscope probe` pass, the causal code search, building a Zarr state store
and matching over it. Writes the "Probing" section of bench/RESULTS.md.

    python bench/bench_probe.py             # 1M chars to label, a 10M-step store to match over
    python bench/bench_probe.py --quick     # smaller sizes, for a smoke run
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope import grammar  # noqa: E402
from rnnscope.analysis.describe.annotations import grammar_annotations  # noqa: E402
from rnnscope.analysis.describe.labels import annotation_codes, label_cells  # noqa: E402
from rnnscope.analysis.describe.match import match, on_cells  # noqa: E402
from rnnscope.analysis.decode.probes import fit_score, probe  # noqa: E402
from rnnscope.analysis.decode.probing import probing_run  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.models.store.zarr_store import build_store, open_store  # noqa: E402
from rnnscope.models.reading.trace import value_range  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


@njit(cache=False)
def _bare_count(values, low, width, ids, table):
    T, H = values.shape
    for t in range(T):
        for h in range(H):
            b = min(max(int((values[t, h] - low) / width * 10), 0), 9)
            table[ids[t], h, b] += 1


def bare_counts(tr, views, ids) -> None:
    """The least a compiled count could do: bin every value of each view and count it once, under
    its step's combination of annotation codes (``ids``, given)."""
    for layer, view in views:
        values = tr.values(view, layer)
        low, high = value_range(view, values)
        _bare_count(values, low, high - low, ids, np.zeros((int(ids.max()) + 1, values.shape[1], 10), np.int64))


@torch.no_grad()
def bare_gru(model, text: str) -> None:
    x = model.inputs(torch.as_tensor(model.vocab.encode(text))[None])
    state = None
    for start in range(0, x.shape[1], 100_000):
        _, state = model.rnn(x[:, start:start + 100_000], state)


def bare_scan(array, cells) -> int:
    n = 0
    for lo in range(0, array.shape[0], 1_000_000):
        n += int((np.asarray(array[lo:lo + 1_000_000])[:, cells] > 0.5).all(axis=1).sum())
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    n_label, n_store = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    model = checkpoint.load(checkpoint.DEFAULT_CHECKPOINT)
    spec = grammar.GrammarSpec()
    rows = ["| what | size | seconds | target |", "|---|---|---|---|"]

    text = grammar.generate(n_label, seed=(7, 7))
    tr, t_trace = timed(lambda: trace(model, text))
    ann, t_ann = timed(lambda: grammar_annotations(text, spec))
    views = [(layer, view) for layer in range(tr.num_layers) for view in tr.views]
    label_cells(tr.values("h")[:1000], grammar_annotations(text[:1000], spec))    # load the compiled code first
    codes, t_codes = timed(lambda: annotation_codes(ann))
    _, t_label = timed(lambda: [label_cells(tr.values(v, k), ann, value_range(v, tr.values(v, k)), codes)
                                for k, v in views])
    t_label += t_codes
    _bare_count(tr.values("h")[:1000], -1.0, 2.0, codes.ids[:1000], np.zeros((int(codes.ids.max()) + 1, 15, 10),
                                                                             np.int64))    # compile first
    _, t_bare = timed(lambda: bare_counts(tr, views, codes.ids))
    rows += [f"| trace with gates (input to labelling) | {n_label:,} chars | {t_trace:.2f} | |",
             f"| annotations | {n_label:,} chars | {t_ann:.2f} | |",
             f"| label every cell of every view ({len(views)} views x 15 cells; annotation codes {t_codes:.2f} s once, "
             f"then the views) | {n_label:,} chars | {t_label:.2f} ({t_label / t_bare:.1f} x the bare count below) "
             "| < 5 |",
             f"| baseline: bare compiled count (numba), bin every value of every view, one count each | "
             f"{n_label:,} chars | {t_bare:.2f} | |"]
    print(rows[-1], flush=True)

    held = heldout_of(checkpoint.DEFAULT_CHECKPOINT)
    small = trace(model, held.text[:100_000])
    small_ann = grammar_annotations(held.text[:100_000], spec, held.annotations["depth"][:100_000])
    chars = small_ann["char"].values
    _, t_probe = timed(lambda: [probe(small.hidden[0], small_ann[t].values, chars, t)
                                for t in ("depth_level", "next_kind")])
    _, t_fit = timed(lambda: fit_score(small.hidden[0][:50_000], small_ann["depth_level"].values[:50_000],
                                       small.hidden[0][50_000:], small_ann["depth_level"].values[50_000:]))
    rows.append(f"| probes: depth and next-token kind, each with majority, input-only, control and the 15-point "
                f"accuracy-vs-k curve | 100,000 chars (50k train / 50k test) | {t_probe:.2f} "
                f"({t_probe / t_fit:.0f} x one bare fit) | < 10 |")
    rows.append(f"| baseline: one bare scikit-learn logistic regression fit + score (depth, all 15 cells) | "
                f"100,000 chars | {t_fit:.2f} | |")
    print(rows[-1], flush=True)
    run, t_run = timed(lambda: probing_run(model, held))
    parts = ", ".join(f"{k} {v:.2f}" for k, v in run.numbers["seconds"].items())
    rows.append(f"| the whole `rnnscope probe` pass ({parts}) | 100,000 chars | {t_run:.2f} | |")
    print(rows[-1], flush=True)

    corpus = grammar.generate(n_store, seed=(7, 8))
    with tempfile.TemporaryDirectory() as tmp:
        path, t_build = timed(lambda: build_store(model, corpus, Path(tmp) / "s.zarr"))
        n_bare = n_store // 10
        _, t_gru = timed(lambda: bare_gru(model, corpus[:n_bare]))
        rate, bare_rate = n_store / t_build, n_bare / t_gru
        rows.append(f"| build the Zarr state store (in context, one pass) | {n_store:,} chars | {t_build:.1f} "
                    f"({rate / 1e3:.0f}k chars/s, {rate / bare_rate:.2f} x torch's bare nn.GRU) | |")
        rows.append(f"| baseline: torch's own nn.GRU forward, chunks of 100k with the state carried | {n_bare:,} chars "
                    f"| {t_gru:.1f} ({bare_rate / 1e3:.0f}k chars/s) | |")
        print(rows[-1], flush=True)
        store = open_store(path, model, corpus)
        window = trace(model, held.text[5_000:5_060])
        cells = on_cells(window.hidden[0], 48, 51, 0.5)
        found, t_match = timed(lambda: match(store["h_l0"], cells, 0.5, 4))
        _, t_scan = timed(lambda: bare_scan(store["h_l0"], cells))
        rows.append(f"| match the on-cells {list(map(int, cells))} of a span over the store (top 20) | "
                    f"{n_store:,} steps | {t_match:.2f} ({t_match / t_scan:.1f} x the bare scan) | < 1 |")
        rows.append(f"| baseline: bare scan, read the store chunk by chunk and count steps with the cells on | "
                    f"{n_store:,} steps | {t_scan:.2f} | |")
        print(rows[-1], flush=True)
        dense = np.asarray(store["h_l0"][:])
        _, t_mem = timed(lambda: match(dense, cells, 0.5, 4))
        rows.append(f"| the same match over the states in memory | {n_store:,} steps | {t_mem:.2f} | |")
        print(rows[-1], flush=True)

    head = (f"`python bench/bench_probe.py{' --quick' if args.quick else ''}`, {datetime.date.today()}, on "
            f"{machine.describe()}; the shipped GRU-15. One run each (torch on 1 thread; probe fits on 1 BLAS thread). "
            "Each figure's ratio is against the baseline measured in the same run; " + machine.load_note() + ".")
    if not args.no_write:
        machine.write_section("Probing", head + "\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
