import logging
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudio.text.normalize import normalize_text

TARGET_IN = "Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024."
TARGET_OUT = (
    "Doctor Smith paid three dollars and fifty cents at three forty-five p m "
    "on December fifth, twenty twenty-four."
)


def test_target_sentence_exactly():
    assert normalize_text(TARGET_IN) == TARGET_OUT


CASES = {
    # cardinals
    "cardinal": ("42", "forty-two"),
    "cardinal zero": ("0", "zero"),
    "cardinal grouped": (
        "1,234,567",
        "one million two hundred and thirty-four thousand five hundred and sixty-seven",
    ),
    "cardinal in text": ("I have 3 cats.", "I have three cats."),
    "leading zeros read as digits": ("agent 007", "agent zero zero seven"),
    # ordinals
    "ordinal th": ("5th", "fifth"),
    "ordinal st": ("21st", "twenty-first"),
    "ordinal nd": ("2nd", "second"),
    "ordinal rd": ("the 3rd time", "the third time"),
    # decimals
    "decimal": ("3.14", "three point one four"),
    "decimal trailing zero": ("2.50", "two point five zero"),
    "decimal without integer": (".5", "point five"),
    "version": ("v1.2.3", "v one point two point three"),
    "sentence period after number": ("It was 5.", "It was five."),
    # years
    "year after in": ("in 1984", "in nineteen eighty-four"),
    "year alone": ("2024", "twenty twenty-four"),
    "year with oh": ("1905", "nineteen oh five"),
    "year 2000": ("2000", "two thousand"),
    "grouped is not a year": ("1,984", "one thousand nine hundred and eighty-four"),
    "out of year range": ("3000", "three thousand"),
    "decade": ("the 1990s", "the nineteen nineties"),
    "short decade": ("the '80s", "the eighties"),
    # negatives
    "negative": ("-5", "minus five"),
    "negative decimal": ("it is -2.5 now", "it is minus two point five now"),
    "hyphen is not minus": ("pre-1990", "pre-nineteen ninety"),
    # currency
    "dollars and cents": ("$3.50", "three dollars and fifty cents"),
    "one dollar": ("$1", "one dollar"),
    "one cent": ("$1.01", "one dollar and one cent"),
    "cents only": ("$0.50", "fifty cents"),
    "whole cents": ("$5.00", "five dollars"),
    "pounds": ("£5", "five pounds"),
    "pence": ("£2.50", "two pounds and fifty pence"),
    "euros": ("€20", "twenty euros"),
    "euros after": ("20 €", "twenty euros"),
    "cent sign": ("50¢", "fifty cents"),
    "yen": ("¥100", "one hundred yen"),
    "currency scale word": ("$3 million", "three million dollars"),
    "currency decimal scale": ("$3.5 million", "three point five million dollars"),
    "currency bn": ("$5bn", "five billion dollars"),
    "currency k": ("$20k", "twenty thousand dollars"),
    "currency grouped": (
        "$1,234.56",
        "one thousand two hundred and thirty-four dollars and fifty-six cents",
    ),
    "negative currency": ("-$5", "minus five dollars"),
    # percentages
    "percent": ("50%", "fifty percent"),
    "decimal percent": ("3.5%", "three point five percent"),
    "percent spaced": ("100 %", "one hundred percent"),
    "percent range": ("10-20%", "ten to twenty percent"),
    # times
    "time pm": ("3:45 pm", "three forty-five p m"),
    "time o'clock": ("10:00", "ten o'clock"),
    "time oh": ("7:05 a.m. today", "seven oh five a m today"),
    "time a.m. ends sentence": ("We met at 7:05 a.m.", "We met at seven oh five a m."),
    "time a.m. then capital": ("at 5 p.m. Then", "at five p m. Then"),
    "time pm then period": ("at 5pm.", "at five p m."),
    "time uppercase": ("11:30 PM", "eleven thirty p m"),
    "time whole hour pm": ("3:00 pm", "three p m"),
    "hour am": ("at 9am", "at nine a m"),
    "time seconds": ("12:30:05", "twelve thirty and five seconds"),
    "time 24h": ("18:30", "eighteen thirty"),
    # dates
    "date target": ("Dec. 5th, 2024", "December fifth, twenty twenty-four"),
    "date full month": ("January 1, 2000", "January first, two thousand"),
    "date abbreviation without suffix": ("Feb. 14", "February fourteenth"),
    "date sept": ("Sept. 3", "September third"),
    "date day month": ("5 May 2024", "the fifth of May twenty twenty-four"),
    "date the day of month": ("on the 4th of July", "on the fourth of July"),
    "date iso": ("2024-12-05", "December fifth, twenty twenty-four"),
    "month abbreviation and year": ("in Dec. 2024", "in December twenty twenty-four"),
    "month abbreviation ends sentence": ("It was in Oct.", "It was in October."),
    **{
        f"month {abbr}": (f"{abbr}. 1", f"{full} first")
        for abbr, full in [
            ("Jan", "January"),
            ("Feb", "February"),
            ("Mar", "March"),
            ("Apr", "April"),
            ("Jun", "June"),
            ("Jul", "July"),
            ("Aug", "August"),
            ("Sep", "September"),
            ("Oct", "October"),
            ("Nov", "November"),
            ("Dec", "December"),
        ]
    },
    # abbreviations
    "doctor": ("Dr. Smith", "Doctor Smith"),
    "mister": ("Mr. Jones", "Mister Jones"),
    "missus": ("Mrs. Jones", "Missus Jones"),
    "miz": ("Ms. Jones", "Miz Jones"),
    "title without period": ("Mr Bean", "Mister Bean"),
    "professor": ("Prof. Xavier", "Professor Xavier"),
    "junior": ("John Smith Jr. went home", "John Smith Junior went home"),
    "senior": ("John Smith Sr. went home", "John Smith Senior went home"),
    "saint": ("St. John", "Saint John"),
    "saint mid sentence": ("we went to St. Louis", "we went to Saint Louis"),
    "street": ("Baker St.", "Baker Street."),
    "street ends sentence": ("He lives on Baker St.", "He lives on Baker Street."),
    "street mid sentence": (
        "221 Baker St. is old",
        "two hundred and twenty-one Baker Street is old",
    ),
    "drive": ("Mulholland Dr. is long", "Mulholland Drive is long"),
    "etc": ("apples, pears, etc.", "apples, pears, et cetera."),
    "etc mid sentence": ("pens, etc. are here", "pens, et cetera are here"),
    "etc then sentence": ("pens, etc. Then more", "pens, et cetera. Then more"),
    "e.g.": ("fruit, e.g. apples", "fruit, for example apples"),
    "e.g. with comma": ("e.g., apples", "for example, apples"),
    "i.e.": ("one, i.e. this", "one, that is this"),
    "versus": ("cats vs. dogs", "cats versus dogs"),
    "versus without period": ("cats vs dogs", "cats versus dogs"),
    "number abbreviation": ("No. 5", "number five"),
    "initialism": ("the U.S. Army", "the U S Army"),
    "abbreviation period is not a sentence end": (
        "Mr. Smith met Mrs. Jones.",
        "Mister Smith met Missus Jones.",
    ),
    # units
    "kilometers": ("5 km", "five kilometers"),
    "one kilometer": ("1 km", "one kilometer"),
    "kilograms glued": ("10kg", "ten kilograms"),
    "centimeters": ("3 cm", "three centimeters"),
    "mph": ("60 mph", "sixty miles per hour"),
    "celsius": ("20°C", "twenty degrees Celsius"),
    "negative celsius": ("-5°C", "minus five degrees Celsius"),
    "degrees": ("90°", "ninety degrees"),
    "milliseconds": ("5 ms", "five milliseconds"),
    "megabytes": ("100 MB", "one hundred megabytes"),
    "hours": ("2 h", "two hours"),
    "one hour": ("1 h", "one hour"),
    "seconds": ("5 s", "five seconds"),
    "decimal unit is plural": ("1.5 km", "one point five kilometers"),
    "unit per hour": ("50 km/h", "fifty kilometers per hour"),
    "unit range": ("10-20 kg", "ten to twenty kilograms"),
    # symbols
    "ampersand": ("Tom & Jerry", "Tom and Jerry"),
    "at": ("me@home", "me at home"),
    "plus equals": ("1 + 1 = 2", "one plus one equals two"),
    "hash number": ("#5", "number five"),
    "percent sign alone": ("%", "percent"),
    "spaced minus between numbers": ("5 - 3", "five minus three"),
    "markup dropped": ("*bold* and _under_", "bold and under"),
    # unicode punctuation
    "single quotes": ("‘hi’ it’s", "'hi' it's"),
    "double quotes": ("“hi”", '"hi"'),
    "em dash": ("yes—no", "yes, no"),
    "spaced en dash": ("yes – no", "yes, no"),
    "en dash range": ("1990–1995", "nineteen ninety to nineteen ninety-five"),
    "ellipsis": ("wait…", "wait..."),
    "non-breaking space": ("a\u00a0b", "a b"),
    # ranges and phone numbers
    "range": ("pages 10-20", "pages ten to twenty"),
    "year range": ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    "phone": ("call 555-1234", "call five five five, one two three four"),
    "phone with area code": (
        "(555) 123-4567",
        "five five five, one two three, four five six seven",
    ),
    # typeset fractions and powers
    "vulgar fraction": ("½ cup", "one half cup"),
    "mixed fraction": ("1½ cups", "one and a half cups"),
    "fraction plural": ("¾", "three quarters"),
    "fraction ordinal denominator": ("2⅓", "two and a third"),
    "fraction slash": ("5⁄8", "five eighths"),
    "squared": ("5 m²", "five meters squared"),
    "cubed": ("x³", "x cubed"),
    # letters next to digits
    "digit after letters": ("MP3", "MP three"),
    "letter after digit": ("3D", "three D"),
    # cleanup
    "diacritics": ("café naïve", "cafe naive"),
    "latin letters without decomposition": ("Straße", "Strasse"),
    "whitespace": ("  a \t b\n\nc  ", "a b c"),
    "control characters": ("a\x00b\x07c", "abc"),
    "zero width space": ("a\u200bb", "ab"),
    "punctuation kept": ("Hi! Why? Yes; no: ok.", "Hi! Why? Yes; no: ok."),
    "empty": ("", ""),
    "only emoji": ("😀", ""),
}


