"""Making data and models: ``generate`` (a grammar stream), ``corpus`` (a text corpus) and ``train``
(a character model on either, or seed 000's sum3 task), with their parsers beside their handlers."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.stopping import sigterm_unwinds
from rnnscope.cli.common import at_least, runtime, runtime_args


def grammar_args(p: argparse.ArgumentParser, of_model: bool = False) -> None:
    """``of_model``: the defaults are the model's own grammar (from its training record)."""
    default = " (default: the model's own)" if of_model else ""
    g = p.add_argument_group("grammar")
    g.add_argument("--max-depth", type=int, default=None if of_model else 4,
                   help=f"maximum nesting depth{default or ' (default 4)'}")
    g.add_argument("--no-zero-digit", action="store_true", default=None if of_model else False,
                   help="do not emit 0 at depth 0 (the blog's prose)")
    g.add_argument("--no-digits", action="store_true", default=None if of_model else False,
                   help="brackets only, no digits: nothing in the input names the depth (for `rnnscope generalise`)")
    g.add_argument("--separator", default=None if of_model else " ",
                   help=f"character after every token, '' for none{default or ' (default space)'}")


def spec_from(args, base=None):
    """The grammar named by the flags, each flag left out taken from ``base`` (a GrammarSpec)."""
    import rnnscope as rs
    return rs.grammar_spec(base, max_depth=args.max_depth, separator=args.separator,
                           zero_digit=None if args.no_zero_digit is None else not args.no_zero_digit,
                           digits=None if args.no_digits is None else not args.no_digits)



def cmd_generate(args) -> None:
    import rnnscope as rs
    from rnnscope.base.atomic import check_writable, write_text_atomic
    if args.out:
        check_writable(args.out)
    text = rs.generate(args.chars, seed=args.seed, spec=spec_from(args))
    if args.out:
        write_text_atomic(args.out, text)
        print(f"wrote {len(text):,} characters to {args.out}")
    else:
        sys.stdout.write(text + "\n")


# The flags that define a training run: left out, each takes its default for a new run and the


def cmd_corpus(args) -> None:
    """Build a demonstration corpus (rnnscope.corpus) and its sidecar record."""
    import rnnscope as rs
    record = rs.corpus(args.name, args.out, args.max_chars)
    side = record["sidecar"]
    print(f"wrote {record['chars']:,} characters from {record['files']} files of Python {record['python']}'s "
          f"standard library to {args.out} (record: {side}; text sha256 {record['text_sha256'][:12]})")



# run's own value with --resume (so one given with --resume that differs from the run is refused).
RUN_FLAGS = ("out", "data", "val", "val_fraction", "cell", "hidden", "layers", "embedding", "one_hot",
             "nonlinearity", "no_bias", "steps", "batch", "bptt", "lr", "row_chars", "eval_chars",
             "soft_targets", "seed", "eval_every", "save_every", "max_depth", "no_zero_digit", "separator")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _run_values(spec: dict) -> dict:
    """A run's settings (run.json) in the train command's flags."""
    d, m, t = spec["data"], spec["model"], spec["train"]
    values = {"out": spec["out"], "cell": m["cell"], "hidden": m["hidden_size"], "layers": m["num_layers"],
              "embedding": m["embedding_dim"], "one_hot": m["embedding_dim"] is None,
              "nonlinearity": m.get("nonlinearity", "tanh"), "no_bias": not m.get("bias", True),
              "steps": t["steps"], "batch": t["batch_size"], "bptt": t["bptt"], "lr": t["lr"], "seed": t["seed"],
              "eval_every": t["eval_every"], "save_every": t["save_every"]}
    if d["kind"] == "text":
        return values | {"data": d["path"], "val": d["val"].get("path"), "val_fraction": d["val"].get("fraction"),
                         "row_chars": None, "eval_chars": None, "soft_targets": False, "max_depth": None,
                         "no_zero_digit": None, "separator": None}
    return values | {"data": None, "val": None, "val_fraction": None, "row_chars": d["row_chars"],
                     "eval_chars": d["eval_chars"], "soft_targets": d["soft_targets"],
                     "max_depth": d["spec"]["max_depth"], "no_zero_digit": not d["spec"]["zero_digit"],
                     "separator": d["spec"]["separator"]}


def _check_resume_flags(args, spec: dict) -> None:
    """Every run-defining flag given with --resume must say what the run already is."""
    run = _run_values(spec)
    for dest in RUN_FLAGS:
        given = getattr(args, dest, None)
        if given is None:
            continue
        ours = run.get(dest)
        same = (Path(given).resolve() == Path(ours).resolve() if dest in ("out", "data", "val") and ours
                else given == ours)
        if not same:
            what = "nothing (it trains on the grammar)" if ours is None and dest in ("data", "val", "val_fraction") \
                else "nothing (it trains on text)" if ours is None else repr(ours)
            raise RnnscopeError(f"--resume {args.resume}: {_flag(dest)} {given!r} contradicts the run, which has "
                                f"{what}; leave {_flag(dest)} out to go on with the run's own")


