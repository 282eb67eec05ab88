"""Text to token ids: normalise, phonemise, map to the symbol table, intersperse blanks.

The one entry point that training (``flowaudio prepare``) and the runtime share, so a voice
hears exactly the token sequences it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowaudio.config import TextConfig
from flowaudio.text.normalize import normalize_text
from flowaudio.text.phonemize import Phonemizer, get_phonemizer
from flowaudio.text.sentences import split_sentences
from flowaudio.text.symbols import SymbolTable, intersperse


@dataclass(frozen=True)
class Tokenized:
    """One utterance through the frontend.

    Attributes:
        text: the normalised text that was phonemised.
        phonemes: the backend's token string (one code point per token).
        ids: model input ids (with BOS/EOS and, if configured, interspersed blanks).
    """

    text: str
    phonemes: str
    ids: tuple[int, ...]


class TextFrontend:
    """Normalise -> phonemise -> ids, configured by a :class:`~flowaudio.config.TextConfig`.

    Args:
        config: text settings (backend, language, normalisation, blanks, symbol version).
        symbols: the table to encode with; defaults to the published table of
            ``config.symbols_version`` (pass the stored one when loading a model).
    """

    def __init__(self, config: TextConfig | None = None, symbols: SymbolTable | None = None):
        self.config = config or TextConfig()
        self.symbols = symbols or SymbolTable.load(self.config.symbols_version)
        self._phonemizer: Phonemizer | None = None

    @property
    def phonemizer(self) -> Phonemizer:
        # Created on first use: espeak start-up is not free and not every caller needs it.
        if self._phonemizer is None:
            self._phonemizer = get_phonemizer(self.config.phonemizer, self.config.language)
        return self._phonemizer

    def normalize(self, text: str) -> str:
        """Normalised text (the identity, up to whitespace, when normalisation is off)."""
        _check_text(text)
        if self.config.normalize:
            return normalize_text(text, self.config.language)
        return " ".join(text.split())

    def sentences(self, text: str, max_chars: int = 300) -> list[str]:
        """Normalised sentences of ``text`` (for long inputs and streaming)."""
        return split_sentences(self.normalize(text), max_chars=max_chars)

    def encode(self, text: str) -> Tokenized:
        """Token ids of ``text``.

        Raises:
            ValueError: ``text`` is not a string, is empty, or nothing pronounceable remains
                after normalisation and symbol lookup (e.g. only emoji).
        """
        normalized = self.normalize(text)
        return self.encode_normalized(normalized, original=text)

    def encode_normalized(self, normalized: str, original: str | None = None) -> Tokenized:
        """Token ids of already normalised text (skips the normaliser)."""
        shown = original if original is not None else normalized
        if not normalized.strip():
            raise ValueError(f"no pronounceable text in {_preview(shown)} after normalisation")
        phonemes = self.phonemizer.phonemize(normalized)
        core = self.symbols.encode(phonemes)
        if not any(self.symbols.symbols[i].strip() for i in core):
            raise ValueError(
                f"no pronounceable symbols in {_preview(shown)} (phonemes: {_preview(phonemes)})"
            )
        ids = [self.symbols.bos_id, *core, self.symbols.eos_id]
        if self.config.intersperse_blank:
            ids = intersperse(ids, self.symbols.blank_id)
        return Tokenized(text=normalized, phonemes=phonemes, ids=tuple(ids))


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: give at least one word to speak")


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
