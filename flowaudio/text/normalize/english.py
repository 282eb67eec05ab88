"""Text normalisation: turn written text into speakable words before grapheme-to-phoneme.

espeak-ng reads digits, money, symbols and abbreviations by itself, but not always well and not
the same way in every version; a voice learns whatever the normaliser gave it at training time.
So the frontend spells these out here, deterministically, with ``num2words`` for every number
word, and the phonemiser only ever sees words and sentence punctuation.

The work is a fixed pipeline of small steps, each a function with its regex compiled once here:

1. Unicode cleanup (every language): quotes and dashes to ASCII, NFKC, whitespace to single
   spaces, control, private-use, unassigned and surrogate code points dropped, emoji and other
   pictographs dropped. For English also: diacritics stripped ("cafe"), letters of non-Latin
   scripts dropped. One warning per call names what was dropped.
2. English only, in this order: times, dates, phone numbers, fractions, ranges, currency,
   percentages, units, symbols, abbreviations, plain numbers. Earlier steps see digits that later
   steps would otherwise read out of context ("3:45", "Dec. 5th", "$3.50", "10kg").
3. Final cleanup: spacing around punctuation, stray commas, whitespace.

Sentence punctuation (``. , ! ? ; :``) is kept because it becomes pause tokens. The period of an
expanded abbreviation is dropped ("Dr. Smith" -> "Doctor Smith") unless it also ends the sentence
("on Baker St." -> "on Baker Street.").

Every step is linear in the input (no regex here can backtrack catastrophically) and numbers too
long for num2words are read digit by digit, so any ``str`` is safe to pass.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import NamedTuple

__all__ = ["normalize_text"]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------- limits

#: Integers with more digits than this are read digit by digit: nobody says "one quintillion ..."
#: for an ID, and num2words raises OverflowError somewhere above 10**33.
_MAX_CARDINAL_DIGITS = 15

#: Distinct removed characters named in the warning; the rest are only counted.
_MAX_REPORTED = 20

# --------------------------------------------------------------------------------------- tables

#: Typographic quotes and dashes to ASCII. Applied before NFKC, which would otherwise turn some of
#: them (double prime, ellipsis) into sequences this table no longer recognises. The em dash is a
#: pause in running text, so it becomes a comma; the en dash is a range ("1990–1995") or a
#: hyphen, so it becomes "-".
_QUOTES_AND_DASHES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (also the typographic apostrophe)
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u2039": "'",  # single left-pointing angle quotation mark
        "\u203a": "'",  # single right-pointing angle quotation mark
        "\u02bc": "'",  # modifier letter apostrophe
        "\u00b4": "'",  # acute accent used as an apostrophe
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u00ab": '"',  # left-pointing double angle quotation mark
        "\u00bb": '"',  # right-pointing double angle quotation mark
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus sign
        "\u2014": ", ",  # em dash
        "\u2015": ", ",  # horizontal bar
        "\u2026": "...",  # horizontal ellipsis
    }
)

#: Vulgar fractions ("½", "¾"). NFKC writes them as digits around a fraction slash ("1⁄2"), which
#: would run into a preceding digit ("1½" -> "11⁄2"); a space in front keeps "1 1⁄2" apart.
_VULGAR_FRACTION_RE = re.compile("[\u00bc-\u00be\u2150-\u215f\u2189]")

#: The fraction slash that NFKC leaves; English reads the fraction, other languages get "/".
_FRACTION_SLASH = "\u2044"

#: Superscript powers, which NFKC would flatten into plain digits ("m²" -> "m2"). English only.
_ENGLISH_POWERS = str.maketrans({"\u00b2": " squared ", "\u00b3": " cubed "})

#: Latin letters that NFKD does not reduce to ASCII. Anything else Latin that stays non-ASCII is
#: dropped (and named in the warning).
_LATIN_TO_ASCII = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "ŋ": "ng",
    "Ŋ": "Ng",
}

#: Symbols read as words wherever the earlier, more specific steps left them. The non-ASCII ones
#: survive the English Unicode cleanup for this reason; everything else non-ASCII is dropped.
_SPOKEN_SYMBOLS = {
    "&": "and",
    "@": "at",
    "+": "plus",
    "=": "equals",
    "%": "percent",
    "<": "less than",
    ">": "greater than",
    "$": "dollars",
    "£": "pounds",
    "€": "euros",
    "¥": "yen",
    "¢": "cents",
    "°": "degrees",
    "×": "times",
    "÷": "divided by",
    "±": "plus or minus",
}

#: ASCII symbols with nothing to say (markup, decoration): replaced by a space. Brackets become
#: parentheses, which the symbol table keeps as a pause.
_SILENT_SYMBOLS = {
    "*": " ",
    "_": " ",
    "~": " ",
    "^": " ",
    "|": " ",
    "\\": " ",
    "`": " ",
    "#": " ",
    _FRACTION_SLASH: "/",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
}


class _Currency(NamedTuple):
    """Words for one currency symbol; empty minor names mean the currency has no minor unit."""

    singular: str
    plural: str
    minor_singular: str
    minor_plural: str


_CURRENCIES = {
    "$": _Currency("dollar", "dollars", "cent", "cents"),
    "£": _Currency("pound", "pounds", "penny", "pence"),
    "€": _Currency("euro", "euros", "cent", "cents"),
    "¥": _Currency("yen", "yen", "", ""),
    "¢": _Currency("cent", "cents", "", ""),
}

#: Scale words after an amount ("$3 million", "$5bn", "$20k").
_SCALES = {
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "k": "thousand",
    "K": "thousand",
    "m": "million",
    "M": "million",
    "mn": "million",
    "bn": "billion",
    "B": "billion",
    "tn": "trillion",
}

#: Units read after a number: symbol -> (singular, plural). Case-sensitive ("MB" is not "mb").
#: Left out on purpose because they are ordinary words or letters after numbers too:
#: "in", "a", "t", "l", "K", "V", "W", "A", "B", "C", "F".
_UNITS = {
    "mm": ("millimeter", "millimeters"),
    "cm": ("centimeter", "centimeters"),
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "mi": ("mile", "miles"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "kg": ("kilogram", "kilograms"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "ns": ("nanosecond", "nanoseconds"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "kB": ("kilobyte", "kilobytes"),
    "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "dB": ("decibel", "decibels"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "mAh": ("milliamp hour", "milliamp hours"),
}

#: Units that need a space before them: "1990s" is a decade, "5 s" is five seconds.
_UNITS_NEEDING_SPACE = frozenset({"s"})

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: Month spellings that may precede or follow a day number, mapped to the spoken name.
_MONTH_SPELLINGS = {
    **{month: month for month in _MONTHS},
    "Jan": "January",
    "Feb": "February",
    "Mar": "March",
    "Apr": "April",
    "Jun": "June",
    "Jul": "July",
    "Aug": "August",
    "Sep": "September",
    "Sept": "September",
    "Oct": "October",
    "Nov": "November",
    "Dec": "December",
}

#: Titles that stand before a name: their period never ends a sentence when a name follows.
_TITLES = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Capt": "Captain",
    "Sgt": "Sergeant",
    "Lt": "Lieutenant",
    "Col": "Colonel",
    "Gen": "General",
    "Gov": "Governor",
    "Sen": "Senator",
    "Rep": "Representative",
    "Rev": "Reverend",
    "Hon": "Honorable",
    "Mt": "Mount",
}

#: Titles also recognised without their period, when a capitalised name follows ("Mr Smith").
_DOTLESS_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "Prof", "St"})

#: Abbreviations that close a name or a phrase: their period may also end the sentence.
_TRAILING_ABBREVIATIONS = {
    "Jr": "Junior",
    "Sr": "Senior",
    "Inc": "Incorporated",
    "Ltd": "Limited",
    "Corp": "Corporation",
    "Dept": "Department",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "Rd": "Road",
    "etc": "et cetera",
}


class _Ambiguous(NamedTuple):
    """Readings of an abbreviation that means one thing before a name and another after one."""

    before_name: str
    after_name: str
    otherwise: str


_AMBIGUOUS_ABBREVIATIONS = {
    "St": _Ambiguous(before_name="Saint", after_name="Street", otherwise="Street"),
    "Dr": _Ambiguous(before_name="Doctor", after_name="Drive", otherwise="Doctor"),
}

#: Mid-sentence abbreviations, matched case-insensitively; their period is kept only at the very
#: end of the text, because what follows "e.g." is often capitalised without ending anything.
_INLINE_ABBREVIATIONS = {
    "e.g": "for example",
    "i.e": "that is",
    "a.k.a": "also known as",
    "vs": "versus",
    "approx": "approximately",
    "et al": "et al",
}

# ------------------------------------------------------------------------------ shared regexes

#: An unsigned amount: thousands groups ("1,234,567") or a plain digit run, then an optional
#: decimal part. The lookbehinds stop a match from starting inside another number, which also keeps
#: long comma chains linear (the grouped branch is tried once per number, not once per comma).
_AMOUNT = r"(?P<int>(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d)|(?<![\d.])\d+)(?P<frac>\.\d+)?"

#: A leading minus sign, only where it cannot be a hyphen or a range dash.
_SIGN = r"(?P<sign>(?<![\w.,-])-)?"

#: "am"/"pm" in the spellings people write; the trailing period of "a.m." is consumed and given
#: back by the time step when it also ends the sentence.
_AM_PM = r"(?P<ampm>(?P<ap>[AaPp])(?:\.[Mm]\.?|[Mm])(?![A-Za-z]))"

_SENTENCE_END_RE = re.compile(r"[\"')\]]*(?:\s*\Z|\s+[\"'(\[]*[A-Z])", re.ASCII)
_TEXT_END_RE = re.compile(r"[\"')\]]*\s*\Z", re.ASCII)
_NAME_FOLLOWS_RE = re.compile(r"\s+[A-Z]", re.ASCII)
_WHITESPACE_RE = re.compile(r"\s+")


def _alternation(words: Iterable[str]) -> str:
    """Regex alternation of literal ``words``, longest first so "Sept" wins over "Sep"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# ------------------------------------------------------------------------------ number words


