"""Teacher-voice corpus builder: a multi-speaker corpus rendered with flite and espeak-ng.

Users without recordings (and flowaudio's own default voice) need paired audio and text from
several speakers. The command-line synthesizers ``flite`` (Debian package ``flite``) and
``espeak-ng`` (package ``espeak-ng``) render any sentence on a plain CPU, so a corpus of a few
hours takes minutes to build and needs no download beyond the Debian packages.

The output is the generic multi-speaker CSV layout that ``flowaudio prepare`` reads::

    out_dir/
      metadata.csv    training clips:  audio_path|speaker|text
      heldout.csv     held-out clips:  audio_path|speaker|text (same sentences for every voice)
      corpus.json     recipe, engine versions, counts, seconds per speaker, build time
      plan.tsv        every planned clip (audio_path, voice, text): lets a re-run spot stale wavs
      failed.tsv      clips that failed to render (only when some did)
      wavs/<speaker>/<speaker>_00012.wav
      wavs/<speaker>/<speaker>_heldout_00003.wav

Example::

    from pathlib import Path
    from flowaudio.data.corpus import DEFAULT_VOICE_RECIPE, build_corpus

    summary = DEFAULT_VOICE_RECIPE.build(Path("corpus/teacher"))
    # or by hand:
    summary = build_corpus(Path("corpus/small"), ["flite:slt", "espeak:en-us+f3"], per_voice=50)
    print(summary.total_seconds / 3600, "hours")
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from flowaudio.data.manifest import CSV_HEADER
from flowaudio.version import __version__

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_VOICE_RECIPE",
    "FORTUNES_DIR",
    "CorpusRecipe",
    "CorpusSummary",
    "EngineNotFoundError",
    "TeacherVoice",
    "build_corpus",
    "load_sentences",
    "parse_voice",
    "render",
]

FORTUNES_DIR = Path("/usr/share/games/fortunes")

# Engine name in a spec -> canonical engine name. "espeak-ng" is accepted as an alias.
_ENGINE_ALIASES = {"flite": "flite", "espeak": "espeak", "espeak-ng": "espeak"}
# Canonical engine -> (program on PATH, Debian package that installs it).
_PROGRAMS = {"flite": ("flite", "flite"), "espeak": ("espeak-ng", "espeak-ng")}

_FORMAT_VERSION = 1


class EngineNotFoundError(RuntimeError):
    """A synthesizer program (flite or espeak-ng) is not on PATH."""


# --------------------------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherVoice:
    """One voice of one command-line synthesizer.

    Attributes:
        engine: ``"flite"`` or ``"espeak"`` (the program is ``espeak-ng``).
        voice: the engine's own voice name: ``"slt"``, ``"kal16"``, ``"en-us+f3"``.
    """

    engine: str
    voice: str

    def __post_init__(self) -> None:
        if self.engine not in _PROGRAMS:
            raise ValueError(
                f"unknown engine {self.engine!r}: use one of {sorted(_PROGRAMS)} "
                "(or build the voice with parse_voice('espeak-ng:en-us'))"
            )
        if (
            not self.voice
            or self.voice != self.voice.strip()
            or any(c.isspace() for c in self.voice)
        ):
            raise ValueError(
                f"bad {self.engine} voice name {self.voice!r}: it must be non-empty and contain "
                "no whitespace, e.g. 'slt' or 'en-us+f3'"
            )

    @property
    def speaker(self) -> str:
        """The voice name made filesystem-safe; used as speaker id and folder name.

        Characters other than letters, digits and ``. _ + -`` become ``_``: ``"en-us+f3"``
        stays as it is, ``"gmw/en-US"`` becomes ``"gmw_en-US"``.
        """
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", self.voice)
        # A leading dot would hide the folder; ".." would climb out of wavs/.
        return "_" + safe[1:] if safe.startswith(".") else safe

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``"flite:slt"`` or ``"espeak:en-us+f3"``."""
        return f"{self.engine}:{self.voice}"


def _executable(engine: str) -> str:
    """Absolute path of the engine's program, or :class:`EngineNotFoundError` with the fix."""
    program, package = _PROGRAMS[engine]
    found = shutil.which(program)
    if found is None:
        raise EngineNotFoundError(
            f"{program} is not installed: install the Debian package with "
            f"`apt-get install {package}`"
        )
    return found


def _run_listing(exe: str, *args: str) -> str:
    """stdout+stderr of a short listing command (voice lists, versions)."""
    try:
        done = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"`{exe} {' '.join(args)}` did not answer within 30 s") from exc
    return (done.stdout or "") + (done.stderr or "")


