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


# A page's own messages that arrived as it closed (seen in a loop of the server and browser group)
SESSION_GONE = """2026-12-07 06:41:46,797 error handling message
 message: Message 'PATCH-DOC' content: {'events': [{'kind': 'ModelChanged', 'attr': 'start', 'new': -3.4}]}
 error: AssertionError()
Traceback (most recent call last):
  File "bokeh/server/protocol_handler.py", line 94, in handle
    work = await handler(message, connection)
  File "bokeh/server/session.py", line 295, in patch
    return connection.session._handle_patch(message, connection)
  File "bokeh/server/connection.py", line 65, in session
    assert self._session is not None
AssertionError
2026-12-07 06:41:46,803 Uncaught exception GET /app/ws (127.0.0.1)
HTTPServerRequest(protocol='http', host='127.0.0.1:59409', method='GET', uri='/app/ws')
Traceback (most recent call last):
  File "bokeh/server/views/ws.py", line 310, in on_close
    self.connection.session.notify_connection_lost()
  File "bokeh/server/connection.py", line 65, in session
    assert self._session is not None
AssertionError
"""


def test_messages_of_a_page_that_left_are_not_a_problem_and_any_other_assertion_is():
    assert log_problems(SESSION_GONE) == []
    assert log_problems(SESSION_GONE + APP_ERROR) == ["Traceback (most recent call last):"]
    other = SESSION_GONE.replace("    assert self._session is not None\nAssertionError\n2026-12-07 06:41:46,803",
                                 "    assert widths == 3\nAssertionError\n2026-12-07 06:41:46,803")
    assert len(log_problems(other)) == 1                       # the first entry's assertion is the app's
