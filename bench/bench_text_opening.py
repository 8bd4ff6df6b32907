"""A text model's first view: the page of the shipped 128-cell text LSTM on its opening window of 2,000
characters, against the 100-character window it opened on before, measured in the same run.

    .venv/bin/python bench/bench_text_opening.py [--model DIR] [--repeat 3] [--no-write]

Server side, per window length, best of --repeat windows at new held-out indices (so each trace is new):
- state: AppState built on the window (the window traced in context, the frame);
- page: the Page over it (the heatmap's sources filled, the coloured text beside drawn, uncoloured, while the
  labeller's cell is chosen off the page's thread, as in a served page);
- render: the page laid out as Bokeh models in a document and serialised to JSON, what the browser is sent,
  with its size (arrays base64-inline; a served page sends them as binary, ~3/4 of that). The browser's
  drawing of the sources is not timed here.
Then what comes later, off the page's thread: labelling the 100,000-character held-out stream (the first
time for a model; the Cells tab's labels, cached) and the coloured text of 2,000 characters for the chosen cell.
Writes the ``## Page: a text model's first view`` section of bench/RESULTS.md."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import machine  # noqa: E402  (bench/machine.py)
import torch  # noqa: E402

from rnnscope.base.paths import CHECKPOINTS_DIR  # noqa: E402


def first_view(model: Path, window: int, index: int) -> dict:
    from bokeh.core.json_encoder import serialize_json
    from bokeh.document import Document

    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.state import AppState
    from rnnscope.app.tabs.coloured_tab import ColouredBeside

    held = []
    ColouredBeside.off_thread = lambda self, work, apply, name: held.append(work)    # as served: later
    t0 = time.perf_counter()
    state = AppState(model, index=index, window=window)
    t1 = time.perf_counter()
    page = Page(state)
    t2 = time.perf_counter()
    doc = Document()
    root = page.__panel__().get_root(doc)
    doc.add_root(root)
    sent = serialize_json(doc.to_json(deferred=False))     # the arrays inline (base64), as a file would hold them
    t3 = time.perf_counter()
    return {"state": t1 - t0, "page": t2 - t1, "render": t3 - t2, "bytes": len(sent), "columns":
            page.scope.heatmap.source.data["image"][0].shape[1], "pending": len(held)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(CHECKPOINTS_DIR / "lstm128-pystdlib"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = Path(args.model)
    first_view(model, 100, 150_000)                     # loads the model, its stream, the imports: not timed
    rows = {}
    for k, window in enumerate((100, 2_000, 100, 2_000) * args.repeat):   # interleaved: the same load on both
        found = first_view(model, window, 10_000 + 7_919 * k)
        best = rows.setdefault(window, found)
        for key in ("state", "page", "render"):
            best[key] = min(best[key], found[key])
        print(window, found, flush=True)

    from rnnscope.analysis.describe.labels import first_about_the_text
    from rnnscope.app.drawing.coloured_text import frame_cell_html
    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.app.pages import cache
    from rnnscope.app.pages.state import AppState
    start = time.perf_counter()
    labels = cache.cell_labels(model, "h", 0)[0]
    t_labels = time.perf_counter() - start
    cell = first_about_the_text(labels).cell
    frame = make_frame(AppState(model, window=2_000).trace, "h", 0)
    t_html = machine.best(lambda: frame_cell_html(frame, cell), args.repeat)

    def line(window: int, what: str) -> str:
        r = rows[window]
        total = r["state"] + r["page"] + r["render"]
        return (f"| {what} | {r['columns']:,} | {r['state'] * 1e3:.0f} ms | {r['page'] * 1e3:.0f} ms | "
                f"{r['render'] * 1e3:.0f} ms | **{total * 1e3:.0f} ms** | {r['bytes'] / 1e6:.2f} MB |")
    body = "\n".join([
        f"`python bench/bench_text_opening.py`, {time.strftime('%Y-%m-%d')}, on {machine.describe()}; best of "
        f"{args.repeat} new held-out windows each, the two lengths interleaved; load average "
        f"{os.getloadavg()[0]:.1f} at the end. Server side: the browser's drawing is not timed.", "",
        "| lstm128-pystdlib, first view | heatmap columns (128 rows) | state (trace in context, frame) | page "
        "(sources, text beside) | render + serialise the document | **total** | sent |",
        "|---|---|---|---|---|---|---|",
        line(2_000, "opening window, 2,000 chars"),
        line(100, "baseline: a 100-char window, the length it opened on before (same page, text beside included)"), "",
        "Later, off the page's thread (the text beside is shown meanwhile, uncoloured): labelling the first "
        f"{cache.LABEL_CHARS:,} held-out characters for the cell to colour by, **{t_labels:.1f} s** the first time "
        f"for a model (then cached, shared with the Cells tab); the coloured text of 2,000 characters for that cell "
        f"(cell {cell}), {t_html * 1e3:.0f} ms."])
    print(body)
    if not args.no_write:
        machine.write_section("Page: a text model's first view", body)


if __name__ == "__main__":
    main()
