"""The README's pictures, taken from the real page: `.venv/bin/python docs/make_screenshots.py`.

Serves the shipped GRU (serve.py on a free port, as the browser tests do, with a cache folder of its own), opens it
in Debian's Chromium at 1400x900 and writes
  docs/screenshot.png  the page as it opens (the first view the README shows), and
  docs/cell-card.png   the cell card a heatmap click on cell 6's row opens (the shipped GRU's depth cell: "-1.0 when
                       depth >= 1, +1.0 below"; the script fails if its label no longer names depth), cut to the
                       main area under the header.
Needs the dev extras (Playwright) and /usr/bin/chromium; takes a minute or two on two cores.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "checkpoints" / "gru15-parens"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SIZE = {"width": 1400, "height": 900}
CELL = 6                        # the shipped GRU's depth cell (its Cells tab row)
TIMEOUT_MS = 240_000            # two busy cores: the card's held-out statistics take a while the first time

# Every Bokeh view drawn, then two painted frames: what a screenshot waits for.
SETTLED = "() => [...Bokeh.documents[0].views_manager].every(v => !v.el || !v.el.isConnected || v.has_finished())"
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
HEATMAP_DRAWN = """() => { const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  return !!doc && [...doc._all_models.values()].some(m => m.data && m.data.image && m.data.image.length); }"""
# Page coordinates of the heatmap's row of ``cell`` at 40 % of its width, from Bokeh's own scales (the rows' source
# lists the cells top row first; row i stands at y = rows - 1 - i).
CELL_ROW = """cell => {
  const doc = Bokeh.documents[0], models = [...doc._all_models.values()];
  const fig = models.find(m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"));
  const rows = models.find(m => m.data && m.data.cell !== undefined && m.data.label !== undefined).data.cell;
  const view = doc.views_manager.find_one(fig), box = view.canvas_view.el.getBoundingClientRect();
  const i = Array.from(rows).indexOf(cell), f = view.frame.bbox;
  return {x: box.left + f.left + f.width * 0.4, y: box.top + view.frame.y_scale.compute(rows.length - 1 - i)};
}"""
# The shown Markdown panes' text (through Panel's shadow roots) once the card names its last section and no section
# says "computing …" any more; null until then.
CARD_DONE = """() => {
  let out = "";
  const walk = root => root.querySelectorAll("*").forEach(el => {
    if (!el.shadowRoot) return;
    if (el.classList.contains("markdown") && el.offsetParent !== null)
      for (const c of el.shadowRoot.children) if (c.tagName === "DIV") out += c.innerText + "\\n";
    walk(el.shadowRoot);
  });
  walk(document);
  return out.includes("In the dynamics") && !out.includes("computing \\u2026") ? out : null;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cache: Path, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "serve.py", "--port", str(port), "--address", "127.0.0.1",
                             "--model", str(MODEL)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve.py exited with {proc.returncode}; its log: {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"serve.py did not answer at {url} within 120 s; its log: {log.name}")


def settle(page) -> None:
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)
    page.evaluate(TWO_FRAMES)


def shoot(url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport=SIZE, device_scale_factor=1).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_function(HEATMAP_DRAWN, timeout=TIMEOUT_MS)
        page.mouse.move(5, 5)                   # on the header: no tooltip over the heatmap
        settle(page)
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        print("wrote docs/screenshot.png")

        point = page.evaluate(CELL_ROW, CELL)
        page.mouse.click(point["x"], point["y"])
        text = page.wait_for_function(CARD_DONE, timeout=TIMEOUT_MS).json_value()
        label = text.split("Label and runners-up", 1)[-1].strip().splitlines()[0]
        if f"Cell {CELL}, layer 0" not in text or "depth" not in label:
            raise SystemExit(f"the card is not cell {CELL}'s with a depth label (label: {label!r}): pick another CELL")
        page.locator(".bk-tab").filter(has_text="Cell card").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.mouse.move(5, 5)
        settle(page)
        main = page.locator("#main").bounding_box()         # the template's main area: header and sidebar left out
        clip = {"x": main["x"], "y": main["y"], "width": main["width"], "height": SIZE["height"] - main["y"]}
        page.screenshot(path=str(ROOT / "docs" / "cell-card.png"), clip=clip)
        print("wrote docs/cell-card.png")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rnnscope-shots-") as tmp, \
            open(Path(tmp) / "serve.log", "w", encoding="utf-8") as log:
        proc, url = start_server(Path(tmp), log)
        try:
            shoot(url)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
