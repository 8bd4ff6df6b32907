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
from rnnscope.cli import analyse, dynamics, evaluate, interop, reading, serve, train
from rnnscope.cli.common import DEFAULT_MODEL  # noqa: F401  (the default --model, for scripts and tests)

GROUPS = (train, evaluate, reading, analyse, dynamics, interop, serve)


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


def main(argv: list[str] | None = None) -> int:
    from rnnscope.api.training import GrammarError
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        code = args.func(args)
    except (RnnscopeError, GrammarError, OSError) as e:
        if _speaks(e):
            print(f"rnnscope {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"rnnscope {args.command}: error: out of memory; ask for less", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0