@lru_cache(maxsize=8)
def _flite_voices(exe: str) -> tuple[str, ...]:
    """Voices that ``flite -lv`` reports, e.g. ``("kal", "awb_time", "kal16", "awb", ...)``."""
    listing = _run_listing(exe, "-lv")
    _, _, names = listing.partition(":")
    return tuple(names.split())


@lru_cache(maxsize=8)
def _espeak_names(exe: str) -> tuple[frozenset[str], frozenset[str]]:
    """(language/voice names, variant names) that ``espeak-ng --voices`` lists, lower-cased."""

    def names(listing: str) -> set[str]:
        out: set[str] = set()
        for line in listing.splitlines()[1:]:  # first line is the column header
            cols = line.split()
            if len(cols) < 5:
                continue
            language, voice_name, file = cols[1], cols[3], cols[4]
            out.update(n.lower() for n in (language, voice_name, file, file.rsplit("/", 1)[-1]))
        return out

    languages = names(_run_listing(exe, "--voices"))
    variants = names(_run_listing(exe, "--voices=variant"))
    languages.discard("variant")
    return frozenset(languages), frozenset(variants)


def parse_voice(spec: str) -> TeacherVoice:
    """Parse ``"engine:voice"`` into a :class:`TeacherVoice`, checking the voice exists.

    Accepted engines are ``flite``, ``espeak`` and its alias ``espeak-ng``. flite voices must
    be among those ``flite -lv`` reports (flite silently falls back to its default voice for
    an unknown name, so the check matters); espeak voices are ``language[+variant]`` with the
    language and variant checked against ``espeak-ng --voices`` and ``--voices=variant``.

    Examples: ``"flite:slt"``, ``"flite:kal16"``, ``"espeak:en-us+f3"``, ``"espeak-ng:en-gb"``.

    Raises:
        ValueError: malformed spec, unknown engine or unknown voice (the message lists the
            valid choices).
        EngineNotFoundError: the engine's program is not installed.
    """
    engines = ", ".join(_ENGINE_ALIASES)
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"bad voice spec {spec!r}: expected 'engine:voice' with engine one of {engines}, "
            "e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    engine_part, _, voice = spec.strip().partition(":")
    engine = _ENGINE_ALIASES.get(engine_part.strip().lower())
    if engine is None:
        raise ValueError(
            f"unknown engine {engine_part!r} in voice spec {spec!r}: valid engines are "
            f"{engines}, e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    voice = voice.strip()
    if not voice or any(c.isspace() for c in voice):
        raise ValueError(
            f"bad voice spec {spec!r}: the voice after the colon must be a non-empty name "
            "without spaces, e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    exe = _executable(engine)
    if engine == "flite":
        known = _flite_voices(exe)
        if voice not in known:
            raise ValueError(
                f"unknown flite voice {voice!r} in spec {spec!r}: `flite -lv` reports "
                f"{', '.join(known)}; use e.g. 'flite:slt'"
            )
    else:
        languages, variants = _espeak_names(exe)
        language, _, variant = voice.partition("+")
        if language.lower() not in languages:
            raise ValueError(
                f"unknown espeak-ng language/voice {language!r} in spec {spec!r}: see "
                "`espeak-ng --voices`; English ones include en-us, en-gb, en-gb-x-rp, en-029"
            )
        if variant and variant.lower() not in variants:
            raise ValueError(
                f"unknown espeak-ng variant {variant!r} in spec {spec!r}: see "
                "`espeak-ng --voices=variant`, e.g. f1-f5, m1-m8, klatt"
            )
    return TeacherVoice(engine=engine, voice=voice)


def _engine_version(engine: str) -> str:
    """One line naming the engine's version.

    ``flite --version`` prints a copyright line first and the version on the second line, so
    the first line that mentions "version" is taken (falling back to the first line).
    """
    lines = [ln.strip() for ln in _run_listing(_executable(engine), "--version").splitlines()]
    lines = [ln for ln in lines if ln]
    for line in lines:
        if "version" in line.lower():
            return line
    return lines[0] if lines else "unknown"


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _temp_sibling(path: Path, suffix: str) -> Path:
    """A unique hidden name next to ``path``: same filesystem, so os.replace is atomic."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part{suffix}")


def _audio_frames(path: Path) -> int:
    """Frames in a readable audio file, 0 when it is missing, empty or unreadable."""
    try:
        return int(sf.info(str(path)).frames)
    except (RuntimeError, OSError, ValueError):  # LibsndfileError is a RuntimeError
        return 0


def _one_line(text: str, limit: int = 500) -> str:
    """Engine output squeezed onto one line (for messages and failed.tsv)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def render(voice: TeacherVoice, text: str, out_path: Path, timeout: float = 60.0) -> None:
    """Render ``text`` with ``voice`` into the wav file ``out_path`` (atomically).

    The engine writes a hidden temporary file next to ``out_path`` which is moved into place
    with :func:`os.replace` only once it holds audio, so ``out_path`` is either absent or
    complete. The text travels as one argv element and never through a shell:

    - flite: ``flite -voice slt -o TMP -t TEXT``. flite takes the argument after ``-t`` as the
      text whatever it looks like, so text starting with ``-`` is safe.
    - espeak-ng: ``espeak-ng -v en-us+f3 -b 1 -w TMP -- TEXT`` (``-b 1``: the text is UTF-8;
      ``--`` ends the options, so text starting with ``-`` is safe).

    Raises:
        ValueError: ``text`` is empty or ``timeout`` is not positive.
        EngineNotFoundError: the engine's program is not installed.
        RuntimeError: the engine failed, timed out or wrote no audio; the message carries the
            engine's stderr.
    """
    if not text or not text.strip():
        raise ValueError(f"nothing to render for {voice.spec}: text is empty ({text!r})")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
    exe = _executable(voice.engine)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(out_path, ".wav")
    if voice.engine == "flite":
        cmd = [exe, "-voice", voice.voice, "-o", str(tmp), "-t", text]
    else:
        cmd = [exe, "-v", voice.voice, "-b", "1", "-w", str(tmp), "--", text]
    try:
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = (exc.stderr or b"").decode("utf-8", "replace")
            raise RuntimeError(
                f"{voice.spec} timed out after {timeout:g} s rendering {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}; raise timeout= for long texts"
            ) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            raise RuntimeError(
                f"{voice.spec} exited with status {done.returncode} rendering {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}"
            )
        if _audio_frames(tmp) == 0:
            raise RuntimeError(
                f"{voice.spec} wrote no audio for {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}"
            )
        os.replace(tmp, out_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

# Typographic punctuation common in UTF-8 English text, mapped to ASCII before the ASCII check.
_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2026": "...",
        "\u00a0": " ",
    }
)
# Everything a sentence may contain: letters, digits, space and sentence punctuation. This
# keeps out "|" (the CSV separator), markup, code ({}[]<>=;_#$@*/\), and symbols the engines
# read in their own way ($, %, &).
_ALLOWED = re.compile(r"""[A-Za-z0-9 .,;:!?'"()-]*""")
_URL = re.compile(r"https?:|ftp:|www\.|\.(?:com|org|net|edu|gov)\b", re.IGNORECASE)
# "4." or "b)" standing alone: numbered lists that the joining of lines ran together.
_LIST_MARKER = re.compile(r"(?:^|\s)(?:\d{1,2}|[a-z])[.)](?:\s|$)")
# Part-of-speech tags of dictionary-style entries ("economist, n: Someone who...").
_POS_MARKER = re.compile(r"(?:^|[\s,])(?:n|v|vt|vi|adj|adv|prep|pron|conj|interj|pl)\.?:", re.I)
# Words at least one of which appears in almost any English sentence of 20+ characters; a
# sentence without any is most likely another language (fortunes has Latin and French).
_ENGLISH_WORDS = frozenset(
    {
        *("a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by"),
        *("for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "am", "it"),
        *("its", "i", "you", "he", "she", "we", "they", "me", "him", "her", "us", "them"),
        *("my", "your", "his", "our", "their", "this", "that", "what", "who", "not", "no"),
        *("do", "does", "did", "have", "has", "had", "will", "would", "can", "could"),
        *("should", "all", "there", "so"),
    }
)
# A sentence boundary: terminal punctuation (plus closing quotes), whitespace, then an upper-
# case letter (possibly after an opening quote).
_BOUNDARY = re.compile(r"""[.!?]+["')]*\s+(?=["'(]*[A-Z])""")
# Words whose trailing period is not a sentence end.
_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "rev", "gen", "col", "capt"),
        *("lt", "sgt", "mt", "ft", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "no"),
    }
)


