"""What cells do: ``explain`` (the terms behind one value), ``match`` (LSTMVis: where else a span's cells
are on), ``compare`` (two models' cells paired), ``probe`` (labels, probes, ablation: the report) and
``generalise`` (counting deeper than trained), each a thin shell over one call of rnnscope.api."""
from __future__ import annotations

from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import COMPARE_CHARS, LABEL_CHARS
from rnnscope.cli.common import (at_least, check_out, emit, held_chars_arg, heldout_args, load_model, model_arg,
                                 output_args, read_file, runtime, runtime_args, say_whole_stream, sequence_args,
                                 sequence_trace)


def cmd_explain(args) -> None:
    """The terms that made one cell's value at one step (Model.explain)."""
    check_out(args)
    m = load_model(args)
    t, what = sequence_trace(m, args)
    m.check_layer(args.layer, "--layer")
    if not 0 <= args.step < len(t):
        raise RnnscopeError(f"--step {args.step} is outside the sequence (0 .. {len(t) - 1})")
    report = m.explain(t, args.step, args.cell, args.layer)
    emit(args, {"text": "the explanation"},
         lambda: report.to_text() + (f"\n  the sequence: {what.strip(' ()')}" if what else ""), report.to_json)


def cmd_match(args) -> None:
    """LSTMVis select and match: on-cells of a span, then the best runs of the corpus (Model.match)."""
    check_out(args)
    m = load_model(args)
    t, what = sequence_trace(m, args)
    m.check_layer(args.layer, "--layer")
    report = m.match(t, args.start, args.end, args.threshold, args.layer, args.top,
                     corpus=read_file(args.corpus) if args.corpus else None, store=args.store)
    emit(args, {"text": "the matches"}, report.to_text, report.to_json)


def cmd_compare(args) -> None:
    """Two models on the same sequence, their cells paired by correlation (Model.compare)."""
    check_out(args, has_html=True)
    device = str(runtime(args))
    a, b = load_model(args, device=device), load_model(args, args.other, device)
    a.check_layer(args.layer, "--layer", "that")
    b.check_layer(args.other_layer, "--other-layer", "that")
    t_a, what = sequence_trace(a, args)
    if args.match_on == "held-out":
        say_whole_stream(a, args.chars, COMPARE_CHARS)
    report = a.compare(b, t_a, args.view, args.layer, args.other_layer, args.match_on, args.chars, note=what)
    emit(args, {"text": "the pairs", "json": "the numbers", "html": "the comparison"}, report.to_text,
         report.to_json, report.to_html)


def cmd_probe(args) -> None:
    """Label, probe and ablate every cell on the model's held-out stream read in context."""
    check_out(args, has_html=True)
    causal = None if args.causal is None else [n for n in args.causal.split(",") if n]
    m = load_model(args)
    say_whole_stream(m, args.chars, LABEL_CHARS)
    report = m.probe(chars=args.chars, ablation_chars=args.ablation_chars, causal=causal)
    emit(args, {"text": "the summary", "json": "the numbers", "html": "the report"}, report.to_text,
         report.to_json, report.to_html)


