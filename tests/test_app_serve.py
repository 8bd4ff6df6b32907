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


def fetch_page(port: int, proc: subprocess.Popen, timeout: float = 60, path: str = "/app") -> str:
    """``path`` once the server answers it. "/app" builds a page session (a trace, the probe track); a
    static file only needs the server up."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.5)
    pytest.fail("the server did not answer")


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
    port = free_port()
    env = {**os.environ, "RNNSCOPE_MODEL": str(default_model)}
    cmd = ([sys.executable, "-m", "panel", "serve", "app", "--port", str(port), "--address", "127.0.0.1"]
           if how == "panel serve app" else
           [sys.executable, "serve.py", "--port", str(port), "--model", str(default_model)])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        html = fetch_page(port, proc)
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
    port = free_port()
    proc = subprocess.Popen([sys.executable, "serve.py", "--port", str(port), "--model", str(default_model)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)      # its own process group, to look for leftovers
    try:
        # The server is up once it serves a static file; building a page would only add its cost
        # (the page itself is test_server_starts_and_builds_the_page_without_error's).
        fetch_page(port, proc, path="/app/static/rnnscope.css")
        os.kill(proc.pid, sig)
        proc.communicate(timeout=30)      # a loaded machine (the suite's other servers) slows the exit, not stops it
        deadline = time.time() + 5
        while answers(port) and time.time() < deadline:
            time.sleep(0.2)
        assert not answers(port), f"port {port} still answers after {sig.name} to serve.py"
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)                          # no process left in serve.py's group
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