def _split_sentences(text: str) -> list[str]:
    """Split a paragraph at ``. ! ?`` followed by an upper-case word (not after "Mr." etc.)."""
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].split()
        last = before[-1].lower().lstrip("\"'(") if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue  # "Mr. Smith", "J. R. R. Tolkien"
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _has_control(text: str) -> bool:
    """Tabs, backspaces (fortune's bold/underline tricks) and other control characters."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _clean_sentence(text: str, min_chars: int, max_chars: int) -> tuple[str | None, str]:
    """Apply the sentence rules of :func:`load_sentences`: (sentence, "ok") or (None, reason)."""
    text = " ".join(text.split())
    if text.startswith('"') and text.endswith('"') and text.count('"') == 2:
        text = text[1:-1].strip()  # a sentence that is one quotation: drop the quote marks
    if not text.isascii():
        return None, "non-ASCII"
    if _URL.search(text):
        return None, "URL"
    if "::" in text:
        return None, "code-like"
    if ".:" in text or _LIST_MARKER.search(text) or _POS_MARKER.search(text):
        return None, "list or definition markers"
    if not _ALLOWED.fullmatch(text):
        return None, "symbols or code"
    if not text:
        return None, "empty"
    letters = sum(c.isalpha() for c in text)
    if letters + text.count(" ") < 0.7 * len(text):
        return None, "too few letters"
    if any(c.isdigit() for c in text):
        # Teachers read numbers their own way ("1984" as digits, "3:45" oddly), which would
        # teach the model readings that disagree with flowaudio's normaliser.
        return None, "contains digits"
    if sum(c.isupper() for c in text) > 0.5 * letters:
        return None, "mostly upper-case"
    if not (text[0].isalnum() or text[0] in "\"'("):
        return None, "starts mid-sentence"
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        return None, "unbalanced quotes or brackets"
    if not _ENGLISH_WORDS.intersection(re.findall(r"[a-z]+", text.lower())):
        return None, "not English-looking"
    if text[-1].isalpha():
        text += "."
    if text[-1] not in ".!?":
        return None, "no sentence ending"
    if len(text) < min_chars:
        return None, "too short"
    if len(text) > max_chars:
        return None, "too long"
    return text, "ok"


def _entry_units(lines: list[str]) -> Iterator[str]:
    """Units of text in one fortune entry: its lines joined, attributions left out.

    An attribution is a line starting with ``--`` (after indentation), plus the indented lines
    that continue it. An attribution also ends a unit: entries holding several quotations,
    each with its author, give one unit per quotation.
    """
    current: list[str] = []
    in_attribution = False
    for raw in lines:
        stripped = raw.strip()
        if stripped.startswith("--"):
            in_attribution = True
            if current:
                yield " ".join(current)
            current = []
            continue
        if not stripped:
            in_attribution = False
            continue
        if in_attribution and raw[:1].isspace():
            continue  # continuation of the attribution: '\t\t   "Book Title", 1923'
        in_attribution = False
        current.append(stripped)
    if current:
        yield " ".join(current)


def _fortune_units(path: Path) -> Iterator[str]:
    """Units of one fortune file: entries are separated by lines holding only ``%``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    entry: list[str] = []
    for line in [*text.splitlines(), "%"]:
        if line.strip() == "%":
            yield from _entry_units(entry)
            entry = []
        else:
            entry.append(line)


