"""The English steps: written forms (numbers, dates, money, units, addresses...) to words.

A fixed pipeline of small steps (:data:`STEPS`), each a function ``(text, options) -> text``
with its regexes compiled once here and its word lists in :mod:`.tables`. Earlier steps see
digits and letters that later steps would otherwise read out of context: an address before
anything reads its dots, a time before a decimal ("1.59 p.m."), a date before a fraction
("10/06/2005"), money and units before plain numbers.

Linear time: every regex that starts with a repeated class has a lookbehind that stops it from
starting again inside the run it just failed on, and no regex nests unbounded quantifiers over
overlapping classes, so a 100,000-character input of any shape takes milliseconds per step.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from flowaudio.text.normalize import tables as T
from flowaudio.text.normalize.words import (
    amount,
    cardinal,
    digits,
    fraction,
    is_one,
    looks_like_year,
    mixed_number,
    ordinal,
    pluralize,
    roman_value,
    spell,
    year,
)


class DateOrder(str, Enum):
    """How an all-numeric date such as "10/06/2005" is read.

    ``auto`` takes month first for American English written with "/" or "-" and day first
    otherwise (and swaps when only the other order is a valid date).
    """

    AUTO = "auto"
    MDY = "mdy"
    DMY = "dmy"


@dataclass(frozen=True)
class Options:
    """Choices the written text leaves open.

    Attributes:
        date_order: how numeric dates are read.
        american: American conventions for ``DateOrder.AUTO`` (the language is ``en-us``).
    """

    date_order: DateOrder = DateOrder.AUTO
    american: bool = True


# ------------------------------------------------------------------------------ shared pieces


def _alternation(words: Iterable[str]) -> str:
    """Regex alternation of literal ``words``, longest first so "Sept" wins over "Sep"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


#: An unsigned amount: thousands groups ("1,234,567") or a plain digit run, then an optional
#: decimal part. The lookbehinds stop a match from starting inside another number, which also keeps
#: long comma chains linear (the grouped branch is tried once per number, not once per comma).
_AMOUNT = r"(?P<int>(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d)|(?<![\d.])\d+)(?P<frac>\.\d+)?"

#: A leading minus sign, only where it cannot be a hyphen or a range dash.
_SIGN = r"(?P<sign>(?<![\w.,-])-)?"

_SENTENCE_END_RE = re.compile(r"[\"')\]]*(?:\s*\Z|\s+[\"'(\[]*[A-Z])", re.ASCII)
_TEXT_END_RE = re.compile(r"[\"')\]]*\s*\Z", re.ASCII)
_NAME_FOLLOWS_RE = re.compile(r"\s+[A-Z]", re.ASCII)


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


def _period_back(match: re.Match[str], group: str = "dot") -> str:
    """ "." when the abbreviation period in ``group`` also ends the sentence, else ""."""
    if match[group] and _ends_sentence(match.string, match.end()):
        return "."
    return ""


# --------------------------------------------------------------------- addresses and e-mail

_URL_TAIL = r"[^\s<>\"'()\[\]{}]*[^\s<>\"'()\[\]{}.,;:!?]"
_URL_RE = re.compile(
    rf"(?<![\w@/.:-])(?P<scheme>(?i:https?|ftp)://)(?P<rest>{_URL_TAIL})"
    rf"|(?<![\w@/.:-])(?P<www>(?i:www)\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?:/{_URL_TAIL}|/)?)"
    rf"|(?<![\w@/.:-])(?P<bare>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?i:{_alternation(T.TLDS)})"
    rf"(?![\w-])(?:/{_URL_TAIL}|/)?)",
    re.ASCII,
)
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])(?P<user>[A-Za-z0-9][\w.+-]*)@(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.ASCII,
)
_ADDRESS_TOKEN_RE = re.compile(r"[A-Za-z]+|\d+|.", re.ASCII | re.DOTALL)
_VOWELS = frozenset("aeiouy")


def say_address(address: str) -> str:
    """An address or e-mail read aloud ("docs.python.org/3" -> "docs dot python dot org slash
    three"): punctuation by name, digits one by one, unpronounceable parts spelled."""
    tokens = _ADDRESS_TOKEN_RE.findall(address)
    last_word = max((i for i, t in enumerate(tokens) if t.isalpha()), default=-1)
    out = []
    for i, token in enumerate(tokens):
        if token.isdigit():
            out.append(digits(token))
        elif token.isalpha():
            word = token.lower()
            is_tld = i == last_word and i > 0 and tokens[i - 1] == "." and word in T.TLDS
            if is_tld and word in T.TLD_WORDS:
                out.append(T.TLD_WORDS[word])
            elif is_tld or word in T.URL_SPELLED_PARTS or len(word) == 1 or not _VOWELS & set(word):
                out.append(spell(word))
            else:
                out.append(word)
        elif token in T.URL_PUNCTUATION:
            out.append(T.URL_PUNCTUATION[token])
    return " ".join(out)


def _say_url(match: re.Match[str]) -> str:
    # The scheme is left out, as people do when they read an address aloud.
    address = match["rest"] or match["www"] or match["bare"]
    return _spaced(match, say_address(address.rstrip("/")))


def _say_email(match: re.Match[str]) -> str:
    return _spaced(match, f"{say_address(match['user'])} at {say_address(match['host'])}")


