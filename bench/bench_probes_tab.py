"""The Probes tab of the shipped 128-cell text LSTM (lstm128-pystdlib): how long from opening the tab
to its content, from a cold start (a fresh process: nothing cached, the 100,000 held-out characters
traced first, as when the tab is the first one opened), and the n-gram baseline that joins it after.

Cold means cold: each run gets an empty cache folder of its own (XDG_CACHE_HOME), so nothing this change
keeps on disk (app/pages/stored.py) is found. A last run of this change then reuses the folder of its
previous run: a new server reading the results kept by the one before.

The baseline is the same measurement on another checkout (``--baseline-python``: the Python of a
virtual environment with that checkout installed, e.g. main's code before the change), run in the
same session, alternating with this one, so both see the same machine.

    python bench/bench_probes_tab.py --baseline-python /path/to/other/.venv/bin/python [--rounds 2]

Writes the "App: Probes tab, 128-cell text LSTM" section of bench/RESULTS.md (``--no-write``: print it).

``--first-view`` measures instead what the tab shows first (the probes and their references, ``cache.probe_heads``)
against the whole ``probe()`` of every layer and target with its curve and n-gram baseline, as ``rnnscope probe``
computes it: both in one fresh process, on the same held-out states (traced once, before either), the order of
the two alternating between rounds. No baseline checkout is needed; it writes "App: Probes tab's first view".

    python bench/bench_probes_tab.py --first-view [--rounds 3]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

MODEL = "models/checkpoints/lstm128-pystdlib"

# Run in a fresh process with the checkout's own rnnscope; prints one JSON line.
CHILD = """
import json, sys, time
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.probes_tab import ProbesTab
from rnnscope.app.pages import cache
state = AppState(sys.argv[1])
tab = ProbesTab(state=state)
start = time.perf_counter()
cache.probes(state.model_path)             # the held-out trace, then the probes with their references and curves
probes = time.perf_counter() - start
ngram = 0.0
if hasattr(cache, "ngram_baselines"):      # this change: what joins the tab after it appears
    start = time.perf_counter()
    cache.ngram_baselines(state.model_path)
    ngram = time.perf_counter() - start
start = time.perf_counter()
tab.open()                                  # from the caches: the tables and plots drawn
print(json.dumps({"first": probes + time.perf_counter() - start, "ngram": ngram}))
"""


# The first view against the whole probe, on the states both read; prints one JSON line.
FIRST_VIEW_CHILD = """
import json, sys, time
from rnnscope.app.pages.state import AppState
from rnnscope.app.pages import cache
from rnnscope.analysis.decode.ngram import NGRAM_KS
from rnnscope.analysis.decode.probes import probe
from rnnscope.analysis.decode.probing import probe_targets
state, heads_first = AppState(sys.argv[1]), sys.argv[2] == "heads-first"
path = state.model_path
start = time.perf_counter()
tr, ann = cache._heldout_trace(str(path), cache.stamp(path), cache.LABEL_CHARS)   # what the side view reads first
trace = time.perf_counter() - start


def first_view():
    start = time.perf_counter()
    cache.probe_heads(path)
    return time.perf_counter() - start


def whole():                                # rnnscope probe's computation: curves and n-gram baseline included
    start = time.perf_counter()
    for layer in range(tr.num_layers):
        for t in probe_targets(cache.held(path)):
            probe(tr.hidden[layer], ann[t].values, ann["char"].values, t, ann[t].categories, ngram_ks=NGRAM_KS)
    return time.perf_counter() - start


if heads_first:
    seconds = {"first_view": first_view(), "whole": whole()}
else:
    seconds = {"whole": whole(), "first_view": first_view()}
