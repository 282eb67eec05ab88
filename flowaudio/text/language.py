"""Is this text in the voice's language? A cheap, dependency-free guess, so that a voice does not
silently read Russian, Greek or French with English pronunciation rules.

Two clues, both from the written text alone:

* the Unicode script of its letters (``unicodedata`` names: Latin, Cyrillic, Greek, Han,
  Arabic, ...) against the scripts the voice's language is written in;
* for Latin text, the function words of a few common languages (French ``les``, ``est``;
  German ``und``, ``nicht``; Spanish ``el``, ``muy`` ...), and for an English voice letters
  with diacritics English does not use (``Größe``, ``año``).

It is a guess tuned to stay quiet on ordinary text: a loanword (café), a name (Dvořák) or a
phrase (c'est la vie) in English text is not flagged; a sentence or more of another language
is. The frontend runs it on the written words of each request (not on inline phonemes, SSML
``say-as`` or lexicon words, which say how to read themselves).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from flowaudio.config import parse_choice

logger = logging.getLogger(__name__)

__all__ = [
    "ForeignText",
    "LanguageCheck",
    "LanguageMismatchError",
    "check_language",
    "find_foreign_text",
]


class LanguageCheck(str, Enum):
    """What synthesis does with text that looks like another language than the voice's."""

    WARN = "warn"
    """Log a warning naming the script or language found, then read it anyway (the default)."""
    STRICT = "strict"
    """Refuse it: :class:`LanguageMismatchError`."""
    OFF = "off"
    """Do not look."""

    @classmethod
    def parse(cls, value: LanguageCheck | str) -> LanguageCheck:
        """``value`` (any case) as a member; ValueError naming the allowed values otherwise."""
        return parse_choice(
            cls, value.lower() if isinstance(value, str) else value, "language_check"
        )


class LanguageMismatchError(ValueError):
    """The text looks like another language than the voice speaks (``LanguageCheck.STRICT``)."""


@dataclass(frozen=True)
class ForeignText:
    """What :func:`find_foreign_text` found.

    Attributes:
        script: the script of the foreign letters ("Cyrillic", "Latin", "Han", ...).
        language: the language the words point to ("French"), None when only the script says.
        examples: up to three words of it, as written, for the message.
        share: the fraction of the text's letters (script) or words (language, diacritics)
            that are foreign.
        diacritics: found by letters with diacritics English does not use (English voices).
    """

    script: str
    language: str | None
    examples: tuple[str, ...]
    share: float
    diacritics: bool = False

    def describe(self) -> str:
        """E.g. ``Cyrillic script ('Привет', 'мир')`` or ``French ('est', 'les')``."""
        words = ", ".join(repr(w) for w in self.examples)
        if self.language is not None:
            return f"{self.language} ({words})"
        if self.diacritics:
            return f"Latin letters with diacritics English does not use ({words})"
        hint = _SCRIPT_HINTS.get(self.script)
        return f"{self.script} script{f', {hint}' if hint else ''} ({words})"


# Scripts by the first word(s) of a letter's Unicode name. Letters of other names (modifier
# letters, IPA extensions are LATIN) are ignored.
_SCRIPT_NAMES = {
    "LATIN": "Latin",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "CJK": "Han",
    "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
    "HANGUL": "Hangul",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
    "BENGALI": "Bengali",
    "GURMUKHI": "Gurmukhi",
    "GUJARATI": "Gujarati",
    "TAMIL": "Tamil",
    "TELUGU": "Telugu",
    "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam",
    "SINHALA": "Sinhala",
    "THAI": "Thai",
    "LAO": "Lao",
    "TIBETAN": "Tibetan",
    "MYANMAR": "Myanmar",
    "KHMER": "Khmer",
    "ARMENIAN": "Armenian",
    "GEORGIAN": "Georgian",
    "ETHIOPIC": "Ethiopic",
}

_SCRIPT_HINTS = {"Han": "Chinese characters", "Kana": "Japanese", "Hangul": "Korean"}

