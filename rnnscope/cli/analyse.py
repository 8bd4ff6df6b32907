"""What cells do: ``explain`` (the terms behind one value), ``match`` (LSTMVis: where else a span's cells
are on), ``compare`` (two models' cells paired), ``probe`` (labels, probes, ablation: the report) and
``generalise`` (counting deeper than trained), each a thin shell over rnnscope.api and analysis/."""
from __future__ import annotations

import json
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.cli.common import (at_least, check_out, emit, load_model, model_arg, output_args, read_file,
                                 runtime, runtime_args, sequence_args, sequence_trace)


def cmd_explain(args) -> None:
    """The terms that made one cell's value at one step (analysis/describe/explain.py)."""
    from rnnscope.analysis.describe.explain import explain, explain_text
    check_out(args)
    m = load_model(args)
    t, what = sequence_trace(m, args)
    tr, model = t.raw, m.module
    m.check_layer(args.layer, "--layer")
    if not 0 <= args.step < len(tr):
        raise RnnscopeError(f"--step {args.step} is outside the sequence (0 .. {len(tr) - 1})")
    x, names = ((model.input_vectors(tr.text)[args.step], model.input_names()) if args.layer == 0 else
                (tr.hidden[args.layer - 1][args.step], [f"layer {args.layer - 1} cell {j}"
                                                       for j in range(m.hidden_size)]))
    result = explain(tr, model.layer_arrays(args.layer), x, names, args.layer, args.cell, args.step,
                     m.config.nonlinearity)
    emit(args, {"text": "the explanation"},
         lambda: explain_text(result) + (f"\n  the sequence: {what.strip(' ()')}" if what else ""),
         lambda: json.dumps(result, indent=1, ensure_ascii=False))


def cmd_match(args) -> None:
    """LSTMVis select and match: on-cells of a span, then the best runs of the corpus."""
    from rnnscope.analysis.describe.match import match, on_cells
    from rnnscope.models.store.zarr_store import default_store_path, store_for
    check_out(args)
    m = load_model(args)
    t, what = sequence_trace(m, args)
    m.check_layer(args.layer, "--layer")
    cells = on_cells(t.raw.hidden[args.layer], args.start, args.end, args.threshold)
    if len(cells) == 0:       # before the store is built: nothing would come of it
        raise RnnscopeError(f"no cell of layer {args.layer} is above {args.threshold:g} throughout steps "
                            f"{args.start} .. {args.end} and not just outside them: select another span "
                            "or lower --threshold")
    corpus = read_file(args.corpus) if args.corpus else m.heldout.text
    path = args.store or default_store_path(m.module, corpus)
    store = store_for(m.module, corpus, path)
    found = match(store[f"h_l{args.layer}"], cells, args.threshold, args.end - args.start + 1, top=args.top)
    result = {"selection": {"start": args.start, "end": args.end, "text": t.text[args.start:args.end + 1],
                            "threshold": args.threshold, "layer": args.layer, "on_cells": [int(c) for c in cells]},
              "corpus": {"chars": len(corpus), "store": str(path)},
              "matches": [f.to_dict() | {"text": corpus[f.start:f.end + 1],
                                         "context": corpus[max(0, f.start - 10):f.end + 11]} for f in found]}

    def text() -> str:
        lines = [f"on-cells of {result['selection']['text']!r} (steps {args.start} .. {args.end}, "
                 f"h > {args.threshold:g}, layer {args.layer}): {result['selection']['on_cells']}",
                 f"best of {len(corpus):,} corpus steps (store {path}):"]
        lines += [f"  {r['start']:>9,} .. {r['end']:<9,} other cells on {r['extra_on']}, length off by "
                  f"{r['length_gap']}:  {r['context']!r}" for r in result["matches"]]
        return "\n".join(lines)
    emit(args, {"text": "the matches"}, text, lambda: json.dumps(result, indent=1, ensure_ascii=False))


