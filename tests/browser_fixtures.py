"""Fixtures for the browser tests: one `python serve.py` on a free port for the whole session
(its log captured to a file), Debian's Chromium driven by Playwright, and a page wrapper that
records console errors, page errors and every request so a test can assert that nothing left
the machine. Import the fixtures by name, as the app tests import theirs from app_fixtures.

Chromium is /usr/bin/chromium (`playwright install` cannot download here). When it is missing
the tests FAIL -- never skip -- so a CI without a browser cannot pass by accident.

Screenshots go to test-results/ (gitignored); pytest-playwright empties that folder when a session
starts, so it always holds the last run's files. The server writes its log in the session's own
temporary folder (another pytest session starting meanwhile would empty test-results/ under it)
and the log is copied to test-results/ when the session ends.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from app_fixtures import _copy_checkpoint
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"
SCREENSHOTS = RESULTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = re.compile(r"^(?:(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?::\d+)?(?:/|$)|data:|blob:|file:|about:)")
PAGE_TIMEOUT_MS = 120_000        # two cores, and a training run may be sharing them
# Playwright's assertions wait for their condition as long as its actions do: by default they give up after
# 5 s, less than a tab takes to compute under load (seen: the Coloured text tab's spans, 0 of 100 after 5 s).
expect.set_options(timeout=PAGE_TIMEOUT_MS)
# Every table shown, and the header titles it cuts short (e.g. "s…"): none, when it fits its tab.
TABLES_FIT = """() => {
  const out = [];
  const walk = root => { for (const el of root.querySelectorAll("*")) { if (el.shadowRoot) walk(el.shadowRoot);
    if (el.classList.contains("tabulator") && el.offsetParent !== null) {
      const rows = el.querySelector(".tabulator-tableholder");
      out.push({overflow: rows.scrollWidth - rows.clientWidth,
                cut: [...el.querySelectorAll(".tabulator-col-title")].filter(t => t.scrollWidth > t.clientWidth)
                                                                      .map(t => t.textContent)}); } } };
  walk(document);
  return out;
}"""



def assert_one_table_fits(page) -> None:
    """One table is shown, and it fits its tab with every title whole. Tabulator fits its columns to the data
    after the rows show, a redraw or two later (later still on busy cores; a run measured 1 px over in
    between), so this waits, bounded, for the fit, then asserts the measurement."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"""() => {{ const t = ({TABLES_FIT})();
            return t.length === 1 && t[0].overflow === 0 && t[0].cut.length === 0; }}""", timeout=30_000)
    assert page.evaluate(TABLES_FIT) == [{"overflow": 0, "cut": []}]

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    log_path: Path
    proc: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def problems(self) -> list[str]:
        return log_problems(self.log())


# A page closed while the server was still sending to it (the previous test's, as a test ends) leaves
# Tornado's "Task exception was never retrieved ... WebSocketClosedError" in the log: the client left,
# the server did nothing wrong. Such an entry, and only one whose every exception is of that kind, is
# not a problem; anything else with a traceback, ERROR or Exception is.
# A page closed while its own messages were still arriving (ranges moved as it was shut) leaves Bokeh's
# "error handling message ... assert self._session is not None" for each (handled after the connection lost
# its session), and the same assertion when the connection's close is handled: seen once in a loop of the
# server and browser group, after a page that had switched the model closed. Those entries, and only those
# whose every exception is that assertion in bokeh/server/connection.py or a closed socket, are not problems.
_ENTRY = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} )")     # a log line's timestamp starts an entry
_RAISED = re.compile(r"^[\w.]+(Error|Exception)\b", re.M)
_CLIENT_GONE = {"tornado.websocket.WebSocketClosedError", "tornado.iostream.StreamClosedError"}
_SESSION_GONE = "assert self._session is not None"


def _client_gone(entry: str, raised: set[str]) -> bool:
    if raised and raised <= _CLIENT_GONE and "WebSocketClosedError" in entry:
        return True
    return (raised == {"AssertionError"} and entry.count("Traceback") == entry.count(_SESSION_GONE)
            and "bokeh/server/connection.py" in entry)


def log_problems(log: str) -> list[str]:
    """The lines of a server log that say something went wrong, the client-gone entries above left out."""
    problems = []
    for entry in _ENTRY.split(log):
        raised = {m.group(0) for m in _RAISED.finditer(entry)}
        if _client_gone(entry, raised):
            continue
        problems += [ln for ln in entry.splitlines() if "Traceback" in ln or "ERROR" in ln or "Exception" in ln]
    return problems


@pytest.fixture(scope="session")
def browser_model(tmp_path_factory) -> Path:
    """A frozen copy of the shipped checkpoint: a training run may be rewriting the original.
    (Named apart from it, though a same-named one would now show as `name (parent folder)`.)"""
    return _copy_checkpoint(tmp_path_factory.mktemp("browser-models") / "gru15-parens-snapshot")


@pytest.fixture(scope="session")
def app_server(browser_model, tmp_path_factory):
    """`python serve.py --port <free> --address 127.0.0.1`, up until the session ends. Its cache
    folder (the Match tab's state stores) is the session's own, so each run builds them afresh."""
    with serve(browser_model, tmp_path_factory.mktemp("server-cache"), tmp_path_factory.mktemp("server-log")) as server:
        yield server


@contextlib.contextmanager
def serve(model: Path, cache_dir: Path, log_dir: Path, log_name: str = "browser-server.log"):
    """serve.py on a free port showing ``model``, stopped on exit; its log is written in ``log_dir`` (the
    session's own) and copied to test-results/``log_name`` at the end."""
    cmd = [sys.executable, "serve.py", "--address", "127.0.0.1", "--model", str(model)]
    with served(cmd, log_dir / log_name, {**os.environ, "XDG_CACHE_HOME": str(cache_dir)}, "app") as server:
        yield server


@contextlib.contextmanager
def served(cmd: list[str], log_path: Path, env: dict, path: str):
    """``cmd --port <free>`` (a server of Panel pages) started in its own process group, once it answers at
    /``path``; stopped on exit (SIGTERM, then SIGKILL after 20 s), its log copied to test-results/. A port taken
    between free_port() and the server's bind (another server beside it, any client's connection): started
    again on another, up to five times."""
    for _ in range(5):
        server = _start(cmd, log_path, env, path)
        if server is not None:
            break
    else:
        pytest.fail(f"five free ports in a row were taken before {' '.join(cmd[1:])} could bind one")
    try:
        yield server
    finally:
        _stop(server.proc)
        RESULTS.mkdir(exist_ok=True)
        shutil.copyfile(log_path, RESULTS / log_path.name)


def _start(cmd: list[str], log_path: Path, env: dict, path: str) -> Server | None:
    """The server once it answers at /``path``; None if it exited because its port was taken."""
    port = free_port()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    server, what = Server(f"http://127.0.0.1:{port}/{path}", log_path, proc), " ".join(cmd[1:])
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                if f"port {port} is already in use" in server.log():
                    return None
                pytest.fail(f"{what} exited with {proc.returncode}:\n{server.log()}")
            try:
                with urllib.request.urlopen(server.url, timeout=30) as r:
                    if r.status == 200:
                        return server
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"{what} did not answer at {server.url} within 120 s:\n{server.log()}")
            time.sleep(0.5)
    except BaseException:
        _stop(proc)
        RESULTS.mkdir(exist_ok=True)
        shutil.copyfile(log_path, RESULTS / log_path.name)
        raise


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium. Missing browser: a failure with the fix, never a skip."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
                    "(`apt-get install chromium`; .ci/run and `dev.sh test` install it). "
                    "`playwright install` cannot download a browser here.", pytrace=False)
    # One browser for the whole session: each test module that imports this fixture gets a fixture of its
    # own, and a second sync_playwright() in the same process fails ("Sync API inside the asyncio loop").
    if _BROWSER:
        yield _BROWSER[0]
        return
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        _BROWSER.append(browser)
        try:
            yield browser
        finally:
            _BROWSER.clear()
            browser.close()


_BROWSER: list = []      # the session's browser, once launched


@dataclass
class Watched:
    """A page with everything it logged and asked for."""
    page: object
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def outside(self) -> list[str]:
        return [u for u in self.requests if not LOCAL.match(u)]

    def assert_clean(self) -> None:
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.outside == [], f"requests leaving the machine: {self.outside}"


def watch(context, page) -> Watched:
    w = Watched(page)
    page.on("console", lambda m: (w.console_errors if m.type == "error" else w.console_warnings
                                  if m.type == "warning" else []).append(f"{m.text} ({m.location})"))
    page.on("pageerror", lambda e: w.page_errors.append(str(e)))
    context.on("request", lambda r: w.requests.append(r.url))
    page.on("websocket", lambda ws: w.requests.append(ws.url))
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    return w


def new_context(browser, **kw):
    return browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1, **kw)


def screenshot(page, name: str, **kw) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    (kw.pop("element") if "element" in kw else page).screenshot(path=str(path), **kw)
    return path