# The scripts a language (ISO 639 code, the part before '-') is written in; Latin otherwise.
_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {}
for _codes, _scripts in [
    ("ru uk be bg mk kk ky mn tg tt ba cv", {"Cyrillic"}),
    ("sr", {"Cyrillic", "Latin"}),
    ("el grc", {"Greek"}),
    ("zh cmn yue hak", {"Han"}),
    ("ja", {"Han", "Kana"}),
    ("ko", {"Hangul", "Han"}),
    ("ar fa ur ps sd ug", {"Arabic"}),
    ("he yi", {"Hebrew"}),
    ("hi mr ne sa kok", {"Devanagari"}),
    ("bn as", {"Bengali"}),
    ("pa", {"Gurmukhi"}),
    ("gu", {"Gujarati"}),
    ("ta", {"Tamil"}),
    ("te", {"Telugu"}),
    ("kn", {"Kannada"}),
    ("ml", {"Malayalam"}),
    ("si", {"Sinhala"}),
    ("th", {"Thai"}),
    ("lo", {"Lao"}),
    ("my", {"Myanmar"}),
    ("km", {"Khmer"}),
    ("hy", {"Armenian"}),
    ("ka", {"Georgian"}),
    ("am ti", {"Ethiopic"}),
]:
    for _code in _codes.split():
        _LANGUAGE_SCRIPTS[_code] = frozenset(_scripts)

# Frequent function words of some Latin-script languages, leaving out those that are also
# English words ("die", "on", "son", "per", "no") so that English text scores 0 on the others.
_FUNCTION_WORDS: dict[str, tuple[str, frozenset[str]]] = {
    code: (name, frozenset(words.split()))
    for code, name, words in [
        (
            "en",
            "English",
            "the and of is that with for this are you have not they what which from would "
            "there their been has were who she he we your but it was be to by",
        ),
        (
            "fr",
            "French",
            "le la les des du et est une dans pas qui que avec sur je vous nous il elle ce "
            "cette au aux sont mais où leur très été être ne se ses mon ça tout aussi à",
        ),
        (
            "de",
            "German",
            "der das und ist nicht ein eine einen ich mit zu sie es auf für dem sich auch wir "
            "ihr nach bei aus wie oder aber wenn noch schon sehr über kein sind wird werden "
            "haben dass daß",
        ),
        (
            "es",
            "Spanish",
            "el los las del es en por que una un para como pero muy está lo su sus más "
            "tú él ella este esta también porque cuando sobre hasta donde qué cómo",
        ),
        (
            "it",
            "Italian",
            "il lo gli della di che è sono una questo questa anche come più perché nel nella "
            "alla dei delle",
        ),
        (
            "pt",
            "Portuguese",
            "não uma você é das mas se ele ela isso muito também está são que",
        ),
        (
            "nl",
            "Dutch",
            "het een niet zijn ik en dat voor te de wat maar ook als bij nog naar wordt heeft "
            "hij zij wij jullie",
        ),
    ]
}

#: Words of another language it takes, and the share of the words they must make, before Latin
#: text counts as that language (so "c'est la vie" in English text does not).
MIN_FOREIGN_WORDS = 3
MIN_FOREIGN_WORD_SHARE = 0.2
#: Share of the letters in another script before the text counts as in that script.
MIN_FOREIGN_LETTER_SHARE = 0.2
#: Share of the words that are lower-case words with diacritics English does not use before
#: text counts as another language for an English voice (names like Dvořák are capitalised;
#: loans like café stay well under it).
MIN_MARKED_WORD_SHARE = 0.4

_WORD_RE = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    first, _, rest = name.partition(" ")
    if first in ("FULLWIDTH", "HALFWIDTH"):
        first = rest.partition(" ")[0]
    return _SCRIPT_NAMES.get(first)


def _expected_scripts(language: str) -> frozenset[str]:
    return _LANGUAGE_SCRIPTS.get(_base(language), frozenset({"Latin"}))


def _base(language: str) -> str:
    return language.lower().replace("_", "-").split("-")[0]