def _fortune_files() -> list[Path]:
    """Fortune text files in :data:`FORTUNES_DIR`, sorted; .dat/.u8 files and subdirs skipped."""
    hint = "install the Debian package with `apt-get install fortunes`"
    if not FORTUNES_DIR.is_dir():
        raise FileNotFoundError(f"fortune directory {FORTUNES_DIR} does not exist: {hint}")
    files = sorted(
        p
        for p in FORTUNES_DIR.iterdir()
        if p.is_file() and p.suffix not in (".dat", ".u8") and not p.name.startswith(".")
    )
    if not files:
        raise FileNotFoundError(f"no fortune files in {FORTUNES_DIR}: {hint}")
    return files


def _text_file_units(path: Path) -> Iterator[str]:
    """Units of a UTF-8 text file: one per non-empty line, attribution lines left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {exc.start}): convert it, e.g. "
            f"`iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8.txt`"
        ) from exc
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            yield stripped


def load_sentences(source: str | Path, *, min_chars: int = 20, max_chars: int = 180) -> list[str]:
    """Clean English sentences for a teacher corpus, in a deterministic order.

    Sources:
        - the string ``"fortunes"``: every fortune file in :data:`FORTUNES_DIR` in sorted file
          order (``.dat``/``.u8`` files and subdirectories such as ``off/`` are skipped);
          entries are separated by lines holding only ``%``.
        - any other string or a :class:`~pathlib.Path`: a UTF-8 text file, one sentence per
          line (a whole paragraph on one line is fine; see the splitting rule).

    Rules, in order:
        1. Attribution lines are dropped: lines starting with ``--`` after their indentation
           (``"\\t\\t-- Mark Twain"``), and in fortunes the indented lines continuing them.
        2. A fortune entry's remaining lines are joined with spaces (an attribution ends the
           unit, so an entry of several attributed quotations gives several units).
        3. Units with tabs or other control characters after their indentation are dropped
           (tables, fortune's backspace over-striking).
        4. Curly quotes, dashes, ellipses and no-break spaces become ASCII; whitespace is
           collapsed to single spaces.
        5. A unit longer than ``max_chars`` is split into sentences at ``. ! ?`` followed by
           an upper-case word (not after "Mr.", "Dr.", "e.g." or an initial); each sentence
           is then a candidate. Shorter units stay whole (several short sentences are fine).
        6. A candidate that is one quotation (``"..."``) loses the enclosing quote marks.
        7. Dropped: non-ASCII text; URLs (``http:``, ``www.``, ``.com``...); ``::``; any
           character besides letters, digits, space and ``. , ; : ! ? ' " ( ) -`` (this drops
           lines with ``|``, code and markup); numbered-list markers (``4.``, ``b)``) and
           dictionary markers (``n.:``, ``, n:``); fewer than 70% letters and spaces; any digit
           (teachers read numbers unlike flowaudio's normaliser); more than half the letters upper-case; a start that is not a letter,
           digit, quote or bracket; unbalanced double quotes or brackets; no common English
           word (the, and, of, is, you...), which catches Latin and French.
        8. A candidate ending with a letter gets a ``.``; one not ending with ``. ! ?`` then
           is dropped.
        9. Its length must be within ``[min_chars, max_chars]``.
        10. Duplicates are dropped case-insensitively, keeping the first occurrence.

    The result keeps the source order (files sorted, then position in the file).

    Raises:
        FileNotFoundError: the fortunes are not installed, or the text file is missing.
        ValueError: bad length limits, or a text file that is not UTF-8.
    """
    if min_chars < 1 or max_chars < min_chars:
        raise ValueError(
            f"need 1 <= min_chars <= max_chars, got min_chars={min_chars}, max_chars={max_chars}"
        )
    if isinstance(source, str) and source == "fortunes":
        files = _fortune_files()
        units: Iterator[str] = (u for f in files for u in _fortune_units(f))
        origin = f"{len(files)} fortune files in {FORTUNES_DIR}"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"sentence file {path} does not exist: pass a UTF-8 text file with one "
                "sentence per line, or 'fortunes' for the fortune files"
            )
        units = _text_file_units(path)
        origin = str(path)

    sentences: list[str] = []
    seen: set[str] = set()
    reasons: Counter[str] = Counter()
    for unit in units:
        if _has_control(unit):
            reasons["tabs or control characters"] += 1
            continue
        unit = " ".join(unit.translate(_TYPOGRAPHIC).split())
        candidates = _split_sentences(unit) if len(unit) > max_chars else [unit]
        for candidate in candidates:
            sentence, reason = _clean_sentence(candidate, min_chars, max_chars)
            if sentence is None:
                reasons[reason] += 1
                continue
            key = sentence.lower()
            if key in seen:
                reasons["duplicate"] += 1
                continue
            seen.add(key)
            sentences.append(sentence)
    dropped = ", ".join(f"{reason} {n}" for reason, n in reasons.most_common())
    logger.info(
        "loaded %d sentences from %s (dropped: %s)", len(sentences), origin, dropped or "none"
    )
    return sentences


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusSummary:
    """What :func:`build_corpus` produced.

    Attributes:
        out_dir: the corpus folder.
        voices: the voice specs, canonical (``"flite:slt"``), in the order given.
        n_train: training clips listed in ``metadata.csv``.
        n_heldout: held-out clips listed in ``heldout.csv``.
        seconds_by_speaker: training audio per speaker, in seconds.
        total_seconds: training audio over all speakers, in seconds.
        failed: one ``"spec<TAB>text<TAB>reason"`` line per clip that failed in this run
            (also written to ``failed.tsv``).
        elapsed_seconds: wall time of this run.
    """

    out_dir: Path
    voices: tuple[str, ...]
    n_train: int
    n_heldout: int
    seconds_by_speaker: dict[str, float]
    total_seconds: float
    failed: tuple[str, ...]
    elapsed_seconds: float


@dataclass(frozen=True)
class CorpusRecipe:
    """Arguments of :func:`build_corpus` that define a corpus (everything but where and how fast).

    Attributes:
        voices: voice specs, e.g. ``("flite:slt", "espeak:en-us+f3")``.
        per_voice: training sentences per voice.
        heldout: held-out sentences, shared by all voices.
        sentences: ``"fortunes"`` or the path of a UTF-8 text file.
        seed: seed of the sentence shuffle.
    """

    voices: tuple[str, ...]
    per_voice: int
    heldout: int = 20
    sentences: str = "fortunes"
    seed: int = 1234

    def __post_init__(self) -> None:
        if isinstance(self.voices, str) or not self.voices:
            raise ValueError(
                f"voices must be a non-empty tuple of specs like ('flite:slt',), "
                f"got {self.voices!r}"
            )
        if self.per_voice < 1 or self.heldout < 0:
            raise ValueError(
                f"need per_voice >= 1 and heldout >= 0, got per_voice={self.per_voice}, "
                f"heldout={self.heldout}"
            )

    def build(
        self, out_dir: Path, *, workers: int | None = None, progress: bool = True
    ) -> CorpusSummary:
        """Build this recipe into ``out_dir`` (see :func:`build_corpus`)."""
        return build_corpus(
            out_dir,
            self.voices,
            sentences=self.sentences,
            per_voice=self.per_voice,
            heldout=self.heldout,
            seed=self.seed,
            workers=workers,
            progress=progress,
        )


# The default voice's teacher corpus: four flite voices, fortunes, ~3.5 hours of training audio.
# Measured on the build machine (flite 2.2, 2 CPU cores, load_sentences("fortunes") -> 16,895
# sentences, 76 characters on average):
# - 60 fortunes sentences (the first 60 after the seed-1234 shuffle, 87 characters on average)
#   rendered by flite:slt: 5.18 s of audio per clip on average (2.0-11.5 s, 311 s in all) in
#   7.6 s, i.e. ~41x real time on one core (rms and awb alike; kal16 ~440x, espeak ~180x).
# - 200 random pool sentences per voice: 4.63 s (slt), 5.17 s (rms), 4.61 s (awb), 4.75 s
#   (kal16) per clip, 4.79 s on average.
# So 650 per voice x 4 voices x 4.79 s ~= 12,450 s ~= 3.5 hours of training audio (plus 20
# shared held-out sentences x 4 voices, ~6 min), 2,620 distinct sentences (no reuse). A full
# build confirmed it: 3.53 hours of training audio (slt 3087 s, rms 3402 s, awb 3024 s, kal16
# 3182 s) + 431 s held-out, 138 s wall time on 2 cores.
DEFAULT_VOICE_RECIPE = CorpusRecipe(
    voices=("flite:slt", "flite:rms", "flite:awb", "flite:kal16"),
    per_voice=650,
    heldout=20,
    sentences="fortunes",
    seed=1234,
)


@dataclass(frozen=True)
class _Clip:
    """One planned clip: which voice says which text into which file."""

    voice: TeacherVoice
    text: str
    audio_path: str  # relative to out_dir, "/"-separated
    heldout: bool


def _write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and os.replace."""
    tmp = _temp_sibling(path, path.suffix)
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read_plan(path: Path) -> dict[str, tuple[str, str]]:
    """``plan.tsv`` of an earlier run: audio_path -> (voice spec, text); empty if none."""
    plan: dict[str, tuple[str, str]] = {}
    if not path.is_file():
        return plan
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) == 3:
            plan[cols[0]] = (cols[1], cols[2])
    return plan


