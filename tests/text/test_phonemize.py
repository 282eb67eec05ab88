from pathlib import Path

import pytest

from flowaudio.text.phonemize import (
    GraphemeBackend,
    Phonemizer,
    PhonemizerError,
    available_backends,
    get_phonemizer,
)
from flowaudio.text.symbols import SymbolTable


def test_espeak_from_pip_with_stress_and_punctuation():
    ph = get_phonemizer("espeak", "en-us")
    assert isinstance(ph, Phonemizer)
    out = ph.phonemize("Hello world, how are you?")
    assert "ˈ" in out  # primary stress kept
    assert "," in out and out.endswith("?")  # punctuation kept as tokens
    assert "həlˈoʊ" in out
    assert "\n" not in out


def test_espeak_is_cached_and_language_selectable():
    assert get_phonemizer("espeak", "en-us") is get_phonemizer("espeak", "en-us")
    us = get_phonemizer("espeak", "en-us").phonemize("tomato")
    gb = get_phonemizer("espeak", "en-gb").phonemize("tomato")
    assert us != gb


def test_unknown_language_and_backend():
    with pytest.raises(PhonemizerError, match="does not know language"):
        get_phonemizer("espeak", "xx-notalanguage")
    with pytest.raises(ValueError, match="available: espeak, grapheme"):
        get_phonemizer("nope")
    assert available_backends() == ["espeak", "grapheme"]


def test_grapheme_backend():
    assert GraphemeBackend().phonemize("Hello   World!") == "hello world!"


def test_symbol_table_covers_espeak_english():
    """Every code point espeak writes for a few hundred real sentences is in the table."""
    lines = []
    fortunes = Path("/usr/share/games/fortunes/fortunes")
    for entry in fortunes.read_text(encoding="utf-8", errors="ignore").split("\n%\n")[:300]:
        lines.append(" ".join(entry.split()))
    table = SymbolTable.load()
    missing = set()
    for lang in ("en-us", "en-gb"):
        ph = get_phonemizer("espeak", lang)
        for line in lines:
            missing |= {c for c in ph.phonemize(line) if c not in table}
    # Digits and odd symbols are the normaliser's job; raw fortunes still must not show IPA gaps.
    assert not {c for c in missing if not c.isascii()}, missing
