"""flowaudio.flow is the math alone: it imports nothing else of flowaudio (read from the source,
since importing it would run flowaudio/__init__.py first)."""

from __future__ import annotations

import ast
from pathlib import Path

import flowaudio.flow

FLOW = Path(flowaudio.flow.__file__).parent


def _absolute_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def test_flow_imports_nothing_else_of_flowaudio() -> None:
    sources = sorted(FLOW.glob("*.py"))
    assert len(sources) > 3
    ours = {
        f"{path.name}: {name}"
        for path in sources
        for name in _absolute_imports(path)
        if name.split(".")[0] == "flowaudio"
    }
    assert not ours, f"flowaudio.flow must stand alone (relative imports within it only): {ours}"