def _plan_clips(
    voices: Sequence[TeacherVoice], pool: list[str], per_voice: int, heldout: int, seed: int
) -> list[_Clip]:
    """Shuffle the pool; first ``heldout`` for everyone, then ``per_voice`` each in turn."""
    order = list(pool)
    random.Random(seed).shuffle(order)
    held, train = order[:heldout], order[heldout:]
    needed = per_voice * len(voices)
    if needed > len(train):
        logger.warning(
            "the sentence pool has %d training sentences but %d voices x %d per voice need %d: "
            "sentences are reused across voices%s; use a bigger sentence file or a smaller "
            "per_voice for distinct sentences",
            len(train),
            len(voices),
            per_voice,
            needed,
            " and within a voice" if per_voice > len(train) else "",
        )
    width = max(5, len(str(max(per_voice, heldout) - 1)))
    clips: list[_Clip] = []
    for i, voice in enumerate(voices):
        spk = voice.speaker
        for j in range(per_voice):
            text = train[(i * per_voice + j) % len(train)]
            clips.append(_Clip(voice, text, f"wavs/{spk}/{spk}_{j:0{width}d}.wav", False))
        for k, text in enumerate(held):
            clips.append(_Clip(voice, text, f"wavs/{spk}/{spk}_heldout_{k:0{width}d}.wav", True))
    return clips