def num2words(number: int, lang: str, to: str = "cardinal") -> str:
    """``num2words.num2words``, imported on first use: the package imports every language it
    has (~5 MB of RSS, ~50 ms), which text without numbers never needs."""
    from num2words import num2words as convert

    return convert(number, lang=lang, to=to)


@functools.lru_cache(maxsize=16)
def _digit_word(digit: str) -> str:
    return num2words(int(digit), lang="en")


def _digits(digits: str) -> str:
    """Read a digit string one digit at a time ("007" -> "zero zero seven")."""
    return " ".join(_digit_word(d) for d in digits)


def _tidy(words: str) -> str:
    # num2words separates thousands groups with commas, which would become pauses, and writes
    # years like 1905 as "nineteen oh-five".
    return words.replace(",", "").replace("oh-", "oh ")


@functools.lru_cache(maxsize=4096)
def _cardinal(digits: str) -> str:
    """Cardinal words for an ASCII digit string; IDs with leading zeros are read digit by digit."""
    if len(digits) > _MAX_CARDINAL_DIGITS or (len(digits) > 1 and digits[0] == "0"):
        return _digits(digits)
    return _tidy(num2words(int(digits), lang="en"))


@functools.lru_cache(maxsize=1024)
def _ordinal(digits: str) -> str:
    """Ordinal words ("21" -> "twenty-first")."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > _MAX_CARDINAL_DIGITS:
        return _digits(digits)
    return _tidy(num2words(int(digits), lang="en", to="ordinal"))


@functools.lru_cache(maxsize=1024)
def _year(digits: str) -> str:
    """A year the way it is said ("1984" -> "nineteen eighty-four")."""
    return _tidy(num2words(int(digits), lang="en", to="year"))


def _looks_like_year(digits: str) -> bool:
    return len(digits) == 4 and 1100 <= int(digits) <= 2099


def _amount(int_part: str, frac: str | None) -> str:
    """Words for an amount ("1,234.5" -> "one thousand two hundred and thirty-four point five").

    Leading zeros are dropped: in an amount they carry no meaning, unlike in an ID.
    """
    digits = int_part.replace(",", "").lstrip("0") or "0"
    words = _cardinal(digits)
    if frac:
        words += " point " + _digits(frac.lstrip("."))
    return words


def _is_one(int_part: str, frac: str | None) -> bool:
    """Whether an amount takes the singular unit ("1 km", but "1.0 km" and "0 km" are plural)."""
    return not frac and (int_part.lstrip("0") == "1")


def _pluralize(words: str) -> str:
    """Plural of number words, for decades and digit names ("nineteen ninety" -> "...nineties")."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def _spaced(match: re.Match[str], words: str) -> str:
    """``words`` padded with a space where the match touched a letter or digit ("MP3", "at3pm")."""
    text = match.string
    start, end = match.start(), match.end()
    left = " " if start > 0 and text[start - 1].isalnum() else ""
    right = " " if end < len(text) and text[end].isalnum() else ""
    return f"{left}{words}{right}"


