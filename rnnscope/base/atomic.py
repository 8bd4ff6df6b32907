"""Atomic file writes: write a sibling temporary file, then rename it over the target, so a
crash leaves the old file or the new one, never half of one. One place for the details that
are easy to get wrong: a clear message when the folder is missing or the target is a
folder, permissions that follow the umask (mkstemp makes 0600 files), cleanup on failure."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from rnnscope.base.errors import RnnscopeError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: Path) -> None:
    """Before any work: ``path`` can be written (its folder exists and takes a new file), so a
    bad -o fails at once naming the path the user gave, not a temporary file minutes later."""
    path = Path(path)
    if path.is_dir():
        raise RnnscopeError(f"{path}: is a directory; give a file name")
    if not path.parent.is_dir():
        raise RnnscopeError(f"{path.parent}: no such directory")
    try:
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
    except OSError as e:
        raise RnnscopeError(f"{path}: cannot write in {path.parent} ({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def note_write(path: str | Path) -> None:
    """With RNNSCOPE_WRITE_LOG=FILE, append "PID PATH" to FILE for every file or directory rnnscope
    writes: how the tests prove that under torchrun one process writes, each file once."""
    log = os.environ.get("RNNSCOPE_WRITE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:   # appends this short are one write each
            f.write(f"{os.getpid()} {Path(path).resolve()}\n")


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it into place."""
    path = Path(path)
    check_writable(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        note_write(path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def folder_mode() -> int:
    """What a new folder would get from mkdir (mkdtemp makes 0700 ones)."""
    return 0o777 & ~_umask()
