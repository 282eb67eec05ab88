"""The arrows between packages point one way, read from the source (AST; importing a package
would run flowaudio/__init__.py first): flow imports nothing else of flowaudio, models import
neither training nor the data tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "flowaudio"


def _absolute_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def _imports_of(package: str, forbidden: tuple[str, ...]) -> set[str]:
    sources = sorted((PACKAGE / package).rglob("*.py"))
    assert len(sources) > 3, package
    return {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sources
        for name in _absolute_imports(path)
        if name == "flowaudio" or name.startswith(forbidden)
    }


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("flow", ("flowaudio.",)),
        ("models", ("flowaudio.train", "flowaudio.data", "flowaudio.export")),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    found = _imports_of(package, forbidden)
    assert not found, f"flowaudio.{package} must not import {forbidden}: {sorted(found)}"
