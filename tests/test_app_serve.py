"""`panel serve app` and `python serve.py` start, and the page builds without an error in
the server log (a crashing main.py still answers HTTP 200, so the log is what tells); a signal
to serve.py's PID stops the server."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    """The server exited because its port was taken: free_port() only finds a port free at that moment, and
    another process (a server of a test beside it, any client's connection) can take it before the server,
    seconds later on a loaded machine, binds it."""


def fetch_page(port: int, proc: subprocess.Popen, timeout: float = 60, path: str = "/app") -> str:
    """``path`` once the server answers it. "/app" builds a page session (a trace, the probe track); a
    static file only needs the server up. A server that exits first fails the test with what it said
    (``proc``'s output piped), or raises PortTaken."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            said = proc.communicate()[0] or ""
            if f"port {port} is already in use" in said:
                raise PortTaken(said)
            pytest.fail(f"the server exited with {proc.returncode} before answering; it said:\n{said[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the server did not answer {path} within {timeout} s")


def start_answering(launch, path: str, timeout: float = 60) -> tuple[subprocess.Popen, int, str]:
    """``launch(port)`` (a Popen, output piped) on a free port, once it answers ``path``: (the process, its port,
    the body). A port taken before the server bound it: again on another, up to five times. A server that fails
    otherwise is ended (its process group) before the test fails."""
    for _ in range(5):
        port = free_port()
        proc = launch(port)
        try:
            return proc, port, fetch_page(port, proc, timeout, path)
        except PortTaken:
            continue
        except BaseException:
            _end(proc)
            raise
    pytest.fail("five free ports in a row were taken before the server could bind one")


def serve_py(model: Path):
    """A launcher (port -> Popen) of serve.py showing ``model``, output piped, in its own process group (to look
    for leftovers)."""
    return lambda port: subprocess.Popen([sys.executable, "serve.py", "--port", str(port), "--model", str(model)],
                                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         start_new_session=True)


def _end(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def fetch(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        assert r.status == 200, path
        return r.read()


def stop(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("how", ["panel serve app", "serve.py"])
def test_server_starts_and_builds_the_page_without_error(default_model, how):
    env = {**os.environ, "RNNSCOPE_MODEL": str(default_model)}

    def launch(port: int) -> subprocess.Popen:
        cmd = ([sys.executable, "-m", "panel", "serve", "app", "--port", str(port), "--address", "127.0.0.1"]
               if how == "panel serve app" else
               [sys.executable, "serve.py", "--port", str(port), "--model", str(default_model)])
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    proc, port, html = start_answering(launch, "/app")
    try:
        own = {name: fetch(port, f"/app/static/{name}") for name in ("rnnscope.css", "favicon.svg")}
    finally:
        log = stop(proc)
    assert "Traceback" not in log and "ERROR" not in log, log
    # the page's own files, from the top-level static/ (app/static links there)
    for name, body in own.items():
        assert f'app/static/{name}"' in html and body == (ROOT / "static" / name).read_bytes(), name
    assert "static/js/bokeh.min.js" in html                      # served by the server itself
    outside = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(https?://[^\"]+)", html)
    assert outside == [], outside
    assert "rnnscope" in html


@pytest.mark.parametrize("which", ["corrupt", "missing"])
def test_serve_py_refuses_a_checkpoint_that_does_not_load(corrupt_model, tmp_path, which):
    model = corrupt_model if which == "corrupt" else tmp_path / "nothing-here"
    r = subprocess.run([sys.executable, "serve.py", "--port", str(free_port()), "--model", str(model)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    err = r.stderr.splitlines()
    assert r.returncode == 2 and len(err) == 1 and err[0].startswith("serve.py: error: "), r.stderr
    assert ("model.safetensors" if which == "corrupt" else "no such checkpoint directory") in err[0]
    assert "serving" not in r.stdout


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_serve_py_stops_the_server(default_model, sig):
    """serve.py used to start `panel serve` as a child: SIGTERM to serve.py's PID (what a user
    or a supervisor has) left the server running, orphaned."""
    # The server is up once it serves a static file; building a page would only add its cost
    # (the page itself is test_server_starts_and_builds_the_page_without_error's).
    proc, port, _ = start_answering(serve_py(default_model), "/app/static/rnnscope.css")
    try:
        os.kill(proc.pid, sig)
        proc.communicate(timeout=30)      # a loaded machine (the suite's other servers) slows the exit, not stops it
        deadline = time.time() + 5
        while answers(port) and time.time() < deadline:
            time.sleep(0.2)
        assert not answers(port), f"port {port} still answers after {sig.name} to serve.py"
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)                          # no process left in serve.py's group
    finally:
        _end(proc)


def test_a_shipped_checkpoint_is_found_by_name_and_a_path_wins_over_a_name(tmp_path, monkeypatch):
    from rnnscope.base.paths import CHECKPOINTS_DIR, find_checkpoint, shipped_checkpoints
    assert {"gru15-parens", "lstm128-pystdlib"} <= set(shipped_checkpoints())
    assert find_checkpoint("lstm128-pystdlib") == CHECKPOINTS_DIR / "lstm128-pystdlib"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gru15-parens").mkdir()                 # the user's own folder of that name is the one meant
    assert find_checkpoint("gru15-parens") == Path("gru15-parens")


@pytest.mark.parametrize("how", [["serve.py"], ["-m", "rnnscope", "serve"]])
def test_a_name_that_is_neither_a_directory_nor_shipped_is_refused_with_the_shipped_names(how):
    from rnnscope.base.paths import shipped_checkpoints
    r = subprocess.run([sys.executable, *how, "--port", str(free_port()), "--model", "gru16-parens"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    prog = "serve.py" if how == ["serve.py"] else "rnnscope serve"
    assert r.returncode == 2 and r.stderr.splitlines() == [
        f"{prog}: error: gru16-parens: no such checkpoint directory, nor the name of a shipped checkpoint "
        f"({', '.join(shipped_checkpoints())})"], r.stderr
    assert "serving" not in r.stdout


# A background job of a non-interactive shell (``serve.py &`` in a script, a CI step's helper) starts
# with SIGINT ignored and exec keeps it: Python then installs no KeyboardInterrupt handler and
# Bokeh never stopped on SIGINT. Every server here starts that way, the worst case.
_IGNORING_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def _takes_sigint(pid: int) -> bool:
    """Whether process ``pid`` no longer ignores SIGINT (its bit in /proc's SigIgn mask is clear): serve.py
    puts it back to the default as its first step, the server's hook then installs its own handler."""
    with open(f"/proc/{pid}/status") as f:
        ignored = next(line for line in f if line.startswith("SigIgn:"))
    return not int(ignored.split()[1], 16) >> (signal.SIGINT - 1) & 1


def _stops(default_model, how: str, moment: str, sig: signal.Signals) -> str:
    """Start a server ``how``, send ``sig`` at ``moment``; '' when it stopped within the bounds, else why not."""
    def launch(port: int) -> subprocess.Popen:
        cmd = (["serve.py", "--port", str(port), "--model", str(default_model)] if how == "serve.py" else
               ["-m", "panel", "serve", "app", "--port", str(port), "--address", "127.0.0.1"])
        return subprocess.Popen([sys.executable, "-c", _IGNORING_SIGINT, *cmd], cwd=ROOT,
                                env={**os.environ, "RNNSCOPE_MODEL": str(default_model)}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    # Signalled during start-up, the server has not bound its port yet: a port taken meanwhile is no matter.
    if moment.startswith("start-up"):
        port = free_port()
        proc = launch(port)
    else:
        proc, port, _ = start_answering(launch, "/app/static/rnnscope.css", timeout=120)
    building = None
    try:
        if moment.startswith("start-up"):              # while serve.py loads the checkpoint or panel imports
            # from the moment serve.py has put SIGINT back (its first lines; before that the process is
            # still the launcher's, which ignores it)
            deadline = time.time() + 60
            while not _takes_sigint(proc.pid) and time.time() < deadline and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(float(moment.split()[1]))
        else:
            if moment == "page session":               # a session built and held by the server
                fetch_page(port, proc, timeout=120)
            elif moment == "page build":               # the loop busy building a page when the signal lands
                building = subprocess.Popen([sys.executable, "-c", f"import urllib.request as u; u.urlopen("
                                             f"'http://127.0.0.1:{port}/app', timeout=120).read()"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.3)
        os.kill(proc.pid, sig)
        try:
            out, _ = proc.communicate(timeout=30)    # the clean stop takes < 1 s; its watchdog ends it at 10 s
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            said = proc.communicate()[0]
            return f"{how}, {moment}, {sig.name}: still running 30 s after the signal; it said:\n{said}"
        deadline = time.time() + 5
        while answers(port) and time.time() < deadline:
            time.sleep(0.2)
        if answers(port):
            return f"{how}, {moment}, {sig.name}: port {port} still answers"
        try:
            os.killpg(proc.pid, 0)
            return f"{how}, {moment}, {sig.name}: a process of its group is left"
        except ProcessLookupError:
            pass
        if "Traceback" in out and not moment.startswith("start-up"):
            return f"{how}, {moment}, {sig.name}: {out}"
        return ""
    finally:
        for p in (proc, building):
            if p is not None:
                try:
                    os.killpg(p.pid, signal.SIGKILL) if p is proc else p.kill()
                except ProcessLookupError:
                    pass
                p.communicate()


@pytest.mark.slow
def test_sigint_and_sigterm_stop_the_server_at_every_moment_even_with_sigint_ignored_at_start(default_model):  # noqa: F811
    """Both signals, through serve.py and through a bare `panel serve app` (the app itself installs the
    handlers), during start-up, right after the first request, with a page session held, and while the
    loop builds a page. Servers run side by side, so the moments land on a loaded machine."""
    from concurrent.futures import ThreadPoolExecutor
    INT, TERM = signal.SIGINT, signal.SIGTERM
    cases = [("serve.py", "start-up 0.0", INT), ("serve.py", "start-up 1.5", INT), ("serve.py", "start-up 1.5", TERM),
             ("serve.py", "first request", INT), ("panel serve app", "first request", INT),
             ("panel serve app", "page session", INT), ("serve.py", "page session", TERM),
             ("panel serve app", "page build", INT), ("panel serve app", "page build", TERM)]
    with ThreadPoolExecutor(len(cases)) as pool:
        failures = [f for f in pool.map(lambda c: _stops(default_model, *c), cases) if f]
    assert failures == []


_BUSY_LOOP = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
from rnnscope.app import shutdown
loop = asyncio.new_event_loop()
shutdown.install(loop)
def compute():                  # a long computation holding the loop: a second signal must still end it
    print("computing", flush=True)
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        sum(range(1000))
loop.call_soon(compute)
loop.run_forever()
print("stopped", flush=True)
"""


def _stderr_until(proc: subprocess.Popen, text: str) -> str:
    """What ``proc`` writes to stderr up to its first line holding ``text``; fails if it ends first (bounded by
    the process: the computation ends, or the watchdog ends it)."""
    said = ""
    for line in iter(proc.stderr.readline, ""):
        said += line
        if text in line:
            return said
    pytest.fail(f"the process ended without saying {text!r}; it said:\n{said}")


@pytest.mark.parametrize("signals", [1, 2])
def test_a_signal_stops_the_loop_after_a_computation_and_a_second_ends_the_process_at_once(signals):
    proc = subprocess.Popen([sys.executable, "-c", _BUSY_LOOP, str(ROOT), "3" if signals == 1 else "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "computing\n"
        os.kill(proc.pid, signal.SIGINT)
        if signals == 2:
            # The second only once the handler has run: two signals landing before it runs are one to Python (a
            # process not scheduled for a moment, as on a loaded machine), and the watchdog then ends it with 130.
            before = _stderr_until(proc, "SIGINT received")
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        err = (before if signals == 2 else "") + err
    finally:
        proc.kill()
    if signals == 1:      # the computation ends, then the loop stops cleanly
        assert (proc.returncode, out, "SIGINT received" in err) == (0, "stopped\n", True), err
    else:                 # ended by the second signal long before the computation's 120 s
        assert proc.returncode == -signal.SIGINT and out == "", err


def _taken_first(monkeypatch, module_globals: dict, taken: socket.socket) -> None:
    """free_port() in ``module_globals`` answers ``taken``'s port once, then free ones: the race made certain."""
    ports, free = iter([taken.getsockname()[1]]), module_globals["free_port"]
    monkeypatch.setitem(module_globals, "free_port", lambda: next(ports, None) or free())


@pytest.mark.slow
def test_a_port_taken_before_the_server_binds_it_is_left_for_another(default_model, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        _taken_first(monkeypatch, globals(), taken)
        proc, port, css = start_answering(serve_py(default_model), "/app/static/rnnscope.css")
        try:
            assert port != taken.getsockname()[1]
            assert css == (ROOT / "static" / "rnnscope.css").read_text(encoding="utf-8")
        finally:
            _end(proc)


@pytest.mark.slow
def test_the_browser_tests_server_is_started_again_when_its_port_was_taken(default_model, monkeypatch, tmp_path):
    import browser_fixtures
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        _taken_first(monkeypatch, vars(browser_fixtures), taken)
        cmd = [sys.executable, "serve.py", "--address", "127.0.0.1", "--model", str(default_model)]
        log = tmp_path / "server.log"
        with browser_fixtures.served(cmd, log, dict(os.environ), "app/static/favicon.svg") as server:
            assert f":{taken.getsockname()[1]}/" not in server.url
            assert server.proc.poll() is None
