"""Running a document's worked example as written (docs/import-*.md): the page's first ```python
block, then each line of its first ```bash block as an rnnscope command, all in the test's folder."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from rnnscope.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def run_worked_example(doc: str, folder: Path, monkeypatch) -> dict:
    """Run the "## Worked example" section of docs/``doc`` in ``folder``; every command must exit 0.
    Returns the namespace the Python block left (the user's model and vocabulary)."""
    example = (DOCS / doc).read_text(encoding="utf-8").split("## Worked example", 1)[1]
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    commands = re.search(r"```bash\n(.*?)```", example, re.S).group(1).strip().splitlines()
    monkeypatch.chdir(folder)
    namespace: dict = {}
    exec(compile(code, f"docs/{doc}", "exec"), namespace)
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "rnnscope" and main(argv[1:]) == 0, line
    return namespace


def run_python_example(doc: str, folder: Path, monkeypatch) -> dict:
    """Run every ```python block of docs/``doc``'s "## Worked example" section in ``folder``, in order, in one
    namespace; returns the namespace."""
    example = (DOCS / doc).read_text(encoding="utf-8").split("## Worked example", 1)[1]
    monkeypatch.chdir(folder)
    namespace: dict = {}
    for code in re.findall(r"```python\n(.*?)```", example, re.S):
        exec(compile(code, f"docs/{doc}", "exec"), namespace)
    return namespace
