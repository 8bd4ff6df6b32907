"""What every command shares: the model it loads, the sequence it reads, the device it runs on, and
where its result goes. One place each, so a flag means the same in every command.

Output: ``-o FILE`` (repeatable) writes the result to FILE atomically, in the format its extension names
(.json JSON, .html the command's HTML page where it has one, anything else the text, or JSON with
--json); with no -o the result is printed, as JSON with --json."""
from __future__ import annotations

import argparse
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.paths import DEFAULT_CHECKPOINT  # torch-free, so --help stays fast

DEFAULT_MODEL = str(DEFAULT_CHECKPOINT)


def at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


# --- the model -------------------------------------------------------------------------------------------

def model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="a checkpoint directory or a shipped model's name (default: the shipped GRU-15)")


def heldout_args(p: argparse.ArgumentParser) -> None:
    """--heldout FILE [--heldout-range START:END]: the held-out stream, instead of the one the model records."""
    p.add_argument("--heldout", type=Path, metavar="FILE",
                   help="use this UTF-8 text as the model's held-out stream instead of the one it records "
                        "(any model: e.g. one imported without text); every character must be in its vocabulary")
    p.add_argument("--heldout-range", metavar="START:END",
                   help="with --heldout: only these characters of the file (end exclusive; 1000: or :50000 "
                        "leave a side open; counted after NFC normalisation)")


def runtime_args(p: argparse.ArgumentParser, device_help: str = "") -> None:
    """--device and --threads, the same on every command that runs a model."""
    p.add_argument("--device", default="auto",
                   help=device_help or "auto (a CUDA GPU when torch sees one, else the CPU) | cpu | cuda | cuda:N "
                                       "(default auto)")
    p.add_argument("--threads", type=at_least(1),
                   help="CPU threads for torch (default: torch's choice; 1 is fastest when anything else runs)")


def runtime(args):
    """Apply --threads and resolve --device (rnnscope/base/runtime.py: one meaning everywhere)."""
    from rnnscope.base.runtime import pick_device, set_threads
    set_threads(getattr(args, "threads", None))
    return pick_device(getattr(args, "device", None) or "cpu")


def load_model(args, path=None, device=None):
    """The Model ``--model`` (or ``path``) names, on the device the flags say (rnnscope.api: loaded once),
    with the held-out text --heldout names (for ``--model`` only: another model reads that model's stream)."""
    from rnnscope.api import load
    heldout, chars = (getattr(args, "heldout", None), getattr(args, "heldout_range", None)) if path is None \
        else (None, None)
    return load(args.model if path is None else path, device or str(runtime(args)), heldout=heldout,
                heldout_range=chars)


def held_chars_arg(p: argparse.ArgumentParser, least: int, default: int, what: str) -> None:
    """--chars for a command that reads the first N held-out characters: None when not given, so that a
    held-out stream shorter than ``default`` is read whole (Model.heldout_chars)."""
    p.add_argument("--chars", type=at_least(least), default=None,
                   help=f"held-out characters {what} (default {default}, or the whole held-out stream when it is "
                        "shorter)")


def say_whole_stream(model, chars: int | None, default: int) -> None:
    """On stderr, when --chars was left out and the held-out stream is shorter than ``default``: that all of
    it is read, so a number in the result smaller than the default is not a surprise."""
    import sys
    n = len(model.heldout.text)
    if chars is None and n < default:
        print(f"reading the whole held-out stream ({model.heldout.origin}): {n:,} characters, fewer than the "
              f"default {default:,}", file=sys.stderr)


# --- the sequence ----------------------------------------------------------------------------------------

def read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RnnscopeError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise RnnscopeError(f"{path}: not UTF-8 text ({e})") from None


def read_text(args) -> str:
    return args.text if args.text is not None else read_file(args.file)


def sequence_args(p: argparse.ArgumentParser, heldout_chars: bool = False) -> None:
    """--text | --file | --index (with --window, --from-zero-state): the sequence a command reads;
    ``heldout_chars`` adds --chars N, the held-out stream's first N characters."""
    src = p.add_mutually_exclusive_group(required=True)
    if heldout_chars:
        src.add_argument("--chars", type=at_least(1),
                         help="the first N characters of the model's held-out stream (read from its start)")
    src.add_argument("--text", help="the sequence itself (read from the zero state)")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file (read from the zero state)")
    src.add_argument("--index", type=int,
                     help="start of a window into the model's held-out stream, read in context")
    p.add_argument("--window", type=int, help="window length for --index (default 100)")
    p.add_argument("--from-zero-state", action="store_true",
                   help="with --index: read the window from the zero state instead of in context")
    heldout_args(p)


def sequence_trace(model, args):
    """The rnnscope.Trace of the sequence --text / --file / --index names, and a note on what it is."""
    if args.index is None:
        if args.window is not None or args.from_zero_state:
            raise RnnscopeError("--window and --from-zero-state go with --index (a held-out window); "
                                "--text and --file are always read from the zero state")
        return model.trace(read_text(args)), ""
    window = 100 if args.window is None else args.window
    if window < 1:
        raise RnnscopeError(f"--window must be at least 1, got {window}")
    t = model.trace(index=args.index, window=window, from_zero_state=args.from_zero_state)
    how = "from the zero state" if args.from_zero_state else "in context"
    short = (f"; the stream ends there: {len(t):,} of the {window:,} characters asked for"
             if len(t) < window else "")
    return t, f" (held-out characters {args.index:,} .. {args.index + len(t) - 1:,}{short}, read {how})"


# --- the result ----------------------------------------------------------------------------------------

def output_args(p: argparse.ArgumentParser, what: str, html: str = "") -> None:
    """-o FILE and --json, meaning the same in every command (this module's docstring). ``html``: what
    the command's HTML page is, when it has one."""
    page = f", .html {html}" if html else ""
    p.add_argument("-o", "--out", type=Path, action="append", metavar="FILE",
                   help=f"write {what} to FILE (atomically) instead of printing it; the extension says the format "
                        f"(.json JSON{page}, else text, or JSON with --json); may be given more than once")
    p.add_argument("--json", action="store_true", help=f"{what} as JSON, for scripts (printed, or to -o FILE)")


def _format(path: Path, args, has_html: bool) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".html", ".htm"):
        if not has_html:
            raise RnnscopeError(f"-o {path}: this command writes text or JSON, not HTML")
        return "html"
    return "json" if args.json else "text"


def check_out(args, has_html: bool = False) -> None:
    """Before any work: an -o that cannot be written, or whose format the command lacks, fails now."""
    from rnnscope.base.atomic import check_writable
    for path in args.out or []:
        _format(path, args, has_html)
        check_writable(path)


def emit(args, what: dict, text=None, json_of=None, html=None) -> None:
    """Print the result or write it to each -o. ``what``: how to name each format in "wrote X to FILE"
    ({"text": ..., "json": ..., "html": ...}); ``text``, ``json_of``, ``html``: functions giving the result in
    that format (``json_of``: the JSON text), called only when asked for."""
    from rnnscope.base.atomic import write_text_atomic

    def render(fmt: str) -> str:
        if fmt == "json":
            return json_of()
        return html() if fmt == "html" else text()

    if not args.out:
        print(render("json" if args.json else "text"))
        return
    for path in args.out:
        fmt = _format(path, args, html is not None)
        write_text_atomic(path, render(fmt) + "\n")
        print(f"wrote {what.get(fmt, what.get('text'))} to {path}")