def cmd_compare(args) -> None:
    """Two models on the same sequence, their cells paired by correlation (analysis/describe/compare.py)."""
    from rnnscope.analysis.describe.compare import check_readable, compare_models, match_cells
    check_out(args, has_html=True)
    device = str(runtime(args))
    a, b = load_model(args, device=device), load_model(args, args.other, device)
    a.check_layer(args.layer, "--layer", "that")
    b.check_layer(args.other_layer, "--other-layer", "that")
    t_a, what = sequence_trace(a, args)
    check_readable(b.module, t_a.text, "model B")
    if args.index is None or args.from_zero_state:
        tr_b = b.trace(t_a.text).raw
    else:         # B reads A's held-out stream along from its start too: in context, as A does
        from rnnscope.models.reading.context import StreamReader
        from rnnscope.models.reading.window import read_window
        tr_b = read_window(StreamReader(b.module, a.heldout.text, a.heldout.annotations), args.index, len(t_a))
    tr_a = t_a.raw
    if args.match_on == "sequence":
        comparison = match_cells(tr_a.values(args.view, args.layer), tr_b.values(args.view, args.other_layer))
        basis = "the sequence shown"
    else:
        text = a.heldout.text[:args.chars]
        comparison = compare_models(a.module, b.module, text, args.view, args.layer, args.other_layer)
        basis = f"the first {len(text):,} characters of model A's held-out stream, read in context by both"
    names = (f"A {a.name}", f"B {b.name}")
    numbers = {"model_a": str(args.model), "model_b": str(args.other), "view": args.view,
               "layer_a": args.layer, "layer_b": args.other_layer, "matched_on": basis} | comparison.to_dict()

    def html() -> str:
        from rnnscope.app.drawing.compare import comparison_html
        from rnnscope.app.drawing.frame import make_frame
        frames = (make_frame(tr_a, args.view, args.layer), make_frame(tr_b, args.view, args.other_layer))
        caption = f"{names[0]} and {names[1]} on {len(tr_a):,} characters{what}; pairs matched on {basis}."
        return comparison_html(*frames, comparison, ("A", "B"), caption)

    def text() -> str:
        lines = [f"{names[0]} vs {names[1]}, view {args.view}: Pearson r over {basis}; "
                 f"mean |r| of the {len(comparison.pairs)} pairs {comparison.mean_abs_r:.3f}"]
        lines += [f"  A {p.a:>3} <-> B {p.b:>3}  r = {p.to_dict()['r'] if p.to_dict()['r'] is not None else 'n/a'}"
                  for p in comparison.pairs]
        lines += [f"  unmatched in {n}: {cells}" for n, cells in zip(names, (comparison.unmatched_a,
                                                                           comparison.unmatched_b)) if cells]
        return "\n".join(lines)
    emit(args, {"text": "the pairs", "json": "the numbers", "html": "the comparison"}, text,
         lambda: json.dumps(numbers, indent=1), html)


def cmd_probe(args) -> None:
    """Label, probe and ablate every cell on the model's held-out stream read in context."""
    check_out(args, has_html=True)
    report = load_model(args).probe(chars=args.chars, ablation_chars=args.ablation_chars)
    emit(args, {"text": "the summary", "json": "the numbers", "html": "the report"}, report.to_text,
         report.to_json, report.to_html)


def cmd_generalise(args) -> None:
    """Depth generalisation: models of the brackets-only grammar on a deeper stream (analysis/decode/generalise.py)."""
    from rnnscope.analysis.decode.generalise import TEST_SEED, comparison, text_table
    check_out(args, has_html=True)
    device = str(runtime(args))
    models = [(str(path), load_model(args, path, device).module) for path in args.models]
    numbers = comparison(models, args.test_depth, args.chars, args.threshold,
                         TEST_SEED if args.seed is None else args.seed)

    def html() -> str:
        from rnnscope.analysis.decode.generalise_report import report_html
        return report_html(numbers)
    emit(args, {"text": "the table", "json": "the numbers", "html": "the report"}, lambda: text_table(numbers),
         lambda: json.dumps(numbers, indent=1, ensure_ascii=False), html)


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
    p.add_argument("--chars", type=at_least(2), default=20_000,
                   help="held-out characters to pair the cells on (default 20000)")
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
    p.add_argument("--chars", type=at_least(1_000), default=100_000,
                   help="held-out characters to label and probe on (default 100000)")
    p.add_argument("--ablation-chars", type=at_least(100), default=20_000,
                   help="of those, how many the ablation re-runs step by step (default 20000)")
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
