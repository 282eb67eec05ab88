"""Dataset manifests: the LJSpeech layout and a generic multi-speaker CSV.

Both readers return :class:`Utterance` records plus a list of :class:`ManifestProblem` for the
lines they could not use, so a malformed line is reported (file and line number) and skipped,
never fatal. Audio files are not opened here; ``flowaudio prepare`` does that.

Layouts:

- ``ljspeech``: ``DIR/metadata.csv`` with ``id|text|normalized text`` per line (no header) and
  ``DIR/wavs/<id>.wav``. The raw text column is used so that training sees the same
  normaliser as synthesis; the normalised column is used only when the raw one is empty.
  One speaker, named after the directory (override with ``speaker=``).
- ``csv``: ``audio_path|speaker|text`` per line, optional header line with exactly those names;
  ``audio_path`` is relative to the CSV's directory (or absolute). Either a CSV file or a
  directory holding ``metadata.csv``.
- ``folder``: ``DIR/NAME.wav`` (any audio file soundfile reads) next to ``DIR/NAME.txt`` holding
  its transcript: what a recording session leaves behind. One speaker, named after the directory
  (override with ``speaker=``); an audio file without its ``.txt`` is reported and skipped.

Text encoding (one rule for both): UTF-8, with or without a byte-order mark. A file with a UTF-16
byte-order mark, or without one but with every other byte NUL, is read as UTF-16. A line that is
not valid UTF-8 is read as Windows-1252 (Latin-1 where that has no character): the encodings
old spreadsheets save, so "café" stays "café". Each repaired line is listed as a
:class:`ManifestProblem` with ``skipped=False``. A line that still holds a NUL byte (a binary
file, or a mix of encodings) is skipped and reported: no path may hold one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

logger = logging.getLogger(__name__)

CSV_HEADER = ("audio_path", "speaker", "text")


class DatasetFormat(str, Enum):
    AUTO = "auto"
    LJSPEECH = "ljspeech"
    CSV = "csv"
    FOLDER = "folder"


@dataclass(frozen=True)
class Utterance:
    """One line of a manifest.

    Attributes:
        id: unique, filesystem-safe name of the utterance.
        audio_path: absolute path of the audio file (not checked here).
        speaker: speaker name.
        text: the text as written in the manifest.
    """

    id: str
    audio_path: Path
    speaker: str
    text: str


@dataclass(frozen=True)
class ManifestProblem:
    """A manifest line that was skipped, with where and why."""

    source: str
    reason: str
    skipped: bool = True
    """False: the line was kept, repaired as ``reason`` says (e.g. decoded as Windows-1252)."""


@dataclass(frozen=True)
class Manifest:
    """Utterances of a dataset and the lines that could not be read."""

    format: DatasetFormat
    root: Path
    utterances: tuple[Utterance, ...]
    problems: tuple[ManifestProblem, ...]

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({u.speaker for u in self.utterances}))


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def safe_id(name: str) -> str:
    """A filesystem-safe id (``a/b c.wav`` -> ``a_b_c.wav``); never empty."""
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned or "utt"


def detect_format(path: str | Path) -> DatasetFormat:
    """Guess the layout of ``path`` (a directory or a CSV file)."""
    path = Path(path)
    if path.is_file():
        return DatasetFormat.CSV
    metadata = path / "metadata.csv"
    if not metadata.is_file():
        if path.is_dir() and any(_folder_pairs(path)):
            return DatasetFormat.FOLDER
        raise FileNotFoundError(
            f"{path}: no metadata.csv found; expected the LJSpeech layout (metadata.csv + wavs/), "
            "a multi-speaker CSV (audio_path|speaker|text) or a folder of NAME.wav + NAME.txt "
            "pairs"
        )
    lines, _ = _read_lines(metadata)
    first = lines[0][1] if lines else ""
    if tuple(f.strip() for f in first.split("|")) == CSV_HEADER:
        return DatasetFormat.CSV
    fields = first.split("|")
    if len(fields) == 3 and Path(fields[0]).suffix.lower() in _AUDIO_SUFFIXES:
        return DatasetFormat.CSV
    if (path / "wavs").is_dir() and len(fields) in (2, 3):
        return DatasetFormat.LJSPEECH
    raise ValueError(
        f"{metadata}: cannot tell the layout from its first line {first[:80]!r}; "
        "pass --format ljspeech or --format csv"
    )


_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus"}


def read_manifest(
    path: str | Path, fmt: DatasetFormat | str = DatasetFormat.AUTO, speaker: str | None = None
) -> Manifest:
    """Read the dataset at ``path`` in layout ``fmt`` (``auto`` detects it)."""
    fmt = DatasetFormat(fmt)
    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    if fmt is DatasetFormat.AUTO:
        fmt = detect_format(path)
    if fmt is DatasetFormat.LJSPEECH:
        return read_ljspeech(path, speaker=speaker)
    if fmt is DatasetFormat.FOLDER:
        return read_folder(path, speaker=speaker)
    return read_csv(path)


def _folder_pairs(root: Path) -> list[tuple[Path, Path]]:
    """(audio, transcript) of the audio files directly in ``root``; the transcript path may
    not exist."""
    audio = sorted(p for p in root.iterdir() if p.suffix.lower() in _AUDIO_SUFFIXES and p.is_file())
    return [(a, a.with_suffix(".txt")) for a in audio]


def read_folder(root: str | Path, speaker: str | None = None) -> Manifest:
    """Read a folder of ``NAME.wav`` + ``NAME.txt`` pairs (see the module docstring)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"folder of clips not found: {root}")
    spk = speaker or safe_id(root.name)
    utts: list[Utterance] = []
    problems: list[ManifestProblem] = []
    seen: set[str] = set()
    for audio, transcript in _folder_pairs(root):
        if not transcript.is_file():
            problems.append(
                ManifestProblem(str(audio), f"no transcript: write it into {transcript.name}")
            )
            continue
        lines, bad = _read_lines(transcript)
        problems.extend(bad)
        text = " ".join(line.strip() for _, line in lines)
        uid = safe_id(audio.stem)
        if uid in seen:  # NAME.wav and NAME.flac
            problems.append(ManifestProblem(str(audio), f"a second audio file named {uid!r}"))
            continue
        seen.add(uid)
        utts.append(Utterance(uid, audio, spk, text))
    if not utts and not problems:
        raise FileNotFoundError(
            f"{root} holds no audio files ({', '.join(sorted(_AUDIO_SUFFIXES))})"
        )
    return Manifest(DatasetFormat.FOLDER, root, tuple(utts), tuple(problems))


