import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowaudio.text.sentences import split_sentences


def test_splits_on_terminal_punctuation():
    text = 'Hello there. How are you? I am fine! "Quoted." Then more... and lower. End'
    assert split_sentences(text) == [
        "Hello there.",
        "How are you?",
        "I am fine!",
        '"Quoted."',
        "Then more... and lower.",
        "End",
    ]


def test_no_split_before_lowercase():
    assert split_sentences("It costs three point five. dollars") == [
        "It costs three point five. dollars"
    ]


def test_long_sentence_cut_at_clause_then_space():
    text = "one two three, " * 40
    parts = split_sentences(text, max_chars=60)
    assert all(len(p) <= 60 for p in parts)
    assert all(p.endswith(",") for p in parts[:-1])
    assert " ".join(parts).split() == text.split()


def test_giant_word_is_hard_cut():
    parts = split_sentences("x" * 100, max_chars=30)
    assert [len(p) for p in parts] == [30, 30, 30, 10]


def test_blank_and_bad_limit():
    assert split_sentences("   ") == []
    with pytest.raises(ValueError, match="at least 20"):
        split_sentences("abc", max_chars=5)


@given(st.text(alphabet=st.sampled_from(list("ab .!?,;\"'")), max_size=400))
def test_nothing_lost_and_limits_hold(text):
    parts = split_sentences(text, max_chars=40)
    assert all(0 < len(p) <= 40 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
