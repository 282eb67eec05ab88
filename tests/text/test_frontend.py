import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudio.text.config import TextConfig
from flowaudio.text.frontend import TextFrontend


@pytest.fixture(scope="module")
def frontend():
    return TextFrontend()


def test_target_sentence_speaks_numbers_as_words(frontend):
    tok = frontend.encode("Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024.")
    assert "three dollars and fifty cents" in tok.text
    assert "twenty twenty-four" in tok.text
    assert not any(ch.isdigit() for ch in tok.text + tok.phonemes)
    assert "dˈɑːktɚ" in tok.phonemes


def test_ids_structure(frontend):
    table = frontend.symbols
    tok = frontend.encode("Hello.")
    ids = list(tok.ids)
    # blanks at every even position, BOS/EOS around the phonemes
    assert ids[0::2] == [table.blank_id] * (len(ids) // 2 + 1)
    assert ids[1] == table.bos_id and ids[-2] == table.eos_id
    assert table.decode(ids[3:-2:2]) == list(tok.phonemes)


def test_without_blanks_and_grapheme_backend():
    fe = TextFrontend(TextConfig(phonemizer="grapheme", intersperse_blank=False))
    tok = fe.encode("Hi, 2 cats!")
    assert tok.phonemes == "hi, two cats!"
    assert fe.symbols.decode(tok.ids) == ["<bos>", *"hi, two cats!", "<eos>"]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("I have 42 apples.", "forty-two"),
        ("It is 50% off.", "fifty percent"),
        ("Meet Mr. Jones at 10:00.", "Mister Jones"),
        ("Temperatures fell to -5 degrees.", "minus five"),
        ("pi is 3.14", "three point one four"),
        ("Tom & Jerry", "Tom and Jerry"),
        ("“Smart quotes” — and dashes…", '"Smart quotes"'),
    ],
)
def test_tricky_inputs(frontend, text, spoken):
    tok = frontend.encode(text)
    assert spoken in tok.text
    assert len(tok.ids) > 5


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_a_clear_error(frontend, text):
    with pytest.raises(ValueError, match="empty"):
        frontend.encode(text)


@pytest.mark.parametrize("text", ["😀😀", "Привет мир", "日本語のテキスト", "\x00\x01"])
def test_nothing_pronounceable_is_a_clear_error(frontend, text):
    with pytest.raises(ValueError, match="pronounceable"):
        frontend.encode(text)


def test_emoji_and_other_scripts_are_dropped_from_mixed_text(frontend, caplog):
    with caplog.at_level(logging.WARNING):
        tok = frontend.encode("Hello 😀 world Привет!")
    assert tok.text.startswith("Hello world")
    assert "😀" not in tok.text and "П" not in tok.text
    assert any("😀" in r.getMessage() for r in caplog.records)


def test_non_string_is_a_clear_error(frontend):
    with pytest.raises(ValueError, match="must be a str"):
        frontend.encode(b"bytes")  # type: ignore[arg-type]


def test_ten_thousand_characters(frontend):
    text = ("The year 1999 cost $12.50, said Dr. Who. " * 300)[:10_000]
    tok = frontend.encode(text)
    assert len(tok.ids) > 10_000
    sentences = frontend.sentences(text)
    assert len(sentences) == 244  # 10,000 characters hold 243 whole sentences and a part
    assert all(len(s) <= 300 for s in sentences)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_string_gives_ids_or_value_error(text):
    fe = TextFrontend()
    try:
        tok = fe.encode(text)
    except ValueError:
        return
    assert len(tok.ids) >= 5
    assert all(0 <= i < len(fe.symbols) for i in tok.ids)


@settings(max_examples=100)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50).map(
        lambda s: "Hello " + s
    )
)
def test_text_with_a_word_always_encodes(text):
    tok = TextFrontend().encode(text)
    assert tok.text.lower().startswith("hello")
