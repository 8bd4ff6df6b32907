"""Serve the rnnscope page: ``python serve.py [--port 5006] [--address 127.0.0.1] [--model DIR|NAME | --lstmvis DIR]``.

The same as ``panel serve app`` with the model chosen on the command line, or an LSTMVis directory's
states with no model, and the listening address and allowed websocket origin set together. A thin
wrapper over rnnscope/serving.py (what ``rnnscope serve`` runs): once the checkpoint loads, this
process becomes ``panel serve`` (exec), so its PID is the server's.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

# Until the server is up, SIGINT and SIGTERM get the kernel's default action: the process ends, whatever
# Python code the signal lands in. (A launcher may have started it with SIGINT ignored -- a background job
# of a script is -- and Python's KeyboardInterrupt can be swallowed by a library's broad `except` during
# the slow imports.) The server installs its own graceful handlers once up (app/shutdown.py).
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)

from rnnscope.base.paths import shipped_checkpoints  # noqa: E402
from rnnscope.serving import serve  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve the rnnscope page.")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--model", metavar="DIR|NAME",
                   help=f"checkpoint directory, or a shipped checkpoint's name ({', '.join(shipped_checkpoints())}; "
                        "default: the shipped GRU-15)")
    p.add_argument("--lstmvis", type=Path, metavar="DIR",
                   help="open an LSTMVis directory (lstm.yml, its states, words and meta tracks) instead of a model")
    p.add_argument("--show", action="store_true", help="open a browser")
    args = p.parse_args(argv)
    return serve(args.model, args.lstmvis, port=args.port, address=args.address, show=args.show, prog="serve.py")


if __name__ == "__main__":
    sys.exit(main())
