"""Serve the rnnscope page: ``python serve.py [--port 5006] [--address 127.0.0.1] [--model DIR | --lstmvis DIR]``.

The same as ``panel serve app`` with the model chosen on the command line (passed to the
app in $RNNSCOPE_MODEL), or an LSTMVis directory's states with no model ($RNNSCOPE_LSTMVIS), and
the listening address and allowed websocket origin set together.
Once the checkpoint loads, this process becomes ``panel serve`` (exec): its PID is the server's.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

# A launcher may have started this process with SIGINT ignored (a background job of a script is),
# and exec would pass that on: put both back before the slow imports, so a signal during start-up
# stops it too. The server installs its own handlers once it is up (app/shutdown.py).
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)

from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.base.errors import RnnscopeError  # noqa: E402

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve the rnnscope page.")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--model", type=Path, default=checkpoint.DEFAULT_CHECKPOINT,
                   help="checkpoint directory (default: the shipped GRU-15)")
    p.add_argument("--lstmvis", type=Path, metavar="DIR",
                   help="open an LSTMVis directory (lstm.yml, its states, words and meta tracks) instead of a model")
    p.add_argument("--show", action="store_true", help="open a browser")
    args = p.parse_args(argv)
    try:       # a checkpoint or directory that cannot load is refused here, not in every session's log
        if args.lstmvis:
            from rnnscope.app.pages.lstmvis_source import open_source
            open_source(args.lstmvis)
        else:
            checkpoint.load(args.model)
    except RnnscopeError as e:
        print(f"serve.py: error: {e}", file=sys.stderr)
        return 2
    host = "localhost" if args.address in ("127.0.0.1", "localhost", "0.0.0.0") else args.address
    origins = {f"{host}:{args.port}", f"127.0.0.1:{args.port}", f"localhost:{args.port}"}
    if args.address == "0.0.0.0":
        origins = {"*"}
    cmd = [sys.executable, "-m", "panel", "serve", str(ROOT / "app"), "--port", str(args.port),
           "--address", args.address, *[a for o in sorted(origins) for a in ("--allow-websocket-origin", o)]]
    if args.show:
        cmd.append("--show")
    env = {**os.environ, "RNNSCOPE_MODEL": str(args.model.resolve())}
    env.pop("RNNSCOPE_LSTMVIS", None)          # only --lstmvis opens a directory
    if args.lstmvis:
        env["RNNSCOPE_LSTMVIS"] = str(args.lstmvis.resolve())
    shown = "localhost" if args.address == "0.0.0.0" else args.address     # the address it listens on
    print(f"rnnscope: serving {args.lstmvis or args.model} at http://{shown}:{args.port}/app", flush=True)
    # Become the server rather than start it as a child: this PID is then the server's, so a
    # signal sent to it (SIGTERM, SIGINT) stops the server instead of orphaning it.
    os.chdir(ROOT)
    os.execve(sys.executable, cmd, env)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:        # Ctrl-C while the checkpoint loads: no traceback
        sys.exit(130)
