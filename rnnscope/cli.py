"""One command, ``rnnscope``, for everything outside the app:
generate / train / eval / trace / sample / summary / export / import, and the analyses
(probe / explain / match / generalise).

Each subcommand parses its arguments, calls into grammar/ or models/, and prints. Errors a
user can cause (bad path, corrupt checkpoint, unknown characters ...) exit with status 2
and one line on stderr; nothing is half-written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.paths import DEFAULT_CHECKPOINT  # torch-free, so --help stays fast

DEFAULT_MODEL = str(DEFAULT_CHECKPOINT)


def _grammar_args(p: argparse.ArgumentParser, of_model: bool = False) -> None:
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


def _spec(args, base=None):
    """The grammar named by the flags, each flag left out taken from ``base`` (a GrammarSpec)."""
    import dataclasses

    from rnnscope import grammar
    spec = base or grammar.GrammarSpec()
    given = {"max_depth": args.max_depth, "separator": args.separator,
             "zero_digit": None if args.no_zero_digit is None else not args.no_zero_digit,
             "digits": None if args.no_digits is None else not args.no_digits}
    return dataclasses.replace(spec, **{k: v for k, v in given.items() if v is not None})


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _import_target_args(p) -> None:
    """What every `rnnscope import FRAMEWORK` takes besides the model: its vocabulary and where to write."""
    p.add_argument("--vocab", type=Path, required=True, metavar="VOCAB.json",
                   help="the characters in index order (a JSON list, or an object character -> index)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the checkpoint directory to write")
    p.add_argument("--force", action="store_true", help="replace a checkpoint already at --out")


def _runtime_args(p: argparse.ArgumentParser, device_help: str = "") -> None:
    """--device and --threads, the same on every command that runs a model."""
    p.add_argument("--device", default="auto",
                   help=device_help or "auto (a CUDA GPU when torch sees one, else the CPU) | cpu | cuda | cuda:N "
                                       "(default auto)")
    p.add_argument("--threads", type=_at_least(1),
                   help="CPU threads for torch (default: torch's choice; 1 is fastest when anything else runs)")


def _runtime(args):
    """Apply --threads and resolve --device (rnnscope/base/runtime.py: one meaning everywhere)."""
    from rnnscope.base.runtime import pick_device, set_threads
    set_threads(args.threads)
    return pick_device(args.device)


def _out_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("-o", "--out", type=Path, help=f"write {what} to this file (atomically) instead of stdout")


def _check_out(args) -> None:
    """Before any work: an -o that cannot be written fails now, not after the model ran."""
    from rnnscope.base.atomic import check_writable
    if args.out:
        check_writable(args.out)


def _emit(args, text: str, what: str) -> None:
    """Print ``text``, or write it to -o atomically and say so."""
    from rnnscope.base.atomic import write_text_atomic
    if args.out:
        write_text_atomic(args.out, text + "\n")
        print(f"wrote {what} to {args.out}")
    else:
        print(text)


def _layer_json_out_runtime(p: argparse.ArgumentParser, what: str) -> None:
    """--layer, --json, -o and --device/--threads: the tail of the commands that look at one layer."""
    p.add_argument("--layer", type=int, default=0, help="the layer (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of text")
    _out_arg(p, what)
    _runtime_args(p)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("rnnscope")
    except PackageNotFoundError:   # run from a checkout that was never installed
        return "unknown (not installed)"


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint directory (default: the shipped GRU-15)")


def _text_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")


def _read_text(args) -> str:
    return args.text if args.text is not None else _read_file(args.file)


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RnnscopeError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise RnnscopeError(f"{path}: not UTF-8 text ({e})") from None


def cmd_generate(args) -> None:
    from rnnscope import grammar
    from rnnscope.base.atomic import write_text_atomic
    _check_out(args)
    text = grammar.generate(args.chars, seed=args.seed, spec=_spec(args))
    if args.out:
        write_text_atomic(args.out, text)
        print(f"wrote {len(text):,} characters to {args.out}")
    else:
        sys.stdout.write(text + "\n")


# The flags that define a training run: left out, each takes its default for a new run and the
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
    for dest, default in args.train_defaults.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def cmd_train(args) -> None:
    if args.task or _given(args) & set(TASK_FLAGS):
        from rnnscope.models.training.distributed import World
        if World.from_env().distributed:
            raise RnnscopeError("--task sum3 trains on one process (its model has 1 unit); run it without torchrun")
        _fill_train_defaults(args)
        return _train_task(args)
    from rnnscope.models.training.run import read_run_json
    from rnnscope.models.training.train import resume
    if args.resume is not None:
        if args.minutes is not None and not args.minutes > 0:
            raise RnnscopeError(f"--minutes must be positive, got {args.minutes}")
        _check_resume_flags(args, read_run_json(args.resume))
        _runtime(args)
        record = resume(args.resume, progress=not args.quiet, minutes=args.minutes, stop_at=args.stop_at,
                        threads=args.threads, device=None if args.device == "auto" else args.device)
        return _train_report(record, read_run_json(args.resume)["out"])
    _fill_train_defaults(args)
    _new_run(args)


def _new_run(args) -> None:
    from rnnscope import grammar  # noqa: F401
    from rnnscope.models.data.batches import GrammarData, TextData
    from rnnscope.models.network.model import ModelConfig
    from rnnscope.models.training.train import TrainConfig, train
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
    _runtime(args)   # an unknown --device is refused before any data is read or made
    data = (TextData(args.data, val_path=args.val, val_fraction=args.val_fraction, seed=args.seed) if args.data else
            GrammarData(_spec(args), row_chars=args.row_chars, eval_chars=args.eval_chars, seed=args.seed,
                        soft_targets=args.soft_targets))
    model_config = ModelConfig(vocab=data.vocab.chars, cell=args.cell, hidden_size=args.hidden,
                               num_layers=args.layers, embedding_dim=None if args.one_hot else args.embedding,
                               nonlinearity=args.nonlinearity, bias=not args.no_bias)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch, bptt=args.bptt, lr=args.lr, seed=args.seed,
                      device=args.device, eval_every=args.eval_every, save_every=args.save_every,
                      threads=args.threads)
    record = train(data, model_config, cfg, args.out, progress=not args.quiet, force=args.force,
                   minutes=args.minutes, stop_at=args.stop_at)
    _train_report(record, args.out)


def _train_report(record: dict, out) -> None:
    import math
    from rnnscope.models.training.run import BITS_PER_NAT, run_dir_of
    from rnnscope.models.network.checkpoint import read_config
    from rnnscope.models.training.distributed import World
    if not World.from_env().writer:   # under torchrun, rank 0 speaks for the run
        return
    best = record["best"]
    uniform = math.log(len(read_config(out)["model"]["vocab"]))
    worse = ""
    if record["best_worse_than_unigram"]:
        worse = (f" -- WARNING: worse than the unigram baseline {record['unigram']:.5f} nats/char (character "
                 f"frequencies alone): it learned nothing from context")
        if best["heldout_loss"] > 2 * uniform:   # far worse than guessing uniformly: the weights blew up
            worse += (f"; worse than twice a uniform guess ({uniform:.3f} nats/char): the run blew up, "
                      f"try a smaller --lr")
    stopped = (f"; stopped at step {record['history'][-1]['step']} of {record['train']['steps']} "
               f"({record['stopped']}): continue with --resume {run_dir_of(out)}") if record.get("stopped") else ""
    print(f"best held-out loss {best['heldout_loss']:.5f} nats/char ({best['heldout_loss'] * BITS_PER_NAT:.4f} "
          f"bits/char) at step {best['step']}"
          + (f" ({best['ratio_to_floor']:.5f} x the floor {record['floor']:.5f})" if record["floor"] else "")
          + f"{worse}; trained {record['history'][-1]['seconds']:.0f}s; saved to {out}{stopped}")


# The flags of a built-in task (seed 000's sum3), and the train flags it shares with text and grammar
TASK_FLAGS = {"task": "--task", "input": "--input", "epochs": "--epochs", "triples": "--triples",
              "cosine": "--cosine"}
TASK_SHARED = {"out", "force", "seed", "lr", "batch", "device", "threads", "quiet", "func", "command"}
_UNSET = object()


def _given(args) -> set[str]:
    """The destinations of the flags actually on the command line (not their defaults): argparse
    cannot tell ``--hidden 15`` from no --hidden, so the line is parsed again with every default unset."""
    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions).choices[args.command]
    train.set_defaults(**{a.dest: _UNSET for a in train._actions if a.dest != "help"})
    again = parser.parse_args(args.argv)
    return {k for k, v in vars(again).items()
            if v is not _UNSET and k not in ("command", "func", "argv", "train_defaults")}


def _train_task(args) -> None:
    """``train --task sum3``: seed 000's 1-unit linear RNN (training/sum3.py); a grammar or text flag is refused."""
    from rnnscope.models.training.sum3 import Sum3Config, train_sum3
    given = _given(args)
    if not args.task:
        flags = sorted(TASK_FLAGS[k] for k in given & set(TASK_FLAGS))
        raise RnnscopeError(f"{', '.join(flags)} {'goes' if len(flags) == 1 else 'go'} with --task sum3")
    stray = sorted(given - set(TASK_FLAGS) - TASK_SHARED)
    if stray:
        names = ", ".join("--" + d.replace("_", "-") for d in stray)
        raise RnnscopeError(f"--task {args.task} trains seed 000's 1-unit linear RNN on digit triples; "
                            f"{names} {'belongs' if len(stray) == 1 else 'belong'} to grammar or text training")
    _runtime(args)
    cfg = Sum3Config(input=args.input, triples=args.triples, epochs=args.epochs, seed=args.seed, cosine=args.cosine,
                     batch_size=args.batch if "batch" in given else None, lr=args.lr if "lr" in given else None)
    record = train_sum3(cfg, args.out, force=args.force, progress=None if args.quiet else print)
    final = record["final"]
    print(f"validation mean squared error {final['val_mse']:.3g} on {record['data']['validated_on']:,} triples, "
          f"{final['val_rounded_correct']:.1%} rounded to the sum; trained {final['seconds']:.1f}s "
          f"({cfg.epochs} epochs of {record['data']['trained_on']:,} triples, batch {cfg.batch_size}, Adam "
          f"{cfg.lr:g}{', cosine-decayed' if cfg.cosine else ''}); saved to {args.out}; "
          f"see it with: rnnscope weights --model {args.out}")


