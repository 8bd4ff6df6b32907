"""One command, ``rnnscope``, for everything outside the app:
generate / train / eval / trace / sample / summary / export.

Each subcommand parses its arguments, calls into grammar/ or models/, and prints. Errors a
user can cause (bad path, corrupt checkpoint, unknown characters ...) exit with status 2
and one line on stderr; nothing is half-written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.errors import RnnscopeError
from models.paths import DEFAULT_CHECKPOINT  # torch-free, so --help stays fast

DEFAULT_MODEL = str(DEFAULT_CHECKPOINT)


def _grammar_args(p: argparse.ArgumentParser, of_model: bool = False) -> None:
    """``of_model``: the defaults are the model's own grammar (from its training record)."""
    default = " (default: the model's own)" if of_model else ""
    g = p.add_argument_group("grammar")
    g.add_argument("--max-depth", type=int, default=None if of_model else 4,
                   help=f"maximum nesting depth{default or ' (default 4)'}")
    g.add_argument("--no-zero-digit", action="store_true", default=None if of_model else False,
                   help="do not emit 0 at depth 0 (the blog's prose)")
    g.add_argument("--separator", default=None if of_model else " ",
                   help=f"character after every token, '' for none{default or ' (default space)'}")


def _spec(args, base=None):
    """The grammar named by the flags, each flag left out taken from ``base`` (a GrammarSpec)."""
    import dataclasses

    import grammar
    spec = base or grammar.GrammarSpec()
    given = {"max_depth": args.max_depth, "separator": args.separator,
             "zero_digit": None if args.no_zero_digit is None else not args.no_zero_digit}
    return dataclasses.replace(spec, **{k: v for k, v in given.items() if v is not None})


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint directory (default: the shipped GRU-15)")


def _text_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")


def _read_text(args) -> str:
    if args.text is not None:
        return args.text
    try:
        return args.file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RnnscopeError(f"{args.file}: no such file") from None
    except UnicodeDecodeError as e:
        raise RnnscopeError(f"{args.file}: not UTF-8 text ({e})") from None


def cmd_generate(args) -> None:
    import grammar
    from models.atomic import check_writable, write_text_atomic
    if args.out:
        check_writable(args.out)
    text = grammar.generate(args.chars, seed=args.seed, spec=_spec(args))
    if args.out:
        write_text_atomic(args.out, text)
        print(f"wrote {len(text):,} characters to {args.out}")
    else:
        sys.stdout.write(text + "\n")


def cmd_train(args) -> None:
    import grammar  # noqa: F401
    from models.data import GrammarData, TextData
    from models.model import ModelConfig
    from models.train import TrainConfig, train
    if args.data and args.soft_targets:
        raise RnnscopeError("--soft-targets needs the grammar's oracle; a text file has none")
    data = (TextData(args.data) if args.data else
            GrammarData(_spec(args), row_chars=args.row_chars, eval_chars=args.eval_chars, seed=args.seed,
                        soft_targets=args.soft_targets))
    model_config = ModelConfig(vocab=data.vocab.chars, cell=args.cell, hidden_size=args.hidden,
                               num_layers=args.layers, embedding_dim=None if args.one_hot else args.embedding)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch, bptt=args.bptt, lr=args.lr, seed=args.seed,
                      device=args.device, eval_every=args.eval_every, threads=args.threads)
    record = train(data, model_config, cfg, args.out, progress=not args.quiet)
    best = record["best"]
    print(f"best held-out loss {best['heldout_loss']:.5f} nats/char at step {best['step']}"
          + (f" ({best['ratio_to_floor']:.5f} x the floor {record['floor']:.5f})" if record["floor"] else "")
          + f"; trained {record['history'][-1]['seconds']:.0f}s; saved to {args.out}")


def cmd_eval(args) -> None:
    import grammar
    from models import checkpoint
    from models.data import grammar_spec_of
    from models.evaluate import grammatical_share, heldout_loss
    model = checkpoint.load(args.model, args.device)
    own = grammar_spec_of(model.training_record, model.config.vocab)
    spec = _spec(args, own)
    if args.text is not None or args.file is not None:
        text, floor = _read_text(args), None
    elif own is None:
        raise RnnscopeError(f"{args.model} was trained on a text file, not the grammar: give --text or --file")
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
    print(json.dumps(result, indent=2))