def read_ljspeech(root: str | Path, speaker: str | None = None) -> Manifest:
    """Read an LJSpeech-layout directory (``metadata.csv`` + ``wavs/``)."""
    root = Path(root).resolve()
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"{root}: LJSpeech layout needs {metadata}")
    spk = speaker or safe_id(root.name)
    utts: list[Utterance] = []
    seen: set[str] = set()
    lines, problems = _read_lines(metadata)
    for lineno, line in lines:
        where = f"{metadata}:{lineno}"
        fields = line.split("|")
        if len(fields) < 2:
            problems.append(
                ManifestProblem(where, f"expected 'id|text[|normalized]', got {line!r}")
            )
            continue
        name = fields[0].strip()
        text = fields[1].strip() or (fields[2].strip() if len(fields) > 2 else "")
        uid = safe_id(name)
        if not name or uid in seen:
            problems.append(ManifestProblem(where, f"missing or duplicate id {name!r}"))
            continue
        seen.add(uid)
        audio = root / "wavs" / (name if Path(name).suffix else f"{name}.wav")
        utts.append(Utterance(uid, audio, spk, text))
    return Manifest(DatasetFormat.LJSPEECH, root, tuple(utts), tuple(problems))


def read_csv(path: str | Path) -> Manifest:
    """Read a multi-speaker ``audio_path|speaker|text`` CSV (a file, or a dir with metadata.csv)."""
    path = Path(path).resolve()
    csv_path = path / "metadata.csv" if path.is_dir() else path
    if not csv_path.is_file():
        raise FileNotFoundError(f"multi-speaker CSV not found: {csv_path}")
    base = csv_path.parent
    utts: list[Utterance] = []
    seen: dict[str, int] = {}
    lines, problems = _read_lines(csv_path)
    for lineno, line in lines:
        where = f"{csv_path}:{lineno}"
        fields = line.split("|")
        if lineno == 1 and tuple(f.strip() for f in fields) == CSV_HEADER:
            continue
        if len(fields) != 3:
            problems.append(
                ManifestProblem(where, f"expected 'audio_path|speaker|text', got {line[:120]!r}")
            )
            continue
        rel, spk, text = (f.strip() for f in fields)
        if not rel or not spk:
            problems.append(ManifestProblem(where, "empty audio_path or speaker"))
            continue
        audio = Path(rel) if Path(rel).is_absolute() else base / rel
        # Different speakers often reuse file names (001.wav), so the speaker is part of the id.
        stem = Path(rel).stem
        uid = safe_id(stem if stem.startswith(spk) else f"{spk}_{stem}")
        if uid in seen:
            seen[uid] += 1
            uid = f"{uid}-{seen[uid]}"
        else:
            seen[uid] = 0
        utts.append(Utterance(uid, audio.resolve(), safe_id(spk), text))
    return Manifest(DatasetFormat.CSV, base, tuple(utts), tuple(problems))


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _read_lines(path: Path) -> tuple[list[tuple[int, str]], list[ManifestProblem]]:
    """(line number, line) for the non-blank lines of ``path`` decoded by the rule of the module
    docstring, and a problem for each line repaired or skipped on the way."""
    data = path.read_bytes()
    problems: list[ManifestProblem] = []
    utf16 = _utf16_codec(data)
    if utf16 is not None:
        logger.warning("%s is UTF-16, not UTF-8: read as %s; save it as UTF-8", path, utf16)
        problems.append(
            ManifestProblem(str(path), f"read as {utf16}: save it as UTF-8", skipped=False)
        )
        raw_lines = [line.encode("utf-8") for line in data.decode(utf16).split("\n")]
    else:
        raw_lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    out = []
    repaired = []
    for lineno, raw in enumerate(raw_lines, start=1):
        where = f"{path}:{lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = _decode_legacy(raw)
            repaired.append(lineno)
            problems.append(
                ManifestProblem(
                    where, "not UTF-8: read as Windows-1252/Latin-1; save as UTF-8", skipped=False
                )
            )
        line = line.rstrip("\r\n")
        if "\x00" in line:
            problems.append(
                ManifestProblem(
                    where, "the line holds a NUL byte (a binary or mixed-encoding file?)"
                )
            )
            continue
        if line.strip():
            out.append((lineno, line))
    if repaired:
        logger.warning(
            "%s: %d line(s) are not UTF-8 (first: line %d), read as Windows-1252/Latin-1; save "
            "the file as UTF-8",
            path,
            len(repaired),
            repaired[0],
        )
    return out, problems


def _utf16_codec(data: bytes) -> str | None:
    """``"utf-16"`` (BOM), ``"utf-16-le"``/``"-be"`` (no BOM, every other byte NUL), or None."""
    if data[:2] in _UTF16_BOMS:
        return "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= 0.4 * len(head):
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if odd >= 0.9 * len(head[1::2]):
            return "utf-16-le"
        if even >= 0.9 * len(head[0::2]):
            return "utf-16-be"
    return None


def _decode_legacy(raw: bytes) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined
        return raw.decode("latin-1")