def _fill_train_defaults(args) -> None:
    """The run-defining flags default to None (so --resume can tell a flag given from one left out);
    a new run takes their usual defaults here."""
    _fill_defaults(args, RUN_FLAGS)


def cmd_train(args) -> int | None:
    # torchrun ends a run's other processes with SIGTERM when one dies: rank 0 may be writing a checkpoint
    with sigterm_unwinds():
        return _train_command(args)


def _train_command(args) -> int | None:
    args.given = _given(args)
    _fill_defaults(args, [dest for dest in args.train_defaults if dest not in RUN_FLAGS])
    if args.task or args.given & set(TASK_FLAGS):
        from rnnscope.api.training import world
        if world().distributed:
            raise RnnscopeError("--task sum3 trains on one process (its model has 1 unit); run it without torchrun")
        _fill_train_defaults(args)
        return _train_task(args)
    import rnnscope as rs
    if args.resume is not None:
        if args.minutes is not None and not args.minutes > 0:
            raise RnnscopeError(f"--minutes must be positive, got {args.minutes}")
        _check_resume_flags(args, rs.read_run(args.resume))
        runtime(args)
        model = rs.resume(args.resume, progress=not args.quiet, minutes=args.minutes, stop_at=args.stop_at,
                          threads=args.threads, device=None if args.device == "auto" else args.device)
        return _train_report(model, rs.read_run(args.resume)["out"])
    _fill_train_defaults(args)
    return _new_run(args)


def _new_run(args) -> int:
    import rnnscope as rs
    if args.out is None:
        raise RnnscopeError("say where to save: --out DIR (or --resume RUN to go on with a run)")
    if args.data and args.soft_targets:
        raise RnnscopeError("--soft-targets needs the grammar's oracle; a text file has none")
    if not args.data and (args.val or args.val_fraction != args.train_defaults["val_fraction"]):
        raise RnnscopeError("--val and --val-fraction go with --data (the grammar makes its own held-out stream)")
    if args.val and args.val_fraction != args.train_defaults["val_fraction"]:
        raise RnnscopeError("give --val FILE or --val-fraction F, not both")
    if args.minutes is not None and not args.minutes > 0:
        raise RnnscopeError(f"--minutes must be positive, got {args.minutes}")
    runtime(args)   # an unknown --device is refused before any data is read or made
    model = rs.train(args.out, data=args.data, val=args.val, val_fraction=args.val_fraction,
                     spec=None if args.data else spec_from(args), row_chars=args.row_chars,
                     eval_chars=args.eval_chars, soft_targets=args.soft_targets, cell=args.cell, hidden=args.hidden,
                     layers=args.layers, embedding=None if args.one_hot else args.embedding,
                     nonlinearity=args.nonlinearity, bias=not args.no_bias, steps=args.steps, batch=args.batch,
                     bptt=args.bptt, lr=args.lr, seed=args.seed, eval_every=args.eval_every,
                     save_every=args.save_every, device=args.device, threads=args.threads,
                     progress=not args.quiet, force=args.force, minutes=args.minutes, stop_at=args.stop_at)
    return _train_report(model, args.out)


def _train_report(model, out) -> int:
    """The run's last line; exit status 1 when a finished run's best held-out loss is worse than the unigram
    baseline (the model learned nothing from context: a script must not go on as if it had), saying where it
    was kept."""
    import math
    import sys
    if model is None:   # under torchrun, rank 0 speaks for the run
        return 0
    record = model.training
    best = record["best"]
    uniform = math.log(len(model.vocab))
    worse = ""
    if record["best_worse_than_unigram"]:
        worse = (f" -- WARNING: worse than the unigram baseline {record['unigram']:.5f} nats/char (character "
                 f"frequencies alone): it learned nothing from context")
        if best["heldout_loss"] > 2 * uniform:   # far worse than guessing uniformly: the weights blew up
            worse += (f"; worse than twice a uniform guess ({uniform:.3f} nats/char): the run blew up, "
                      f"try a smaller --lr")
    stopped = (f"; stopped at step {record['history'][-1]['step']} of {record['train']['steps']} "
               f"({record['stopped']}): continue with --resume {model.run_dir}") if record.get("stopped") else ""
    print(f"best held-out loss {best['heldout_loss']:.5f} nats/char ({best['heldout_loss'] * (1 / math.log(2)):.4f} "
          f"bits/char) at step {best['step']}"
          + (f" ({best['ratio_to_floor']:.5f} x the floor {record['floor']:.5f})" if record["floor"] else "")
          + f"{worse}; trained {record['history'][-1]['seconds']:.0f}s; saved to {out}{stopped}")
    if not record["best_worse_than_unigram"] or record.get("stopped"):   # a session to resume is not the run's end
        return 0
    print(f"rnnscope train: error: the best held-out loss {best['heldout_loss']:.5f} nats/char is worse than the "
          f"unigram baseline {record['unigram']:.5f}: the model learned nothing from context; the checkpoint is kept "
          f"at {out} (its run, to resume or look at, at {model.run_dir})", file=sys.stderr)
    return 1