def _expand_addresses(text: str, options: Options) -> str:
    """Web addresses and e-mail: "john.doe@example.com" -> "john dot doe at example dot com"."""
    if "@" in text:
        text = _EMAIL_RE.sub(_say_email, text)
    if "." in text or "/" in text:
        text = _URL_RE.sub(_say_url, text)
    return text


# ------------------------------------------------------------------------------------ times


def _clock(n: str) -> str:
    """A clock time pattern whose groups end in ``n`` (two of them make a range)."""
    return (
        rf"(?P<h{n}>[01]?\d|2[0-4])(?:(?P<sep{n}>[:.])(?P<m{n}>[0-5]\d)"
        rf"(?::(?P<s{n}>[0-5]\d))?)?(?![\d:])"
        rf"(?:\s?(?P<ampm{n}>(?P<ap{n}>[AaPp])(?:\.[Mm]\.?|[Mm])(?![A-Za-z])))?"
    )


_TIME_RE = re.compile(
    rf"(?<![\w:.,/-]){_clock('1')}(?:\s?(?:-|to|until|till)\s?{_clock('2')})?"
    rf"(?:\s(?P<zone>{_alternation(T.TIME_ZONES)})(?![A-Za-z])"
    r"(?P<offset>[+-](?:1[0-4]|0?\d)(?::?[0-5]\d)?(?!\d))?)?",
    re.ASCII,
)


def _clock_parts(match: re.Match[str], n: str) -> tuple[int, int | None, int | None, str]:
    minute, second = match[f"m{n}"], match[f"s{n}"]
    return (
        int(match[f"h{n}"]),
        None if minute is None else int(minute),
        None if second is None else int(second),
        match[f"ampm{n}"] or "",
    )


def _is_clock(match: re.Match[str], n: str, ampm_follows: bool) -> bool:
    """Whether the ``n``th clock really is a time: "3:45", "1.59 pm", "5pm" (or "2" in "2-5pm")."""
    hour, minute, _, ampm = _clock_parts(match, n)
    has_ampm = bool(ampm) or ampm_follows
    if has_ampm and not 1 <= hour <= 12:
        return False
    if minute is None:
        return has_ampm
    return match[f"sep{n}"] == ":" or has_ampm


def clock_words(hour: int, minute: int | None, second: int | None, ampm: str = "") -> str:
    """ "3", "45", None, "pm" -> "three forty-five p m"; "17", "00" -> "seventeen hundred"."""
    words = cardinal(str(hour))
    if second == 0:  # "8:45:00" is a clock time, said without its seconds
        second = None
    if second is not None and not ampm:
        parts = [f"{words} hour{'' if hour == 1 else 's'}"] if hour else []
        if minute:
            parts.append(f"{cardinal(str(minute))} minute{'' if minute == 1 else 's'}")
        parts.append(f"{cardinal(str(second))} second{'' if second == 1 else 's'}")
        return " and ".join([" ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]
    if minute:
        words += (" oh " if minute < 10 else " ") + cardinal(str(minute))
    elif minute == 0 and not ampm:
        words += " o'clock" if 1 <= hour <= 12 else " hundred"
    if second is not None:
        words += f" and {cardinal(str(second))} second{'' if second == 1 else 's'}"
    if ampm:
        words += f" {ampm[0].lower()} m"
    return words


def _say_time(match: re.Match[str]) -> str:
    ranged = match["h2"] is not None
    ampm2 = bool(match["ampm2"])
    if ranged and not _is_clock(match, "2", False):
        return match.group(0)
    if not _is_clock(match, "1", ampm2):
        return match.group(0)
    words = clock_words(*_clock_parts(match, "1"))
    last = "1"
    if ranged:
        words += " to " + clock_words(*_clock_parts(match, "2"))
        last = "2"
    if match["zone"]:
        words += " " + spell(match["zone"])
        if match["offset"]:
            sign = "plus" if match["offset"][0] == "+" else "minus"
            hours, _, minutes = match["offset"][1:].partition(":")
            if not minutes and len(hours) > 2:
                hours, minutes = hours[:-2], hours[-2:]
            words += f" {sign} {cardinal(str(int(hours)))}"
            if minutes and int(minutes):
                words += f" {cardinal(str(int(minutes)))}"
    ampm = match[f"ampm{last}"] or ""
    abbreviated = ampm.endswith(".") and "." in ampm[:-1]
    if not match["zone"] and abbreviated and _ends_sentence(match.string, match.end()):
        words += "."  # "a.m." ending the sentence gives its period back as the full stop
    return _spaced(match, words)


def _expand_times(text: str, options: Options) -> str:
    """Clock times: "3:45 pm" -> "three forty-five p m", "2pm-5pm", "14:10:30", "9 a.m. EST"."""
    return _TIME_RE.sub(_say_time, text)


# ------------------------------------------------------------------------------------ dates

_MONTH = rf"(?P<month>(?i:{_alternation(T.MONTH_SPELLINGS)}))(?![A-Za-z])(?P<dot>\.)?"
_DAY = r"(?P<day>[12]\d|3[01]|0?[1-9])(?P<suffix>(?i:st|nd|rd|th))?"
_YEAR = r"(?P<year>\d{4})(?![\w:]|[.,]\d)"
_MONTH_DAY_RE = re.compile(
    rf"(?<![A-Za-z]){_MONTH}\s*{_DAY}(?:(?P<comma>,)?\s+{_YEAR})?(?![\w:]|[.,]\d)", re.ASCII
)
_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,-]){_DAY}\s+(?P<of>(?i:of)\s+)?{_MONTH}(?:(?P<comma>,)?\s+{_YEAR})?", re.ASCII
)
_MONTH_ALONE_RE = re.compile(
    rf"(?<![A-Za-z])(?P<month>(?i:{_alternation(k for k in T.MONTH_SPELLINGS if len(k) <= 4)}))"
    r"(?:(?P<dot>\.)|(?=,?\s+\d{4}(?!\d)))",
    re.ASCII,
)
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\w./:,-])(?:(?P<y1>\d{4})(?P<sep1>[-/.])(?P<m1>\d{1,2})(?P=sep1)(?P<d1>\d{1,2})"
    r"|(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2}))"
    r"(?![\w/:]|[-.,]\d)",
    re.ASCII,
)
_YEAR_FOLLOWS_RE = re.compile(r",?\s+\d{4}(?!\d)", re.ASCII)
_WEEKDAY_RE = re.compile(
    rf"(?<![A-Za-z])(?P<day>(?i:{_alternation(T.WEEKDAYS)}))(?:\.(?P<comma1>,)?|(?P<comma2>,))"
    rf"(?=\s+(?:\d|(?i:{_alternation(T.MONTH_SPELLINGS)})(?![A-Za-z])))",
    re.ASCII,
)


