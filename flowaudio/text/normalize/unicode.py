"""Step 1 of every language: canonical, speakable characters.

Quotes and dashes to ASCII, NFKC, whitespace to single spaces; control, private-use, unassigned
and surrogate code points, emoji and other pictographs dropped. For English also: diacritics
stripped ("cafe"), letters of non-Latin scripts dropped.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from flowaudio.text.normalize.tables import (
    CURRENCY_SYMBOLS,
    ENGLISH_POWERS,
    FRACTION_SLASH,
    LATIN_TO_ASCII,
    QUOTES_AND_DASHES,
    SPOKEN_SYMBOLS,
)

_QUOTES_AND_DASHES = str.maketrans(QUOTES_AND_DASHES)
_ENGLISH_POWERS = str.maketrans(ENGLISH_POWERS)
_KEPT_SYMBOLS = frozenset([*SPOKEN_SYMBOLS, *(s for s in CURRENCY_SYMBOLS if len(s) == 1)])

#: Vulgar fractions ("½", "¾"). NFKC writes them as digits around a fraction slash ("1⁄2"), which
#: would run into a preceding digit ("1½" -> "11⁄2"); a space in front keeps "1 1⁄2" apart.
_VULGAR_FRACTION_RE = re.compile("[\u00bc-\u00be\u2150-\u215f\u2189]")
_WHITESPACE_RE = re.compile(r"\s+")
_GREEK_MU_RE = re.compile("\u03bc(?=[A-Za-z])")
_ASCII_CONTROLS = str.maketrans(
    {chr(c): (" " if chr(c).isspace() else "") for c in (*range(0x20), 0x7F)}
)


@functools.lru_cache(maxsize=8192)
def _clean_char(char: str, english: bool) -> tuple[str, bool]:
    """Replacement for one non-ASCII ``char``, and whether dropping it is worth a warning.

    Whitespace, controls, format characters and combining marks go silently: they carry no
    sound of their own. Everything else that is dropped is reported.
    """
    category = unicodedata.category(char)
    if char.isspace() or category[0] == "Z":
        return " ", False
    if category in ("Cc", "Cf") or category[0] == "M":
        # Zero-width (non-)joiners shape the letters of some scripts; keep them outside English.
        keep = not english and char in ("\u200c", "\u200d")
        return (char if keep else ""), False
    if category in ("Cs", "Co", "Cn"):
        return "", True
    if not english:
        if category in ("So", "Sk") and char != "°":
            return "", True
        return char, False
    if char in _KEPT_SYMBOLS or char == FRACTION_SLASH:
        return char, False
    if category == "Nd":
        return str(unicodedata.decimal(char)), False
    if category[0] == "L" and unicodedata.name(char, "").startswith("LATIN"):
        base = "".join(
            LATIN_TO_ASCII.get(c, c)
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.category(c).startswith("M")
        )
        if base.isascii():
            return base, False
    return "", True


def clean_unicode(text: str, english: bool) -> tuple[str, list[str]]:
    """Canonical, speakable characters; returns the text and the reported removals in order."""
    text = text.translate(_QUOTES_AND_DASHES)
    if english:
        text = text.translate(_ENGLISH_POWERS)
    text = _VULGAR_FRACTION_RE.sub(lambda m: " " + m.group(0), text)
    text = unicodedata.normalize("NFKC", text)
    # NFKC turns the micro sign into a Greek mu; before a unit letter it is still "micro".
    text = _GREEK_MU_RE.sub("\u00b5", text) if english else text.replace(FRACTION_SLASH, "/")
    removed: dict[str, None] = {}
    if text.isascii():
        text = text.translate(_ASCII_CONTROLS)
    else:
        parts = []
        for char in text:
            if char.isascii():
                parts.append(char.translate(_ASCII_CONTROLS))
                continue
            replacement, reported = _clean_char(char, english)
            parts.append(replacement)
            if reported:
                removed[char] = None
        text = "".join(parts)
    return _WHITESPACE_RE.sub(" ", text).strip(), list(removed)
