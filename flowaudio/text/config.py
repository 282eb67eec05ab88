"""The text frontend's settings (:class:`TextConfig`): how text becomes token ids.

Saved with every prepared cache, model and voice, so training and the runtime read text alike.
Pure Python.
"""

from __future__ import annotations

import dataclasses

__all__ = ["TextConfig"]


@dataclasses.dataclass(frozen=True)
class TextConfig:
    """How text becomes token ids. Saved with every model, so runtime and training agree."""

    phonemizer: str = "espeak"
    """Backend name: ``espeak`` (espeak-ng via espeakng-loader) or ``grapheme`` (characters)."""
    language: str = "en-us"
    """Language code for the backend (an espeak voice name: ``en-us``, ``en-gb``, ``de``)."""
    normalize: bool = True
    """Run the English text normaliser (numbers, abbreviations, symbols) before G2P."""
    intersperse_blank: bool = True
    """Insert a blank token between symbols (Glow-TTS / Matcha), which eases alignment search."""
    symbols_version: str = "1"
    """Version of the symbol table; see ``flowaudio.text.symbols``."""
    normalizer_version: int = dataclasses.field(default_factory=lambda: _normalizer_version())
    """Version of the text normaliser's rules the text was (or is to be) read with: the
    installed ``flowaudio.text.normalize.NORMALIZER_VERSION`` by default. Stored artifacts
    without it were made with version 1 (see ``flowaudio.text.frontend.stored_text_config``)."""


def _normalizer_version() -> int:
    # Imported on use: the normaliser compiles its rules on import, which configs do not need.
    from flowaudio.text.normalize import NORMALIZER_VERSION

    return NORMALIZER_VERSION
