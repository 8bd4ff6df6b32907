"""Automaton benchmarks: L* on the shipped GRU, and quantising 100,000 states for one k, each beside a
baseline measured in the same run. Writes the "Automaton" section of bench/RESULTS.md.

    python bench/bench_automaton.py            # best of 3 each
    python bench/bench_automaton.py --quick    # one round, 20,000 states, for a smoke run
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import torch
from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

import rnnscope as rs  # noqa: E402
from rnnscope.analysis.automaton.equivalence import separating_string  # noqa: E402
from rnnscope.analysis.automaton.lstar import extract  # noqa: E402
from rnnscope.analysis.automaton.membership import ModelLanguage, default_theta  # noqa: E402
from rnnscope.analysis.automaton.quantise import N_INIT, Quantiser, states_in_context  # noqa: E402
from rnnscope.grammar.automaton import grammar_dfa  # noqa: E402
from rnnscope.models.reading.sample import start_distribution  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402

K = 11


def lstar_once(m):
    result = extract(ModelLanguage(m.module, default_theta(m.spec)), seed=0)
    assert result.dfa.n_states == 11 and separating_string(result.dfa, grammar_dfa(m.spec)) is None
    return result


@torch.no_grad()
def read_like_lstar(m, chars: int) -> None:
    """The model alone reading as many characters as L* had it read, in the same batch shape (512 x 61)."""
    ids = torch.randint(0, len(m.vocab), (512, 61))
    for _ in range(max(1, chars // ids.numel())):
        m.module(ids)


def quantise_once(m, text: str):
    q = Quantiser(m.module, text, default_theta(m.spec), start_distribution(m.module))
    small = q.machine(K)["dfa"].minimised()
    return separating_string(small, grammar_dfa(m.spec))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds, n_states = (1, 20_000) if args.quick else (3, 100_000)
    torch.set_num_threads(1)
    m = rs.load("gru15-parens")
    text = m.heldout.text[:n_states]
    result = lstar_once(m)                                 # warm: imports, first calls
    t_lstar = machine.best(lambda: lstar_once(m), rounds)
    t_read = machine.best(lambda: read_like_lstar(m, result.chars_read), rounds)
    sep = quantise_once(m, text)
    t_quant = machine.best(lambda: quantise_once(m, text), rounds)
    t_trace = machine.best(lambda: trace(m.module, text), rounds)
    x, _ = states_in_context(m.module, text)
    t_kmeans = machine.best(lambda: KMeans(K, n_init=N_INIT, random_state=0).fit(x), rounds)

    day = datetime.date.today().isoformat()
    body = [f"`python bench/bench_automaton.py{' --quick' if args.quick else ''}`, {day}, on {machine.describe()}; "
            f"best of {rounds} each, baselines in the same run; {machine.load_note()}.", "",
            "| what | result | target |", "|---|---|---|",
            f"| L* on the shipped GRU-15 (3,000 own words a round, seed 0): {result.dfa.n_states} states, "
            f"equivalent to the grammar's DFA, {result.rounds} rounds, {result.chars_read:,} characters read | "
            f"{t_lstar:.2f} s ({t_lstar / t_read:.1f} x the model alone reading them) | < 60 s |",
            f"| baseline: the model alone reading {result.chars_read:,} characters in batches of 512 x 61 | "
            f"{t_read:.2f} s |  |",
            f"| quantise {n_states:,} held-out states at k = {K}: trace, step every legal character, k-means "
            f"(best of {N_INIT}), machine, minimise, compare ({'equivalent' if sep is None else 'differs'}) | "
            f"{t_quant:.2f} s ({t_quant / (t_trace + t_kmeans):.2f} x trace + k-means alone) | < 5 s |",
            f"| baseline: tracing the {n_states:,} characters | {t_trace:.2f} s |  |",
            f"| baseline: a plain scikit-learn KMeans(k={K}, n_init={N_INIT}) fit on those states | "
            f"{t_kmeans:.2f} s |  |"]
    text_out = "\n".join(body)
    print(text_out)
    if not args.quick:
        machine.write_section("Automaton", text_out)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
