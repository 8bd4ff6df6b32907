"""Demonstration corpora that every machine can build: today the Python standard library's own source
(the analogue of seed 001's C# experiment), read from the interpreter that runs rnnscope.

The selection, so that anyone can say what a model saw: every ``.py`` file under the interpreter's
stdlib folder (``sysconfig``'s ``stdlib`` path), in sorted order of its path relative to that folder,
leaving out ``site-packages``, test suites (any folder named ``test`` or ``tests``, files named
``test_*.py``), ``idlelib`` (an application, not library code) and files with any character outside
ASCII (17 of 674 on CPython 3.11: they would add rare characters a model cannot learn). Whole files
are taken until the next one would pass ``max_chars``. Each file is preceded by a line
``# file: <relative path>`` so a reader (and a model) sees where one ends. The text is NFC-normalised
(a no-op for ASCII, kept so the rule is the same as for any training text).

A sidecar JSON records the Python version, the stdlib folder, the files and sizes, a digest of the
file list and of the text: a checkpoint trained on the corpus can then rebuild its held-out stream on
another machine with the same Python, and refuse (saying why) when the rebuilt text differs.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sysconfig
import unicodedata
from pathlib import Path

from rnnscope.base.errors import RnnscopeError

FORMAT = "rnnscope-corpus"
PYTHON_STDLIB = "python-stdlib"
CORPORA = (PYTHON_STDLIB,)
DEFAULT_MAX_CHARS = 3_000_000
SKIPPED_FOLDERS = {"site-packages", "test", "tests", "idlelib", "__pycache__"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _selected(stdlib: Path) -> list[Path]:
    """The .py files of the selection, sorted by relative path; skipped folders are never walked
    (site-packages can be larger than the library itself)."""
    files = []
    for folder, dirs, names in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS]
        files += [Path(folder, n) for n in names if n.endswith(".py") and not n.startswith("test_")]
    return sorted(files, key=lambda p: p.relative_to(stdlib).as_posix())


def python_stdlib(max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, dict]:
    """The corpus text and its sidecar record (see the module's docstring for the selection)."""
    if max_chars < 1_000:
        raise RnnscopeError(f"--max-chars must be at least 1,000, got {max_chars:,}")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, used, skipped, size = [], [], {"not ascii": 0, "not utf-8": 0}, 0
    for path in _selected(stdlib):
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            skipped["not utf-8"] += 1
            continue
        if not source.isascii():
            skipped["not ascii"] += 1
            continue
        rel = path.relative_to(stdlib).as_posix()
        part = f"# file: {rel}\n{source}" + ("" if source.endswith("\n") else "\n")
        if size + len(part) > max_chars:
            break
        parts.append(part)
        used.append([rel, len(part)])
        size += len(part)
    if not parts:
        raise RnnscopeError(f"no file of {stdlib} fits in {max_chars:,} characters")
    text = unicodedata.normalize("NFC", "".join(parts))
    record = {"format": FORMAT, "corpus": PYTHON_STDLIB, "max_chars": max_chars,
              "python": platform.python_version(), "implementation": platform.python_implementation(),
              "stdlib": str(stdlib), "chars": len(text), "files": len(used), "skipped": skipped,
              "files_sha256": sha256(json.dumps(used)), "text_sha256": sha256(text), "file_list": used}
    return text, record


def build(name: str, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, dict]:
    if name != PYTHON_STDLIB:
        raise RnnscopeError(f"unknown corpus {name!r}; rnnscope builds {', '.join(CORPORA)}")
    return python_stdlib(max_chars)


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_sidecar(path: str | Path, text: str) -> dict | None:
    """The corpus record beside a text file, if there is one and it describes exactly this text."""
    side = sidecar_path(path)
    try:
        record = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("text_sha256") != sha256(text):
        return None
    return {k: v for k, v in record.items() if k != "file_list"}


def rebuild(recipe: dict) -> str:
    """The corpus a record describes, rebuilt here; refused when this interpreter builds other text."""
    text, record = build(recipe.get("corpus"), recipe.get("max_chars", DEFAULT_MAX_CHARS))
    if record["text_sha256"] != recipe.get("text_sha256"):
        raise RnnscopeError(f"the {recipe.get('corpus')} corpus built by this Python ({record['python']}, "
                            f"{record['files']} files) differs from the one the model was trained on "
                            f"(Python {recipe.get('python')}, {recipe.get('files')} files)")
    return text
