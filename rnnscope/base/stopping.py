"""SIGTERM as an orderly stop for long work that writes (a training run).

The signal's default action ends the process on the spot: a checkpoint or resume state being written is left
as its temporary directory (``.NAME.tmp-PID-...``). ``recover`` removes such leftovers at the next load or
save, but until then they sit in the user's folder -- and torchrun sends SIGTERM to the other processes of a
run whenever one of them dies. Raised as SystemExit in the main thread instead, the signal unwinds the stack,
so a write under way removes its temporary directory (its ``except BaseException``) before the process ends.
"""
from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def sigterm_unwinds():
    """Inside the block, SIGTERM raises SystemExit(143) (128 + SIGTERM, the status a shell reports for a
    process the signal ended) in the main thread; a second SIGTERM gets the default action at once. The
    previous handler is restored after. Off the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def unwind(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