@pytest.mark.parametrize(("text", "expected"), list(CASES.values()), ids=list(CASES))
def test_english(text: str, expected: str):
    assert normalize_text(text) == expected


def test_huge_number_is_read_digit_by_digit():
    out = normalize_text("9" * 400)
    assert out.split() == ["nine"] * 400


def test_huge_grouped_number_and_ordinal():
    assert normalize_text("1," + "000," * 10 + "000").split() == ["one"] + ["zero"] * 33
    assert normalize_text("1" * 30 + "th").split() == ["one"] * 30


def test_removed_characters_logged_once(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.normalize"):
        out = normalize_text("hi 😀 Привет 😀 you")
    assert out == "hi you"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("removed unspeakable characters: ")
    assert "'😀'" in message
    assert "'П'" in message
    assert message.count("😀") == 1


def test_no_warning_when_nothing_removed(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.normalize"):
        normalize_text("Café at 5 pm, “quoted”\u00a0text.")
    assert not caplog.records


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x\ud800y", "xy"),
        ("\udfff", ""),
        ("a\ue000b", "ab"),  # private use
        ("a\U000e0080b", "ab"),  # unassigned
        ("日本語 text", "text"),
        ("مرحبا hello", "hello"),
    ],
)
def test_unspeakable_code_points_removed(text: str, expected: str):
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Привет,  мир!", "ru", "Привет, мир!"),
        ("Dr. Müller hat 5 €", "de", "Dr. Müller hat 5 €"),
        ("„Zitat“ – Ende…", "de", '"Zitat" - Ende...'),
        ("a\x00b\tc \ud800😀", "fr-fr", "ab c"),
        ("ｆｕｌｌ１２", "es", "full12"),
        ("1½ m²", "de", "1 1/2 m2"),
        ("日本語です。", "ja", "日本語です。"),
    ],
)
def test_other_languages_only_cleaned(text: str, language: str, expected: str):
    assert normalize_text(text, language) == expected


