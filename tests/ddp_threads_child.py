"""Started by tests/test_ddp.py under torchrun: one training run, in this process, then the gloo worker
threads still alive (0 expected: ``distributed.stop`` frees the process group, which joins them, before
Python begins to exit). Prints one JSON line per rank."""
from __future__ import annotations

import json
import os
import sys

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


if __name__ == "__main__":
    code = main(["train", *sys.argv[1:]])
    print(json.dumps({"rank": int(os.environ["RANK"]), "code": code, "gloo_workers_left": gloo_workers()}),
          flush=True)
