"""The case table: tests/text/cases.tsv, input -> expected reading, one case a line."""

from pathlib import Path

import pytest

from flowaudio.text.normalize import normalize_text

CASES_FILE = Path(__file__).with_name("cases.tsv")


def _load_cases() -> list[tuple[int, str, str]]:
    cases = []
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{CASES_FILE}:{number}: expected 'input<TAB>expected', got {line!r}")
        cases.append((number, fields[0], fields[1]))
    return cases


CASES = _load_cases()


def test_the_table_has_at_least_300_distinct_cases():
    assert len({text for _, text, _ in CASES}) >= 300


@pytest.mark.parametrize(("line", "text", "expected"), CASES, ids=[c[1] for c in CASES])
def test_case(line: int, text: str, expected: str):
    assert normalize_text(text) == expected, f"cases.tsv line {line}"
