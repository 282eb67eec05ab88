"""Inline phonemes, the lexicon, IPA onto the symbol table, and the frontend's plan."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudio.text.config import TextConfig
from flowaudio.text.frontend import TextFrontend, stored_text_config
from flowaudio.text.normalize import NORMALIZER_VERSION
from flowaudio.text.pronounce import Lexicon, PronunciationError, ipa_to_tokens, split_words
from flowaudio.text.symbols import SymbolTable

SYMBOLS = SymbolTable.load("1")


@pytest.mark.parametrize(
    ("ipa", "tokens"),
    [
        ("ˈfloʊ ˈɔːdioʊ", "flˈoʊ ˈɔːdioʊ"),  # stress moves to the vowel, as espeak writes it
        ("/təˈmɑːtoʊ/", "təmˈɑːtoʊ"),
        ("ˈwɪn.tər", "wˈɪntəɹ"),  # syllable dot dropped, English r is ɹ
        ("ʧɛk", "tʃɛk"),
        ("ga:d", "ɡaːd"),
        ("'kæt", "kˈæt"),
        ("t͡ʃ", "tʃ"),
        ("  a   b ", "a b"),
    ],
)
def test_ipa_onto_the_symbol_table(ipa: str, tokens: str):
    assert ipa_to_tokens(ipa, SYMBOLS) == tokens
    assert all(t in SYMBOLS for t in tokens)


def test_unknown_ipa_names_the_symbol():
    with pytest.raises(PronunciationError, match=r"'☃' \(U\+2603\)"):
        ipa_to_tokens("ha☃", SYMBOLS)


def test_lexicon_file(tmp_path):
    path = tmp_path / "lexicon.tsv"
    path.write_text("# names\nNguyen\tŋuːjən\nflowaudio  ˈfloʊ ˈɔːdioʊ\n", encoding="utf-8")
    lexicon = Lexicon.load(path)
    assert lexicon.lookup("Nguyen") == "ŋuːjən"
    assert lexicon.lookup("NGUYEN") == "ŋuːjən"  # lower-case fallback
    assert lexicon.lookup("FlowAudio") == "ˈfloʊ ˈɔːdioʊ"
    assert lexicon.lookup("other") is None
    path.write_text("fine\tfaɪn\nbroken\n", encoding="utf-8")
    with pytest.raises(PronunciationError, match=r"lexicon.tsv:2: expected 'word<TAB>IPA'"):
        Lexicon.load(path)
    with pytest.raises(PronunciationError, match="not one word"):
        Lexicon({"two words": "a"})
    with pytest.raises(TypeError, match="lexicon must be"):
        Lexicon.coerce(3)  # type: ignore[arg-type]


def test_split_words_keeps_everything_else():
    lexicon = Lexicon({"Nguyen": "ŋuːjən", "e-mail": "ˈiːmeɪl"})
    assert split_words("Ms. Nguyen's e-mail, Nguyenx", lexicon) == [
        ("Ms. ", False),
        ("ŋuːjən", True),
        ("'s ", False),
        ("ˈiːmeɪl", True),
        (", Nguyenx", False),
    ]


def _plan(text: str, lexicon=None, frontend: TextFrontend | None = None):
    return (frontend or TextFrontend()).plan(text, sentence_pause=0.3, lexicon=lexicon)


def test_inline_phonemes_and_lexicon_skip_espeak():
    frontend = TextFrontend()
    (segment,) = _plan("I like [[ ˈfloʊ ]] and Nguyen.", {"Nguyen": "ŋuːjən"}, frontend)
    assert segment.text == "I like /flˈoʊ/ and /ŋuːjən/ ."
    tokens = "".join(frontend.symbols.decode(segment.ids[1::2]))
    assert "flˈoʊ" in tokens
    assert tokens.endswith("ŋuːjən.<eos>")  # the full stop sticks to the word, as espeak's


def test_voice_lexicon_and_call_lexicon_merge():
    frontend = TextFrontend(lexicon={"tomato": "təˈmɑːtoʊ", "cat": "kæt"})
    (segment,) = _plan("tomato cat", {"cat": "kɪt"}, frontend)
    assert segment.text == "/təmˈɑːtoʊ/ /kɪt/"


def test_phonemes_need_a_phoneme_voice():
    frontend = TextFrontend(TextConfig(phonemizer="grapheme"))
    with pytest.raises(ValueError, match="reads letters"):
        _plan("say [[ a ]]", frontend=frontend)


def test_sentence_pauses_breaks_and_paragraphs():
    plan = _plan(
        '<speak><break time="200ms"/>One. Two<break time="1s"/><break time="500ms"/>three.'
        "<p>Four.</p><s>Five</s>Six.</speak>"
    )
    assert [(s.text, s.pause_after) for s in plan] == [
        ("", 0.2),
        ("One.", 0.3),
        ("Two", 1.5),  # consecutive breaks add up
        ("three.", 0.6),  # the paragraph that starts after it
        ("Four.", 0.6),
        ("Five", 0.3),
        ("Six.", 0.0),  # nothing after the last sentence
    ]
    assert _plan('<speak>End.<break time="400ms"/></speak>')[-1].pause_after == 0.4


def test_rate_changes_start_a_new_segment():
    plan = _plan('<speak>a <prosody rate="slow">b</prosody> c</speak>')
    assert [(s.text, s.rate) for s in plan] == [("a", 1.0), ("b", 0.8), ("c", 1.0)]


def test_stored_text_config_without_a_version_is_version_1():
    assert stored_text_config({"language": "en-us"}).normalizer_version == 1
    assert stored_text_config({"normalizer_version": 2}).normalizer_version == 2
    assert TextConfig().normalizer_version == NORMALIZER_VERSION


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["[[", "]]", "ˈ", "a", "☃", " ", "Nguyen", ".", "1/2", "hi", "'", "/", ":"]
        ),
        max_size=20,
    ).map("".join)
)
def test_any_plain_text_with_phonemes_plans_or_raises_value_error(text: str):
    try:
        plan = _plan(text or "x", {"Nguyen": "ŋuːjən"})
    except ValueError:
        return
    assert plan
