"""Intelligibility: transcribe with pocketsphinx or Whisper base (offline, English) and score
with jiwer.

pocketsphinx is a small, old recogniser, sensitive to the spectrum: its absolute WER on clean
speech is far from modern ASR. Whisper base (:mod:`flowaudio.eval.whisper`) hears words the way
a listener does. Always compare against the WER of reference audio on the same sentences (the
teacher recordings), never against a number from elsewhere. Reference and transcript both go
through :func:`normalize_for_wer`, so "5" and "five" are the same word.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from flowaudio.eval.audio import judge_input
from flowaudio.text.normalize import normalize_text

ASR_SAMPLE_RATE = 16000
#: The recognisers :func:`make_transcriber` knows.
ASR_NAMES = ("pocketsphinx", "whisper")
_PUNCT = re.compile(r"[^a-z' ]+")


def normalize_for_wer(text: str) -> str:
    """Words as an ASR would write them: numbers and symbols spelled out, lower case, no
    punctuation, hyphens as spaces (``"Dr. Smith's $5"`` -> ``"doctor smith's five dollars"``).
    Apostrophes stay inside words (``smith's``, ``don't``) and go at their edges, where they
    are quotation marks (``'Life'`` -> ``life``)."""
    spoken = normalize_text(text).lower().replace("-", " ")
    words = (w.strip("'") for w in _PUNCT.sub(" ", spoken).split())
    return " ".join(w for w in words if w)


class Recognizer(Protocol):
    """Anything that turns mono float audio into words."""

    name: str

    def transcribe(self, samples: np.ndarray, sample_rate: int) -> str: ...


def make_transcriber(
    name: str, whisper_model: str | Path | None = None, threads: int = 1
) -> Recognizer:
    """A recogniser by name (:data:`ASR_NAMES`); ``whisper_model`` and ``threads`` are
    Whisper's (None: the packaged Whisper base)."""
    if name == "pocketsphinx":
        return Transcriber()
    if name == "whisper":
        from flowaudio.eval.whisper import WhisperTranscriber

        return WhisperTranscriber(whisper_model, threads=threads)
    raise ValueError(f"unknown ASR {name!r}; choose from {', '.join(ASR_NAMES)}")


class Transcriber:
    """pocketsphinx with its bundled US English model; one decoder, used under a lock.

    Every utterance starts from the same feature state: pocketsphinx carries its running noise
    estimate and cepstral mean from one utterance to the next, which made a clip's transcript
    depend on the clips decoded before it (5 of 80 teacher clips changed with the order).
    """

    name = "pocketsphinx"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:  # pragma: no cover - the eval extra is installed in dev
            raise RuntimeError(
                "transcription needs pocketsphinx: pip install 'flowaudio[eval]'"
            ) from exc
        self._decoder = Decoder(samprate=ASR_SAMPLE_RATE, logfn=os.devnull)
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, sample_rate: int) -> str:
        """The recognised words of mono float audio in [-1, 1] (any sample rate)."""
        audio = judge_input(samples, sample_rate, ASR_SAMPLE_RATE)
        pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
        with self._lock:
            self._decoder.reinit_feat()  # forget the previous utterances' noise and CMN
            self._decoder.start_utt()
            self._decoder.process_raw(pcm.tobytes(), full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


@dataclass(frozen=True)
class WerResult:
    """Corpus-level word error rate (errors / reference words) and its parts."""

    wer: float
    words: int
    substitutions: int
    deletions: int
    insertions: int


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> WerResult:
    """WER over all sentences together (not a mean of per-sentence rates)."""
    import jiwer

    if len(references) != len(hypotheses) or not references:
        raise ValueError(
            f"need as many hypotheses as references (>= 1), got {len(references)} and "
            f"{len(hypotheses)}"
        )
    refs = [normalize_for_wer(r) for r in references]
    hyps = [normalize_for_wer(h) for h in hypotheses]
    if not all(refs):
        raise ValueError("every reference must contain at least one word")
    out = jiwer.process_words(refs, hyps)
    words = sum(len(r.split()) for r in refs)
    return WerResult(
        wer=(out.substitutions + out.deletions + out.insertions) / words,
        words=words,
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
    )


@dataclass(frozen=True)
class GroupedWer:
    """Corpus-level WER over everything and per group (speaker), on the same sentences."""

    overall: WerResult
    groups: dict[str, WerResult]


def grouped_word_error_rate(
    references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, Sequence[str]]
) -> GroupedWer:
    """WER per group and overall (all groups' sentences together, not a mean of groups)."""
    if set(references) != set(hypotheses) or not references:
        raise ValueError(
            f"references and hypotheses need the same groups (>= 1), got {sorted(references)} "
            f"and {sorted(hypotheses)}"
        )
    groups = {g: word_error_rate(references[g], hypotheses[g]) for g in references}
    overall = word_error_rate(
        [r for g in references for r in references[g]],
        [h for g in references for h in hypotheses[g]],
    )
    return GroupedWer(overall, groups)
