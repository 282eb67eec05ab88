"""Text to token ids: normalise, phonemise, map to the symbol table, intersperse blanks.

The one entry point that training (``flowaudio prepare``) and the runtime share, so a voice
hears exactly the token sequences it was trained on.

For speech, :meth:`TextFrontend.plan` also reads SSML (text starting with ``<speak>``), inline
``[[ IPA ]]`` phonemes and a lexicon, and returns :class:`Segment` s: one pass through the model
each, with the silence that follows it (a sentence pause, a paragraph pause or a ``<break>``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowaudio.config import from_dict
from flowaudio.text import ssml
from flowaudio.text.config import TextConfig
from flowaudio.text.language import LanguageCheck, check_language, find_foreign_text
from flowaudio.text.normalize import DateOrder, normalize_text
from flowaudio.text.normalize.say_as import say_as
from flowaudio.text.phonemize import Phonemizer, get_phonemizer
from flowaudio.text.pronounce import Lexicon, ipa_to_tokens, split_words
from flowaudio.text.sentences import split_sentences
from flowaudio.text.symbols import SymbolTable, intersperse

logger = logging.getLogger(__name__)

_CLOSING_MARKS = frozenset(".,;:!?)")
_PUNCTUATION_ONLY = " .,;:!?"

#: A paragraph's pause (``<p>`` in SSML), as a multiple of the sentence pause.
PARAGRAPH_PAUSE_FACTOR = 2.0

#: What a lexicon may be given as: a Lexicon, a ``{word: ipa}`` dict or a file path.
LexiconLike = Lexicon | Mapping[str, str] | str | Path


def stored_text_config(data: Mapping[str, Any]) -> TextConfig:
    """The TextConfig stored in an artifact (voice.json, a prepared cache, a checkpoint).

    Artifacts made before normaliser versions were recorded do not name one: they were made
    with version 1, not with the installed rules.
    """
    return from_dict(TextConfig, {"normalizer_version": 1, **data}, where="text")


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


@dataclass(frozen=True)
class Segment:
    """One pass through the model (or, with no ids, silence only) and the silence after it.

    Attributes:
        ids: model input ids; empty for a silence before any speech.
        text: what is said, for messages (normalised text; phonemes between slashes).
        rate: speaking rate, a multiple of the voice's own (``<prosody rate>``).
        pause_after: seconds of silence after this segment.
    """

    ids: tuple[int, ...]
    text: str
    rate: float
    pause_after: float


class TextFrontend:
    """Normalise -> phonemise -> ids, configured by a :class:`~flowaudio.text.config.TextConfig`.

    Args:
        config: text settings (backend, language, normalisation, blanks, symbol version).
        symbols: the table to encode with; defaults to the published table of
            ``config.symbols_version`` (pass the stored one when loading a model).
        lexicon: words and their IPA that every :meth:`plan` uses (a voice's own lexicon).
        date_order: how all-numeric dates are read (see ``DateOrder``).
    """

    def __init__(
        self,
        config: TextConfig | None = None,
        symbols: SymbolTable | None = None,
        lexicon: LexiconLike | None = None,
        date_order: DateOrder | str = DateOrder.AUTO,
    ):
        self.config = config or TextConfig()
        self.symbols = symbols or SymbolTable.load(self.config.symbols_version)
        self.lexicon = Lexicon.coerce(lexicon)
        self.date_order = DateOrder(date_order)
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
        return self._normalize(text, self.date_order)

    def _normalize(self, text: str, date_order: DateOrder) -> str:
        if self.config.normalize:
            return normalize_text(text, self.config.language, date_order)
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
        return Tokenized(text=normalized, phonemes=phonemes, ids=self._ids(phonemes, shown))

    def _ids(self, phonemes: str, shown: str) -> tuple[int, ...]:
        core = self.symbols.encode(phonemes)
        if not any(self.symbols.symbols[i].strip() for i in core):
            raise ValueError(
                f"no pronounceable symbols in {_preview(shown)} (phonemes: {_preview(phonemes)})"
            )
        ids = [self.symbols.bos_id, *core, self.symbols.eos_id]
        if self.config.intersperse_blank:
            ids = intersperse(ids, self.symbols.blank_id)
        return tuple(ids)

    def plan(
        self,
        text: str,
        sentence_pause: float,
        lexicon: LexiconLike | None = None,
        max_chars: int = 300,
        language_check: LanguageCheck | str = LanguageCheck.WARN,
        where: str = "",
    ) -> list[Segment]:
        """The segments to synthesize for ``text`` (plain text, or SSML when it starts with
        ``<speak>``), with ``sentence_pause`` seconds between sentences.

        Inline ``[[ IPA ]]`` phonemes and words of the lexicon (this frontend's, with
        ``lexicon`` on top) are said as written; the rest is normalised and phonemised, after
        a look at whether it is in this frontend's language (``language_check``, see
        :func:`~flowaudio.text.language.check_language`; ``where`` names the voice).

        Raises:
            ValueError: empty or unpronounceable text, malformed SSML, IPA the symbol table
                cannot say, or phonemes for a voice that reads letters.
            LanguageMismatchError: ``language_check`` is strict and the text looks like another
                language (a ValueError too).
        """
        _check_text(text)
        pieces = ssml.parse_ssml(text) if ssml.is_ssml(text) else ssml.plain_pieces(text)
        extra = Lexicon.coerce(lexicon)
        words = self.lexicon.merged(extra) if self.lexicon is not None else extra
        # The words to read by the rules (not inline phonemes, say-as or lexicon words), looked
        # at before any normalising or phonemising: a strict check refuses cheaply.
        written = " ".join(
            chunk
            for piece in pieces
            if isinstance(piece, ssml.Words) and piece.say_as is None
            for chunk, is_ipa in split_words(piece.text, words)
            if not is_ipa
        )
        check_language(written, self.config.language, language_check, where)
        planner = _Planner(sentence_pause, max_chars)
        for piece in pieces:
            if isinstance(piece, ssml.Break):
                planner.pause(piece.seconds, explicit=True)
            elif isinstance(piece, ssml.Boundary):
                factor = PARAGRAPH_PAUSE_FACTOR if piece.paragraph else 1.0
                planner.pause(sentence_pause * factor, explicit=False)
            elif isinstance(piece, ssml.Phonemes):
                planner.add(self._tokens(piece.ipa), piece.rate, is_tokens=True)
            elif piece.say_as is not None:
                spoken = say_as(piece.text, piece.say_as, piece.date_format, self._normalize)
                planner.add(spoken, piece.rate, is_tokens=False)
            else:
                for chunk, is_ipa in split_words(piece.text, words):
                    if is_ipa:
                        planner.add(self._tokens(chunk), piece.rate, is_tokens=True)
                    else:
                        normalized = self._normalize(chunk, self.date_order)
                        planner.add(normalized, piece.rate, is_tokens=False, split=True)
        segments = [self._segment(draft) for draft in planner.finish()]
        if not any(segment.ids for segment in segments):
            found = find_foreign_text(written, self.config.language)
            raise ValueError(
                f"no pronounceable text in {_preview(text)}"
                + (
                    f" (it looks like {found.describe()}, not {self.config.language})"
                    if found
                    else ""
                )
            )
        return segments

    def _tokens(self, ipa: str) -> str:
        if self.config.phonemizer == "grapheme":
            raise ValueError(
                f"phonemes {ipa!r} need a voice that reads phonemes; this one reads letters "
                "(phonemizer 'grapheme')"
            )
        return ipa_to_tokens(ipa, self.symbols, self.config.language)

    def _segment(self, draft: _Draft) -> Segment:
        shown = " ".join(f"/{t}/" if is_tokens else t for t, is_tokens in draft.parts)
        if not draft.parts:
            return Segment((), "", draft.rate, draft.pause)
        phonemes = ""
        for t, is_tokens in draft.parts:
            part = t if is_tokens else self.phonemizer.phonemize(t)
            # Punctuation sticks to the word before it, as espeak writes it ("lˈʌv.").
            phonemes += part if part[:1] in _CLOSING_MARKS or not phonemes else " " + part
        try:
            ids = self._ids(phonemes, shown)
        except ValueError:
            logger.warning("skipping unpronounceable sentence %r", shown[:60])
            ids = ()
        return Segment(ids, shown, draft.rate, draft.pause)


@dataclass
class _Draft:
    parts: list[tuple[str, bool]]  # (normalised text | tokens, is_tokens)
    rate: float
    pause: float
    explicit: bool  # the pause comes from <break> (a sentence pause does not replace it)


class _Planner:
    """Collects words and phonemes into segments, closing one at each sentence end, break or
    change of rate."""

    def __init__(self, sentence_pause: float, max_chars: int):
        self.sentence_pause = sentence_pause
        self.max_chars = max_chars
        self.done: list[_Draft] = []
        self.parts: list[tuple[str, bool]] = []
        self.rate = 1.0

    def add(self, text: str, rate: float, is_tokens: bool, split: bool = False) -> None:
        if not text.strip():
            return
        if self.parts and rate != self.rate:
            self.pause(0.0, explicit=False)
        self.rate = rate
        if is_tokens:
            self.parts.append((text, True))
            return
        sentences = split_sentences(text, self.max_chars) if split else [text]
        finished = text.rstrip()[-1:] in ".!?"
        for k, sentence in enumerate(sentences):
            if not sentence.strip(_PUNCTUATION_ONLY) and not self.parts:
                # Punctuation after a rate change or a break belongs to the words before it
                # (and is not said at all before any words).
                if self.done and self.done[-1].parts:
                    self.done[-1].parts.append((sentence, False))
            else:
                self.parts.append((sentence, False))
            if k < len(sentences) - 1 or finished:
                self.pause(self.sentence_pause, explicit=False)

    def pause(self, seconds: float, explicit: bool) -> None:
        """End the current segment with ``seconds`` of silence (a break replaces a sentence
        pause at the same place; consecutive breaks add up)."""
        if self.parts:
            self.done.append(_Draft(self.parts, self.rate, seconds, explicit))
            self.parts = []
            return
        last = self.done[-1] if self.done else None
        if last is None:
            if explicit:  # silence before any speech
                self.done.append(_Draft([], 1.0, seconds, True))
        elif explicit:
            last.pause = last.pause + seconds if last.explicit else seconds
            last.explicit = True
        elif not last.explicit:
            last.pause = max(last.pause, seconds)

    def finish(self) -> list[_Draft]:
        if self.parts:
            self.pause(0.0, explicit=False)
        if self.done and not self.done[-1].explicit:
            self.done[-1].pause = 0.0  # no sentence pause after the last sentence
        return self.done


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: give at least one word to speak")


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
