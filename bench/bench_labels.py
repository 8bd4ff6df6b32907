"""The labeller on the 128-cell text model (lstm128-pystdlib) over its held-out text: every view,
before and after the labels were held against shuffle nulls and scored beyond the current character,
timed alternately in one run. "Before" is the labeller of a git revision (default main), loaded from
``git show`` into a temporary package beside the installed one. Writes the "Labels (text model)"
section of bench/RESULTS.md, with the top 20 labels of h.

    python bench/bench_labels.py [--before main] [--chars 100000] [--rounds 2]
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope.analysis.decode.probing import annotations_of  # noqa: E402
from rnnscope.analysis.describe.labels import annotation_codes, label_cells  # noqa: E402
from rnnscope.models.data.heldout import heldout_of  # noqa: E402
from rnnscope.models.network import checkpoint  # noqa: E402
from rnnscope.models.reading.trace import value_range  # noqa: E402
from rnnscope.models.reading.tracer import trace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "checkpoints" / "lstm128-pystdlib"


def old_labeller(rev: str, folder: Path):
    """labels.py and tally.py of ``rev`` as modules of their own (labels importing that tally)."""
    def load(name: str, source: str):
        path = folder / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    show = lambda p: subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{p}"], check=True,  # noqa: E731
                                    capture_output=True, text=True).stdout
    load("before_tally", show("analysis/describe/tally.py"))
    return load("before_labels", show("analysis/describe/labels.py").replace(
        "from rnnscope.analysis.describe.tally import", "from before_tally import"))


def label_all(labeller, codes_of, tr, ann):
    codes = codes_of(ann)
    return {v: labeller(tr.values(v, 0), ann, value_range(v, tr.values(v, 0)), codes) for v in tr.views}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="main")
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, held = checkpoint.load(MODEL), heldout_of(MODEL)
    tr, ann = trace(model, held.text[:args.chars]), annotations_of(held, args.chars)
    with tempfile.TemporaryDirectory() as tmp:
        old = old_labeller(args.before, Path(tmp))
        small = annotations_of(held, 2_000)           # compile (or load) both compiled paths first
        old.label_cells(tr.values("h", 0)[:2_000], small, (-1.0, 1.0))
        label_cells(tr.values("h", 0)[:2_000], small, (-1.0, 1.0))
        before, after = [], []
        for _ in range(args.rounds):                  # alternate, so load falls on both alike
            t = time.perf_counter()
            label_all(old.label_cells, old.annotation_codes, tr, ann)
            before.append(time.perf_counter() - t)
            t = time.perf_counter()
            labels = label_all(label_cells, annotation_codes, tr, ann)
            after.append(time.perf_counter() - t)
    h = sorted(labels["h"], key=lambda lab: (-(lab.beyond.explained if lab.beyond else -1.0), lab.cell))
    rows = [lab.to_dict() for lab in h[:20]]
    n_beyond = sum(lab.beyond is not None for lab in labels["h"])
    n_shown = sum(lab.shows_beyond for lab in labels["h"])
    from collections import Counter
    counts = Counter(lab.beyond.annotation for lab in labels["h"] if lab.beyond)
    plain = Counter(lab.best.annotation for lab in labels["h"] if lab.best and lab.cleared)
    views = ", ".join(tr.views)
    body = [f"`python bench/bench_labels.py`, {datetime.date.today()}, on {machine.describe()}; "
            f"{args.chars:,} held-out characters of lstm128-pystdlib read in context, views {views} "
            f"(6 x 128 cells), 14 annotations; best of {args.rounds} rounds each, alternating; {machine.load_note()}.",
            "", "| labeller | all views |", "|---|---|",
            f"| before ({args.before}: plug-in MI, no null, no conditional MI) | {min(before):.2f} s |",
            f"| after (Miller–Madow MI, shuffle nulls, MI beyond the current character) | {min(after):.2f} s |",
            "", f"Cells of h with a finding beyond the current character that clears its null: {n_beyond} of 128 "
            f"({', '.join(f'{k} {v}' for k, v in counts.most_common())}); it is the label of {n_shown} (those whose "
            f"plain label is about the input); plain labels that clear their null: "
            f"{', '.join(f'{k} {v}' for k, v in plain.most_common())}.", "",
            "Top 20 cells of h by CMI / sqrt(H(cell | char) H(annotation | char)) (`explained`), each beside the "
            "99th percentile of its shuffle null (shuffled within each character), and the plain label with the "
            "null of its annotation's MI:", "",
            "| cell | label beyond the character | CMI (bits) | null 99% | explained | plain label | MI | null 99% |",
            "|---|---|---|---|---|---|---|---|"]
    body += [f"| {r['cell']} | {r['beyond_label']} | {r['beyond_score']:.3f} | {r['beyond_null_99']:.4f} | "
             f"{r['beyond_explained']:.3f} | {r['plain_label']} | {r['plain_tested_mi']:.3f} | "
             f"{r['plain_null_99']:.4f} |" for r in rows if r["beyond_label"]]
    text = "\n".join(body)
    print(text)
    machine.write_section("Labels (text model)", text)


if __name__ == "__main__":
    main()