def _ends_sentence(text: str, pos: int) -> bool:
    """Whether a period just before ``pos`` also ends the sentence (end of text or a capital)."""
    return _SENTENCE_END_RE.match(text, pos) is not None


def _ends_text(text: str, pos: int) -> bool:
    """Whether only closing quotes, brackets and whitespace follow ``pos``."""
    return _TEXT_END_RE.match(text, pos) is not None


# ----------------------------------------------------------------------------- unicode cleanup

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
    if char in _SPOKEN_SYMBOLS or char == _FRACTION_SLASH:
        return char, False
    if category == "Nd":
        return str(unicodedata.decimal(char)), False
    if category[0] == "L" and unicodedata.name(char, "").startswith("LATIN"):
        base = "".join(
            _LATIN_TO_ASCII.get(c, c)
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.category(c).startswith("M")
        )
        if base.isascii():
            return base, False
    return "", True


def _clean_unicode(text: str, english: bool) -> tuple[str, list[str]]:
    """Step 1: canonical, speakable characters; returns the text and the reported removals."""
    text = text.translate(_QUOTES_AND_DASHES)
    if english:
        text = text.translate(_ENGLISH_POWERS)
    text = _VULGAR_FRACTION_RE.sub(lambda m: " " + m.group(0), text)
    text = unicodedata.normalize("NFKC", text)
    if not english:
        text = text.replace(_FRACTION_SLASH, "/")
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


