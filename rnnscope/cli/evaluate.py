"""Looking at a whole model: ``eval`` (held-out loss beside the floor, grammatical samples), ``sample``,
``summary`` (layers and parameters) and ``weights`` (what a sum3 model learned), each a thin shell
over rnnscope.api and the functions it wraps."""
from __future__ import annotations

import json
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.cli.common import (at_least, check_out, emit, load_model, model_arg, output_args, read_text,
                                 runtime_args)
from rnnscope.cli.train import grammar_args, spec_from


def cmd_weights(args) -> None:
    """What a sum3 model learned, read off its weights, and its sums of new triples (analysis/decode/weights.py)."""
    from rnnscope.analysis.decode.weights import predictions, sum3_weights, weights_text
    from rnnscope.models.training.sum3 import DIGITS, is_sum3, new_triples, predict
    check_out(args)
    model = load_model(args).module
    if not is_sum3(model):
        raise RnnscopeError(f"{args.model}: the weights view reads a sum3 model (train one with "
                            f"rnnscope train --task sum3); this is {model.config.describe()}")
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), model.config.input_kind)
    digits = new_triples(args.triples, args.seed)
    view["predictions"] = predictions(digits, predict(model, digits))
    emit(args, {"text": "the weights view"}, lambda: weights_text(view), lambda: json.dumps(view, indent=1))


def cmd_eval(args) -> None:
    from rnnscope import grammar
    from rnnscope.models.training.evaluate import grammatical_share, heldout_loss
    check_out(args)
    m = load_model(args)
    m.check_predicts("evaluate as a character model")
    model, own = m.module, m.spec
    spec = spec_from(args, own)
    if args.text is not None or args.file is not None:
        text, floor = read_text(args), None
    elif own is None:
        trained_on = (model.training_record.get("data") or {}).get("kind")
        raise RnnscopeError(f"{args.model} was trained on a text file, not the grammar: give --text or --file"
                            if trained_on == "text" else   # an imported or hand-saved model records no data
                            f"{args.model} records no grammar it was trained on: give --text or --file")
    else:
        text = grammar.generate(args.chars, seed=args.seed, spec=spec)
        floor = grammar.empirical_floor(text, spec)
    loss = heldout_loss(model, model.vocab.encode(text)[None])
    result = {"chars": len(text), "loss": round(loss, 5)}
    if floor:
        result |= {"floor": round(floor, 5), "ratio_to_floor": round(loss / floor, 5)}
    if args.samples:
        for name, warm in (("from_start", 0), ("after_warmup", 200)):
            good, reasons = grammatical_share(model, spec, n=args.samples, seed=args.seed, warmup_chars=warm)
            result[f"grammatical_{name}"] = f"{good}/{args.samples}"
            if reasons:
                result[f"first_failures_{name}"] = reasons
    emit(args, {"text": "the evaluation"}, lambda: _eval_text(result), lambda: json.dumps(result, indent=2))


def _eval_text(result: dict) -> str:
    """The evaluation for people: one line for the loss, one per kind of sample."""
    lines = [f"loss {result['loss']:.5f} nats/char over {result['chars']:,} characters"
             + (f" (floor {result['floor']:.5f}, {result['ratio_to_floor']:.5f} x the floor)" if "floor" in result
                else "")]
    for name, label in (("from_start", "from the start state"), ("after_warmup", "after a warm-up")):
        if f"grammatical_{name}" in result:
            lines.append(f"grammatical samples {label}: {result[f'grammatical_{name}']}")
            lines += [f"  {reason}" for reason in result.get(f"first_failures_{name}", [])]
    return "\n".join(lines)



def cmd_sample(args) -> None:
    from rnnscope.models.reading.sample import sample
    check_out(args)
    m = load_model(args)
    m.check_predicts("sample")
    model = m.module
    samples = sample(model, args.chars, args.temperature, args.seed, [args.prime] * args.n, top_k=args.top_k)
    texts = [args.prime + text for text in samples]
    if len(texts) > 1 and "\n" in model.config.vocab:   # samples of multi-line text: one line each would mix them up
        out = "\n".join(f"=== sample {i + 1} of {len(texts)} ===\n{t}" for i, t in enumerate(texts))
    else:
        out = "\n".join(texts)
    emit(args, {"text": f"{len(texts)} sample(s)"}, lambda: out,
         lambda: json.dumps(texts, indent=1, ensure_ascii=False))



def cmd_summary(args) -> None:
    from rnnscope.models.network.summary import summary, summary_data
    check_out(args)
    model = load_model(args).module
    emit(args, {"text": "the summary"}, lambda: summary(model), lambda: json.dumps(summary_data(model), indent=2))



def add_parsers(sub) -> None:
    p = sub.add_parser("eval", help="held-out loss beside the oracle floor, and grammatical samples")
    model_arg(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")
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