def _predicts_characters(model, args, what: str) -> None:
    """A task model (no decoder) predicts no next character: refuse the commands that need one."""
    if model.decoder is None:
        raise RnnscopeError(f"{args.model}: a {model.config.task} model predicts a sum, not the next character: "
                            f"nothing to {what}; see what it learned with rnnscope weights")


def cmd_weights(args) -> None:
    """What a sum3 model learned, read off its weights, and its sums of new triples (analysis/decode/weights.py)."""
    from rnnscope.analysis.decode.weights import predictions, sum3_weights, weights_text
    from rnnscope.models.network import checkpoint
    from rnnscope.models.training.sum3 import DIGITS, is_sum3, new_triples, predict
    _check_out(args)
    model = checkpoint.load(args.model)
    if not is_sum3(model):
        raise RnnscopeError(f"{args.model}: the weights view reads a sum3 model (train one with "
                            f"rnnscope train --task sum3); this is {model.config.describe()}")
    view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), model.config.input_kind)
    digits = new_triples(args.triples, args.seed)
    view["predictions"] = predictions(digits, predict(model, digits))
    _emit(args, json.dumps(view, indent=1) if args.json else weights_text(view), "the weights view")


def cmd_eval(args) -> None:
    from rnnscope import grammar
    from rnnscope.models.network import checkpoint
    from rnnscope.models.data.batches import grammar_spec_of
    from rnnscope.models.training.evaluate import grammatical_share, heldout_loss
    _check_out(args)
    model = checkpoint.load(args.model, _runtime(args))
    _predicts_characters(model, args, "evaluate as a character model")
    own = grammar_spec_of(model.training_record, model.config.vocab)
    spec = _spec(args, own)
    if args.text is not None or args.file is not None:
        text, floor = _read_text(args), None
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
    _emit(args, json.dumps(result, indent=2) if args.json else _eval_text(result), "the evaluation")


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


def cmd_trace(args) -> None:
    from rnnscope.models.network import checkpoint
    _check_out(args)
    model = checkpoint.load(args.model, _runtime(args))
    tr, what = _sequence_trace(model, args)
    tr.save(args.out)
    views = ", ".join(f"{v}_l{k}" for k in range(tr.num_layers) for v in tr.views)
    print(f"wrote {args.out}: {len(tr):,} chars{what}, {views}, probs, annotations {sorted(tr.annotations)}")


def _sequence_trace(model, args):
    """The trace of the sequence --text / --file / --index names, and a note on what it is."""
    from rnnscope.models.reading.tracer import trace
    if args.index is None:
        if args.window is not None or args.from_zero_state:
            raise RnnscopeError("--window and --from-zero-state go with --index (a held-out window); "
                                "--text and --file are always read from the zero state")
        return trace(model, _read_text(args)), ""
    return _heldout_window(model, args)


