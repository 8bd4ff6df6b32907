"""The page's Automaton and Dynamics tabs on the shipped GRU: what each computes the first time it is opened
for a model (app/pages/cache.py's settings), beside the same computation at the commands' defaults
(`rnnscope automaton`, `rnnscope dynamics`) in the same run. Writes the "Page: Automaton and Dynamics tabs"
section of bench/RESULTS.md.

    python bench/bench_pageviews.py            # best of 2 each
    python bench/bench_pageviews.py --quick    # one round, not written
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

import rnnscope as rs  # noqa: E402
from rnnscope.analysis.automaton.report import automaton_numbers  # noqa: E402
from rnnscope.analysis.dynamics.run import dynamics_run  # noqa: E402
from rnnscope.app.pages import network_cache  # noqa: E402


def automaton(m, words: int, chars: int, ks) -> dict:
    n = automaton_numbers(m.module, m.name, m.spec, m.heldout.text, None, 0, words, chars=chars, ks=ks)
    assert n["lstar_vs_grammar"]["equivalent"] and n["lstar"]["states"] == 11
    return n


def fixed_points(m, tr, ann, starts: int, random_starts: int) -> dict:
    return dynamics_run(m.module, tr, ann, None, starts, random_starts).numbers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds = 1 if args.quick else 2
    torch.set_num_threads(1)
    m = rs.load("gru15-parens")
    tr, ann = m.heldout_trace(network_cache.DYNAMICS_CHARS)
    page_auto = (network_cache.AUTOMATON_WORDS, network_cache.AUTOMATON_CHARS, network_cache.AUTOMATON_KS)
    cli_auto = (3_000, 20_000, (4, 6, 8, 10, 11, 12, 14, 16, 20, 24, 32))
    page_dyn, cli_dyn = network_cache.DYNAMICS_STARTS["grammar"], (256, 32)
    automaton(m, *page_auto)                                # warm: imports, first calls
    t_page_auto = machine.best(lambda: automaton(m, *page_auto), rounds)
    t_cli_auto = machine.best(lambda: automaton(m, *cli_auto), rounds)
    found = fixed_points(m, tr, ann, *page_dyn)
    t_page_dyn = machine.best(lambda: fixed_points(m, tr, ann, *page_dyn), rounds)
    t_cli_dyn = machine.best(lambda: fixed_points(m, tr, ann, *cli_dyn), rounds)
    fixed = sum(i["fixed_points"] for i in found["inputs"])

    day = datetime.date.today().isoformat()
    body = [f"`python bench/bench_pageviews.py{' --quick' if args.quick else ''}`, {day}, on {machine.describe()}; "
            f"best of {rounds} each, the commands' defaults in the same run; {machine.load_note()}.", "",
            "| what | result | target |", "|---|---|---|",
            f"| Automaton tab, first opened: L* with {page_auto[0]:,} own words a round, quantising "
            f"{page_auto[1]:,} states at k = {', '.join(map(str, page_auto[2]))} (11 states, equivalent) | "
            f"{t_page_auto:.2f} s ({t_page_auto / t_cli_auto:.2f} x the command's defaults) | seconds |",
            f"| baseline: `rnnscope automaton`'s defaults ({cli_auto[0]:,} words, {cli_auto[1]:,} states, "
            f"{len(cli_auto[2])} k) | {t_cli_auto:.2f} s |  |",
            f"| Dynamics tab's fixed points: {page_dyn[0]} + {page_dyn[1]} starts for each of 8 characters "
            f"({fixed} fixed points) | {t_page_dyn:.2f} s ({t_page_dyn / t_cli_dyn:.2f} x the command's defaults) "
            "| seconds |",
            f"| baseline: `rnnscope dynamics`'s defaults ({cli_dyn[0]} + {cli_dyn[1]} starts) | {t_cli_dyn:.2f} s |  |"]
    text_out = "\n".join(body)
    print(text_out)
    if not args.quick:
        machine.write_section("Page: Automaton and Dynamics tabs", text_out)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
