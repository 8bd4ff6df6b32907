"""One command, ``rnnscope``, for everything outside the page: each command group is a module here
holding its parsers beside its handlers, and every handler parses, makes one call of the public API
(``import rnnscope as rs``, rnnscope.api) and writes its result through rnnscope/cli/common.py, which
says what -o and --json mean, the same everywhere.

Errors a user can cause (bad path, corrupt checkpoint, unknown characters ...) exit with status 2
and one line on stderr; nothing is half-written.
"""
from __future__ import annotations

import argparse
import os
import sys

from rnnscope.base.errors import RnnscopeError
from rnnscope.cli import analyse, automaton, dynamics, evaluate, interop, reading, serve, train
from rnnscope.cli.common import DEFAULT_MODEL  # noqa: F401  (the default --model, for scripts and tests)

GROUPS = (train, evaluate, reading, analyse, automaton, dynamics, interop, serve)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("rnnscope")
    except PackageNotFoundError:   # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnscope", description="A microscope for recurrent networks.")
    parser.add_argument("--version", action="version", version=f"rnnscope {_version()}",
                        help="print rnnscope's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def _speaks(error: Exception) -> bool:
    """Under torchrun, rnnscope's refusals come from what every process shares (the flags, the
    files) or from rank 0's decision sent to all, so rank 0 alone prints them: one line, not one
    per process. Any other failure (a file system error) is printed by whichever process met it."""
    if not isinstance(error, RnnscopeError) or "WORLD_SIZE" not in os.environ:
        return True
    from rnnscope.api.training import world
    try:
        return world().writer
    except RnnscopeError:
        return True


def _pipe_closed() -> int:
    """The reader of our output went away (``rnnscope sample ... | head -1``): end quietly, as Unix tools do.
    What is still buffered would raise again when the interpreter flushes stdout on exit, so stdout is
    pointed at /dev/null first (Python's documentation on SIGPIPE). 141 = 128 + SIGPIPE, the status a shell
    reports for a tool the signal ended."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def main(argv: list[str] | None = None) -> int:
    from rnnscope.api.training import GrammarError
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        code = args.func(args)
        sys.stdout.flush()          # a reader that went away shows here, not in the interpreter's exit
    except BrokenPipeError:
        return _pipe_closed()
    except (RnnscopeError, GrammarError, OSError) as e:
        if _speaks(e):
            print(f"rnnscope {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"rnnscope {args.command}: error: out of memory; ask for less", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0