def cmd_states(args) -> None:
    """Write a sequence's states in another tool's format (today: LSTMVis's directory)."""
    from rnnscope.models.network import checkpoint
    from rnnscope.models.interop.lstmvis import check_out_dir, write_lstmvis
    check_out_dir(args.out, args.force)     # before the model runs, not after
    if args.chars is not None:
        if args.window is not None:
            raise RnnscopeError("--window goes with --index; --chars N is the window 0 .. N-1 already")
        args.index, args.window = 0, args.chars
    model = checkpoint.load(args.model, _runtime(args))
    tr, what = _sequence_trace(model, args)
    tr, categories = _with_annotations(model, tr, args)
    write_lstmvis(tr, args.out, name=Path(args.model).name, force=args.force,
                  nonlinearity=model.config.nonlinearity, categories=categories)
    kinds = "h and c" if "c" in tr.gates[0] else "h"
    print(f"wrote {args.out} (LSTMVis: lstm.yml, states.hdf5, words.hdf5, words.dict"
          f"{', meta.hdf5' if tr.annotations else ''}): {len(tr):,} chars{what}, {kinds} of "
          f"{tr.num_layers} layer(s), meta tracks {sorted(tr.annotations)}")


def _with_annotations(model, tr, args):
    """The trace with analysis/'s annotations of its sequence (the ones labels and probes use: grammar
    depth, kind, next token ...; or a text model's strings, comments, brackets, indentation ...), and
    the category names of the categorical ones. Held-out windows are annotated from the stream's start
    (a grammar's depth) or from the training text before the stream (a text model's strings)."""
    import dataclasses

    from rnnscope.analysis.describe.annotations import grammar_annotations
    from rnnscope.analysis.describe.text_annotations import text_annotations
    from rnnscope.models.data.batches import grammar_spec_of
    from rnnscope.models.data.heldout import heldout_of
    if model.config.task:
        return tr, {}
    spec = grammar_spec_of(checkpoint_record(args.model), model.config.vocab)
    if spec is not None and "depth" in tr.annotations:
        found = grammar_annotations(tr.text, spec, tr.annotations["depth"])
    elif args.index is None:
        found = text_annotations(tr.text)
    else:
        held = heldout_of(args.model)
        start = len(held.before) + args.index
        found = text_annotations(held.before + held.text, start, start + len(tr))
    annotations = {a.name: a.values for a in found}
    return dataclasses.replace(tr, annotations=annotations), {a.name: a.categories for a in found if not a.numeric}


def checkpoint_record(path) -> dict:
    from rnnscope.models.network import checkpoint
    return checkpoint.read_config(path).get("training", {})


def _sequence_args(p: argparse.ArgumentParser, heldout_chars: bool = False) -> None:
    """--text | --file | --index (with --window, --from-zero-state): the sequence a command reads;
    ``heldout_chars`` adds --chars N, the held-out stream's first N characters."""
    src = p.add_mutually_exclusive_group(required=True)
    if heldout_chars:
        src.add_argument("--chars", type=_at_least(1),
                         help="the first N characters of the model's held-out stream (read from its start)")
    src.add_argument("--text", help="the sequence itself (read from the zero state)")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file (read from the zero state)")
    src.add_argument("--index", type=int,
                     help="start of a window into the model's held-out stream, read in context")
    p.add_argument("--window", type=int, help="window length for --index (default 100)")
    p.add_argument("--from-zero-state", action="store_true",
                   help="with --index: read the window from the zero state instead of in context")


def _heldout_window(model, args):
    """The window of the model's held-out stream at --index, read in context (the state
    carried from the stream's start, as the app reads it) or with --from-zero-state."""
    import dataclasses

    from rnnscope.models.reading.context import StreamReader
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.reading.tracer import trace
    args.window = 100 if args.window is None else args.window
    if args.window < 1:
        raise RnnscopeError(f"--window must be at least 1, got {args.window}")
    held = heldout_of(args.model)
    if not 0 <= args.index < len(held.text):
        raise RnnscopeError(f"--index {args.index:,} is outside the held-out stream (0 .. {len(held.text) - 1:,})")
    if args.from_zero_state:
        text = held.text[args.index:args.index + args.window]
        tr = dataclasses.replace(trace(model, text), annotations=held.annotations_at(args.index, len(text)))
        how = "from the zero state"
    else:
        tr = StreamReader(model, held.text, held.annotations).trace(args.index, args.window)
        how = "in context"
    short = (f"; the stream ends there: {len(tr):,} of the {args.window:,} characters asked for"
             if len(tr) < args.window else "")
    return tr, f" (held-out characters {args.index:,} .. {args.index + len(tr) - 1:,}{short}, read {how})"


def cmd_sample(args) -> None:
    from rnnscope.models.network import checkpoint
    from rnnscope.models.reading.sample import sample
    _check_out(args)
    model = checkpoint.load(args.model, _runtime(args))
    _predicts_characters(model, args, "sample")
    samples = sample(model, args.chars, args.temperature, args.seed, [args.prime] * args.n, top_k=args.top_k)
    texts = [args.prime + text for text in samples]
    if args.json:
        return _emit(args, json.dumps(texts, indent=1, ensure_ascii=False), f"{len(texts)} sample(s)")
    if len(texts) > 1 and "\n" in model.config.vocab:   # samples of multi-line text: one line each would mix them up
        out = "\n".join(f"=== sample {i + 1} of {len(texts)} ===\n{t}" for i, t in enumerate(texts))
    else:
        out = "\n".join(texts)
    _emit(args, out, f"{len(texts)} sample(s)")


def cmd_corpus(args) -> None:
    """Build a demonstration corpus (models/data/corpus.py) and its sidecar record."""
    import json as _json

    from rnnscope.models.data import corpus
    from rnnscope.base.atomic import check_writable, write_text_atomic
    check_writable(args.out)
    text, record = corpus.build(args.name, args.max_chars)
    side = corpus.sidecar_path(args.out)
    write_text_atomic(side, _json.dumps(record, indent=1) + "\n")
    write_text_atomic(args.out, text)
    print(f"wrote {record['chars']:,} characters from {record['files']} files of Python {record['python']}'s "
          f"standard library to {args.out} (record: {side}; text sha256 {record['text_sha256'][:12]})")


def cmd_summary(args) -> None:
    from rnnscope.models.network import checkpoint
    from rnnscope.models.network.summary import summary, summary_data
    _check_out(args)
    model = checkpoint.load(args.model)
    _emit(args, json.dumps(summary_data(model), indent=2) if args.json else summary(model), "the summary")


