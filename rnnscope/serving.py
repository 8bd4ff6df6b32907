"""Serve the rnnscope page from wherever rnnscope is installed: ``rnnscope serve`` and the repository's
``serve.py`` both call :func:`serve`.

The page is ``panel serve`` on the installed ``rnnscope.app`` folder (its main.py and static/), with the
model chosen by the caller (passed to the app in $RNNSCOPE_MODEL), or an LSTMVis directory's states
with no model ($RNNSCOPE_LSTMVIS), and the listening address and allowed websocket origins set together.
"""
from __future__ import annotations

import os
import signal
import sys
from importlib.util import find_spec
from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.paths import DEFAULT_CHECKPOINT, find_checkpoint

# The app's folder, located without importing it: app/ in a checkout, site-packages/rnnscope/app once
# installed. `panel serve` runs its main.py and serves its static/ at /app/static/.
APP_DIR = Path(find_spec("rnnscope.app").submodule_search_locations[0]).resolve()


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def websocket_origins(address: str, port: int) -> list[str]:
    """The origins a browser's page may open its websocket from: the names this address is reached by."""
    if address == "0.0.0.0":
        return ["*"]
    host = "localhost" if address in ("127.0.0.1", "localhost") else address
    return sorted({f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"})


def serve(model: str | Path | None = None, lstmvis: str | Path | None = None, port: int = 5006,
          address: str = "127.0.0.1", show: bool = False, *, prog: str = "rnnscope serve") -> int:
    """Become the page's server: check the model (a checkpoint directory or a shipped checkpoint's name,
    default the shipped GRU-15) or the LSTMVis directory, then exec ``panel serve`` (through ``_server_main``).
    Returns only to refuse: 2, after one line on stderr that starts with ``prog``."""
    # Until the server is up, SIGINT and SIGTERM get the kernel's default action: the process ends, whatever
    # Python code the signal lands in. Python's own KeyboardInterrupt is not enough here: a launcher may have
    # started us with SIGINT ignored (a background job of a script is, and exec keeps it), and a
    # KeyboardInterrupt raised during the slow imports can be lost (a loaded full test run once saw a server
    # go on starting after a SIGINT sent 1.5 s into its start-up). The server process does the
    # same first thing (``_server_main``); app/shutdown.py then installs the graceful handlers.
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    try:       # a checkpoint or directory that cannot load is refused here, not in every session's log
        checkpoint_dir = DEFAULT_CHECKPOINT if model is None else find_checkpoint(model)
        if lstmvis:
            from rnnscope.app.pages.lstmvis.lstmvis_source import open_source
            open_source(Path(lstmvis))
        else:
            from rnnscope.models.network import checkpoint
            checkpoint.load(checkpoint_dir)
    except RnnscopeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    # -P: the current directory stays off the server's import path, so a folder named rnnscope there
    # (a checkout of this repository, say) cannot stand in for the installed package.
    cmd = [sys.executable, "-P", "-m", "rnnscope.serving", "serve", str(APP_DIR),
           "--port", str(port), "--address", address,
           *[a for o in websocket_origins(address, port) for a in ("--allow-websocket-origin", o)]]
    if show:
        cmd.append("--show")
    env = {**os.environ, "RNNSCOPE_MODEL": str(checkpoint_dir.resolve())}
    env.pop("RNNSCOPE_LSTMVIS", None)          # only lstmvis opens a directory
    if lstmvis:
        env["RNNSCOPE_LSTMVIS"] = str(Path(lstmvis).resolve())
    shown = "localhost" if address == "0.0.0.0" else address     # the address it listens on
    print(f"rnnscope: serving {lstmvis or model or DEFAULT_CHECKPOINT} at http://{shown}:{port}/app", flush=True)
    # Become the server rather than start it as a child: this PID is then the server's, so a
    # signal sent to it (SIGTERM, SIGINT) stops the server instead of orphaning it.
    os.execve(sys.executable, cmd, env)


def _server_main() -> None:
    """The server process (``python -m rnnscope.serving serve APP_DIR ...``, exec'd by :func:`serve`): ``panel
    serve`` with SIGINT and SIGTERM at the kernel's default until the app's server hook replaces them
    (exec resets caught signals to the default, and Python's start-up installs its KeyboardInterrupt
    handler again: put the default back before the slow imports)."""
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    from panel.command import main
    sys.argv[0] = "panel"
    main()


if __name__ == "__main__":
    _server_main()
