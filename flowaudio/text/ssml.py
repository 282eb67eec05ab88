"""SSML, the subset TTS users reach for, parsed into pieces the frontend plans into speech.

Text whose first non-blank characters are ``<speak`` is SSML (as in the major cloud speech
APIs). Supported: ``<speak>``, ``<p>``, ``<s>``, ``<break time="500ms"/>`` or ``strength``,
``<say-as interpret-as="characters|spell-out|cardinal|ordinal|digits|date|time|telephone">``
(``format`` for dates, e.g. "dmy"), ``<sub alias>``, ``<phoneme alphabet="ipa" ph>``,
``<prosody rate>``. ``<emphasis>``, prosody pitch and volume, and unknown elements are read as
their text, with one warning each.

Parsed with defusedxml, which refuses entity expansion ("billion laughs") and external
entities; anything that is not well-formed SSML is a ValueError that says what is wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from flowaudio.text.pronounce import INLINE_PHONEMES_RE

logger = logging.getLogger(__name__)

#: Seconds of silence for ``<break strength=...>`` (``<break/>`` alone is "medium").
BREAK_STRENGTHS = {
    "none": 0.0,
    "x-weak": 0.1,
    "weak": 0.25,
    "medium": 0.4,
    "strong": 0.75,
    "x-strong": 1.2,
}
#: The longest break one element may ask for (as the cloud APIs cap it).
MAX_BREAK_SECONDS = 10.0
#: Speaking rates of the ``<prosody rate=...>`` keywords (1 = the voice's own).
RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}
#: The range of a rate, as a multiple of the voice's own.
MIN_RATE, MAX_RATE = 0.25, 4.0

_TIME_RE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)\s*", re.IGNORECASE)
_RATE_RE = re.compile(r"\s*([+-]?)(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*")


@dataclass(frozen=True)
class Words:
    """Written text to normalise (or read as ``say_as``), at a speaking ``rate``."""

    text: str
    rate: float = 1.0
    say_as: str | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class Phonemes:
    """IPA to say as written."""

    ipa: str
    rate: float = 1.0


@dataclass(frozen=True)
class Break:
    """Silence of ``seconds`` at this point (consecutive breaks add up)."""

    seconds: float


@dataclass(frozen=True)
class Boundary:
    """The end of a sentence (``<s>``) or a paragraph (``<p>``): a sentence pause or longer."""

    paragraph: bool


Piece = Words | Phonemes | Break | Boundary


def is_ssml(text: str) -> bool:
    """Whether ``text`` is SSML: it starts (after blanks) with a ``<speak>`` element."""
    head = text.lstrip()
    return head.startswith("<speak") and (len(head) == 6 or head[6] in "> /\t\r\n")


def plain_pieces(text: str) -> list[Piece]:
    """Plain text with inline ``[[ IPA ]]`` phonemes cut into Words and Phonemes."""
    pieces: list[Piece] = []
    start = 0
    for match in INLINE_PHONEMES_RE.finditer(text):
        if match.start() > start:
            pieces.append(Words(text[start : match.start()]))
        if match.group(1).strip():
            pieces.append(Phonemes(match.group(1)))
        start = match.end()
    if start < len(text):
        pieces.append(Words(text[start:]))
    return pieces


def parse_ssml(text: str) -> list[Piece]:
    """The pieces of an SSML document.

    Raises:
        ValueError: not well-formed XML, a root other than ``<speak>``, entity declarations,
            or an attribute out of range (a break longer than 10 s, an unknown strength, a rate
            outside 0.25-4x, a phoneme alphabet other than IPA); the message says which.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(text.strip())
    except ParseError as exc:
        raise ValueError(f"malformed SSML: {exc}") from None
    except DefusedXmlException as exc:
        raise ValueError(f"SSML with forbidden XML constructs: {exc}") from None
    if _tag(root) != "speak":
        raise ValueError(f"SSML must have <speak> as its root element, got <{_tag(root)}>")
    pieces: list[Piece] = []
    _walk(root, pieces, rate=1.0, warned=set())
    return pieces


