"""Bokeh's server lifecycle hooks for the app directory: they run in the ``panel serve app`` process
once, whatever started it (serve.py, ``panel serve app``, any other launcher)."""
from tornado.ioloop import IOLoop

from rnnscope.app import event_lock, in_turn, shutdown


def on_server_loaded(server_context) -> None:
    shutdown.on_server_loaded(IOLoop.current())
    in_turn.install()
    event_lock.install()
