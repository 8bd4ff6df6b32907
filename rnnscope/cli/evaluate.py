"""Looking at a whole model: ``eval`` (held-out loss beside the floor, grammatical samples), ``sample``,
``summary`` (layers and parameters) and ``weights`` (what a sum3 model learned), each a thin shell
over one call of rnnscope.api."""
from __future__ import annotations

import json
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.cli.common import (at_least, check_out, emit, heldout_args, load_model, model_arg, output_args,
                                 read_text, runtime_args)
from rnnscope.cli.train import grammar_args, spec_from


def cmd_weights(args) -> None:
    """What a sum3 model learned, read off its weights, and its sums of new triples (Model.weights)."""
    check_out(args)
    report = load_model(args).weights(args.triples, args.seed)
    emit(args, {"text": "the weights view"}, report.to_text, report.to_json)


def cmd_eval(args) -> None:
    check_out(args)
    m = load_model(args)
    m.check_predicts("evaluate as a character model")
    # a model of text is evaluated on a grammar only when a grammar flag asks for one
    asked = any(getattr(args, f, None) is not None for f in ("max_depth", "separator", "no_zero_digit", "no_digits"))
    spec = spec_from(args, m.spec) if m.spec is not None or asked else None
    text = None
    if args.text is not None or args.file is not None:
        if args.heldout is not None:
            raise RnnscopeError("give --text / --file, or --heldout FILE, not both")
        text = read_text(args)
    report = m.evaluate(text, chars=args.chars, seed=args.seed, samples=args.samples, spec=spec)
    emit(args, {"text": "the evaluation"}, report.to_text, report.to_json)


def cmd_sample(args) -> None:
    check_out(args)
    m = load_model(args)
    texts = m.sample(args.n, args.chars, args.temperature, args.seed, args.prime, top_k=args.top_k)
    if len(texts) > 1 and "\n" in m.vocab:   # samples of multi-line text: one line each would mix them up
        out = "\n".join(f"=== sample {i + 1} of {len(texts)} ===\n{t}" for i, t in enumerate(texts))
    else:
        out = "\n".join(texts)
    emit(args, {"text": f"{len(texts)} sample(s)"}, lambda: out,
         lambda: json.dumps(texts, indent=1, ensure_ascii=False))


def cmd_summary(args) -> None:
    check_out(args)
    report = load_model(args).summary()
    emit(args, {"text": "the summary"}, report.to_text, report.to_json)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "eval", help="held-out loss beside the oracle floor, and grammatical samples",
        description="Mean next-character loss in nats/char, read from the zero state and averaged over every "
                    "character after the first: of --text / --file; with neither, of a fresh stream of a grammar "
                    "model's grammar (--chars, --seed) beside its floor, or of a text model's recorded held-out "
                    "text (its validation file or the tail of its training text), or of --heldout FILE.")
    model_arg(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")
    heldout_args(p)
    p.add_argument("--chars", type=int, default=200_000, help="fresh grammar stream length (default 200000)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the fresh stream and the samples (default 12345)")
    p.add_argument("--samples", type=at_least(0), default=0,
                   help="also sample N 500-token texts and count grammatical ones (default 0: none)")
    output_args(p, "the evaluation")
    runtime_args(p)
    grammar_args(p, of_model=True)
    p.set_defaults(func=cmd_eval)


    p = sub.add_parser(
        "sample", help="sample text from a model",
        description="Sample text. With no --prime a sample starts at the model's own start: its first character "
                    "is drawn from the training text's character frequencies saved in the checkpoint (a grammar "
                    "model: the grammar's first-token distribution), then the model goes on from there. All samples "
                    "are drawn together in lock-step. Samples of a model whose vocabulary has a newline are "
                    "separated by '=== sample i of n ===' lines when there are several (or use --json).")
    model_arg(p)
    p.add_argument("--chars", type=int, default=200, help="characters to sample after the prime (default 200)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1.0)")
    p.add_argument("--top-k", type=at_least(1), help="draw only among the k most likely characters (1: greedy)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--prime", default="", help="text read before sampling (default: none, the model's own start)")
    p.add_argument("-n", "--samples", dest="n", type=at_least(1), default=1,
                   help="number of samples, drawn together (default 1)")
    output_args(p, "the samples (JSON: a list of strings)")
    runtime_args(p)
    p.set_defaults(func=cmd_sample)


    p = sub.add_parser(
        "weights", help="what a sum3 model learned, read off its weights, and its sums of new triples",
        description="For a model trained with train --task sum3 (seed 000): W, U and b of h_t = x_t W + h_{t-1} U + b "
                    "as the model holds them, what each digit d adds at its step (x_d W + b: the seed finds it "
                    "equal to d, and U = 1), and the model's sums of --triples new triples beside the true ones.")
    model_arg(p)
    p.add_argument("--triples", type=at_least(1), default=5, help="new triples to predict (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the new triples (default 0)")
    output_args(p, "the weights view")
    p.set_defaults(func=cmd_weights)


    p = sub.add_parser("summary", help="layers, output shapes and parameter counts")
    model_arg(p)
    output_args(p, "the summary")
    p.set_defaults(func=cmd_summary)