print(json.dumps({"trace": trace, "layers": tr.num_layers, "chars": len(tr), **seconds}))
"""


def run_first_view(cache_home: str, heads_first: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": "", "XDG_CACHE_HOME": cache_home}
    done = subprocess.run([sys.executable, "-c", FIRST_VIEW_CHILD, str(ROOT / MODEL),
                           "heads-first" if heads_first else "whole-first"], cwd="/tmp", env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_view_section(rounds: int) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        runs = [run_first_view(f"{scratch}/round{k}", heads_first=k % 2 == 0) for k in range(rounds)]
    ratios = [r["first_view"] / r["whole"] for r in runs]
    layers = f"{runs[0]['layers']} layer" + ("s" if runs[0]["layers"] != 1 else "")
    best = min(range(rounds), key=lambda k: runs[k]["first_view"] + runs[k]["whole"])
    return (f"`python bench/bench_probes_tab.py --first-view --rounds {rounds}`, {datetime.date.today()}, "
            f"on {machine.describe()}; model {MODEL}; each round a fresh process with an empty cache folder; "
            f"the held-out states ({runs[0]['chars']:,} characters, {layers}) traced once "
            f"before both; the first view and the "
            f"whole probe in alternating order; {machine.load_note()}.\n\n"
            "| what (least disturbed round: the smallest sum) | seconds |\n|---|---|\n"
            f"| the held-out trace, read by both (not in the ratio) | {runs[best]['trace']:.1f} |\n"
            f"| whole `probe()` of every layer and target: probe, references, accuracy-vs-k curve, n-gram "
            f"baseline (`rnnscope probe`) | {runs[best]['whole']:.1f} |\n"
            f"| the Probes tab's first view: probe and references (`cache.probe_heads`, stored on disk) | "
            f"**{runs[best]['first_view']:.1f}** ({ratios[best]:.2f} x the whole) |\n"
            f"\nEvery round, first view / whole: {[round(r, 2) for r in ratios]} "
            f"(seconds: first view {[round(r['first_view'], 1) for r in runs]}, "
            f"whole {[round(r['whole'], 1) for r in runs]}).")


def run(python: str, checkout: Path, cache_home: str) -> dict:
    env = {**os.environ, "PYTHONPATH": "", "XDG_CACHE_HOME": cache_home}
    done = subprocess.run([python, "-c", CHILD, str(checkout / MODEL)], cwd="/tmp", env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first-view", action="store_true", help="the tab's first view against the whole probe")
    ap.add_argument("--baseline-python")
    ap.add_argument("--baseline-checkout", help="the checkout the baseline Python has installed")
    ap.add_argument("--baseline-name", default="", help="how the results name the baseline (default: its path)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.first_view:
        body = first_view_section(args.rounds)
        print(body)
        if not args.no_write:
            machine.write_section("App: Probes tab's first view, 128-cell text LSTM", body)
        return
    if not (args.baseline_python and args.baseline_checkout):
        ap.error("give --baseline-python and --baseline-checkout, or --first-view")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(args.rounds):
            theirs.append(run(args.baseline_python, Path(args.baseline_checkout), f"{scratch}/baseline{k}"))
            ours.append(run(sys.executable, ROOT, f"{scratch}/ours{k}"))
        warm = run(sys.executable, ROOT, f"{scratch}/ours{args.rounds - 1}")      # the kept results read back
    first = min(r["first"] for r in ours)
    ngram = min(r["ngram"] for r in ours)
    base = min(r["first"] for r in theirs)
    load = os.getloadavg()[0]
    body = (f"`python bench/bench_probes_tab.py --baseline-python ... --rounds {args.rounds}`, "
            f"{datetime.date.today()}, "
            f"on {machine.describe()}; each run a fresh process (cold caches: the held-out trace of 100,000 "
            f"characters included), best of {args.rounds}, alternating with the baseline; 1-minute load average "
            f"{load:.1f} on {os.cpu_count()} cores at the end.\n\n"
            "| what | seconds |\n|---|---|\n"
            f"| baseline ({args.baseline_name or args.baseline_checkout}): Probes tab content, cold | {base:.1f} |\n"
            f"| this change: Probes tab content (probes, references, curves), cold | **{first:.1f}** "
            f"({first / base:.2f} x the baseline) |\n"
            f"| this change: the n-gram baseline that joins it after (5 windows x 3 targets) | {ngram:.1f} |\n"
            f"| this change, the next server run: probes and n-gram read back from disk, tab drawn | "
            f"**{warm['first'] + warm['ngram']:.2f}** |\n"
            f"\nAll rounds, seconds: baseline {[round(r['first'], 1) for r in theirs]}; this change, first stage "
            f"{[round(r['first'], 1) for r in ours]}, n-gram {[round(r['ngram'], 1) for r in ours]}.")
    if args.no_write:
        print(body)
    else:
        machine.write_section("App: Probes tab, 128-cell text LSTM", body)
        print(body)


if __name__ == "__main__":
    main()
