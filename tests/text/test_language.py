"""The language check: foreign scripts and languages named, ordinary English left alone."""

import logging

import pytest

from flowaudio.text.frontend import TextFrontend
from flowaudio.text.language import (
    LanguageCheck,
    LanguageMismatchError,
    check_language,
    find_foreign_text,
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Привет, как дела?", "Cyrillic script ('Привет', 'как', 'дела')"),
        ("Καλημέρα σας, φίλε μου", "Greek script"),
        ("你好，世界", "Han script, Chinese characters"),
        ("こんにちは", "Kana script, Japanese"),
        ("안녕하세요", "Hangul script, Korean"),
        ("مرحبا بالعالم", "Arabic script"),
        ("Hello, Москва!", "Cyrillic script ('Москва')"),
        ("Le chat est sur la table et il dort.", "French ('Le', 'est', 'sur')"),
        ("Der Hund ist nicht hier, er ist bei mir.", "German ('Der', 'ist', 'nicht')"),
        ("El perro es muy grande y está en la casa.", "Spanish"),
        ("Questo è il libro della mia amica.", "Italian"),
        ("mañana, señor, año, niño", "diacritics English does not use ('mañana'"),
    ],
)
def test_foreign_text_is_named_for_an_english_voice(text, says):
    found = find_foreign_text(text, "en-us")
    assert found is not None and says in found.describe()


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024.",
        "C'est la vie, she said, and ordered a café au lait.",
        "Dvořák and Janáček wrote music; Björk sings; Zoë is naïve.",
        "The Tour de France passes through Lyon, a city on the Rhône.",
        "5 µm, π r², and 40 °C.",
        "Ok.",
        "...",
        "X=Y, so X^2=XY and Y is one.",
    ],
)
def test_english_with_loans_names_and_symbols_is_not_flagged(text):
    assert find_foreign_text(text, "en-us") is None


def test_other_voices_expect_their_own_script_and_words():
    assert find_foreign_text("Привет мир, как дела?", "ru") is None
    assert "Latin script" in find_foreign_text("Hello there", "ru").describe()
    assert find_foreign_text("Le chat est sur la table, et il dort.", "fr-fr") is None
    found = find_foreign_text("The weather is nice and the sun is out, she said.", "fr-fr")
    assert found.language == "English"
    # A Latin language without a word list: only scripts are checked (no diacritics rule).
    assert find_foreign_text("Zażółć gęślą jaźń, powiedział.", "pl") is None


def test_check_warns_refuses_or_stays_quiet(caplog):
    text = "Привет, как дела?"
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.language"):
        found = check_language(text, "en-us", "warn", where="voice 'tiny'")
    assert found.script == "Cyrillic"
    [record] = caplog.records
    assert "Cyrillic script" in record.getMessage()
    assert "voice 'tiny' speaks en-us" in record.getMessage()
    with pytest.raises(LanguageMismatchError, match=r"Cyrillic script.*use a voice for that"):
        check_language(text, "en-us", LanguageCheck.STRICT)
    assert check_language(text, "en-us", "off") is None
    with pytest.raises(ValueError, match="unknown language_check 'loud'; expected one of"):
        check_language(text, "en-us", "loud")


def test_the_frontend_checks_written_words_only():
    frontend = TextFrontend()
    with pytest.raises(LanguageMismatchError, match="French"):
        frontend.plan("Le chat est sur la table et il dort.", 0.3, language_check="strict")
    # inline phonemes and lexicon words say how to read themselves: not foreign text
    frontend.plan("Say [[ bɔ̃ʒuʁ ]] to Björk.", 0.3, language_check="strict")
    frontend.plan(
        "Les gens est sur la table.", 0.3, lexicon={"les": "leɪ", "gens": "ʒɑ̃", "est": "eɪ",
        "sur": "sʊɹ", "la": "lɑː"}, language_check="strict",
    )  # fmt: skip
