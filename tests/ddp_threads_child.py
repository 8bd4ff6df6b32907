"""Started by tests/test_ddp.py under torchrun: one training run, in this process, then the gloo worker
threads still alive (0 expected: ``distributed.stop`` frees the process group, which joins them, before
Python begins to exit). Each rank writes its report, JSON, to ``$RNNSCOPE_TEST_REPORTS/rank<R>.json``, a file
of its own: both ranks share torchrun's stdout, where one rank's line can land inside the other's (seen: rank
1's report written between rank 0's last line and that line's newline)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rnnscope.cli import main


def gloo_workers() -> list[int]:
    """The thread ids of ProcessGroupGloo's workers in this process (Linux names them pt_gloo_runloop)."""
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
        except FileNotFoundError:      # a thread that ended while we listed them
            continue
        if name == "pt_gloo_runloop":
            found.append(int(tid))
    return found


def write_report(report: dict) -> None:
    """Written whole or not at all (a temporary file, then renamed)."""
    path = Path(os.environ["RNNSCOPE_TEST_REPORTS"]) / f"rank{report['rank']}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report))
    os.replace(tmp, path)


if __name__ == "__main__":
    code = main(["train", *sys.argv[1:]])
    write_report({"rank": int(os.environ["RANK"]), "code": code, "gloo_workers_left": gloo_workers()})
