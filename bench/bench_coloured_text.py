"""Coloured text: time to trace and render 5,000 characters of the shipped text
model's held-out text as coloured text, beside baselines measured in the same run.

    .venv/bin/python bench/bench_coloured_text.py [--model DIR] [--chars 5000] [--no-write]

- trace: rnnscope's tracer (h and every gate, probabilities, annotations) against torch's bare
  nn.LSTM/nn.GRU forward over the same characters (h only: the floor any tracer pays);
- render: app/drawing/coloured_text.py (colour lookup, escaping, hover titles) against joining 5,000
  bare ``<span>c</span>`` strings (the floor any per-character HTML pays).
Best of --repeat runs each. Writes the ``## Coloured text`` section of bench/RESULTS.md."""
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

from rnnscope.app.drawing.coloured_text import coloured_text_html  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.base.paths import CHECKPOINTS_DIR  # noqa: E402
from rnnscope.models.reading.trace import value_range  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402


@torch.no_grad()
def bare_forward(model, text: str) -> None:
    ids = torch.as_tensor(model.vocab.encode(text))[None]
    x = model.embed(ids) if model.embed is not None else torch.nn.functional.one_hot(ids, len(model.vocab)).float()
    model.rnn(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(CHECKPOINTS_DIR / "lstm128-pystdlib"))
    ap.add_argument("--chars", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = checkpoint.load(args.model)
    text = heldout_of(args.model).text[:args.chars]
    tr = trace(model, text)
    h = tr.values("h", 0)
    low, high = value_range("h", h)
    cell = 0
    t_trace = machine.best(lambda: trace(model, text), args.repeat)
    t_bare = machine.best(lambda: bare_forward(model, text), args.repeat)
    t_render = machine.best(lambda: coloured_text_html(text, h[:, cell], low, high), args.repeat)
    t_join = machine.best(lambda: "".join(f"<span>{c}</span>" for c in text), args.repeat)
    size = len(coloured_text_html(text, h[:, cell], low, high).encode())
    rows = [
        f"`python bench/bench_coloured_text.py`, {time.strftime('%Y-%m-%d')}, on {machine.describe()}. "
        f"{Path(args.model).name}, {len(text):,} characters of its held-out text, cell {cell}; best of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f} when it ran (the machine was shared).",
        "",
        "| step | rnnscope | baseline in the same run | ratio |",
        "|---|---|---|---|",
        f"| trace (h, gates, probabilities, annotations) | {t_trace * 1e3:.1f} ms | bare torch forward, h only: "
        f"{t_bare * 1e3:.1f} ms | {t_trace / t_bare:.2f} x |",
        f"| render coloured text ({size / 1e3:.0f} kB of HTML) | {t_render * 1e3:.1f} ms | "
        f"bare `<span>c</span>` join (no colour, no title): "
        f"{t_join * 1e3:.1f} ms | {t_render / t_join:.2f} x |",
        f"| trace + render | **{(t_trace + t_render) * 1e3:.0f} ms** | | |",
    ]
    print("\n".join(rows))
    if not args.no_write:
        machine.write_section("Coloured text", "\n".join(rows))


if __name__ == "__main__":
    main()