def cmd_generalise(args) -> None:
    """Depth generalisation: models of the brackets-only grammar on a deeper stream (rnnscope.generalise)."""
    import rnnscope as rs
    check_out(args, has_html=True)
    device = str(runtime(args))
    report = rs.generalise([load_model(args, path, device) for path in args.models], args.test_depth, args.chars,
                           args.threshold, args.seed)
    emit(args, {"text": "the table", "json": "the numbers", "html": "the report"}, report.to_text,
         report.to_json, report.to_html)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "explain", help="the terms that made one cell's value at one step",
        description="Explain a value: for --cell at --step, each gate's value and pre-activation split into its "
                    "input part (W_i x + b_i) and recurrent part (W_h h_prev + b_h), the largest contributions "
                    "from previous cells and inputs, and the update with its numbers (GRU h = (1 - z) n + z h_prev; "
                    "LSTM c and h), computed from the NumPy reference equations and checked against the traced "
                    "value. The sequence is --text, --file or a held-out window (--index, read in context).")
    model_arg(p)
    sequence_args(p)
    p.add_argument("--cell", type=int, required=True, help="the cell (0-based)")
    p.add_argument("--step", type=int, required=True, help="the position in the sequence (0-based)")
    _layer_output_runtime(p, "the explanation")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "match", help="cells on for a span, and where else in the corpus they are on (LSTMVis)",
        description="Select a span (--start .. --end, inclusive) of a sequence: its on-cells are the cells of h above "
                    "--threshold throughout the span and not just before or after it. Then every run of the corpus "
                    "(the model's held-out stream, or --corpus FILE) where all of them are on, best first: fewest "
                    "other cells also on, then the closest length. The corpus states are read in context once and "
                    "kept in a Zarr store (--store; by default a cache folder keyed by the model and the corpus); "
                    "a store of another model or text is refused, never mixed.")
    model_arg(p)
    sequence_args(p)
    p.add_argument("--start", type=int, required=True, help="first step of the span (0-based)")
    p.add_argument("--end", type=int, required=True, help="last step of the span (inclusive)")
    p.add_argument("--threshold", type=float, default=0.5, help="a cell is on above this (default 0.5)")
    p.add_argument("--top", type=at_least(1), default=20, help="how many matches (default 20)")
    p.add_argument("--corpus", type=Path, help="match over this UTF-8 text instead of the held-out stream")
    p.add_argument("--store", type=Path, help="the state store to use or build (default: in ~/.cache/rnnscope)")
    _layer_output_runtime(p, "the matches")
    p.set_defaults(func=cmd_match)

    p = sub.add_parser(
        "compare", help="two models on the same sequence, cells paired by correlation",
        description="Pair the cells of --model (A) with those of --other (B): Pearson r between every pair over "
                    "the first --chars of A's held-out stream read in context by both (or, --match-on sequence, "
                    "over the sequence itself), then an optimal one-to-one assignment on |r| (scipy). -o FILE.html "
                    "draws both heatmaps of the sequence with rows in pair order; --json or -o FILE.json writes "
                    "the pairs.")
    model_arg(p)
    p.add_argument("--other", required=True, help="the second model's checkpoint directory (B)")
    sequence_args(p)
    p.add_argument("--view", default="h", help="h, or a gate both models have (default h)")
    p.add_argument("--layer", type=int, default=0, help="model A's layer (default 0)")
    p.add_argument("--other-layer", type=int, default=0, help="model B's layer (default 0)")
    p.add_argument("--match-on", choices=["held-out", "sequence"], default="held-out",
                   help="the text the correlations run over (default held-out)")
    held_chars_arg(p, 2, COMPARE_CHARS, "to pair the cells on")
    output_args(p, "the pairs", html="the two heatmaps (one offline file)")
    runtime_args(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "probe", help="label, probe and ablate every cell on held-out data (report and numbers)",
        description="Find what every cell does, on the first --chars characters of the model's held-out stream read "
                    "in context (from the stream's start): a label per cell of every layer and view with its "
                    "statistic (Pearson r, or mutual information in bits), the rise in loss when each cell of h is "
                    "ablated alone, the best cell for each annotation, linear probes (grammar: depth and the next "
                    "token's kind; text: in a string, bracket level, the next character's class) beside the "
                    "majority, input-only and control-task references, oracle divergence (grammar only) and gate "
                    "saturation. A text model is labelled against text annotations (character class, strings, "
                    "comments, brackets, column, line length, indentation). "
                    "The schema of --json is in docs/probe-json.md.")
    model_arg(p)
    held_chars_arg(p, 1_000, LABEL_CHARS, "to label and probe on")
    p.add_argument("--ablation-chars", type=at_least(100), default=20_000,
                   help="of those, how many the ablation re-runs step by step (default 20000)")
    heldout_args(p)
    p.add_argument("--causal", metavar="NAMES", default=None,
                   help="comma-separated annotations to find causal codes of by interchange: cells copied between "
                        "contexts that read the same character and differ in the annotation (default: depth for a "
                        "grammar model; in_string,bracket_depth,indentation for text; '' for none)")
    output_args(p, "the numbers", html="the report (one offline file)")
    runtime_args(p)
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser(
        "generalise", help="can a model count deeper than it was trained? (brackets-only grammar)",
        description="Depth generalisation (Weiss et al. 2018). Each model, trained on the brackets-only grammar "
                    "(rnnscope train --no-digits) to some depth, reads a stream of the same grammar allowed to go "
                    "--test-depth deep, in context from its start. At every step before a token it says '`)` is "
                    "legal here' when its p(`)`) is above --threshold; the truth is depth > 0. Reported per true "
                    "depth: the share answered right, the number of such steps, the mean p(`)`). "
                    "The schema of --json is in docs/generalise-json.md.")
    p.add_argument("--models", nargs="+", type=Path, required=True, metavar="DIR",
                   help="checkpoint directories, compared on the same stream")
    p.add_argument("--test-depth", type=int, default=8, help="how deep the test stream may go (default 8)")
    p.add_argument("--chars", type=int, default=200_000, help="test stream length (default 200000)")
    p.add_argument("--threshold", type=float,
                   help="p(`)`) above which the model says `)` is legal (default: half the smallest probability the "
                        "training grammar gives a legal `)`: 0.25 for the uniform grammar)")
    p.add_argument("--seed", type=int, help="seed of the test stream (default: a fixed one, the same for every run)")
    output_args(p, "the numbers", html="the report (one offline file)")
    runtime_args(p)
    p.set_defaults(func=cmd_generalise)



def _layer_output_runtime(p, what: str) -> None:
    """--layer, -o / --json and --device / --threads: the tail of the commands that look at one layer."""
    p.add_argument("--layer", type=int, default=0, help="the layer (default 0)")
    output_args(p, what)
    runtime_args(p)