def cmd_explain(args) -> None:
    """The terms that made one cell's value at one step (analysis/describe/explain.py)."""
    from rnnscope.analysis.describe.explain import explain, explain_text
    from rnnscope.models.network import checkpoint
    _check_out(args)
    model = checkpoint.load(args.model, _runtime(args))
    tr, what = _sequence_trace(model, args)
    if not 0 <= args.layer < tr.num_layers:
        raise RnnscopeError(f"--layer {args.layer} does not exist; this model's layers are 0 .. {tr.num_layers - 1}")
    if not 0 <= args.step < len(tr):
        raise RnnscopeError(f"--step {args.step} is outside the sequence (0 .. {len(tr) - 1})")
    x, names = ((model.input_vectors(tr.text)[args.step], model.input_names()) if args.layer == 0 else
                (tr.hidden[args.layer - 1][args.step], [f"layer {args.layer - 1} cell {j}"
                                                       for j in range(model.config.hidden_size)]))
    result = explain(tr, model.layer_arrays(args.layer), x, names, args.layer, args.cell, args.step,
                     model.config.nonlinearity)
    _emit(args, json.dumps(result, indent=1, ensure_ascii=False) if args.json
          else explain_text(result) + (f"\n  the sequence: {what.strip(' ()')}" if what else ""),
          "the explanation")


def cmd_match(args) -> None:
    """LSTMVis select and match: on-cells of a span, then the best runs of the corpus."""
    from rnnscope.analysis.describe.match import match, on_cells
    from rnnscope.models.network import checkpoint
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.store.zarr_store import default_store_path, store_for
    _check_out(args)
    model = checkpoint.load(args.model, _runtime(args))
    tr, what = _sequence_trace(model, args)
    if not 0 <= args.layer < tr.num_layers:
        raise RnnscopeError(f"--layer {args.layer} does not exist; this model's layers are 0 .. {tr.num_layers - 1}")
    cells = on_cells(tr.hidden[args.layer], args.start, args.end, args.threshold)
    if len(cells) == 0:       # before the store is built: nothing would come of it
        raise RnnscopeError(f"no cell of layer {args.layer} is above {args.threshold:g} throughout steps "
                            f"{args.start} .. {args.end} and not just outside them: select another span "
                            "or lower --threshold")
    corpus = _read_file(args.corpus) if args.corpus else heldout_of(args.model).text
    path = args.store or default_store_path(model, corpus)
    store = store_for(model, corpus, path)
    found = match(store[f"h_l{args.layer}"], cells, args.threshold, args.end - args.start + 1, top=args.top)
    result = {"selection": {"start": args.start, "end": args.end, "text": tr.text[args.start:args.end + 1],
                            "threshold": args.threshold, "layer": args.layer, "on_cells": [int(c) for c in cells]},
              "corpus": {"chars": len(corpus), "store": str(path)},
              "matches": [m.to_dict() | {"text": corpus[m.start:m.end + 1],
                                         "context": corpus[max(0, m.start - 10):m.end + 11]} for m in found]}
    if args.json:
        return _emit(args, json.dumps(result, indent=1, ensure_ascii=False), "the matches")
    lines = [f"on-cells of {result['selection']['text']!r} (steps {args.start} .. {args.end}, h > {args.threshold:g}, "
             f"layer {args.layer}): {result['selection']['on_cells']}",
             f"best of {len(corpus):,} corpus steps (store {path}):"]
    lines += [f"  {m['start']:>9,} .. {m['end']:<9,} other cells on {m['extra_on']}, length off by {m['length_gap']}:"
              f"  {m['context']!r}" for m in result["matches"]]
    _emit(args, "\n".join(lines), "the matches")


def cmd_store_build(args) -> None:
    """Every hidden state of a corpus, read in context, into a Zarr store: by a Dask cluster
    (models/store/dask_build.py, every seam checked) or in this one process (models/store/zarr_store.py)."""
    from rnnscope.models.network import checkpoint
    from rnnscope.models.store.dask_build import build_store_dask, dask_client
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.store.zarr_store import build_store
    from rnnscope.models.store.torch_lanes import build_store_torch
    if args.out.exists():       # before the model, the text and the cluster
        raise RnnscopeError(f"{args.out}: exists; a store is never overwritten (open it, or choose another path)")
    if not args.out.parent.is_dir():
        raise RnnscopeError(f"{args.out.parent}: no such directory")
    device = _runtime(argparse.Namespace(device=args.device, threads=None)) if args.device else "cpu"
    model = checkpoint.load(args.model, device=device)
    text = _read_file(args.corpus) if args.corpus else heldout_of(args.model).text
    model.vocab.encode(text)    # unknown characters refused before any worker starts
    what = f"{len(text):,} characters ({model.config.num_layers} layer(s) x {model.config.hidden_size} cells)"
    if args.one_process:
        build_store(model, text, args.out, chunk=args.chunk)
        return print(json.dumps({"path": str(args.out), "chars": len(text), "built": "one process"}) if args.json
                     else f"wrote the states of {what} to {args.out}, read in one process")
    if args.device:
        report = build_store_torch(model, text, args.out, chunk=args.chunk, burn_in=args.burn_in)
    else:
        with dask_client(args.workers, args.scheduler) as client:
            report = build_store_dask(model, text, args.out, client, chunk=args.chunk, burn_in=args.burn_in)
    r = report.to_dict()
    if args.json:
        return print(json.dumps(r, indent=1))
    rate = r["chars"] / r["seconds"] if r["seconds"] else float("inf")
    print("\n".join([
        f"wrote the states of {what} to {args.out}: {r['chunks']} chunks of {args.chunk:,}, read as {r['lanes']} "
        f"lanes in {r['tasks']} task(s) " + (f"by {r['by']}" if args.device else f"on {r['workers']} worker(s)") +
        f" in {r['seconds']:.1f} s ({rate:,.0f} chars/s" + ("" if args.device else
                                                            ", the workers' first imports included") + ")",
        f"seams: {r['seams']} checked after a burn-in of {r['burn_in']:,} chars; {r['agreed']} agreed with the true "
        f"state (largest |difference| {r['worst_agreed']:.1e}, tolerance {r['tolerance']:g}), {r['recomputed']} "
        "recomputed from the true state"]))


def cmd_store_labels(args) -> None:
    """Label every cell of a layer from a store's states, read chunk by chunk (analysis/describe/store_labels.py)."""
    from rnnscope.analysis.describe.store_labels import label_store, store_annotations, store_text
    from rnnscope.models.network import checkpoint
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.store.zarr_store import open_store
    _check_out(args)
    model = checkpoint.load(args.model)
    root = open_store(args.store, model)
    if not 0 <= args.layer < model.config.num_layers:
        raise RnnscopeError(f"--layer {args.layer} does not exist; this model's layers are "
                            f"0 .. {model.config.num_layers - 1}")
    text = store_text(root)
    labels = label_store(root, args.layer, store_annotations(text, heldout_of(args.model)))
    if args.json:
        return _emit(args, json.dumps({"store": str(args.store), "chars": len(text), "layer": args.layer,
                                       "view": "h", "cells": [lab.to_dict() for lab in labels]}, indent=1,
                                      ensure_ascii=False), "the labels")
    lines = [f"labels of layer {args.layer}'s h over {len(text):,} characters read in context (store {args.store}); "
             "scores: r = Pearson, MI = mutual information in bits, explained = r^2 or MI / H(cell binned)"]
    lines += [f"  cell {lab.cell:>3}: {lab.label}" + (f"  [explained {lab.best.explained:.2f}]" if lab.best else "")
              for lab in labels]
    _emit(args, "\n".join(lines), "the labels")