def find_foreign_text(text: str, language: str) -> ForeignText | None:
    """What in ``text`` looks like another language than ``language`` (an espeak/BCP 47 code
    such as ``en-us``), or None.

    First the scripts: letters in a script ``language`` is not written in, if they are at least
    :data:`MIN_FOREIGN_LETTER_SHARE` of the letters. Then, for Latin text and a Latin-script
    language, the function words of the languages above (at least :data:`MIN_FOREIGN_WORDS`
    and :data:`MIN_FOREIGN_WORD_SHARE` of the words, and twice the language's own), and for an
    English voice lower-case words with diacritics English does not use (at least
    :data:`MIN_FOREIGN_WORDS` and :data:`MIN_MARKED_WORD_SHARE` of the words).
    """
    expected = _expected_scripts(language)
    words = _WORD_RE.findall(text)
    counts: dict[str, int] = {}
    foreign_words: dict[str, list[str]] = {}
    letters = 0
    for word in words:
        for ch in word:
            script = _script(ch)
            if script is None:
                continue
            letters += 1
            counts[script] = counts.get(script, 0) + 1
        scripts = {_script(ch) for ch in word} - {None}
        for script in scripts - expected:
            foreign_words.setdefault(script, []).append(word)
    if not letters:
        return None
    foreign = {s: n for s, n in counts.items() if s not in expected}
    if foreign:
        script, n = max(foreign.items(), key=lambda item: item[1])
        if n >= 2 and n / letters >= MIN_FOREIGN_LETTER_SHARE:
            return ForeignText(script, None, tuple(foreign_words[script][:3]), n / letters)
    if "Latin" not in expected:
        return None
    latin = [w for w in words if all(_script(ch) == "Latin" for ch in w)]
    if not latin:
        return None
    lowered = [w.lower() for w in latin]
    base = _base(language)
    own = _FUNCTION_WORDS.get(base, ("", frozenset()))[1]
    own_hits = sum(w in own for w in lowered)
    best: tuple[int, str, list[str]] | None = None
    for code, (name, vocabulary) in _FUNCTION_WORDS.items():
        if code == base:
            continue
        hits = [w for w, low in zip(latin, lowered, strict=True) if low in vocabulary]
        if best is None or len(hits) > best[0]:
            best = (len(hits), name, hits)
    if best is not None:
        n, name, hits = best
        share = n / len(latin)
        if n >= MIN_FOREIGN_WORDS and share >= MIN_FOREIGN_WORD_SHARE and n > 2 * own_hits:
            return ForeignText("Latin", name, tuple(dict.fromkeys(hits))[:3], share)
    if base == "en":
        marked = [w for w in latin if not w.isascii() and w[0].islower()]
        share = len(marked) / len(latin)
        if len(marked) >= MIN_FOREIGN_WORDS and share >= MIN_MARKED_WORD_SHARE:
            return ForeignText("Latin", None, tuple(marked[:3]), share, diacritics=True)
    return None


def check_language(
    text: str,
    language: str,
    mode: LanguageCheck | str = LanguageCheck.WARN,
    where: str = "",
) -> ForeignText | None:
    """Warn about (``warn``) or refuse (``strict``) text that :func:`find_foreign_text` finds
    foreign to ``language``; ``off`` skips the look. ``where`` names the voice in the message.

    Returns:
        what was found, or None.

    Raises:
        LanguageMismatchError: ``mode`` is ``strict`` and the text looks foreign.
    """
    mode = LanguageCheck.parse(mode)
    if mode is LanguageCheck.OFF:
        return None
    found = find_foreign_text(text, language)
    if found is None:
        return None
    speaker = f"{where} speaks {language}" if where else f"the voice speaks {language}"
    message = (
        f"the text looks like {found.describe()}, but {speaker}: it would be read with "
        f"{language} pronunciation rules"
    )
    if mode is LanguageCheck.STRICT:
        raise LanguageMismatchError(
            f"{message}; use a voice for that language, or read it anyway without the strict "
            "language check"
        )
    logger.warning("%s (a strict language check refuses such text)", message)
    return found