# ------------------------------------------------------------------------------- english steps

_TIME_RE = re.compile(
    r"(?<![\d:.])(?P<hour>[01]?\d|2[0-4]):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?(?![\d:])"
    rf"(?:\s?{_AM_PM})?",
    re.ASCII,
)
_HOUR_AM_PM_RE = re.compile(rf"(?<![\d:.,])(?P<hour>1[0-2]|0?[1-9])\s?{_AM_PM}", re.ASCII)


def _am_pm_words(match: re.Match[str]) -> str:
    """ " a m" / " p m" (with the sentence period given back if "a.m." ended the sentence)."""
    ampm = match["ampm"]
    if not ampm:
        return ""
    words = f" {match['ap'].lower()} m"
    if ampm.endswith(".") and "." in ampm[:-1] and _ends_sentence(match.string, match.end()):
        words += "."
    return words


def _say_time(match: re.Match[str]) -> str:
    minute = int(match["minute"])
    words = _cardinal(str(int(match["hour"])))
    if minute == 0:
        if not match["ampm"]:
            words += " o'clock"
    elif minute < 10:
        words += " oh " + _cardinal(str(minute))
    else:
        words += " " + _cardinal(str(minute))
    if match["second"]:
        second = int(match["second"])
        words += f" and {_cardinal(str(second))} second{'' if second == 1 else 's'}"
    return _spaced(match, words + _am_pm_words(match))


def _say_hour_am_pm(match: re.Match[str]) -> str:
    return _spaced(match, _cardinal(str(int(match["hour"]))) + _am_pm_words(match))


def _expand_times(text: str) -> str:
    """Clock times: "3:45 pm" -> "three forty-five p m", "10:00" -> "ten o'clock", "7 a.m."."""
    text = _TIME_RE.sub(_say_time, text)
    return _HOUR_AM_PM_RE.sub(_say_hour_am_pm, text)


_MONTH = rf"(?P<month>{_alternation(_MONTH_SPELLINGS)})(?P<dot>\.)?"
_DAY = r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_ISO_DATE_RE = re.compile(
    r"(?<![\w-])(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12]\d|3[01])(?![\w-])",
    re.ASCII,
)
_MONTH_DAY_RE = re.compile(rf"\b{_MONTH}\s+{_DAY}(?![\w:]|[.,]\d)", re.ASCII)
_DAY_MONTH_RE = re.compile(rf"(?<![\w.,-]){_DAY}\s+(?P<of>of\s+)?{_MONTH}(?![A-Za-z])", re.ASCII)
_MONTH_ALONE_RE = re.compile(
    rf"\b(?P<month>{_alternation(k for k in _MONTH_SPELLINGS if k not in _MONTHS)})"
    r"(?:(?P<dot>\.)|(?=\s+\d{4}(?!\d)))",
    re.ASCII,
)