def cmd_compare(args) -> None:
    """Two models on the same sequence, their cells paired by correlation (analysis/describe/compare.py)."""
    from rnnscope.analysis.describe.compare import check_readable, compare_models, match_cells
    from rnnscope.models.network import checkpoint
    from rnnscope.base.atomic import check_writable, write_text_atomic
    from rnnscope.models.reading.context import StreamReader
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.reading.tracer import trace
    for path in (args.out, args.json):
        if path:
            check_writable(path)
    device = _runtime(args)
    a, b = checkpoint.load(args.model, device), checkpoint.load(args.other, device)
    for model, layer, flag in ((a, args.layer, "--layer"), (b, args.other_layer, "--other-layer")):
        if not 0 <= layer < model.config.num_layers:
            raise RnnscopeError(f"{flag} {layer} does not exist; that model's layers are "
                                f"0 .. {model.config.num_layers - 1}")
    tr_a, what = _sequence_trace(a, args)
    check_readable(b, tr_a.text, "model B")
    if args.index is None or args.from_zero_state:
        tr_b = trace(b, tr_a.text)
    else:         # B reads A's held-out stream along from its start too: in context, as A does
        held = heldout_of(args.model)
        tr_b = StreamReader(b, held.text, held.annotations).trace(args.index, len(tr_a))
    if args.match_on == "sequence":
        comparison = match_cells(tr_a.values(args.view, args.layer), tr_b.values(args.view, args.other_layer))
        basis = "the sequence shown"
    else:
        text = heldout_of(args.model).text[:args.chars]
        comparison = compare_models(a, b, text, args.view, args.layer, args.other_layer)
        basis = f"the first {len(text):,} characters of model A's held-out stream, read in context by both"
    names = (f"A {Path(args.model).name}", f"B {Path(args.other).name}")
    numbers = {"model_a": str(args.model), "model_b": str(args.other), "view": args.view,
               "layer_a": args.layer, "layer_b": args.other_layer, "matched_on": basis} | comparison.to_dict()
    if args.json:
        write_text_atomic(args.json, json.dumps(numbers, indent=1) + "\n")
        print(f"wrote the numbers to {args.json}")
    if args.out:
        from rnnscope.app.drawing.compare import comparison_html
        from rnnscope.app.drawing.frame import make_frame
        frames = (make_frame(tr_a, args.view, args.layer), make_frame(tr_b, args.view, args.other_layer))
        caption = f"{names[0]} and {names[1]} on {len(tr_a):,} characters{what}; pairs matched on {basis}."
        write_text_atomic(args.out, comparison_html(*frames, comparison, ("A", "B"), caption))
        print(f"wrote the comparison to {args.out}")
    if not (args.out or args.json):
        lines = [f"{names[0]} vs {names[1]}, view {args.view}: Pearson r over {basis}; "
                 f"mean |r| of the {len(comparison.pairs)} pairs {comparison.mean_abs_r:.3f}"]
        lines += [f"  A {p.a:>3} <-> B {p.b:>3}  r = {p.to_dict()['r'] if p.to_dict()['r'] is not None else 'n/a'}"
                  for p in comparison.pairs]
        lines += [f"  unmatched in {n}: {cells}" for n, cells in zip(names, (comparison.unmatched_a,
                                                                           comparison.unmatched_b)) if cells]
        print("\n".join(lines))


