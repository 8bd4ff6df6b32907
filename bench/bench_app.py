"""Benchmarks for the app. Run: ``.venv/bin/python bench/bench_app.py [--sessions 20]``.

1. Server-side time from a new sequence to updated Bokeh sources, 1,000 and 100,000 chars:
   trace (uncached), frame + source update, and the binary encoding of the changed sources
   (what the server then sends); and the same sequence again (trace from the shared cache).
2. Held-out windows read in context (the state carried from the stream's start): the first
   window near the stream's end (the states are recorded on the way), then other windows.
3. Export time and file size.
3b. The probing tracks (KL to the oracle, the depth probe's reading) for a new 1,000-char sequence:
   the whole update against the probe track's own share (``--probe-tracks-only`` runs just this
   and writes its own section, ``## App: probing tracks``).
4. N real browser sessions (headless Chromium via Playwright) on one ``panel serve app`` on
   loopback, each changing sequences: errors in the server log / page consoles, server RSS.
Writes the ``## App`` section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rnnscope import grammar  # noqa: E402
import machine  # noqa: E402  (bench/machine.py)
from rnnscope.models.network import checkpoint  # noqa: E402


def bench_update(model: str) -> list[str]:
    from bokeh.core.serialization import Serializer
    from bokeh.document import Document

    from rnnscope.app.pages import cache
    from rnnscope.app.drawing.export import standalone_html
    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.state import AppState

    page = Page(AppState(model))
    Document().add_root(page.scope.layout)      # sources live in a document, as on the server
    sources = [page.scope.seq, page.scope.heatmap.source, page.scope.tracks.cells_source]
    page.state.selected = [4, 12]
    rows = ["| chars | trace (uncached) | state -> frame -> sources (trace cached) | encode sources | "
            "**total, new sequence** | export | export size |", "|---|---|---|---|---|---|---|"]
    for n in (1_000, 100_000):
        texts = [grammar.generate(n, seed=1000 + k) for k in range(3)]
        t_trace = min(machine.best(lambda t=t: cache.trace_text(model, t, grammar.GrammarSpec()), 1) for t in texts)
        t_draw = []
        for _ in range(2):
            for t in texts:                       # every assignment is a new sequence for the page
                start = time.perf_counter()
                page.state.text = t
                t_draw.append(time.perf_counter() - start)
        t_encode = machine.best(lambda: [Serializer().encode(s.data) for s in sources], 3)
        t_export = machine.best(lambda: standalone_html(page.current_frame(), "bench"), 2)
        size = len(standalone_html(page.current_frame(), "bench").encode())
        total = t_trace + min(t_draw) + t_encode
        rows.append(f"| {n:,} | {t_trace * 1e3:.0f} ms | {min(t_draw) * 1e3:.0f} ms | {t_encode * 1e3:.1f} ms | "
                    f"**{total * 1e3:.0f} ms** | {t_export * 1e3:.0f} ms | {size / 1e6:.2f} MB |")
        print(rows[-1], flush=True)
    return rows


def bench_probe_tracks(model: str, repeat: int = 5) -> list[str]:
    """A new 1,000-char typed sequence -> updated sources, its trace uncached, against the parts
    that are the probing tracks': the oracle divergence and the depth probe applied to the states
    (the probe itself is trained once per model and shared by every session: timed apart)."""
    from bokeh.document import Document

    from rnnscope.app.pages import cache
    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.cache import probe_track
    from rnnscope.app.pages.state import AppState

    t_fit = machine.best(lambda: cache.depth_probe(model, 0), 1)        # first call: held-out trace + fit
    page = Page(AppState(model))
    Document().add_root(page.scope.layout)
    texts = [grammar.generate(1_000, seed=2000 + k) for k in range(repeat)]
    t_update, t_probe, t_div = [], [], []
    for t in texts:                                # each a new sequence, traced afresh
        start = time.perf_counter()
        page.state.text = t
        t_update.append(time.perf_counter() - start)
        tr = page.state.trace
        t_probe.append(machine.best(lambda tr=tr: probe_track(model, tr), 3))
        t_div.append(machine.best(lambda tr=tr: page.state._divergence(tr, 0), 3))
    update, probe, div = (min(x) * 1e3 for x in (t_update, t_probe, t_div))
    rows = [f"`python bench/bench_app.py --probe-tracks-only`, {time.strftime('%Y-%m-%d')}, on {machine.describe()}; "
            f"load average {os.getloadavg()[0]:.1f} when it ran. Best of {repeat} new typed sequences of 1,000 "
            "characters (target: the probing tracks updated within 300 ms server-side).", "",
            "| new 1,000-char sequence -> sources (trace uncached) | of which: depth probe track, all layers | "
            "of which: KL(oracle ‖ model) track | training the depth probe (once per model, shared) |",
            "|---|---|---|---|",
            f"| **{update:.0f} ms** | {probe:.1f} ms ({probe / update:.0%}) | {div:.1f} ms ({div / update:.0%}) | "
            f"{t_fit:.2f} s |"]
    print("\n".join(rows), flush=True)
    return rows


def bench_in_context(model: str) -> list[str]:
    """A held-out window read in context walks the stream once up to it (recording the state
    every 1,000 chars), then any window costs its own trace plus < 1,000 chars of warm-up."""
    from rnnscope.models.reading.context import StreamReader
    from rnnscope.models.data.heldout import heldout_of
    from rnnscope.models.reading.tracer import trace

    m = checkpoint.load(model)
    held = heldout_of(model)
    rows = ["| held-out window | first window at 199,000 (walks the stream) | later windows, median of 20 | "
            "the same window from the zero state |", "|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for n in (100, 1_000):
        reader = StreamReader(m, held.text, held.annotations)
        t_first = machine.best(lambda r=reader, n=n: r.trace(199_000, n), 1)
        later = []
        for index in rng.integers(0, len(held.text) - n, 20):
            start = time.perf_counter()
            reader.trace(int(index), n)
            later.append(time.perf_counter() - start)
        t_zero = machine.best(lambda n=n: trace(m, held.text[150_000:150_000 + n]), 3)
        rows.append(f"| {n:,} chars | {t_first * 1e3:.0f} ms | {np.median(later) * 1e3:.0f} ms | "
                    f"{t_zero * 1e3:.0f} ms |")
        print(rows[-1], flush=True)
    return rows


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (panel serve runs in one process)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


_SET_INDEX = """(v) => {
  const doc = Bokeh.documents[0];
  const m = [...doc._all_models.values()].find(m => m.title === "Held-out index");
  m.value = v;
}"""
_SEQ_START = """() => {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  if (!doc) return "";
  const s = [...doc._all_models.values()].find(m => m.data && m.data.code !== undefined && m.data.depth !== undefined);
  return s ? Array.from(s.data.code.slice(0, 40)).join(",") + "/" + s.data.code.length : "";
}"""


def bench_sessions(model: str, n_sessions: int, rounds: int) -> list[str]:
    from playwright.sync_api import sync_playwright
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = Path(tempfile.gettempdir()) / "rnnscope-bench-sessions.log"
    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", "app", "--port", str(port),
                               "--address", "127.0.0.1"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "RNNSCOPE_MODEL": model}, start_new_session=True)
    url = f"http://127.0.0.1:{port}/app"
    console_errors, failures, latencies, outside = [], 0, [], []
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        rss0 = None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            pages = []
            t_open = time.perf_counter()
            for k in range(n_sessions):
                page = browser.new_context().new_page()
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.on("request", lambda r: outside.append(r.url)
                        if not re.match(r"^(https?|wss?)://127\.0\.0\.1|^(data|blob):", r.url) else None)
                page.goto(url)
                page.wait_for_function(f"() => ({_SEQ_START})() !== ''", timeout=120_000)
                pages.append(page)
                if k == 0:
                    rss0 = rss_mb(server.pid)
            t_open = time.perf_counter() - t_open
            rss_open = rss_mb(server.pid)
            rss_rounds = []
            rng = np.random.default_rng(0)
            for _ in range(rounds):
                for page in pages:
                    before = page.evaluate(_SEQ_START)
                    t = time.perf_counter()
                    page.evaluate(_SET_INDEX, int(rng.integers(1, 190_000)))
                    try:
                        page.wait_for_function(f"() => ({_SEQ_START})() !== {before!r}", timeout=60_000)
                        latencies.append(time.perf_counter() - t)
                    except Exception:
                        failures += 1
                rss_rounds.append(rss_mb(server.pid))
            log.flush()
            log_mark = log_path.stat().st_size          # errors after this are teardown, counted apart
            for page in pages:
                page.context.close()
                time.sleep(0.2)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    text = log_path.read_text()
    is_error = lambda ln: "ERROR" in ln or "Traceback" in ln or "exception" in ln.lower()  # noqa: E731
    server_errors = [ln for ln in text[:log_mark].splitlines() if is_error(ln)]
    teardown_errors = [ln for ln in text[log_mark:].splitlines() if is_error(ln)]
    lat = np.array(latencies) * 1e3
    rows = [f"- {n_sessions} Chromium sessions on one `panel serve app` (loopback), opened in {t_open:.1f} s, "
            f"then {rounds} rounds in which every session picks a new random held-out window "
            f"({len(latencies)} sequence changes, each a fresh 100-char trace).",
            f"- Browser round trip, set index -> new sequence drawn in that page: median {np.median(lat):.0f} ms, "
            f"p95 {np.percentile(lat, 95):.0f} ms, max {lat.max():.0f} ms." if len(lat) else "- no round trips",
            f"- Failures (no update within 60 s): {failures}; server log errors while sessions ran: "
            f"{len(server_errors)} (and {len(teardown_errors)} lines while the browser closed its sockets); "
            f"page console errors: {len(console_errors)}; requests leaving the machine: {len(outside)}.",
            f"- Server RSS: {rss0:.0f} MB with 1 session, {rss_open:.0f} MB with {n_sessions}, after each round: "
            + ", ".join(f"{r:.0f}" for r in rss_rounds) + " MB."]
    for r in rows:
        print(r, flush=True)
    if server_errors or console_errors:
        print("\n".join((server_errors + console_errors)[:10]))
    return rows


def write_section(lines: list[str], name: str = "App") -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = f"## {name}\n\n" + "\n".join(lines).rstrip() + "\n"
    head = re.escape(f"## {name}") + r"\n"
    if re.search("^" + head, text, re.M):
        text = re.sub("^" + head + r".*?(?=^## |\Z)", lambda _: section + "\n", text, flags=re.M | re.S)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(checkpoint.DEFAULT_CHECKPOINT))
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--probe-tracks-only", action="store_true", help="only the probing tracks' timing")
    args = ap.parse_args()
    if args.probe_tracks_only:
        rows = bench_probe_tracks(args.model)
        if not args.no_write:
            write_section(rows, "App: probing tracks")
        return
    cfg = checkpoint.read_config(args.model)["model"]
    head = [f"`python bench/bench_app.py`, {time.strftime('%Y-%m-%d')}, on {machine.describe()}; model "
            f"{Path(args.model).name} ({cfg['cell'].upper()}-{cfg['hidden_size']}). Best of 3 unless noted.", "",
            "Server side, new sequence -> updated Bokeh sources (target < 200 ms for 1,000 chars); "
            "'encode' is Bokeh's serialisation of the changed sources, what goes on the wire:", ""]
    rows = bench_update(args.model) + ["", "Held-out windows read in context (the page's default):", ""]
    rows += bench_in_context(args.model)
    sessions = bench_sessions(args.model, args.sessions, args.rounds) if args.sessions else []
    if not args.no_write:
        write_section(head + rows + ["", "Sessions:", "", *sessions])


if __name__ == "__main__":
    main()
