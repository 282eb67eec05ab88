"""Pluggable grapheme-to-phoneme backends.

A backend turns normalised text into a string whose code points are tokens of the symbol table.
Two ship with flowaudio:

- ``espeak``: espeak-ng through ``phonemizer``, with the shared library and voice data from the
  ``espeakng-loader`` wheel, so no system espeak is needed. IPA with primary/secondary stress
  marks; sentence punctuation is kept as tokens (it becomes pauses).
- ``grapheme``: lower-cased characters, the fallback for setups without espeak (and for
  languages where characters are good enough).

Other backends register with :func:`register_backend`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

logger = logging.getLogger(__name__)


class PhonemizerError(RuntimeError):
    """The phonemizer backend is unavailable or failed."""


@runtime_checkable
class Phonemizer(Protocol):
    """Turns normalised text of one language into a token string."""

    name: str
    language: str

    def phonemize(self, text: str) -> str:
        """Tokens of ``text`` as a string; every code point is one token."""
        ...


class GraphemeBackend:
    """Characters as tokens: lower-cased, whitespace collapsed (the no-espeak fallback)."""

    name = "grapheme"

    def __init__(self, language: str = "en-us") -> None:
        self.language = language

    def phonemize(self, text: str) -> str:
        return " ".join(text.lower().split())


# phonemizer keeps these as tokens when preserve_punctuation is on. They are the marks that
# the English normaliser leaves in place, so prosody (pauses, questions) reaches the model.
_PUNCT_MARKS = ';:,.!?"()'
_espeak_setup_lock = threading.Lock()
_espeak_configured = False


def _configure_espeak() -> None:
    """Point phonemizer at the espeak-ng library and data shipped in the espeakng-loader wheel."""
    global _espeak_configured
    with _espeak_setup_lock:
        if _espeak_configured:
            return
        try:
            import espeakng_loader
            from phonemizer.backend.espeak.wrapper import EspeakWrapper
        except ImportError as exc:  # pragma: no cover - both are base dependencies
            raise PhonemizerError(
                "the espeak backend needs `phonemizer` and `espeakng-loader` "
                "(pip install phonemizer espeakng-loader), or use phonemizer='grapheme'"
            ) from exc
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        # phonemizer reads the data path from the environment when it loads the library.
        os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
        _espeak_configured = True


class EspeakBackend:
    """espeak-ng IPA with stress marks and punctuation, via phonemizer + espeakng-loader.

    The espeak-ng library keeps global state, so calls are serialised with a lock; one backend
    per process is enough (see :func:`get_phonemizer`, which caches them).
    """

    name = "espeak"

    def __init__(self, language: str = "en-us") -> None:
        _configure_espeak()
        from phonemizer.backend import EspeakBackend as _Backend

        self.language = language
        # phonemizer logs per-utterance chatter (word count mismatches) at WARNING.
        quiet = logging.getLogger("flowaudio.text.espeak")
        quiet.setLevel(logging.ERROR)
        try:
            self._backend = _Backend(
                language,
                punctuation_marks=_PUNCT_MARKS,
                preserve_punctuation=True,
                with_stress=True,
                language_switch="remove-flags",
                logger=quiet,
            )
        except RuntimeError as exc:
            raise PhonemizerError(
                f"espeak-ng does not know language {language!r}: {exc}. "
                "Use an espeak voice name such as 'en-us', 'en-gb', 'de', 'fr-fr'."
            ) from exc
        self._lock = threading.Lock()

    def version(self) -> str:
        return ".".join(str(v) for v in self._backend.version())

    def phonemize(self, text: str) -> str:
        if not text.strip():
            return ""
        with self._lock:
            out = self._backend.phonemize([text], strip=True, njobs=1)
        phonemes = out[0] if out else ""
        # espeak splits clauses into lines on some inputs; they are one utterance to us.
        return _WS.sub(" ", phonemes).strip()


_WS = re.compile(r"\s+")

_BACKENDS: dict[str, Callable[[str], Phonemizer]] = {
    "espeak": EspeakBackend,
    "grapheme": GraphemeBackend,
}
_cache: dict[tuple[str, str], Phonemizer] = {}
_cache_lock = threading.Lock()


def register_backend(name: str, factory: Callable[[str], Phonemizer]) -> None:
    """Make ``factory(language)`` available as ``TextConfig.phonemizer = name``."""
    _BACKENDS[name] = factory


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def get_phonemizer(name: str = "espeak", language: str = "en-us") -> Phonemizer:
    """A cached backend instance for ``(name, language)``."""
    if name not in _BACKENDS:
        raise ValueError(
            f"unknown phonemizer backend {name!r}; available: {', '.join(available_backends())}"
        )
    key = (name, language)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _BACKENDS[name](language)
        return _cache[key]