def _csv(rows: list[tuple[str, str, str]]) -> str:
    lines = ["|".join(CSV_HEADER), *("|".join(row) for row in sorted(rows))]
    return "\n".join(lines) + "\n"


def build_corpus(
    out_dir: Path,
    voices: Sequence[str],
    sentences: str | Path = "fortunes",
    per_voice: int = 100,
    heldout: int = 20,
    seed: int = 1234,
    workers: int | None = None,
    progress: bool = True,
) -> CorpusSummary:
    """Render a multi-speaker teacher corpus into ``out_dir``.

    Sentences come from :func:`load_sentences` and are shuffled with ``random.Random(seed)``.
    The first ``heldout`` of them are the held-out set, rendered by every voice so that
    per-speaker evaluation compares like with like. Voice ``i`` then takes the next
    ``per_voice`` sentences of the rest, so voices say different sentences while the pool
    lasts; past its end the sentences wrap around and are reused (with a warning).

    The build is deterministic and resumable: the same arguments give byte-identical CSVs, and
    a clip whose wav exists and is readable is not rendered again, so a re-run after a crash
    renders only what is missing. ``plan.tsv`` records which text each wav holds; a wav whose
    planned text or voice changed (other seed or sentences) is deleted and rendered again. The
    CSVs, ``corpus.json`` and ``failed.tsv`` are written atomically at the end from the wavs
    that exist. A clip that fails to render is logged, listed in ``failed.tsv`` and left out.

    Args:
        out_dir: corpus folder (created if missing).
        voices: voice specs, e.g. ``["flite:slt", "espeak:en-us+f3"]``.
        sentences: ``"fortunes"`` or a UTF-8 text file (see :func:`load_sentences`).
        per_voice: training sentences per voice.
        heldout: held-out sentences, shared by every voice (0 for none).
        seed: seed of the sentence shuffle.
        workers: parallel renders (default: ``os.cpu_count()``).
        progress: show a tqdm progress bar.

    Raises:
        EngineNotFoundError: flite or espeak-ng is needed but not installed.
        ValueError: bad arguments, unknown voices, two voices with one speaker name, or fewer
            than ``heldout + 1`` usable sentences.
        FileNotFoundError: the sentence source is missing.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if isinstance(voices, str) or not voices:
        raise ValueError(
            f"voices must be a non-empty list of specs like ['flite:slt', 'flite:kal16'], "
            f"got {voices!r}"
        )
    if per_voice < 1:
        raise ValueError(f"per_voice must be >= 1, got {per_voice}")
    if heldout < 0:
        raise ValueError(f"heldout must be >= 0 (0: no held-out set), got {heldout}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 or None (one per CPU), got {workers}")
    # Engines first, so a missing program is reported before any spec is checked in detail.
    for spec in voices:
        engine = _ENGINE_ALIASES.get(str(spec).partition(":")[0].strip().lower())
        if engine is not None:
            _executable(engine)
    parsed = [parse_voice(spec) for spec in voices]
    specs = [v.spec for v in parsed]
    for name, n in Counter(specs).items():
        if n > 1:
            raise ValueError(f"voice {name} is listed {n} times in voices={list(voices)!r}")
    # Case-insensitively: on macOS and Windows "en-us" and "EN-US" are one folder.
    speakers = Counter(v.speaker.lower() for v in parsed)
    for name, n in speakers.items():
        if n > 1:
            clash = [v.spec for v in parsed if v.speaker.lower() == name]
            raise ValueError(
                f"voices {clash} share the speaker name {name!r} (their folder); keep one of them"
            )

    pool = load_sentences(sentences)
    if len(pool) < heldout + 1:
        raise ValueError(
            f"{sentences} gives {len(pool)} usable sentences, fewer than heldout + 1 = "
            f"{heldout + 1}: add sentences or lower heldout"
        )
    clips = _plan_clips(parsed, pool, per_voice, heldout, seed)

    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.tsv"
    old_plan = _read_plan(plan_path)
    for clip in clips:
        before = old_plan.get(clip.audio_path)
        wav = out_dir / clip.audio_path
        if before is not None and before != (clip.voice.spec, clip.text) and wav.exists():
            logger.info("%s held another sentence in an earlier build: re-rendering", wav)
            wav.unlink()
    plan = dict(old_plan)  # keep entries of wavs outside this plan: they are still on disk
    plan.update({c.audio_path: (c.voice.spec, c.text) for c in clips})
    _write_text_atomic(
        plan_path,
        "audio_path\tvoice\ttext\n"
        + "".join(f"{p}\t{s}\t{t}\n" for p, (s, t) in sorted(plan.items())),
    )

    todo = [c for c in clips if _audio_frames(out_dir / c.audio_path) == 0]
    n_workers = workers or os.cpu_count() or 1
    logger.info(
        "corpus %s: %d clips planned (%d voices x (%d training + %d held-out)), "
        "%d already rendered, %d to render with %d workers",
        out_dir,
        len(clips),
        len(parsed),
        per_voice,
        heldout,
        len(clips) - len(todo),
        len(todo),
        n_workers,
    )
    failures: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def work(clip: _Clip) -> None:
        try:
            render(clip.voice, clip.text, out_dir / clip.audio_path)
        except (RuntimeError, OSError) as exc:
            logger.warning("failed to render %s: %s", clip.audio_path, exc)
            with lock:
                failures.append((clip.voice.spec, clip.text, _one_line(str(exc))))

    if todo:
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=n_workers)
        try:
            futures = [executor.submit(work, clip) for clip in todo]
            with tqdm(total=len(todo), desc="rendering", unit="clip", disable=not progress) as bar:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
                    bar.update(1)
        finally:
            # On Ctrl-C, drop what has not started; finished wavs stay for the next run.
            executor.shutdown(wait=True, cancel_futures=True)

    train_rows: list[tuple[str, str, str]] = []
    held_rows: list[tuple[str, str, str]] = []
    seconds: dict[str, dict[str, float]] = {
        v.speaker: {"train": 0.0, "heldout": 0.0} for v in parsed
    }
    rates: dict[str, set[int]] = {v.speaker: set() for v in parsed}
    for clip in clips:
        try:
            info = sf.info(str(out_dir / clip.audio_path))
        except (RuntimeError, OSError, ValueError):
            continue  # failed (listed in failed.tsv) or vanished
        if info.frames == 0:
            continue
        spk = clip.voice.speaker
        row = (clip.audio_path, spk, clip.text)
        (held_rows if clip.heldout else train_rows).append(row)
        seconds[spk]["heldout" if clip.heldout else "train"] += info.frames / info.samplerate
        rates[spk].add(int(info.samplerate))

    _write_text_atomic(out_dir / "metadata.csv", _csv(train_rows))
    _write_text_atomic(out_dir / "heldout.csv", _csv(held_rows))
    failed_lines = tuple("\t".join(f) for f in sorted(failures))
    failed_path = out_dir / "failed.tsv"
    if failed_lines:
        _write_text_atomic(failed_path, "spec\ttext\treason\n" + "\n".join(failed_lines) + "\n")
        logger.warning("%d clips failed to render: see %s", len(failed_lines), failed_path)
    else:
        with contextlib.suppress(FileNotFoundError):
            failed_path.unlink()  # failures of an earlier run have been rendered since

    seconds_by_speaker = {spk: round(s["train"], 3) for spk, s in seconds.items()}
    total_seconds = round(sum(seconds_by_speaker.values()), 3)
    elapsed = time.perf_counter() - started
    engines = sorted({v.engine for v in parsed})
    meta = {
        "format": "flowaudio-teacher-corpus",
        "format_version": _FORMAT_VERSION,
        "flowaudio_version": __version__,
        "recipe": {
            "voices": specs,
            "sentences": str(sentences),
            "per_voice": per_voice,
            "heldout": heldout,
            "seed": seed,
        },
        "engines": {e: _engine_version(e) for e in engines},
        "sentence_pool": len(pool),
        "n_train": len(train_rows),
        "n_heldout": len(held_rows),
        "n_failed": len(failed_lines),
        "speakers": {
            v.speaker: {
                "voice": v.spec,
                "sample_rates": sorted(rates[v.speaker]),
                "train_seconds": round(seconds[v.speaker]["train"], 3),
                "heldout_seconds": round(seconds[v.speaker]["heldout"], 3),
            }
            for v in parsed
        },
        "seconds_by_speaker": seconds_by_speaker,
        "total_seconds": total_seconds,
        "total_hours": round(total_seconds / 3600, 4),
        "build": {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 2),
            "rendered": len(todo) - len(failures),
            "reused": len(clips) - len(todo),
        },
    }
    _write_text_atomic(out_dir / "corpus.json", json.dumps(meta, indent=2) + "\n")
    logger.info(
        "corpus %s: %d training + %d held-out clips, %.2f hours of training audio, "
        "%d failed, built in %.1f s",
        out_dir,
        len(train_rows),
        len(held_rows),
        total_seconds / 3600,
        len(failed_lines),
        elapsed,
    )
    return CorpusSummary(
        out_dir=out_dir,
        voices=tuple(specs),
        n_train=len(train_rows),
        n_heldout=len(held_rows),
        seconds_by_speaker=seconds_by_speaker,
        total_seconds=total_seconds,
        failed=failed_lines,
        elapsed_seconds=elapsed,
    )