def _say_iso_date(match: re.Match[str]) -> str:
    month = _MONTHS[int(match["month"]) - 1]
    return f"{month} {_ordinal(match['day'])}, {match['year']}"


def _say_month_day(match: re.Match[str]) -> str:
    return f"{_MONTH_SPELLINGS[match['month']]} {_ordinal(match['day'])}"


def _say_day_month(match: re.Match[str]) -> str:
    text = match.string
    words = f"{_ordinal(match['day'])} of {_MONTH_SPELLINGS[match['month']]}"
    if text[max(0, match.start() - 4) : match.start()].lower() != "the ":
        words = "the " + words
    if match["dot"] and _ends_sentence(text, match.end()):
        words += "."
    return _spaced(match, words)


def _say_month_alone(match: re.Match[str]) -> str:
    words = _MONTH_SPELLINGS[match["month"]]
    if match["dot"] and _ends_sentence(match.string, match.end()):
        words += "."
    return words


def _expand_dates(text: str) -> str:
    """Dates: "Dec. 5th" -> "December fifth", "5 May" -> "the fifth of May", "2024-12-05".

    Years are left as digits for the number step, which reads 4-digit years as years.
    """
    text = _ISO_DATE_RE.sub(_say_iso_date, text)
    text = _MONTH_DAY_RE.sub(_say_month_day, text)
    text = _DAY_MONTH_RE.sub(_say_day_month, text)
    return _MONTH_ALONE_RE.sub(_say_month_alone, text)


_PHONE_RE = re.compile(
    r"(?<![\w(-])(?:\((?P<area>\d{3})\)\s?|(?P<area2>\d{3})[-.\s])?"
    r"(?P<exchange>\d{3})-(?P<line>\d{4})(?![\w-])",
    re.ASCII,
)


def _say_phone(match: re.Match[str]) -> str:
    groups = [match["area"] or match["area2"], match["exchange"], match["line"]]
    return ", ".join(_digits(g) for g in groups if g)


def _expand_phone_numbers(text: str) -> str:
    """Phone numbers ("555-1234", "(555) 123-4567") digit by digit, a pause between groups."""
    return _PHONE_RE.sub(_say_phone, text)


_FRACTION_RE = re.compile(
    rf"(?:(?<![\d.,])(?P<whole>\d+) )?(?P<num>\d+){_FRACTION_SLASH}(?P<den>\d+)", re.ASCII
)

#: Denominators whose names are not their ordinals.
_DENOMINATORS = {"2": ("half", "halves"), "4": ("quarter", "quarters")}


def _say_fraction(match: re.Match[str]) -> str:
    num, den = match["num"].lstrip("0") or "0", match["den"].lstrip("0") or "0"
    if den in _DENOMINATORS:
        singular, plural = _DENOMINATORS[den]
    else:
        singular = _ordinal(den)
        plural = singular + "s"
    if match["whole"]:
        count = "a" if num == "1" else _cardinal(num)
        words = f"{_amount(match['whole'], None)} and {count} "
    else:
        words = f"{_cardinal(num)} "
    return _spaced(match, words + (singular if num == "1" else plural))


def _expand_fractions(text: str) -> str:
    """Typeset fractions: "½" -> "one half", "1¾" -> "one and three quarters".

    Only the Unicode fraction slash counts: an ASCII "1/2" may as well be a date or "24/7".
    """
    return _FRACTION_RE.sub(_say_fraction, text)


_RANGE_RE = re.compile(
    r"(?<![\w.,-])(?P<low>\d+(?:\.\d+)?)-(?P<high>\d+(?:\.\d+)?)(?![\w-]|[.,]\d)", re.ASCII
)
_SPACED_MINUS_RE = re.compile(r"(?<=\d) - (?=\d)", re.ASCII)
_DASH_RE = re.compile(r"(?:(?<=\s)|^)-+(?=\s|$)|-{2,}", re.ASCII)


def _expand_ranges(text: str) -> str:
    """Ranges and dashes: "1990-1995" -> "1990 to 1995", "5 - 3" -> minus, " - " -> a pause."""
    text = _RANGE_RE.sub(r"\g<low> to \g<high>", text)
    text = _SPACED_MINUS_RE.sub(" minus ", text)
    return _DASH_RE.sub(", ", text)


