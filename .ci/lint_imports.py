"""Check the layer contracts of pyproject.toml ([tool.importlinter]; docs/architecture.md, "Layers").

import-linter finds a package's modules by walking its folder, and rnnscope's modules live in
several folders (pyproject's package-dir maps app/ to rnnscope.app, models/ to rnnscope.models ...),
so the folder it would walk holds only the CLI and rnnscope.base. This lays the installed shape out
as links in a temporary folder (rnnscope/app -> app/, ..., read from the same package-dir, so the two
cannot drift), puts it first on the import path and runs `lint-imports` there.
Run: ``.venv/bin/python .ci/lint_imports.py`` (bash dev.sh test does, after ruff).
"""

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lay_out(into: Path) -> None:
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = into / "rnnscope"
    top.mkdir()
    for entry in (ROOT / package_dir["rnnscope"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for name, folder in package_dir.items():
        if name != "rnnscope":
            (top / name.removeprefix("rnnscope.")).symlink_to(ROOT / folder, target_is_directory=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rnnscope-layers-") as tmp:
        lay_out(Path(tmp))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        lint = Path(sys.executable).with_name("lint-imports")
        command = [sys.executable, str(lint)] if lint.exists() else ["lint-imports"]
        return subprocess.run([*command, "--no-cache", str(ROOT / "pyproject.toml"), *sys.argv[1:]],
                              cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