def test_english_variants_expand():
    assert normalize_text("5 km", "en-gb") == "five kilometers"
    assert normalize_text("5 km", "EN") == "five kilometers"


@pytest.mark.parametrize("bad", [b"bytes", None, 5])
def test_non_string_text_is_a_type_error(bad: object):
    with pytest.raises(TypeError, match="text must be a str"):
        normalize_text(bad)  # type: ignore[arg-type]


def test_non_string_language_is_a_type_error():
    with pytest.raises(TypeError, match="language must be a str"):
        normalize_text("hi", None)  # type: ignore[arg-type]


def _assert_clean(out: str) -> None:
    assert isinstance(out, str)
    for char in out:
        assert unicodedata.category(char) not in ("Cc", "Cs", "Co", "Cn"), repr(char)
    assert out == out.strip()
    assert "  " not in out


# Everything, lone surrogates included (st.characters() leaves those out by default).
ANY_CHARS = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=200)
# Pieces that exercise the English steps and their interactions.
# fmt: off
PIECES = [
    "1", "0", "12", "1,234", "2024", "3.50", ".", ",", "-", ":", "$", "£", "€", "¢", "%", "°",
    "C", "km", "s", "h", "am", "p.m.", "Dr.", "St.", "No.", "#", "&", "@", "Dec", "May", "5th",
    "of", "e.g.", "U.S.", "'", '"', "—", "–", "…", "é", "😀", "П", "(", ")", "th", "k", "bn",
    "million", "½", "²", "\u2044", " ", "\x00", "\ud800", "\n",
]
# fmt: on
TRICKY = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text())
def test_never_raises_on_text(text: str):
    out = normalize_text(text)
    _assert_clean(out)
    assert out.isascii()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(ANY_CHARS)
def test_never_raises_on_any_code_points(text: str):
    _assert_clean(normalize_text(text))
    _assert_clean(normalize_text(text, "de"))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(TRICKY)
def test_never_raises_on_tricky_english(text: str):
    out = normalize_text(text)
    _assert_clean(out)
    assert out.isascii()
