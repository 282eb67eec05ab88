"""The installed versions lie inside scripts/constraints.txt, the ranges the tests' numbers were
measured with: outside them a parity bound fails for a reason no test names."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

CONSTRAINTS = Path(__file__).resolve().parents[1] / "scripts" / "constraints.txt"


def _requirements() -> list[Requirement]:
    lines = CONSTRAINTS.read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in (x.split("#")[0].strip() for x in lines) if line]


@pytest.mark.parametrize("req", _requirements(), ids=str)
def test_installed_version_is_in_the_tested_range(req):
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        pytest.skip(f"{req.name} is not installed")
    assert req.specifier.contains(installed, prereleases=True), (
        f"{req.name} {installed} is outside the tested range {req.specifier} of {CONSTRAINTS}: "
        "run `make setup` (it installs within the range), or widen the range once `make test` "
        "passes with this version"
    )
