"""The browser tests' server-log check (browser_fixtures.log_problems): a client that left while the
server wrote to it is not a problem; any other traceback, ERROR or Exception is, even beside one."""
from __future__ import annotations

from browser_fixtures import log_problems

CLIENT_GONE = """2026-12-03 08:39:16,847 WebSocket connection closed: code=None, reason=None
2026-12-03 08:39:16,848 Task exception was never retrieved
future: <Task finished name='Task-374' coro=<...wrapper() done> exception=WebSocketClosedError()>
Traceback (most recent call last):
  File "tornado/websocket.py", line 1140, in wrapper
    await fut
tornado.iostream.StreamClosedError: Stream is closed

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "tornado/websocket.py", line 1142, in wrapper
    raise WebSocketClosedError()
tornado.websocket.WebSocketClosedError
2026-12-03 08:39:17,789 WebSocket connection opened
"""
APP_ERROR = """2026-12-03 08:40:00,000 Error running application handler <panel.io.handlers.ScriptHandler>:
Traceback (most recent call last):
  File "app/main.py", line 3, in <module>
ValueError: boom
"""


def test_a_client_that_left_is_not_a_problem_and_anything_else_is():
    assert log_problems(CLIENT_GONE) == []
    assert log_problems(CLIENT_GONE + APP_ERROR) == ["Traceback (most recent call last):"]
    mixed = CLIENT_GONE.replace("tornado.websocket.WebSocketClosedError\n", "KeyError: 'x'\n")
    assert len(log_problems(mixed)) == 2                       # a client-gone entry that also raised KeyError
    assert log_problems("2026-12-03 08:40:00,000 ERROR tornado.access 500 GET /app\n") != []
