"""Evaluation sentences: a pipe-separated CSV with a header, or plain text, one per line.

Accepted layouts (blank lines are ignored everywhere):

- a header line naming pipe-separated columns, ``text`` required, ``speaker`` and
  ``audio_path`` optional, in any order: ``audio_path|speaker|text`` is the corpus builder's
  ``heldout.csv``. ``audio_path`` is relative to the file's directory (or absolute);
- rows of ``audio_path|speaker|text`` without a header (the manifest layout);
- plain text: when the first line has no ``|``, every line is one sentence (no speaker, no
  reference audio: only WER and RTF can be measured).

As in :mod:`flowaudio.data.manifest`, a malformed row is reported (file and line) and skipped,
never fatal; a file with no usable row is an error. Audio files are not opened here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from flowaudio.data.manifest import CSV_HEADER, ManifestProblem
from flowaudio.eval.asr import normalize_for_wer

logger = logging.getLogger(__name__)

COLUMNS = ("audio_path", "speaker", "text")


@dataclass(frozen=True)
class EvalItem:
    """One sentence to synthesize, with what it is compared against.

    Attributes:
        line: its line number in the test-set file (1-based).
        text: the sentence as written.
        speaker: the speaker to synthesize it with (None: the voice's first speaker).
        audio_path: absolute path of the reference recording, if any (not checked here).
    """

    line: int
    text: str
    speaker: str | None
    audio_path: Path | None


@dataclass(frozen=True)
class EvalSet:
    """The usable rows of a test-set file and the rows that were skipped."""

    path: Path
    items: tuple[EvalItem, ...]
    problems: tuple[ManifestProblem, ...]

    @property
    def speakers(self) -> tuple[str | None, ...]:
        """Distinct speakers in file order (None for rows without one)."""
        return tuple(dict.fromkeys(item.speaker for item in self.items))

    @property
    def has_references(self) -> bool:
        return any(item.audio_path is not None for item in self.items)


def load_test_set(path: str | Path, per_speaker: int | None = None) -> EvalSet:
    """Read a test set (module docstring for the layouts).

    Args:
        path: the file.
        per_speaker: keep only the first N usable rows of each speaker (None: all).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a header with unknown or repeated columns or without ``text``, no usable
            row, or ``per_speaker`` < 1.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise FileNotFoundError(
            f"test set {path} {what}: pass a heldout.csv written by `flowaudio corpus build` "
            "(audio_path|speaker|text) or a text file with one sentence per line"
        )
    if per_speaker is not None and per_speaker < 1:
        raise ValueError(f"per_speaker must be >= 1 or None, got {per_speaker}")
    lines = [
        (no, raw.rstrip("\r\n"))
        for no, raw in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        )
        if raw.strip()
    ]
    if not lines:
        raise ValueError(f"test set {path} is empty: it needs at least one sentence")
    first_no, first = lines[0]
    if "|" not in first:
        columns: tuple[str, ...] = ("text",)
        body = lines
    else:
        names = tuple(f.strip() for f in first.split("|"))
        if set(names) & set(COLUMNS):
            columns, body = _check_header(names, path, first_no), lines[1:]
        else:
            columns, body = CSV_HEADER, lines
    base = path.parent.resolve()
    items: list[EvalItem] = []
    problems: list[ManifestProblem] = []
    taken: dict[str | None, int] = defaultdict(int)
    for no, line in body:
        where = f"{path}:{no}"
        fields = [line.strip()] if columns == ("text",) else [f.strip() for f in line.split("|")]
        if len(fields) != len(columns):
            problems.append(
                ManifestProblem(
                    where, f"expected {len(columns)} fields '{'|'.join(columns)}', got {line!r}"
                )
            )
            continue
        row = dict(zip(columns, fields, strict=True))
        if not normalize_for_wer(row["text"]):
            problems.append(ManifestProblem(where, f"no words in the text {row['text']!r}"))
            continue
        if "speaker" in row and not row["speaker"]:
            problems.append(ManifestProblem(where, "empty speaker"))
            continue
        if "audio_path" in row and not row["audio_path"]:
            problems.append(ManifestProblem(where, "empty audio_path"))
            continue
        speaker = row.get("speaker")
        if per_speaker is not None and taken[speaker] >= per_speaker:
            continue
        taken[speaker] += 1
        audio = row.get("audio_path")
        audio_path = None if audio is None else base / audio  # an absolute path stays as is
        items.append(EvalItem(no, row["text"], speaker, audio_path))
    for problem in problems:
        logger.warning("skipping %s: %s", problem.source, problem.reason)
    if not items:
        raise ValueError(
            f"test set {path} has no usable row ({len(problems)} skipped"
            + (f", first: {problems[0].source}: {problems[0].reason}" if problems else "")
            + ")"
        )
    return EvalSet(path.resolve(), tuple(items), tuple(problems))


def _check_header(names: tuple[str, ...], path: Path, line: int) -> tuple[str, ...]:
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or len(set(names)) != len(names) or "text" not in names:
        raise ValueError(
            f"{path}:{line}: bad header {'|'.join(names)!r}"
            + (f" (unknown column {', '.join(map(repr, unknown))})" if unknown else "")
            + f": name each column once, 'text' included; columns are {', '.join(COLUMNS)} "
            "(e.g. audio_path|speaker|text)"
        )
    return names
