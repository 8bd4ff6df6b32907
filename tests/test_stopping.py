"""SIGTERM during a write unwinds it (rnnscope/base/stopping.py): the temporary directory of a checkpoint or
resume state under way is removed before the process ends, where the signal's default action leaves it.
torchrun sends SIGTERM to a run's other processes when one dies, so rank 0 can be mid-write (a fresh-clone
CI run found `.resume.tmp-PID-...` left beside a killed run)."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

_SIGNALLED_MID_WRITE = """
import os, signal, sys
from pathlib import Path
from rnnscope.base.stopping import sigterm_unwinds
from rnnscope.models.network.checkpoint import write_dir

def write(tmp):
    (tmp / "first-half").write_text("written")
    os.kill(os.getpid(), signal.SIGTERM)          # the signal lands in the middle of the write
    (tmp / "second-half").write_text("written")

if sys.argv[2] == "unwinds":
    with sigterm_unwinds():
        write_dir(Path(sys.argv[1]) / "resume", write)
else:
    write_dir(Path(sys.argv[1]) / "resume", write)
print("not reached")
"""


@pytest.mark.parametrize("unwinds", [True, False], ids=["sigterm_unwinds", "default action"])
def test_sigterm_in_the_middle_of_a_write(tmp_path, unwinds):
    r = subprocess.run([sys.executable, "-c", _SIGNALLED_MID_WRITE, str(tmp_path), "unwinds" if unwinds else "-"],
                       capture_output=True, text=True, timeout=120)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "not reached" not in r.stdout
    if unwinds:
        assert (r.returncode, left) == (143, []), r.stderr
    else:       # what torchrun's SIGTERM did to rank 0: the half-written temporary stays
        assert r.returncode == -signal.SIGTERM and len(left) == 1 and left[0].startswith(".resume.tmp-"), left


def test_the_previous_handler_comes_back_after_the_block():
    from rnnscope.base.stopping import sigterm_unwinds
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_unwinds():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