# The flags of a built-in task (seed 000's sum3), and the train flags it shares with text and grammar
# The train command's flags (argparse destinations) that default to None, and those of a built-in task
# (those whose presence matters: --device, --threads, --quiet and --force go with every kind of run)
TRAIN_FLAGS = (*RUN_FLAGS, "resume", "minutes", "stop_at", "no_digits", "task", "input", "epochs", "triples", "cosine")
TASK_FLAGS = {"task": "--task", "input": "--input", "epochs": "--epochs", "triples": "--triples",
              "cosine": "--cosine"}
TASK_SHARED = {"out", "force", "seed", "lr", "batch", "device", "threads", "quiet"}


def _given(args) -> set[str]:
    """The flags actually on the command line: every train flag defaults to None in the parser (its
    usual default is kept in ``train_defaults``), so one left out is None and one given is not."""
    return {dest for dest in args.train_defaults if getattr(args, dest) is not None}


def _fill_defaults(args, dests) -> None:
    for dest in dests:
        if getattr(args, dest) is None:
            setattr(args, dest, args.train_defaults[dest])


def _train_task(args) -> None:
    """``train --task sum3``: seed 000's 1-unit linear RNN (training/sum3.py); a grammar or text flag is refused."""
    import rnnscope as rs
    given = args.given
    if not args.task:
        flags = sorted(TASK_FLAGS[k] for k in given & set(TASK_FLAGS))
        raise RnnscopeError(f"{', '.join(flags)} {'goes' if len(flags) == 1 else 'go'} with --task sum3")
    stray = sorted(given - set(TASK_FLAGS) - TASK_SHARED)
    if stray:
        names = ", ".join("--" + d.replace("_", "-") for d in stray)
        raise RnnscopeError(f"--task {args.task} trains seed 000's 1-unit linear RNN on digit triples; "
                            f"{names} {'belongs' if len(stray) == 1 else 'belong'} to grammar or text training")
    runtime(args)
    model = rs.train_sum3(args.out, input=args.input, triples=args.triples, epochs=args.epochs, seed=args.seed,
                          cosine=args.cosine, batch_size=args.batch if "batch" in given else None,
                          lr=args.lr if "lr" in given else None, force=args.force,
                          progress=None if args.quiet else print)
    record = model.training
    final, cfg = record["final"], record["config"]
    print(f"validation mean squared error {final['val_mse']:.3g} on {record['data']['validated_on']:,} triples, "
          f"{final['val_rounded_correct']:.1%} rounded to the sum; trained {final['seconds']:.1f}s "
          f"({cfg['epochs']} epochs of {record['data']['trained_on']:,} triples, batch {cfg['batch_size']}, Adam "
          f"{cfg['lr']:g}{', cosine-decayed' if cfg['cosine'] else ''}); saved to {args.out}; "
          f"see it with: rnnscope weights --model {args.out}")




