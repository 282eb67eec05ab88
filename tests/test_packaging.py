"""What the install ships: every package of the tree, and export/ as ``flowaudio.export`` (never a
bare top-level ``export`` package in the user's site-packages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _setuptools_table() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def test_the_package_list_names_every_package_of_the_tree():
    # The list is explicit because a mapped folder (export/ -> flowaudio.export) is invisible to
    # `packages.find`; a new subpackage left out of it would be missing from the wheel only.
    table = _setuptools_table()
    # Every folder counts, data folders (the default voice) too, as `find_namespace:` would.
    in_tree = {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in [ROOT / "flowaudio", *(ROOT / "flowaudio").rglob("*")]
        if folder.is_dir() and "__pycache__" not in folder.parts
    }
    in_tree |= {"flowaudio.export"}
    listed = set(table["packages"])
    assert listed == in_tree, (
        f"pyproject.toml [tool.setuptools] packages: add {sorted(in_tree - listed)}, "
        f"remove {sorted(listed - in_tree)}"
    )
    assert table["package-dir"] == {"flowaudio.export": "export"}
    assert (ROOT / "export" / "__init__.py").is_file()


def test_the_install_provides_flowaudio_export_and_no_top_level_export(tmp_path):
    # Run outside the repository (its root would make export/ importable by itself), so only
    # what the install put on sys.path counts.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = (
        "import importlib.util, pathlib, flowaudio.export\n"
        "print(importlib.util.find_spec('export') is None)\n"
        "print(pathlib.Path(flowaudio.export.__file__).parent.name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, f"{out.stderr}\n(reinstall: pip install -e .)"
    no_top_level, folder = out.stdout.split()
    assert no_top_level == "True", "a top-level `export` package is installed: pip install -e ."
    assert folder == "export"
