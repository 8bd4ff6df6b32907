"""The source stays readable in one sitting (docs/architecture.md, "Size"): no module over 400 lines, no
folder over 15 modules. The folders are the ones pyproject.toml installs (its package-dir), so a new one
is covered as soon as it ships."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
MAX_MODULES = 15



def _source_folders() -> list[Path]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = setuptools["package-dir"]
    folders = []
    for package in setuptools["packages"]:
        top = max((name for name in roots if package == name or package.startswith(name + ".")), key=len)
        folders.append(ROOT / roots[top] / package[len(top):].lstrip(".").replace(".", "/"))
    return folders


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def test_every_installed_package_is_a_folder_here():
    missing = [str(f.relative_to(ROOT)) for f in _source_folders() if not (f / "__init__.py").is_file()]
    assert not missing


def test_no_source_module_is_longer_than_400_lines():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
               for folder in _source_folders() for p in [*_modules(folder), folder / "__init__.py"]}
    too_long = {path: n for path, n in lengths.items() if n > MAX_LINES}
    assert not too_long, f"split these by what they hold (at most {MAX_LINES} lines): {too_long}"


def test_no_source_folder_holds_more_than_15_modules():
    crowded = {str(f.relative_to(ROOT)): len(_modules(f)) for f in _source_folders() if len(_modules(f)) > MAX_MODULES}
    assert not crowded, f"give these folders subfolders by concern (at most {MAX_MODULES} modules): {crowded}"