_CURRENCY_BEFORE_RE = re.compile(
    rf"{_SIGN}(?P<symbol>[$£€¥])\s?{_AMOUNT}"
    rf"(?:(?P<abbr>{_alternation(k for k in _SCALES if len(k) <= 2)})(?![\w])"
    rf"|\s?(?P<scale>thousand|million|billion|trillion)\b)?",
    re.ASCII,
)
_CURRENCY_AFTER_RE = re.compile(rf"{_SIGN}{_AMOUNT}\s?(?P<symbol>[€¢])", re.ASCII)


def _say_currency(match: re.Match[str]) -> str:
    currency = _CURRENCIES[match["symbol"]]
    sign = "minus " if match["sign"] else ""
    int_part, frac = match["int"], match["frac"]
    groups = match.groupdict()
    scale = groups.get("scale") or _SCALES.get(groups.get("abbr") or "")
    if scale:
        return _spaced(match, f"{sign}{_amount(int_part, frac)} {scale} {currency.plural}")
    if frac and len(frac) == 3 and currency.minor_plural:
        # Two decimals are a major and a minor unit: "$3.50" -> three dollars and fifty cents.
        major = int(int_part.replace(",", ""))
        minor = int(frac[1:])
        parts = []
        if major or not minor:
            unit = currency.singular if major == 1 else currency.plural
            parts.append(f"{_amount(int_part, None)} {unit}")
        if minor:
            unit = currency.minor_singular if minor == 1 else currency.minor_plural
            parts.append(f"{_cardinal(str(minor))} {unit}")
        return _spaced(match, sign + " and ".join(parts))
    unit = currency.singular if _is_one(int_part, frac) else currency.plural
    return _spaced(match, f"{sign}{_amount(int_part, frac)} {unit}")


def _expand_currency(text: str) -> str:
    """Money: "$3.50" -> "three dollars and fifty cents", "$3 million", "£5", "20 €", "50¢"."""
    text = _CURRENCY_BEFORE_RE.sub(_say_currency, text)
    return _CURRENCY_AFTER_RE.sub(_say_currency, text)


_PERCENT_RE = re.compile(rf"{_SIGN}{_AMOUNT}\s?%", re.ASCII)