def add_parsers(sub) -> None:
    p = sub.add_parser("generate", help="write a stream of the parenthesis language")
    p.add_argument("--chars", type=int, default=10_000, help="length in characters (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("-o", "--out", type=Path, help="output file, written atomically (default: stdout)")
    grammar_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "train", help="train a character model (grammar by default, or --data FILE)",
        description="Train a character model on the grammar, or on any UTF-8 text (--data; NFC-normalised on the "
                    "way in, so a decomposed e + accent is one character). The best model by held-out loss is "
                    "saved to --out; the run (run.json, metrics.jsonl with losses in nats and bits per char, "
                    "periodic checkpoints step-N/ with --save-every, and the state to resume from: weights, "
                    "Adam's state, the carried hidden state, the data position) goes to OUT.run beside it. "
                    "--resume OUT.run goes on from the saved state, with the same result as a run never stopped. "
                    "On several processes: torchrun --nproc-per-node N -m rnnscope train ... (DistributedDataParallel; "
                    "gloo on the CPU, NCCL on GPUs): --batch is the global batch, each process trains on its 1/N of "
                    "the rows, rank 0 alone evaluates, writes and prints; a run may be resumed on another number "
                    "of processes.")
    p.add_argument("-o", "--out", type=Path, help="checkpoint directory to write (best model is kept)")
    p.add_argument("--resume", type=Path, metavar="RUN",
                   help="go on with the run in this directory (OUT.run) from its last saved state")
    p.add_argument("--force", action="store_true", help="replace a checkpoint (and its run) already at --out")
    p.add_argument("--data", type=Path, help="train on this UTF-8 text file instead of the grammar")
    p.add_argument("--val", type=Path, help="text: held-out text from this file (default: the tail of --data)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="text: hold out this last fraction of --data (default 0.1)")
    p.add_argument("--cell", choices=["gru", "lstm", "rnn"], default="gru", help="recurrent cell (default gru)")
    p.add_argument("--hidden", type=int, default=15, help="hidden cells per layer (default 15)")
    p.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    p.add_argument("--embedding", type=int, default=15, help="embedding size (default 15)")
    p.add_argument("--one-hot", action="store_true", help="feed one-hot characters instead of an embedding")
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], default="tanh",
                   help="the plain RNN's activation (--cell rnn only; default tanh)")
    p.add_argument("--no-bias", action="store_true", help="recurrent layers without bias vectors")
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps (default 3000)")
    p.add_argument("--batch", type=int, default=128, help="batch rows, each its own stream (default 128)")
    p.add_argument("--bptt", type=int, default=100, help="characters per back-propagation window (default 100)")
    p.add_argument("--lr", type=float, default=1e-2, help="peak Adam learning rate, cosine-decayed (default 0.01)")
    p.add_argument("--row-chars", type=int, default=20_000,
                   help="grammar: stream length per batch row per epoch (default 20000)")
    p.add_argument("--eval-chars", type=int, default=200_000, help="grammar: held-out characters (default 200000)")
    p.add_argument("--soft-targets", action="store_true",
                   help="grammar: learn the oracle's exact next-char distribution instead of the sampled character")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and data (default 0)")
    p.add_argument("--eval-every", type=int, default=500, help="steps between held-out evaluations (default 500)")
    p.add_argument("--save-every", type=int, help="steps between periodic checkpoints OUT.run/step-N (default none)")
    p.add_argument("--minutes", type=float,
                   help="stop cleanly after this many minutes (evaluate, save); --resume goes on later")
    p.add_argument("--stop-at", type=at_least(1), metavar="STEP",
                   help="stop cleanly after this step (evaluate, save); --resume goes on later")
    runtime_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    grammar_args(p)
    t = p.add_argument_group("a built-in task instead of characters (seed 000: the sum of three digits)")
    t.add_argument("--task", choices=["sum3"],
                   help="sum3: a 1-unit linear RNN learns the sum of three digits (its last state is the sum); "
                        "takes -o, --force, --seed, --lr, --batch, --device, --threads, --quiet and the flags here")
    t.add_argument("--input", choices=["scalar", "one-hot", "embedding"], default="scalar",
                   help="how a digit is fed: its value as one number, one-hot, or a learned 10-d embedding "
                        "(default scalar, the seed's first model)")
    t.add_argument("--epochs", type=at_least(1), help="epochs (default: the seed's: scalar 5, one-hot 8, embedding 4)")
    t.add_argument("--triples", type=at_least(10), default=10_000,
                   help="random triples, the last 20%% held out for validation (default 10000, as the seed)")
    t.add_argument("--cosine", action="store_true",
                   help="decay Adam's rate to zero along a cosine (the seed keeps it constant); lets a larger "
                        "--lr and --batch reach the same weights in fewer steps")
    # Every flag defaults to None, so --resume and --task can tell a flag given from one left out;
    # cmd_train fills in the usual defaults, kept here.
    defaults = {dest: p.get_default(dest) for dest in TRAIN_FLAGS}
    p.set_defaults(func=cmd_train, train_defaults=defaults, **{dest: None for dest in TRAIN_FLAGS})


    p = sub.add_parser(
        "corpus", help="build a demonstration text corpus (the Python standard library's source)",
        description="Build a reproducible corpus every machine has: python-stdlib is the .py files of the running "
                    "interpreter's standard library (no tests, site-packages, idlelib or non-ASCII files), in "
                    "sorted order, each after a '# file: PATH' line, whole files up to --max-chars, NFC. A sidecar "
                    "FILE.json records the Python version, the file list, and digests of both.")
    p.add_argument("name", choices=["python-stdlib"], help="which corpus")
    p.add_argument("-o", "--out", type=Path, required=True, help="the text file to write (atomically)")
    p.add_argument("--max-chars", type=at_least(1_000), default=3_000_000,
                   help="take whole files up to this many characters (default 3000000)")
    p.set_defaults(func=cmd_corpus)