def _is_date_month(match: re.Match[str], confirmed: bool) -> bool:
    """Lower-case "may", "march", "dec" are words unless a suffix, year or period confirms."""
    written = match["month"]
    if written.lower() not in T.MONTH_WORDS or not written.islower():
        return True
    return confirmed


def _valid_date(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(2024, month)[1]


def date_words(month: int, day: int, year_digits: str | None, day_first: bool) -> str:
    """ "7", "25", "2012" -> "July twenty-fifth, twenty twelve" (or "the twenty-fifth of July,
    twenty twelve" when ``day_first``)."""
    name = T.MONTHS[month - 1]
    words = f"the {ordinal(str(day))} of {name}" if day_first else f"{name} {ordinal(str(day))}"
    return f"{words}, {year(year_digits)}" if year_digits else words


def _say_month_day(match: re.Match[str]) -> str:
    if not _is_date_month(match, bool(match["suffix"] or match["year"] or match["dot"])):
        return match.group(0)
    words = f"{T.MONTH_SPELLINGS[match['month'].lower()]} {ordinal(match['day'])}"
    if match["year"]:
        words += f", {year(match['year'])}"
    return _spaced(match, words)


def _say_day_month(match: re.Match[str]) -> str:
    if not _is_date_month(match, bool(match["suffix"] or match["year"] or match["of"])):
        return match.group(0)
    text = match.string
    words = f"{ordinal(match['day'])} of {T.MONTH_SPELLINGS[match['month'].lower()]}"
    if text[max(0, match.start() - 4) : match.start()].lower() != "the ":
        words = "the " + words
    if match["year"]:
        words += f", {year(match['year'])}"
    else:
        words += _period_back(match)
    return _spaced(match, words)


def _say_month_alone(match: re.Match[str]) -> str:
    written = match["month"]
    word_like = written.islower() and written in T.MONTH_WORDS and match["dot"]
    if word_like and not _YEAR_FOLLOWS_RE.match(match.string, match.end()):
        return match.group(0)  # "to mar." is a verb
    return T.MONTH_SPELLINGS[written.lower()] + _period_back(match)


def _day_first(separator: str, options: Options) -> bool:
    if options.date_order is DateOrder.AUTO:
        return not (options.american and separator in "/-")
    return options.date_order is DateOrder.DMY


def resolve_numeric_date(
    first: int, second: int, separator: str, options: Options
) -> tuple[int, int, bool] | None:
    """(month, day, day_first) of a numeric date written "first/second", or None."""
    day_first = _day_first(separator, options)
    month, day = (second, first) if day_first else (first, second)
    if _valid_date(month, day):
        return month, day, day_first
    if options.date_order is DateOrder.AUTO and _valid_date(day, month):
        return day, month, not day_first
    return None


def _say_numeric_date(match: re.Match[str], options: Options) -> str:
    if match["y1"]:
        month, day = int(match["m1"]), int(match["d1"])
        if not _valid_date(month, day):
            return match.group(0)
        return date_words(month, day, match["y1"], day_first=False)
    if match["sep"] == "." and len(match["y"]) == 2:
        return match.group(0)  # "1.2.10" is a version, not a date
    resolved = resolve_numeric_date(int(match["a"]), int(match["b"]), match["sep"], options)
    if resolved is None:
        return match.group(0)
    return date_words(resolved[0], resolved[1], match["y"], day_first=resolved[2])


def _say_weekday(match: re.Match[str]) -> str:
    comma = "," if match["comma1"] or match["comma2"] else ""
    return T.WEEKDAYS[match["day"].lower()] + comma


def _expand_dates(text: str, options: Options) -> str:
    """Dates in every common written form: "July 25, 2012", "25 July 2012", "the 25th of July",
    "10/06/2005" (see :class:`DateOrder`), "2024-12-05", "jan. 15", "SEPT. 15".

    Years alone are left as digits for the number step, which reads 4-digit years as years.
    """
    text = _NUMERIC_DATE_RE.sub(lambda m: _say_numeric_date(m, options), text)
    text = _WEEKDAY_RE.sub(_say_weekday, text)
    text = _MONTH_DAY_RE.sub(_say_month_day, text)
    text = _DAY_MONTH_RE.sub(_say_day_month, text)
    return _MONTH_ALONE_RE.sub(_say_month_alone, text)


# ---------------------------------------------------------------------------- phone numbers

_INTERNATIONAL_PHONE_RE = re.compile(
    r"(?<![\w+])\+(?P<cc>\d{1,3})(?P<rest>(?:[\s.-]?\(?\d{1,5}\)?){2,6})(?![\w-]|\.\d)", re.ASCII
)
_PHONE_RE = re.compile(
    r"(?<![\w+(.-])(?:(?P<one>1)[-.\s])?"
    r"(?:\((?P<area>\d{3})\)\s?|(?P<area2>\d{3})\s|(?P<area3>\d{3})(?P<sep>[-.]))?"
    r"(?P<exchange>\d{3})(?(sep)(?P=sep)|-)(?P<line>\d{4})(?![\w-]|\.\d)"
    r"(?:,?\s?(?i:ext\.?|extension|x)\s?(?P<ext>\d{1,5})(?!\d))?",
    re.ASCII,
)
_DIGIT_GROUPS_RE = re.compile(r"\d+", re.ASCII)


def telephone_words(number: str) -> str:
    """Digit groups of a phone number, one digit at a time, a pause between groups."""
    prefix = "plus " if number.lstrip().startswith("+") else ""
    return prefix + ", ".join(digits(g) for g in _DIGIT_GROUPS_RE.findall(number))


def _say_phone(match: re.Match[str]) -> str:
    area = match["area"] or match["area2"] or match["area3"]
    groups = [match["one"], area, match["exchange"], match["line"]]
    words = ", ".join(digits(g) for g in groups if g)
    if match["ext"]:
        words += f", extension {digits(match['ext'])}"
    return _spaced(match, words)


def _say_international_phone(match: re.Match[str]) -> str:
    return _spaced(match, telephone_words(match.group(0)))


def _expand_phone_numbers(text: str, options: Options) -> str:
    """Phone numbers ("555-1234", "(555) 123-4567", "+44 20 7946 0958") digit by digit."""
    text = _INTERNATIONAL_PHONE_RE.sub(_say_international_phone, text)
    return _PHONE_RE.sub(_say_phone, text)


# ------------------------------------------------------------------- codes, decades, fractions

_SECTION_CODE_RE = re.compile(
    r"(?<![\w(])(?P<num>\d{3})\((?P<letter>[A-Za-z])\)(?:\((?P<sub>\d{1,2})\))?(?![\w(])",
    re.ASCII,
)
_SPACED_DECADE_RE = re.compile(r"(?<![\d,.])(?P<year>1\d\d0|20\d0) '?s(?![\w'])", re.ASCII)


def _say_section_code(match: re.Match[str]) -> str:
    words = f"{digits(match['num'], zero=T.SECTION_CODE_ZERO)} {match['letter'].upper()}"
    if match["sub"]:
        words += f" {cardinal(match['sub'])}"
    return _spaced(match, words)


def _expand_codes_and_decades(text: str, options: Options) -> str:
    """ "401(k)" -> "four oh one K", "501(c)(3)"; "1980 s" -> "nineteen eighties"."""
    text = _SECTION_CODE_RE.sub(_say_section_code, text)
    return _SPACED_DECADE_RE.sub(lambda m: pluralize(year(m["year"])), text)


_FRACTION_RE = re.compile(
    r"(?<![\w./,\u2044-])(?:(?P<whole>\d{1,6})(?: |-(?=\d{1,4}[/\u2044])))?"
    r"(?P<num>\d{1,4})(?P<slash>[/\u2044])(?P<den>\d{1,4})(?![\w/\u2044]|[.,]\d)"
    r"(?:/(?P<den2>\d{1,2})(?![\w/]|[.,]\d))?"
    r"(?:(?P<uspace>\s?)(?P<unit>[A-Za-z][A-Za-z]{0,5})(?![A-Za-z0-9]))?",
    re.ASCII,
)


def _say_fraction(match: re.Match[str], options: Options) -> str:
    num, den, whole = match["num"], match["den"], match["whole"]
    if match["den2"]:  # "365/24/7"
        raw = f"{num}/{den}/{match['den2']}"
        words = T.SLASH_IDIOMS.get(raw) or " slash ".join(cardinal(p) for p in raw.split("/"))
    elif match["slash"] == "/" and not whole and f"{num}/{den}" in T.SLASH_IDIOMS:
        words = T.SLASH_IDIOMS[f"{num}/{den}"]
    elif match["slash"] == "/" and not whole and "0" in (num[0], den[0]) and len(num + den) <= 4:
        # "10/06" is a date: nobody writes a fraction with a leading zero.
        resolved = resolve_numeric_date(int(num), int(den), "/", options)
        if resolved is None:
            words = f"{cardinal(num)} slash {cardinal(den)}"
        else:
            words = date_words(resolved[0], resolved[1], None, day_first=resolved[2])
    elif int(den) == 0:
        words = f"{cardinal(num)} slash {cardinal(den)}"
    elif whole:
        words = mixed_number(whole, num, den)
        whole = None
    else:
        words = fraction(num, den)
    if whole:
        words = f"{amount(whole, None)} {words}"
    unit = match["unit"]
    if unit:
        names = _unit_names(unit, glued=not match["uspace"])
        if names is None or unit in T.UNITS_NEEDING_SPACE:
            words += f"{match['uspace']}{unit}"
        elif match["whole"] or int(num) >= int(den or 1):
            words += f" {names[1]}"
        else:  # "3/4 mi" -> "three quarters of a mile"
            words += f" of {_indefinite(names[0])}"
    return _spaced(match, words)


def _indefinite(noun: str) -> str:
    """ "a mile", "an ounce", "an hour"."""
    return f"an {noun}" if noun[0] in "aeio" or noun.startswith("hour") else f"a {noun}"


def _expand_fractions(text: str, options: Options) -> str:
    """Fractions: "1/2" -> "one half", "4 1/2" -> "four and a half", "1¾", "24/7"; "10/06" is
    a date when a leading zero says so."""
    return _FRACTION_RE.sub(lambda m: _say_fraction(m, options), text)


_RANGE_RE = re.compile(
    r"(?<![\w.,-])(?P<low>\d+(?:\.\d+)?)-(?P<high>\d+(?:\.\d+)?)(?![\d-]|[.,]\d)", re.ASCII
)
_SPACED_MINUS_RE = re.compile(r"(?<=\d) - (?=\d)", re.ASCII)
_DASH_RE = re.compile(r"(?:(?<=\s)|^)-+(?=\s|$)|-{2,}", re.ASCII)


def _expand_ranges(text: str, options: Options) -> str:
    """Ranges and dashes: "1990-1995" -> "1990 to 1995", "5 - 3" -> minus, " - " -> a pause."""
    text = _RANGE_RE.sub(r"\g<low> to \g<high>", text)
    text = _SPACED_MINUS_RE.sub(" minus ", text)
    return _DASH_RE.sub(", ", text)


# ------------------------------------------------------------------------------------ money

_MONEY_AMOUNT = (
    r"(?:(?P<int>(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d)|(?<![\d.])\d+)(?P<frac>\.\d+)?"
    r"|\.(?P<cents>\d{1,2})(?!\d))"
)
_MONEY_SCALE = (
    rf"(?:(?P<abbr>{_alternation(k for k in T.SCALES if len(k) <= 2)})(?![\w])"
    r"|\s?(?P<scale>thousand|million|billion|trillion)\b)?"
)
_PER = rf"(?:/(?P<per>{_alternation(T.PER_UNITS)})(?![A-Za-z]))?"
_CODES = _alternation(T.CURRENCY_CODES)
_MONEY_BEFORE_RE = re.compile(
    rf"{_SIGN}(?P<symbol>(?<![A-Za-z])(?:US|C|A)\$|[$£€¥₹₩₽]|(?<![A-Za-z])(?:{_CODES})(?= ?[\d.]))"
    rf"\s?{_MONEY_AMOUNT}{_MONEY_SCALE}{_PER}",
    re.ASCII,
)
_MONEY_AFTER_RE = re.compile(
    rf"{_SIGN}{_AMOUNT}\s?(?P<symbol>[{''.join(T.CURRENCY_SYMBOLS_AFTER)}]"
    rf"|(?:{_CODES})(?![A-Za-z])){_PER}",
    re.ASCII,
)


def money_words(
    currency: T.Currency, int_part: str, frac: str | None, scale: str | None = None
) -> str:
    """ "20", ".5" -> "twenty dollars and fifty cents"; "0", ".01" -> "one cent"."""
    if scale:
        return f"{amount(int_part, frac)} {scale} {currency.plural}"
    if frac and len(frac) in (2, 3) and currency.minor_plural:
        # One or two decimals are a major and a minor unit: "$3.5" -> three dollars fifty cents.
        major = int(int_part.replace(",", ""))
        minor = int(frac[1:].ljust(2, "0"))
        parts = []
        if major or not minor:
            unit = currency.singular if major == 1 else currency.plural
            parts.append(f"{amount(int_part, None)} {unit}")
        if minor:
            unit = currency.minor_singular if minor == 1 else currency.minor_plural
            parts.append(f"{cardinal(str(minor))} {unit}")
        return " and ".join(parts)
    unit = currency.singular if is_one(int_part, frac) else currency.plural
    return f"{amount(int_part, frac)} {unit}"


def _say_money(match: re.Match[str]) -> str:
    symbol = match["symbol"]
    currency = T.CURRENCY_SYMBOLS.get(symbol) or T.CURRENCY_CODES[symbol]
    groups = match.groupdict()
    if groups.get("cents") is not None:
        int_part, frac = "0", "." + groups["cents"]
    else:
        int_part, frac = match["int"], match["frac"]
    scale = groups.get("scale") or T.SCALES.get(groups.get("abbr") or "")
    words = money_words(currency, int_part, frac, scale)
    if match["sign"]:
        words = "minus " + words
    if match["per"]:
        words += f" per {T.PER_UNITS[match['per']]}"
    return _spaced(match, words)


def _expand_money(text: str, options: Options) -> str:
    """Money: "$3.50", "$.01", "$20.5", "$3 million", "£5", "20 €", "50¢", "USD 5", "$15/hr"."""
    text = _MONEY_BEFORE_RE.sub(_say_money, text)
    return _MONEY_AFTER_RE.sub(_say_money, text)


_PERCENT_RE = re.compile(rf"{_SIGN}{_AMOUNT}\s?%", re.ASCII)


def _say_percent(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    return _spaced(match, f"{sign}{amount(match['int'], match['frac'])} percent")


def _expand_percentages(text: str, options: Options) -> str:
    """Percentages: "50%" -> "fifty percent", "3.5 %" -> "three point five percent"."""
    return _PERCENT_RE.sub(_say_percent, text)


# ------------------------------------------------------------------------------------ units

_UNIT_WORD = r"[A-Za-z°µ][A-Za-z°µ]{0,5}"
_UNIT_RE = re.compile(
    rf"{_SIGN}{_AMOUNT}(?P<space>\s?)(?:(?P<area>(?i:sq|cu))\.?\s?(?=[A-Za-z]))?"
    rf"(?P<unit>{_UNIT_WORD}(?:/{_UNIT_WORD})?)"
    r"(?P<power>[23](?!\d)|\s(?:squared|cubed)(?![A-Za-z]))?(?![A-Za-z0-9°µ])",
)


def _unit_names(symbol: str, glued: bool) -> tuple[str, str] | None:
    """(singular, plural) of a unit symbol, exact case first, then any case."""
    found = T.UNITS.get(symbol)
    if found is None and glued:
        found = T.GLUED_ONLY_UNITS.get(symbol)
    if found is None and symbol.lower() != "st":
        found = T.UNITS_ANY_CASE.get(symbol.lower())
    return found


def _powered(names: tuple[str, str], symbol: str, power: str | None) -> tuple[str, str]:
    if not power:
        return names
    square = power.strip() in ("2", "squared")
    if symbol in T.LENGTH_UNITS or symbol.lower() in T.LENGTH_UNITS:
        word = "square" if square else "cubic"
        return f"{word} {names[0]}", f"{word} {names[1]}"
    word = "squared" if square else "cubed"
    return f"{names[0]} {word}", f"{names[1]} {word}"


def _say_unit(match: re.Match[str]) -> str:
    unit, glued = match["unit"], not match["space"]
    if match["area"]:
        names = T.AREA_UNITS.get(unit.lower())
        if names is None:
            return match.group(0)
        word = "square" if match["area"].lower() == "sq" else "cubic"
        names = (f"{word} {names[0]}", f"{word} {names[1]}")
    elif "/" in unit:
        top, bottom = unit.split("/")
        top_names = _unit_names(top, glued)
        bottom_names = _unit_names(bottom, False) or T.UNITS.get(bottom.lower())
        if top_names is None or bottom_names is None:
            return match.group(0)
        per = _powered(bottom_names, bottom, match["power"])[0]
        names = (f"{top_names[0]} per {per}", f"{top_names[1]} per {per}")
    else:
        if unit in T.UNITS_NEEDING_SPACE and glued:
            return match.group(0)
        found = _unit_names(unit, glued)
        if found is None:
            return match.group(0)
        names = _powered(found, unit, match["power"])
    sign = "minus " if match["sign"] else ""
    name = names[0] if is_one(match["int"], match["frac"]) else names[1]
    return _spaced(match, f"{sign}{amount(match['int'], match['frac'])} {name}")


def _expand_units(text: str, options: Options) -> str:
    """Units after numbers, in any case, singular or plural: "5 km", "12KG", "3 kgs", "60 km/h",
    "9.8 m/s2", "5 m²" -> "five square meters", "1,200 sq ft", "20°C"."""
    return _UNIT_RE.sub(_say_unit, text)


# --------------------------------------------------------------------------- roman numerals

_ROMAN_RE = re.compile(
    r"(?<![\w'])(?P<prev>[A-Za-z]+)(?P<sep>\.?\s+)(?P<num>[IVXLCDM]+|[ivxlcdm]+)"
    r"(?P<poss>'s)?(?![\w'])",
    re.ASCII,
)
_PREVIOUS_WORD_RE = re.compile(r"([A-Za-z]+)\s+\Z", re.ASCII)


def _say_roman(match: re.Match[str]) -> str:
    prev, numeral, poss = match["prev"], match["num"], match["poss"] or ""
    value = roman_value(numeral)
    if value is None:
        return match.group(0)
    if prev.lower() in T.ROMAN_CARDINAL_CONTEXT:
        name = "Volume" if prev.lower() == "vol" else prev
        return f"{name} {cardinal(str(value))}{poss}"
    if not numeral.isupper() or not (prev[0].isupper() and prev[1:].islower()):
        return match.group(0)
    before = _PREVIOUS_WORD_RE.search(match.string[max(0, match.start() - 40) : match.start()])
    titled = before is not None and before.group(1) in T.REGNAL_TITLES
    if prev in T.REGNAL_NAMES or titled:
        if numeral == "I" and not titled and not _ends_sentence(match.string, match.end()):
            return match.group(0)  # "Elizabeth I was ..." may be a pronoun
        return f"{prev} the {ordinal(str(value))}{poss}"
    if len(numeral) >= 2 and set(numeral) <= set("IVX"):
        return f"{prev} {cardinal(str(value))}{poss}"
    return match.group(0)


def _expand_roman_numerals(text: str, options: Options) -> str:
    """Roman numerals where the context makes them numbers: "Henry VIII" -> "Henry the eighth",
    "World War II" -> "World War two", "Chapter IV" -> "Chapter four"; "I" stays a pronoun."""
    return _ROMAN_RE.sub(_say_roman, text)


# ---------------------------------------------------------------------------------- symbols

_SLASH_RE = re.compile(r"(?<=\d)/(?=\d)|(?<![\w/])(?i:w/o|w/)(?=\s)|/", re.ASCII)
_BY_RE = re.compile(r"(?<=\d)(?<!\b0) ?x ?(?=\d)", re.ASCII)
_SYMBOL_RE = re.compile(
    rf"(?P<number>#\s?(?=\d))|(?P<symbol>{_alternation([*T.SPOKEN_SYMBOLS, *T.SILENT_SYMBOLS])})"
)


def _say_slash(match: re.Match[str]) -> str:
    slash = match.group(0).lower()
    if slash == "w/o":
        return "without"
    if slash == "w/":
        return "with"
    between_digits = match.start() > 0 and match.string[match.start() - 1].isdigit()
    return f" {T.SLASH_WORD} " if between_digits else " "


def _say_symbol(match: re.Match[str]) -> str:
    if match["number"]:
        return "number "
    symbol = match["symbol"]
    if symbol in T.SILENT_SYMBOLS:
        return T.SILENT_SYMBOLS[symbol]
    return f" {T.SPOKEN_SYMBOLS[symbol]} "


def _expand_symbols(text: str, options: Options) -> str:
    """Symbols: "&" -> "and", "@" -> "at", "+", "=", "%", "#5" -> "number 5"; markup dropped;
    "/" is "slash" between digits, "with"/"without" in "w/", "w/o", else a space; "5 x 3" is
    "five by three"."""
    text = _SLASH_RE.sub(_say_slash, text)
    text = _BY_RE.sub(" by ", text)
    return _SYMBOL_RE.sub(_say_symbol, text)


# ---------------------------------------------------------------------------- abbreviations

_NUMBER_ABBREVIATION_RE = re.compile(r"(?<![\w.])[Nn]o\.\s?(?=\d)", re.ASCII)
_INITIALISM_RE = re.compile(
    r"(?<![A-Za-z.])(?P<letters>[A-Z](?:\.[A-Z])+)(?P<dot>\.)?(?!\w)", re.ASCII
)
_INLINE_ABBREVIATION_RE = re.compile(
    rf"(?<![\w.])(?P<abbr>{_alternation(T.INLINE_ABBREVIATIONS)})(?P<dot>\.)?(?![\w])",
    re.ASCII | re.IGNORECASE,
)
_WORD_ABBREVIATION_RE = re.compile(
    r"(?<![\w.'])(?P<abbr>"
    + _alternation([*T.TITLES, *T.TRAILING_ABBREVIATIONS, *T.AMBIGUOUS_ABBREVIATIONS])
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
    if abbr in T.AMBIGUOUS_ABBREVIATIONS:
        readings = T.AMBIGUOUS_ABBREVIATIONS[abbr]
        capitalised_before, initial = _previous_word(text, match.start())
        if capitalised_before and not initial:
            word, is_title = readings.after_name, False
        elif name_follows:
            word, is_title = readings.before_name, True
        elif capitalised_before:
            word, is_title = readings.after_name, False
        else:
            word, is_title = readings.otherwise, readings.otherwise == readings.before_name
    elif abbr in T.TITLES:
        word, is_title = T.TITLES[abbr], True
    else:
        word, is_title = T.TRAILING_ABBREVIATIONS[abbr], False

    if not dot:
        if is_title and not (name_follows and abbr in T.DOTLESS_TITLES):
            return match.group(0)
        return word
    if is_title:
        keep_period = not name_follows and _ends_text(text, match.end())
    else:
        keep_period = _ends_sentence(text, match.end())
    return word + "." if keep_period else word


def _say_inline_abbreviation(match: re.Match[str]) -> str:
    word = T.INLINE_ABBREVIATIONS[match["abbr"].lower()]
    if match["dot"] and _ends_text(match.string, match.end()):
        word += "."
    return word


def _say_initialism(match: re.Match[str]) -> str:
    letters = match["letters"].replace(".", " ")
    if match["dot"] and _ends_text(match.string, match.end()):
        letters += "."
    return letters


def _expand_abbreviations(text: str, options: Options) -> str:
    """Abbreviations: "Dr. Smith" -> "Doctor Smith", "St. John" / "Baker St.", "e.g.", "No. 5"."""
    text = _NUMBER_ABBREVIATION_RE.sub("number ", text)
    text = _INLINE_ABBREVIATION_RE.sub(_say_inline_abbreviation, text)
    text = _WORD_ABBREVIATION_RE.sub(_say_word_abbreviation, text)
    return _INITIALISM_RE.sub(_say_initialism, text)


# --------------------------------------------------------------------------------- acronyms

_CAPITALS_WORD_RE = re.compile(r"(?<![A-Za-z0-9'])(?P<word>[A-Za-z]{2,})(?![A-Za-z'])", re.ASCII)
_LETTERS_RE = re.compile(r"[A-Za-z]", re.ASCII)
_CAPITALS_RE = re.compile(r"[A-Z]", re.ASCII)


def _pronounceable(word: str) -> bool:
    """Whether an all-capitals word can be read as a word (vowels, English-like clusters)."""
    vowels = [c in "AEIOU" or (c == "Y" and i > 0) for i, c in enumerate(word)]
    if sum(vowels) < max(1, len(word) * 0.2):  # "WRONG", "WARMING" pass; "HTML" does not
        return False
    if not vowels[0] and not vowels[1] and word[:2] not in T.WORD_ONSETS:
        return False
    run = 0
    for is_vowel in vowels:
        run = 0 if is_vowel else run + 1
        if run > 3:  # "ELECTROCUTION" (ctr) passes
            return False
    return True


def _say_acronym(word: str) -> str:
    if word in T.ACRONYMS_SPELLED:
        return T.ACRONYMS_SPELLED[word]
    if word.isupper():
        if word in T.ACRONYMS_AS_WORDS or word in T.COMMON_SHORT_WORDS:
            return word.capitalize()
        if len(word) <= T.MAX_SPELLED_LETTERS or not _pronounceable(word):
            return spell(word)
        return word.capitalize()
    base = word[:-1]
    if word.endswith("s") and len(base) >= 2 and base.isupper():  # "CDs", "FAQs"
        if base in T.ACRONYMS_AS_WORDS:
            return base.capitalize() + "s"
        return _say_acronym(base) + "'s"
    return word


def _expand_acronyms(text: str, options: Options) -> str:
    """Capitalised abbreviations: spelled ("FBI" -> "F B I", "CDs" -> "C D's") or read as words
    ("NASA"); left alone in shouted text, where capitals are emphasis."""
    letters = len(_LETTERS_RE.findall(text))
    shouted = letters and len(_CAPITALS_RE.findall(text)) >= T.SHOUTED_SHARE * letters
    if shouted and len(text.split()) >= T.SHOUTED_MIN_WORDS:
        return text
    return _CAPITALS_WORD_RE.sub(lambda m: _say_acronym(m["word"]), text)


# ---------------------------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(
    # An elided century ("'90s") loses its apostrophe so it is not read as a quote.
    r"(?:(?<![\w'])'(?=\d0'?s(?![A-Za-z])))?"
    rf"{_SIGN}(?:"
    r"(?P<int>(?<![\d,])\d{1,3}(?:,\d{3})+(?!\d)|(?<!\d)\d+)(?P<frac>(?:\.\d+)+)?"
    r"|(?<![\w.])\.(?P<lone>\d+)"
    r")(?:(?P<ordinal>(?i:st|nd|rd|th))(?![A-Za-z])|(?P<plural>'?s)(?![A-Za-z]))?",
    re.ASCII,
)


def _say_number(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    if match["lone"] is not None:
        return _spaced(match, f"{sign}point {digits(match['lone'])}")
    raw, frac = match["int"], match["frac"]
    number = raw.replace(",", "")
    if frac:
        parts = frac[1:].split(".")
        if len(parts) == 1:
            words = f"{cardinal(number)} point {digits(parts[0])}"
        else:  # a version or an address: 1.2.10 -> one point two point ten
            words = " point ".join(cardinal(p) for p in (number, *parts))
        suffix = match["ordinal"] or match["plural"] or ""
        return _spaced(match, sign + words + (f" {suffix}" if suffix else ""))
    if match["ordinal"]:
        return _spaced(match, sign + ordinal(number))
    year_like = not sign and raw == number and looks_like_year(number)
    words = year(number) if year_like else cardinal(number)
    if match["plural"]:
        words = pluralize(words)
    return _spaced(match, sign + words)


def _expand_numbers(text: str, options: Options) -> str:
    """Remaining numbers: cardinals, ordinals, decimals, years, decades, negatives."""
    return _NUMBER_RE.sub(_say_number, text)


#: The English steps, in the order they run. Each takes and returns the whole text.
STEPS: tuple[Callable[[str, Options], str], ...] = (
    _expand_addresses,
    _expand_times,
    _expand_dates,
    _expand_phone_numbers,
    _expand_codes_and_decades,
    _expand_fractions,
    _expand_ranges,
    _expand_money,
    _expand_percentages,
    _expand_units,
    _expand_roman_numerals,
    _expand_symbols,
    _expand_abbreviations,
    _expand_acronyms,
    _expand_numbers,
)

# ---------------------------------------------------------------------------- final cleanup

_WHITESPACE_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION_RE = re.compile(r"\s+(?=[.,!?;:)])")
_SPACE_AFTER_OPENING_RE = re.compile(r"(?<=\()\s+")
_REPEATED_COMMA_RE = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP_RE = re.compile(r",\s*(?=[.!?;:])")
_SPACE_AFTER_COMMA_RE = re.compile(r",(?=[A-Za-z])")
_LEADING_PAUSE_RE = re.compile(r"^[\s,;:]+")


def final_cleanup(text: str) -> str:
    """Tidy what the steps left: one space between words, none before punctuation, no ", ,"."""
    text = _WHITESPACE_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCTUATION_RE.sub("", text)
    text = _SPACE_AFTER_OPENING_RE.sub("", text)
    text = _REPEATED_COMMA_RE.sub(",", text)
    text = _COMMA_BEFORE_STOP_RE.sub("", text)
    text = _SPACE_AFTER_COMMA_RE.sub(", ", text)
    text = _LEADING_PAUSE_RE.sub("", text)
    return text.strip()


def normalize_english(text: str, options: Options) -> str:
    """Run every step on cleaned-up text, then tidy the result."""
    for step in STEPS:
        text = step(text, options)
    return final_cleanup(text)
