"""One line describing the machine a benchmark ran on, for bench/RESULTS.md."""
from __future__ import annotations

import os
import platform
import time


def describe() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"{cpu}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def best(fn, rounds: int = 3) -> float:
    """The shortest of ``rounds`` timings of ``fn()`` in seconds: the run least disturbed by other work."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def write_section(title: str, body: str, path: str = os.path.join(os.path.dirname(__file__), "RESULTS.md")) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md, leaving other sections alone."""
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    lines, out, skipping = text.splitlines(), [], False
    for line in lines:
        if line.startswith("## "):
            skipping = line[3:].strip() == title
            if skipping:
                continue
        if not skipping:
            out.append(line)
    out += ["", f"## {title}", body.rstrip()]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out).strip() + "\n")
    os.replace(tmp, path)


def load_note() -> str:
    """The 1-minute load average now, against the core count: on a shared machine every figure
    of a run stretches with it, ratios to same-run baselines much less."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "load average unknown"
    return f"load average {load:.1f} on {os.cpu_count()} cores at the end of the run"