def cmd_probe(args) -> None:
    """Label, probe and ablate every cell on the model's held-out stream read in context."""
    from rnnscope.analysis.decode.probing import probing_run, text_summary
    from rnnscope.analysis.decode.report import report_html
    from rnnscope.models.network import checkpoint
    from rnnscope.base.atomic import check_writable, write_text_atomic
    from rnnscope.models.data.heldout import heldout_of
    for path in (args.out, args.json):
        if path:
            check_writable(path)
    device = _runtime(args)
    model = checkpoint.load(args.model, device)
    run = probing_run(model, heldout_of(args.model), chars=args.chars, ablation_chars=args.ablation_chars)
    if args.json:
        write_text_atomic(args.json, json.dumps(run.numbers, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote the numbers to {args.json}")
    if args.out:
        write_text_atomic(args.out, report_html(run, f"rnnscope probe: {Path(args.model).name}"))
        print(f"wrote the report to {args.out}")
    if not (args.out or args.json):
        print(text_summary(run.numbers))


def cmd_generalise(args) -> None:
    """Depth generalisation: models of the brackets-only grammar on a deeper stream (analysis/decode/generalise.py)."""
    from rnnscope.analysis.decode.generalise import TEST_SEED, comparison, text_table
    from rnnscope.models.network import checkpoint
    from rnnscope.base.atomic import check_writable, write_text_atomic
    for path in (args.out, args.json):
        if path:
            check_writable(path)
    device = _runtime(args)
    models = [(str(path), checkpoint.load(path, device)) for path in args.models]
    numbers = comparison(models, args.test_depth, args.chars, args.threshold,
                         TEST_SEED if args.seed is None else args.seed)
    if args.json:
        write_text_atomic(args.json, json.dumps(numbers, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote the numbers to {args.json}")
    if args.out:
        from rnnscope.analysis.decode.generalise_report import report_html
        write_text_atomic(args.out, report_html(numbers))
        print(f"wrote the report to {args.out}")
    if not (args.out or args.json):
        print(text_table(numbers))


def cmd_export(args) -> None:
    from rnnscope.app.pages.export_file import export_file
    if args.index is None and args.text is None and args.file is None:
        raise RnnscopeError("say which sequence: --text, --file, or --index (with --window)")
    text = _read_text(args) if args.index is None else None
    try:
        cells = [int(c) for c in args.cells.split(",") if c.strip()]
    except ValueError:
        raise RnnscopeError(f"--cells takes comma-separated cell numbers, got {args.cells!r}") from None
    if args.device not in ("auto", "cpu"):
        raise RnnscopeError(f"export runs the model through the page's own code, on the CPU; "
                            f"--device {args.device} is not available here (use auto or cpu)")
    _runtime(args)   # --threads
    if args.from_zero_state and args.index is None:
        raise RnnscopeError("--from-zero-state goes with --index (a held-out window); --text and --file are "
                            "always read from the zero state")
    path, seconds = export_file(args.out, args.model, text=text, index=args.index, window=args.window,
                                from_zero_state=args.from_zero_state,
                                view=args.view, layer=args.layer, order=args.order, selected=cells,
                                hide_separators=args.hide_separators, coloured_cell=args.colour_cell)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {seconds:.2f}s")


def cmd_import_torch(args) -> None:
    """A PyTorch model's safetensors state dict -> an rnnscope checkpoint (models/interop/torch_import.py)."""
    from rnnscope.models.network import checkpoint
    from rnnscope.models.interop.torch_import import import_state_dict_file
    checkpoint.check_output(args.out, force=args.force)
    model = import_state_dict_file(args.state_dict, args.vocab, args.map)
    checkpoint.save(model, args.out, training=model.training_record)
    dtypes = model.training_record["imported"]["source_dtypes"]
    note = "" if dtypes == ["float32"] else f" (weights were {', '.join(dtypes)}; stored as float32)"
    print(f"wrote a checkpoint of {model.config.describe()}, imported from {args.state_dict}, to {args.out}{note}")


def cmd_import_keras(args) -> None:
    """A Keras 3 .keras file -> an rnnscope checkpoint (models/interop/keras_import.py); Keras not needed."""
    from rnnscope.models.network import checkpoint
    from rnnscope.models.interop.keras_import import import_keras_file
    checkpoint.check_output(args.out, force=args.force)
    model = import_keras_file(args.file, args.vocab)
    checkpoint.save(model, args.out, training=model.training_record)
    record = model.training_record["imported"]
    dtypes = record["source_dtypes"]
    notes = ([] if dtypes == ["float32"] else [f"weights were {', '.join(dtypes)}; stored as float32"]) + \
        ([f"zero biases given to {', '.join(record['zero_biases_added_to'])}"] if record["zero_biases_added_to"]
         else [])
    note = f" ({'; '.join(notes)})" if notes else ""
    print(f"wrote a checkpoint of {model.config.describe()}, imported from {args.file}, to {args.out}{note}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnscope", description="A microscope for recurrent networks.")
    parser.add_argument("--version", action="version", version=f"rnnscope {_version()}",
                        help="print rnnscope's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="write a stream of the parenthesis language")
    p.add_argument("--chars", type=int, default=10_000, help="length in characters (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("-o", "--out", type=Path, help="output file, written atomically (default: stdout)")
    _grammar_args(p)
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
    p.add_argument("--stop-at", type=_at_least(1), metavar="STEP",
                   help="stop cleanly after this step (evaluate, save); --resume goes on later")
    _runtime_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _grammar_args(p)
    t = p.add_argument_group("a built-in task instead of characters (seed 000: the sum of three digits)")
    t.add_argument("--task", choices=["sum3"],
                   help="sum3: a 1-unit linear RNN learns the sum of three digits (its last state is the sum); "
                        "takes -o, --force, --seed, --lr, --batch, --device, --threads, --quiet and the flags here")
    t.add_argument("--input", choices=["scalar", "one-hot", "embedding"], default="scalar",
                   help="how a digit is fed: its value as one number, one-hot, or a learned 10-d embedding "
                        "(default scalar, the seed's first model)")
    t.add_argument("--epochs", type=_at_least(1), help="epochs (default: the seed's: scalar 5, one-hot 8, embedding 4)")
    t.add_argument("--triples", type=_at_least(10), default=10_000,
                   help="random triples, the last 20%% held out for validation (default 10000, as the seed)")
    t.add_argument("--cosine", action="store_true",
                   help="decay Adam's rate to zero along a cosine (the seed keeps it constant); lets a larger "
                        "--lr and --batch reach the same weights in fewer steps")
    # Run-defining flags default to None, so --resume can tell a flag given from one left out.
    p.set_defaults(func=cmd_train, train_defaults={a.dest: a.default for a in p._actions if a.dest in RUN_FLAGS},
                   **{dest: None for dest in RUN_FLAGS})

    p = sub.add_parser("eval", help="held-out loss beside the oracle floor, and grammatical samples")
    _model_arg(p)
    _text_arg(p, required=False)
    p.add_argument("--chars", type=int, default=200_000, help="fresh grammar stream length (default 200000)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the fresh stream and the samples (default 12345)")
    p.add_argument("--samples", type=_at_least(0), default=0,
                   help="also sample N 500-token texts and count grammatical ones (default 0: none)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of text for people")
    _out_arg(p, "the evaluation")
    _runtime_args(p)
    _grammar_args(p, of_model=True)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "trace", help="record hidden states, gates and probabilities to .npz",
        description="Record hidden states, gates and next-character probabilities to .npz. The sequence is "
                    "--text, --file (read from the zero state), or --index N --window W: a window of the "
                    "model's held-out stream read in context, i.e. with the state the model holds at N "
                    "after reading the stream from its start (as the app shows it); --from-zero-state reads "
                    "the window from a fresh state instead. Annotations of a held-out window (depth ...) are "
                    "counted from the stream's start.")
    _model_arg(p)
    _sequence_args(p)
    p.add_argument("-o", "--out", type=Path, required=True, help="output .npz, written atomically")
    _runtime_args(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "states", help="write a sequence's states for another tool (LSTMVis's directory)",
        description="Write the states of a sequence as a directory LSTMVis opens: lstm.yml, states.hdf5 (h, and c "
                    "for an LSTM: T x H per layer), words.hdf5 (1-based character ids), words.dict and meta.hdf5 "
                    "(the annotations as meta tracks). The sequence is --text / --file (from the zero state), "
                    "--index N --window W (a held-out window read in context) or --chars N (the held-out "
                    "stream's first N characters). The directory is written whole, then moved into place.")
    _model_arg(p)
    _sequence_args(p, heldout_chars=True)
    p.add_argument("--format", choices=["lstmvis"], required=True, help="the format to write")
    p.add_argument("-o", "--out", type=Path, required=True, help="output directory (written atomically)")
    p.add_argument("--force", action="store_true", help="replace an existing LSTMVis directory at -o")
    _runtime_args(p)
    p.set_defaults(func=cmd_states)

    p = sub.add_parser(
        "sample", help="sample text from a model",
        description="Sample text. With no --prime a sample starts at the model's own start: its first character "
                    "is drawn from the training text's character frequencies saved in the checkpoint (a grammar "
                    "model: the grammar's first-token distribution), then the model goes on from there. All samples "
                    "are drawn together in lock-step. Samples of a model whose vocabulary has a newline are "
                    "separated by '=== sample i of n ===' lines when there are several (or use --json).")
    _model_arg(p)
    p.add_argument("--chars", type=int, default=200, help="characters to sample after the prime (default 200)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1.0)")
    p.add_argument("--top-k", type=_at_least(1), help="draw only among the k most likely characters (1: greedy)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--prime", default="", help="text read before sampling (default: none, the model's own start)")
    p.add_argument("-n", "--samples", dest="n", type=_at_least(1), default=1,
                   help="number of samples, drawn together (default 1)")
    p.add_argument("--json", action="store_true", help="print the samples as a JSON list of strings")
    _out_arg(p, "the samples")
    _runtime_args(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("export", help="one standalone HTML heatmap (opens offline), as the app shows it")
    _model_arg(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")
    src.add_argument("--index", type=int, help="start of a window into the model's held-out stream")
    p.add_argument("--window", type=int, default=100, help="window length for --index (default 100)")
    p.add_argument("--view", default="h", help="h, or a gate: z r n (GRU), i f g o c (LSTM) (default h)")
    p.add_argument("--layer", type=int, default=0, help="which layer to show (default 0)")
    p.add_argument("--order", choices=["index", "depth", "cluster"], default="index",
                   help="cell order: index, depth (|r| with depth) or cluster (similar cells adjacent) (default index)")
    p.add_argument("--cells", default="", help="comma-separated cells to plot as lines, e.g. 4,12")
    p.add_argument("--from-zero-state", action="store_true",
                   help="with --index: read the window from the zero state instead of in context (as the page can)")
    p.add_argument("--hide-separators", action="store_true",
                   help="leave out the separator columns (the grammar's separator; spaces in other text)")
    p.add_argument("--colour-cell", type=int, metavar="CELL",
                   help="also write the text itself, each character's background coloured by this cell")
    p.add_argument("-o", "--out", type=Path, required=True, help="output .html, written atomically")
    _runtime_args(p, device_help="auto | cpu (default auto): the page's code runs the model on the CPU")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "explain", help="the terms that made one cell's value at one step",
        description="Explain a value: for --cell at --step, each gate's value and pre-activation split into its "
                    "input part (W_i x + b_i) and recurrent part (W_h h_prev + b_h), the largest contributions "
                    "from previous cells and inputs, and the update with its numbers (GRU h = (1 - z) n + z h_prev; "
                    "LSTM c and h), computed from the NumPy reference equations and checked against the traced "
                    "value. The sequence is --text, --file or a held-out window (--index, read in context).")
    _model_arg(p)
    _sequence_args(p)
    p.add_argument("--cell", type=int, required=True, help="the cell (0-based)")
    p.add_argument("--step", type=int, required=True, help="the position in the sequence (0-based)")
    _layer_json_out_runtime(p, "the explanation")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "match", help="cells on for a span, and where else in the corpus they are on (LSTMVis)",
        description="Select a span (--start .. --end, inclusive) of a sequence: its on-cells are the cells of h above "
                    "--threshold throughout the span and not just before or after it. Then every run of the corpus "
                    "(the model's held-out stream, or --corpus FILE) where all of them are on, best first: fewest "
                    "other cells also on, then the closest length. The corpus states are read in context once and "
                    "kept in a Zarr store (--store; by default a cache folder keyed by the model and the corpus); "
                    "a store of another model or text is refused, never mixed.")
    _model_arg(p)
    _sequence_args(p)
    p.add_argument("--start", type=int, required=True, help="first step of the span (0-based)")
    p.add_argument("--end", type=int, required=True, help="last step of the span (inclusive)")
    p.add_argument("--threshold", type=float, default=0.5, help="a cell is on above this (default 0.5)")
    p.add_argument("--top", type=_at_least(1), default=20, help="how many matches (default 20)")
    p.add_argument("--corpus", type=Path, help="match over this UTF-8 text instead of the held-out stream")
    p.add_argument("--store", type=Path, help="the state store to use or build (default: in ~/.cache/rnnscope)")
    _layer_json_out_runtime(p, "the matches")
    p.set_defaults(func=cmd_match)

    p = sub.add_parser(
        "compare", help="two models on the same sequence, cells paired by correlation",
        description="Pair the cells of --model (A) with those of --other (B): Pearson r between every pair over "
                    "the first --chars of A's held-out stream read in context by both (or, --match-on sequence, "
                    "over the sequence itself), then an optimal one-to-one assignment on |r| (scipy). -o draws "
                    "both heatmaps of the sequence with rows in pair order; --json writes the pairs.")
    _model_arg(p)
    p.add_argument("--other", required=True, help="the second model's checkpoint directory (B)")
    _sequence_args(p)
    p.add_argument("--view", default="h", help="h, or a gate both models have (default h)")
    p.add_argument("--layer", type=int, default=0, help="model A's layer (default 0)")
    p.add_argument("--other-layer", type=int, default=0, help="model B's layer (default 0)")
    p.add_argument("--match-on", choices=["held-out", "sequence"], default="held-out",
                   help="the text the correlations run over (default held-out)")
    p.add_argument("--chars", type=_at_least(2), default=20_000,
                   help="held-out characters to pair the cells on (default 20000)")
    p.add_argument("-o", "--out", type=Path, help="write the two heatmaps (one offline HTML file) here")
    p.add_argument("--json", type=Path, help="write the pairs (JSON) here")
    _runtime_args(p)
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
    _model_arg(p)
    p.add_argument("--chars", type=_at_least(1_000), default=100_000,
                   help="held-out characters to label and probe on (default 100000)")
    p.add_argument("--ablation-chars", type=_at_least(100), default=20_000,
                   help="of those, how many the ablation re-runs step by step (default 20000)")
    p.add_argument("-o", "--out", type=Path, help="write the report (one offline HTML file) here")
    p.add_argument("--json", type=Path, help="write the numbers (JSON) here")
    _runtime_args(p)
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser(
        "corpus", help="build a demonstration text corpus (the Python standard library's source)",
        description="Build a reproducible corpus every machine has: python-stdlib is the .py files of the running "
                    "interpreter's standard library (no tests, site-packages, idlelib or non-ASCII files), in "
                    "sorted order, each after a '# file: PATH' line, whole files up to --max-chars, NFC. A sidecar "
                    "FILE.json records the Python version, the file list, and digests of both.")
    p.add_argument("name", choices=["python-stdlib"], help="which corpus")
    p.add_argument("-o", "--out", type=Path, required=True, help="the text file to write (atomically)")
    p.add_argument("--max-chars", type=_at_least(1_000), default=3_000_000,
                   help="take whole files up to this many characters (default 3000000)")
    p.set_defaults(func=cmd_corpus)

    p = sub.add_parser(
        "weights", help="what a sum3 model learned, read off its weights, and its sums of new triples",
        description="For a model trained with train --task sum3 (seed 000): W, U and b of h_t = x_t W + h_{t-1} U + b "
                    "as the model holds them, what each digit d adds at its step (x_d W + b: the seed finds it "
                    "equal to d, and U = 1), and the model's sums of --triples new triples beside the true ones.")
    _model_arg(p)
    p.add_argument("--triples", type=_at_least(1), default=5, help="new triples to predict (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the new triples (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of text")
    _out_arg(p, "the weights view")
    p.set_defaults(func=cmd_weights)

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
    p.add_argument("-o", "--out", type=Path, help="write the report (one offline HTML file) here")
    p.add_argument("--json", type=Path, help="write the numbers (JSON) here")
    _runtime_args(p)
    p.set_defaults(func=cmd_generalise)

    p = sub.add_parser("import", help="make a checkpoint of a model rnnscope did not train (PyTorch, Keras)")
    frameworks = p.add_subparsers(dest="framework", required=True, metavar="FRAMEWORK")
    t = frameworks.add_parser(
        "torch", help="a model of nn.Embedding (or one-hot) -> nn.GRU/nn.LSTM/nn.RNN -> nn.Linear",
        description="Import a PyTorch character model from its state dict, saved with safetensors (rnnscope never "
                    "unpickles .pt files). --map names the modules in it: {\"cell\": \"gru\"|\"lstm\"|\"rnn\", "
                    "\"nonlinearity\": \"tanh\"|\"relu\" (rnn only), \"embedding\": NAME or null (one-hot input), "
                    "\"rnn\": NAME, \"decoder\": NAME, \"ignore\": [tensor names to leave out]}. Layers, sizes and "
                    "biases are read off the tensors. Refused with the reason: bidirectional modules, an LSTM's "
                    "proj_size, sizes that disagree with the vocabulary. See docs/import-torch.md.")
    t.add_argument("--state-dict", type=Path, required=True, metavar="FILE.safetensors", help="the weights")
    t.add_argument("--map", type=Path, required=True, metavar="MAP.json", help="which tensors are which module")
    _import_target_args(t)
    t.set_defaults(func=cmd_import_torch)
    k = frameworks.add_parser(
        "keras", help="a Keras 3 .keras model: [Embedding] -> SimpleRNN/GRU/LSTM layers -> Dense",
        description="Import a Keras 3 character model saved with model.save('m.keras'). Its config.json and "
                    "weights are read as data (json, h5py): no code from the file runs, and Keras need not be "
                    "installed. Kernels are transposed to torch's layout and GRU gates reordered (z, r, h -> r, z, "
                    "n). Refused with the reason: a GRU with reset_after=False, go_backwards, Bidirectional, "
                    "masking, other activations, layers of different kinds or widths, Lambda and custom layers. "
                    "See docs/import-keras.md.")
    k.add_argument("file", type=Path, metavar="FILE.keras", help="the model, as Keras 3's model.save writes it")
    _import_target_args(k)
    k.set_defaults(func=cmd_import_keras)

    p = sub.add_parser("store", help="corpus states at scale: build a state store (Dask), label cells from one")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = actions.add_parser(
        "build", help="every hidden state of a corpus, read in context, into a Zarr store",
        description="Read the corpus (the model's held-out stream, or --corpus FILE) in context and write every "
                    "hidden state to a Zarr store chunked along time, which match --store and store labels read "
                    "chunk by chunk. Built by a dask.distributed cluster: local worker processes (--workers, "
                    "default one per core) or the scheduler at --scheduler (its workers must see -o at the same "
                    "path). The text is cut into lanes, read side by side on each worker, each after a burn-in "
                    "from the zero state; at every seam its state is compared with the true one the lane before "
                    "computed, and a lane that does not agree is read again from the true state (a model that "
                    "never forgets, e.g. a ReLU counter, is then read sequentially). The counts of seams agreed "
                    "and recomputed are printed and kept in the store. Nothing is written under -o until the "
                    "store is whole.")
    _model_arg(t)
    t.add_argument("--corpus", type=Path, help="read this UTF-8 text instead of the held-out stream")
    cluster = t.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=_at_least(1), help="local worker processes (default: one per core)")
    cluster.add_argument("--scheduler", metavar="ADDR", help="a running Dask scheduler, e.g. tcp://host:8786")
    cluster.add_argument("--one-process", action="store_true",
                         help="no cluster: read the corpus in this process, from its start (the reference build)")
    cluster.add_argument("--device", metavar="DEV",
                         help="no cluster: the lanes read in this process by torch's own modules on DEV (cuda, "
                              "cuda:N or cpu; on a GPU, cuDNN reads tens of thousands of lanes at once)")
    t.add_argument("--chunk", type=_at_least(1), default=100_000,
                   help="characters per chunk, for the workers and the store (default 100,000)")
    t.add_argument("--burn-in", type=_at_least(0), default=1_000,
                   help="characters read before each lane to reach its true state (default 1,000; lanes are "
                        "at least 4 burn-ins long)")
    t.add_argument("-o", "--out", type=Path, required=True, help="the store directory to write (must not exist)")
    t.add_argument("--json", action="store_true", help="print the build's report as JSON")
    t.set_defaults(func=cmd_store_build)
    t = actions.add_parser(
        "labels", help="label every cell of a layer from a store's states",
        description="The cell labels of rnnscope probe (best explanation per cell: Pearson r for numeric "
                    "annotations, mutual information in bits for categorical ones and rules) over every state "
                    "in the store, read chunk by chunk, never loaded whole. The annotations are those of the "
                    "store's own text, counted from its start.")
    _model_arg(t)
    t.add_argument("--store", type=Path, required=True, help="a store written by rnnscope store build (or match)")
    t.add_argument("--layer", type=int, default=0, help="the layer (default 0)")
    t.add_argument("--json", action="store_true", help="print JSON for scripts instead of text")
    _out_arg(t, "the labels")
    t.set_defaults(func=cmd_store_labels)

    p = sub.add_parser("summary", help="layers, output shapes and parameter counts")
    _model_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of the table")
    _out_arg(p, "the summary")
    p.set_defaults(func=cmd_summary)
    return parser


def _speaks(error: Exception) -> bool:
    """Under torchrun, rnnscope's refusals come from what every process shares (the flags, the
    files) or from rank 0's decision sent to all, so rank 0 alone prints them: one line, not one
    per process. Any other failure (a file system error) is printed by whichever process met it."""
    if not isinstance(error, RnnscopeError) or "WORLD_SIZE" not in os.environ:
        return True
    from rnnscope.models.training.distributed import World
    try:
        return World.from_env().writer
    except RnnscopeError:
        return True


def main(argv: list[str] | None = None) -> int:
    from rnnscope.grammar import GrammarError
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)     # what was given, not defaulted (_given)
    try:
        args.func(args)
    except (RnnscopeError, GrammarError, OSError) as e:
        if _speaks(e):
            print(f"rnnscope {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"rnnscope {args.command}: error: out of memory; ask for less", file=sys.stderr)
        return 2
    return 0