def _say_percent(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    return _spaced(match, f"{sign}{_amount(match['int'], match['frac'])} percent")


def _expand_percentages(text: str) -> str:
    """Percentages: "50%" -> "fifty percent", "3.5 %" -> "three point five percent"."""
    return _PERCENT_RE.sub(_say_percent, text)


_UNIT_RE = re.compile(
    rf"{_SIGN}{_AMOUNT}(?P<space>\s?)(?P<unit>{_alternation(_UNITS)})(?![A-Za-z0-9])", re.ASCII
)


def _say_unit(match: re.Match[str]) -> str:
    unit = match["unit"]
    if unit in _UNITS_NEEDING_SPACE and not match["space"]:
        return match.group(0)
    singular, plural = _UNITS[unit]
    sign = "minus " if match["sign"] else ""
    name = singular if _is_one(match["int"], match["frac"]) else plural
    return _spaced(match, f"{sign}{_amount(match['int'], match['frac'])} {name}")


def _expand_units(text: str) -> str:
    """Units after numbers: "5 km" -> "five kilometers", "1 km" singular, "20°C", "10kg"."""
    return _UNIT_RE.sub(_say_unit, text)


_SYMBOL_RE = re.compile(
    rf"(?P<number>#\s?(?=\d))|(?P<symbol>{_alternation([*_SPOKEN_SYMBOLS, *_SILENT_SYMBOLS])})"
)


def _say_symbol(match: re.Match[str]) -> str:
    if match["number"]:
        return "number "
    symbol = match["symbol"]
    if symbol in _SILENT_SYMBOLS:
        return _SILENT_SYMBOLS[symbol]
    return f" {_SPOKEN_SYMBOLS[symbol]} "


def _expand_symbols(text: str) -> str:
    """Symbols: "&" -> "and", "@" -> "at", "+", "=", "%", "#5" -> "number 5"; markup dropped."""
    return _SYMBOL_RE.sub(_say_symbol, text)


_NUMBER_ABBREVIATION_RE = re.compile(r"(?<![\w.])[Nn]o\.\s?(?=\d)", re.ASCII)
_INITIALISM_RE = re.compile(
    r"(?<![A-Za-z.])(?P<letters>[A-Z](?:\.[A-Z])+)(?P<dot>\.)?(?!\w)", re.ASCII
)
_INLINE_ABBREVIATION_RE = re.compile(
    rf"(?<![\w.])(?P<abbr>{_alternation(_INLINE_ABBREVIATIONS)})(?P<dot>\.)?(?![\w])",
    re.ASCII | re.IGNORECASE,
)
_WORD_ABBREVIATION_RE = re.compile(
    r"(?<![\w.'])(?P<abbr>"
    + _alternation([*_TITLES, *_TRAILING_ABBREVIATIONS, *_AMBIGUOUS_ABBREVIATIONS])
    + r")(?P<dot>\.)?(?![\w'])",
    re.ASCII,
)


def _previous_word(text: str, start: int) -> tuple[bool, bool]:
    """Whether a capitalised word directly precedes ``start``, and whether it begins a sentence.

    Only a short window is inspected, so each call costs O(1) and the step stays linear.
    """
    window_start = max(0, start - 60)
    window = text[window_start:start]
    if not window[-1:].isspace():
        return False, False
    words = window.split()
    if not words or not (words[-1][0].isupper() and words[-1][-1].isalnum()):
        return False, False
    if len(words) == 1:
        initial = window_start == 0 and not window[: window.index(words[0])].strip()
    else:
        initial = words[-2][-1] in ".!?"
    return True, initial


def _say_word_abbreviation(match: re.Match[str]) -> str:
    text, abbr, dot = match.string, match["abbr"], match["dot"]
    name_follows = _NAME_FOLLOWS_RE.match(text, match.end()) is not None
    if abbr in _AMBIGUOUS_ABBREVIATIONS:
        readings = _AMBIGUOUS_ABBREVIATIONS[abbr]
        capitalised_before, initial = _previous_word(text, match.start())
        if capitalised_before and not initial:
            word, is_title = readings.after_name, False
        elif name_follows:
            word, is_title = readings.before_name, True
        elif capitalised_before:
            word, is_title = readings.after_name, False
        else:
            word, is_title = readings.otherwise, readings.otherwise == readings.before_name
    elif abbr in _TITLES:
        word, is_title = _TITLES[abbr], True
    else:
        word, is_title = _TRAILING_ABBREVIATIONS[abbr], False

    if not dot:
        if is_title and not (name_follows and abbr in _DOTLESS_TITLES):
            return match.group(0)
        return word
    if is_title:
        keep_period = not name_follows and _ends_text(text, match.end())
    else:
        keep_period = _ends_sentence(text, match.end())
    return word + "." if keep_period else word


def _say_inline_abbreviation(match: re.Match[str]) -> str:
    word = _INLINE_ABBREVIATIONS[match["abbr"].lower()]
    if match["dot"] and _ends_text(match.string, match.end()):
        word += "."
    return word


def _say_initialism(match: re.Match[str]) -> str:
    letters = match["letters"].replace(".", " ")
    if match["dot"] and _ends_text(match.string, match.end()):
        letters += "."
    return letters


def _expand_abbreviations(text: str) -> str:
    """Abbreviations: "Dr. Smith" -> "Doctor Smith", "St. John" / "Baker St.", "e.g.", "No. 5"."""
    text = _NUMBER_ABBREVIATION_RE.sub("number ", text)
    text = _INLINE_ABBREVIATION_RE.sub(_say_inline_abbreviation, text)
    text = _WORD_ABBREVIATION_RE.sub(_say_word_abbreviation, text)
    return _INITIALISM_RE.sub(_say_initialism, text)


_NUMBER_RE = re.compile(
    # An elided century ("'90s") loses its apostrophe so it is not read as a quote.
    r"(?:(?<![\w'])'(?=\d0'?s(?![A-Za-z])))?"
    rf"{_SIGN}(?:"
    r"(?P<int>(?<![\d,])\d{1,3}(?:,\d{3})+(?!\d)|(?<!\d)\d+)(?P<frac>(?:\.\d+)+)?"
    r"|(?<![\w.])\.(?P<lone>\d+)"
    r")(?:(?P<ordinal>st|nd|rd|th)(?![A-Za-z])|(?P<plural>'?s)(?![A-Za-z]))?",
    re.ASCII,
)


def _say_number(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    if match["lone"] is not None:
        return _spaced(match, f"{sign}point {_digits(match['lone'])}")
    raw, frac = match["int"], match["frac"]
    digits = raw.replace(",", "")
    if frac:
        parts = frac[1:].split(".")
        if len(parts) == 1:
            words = f"{_cardinal(digits)} point {_digits(parts[0])}"
        else:  # a version or an address: 1.2.10 -> one point two point ten
            words = " point ".join(_cardinal(p) for p in (digits, *parts))
        suffix = match["ordinal"] or match["plural"] or ""
        return _spaced(match, sign + words + (f" {suffix}" if suffix else ""))
    if match["ordinal"]:
        return _spaced(match, sign + _ordinal(digits))
    year_like = not sign and raw == digits and _looks_like_year(digits)
    words = _year(digits) if year_like else _cardinal(digits)
    if match["plural"]:
        words = _pluralize(words)
    return _spaced(match, sign + words)


def _expand_numbers(text: str) -> str:
    """Remaining numbers: cardinals, ordinals, decimals, years, decades, negatives."""
    return _NUMBER_RE.sub(_say_number, text)


#: The English steps, in the order they run. Each takes and returns the whole text.
_ENGLISH_STEPS: tuple[Callable[[str], str], ...] = (
    _expand_times,
    _expand_dates,
    _expand_phone_numbers,
    _expand_fractions,
    _expand_ranges,
    _expand_currency,
    _expand_percentages,
    _expand_units,
    _expand_symbols,
    _expand_abbreviations,
    _expand_numbers,
)

# ------------------------------------------------------------------------------- final cleanup

_SPACE_BEFORE_PUNCTUATION_RE = re.compile(r"\s+(?=[.,!?;:)])")
_SPACE_AFTER_OPENING_RE = re.compile(r"(?<=\()\s+")
_REPEATED_COMMA_RE = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP_RE = re.compile(r",\s*(?=[.!?;:])")
_SPACE_AFTER_COMMA_RE = re.compile(r",(?=[A-Za-z])")
_LEADING_PAUSE_RE = re.compile(r"^[\s,;:]+")


def _final_cleanup(text: str) -> str:
    """Tidy what the steps left: one space between words, none before punctuation, no ", ,"."""
    text = _WHITESPACE_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCTUATION_RE.sub("", text)
    text = _SPACE_AFTER_OPENING_RE.sub("", text)
    text = _REPEATED_COMMA_RE.sub(",", text)
    text = _COMMA_BEFORE_STOP_RE.sub("", text)
    text = _SPACE_AFTER_COMMA_RE.sub(", ", text)
    text = _LEADING_PAUSE_RE.sub("", text)
    return text.strip()


# ------------------------------------------------------------------------------------- public


def normalize_text(text: str, language: str = "en-us") -> str:
    """Return speakable text: numbers, symbols, abbreviations expanded to words; unspeakables gone.

    For English (``language`` starting with "en") the full pipeline runs: times, dates, phone
    numbers, ranges, currency, percentages, units, symbols, abbreviations and numbers become words,
    diacritics are stripped and characters of other scripts dropped. For any other language only
    the language-independent cleanup runs (quotes and dashes to ASCII, NFKC, control, private-use,
    unassigned, surrogate and emoji code points dropped, whitespace collapsed), because English
    number words would be wrong there. Dropped characters are named in one warning per call.

    Sentence punctuation is kept, because it becomes pause tokens; the period of an expanded
    abbreviation is dropped unless it also ends the sentence.

    Args:
        text: any string, including one with lone surrogates or control characters.
        language: an espeak-style language code, e.g. "en-us", "en-gb", "de".

    Returns:
        The normalised text, stripped, with single spaces; "" when nothing speakable remains.

    Raises:
        TypeError: ``text`` or ``language`` is not a ``str``.

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
    english = language.strip().lower().startswith("en")
    text, removed = _clean_unicode(text, english)
    if removed:
        named = ", ".join(repr(c) for c in removed[:_MAX_REPORTED])
        more = len(removed) - _MAX_REPORTED
        logger.warning(
            "removed unspeakable characters: %s%s", named, f" and {more} more" if more > 0 else ""
        )
    if not english:
        return text
    for step in _ENGLISH_STEPS:
        text = step(text)
    return _final_cleanup(text)
