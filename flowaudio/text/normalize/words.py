"""Number words and letter spelling: the vocabulary every normaliser step and SSML say-as share.

Every number word comes from ``num2words`` (imported on first use), tidied so its punctuation does
not become pauses. Digit strings too long for a cardinal are read digit by digit, so no input can
make these functions slow or raise.
"""

from __future__ import annotations

import functools

from flowaudio.text.normalize.tables import DENOMINATORS, NAMED_DENOMINATORS, ROMAN_VALUES

#: Integers with more digits than this are read digit by digit: nobody says "one quintillion ..."
#: for an ID, and num2words raises OverflowError somewhere above 10**33.
MAX_CARDINAL_DIGITS = 15


def num2words(number: int, lang: str, to: str = "cardinal") -> str:
    """``num2words.num2words``, imported on first use: the package imports every language it
    has (~5 MB of RSS, ~50 ms), which text without numbers never needs."""
    from num2words import num2words as convert

    return convert(number, lang=lang, to=to)


@functools.lru_cache(maxsize=16)
def digit_word(digit: str) -> str:
    return num2words(int(digit), lang="en")


def digits(text: str, zero: str = "zero") -> str:
    """Read a digit string one digit at a time ("007" -> "zero zero seven")."""
    return " ".join(zero if d == "0" else digit_word(d) for d in text)


def _tidy(words: str) -> str:
    # num2words separates thousands groups with commas, which would become pauses, and writes
    # years like 1905 as "nineteen oh-five".
    return words.replace(",", "").replace("oh-", "oh ")


@functools.lru_cache(maxsize=4096)
def cardinal(text: str) -> str:
    """Cardinal words for an ASCII digit string; IDs with leading zeros are read digit by digit."""
    if len(text) > MAX_CARDINAL_DIGITS or (len(text) > 1 and text[0] == "0"):
        return digits(text)
    return _tidy(num2words(int(text), lang="en"))


@functools.lru_cache(maxsize=1024)
def ordinal(text: str) -> str:
    """Ordinal words ("21" -> "twenty-first")."""
    text = text.lstrip("0") or "0"
    if len(text) > MAX_CARDINAL_DIGITS:
        return digits(text)
    return _tidy(num2words(int(text), lang="en", to="ordinal"))


@functools.lru_cache(maxsize=1024)
def year(text: str) -> str:
    """A year the way it is said ("1984" -> "nineteen eighty-four", "05" -> "oh five")."""
    if len(text) == 2:
        return f"oh {digit_word(text[1])}" if text[0] == "0" else cardinal(text)
    return _tidy(num2words(int(text), lang="en", to="year"))


def looks_like_year(text: str) -> bool:
    return len(text) == 4 and text.isdigit() and 1100 <= int(text) <= 2099


def amount(int_part: str, frac: str | None) -> str:
    """Words for an amount ("1,234.5" -> "one thousand two hundred and thirty-four point five").

    Leading zeros are dropped: in an amount they carry no meaning, unlike in an ID.
    """
    words = cardinal(int_part.replace(",", "").lstrip("0") or "0")
    if frac:
        words += " point " + digits(frac.lstrip("."))
    return words


def is_one(int_part: str, frac: str | None) -> bool:
    """Whether an amount takes the singular unit ("1 km", but "1.0 km" and "0 km" are plural)."""
    return not frac and (int_part.lstrip("0") == "1")


def pluralize(words: str) -> str:
    """Plural of number words, for decades and digit names ("nineteen ninety" -> "...nineties")."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def fraction(num: str, den: str) -> str:
    """A fraction ("3", "4" -> "three quarters"; "5", "37" -> "five over thirty-seven")."""
    num, den = num.lstrip("0") or "0", den.lstrip("0") or "0"
    if den not in NAMED_DENOMINATORS:
        return f"{cardinal(num)} over {cardinal(den)}"
    if den in DENOMINATORS:
        singular, plural = DENOMINATORS[den]
    else:
        singular = ordinal(den).removeprefix("one ")  # "three hundredths"
        plural = singular + "s"
    return f"{cardinal(num)} {singular if num == '1' else plural}"


def mixed_number(whole: str, num: str, den: str) -> str:
    """ "4", "1", "2" -> "four and a half"; "2", "3", "4" -> "two and three quarters"."""
    reading = fraction(num, den)
    if reading.startswith("one ") and " over " not in reading:
        reading = "a " + reading[4:]
    return f"{amount(whole, None)} and {reading}"


def spell(text: str) -> str:
    """Letters and digits one by one ("NASA" -> "N A S A", "R2D2" -> "R two D two")."""
    out = []
    for char in text:
        if char.isdigit() and char.isascii():
            out.append(digit_word(char))
        elif char.isalnum():
            out.append(char.upper())
    return " ".join(out)


def roman_value(numeral: str) -> int | None:
    """The value of a canonical Roman numeral ("XIV" -> 14), None for anything else ("IIII")."""
    numeral = numeral.upper()
    if not numeral or len(numeral) > 15 or any(c not in ROMAN_VALUES for c in numeral):
        return None
    total = 0
    for i, char in enumerate(numeral):
        value = ROMAN_VALUES[char]
        if i + 1 < len(numeral) and ROMAN_VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total if 0 < total < 4000 and to_roman(total) == numeral else None


def to_roman(value: int) -> str:
    """The canonical Roman numeral of 1 <= ``value`` < 4000."""
    out = []
    for number, letters in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        count, value = divmod(value, number)
        out.append(letters * count)
    return "".join(out)
