"""What writing the page's changes in turn costs (app/in_turn.py): the browser round trip of a new held-out
sequence, and the messages it takes, on two servers of the same app in the same run -- one as shipped (every
change handed to Bokeh's session, written when the callback returns), one with Panel writing its own changes
itself as it comes (in_turn.install stubbed out before ``panel serve app`` starts). The two pages take turns,
so both see the same load. Writes the "Page: changes written in turn" section of bench/RESULTS.md.

    python bench/bench_in_turn.py              # 30 sequence changes on each page
    python bench/bench_in_turn.py --quick      # 5 each, not written
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402
from bench_app import _SEQ_START, _SET_INDEX  # noqa: E402

# `panel serve app` with in_turn.install made a no-op: app_hooks.py looks it up when the server loads.
OUT_OF_TURN = ("import sys; import rnnscope.app.in_turn as t; t.install = lambda: None; "
               "from panel.command import main; sys.argv = ['panel', *sys.argv[1:]]; sys.exit(main())")


@contextlib.contextmanager
def server(in_turn: bool, log_dir: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = [sys.executable, "-m", "panel"] if in_turn else [sys.executable, "-c", OUT_OF_TURN]
    log = open(log_dir / f"in-turn-{in_turn}.log", "w")
    proc = subprocess.Popen([*head, "serve", "app", "--port", str(port), "--address", "127.0.0.1"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/app"
    try:
        deadline = time.time() + 180
        while True:                     # until the page answers (the server loads the model first)
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=30) as r:
                    if r.status == 200:
                        break
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the server did not answer at {url}: see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


class Page:
    """A page on one server, counting the PATCH-DOC messages it receives and the errors it throws."""

    def __init__(self, browser, url: str):
        self.page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        self.patches, self.errors = 0, []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.page.goto(url)
        self.page.wait_for_function(f"() => ({_SEQ_START})() !== ''", timeout=180_000)

    def _frame(self, payload) -> None:
        if isinstance(payload, str) and payload.startswith("{") and '"msgtype"' in payload[:120]:
            with contextlib.suppress(ValueError):
                self.patches += json.loads(payload).get("msgtype") == "PATCH-DOC"

    def change(self, index: int) -> tuple[float, int]:
        """(seconds until the new sequence is drawn, PATCH-DOC messages received meanwhile)."""
        before, n = self.page.evaluate(_SEQ_START), self.patches
        t = time.perf_counter()
        self.page.evaluate(_SET_INDEX, index)
        self.page.wait_for_function(f"() => ({_SEQ_START})() !== {before!r}", timeout=60_000)
        return time.perf_counter() - t, self.patches - n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    changes = 5 if args.quick else args.changes
    from playwright.sync_api import sync_playwright
    rng = np.random.default_rng(0)
    times = {True: [], False: []}
    messages = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp, server(True, Path(tmp)) as url_in, \
            server(False, Path(tmp)) as url_out, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        pages = {True: Page(browser, url_in), False: Page(browser, url_out)}
        for page in pages.values():                 # warm: the trace cache, the first redraws
            for _ in range(3):
                page.change(int(rng.integers(1, 190_000)))
        for k in range(changes):
            index = int(rng.integers(1, 190_000))
            for in_turn in ((True, False) if k % 2 == 0 else (False, True)):
                t, n = pages[in_turn].change(index)
                times[in_turn].append(t)
                messages[in_turn].append(n)
        errors = {k: len(v.errors) for k, v in pages.items()}
        browser.close()
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    p90 = {k: 1e3 * float(np.percentile(v, 90)) for k, v in times.items()}
    rows = ["| server | round trip, median | p90 | PATCH-DOC messages per change (median) | page errors |",
            "|---|---|---|---|---|"]
    for in_turn, name in ((True, "**as shipped: in turn**"), (False, "baseline: Panel writes its own, out of turn")):
        rows.append(f"| {name} | {med[in_turn]:.0f} ms | {p90[in_turn]:.0f} ms | "
                    f"{np.median(messages[in_turn]):.0f} | {errors[in_turn]} |")
    body = (f"`python bench/bench_in_turn.py`, {time.strftime('%Y-%m-%d')}, on {machine.describe()}; the shipped "
            f"GRU, {changes} new held-out sequences (100 characters) on each page, the two pages taking turns "
            f"(same indices); {machine.load_note()}. Round trip: the "
            "index set in the browser to the new sequence in its document.\n\n" + "\n".join(rows) +
            f"\n\nIn turn / out of turn, median round trip: **{med[True] / med[False]:.2f}x**.\n")
    print(body)
    if not args.quick:
        machine.write_section("Page: changes written in turn", body)


if __name__ == "__main__":
    main()
