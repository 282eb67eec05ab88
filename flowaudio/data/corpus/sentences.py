"""Sentences for a teacher corpus: clean English sentences mined from the fortunes or a text file.

:func:`load_sentences` reads raw text (fortune entries, or one sentence or paragraph per line),
drops what a teacher engine or the model would learn badly from (digits, symbols, URLs, lists,
other languages) and returns the sentences in a deterministic order.

Its sentence splitter is not :func:`flowaudio.text.sentences.split_sentences`: that one runs on
normalised text (abbreviations already spelled out) and cuts long sentences at clauses for the
runtime, while this one runs on raw text, so it must not end a sentence at "Mr." or at an
initial ("G. B. Shaw"), and it never cuts: a sentence too long for the corpus is dropped.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["FORTUNES_DIR", "load_sentences"]

FORTUNES_DIR = Path("/usr/share/games/fortunes")

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
           (teachers read numbers unlike flowaudio's normaliser); more than half the letters
           upper-case; a start that is not a letter, digit, quote or bracket; unbalanced double
           quotes or brackets; no common English word (the, and, of, is, you...), which catches
           Latin and French.
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
