"""SSML parsing: the pieces, the errors, and any SSML-ish string -> pieces or a ValueError."""

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudio.text.frontend import TextFrontend
from flowaudio.text.ssml import Boundary, Break, Phonemes, Words, is_ssml, parse_ssml


def test_pieces_of_every_supported_element():
    pieces = parse_ssml(
        '<speak xmlns="http://www.w3.org/2001/10/synthesis">Hi <break time="500ms"/>'
        '<break strength="strong"/><p><s>One</s></p><say-as interpret-as="date" format="dmy">'
        '10/06/2005</say-as><sub alias="World Wide Web">WWW</sub>'
        '<phoneme alphabet="ipa" ph="ˈfloʊ">flow</phoneme><prosody rate="80%">slow</prosody>'
        "</speak>"
    )
    assert pieces == [
        Words("Hi "),
        Break(0.5),
        Break(0.75),
        Boundary(paragraph=True),
        Boundary(paragraph=False),
        Words("One"),
        Boundary(paragraph=False),
        Boundary(paragraph=True),
        Words("10/06/2005", 1.0, "date", "dmy"),
        Words("World Wide Web"),
        Phonemes("ˈfloʊ"),
        Words("slow", 0.8),
    ]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("x-slow", 0.6), ("fast", 1.25), ("150%", 1.5), ("1.2", 1.2), ("+50%", 1.5), ("-20%", 0.8)],
)
def test_prosody_rates(rate: str, expected: float):
    (piece,) = parse_ssml(f'<speak><prosody rate="{rate}">x</prosody></speak>')
    assert piece == Words("x", pytest.approx(expected))


def test_nested_relative_rate_multiplies():
    pieces = parse_ssml(
        '<speak><prosody rate="slow"><prosody rate="+50%">x</prosody></prosody></speak>'
    )
    assert pieces[0].rate == pytest.approx(1.2)


def test_unsupported_elements_are_read_with_one_warning(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.ssml"):
        pieces = parse_ssml(
            "<speak><emphasis>a</emphasis><emphasis>b</emphasis><voice>c</voice>"
            '<prosody pitch="+2st">d</prosody></speak>'
        )
    assert [p.text for p in pieces] == ["a", "b", "c", "d"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert any("<emphasis>" in m for m in messages)
    assert any("pitch" in m for m in messages)


@pytest.mark.parametrize(
    ("ssml", "message"),
    [
        ("<speak>unclosed", "malformed SSML"),
        ("<speak><b></speak>", "malformed SSML"),
        ("<p>x</p>", "must have <speak> as its root"),
        ('<speak><break time="soon"/></speak>', "'500ms'"),
        ('<speak><break time="11s"/></speak>', "at most 10s"),
        ('<speak><break strength="huge"/></speak>', "x-strong"),
        ('<speak><prosody rate="9">x</prosody></speak>', "within 0.25x-4x"),
        ('<speak><prosody rate="quick">x</prosody></speak>', "x-slow"),
        ('<speak><phoneme alphabet="x-sampa" ph="a">x</phoneme></speak>', "only alphabet='ipa'"),
        ("<speak><phoneme>x</phoneme></speak>", "needs a ph attribute"),
        ("<speak><sub>x</sub></speak>", "needs an alias"),
        ("<speak><say-as>x</say-as></speak>", "interpret-as"),
        (
            '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<speak>&b;</speak>",
            "forbidden XML",
        ),
    ],
)
def test_malformed_ssml_is_a_clear_value_error(ssml: str, message: str):
    with pytest.raises(ValueError, match=message):
        parse_ssml(ssml)


def test_only_text_starting_with_speak_is_ssml():
    assert is_ssml("  <speak>hi</speak>")
    assert is_ssml('<speak version="1.1">hi</speak>')
    assert not is_ssml("say <speak>hi</speak>")
    assert not is_ssml("<speaker>hi</speaker>")


@pytest.mark.parametrize(
    ("kind", "text", "fmt", "expected"),
    [
        ("characters", "NASA", None, "N A S A"),
        ("spell-out", "abc1", None, "A B C one"),
        ("cardinal", "1,234", None, "one thousand two hundred and thirty-four"),
        ("ordinal", "21", None, "twenty-first"),
        ("digits", "2024", None, "two zero two four"),
        ("date", "10/06/2005", "dmy", "the tenth of June, two thousand and five"),
        ("date", "2005-10-06", "ymd", "October sixth, two thousand and five"),
        ("date", "10/2005", "my", "October two thousand and five"),
        ("date", "10/06/2005", None, "October sixth, two thousand and five"),
        ("time", "1:59 p.m.", None, "one fifty-nine p m."),
        (
            "telephone",
            "+1 555 123 4567",
            None,
            "plus one, five five five, one two three, four five six seven",
        ),
        ("cardinal", "abc", None, "abc"),
    ],
)
def test_say_as(kind: str, text: str, fmt: str | None, expected: str):
    frontend = TextFrontend()
    attrs = f' format="{fmt}"' if fmt else ""
    ssml = f'<speak><say-as interpret-as="{kind}"{attrs}>{text}</say-as></speak>'
    (segment,) = frontend.plan(ssml, sentence_pause=0.3)
    assert segment.text == expected


# Tags, attributes and text that SSML users (and fuzzers) write, glued together at random.
SSML_BITS = [
    "<speak>",
    "</speak>",
    "<p>",
    "</p>",
    "<s>",
    "</s>",
    '<break time="',
    "500ms",
    "2s",
    '"/>',
    "<break/>",
    '<break strength="weak"/>',
    '<say-as interpret-as="',
    "date",
    "characters",
    "telephone",
    '">',
    "</say-as>",
    '<sub alias="',
    "</sub>",
    '<phoneme alphabet="ipa" ph="',
    "ˈfloʊ",
    "☃",
    "</phoneme>",
    '<prosody rate="',
    "slow",
    "300%",
    "</prosody>",
    "<emphasis>",
    "</emphasis>",
    "Hello",
    " ",
    ".",
    "12/25/2020",
    "$3.50",
    "&amp;",
    "&",
    "<",
    ">",
    '"',
    "[[",
    "]]",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<!DOCTYPE speak>",
    "&lol;",
]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(SSML_BITS), max_size=25).map("".join))
def test_any_ssml_ish_string_plans_or_raises_value_error(text: str):
    frontend = TextFrontend()
    try:
        plan = frontend.plan("<speak>" + text, sentence_pause=0.3)
    except ValueError:
        return
    assert all(s.pause_after >= 0 and 0.25 <= s.rate <= 4 for s in plan)
