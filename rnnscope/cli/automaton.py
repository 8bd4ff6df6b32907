"""The automaton a network implements: ``automaton`` (L* and quantised states, checked against the
grammar's own minimal DFA), a thin shell over rnnscope.api's Model.automaton."""
from __future__ import annotations

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import AUTOMATON_CHARS
from rnnscope.cli.common import (at_least, check_out, emit, held_chars_arg, load_model, model_arg, output_args,
                                 runtime_args, say_whole_stream)


def cmd_automaton(args) -> None:
    """Extract the model's automaton and compare it with the grammar's (Model.automaton)."""
    check_out(args, has_html=True)
    if args.theta is not None and not 0 < args.theta < 1:        # before the model loads
        raise RnnscopeError(f"--theta must be a probability strictly between 0 and 1, got {args.theta}")
    m = load_model(args)
    say_whole_stream(m, args.chars, AUTOMATON_CHARS)
    report = m.automaton(args.theta, args.seed, args.words, args.max_length, args.chars, args.k)
    emit(args, {"text": "the automaton", "json": "the numbers", "html": "the report"}, report.to_text,
         report.to_json, report.to_html)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "automaton", help="extract the automaton the network implements and check it against the grammar's",
        description="The model's language: a string is in it when every character had probability >= --theta "
                    "where it stands (the first by the start distribution the checkpoint records). L* (AALpy) "
                    "learns its minimal DFA; the equivalence oracle never looks at the grammar: each round it "
                    "draws --words of the model's own words (up to --max-length characters, each ending in one "
                    "random character). Then k-means on the states of --chars held-out characters read in "
                    "context, for each k of --k: the machine of majority transitions between clusters, its "
                    "determinism, purity against the grammar DFA's states. For a grammar model both are compared "
                    "exactly with the grammar's minimal DFA (11 states for the shipped grammar): equivalent, or "
                    "the shortest string that separates them. The schema of --json is in docs/automaton-json.md.")
    model_arg(p)
    p.add_argument("--theta", type=float,
                   help="a character is in the language where p >= THETA (default: half the least probable legal "
                        "continuation of the model's grammar: 1/6 for the shipped grammar, 1/4 for brackets only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the oracle's words and of k-means (default 0)")
    p.add_argument("--words", type=at_least(1), default=3_000, help="oracle words per round (default 3000)")
    p.add_argument("--max-length", type=at_least(1), default=60,
                   help="longest own word before its random last character (default 60)")
    held_chars_arg(p, 2, AUTOMATON_CHARS, "whose states are clustered")
    p.add_argument("--k", type=at_least(1), nargs="+", default=[4, 6, 8, 10, 11, 12, 14, 16, 20, 24, 32],
                   help="the numbers of clusters to try (default 4 6 8 10 11 12 14 16 20 24 32)")
    output_args(p, "the numbers", html="the report (one offline file)")
    runtime_args(p)
    p.set_defaults(func=cmd_automaton)
