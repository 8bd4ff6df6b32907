"""SIGINT and SIGTERM stop the server (``panel serve app``, however it was started) at any moment,
and a second one ends the process at once.

Bokeh stops on SIGTERM through the event loop but on SIGINT only when a KeyboardInterrupt reaches
its ``IOLoop.start()``. That needs Python's own SIGINT handler, which Python installs only when it
starts with SIGINT at its default: a process started with SIGINT ignored (a background job of a
non-interactive shell, ``cmd &`` in a script, gets SIGINT and SIGQUIT ignored, and exec keeps
that) ignored every Ctrl-C and ``kill -INT``. So the server installs its own handler for both.

It only asks the loop to stop (``call_soon_threadsafe`` also wakes a loop waiting in select): it
raises nothing, so no code it interrupts can swallow it, and it runs between bytecodes even while a
callback computes on the loop. The first signal also puts both signals back to their default
action, so a second one is the kernel's: it ends the process even inside C code or a stuck
shutdown; a watchdog does the same if the clean stop has not ended the process in ``GRACE`` s.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 10.0     # seconds the clean stop (sessions closed, port released, threads joined) may take


def install(asyncio_loop) -> None:
    """Stop ``asyncio_loop`` (the server's; its ``run_forever`` returning is what stops Bokeh's server)
    on SIGINT or SIGTERM. Call it on the main thread; calling it again re-installs the handler."""
    def on_signal(signum: int, frame) -> None:
        for s in SIGNALS:          # a second signal is not ours to handle: it ends the process
            signal.signal(s, signal.SIG_DFL)
        print(f"rnnscope: {signal.Signals(signum).name} received, stopping the server "
              "(send it again to end it at once)", file=sys.stderr, flush=True)
        asyncio_loop.call_soon_threadsafe(asyncio_loop.stop)
        watchdog = threading.Timer(GRACE, os._exit, (128 + signum,))
        watchdog.daemon = True     # does not keep a finished process alive
        watchdog.start()

    for s in SIGNALS:
        signal.signal(s, on_signal)


def on_server_loaded(ioloop) -> None:
    """From the app's ``on_server_loaded`` hook: install now (the loop is not running yet: a signal
    stops it as soon as it starts) and again on the loop's first turn, after Bokeh's ``run_until_shutdown``
    has given SIGTERM to its own loop handler (which stops the loop too, but a second SIGTERM could
    not end the process)."""
    install(ioloop.asyncio_loop)
    ioloop.add_callback(install, ioloop.asyncio_loop)
