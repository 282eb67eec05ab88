"""Text normalisation: turn written text into speakable words before grapheme-to-phoneme.

espeak-ng reads digits, money, symbols and abbreviations by itself, but not always well and not
the same way in every version; a voice learns whatever the normaliser gave it at training time.
So the frontend spells these out here, deterministically, with ``num2words`` for every number
word, and the phonemiser only ever sees words and sentence punctuation.

The package keeps data apart from code:

- :mod:`.tables`: every word list and mapping (units, months, currencies, abbreviations...);
- :mod:`.words`: number words, letter spelling, Roman numerals;
- :mod:`.unicode`: step 1 for every language (quotes, NFKC, unspeakable characters);
- :mod:`.english`: the English steps, in order (addresses, times, dates, phone numbers, codes
  and decades, fractions, ranges, money, percentages, units, Roman numerals, symbols,
  abbreviations, acronyms, numbers) and the final cleanup.

Sentence punctuation (``. , ! ? ; :``) is kept because it becomes pause tokens. The period of an
expanded abbreviation is dropped ("Dr. Smith" -> "Doctor Smith") unless it also ends the sentence
("on Baker St." -> "on Baker Street.").

The rules are versioned: :data:`NORMALIZER_VERSION` is written into every prepared cache and
voice (``TextConfig.normalizer_version``), and the runtime says when a voice was trained with
other rules (see :func:`check_normalizer_version`).
"""

from __future__ import annotations

import logging

from flowaudio.text.normalize.english import DateOrder, Options, normalize_english
from flowaudio.text.normalize.unicode import clean_unicode

__all__ = [
    "NORMALIZER_VERSION",
    "DateOrder",
    "check_normalizer_version",
    "normalize_text",
]

logger = logging.getLogger(__name__)

#: Version of the rules. 1: the rules before SSML and this package (voices without a recorded
#: version were trained with them). 2: dates in every written form, numeric dates, times with
#: seconds, zones and ranges, units in any case, fractions, decades, section codes, Roman
#: numerals, phone numbers, addresses and acronyms. 3: capitals on common short words and on
#: pronounceable long words are emphasis, read as words ("WRONG", "NOT", "HIGH"), not spelled.
NORMALIZER_VERSION = 3

#: Distinct removed characters named in the warning; the rest are only counted.
_MAX_REPORTED = 20

_warned_versions: set[int] = set()


def check_normalizer_version(trained_with: int, what: str = "this voice") -> bool:
    """Whether ``trained_with`` is the installed rules' version; logs once per version if not.

    A voice reads best with the rules it was trained with, but it reads phonemes from its own
    symbol table, so any rules' output is speech it can say. A voice of older rules meets text
    read by newer, more complete rules (a numeral or date it was trained on may now come out as
    other words): that is logged at DEBUG (``flowaudio info`` shows both versions). A voice of
    newer rules than the installed flowaudio may expect readings these rules do not make: that is
    a WARNING (upgrade flowaudio).
    """
    if trained_with == NORMALIZER_VERSION:
        return True
    if trained_with not in _warned_versions:
        _warned_versions.add(trained_with)
        if trained_with > NORMALIZER_VERSION:
            logger.warning(
                "%s was trained with text normaliser rules v%s, newer than this flowaudio's v%s: "
                "numbers, dates and abbreviations may be read differently than in its training; "
                "upgrade flowaudio.",
                what,
                trained_with,
                NORMALIZER_VERSION,
            )
        else:  # `flowaudio info` shows both versions; a log line on every command would be noise
            logger.debug(
                "%s was trained with text normaliser rules v%s; this flowaudio reads text with "
                "v%s (numbers, dates and abbreviations may be read with other words than in its "
                "training).",
                what,
                trained_with,
                NORMALIZER_VERSION,
            )
    return False


def normalize_text(
    text: str, language: str = "en-us", date_order: DateOrder | str = DateOrder.AUTO
) -> str:
    """Return speakable text: numbers, symbols, abbreviations expanded to words; unspeakables gone.

    For English (``language`` starting with "en") the full pipeline runs (see the module
    docstring), diacritics are stripped and characters of other scripts dropped. For any other
    language only the language-independent cleanup runs (quotes and dashes to ASCII, NFKC,
    control, private-use, unassigned, surrogate and emoji code points dropped, whitespace
    collapsed), because English number words would be wrong there. Dropped characters are named
    in one warning per call.

    Args:
        text: any string, including one with lone surrogates or control characters.
        language: an espeak-style language code, e.g. "en-us", "en-gb", "de".
        date_order: how all-numeric dates ("10/06/2005") are read: "mdy", "dmy", or "auto"
            (month first for en-us with "/" or "-", day first otherwise).

    Returns:
        The normalised text, stripped, with single spaces; "" when nothing speakable remains.

    Raises:
        TypeError: ``text`` or ``language`` is not a ``str``.
        ValueError: ``date_order`` is not one of the choices.

    Example:
        >>> normalize_text("Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024.")
        'Doctor Smith paid three dollars and fifty cents at three forty-five p m on December fifth, twenty twenty-four.'
    """  # noqa: E501
    if not isinstance(text, str):
        hint = " (decode bytes first, e.g. text.decode('utf-8'))" if isinstance(text, bytes) else ""
        raise TypeError(f"text must be a str, got {type(text).__name__}{hint}")
    if not isinstance(language, str):
        raise TypeError(
            f"language must be a str such as 'en-us', got {type(language).__name__}: {language!r}"
        )
    from flowaudio.config import parse_choice

    order = parse_choice(DateOrder, date_order, "date order")
    code = language.strip().lower()
    english = code.startswith("en")
    text, removed = clean_unicode(text, english)
    if removed:
        named = ", ".join(repr(c) for c in removed[:_MAX_REPORTED])
        more = len(removed) - _MAX_REPORTED
        logger.warning(
            "removed unspeakable characters: %s%s", named, f" and {more} more" if more > 0 else ""
        )
    if not english:
        return text
    options = Options(date_order=order, american=code in ("en", "en-us"))
    return normalize_english(text, options)