def _tag(element: Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()  # drop the SSML namespace


def _walk(element: Element, pieces: list[Piece], rate: float, warned: set[str]) -> None:
    tag = _tag(element)
    if tag in ("p", "s"):
        pieces.append(Boundary(paragraph=tag == "p"))
    if tag == "prosody":
        rate = _prosody_rate(element, rate, warned)
    elif tag == "emphasis":
        _warn_once(warned, "emphasis", "SSML <emphasis> is not supported; its text is read as is")
    elif tag not in ("speak", "p", "s", "break", "say-as", "sub", "phoneme", "mark"):
        _warn_once(warned, tag, f"SSML <{tag}> is not supported; its text is read as is")

    if tag == "break":
        pieces.append(Break(_break_seconds(element)))
    elif tag == "sub":
        if "alias" not in element.attrib:
            raise ValueError("SSML <sub> needs an alias attribute: <sub alias='...'>")
        pieces.append(Words(element.attrib["alias"], rate))
    elif tag == "phoneme":
        alphabet = element.attrib.get("alphabet", "ipa").lower()
        if alphabet != "ipa":
            raise ValueError(f"SSML <phoneme alphabet={alphabet!r}>: only alphabet='ipa' is read")
        if not element.attrib.get("ph", "").strip():
            raise ValueError("SSML <phoneme> needs a ph attribute with the IPA to say")
        pieces.append(Phonemes(element.attrib["ph"], rate))
    elif tag == "say-as":
        kind = element.attrib.get("interpret-as")
        if not kind:
            raise ValueError("SSML <say-as> needs an interpret-as attribute")
        content = "".join(element.itertext())
        if content.strip():
            pieces.append(Words(content, rate, kind, element.attrib.get("format")))
    else:
        if element.text:
            pieces.append(Words(element.text, rate))
        for child in element:
            _walk(child, pieces, rate, warned)
            if child.tail:
                pieces.append(Words(child.tail, rate))
    if tag in ("p", "s"):
        pieces.append(Boundary(paragraph=tag == "p"))


def _warn_once(warned: set[str], key: str, message: str) -> None:
    if key not in warned:
        warned.add(key)
        logger.warning(message)


def _break_seconds(element: Element) -> float:
    if "time" in element.attrib:
        match = _TIME_RE.fullmatch(element.attrib["time"])
        if match is None:
            written = element.attrib["time"]
            raise ValueError(f"SSML <break time={written!r}>: write a time such as '500ms', '1.5s'")
        seconds = float(match.group(1)) / (1000.0 if match.group(2).lower() == "ms" else 1.0)
        if seconds > MAX_BREAK_SECONDS:
            raise ValueError(
                f"SSML <break time={element.attrib['time']!r}>: at most {MAX_BREAK_SECONDS:g}s"
            )
        return seconds
    strength = element.attrib.get("strength", "medium").lower()
    if strength not in BREAK_STRENGTHS:
        raise ValueError(
            f"SSML <break strength={strength!r}>: expected one of {', '.join(BREAK_STRENGTHS)}"
        )
    return BREAK_STRENGTHS[strength]


def _prosody_rate(element: Element, rate: float, warned: set[str]) -> float:
    for name in ("pitch", "volume", "contour", "range"):
        if name in element.attrib:
            _warn_once(
                warned, f"prosody {name}", f"SSML <prosody {name}> is not supported; ignored"
            )
    value = element.attrib.get("rate")
    if value is None:
        return rate
    if value.lower() in RATES:
        new = RATES[value.lower()]
    else:
        match = _RATE_RE.fullmatch(value)
        if match is None:
            raise ValueError(
                f"SSML <prosody rate={value!r}>: write x-slow, slow, medium, fast, x-fast, "
                "a percentage ('80%', '+10%') or a multiple ('1.2')"
            )
        sign, number, percent = match.groups()
        amount = float(number) / (100.0 if percent else 1.0)
        # Relative with a sign: "+10%" is 1.1 times the enclosing rate.
        new = rate * (1.0 + (amount if sign == "+" else -amount)) if sign else amount
    if not MIN_RATE <= new <= MAX_RATE:
        raise ValueError(
            f"SSML <prosody rate={value!r}> gives {new:g}x; the rate must be within "
            f"{MIN_RATE:g}x-{MAX_RATE:g}x of the voice's own"
        )
    return new
