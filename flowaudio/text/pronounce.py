"""Pronunciation control without SSML: inline phonemes, a user lexicon, IPA onto the symbol table.

- Inline phonemes: ``[[ ˈfloʊ ˈɔːdioʊ ]]`` in plain text is said as written, past the normaliser
  and espeak (the same notation Piper users ask for).
- A lexicon: a UTF-8 file of ``word<TAB or spaces>IPA`` lines (``#`` starts a comment), passed
  per call or stored with a voice as ``VOICE_DIR/lexicon.tsv``. Its words are matched in the
  written text, before normalisation and espeak; the exact spelling first, then lower case.
- IPA as people write it is mapped onto the voice's symbol table (:func:`ipa_to_tokens`): the
  slashes and syllable dots go, ASCII stand-ins become IPA ("g" -> "ɡ", ":" -> "ː", "'" -> "ˈ"),
  ligatures are split ("ʧ" -> "tʃ"), and stress marks move to the vowel, where espeak (whose
  output the voice learned) puts them. A symbol the table lacks is a ValueError naming it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flowaudio.text.symbols import SymbolTable

#: The lexicon file a voice directory may hold; the runtime loads it with the voice.
VOICE_LEXICON = "lexicon.tsv"

#: ``[[ ... ]]`` without brackets inside: linear to find, nothing to nest.
INLINE_PHONEMES_RE = re.compile(r"\[\[([^\[\]]*)\]\]")

#: Words of the written text that a lexicon entry can match ("e-mail", "don't", "R2D2").
_WORD_RE = re.compile(r"(?<![\w'-])\w(?:[\w'-]*\w)?")

#: ASCII and legacy stand-ins for IPA symbols.
_IPA_SUBSTITUTES = {
    "g": "ɡ",
    ":": "ː",
    "'": "ˈ",
    "ʧ": "tʃ",
    "ʤ": "dʒ",
    "ʦ": "ts",
    "ʣ": "dz",
    "ʨ": "tɕ",
    "ʥ": "dʑ",
    "ᵊ": "ə",
    "ɝ": "ɜː",
}
#: Extra stand-ins for English voices: espeak writes the English r as "ɹ".
_ENGLISH_SUBSTITUTES = {"r": "ɹ"}
#: Marks with no sound of their own: delimiters, syllable breaks, tie bars, intonation bars.
_IPA_SILENT = frozenset("/[].|‖\u0361\u035c")
_STRESS = frozenset("ˈˌ")
_IPA_VOWELS = frozenset("aeiouyæɐɑɒɔəɘɚɛɜɝɞɤɨɪʉʊʌʏøœɵɶᵻ")


class PronunciationError(ValueError):
    """IPA the voice cannot say, or a lexicon file that cannot be read."""


def ipa_to_tokens(ipa: str, symbols: SymbolTable, language: str = "en-us") -> str:
    """``ipa`` as a token string of ``symbols`` (one code point per token), espeak's way.

    Raises:
        PronunciationError: a symbol that is not in the table and has no known stand-in.
    """
    substitutes = dict(_IPA_SUBSTITUTES)
    if language.lower().startswith("en"):
        substitutes.update(_ENGLISH_SUBSTITUTES)
    chars: list[str] = []
    unknown: list[str] = []
    for char in unicodedata.normalize("NFC", ipa):
        if char.isspace():
            chars.append(" ")
        elif char in _IPA_SILENT:
            continue
        elif char in substitutes:
            chars.extend(substitutes[char])
        elif char in symbols:
            chars.append(char)
        else:
            parts = unicodedata.normalize("NFD", char)
            if len(parts) > 1 and all(p in symbols for p in parts):
                chars.extend(parts)
            elif char not in unknown:
                unknown.append(char)
    if unknown:
        named = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
        raise PronunciationError(
            f"the IPA {ipa!r} has symbols this voice cannot say: {named}; write it with the "
            f"symbols of the voice's table (symbol table v{symbols.version}, "
            "flowaudio/text/symbols.py)"
        )
    return " ".join(_stress_on_vowels(chars).split())


def _stress_on_vowels(chars: list[str]) -> str:
    """Move each stress mark past the consonants that follow it, to its syllable's vowel
    ("ˈfloʊ" -> "flˈoʊ"), as espeak writes it."""
    out: list[str] = []
    pending = ""
    for char in chars:
        if char in _STRESS:
            pending = char
        elif pending and (char in _IPA_VOWELS or char == " "):
            out.append(pending)
            pending = ""
            out.append(char)
        else:
            out.append(char)
    out.append(pending)
    return "".join(out)


@dataclass(frozen=True)
class Lexicon:
    """Words and their IPA, matched in the written text (exact spelling, then lower case)."""

    entries: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for word, ipa in self.entries.items():
            if not isinstance(word, str) or not isinstance(ipa, str) or not ipa.strip():
                raise PronunciationError(
                    f"a lexicon maps words to IPA strings; got {word!r} -> {ipa!r}"
                )
            if not _WORD_RE.fullmatch(word):
                raise PronunciationError(
                    f"lexicon word {word!r} is not one word (letters, digits, ' and - inside)"
                )
        lower = {w.lower(): p for w, p in self.entries.items()}
        object.__setattr__(self, "_lower", lower)

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, word: str) -> str | None:
        """The IPA of ``word``, or None."""
        found = self.entries.get(word)
        return found if found is not None else self._lower.get(word.lower())  # type: ignore[attr-defined]

    def merged(self, other: Lexicon | None) -> Lexicon:
        """This lexicon with ``other``'s entries on top."""
        if other is None or not len(other):
            return self
        return Lexicon({**self.entries, **other.entries})

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        """Read a ``word<TAB or spaces>IPA`` file; errors name the file and the line."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise PronunciationError(f"cannot read lexicon {path}: {exc}") from exc
        entries: dict[str, str] = {}
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, ipa = line.partition("\t") if "\t" in line else line.partition(" ")
            if not ipa.strip():
                raise PronunciationError(f"{path}:{number}: expected 'word<TAB>IPA', got {line!r}")
            entries[word.strip()] = ipa.strip()
        try:
            return cls(entries)
        except PronunciationError as exc:
            raise PronunciationError(f"{path}: {exc}") from exc

    @classmethod
    def coerce(cls, value: Lexicon | Mapping[str, str] | str | Path | None) -> Lexicon | None:
        """A Lexicon from a Lexicon, a ``{word: ipa}`` mapping or a file path (None stays None)."""
        if value is None or isinstance(value, Lexicon):
            return value
        if isinstance(value, Mapping):
            return cls(dict(value))
        if isinstance(value, (str, Path)):
            return cls.load(value)
        raise TypeError(
            f"lexicon must be a Lexicon, a {{word: ipa}} dict or a file path, got "
            f"{type(value).__name__}"
        )


def split_words(text: str, lexicon: Lexicon | None) -> list[tuple[str, bool]]:
    """``text`` cut into (text, False) runs and (ipa, True) lexicon words, in order."""
    if lexicon is None or not len(lexicon):
        return [(text, False)]
    out: list[tuple[str, bool]] = []
    start = 0
    for match in _WORD_RE.finditer(text):
        word, end = match.group(0), match.end()
        ipa = lexicon.lookup(word)
        if ipa is None and word.endswith("'s"):  # "Nguyen's": the word, then "'s" as text
            word, end = word[:-2], end - 2
            ipa = lexicon.lookup(word)
        if ipa is None:
            continue
        if match.start() > start:
            out.append((text[start : match.start()], False))
        out.append((ipa, True))
        start = end
    if start < len(text):
        out.append((text[start:], False))
    return out