def cmd_trace(args) -> None:
    from models import checkpoint
    from models.tracer import trace
    from models.atomic import check_writable
    check_writable(args.out)
    model = checkpoint.load(args.model, args.device)
    tr = trace(model, _read_text(args))
    tr.save(args.out)
    views = ", ".join(f"{v}_l{k}" for k in range(tr.num_layers) for v in tr.views)
    print(f"wrote {args.out}: {len(tr):,} chars, {views}, probs, annotations {sorted(tr.annotations)}")


def cmd_sample(args) -> None:
    from models import checkpoint
    from models.sample import sample
    model = checkpoint.load(args.model, args.device)
    for text in sample(model, args.chars, args.temperature, args.seed, [args.prime] * args.n):
        print(args.prime + text)


def cmd_summary(args) -> None:
    from models import checkpoint
    from models.summary import summary
    print(summary(checkpoint.load(args.model)))


def cmd_export(args) -> None:
    from app.export import export_file
    if args.index is None and args.text is None and args.file is None:
        raise RnnscopeError("say which sequence: --text, --file, or --index (with --window)")
    text = _read_text(args) if args.index is None else None
    try:
        cells = [int(c) for c in args.cells.split(",") if c.strip()]
    except ValueError:
        raise RnnscopeError(f"--cells takes comma-separated cell numbers, got {args.cells!r}") from None
    path, seconds = export_file(args.out, args.model, text=text, index=args.index, window=args.window,
                                view=args.view, layer=args.layer, order=args.order, selected=cells,
                                hide_separators=args.hide_separators)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {seconds:.2f}s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnscope", description="A microscope for recurrent networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="write a stream of the parenthesis language")
    p.add_argument("--chars", type=int, default=10_000, help="length in characters (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", type=Path, help="output file (default: stdout)")
    _grammar_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="train a character model (grammar by default, or --data FILE)")
    p.add_argument("--out", type=Path, required=True, help="checkpoint directory to write (best model is kept)")
    p.add_argument("--data", type=Path, help="train on this UTF-8 text file instead of the grammar")
    p.add_argument("--cell", choices=["gru", "lstm", "rnn"], default="gru")
    p.add_argument("--hidden", type=int, default=15, help="hidden cells per layer (default 15)")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--embedding", type=int, default=15, help="embedding size (default 15)")
    p.add_argument("--one-hot", action="store_true", help="feed one-hot characters instead of an embedding")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--bptt", type=int, default=100, help="characters per back-propagation window")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--row-chars", type=int, default=20_000, help="grammar: stream length per batch row per epoch")
    p.add_argument("--eval-chars", type=int, default=200_000, help="grammar: held-out characters")
    p.add_argument("--soft-targets", action="store_true",
                   help="grammar: learn the oracle's exact next-char distribution instead of the sampled character")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=500, help="steps between held-out evaluations (default 500)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _grammar_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="held-out loss beside the oracle floor, and grammatical samples")
    _model_arg(p)
    _text_arg(p, required=False)
    p.add_argument("--chars", type=int, default=200_000, help="fresh grammar stream length (default 200000)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--samples", type=_at_least(0), default=0,
                   help="also sample N 500-token texts and count grammatical ones")
    p.add_argument("--device", default="cpu")
    _grammar_args(p, of_model=True)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("trace", help="record hidden states, gates and probabilities to .npz")
    _model_arg(p)
    _text_arg(p)
    p.add_argument("-o", "--out", type=Path, required=True, help="output .npz")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("sample", help="sample text from a model")
    _model_arg(p)
    p.add_argument("--chars", type=int, default=200)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prime", default="(", help="text read before sampling (default '(')")
    p.add_argument("-n", type=_at_least(1), default=1, help="number of samples")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("export", help="one standalone HTML heatmap (opens offline), as the app shows it")
    _model_arg(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")
    src.add_argument("--index", type=int, help="start of a window into the model's held-out stream")
    p.add_argument("--window", type=int, default=100, help="window length for --index (default 100)")
    p.add_argument("--view", default="h", help="h, or a gate: z r n (GRU), i f g o c (LSTM) (default h)")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--order", choices=["index", "depth"], default="index", help="cell order (default index)")
    p.add_argument("--cells", default="", help="comma-separated cells to plot as lines, e.g. 4,12")
    p.add_argument("--hide-separators", action="store_true",
                   help="leave out the separator columns (the grammar's separator; spaces in other text)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output .html")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("summary", help="layers, output shapes and parameter counts")
    _model_arg(p)
    p.set_defaults(func=cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    from grammar import GrammarError
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (RnnscopeError, GrammarError, OSError) as e:
        print(f"rnnscope {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"rnnscope {args.command}: error: out of memory; ask for less", file=sys.stderr)
        return 2
    return 0
