"""Text -> audio with numpy and onnxruntime: load a voice, synthesize, batch, stream.

The host side of the ONNX contract (``flowaudio.runtime.contract``): the text frontend, the
durations and their expansion to frames, the noise (numpy, from the seed), the ODE loop
(``flowaudio.runtime.solvers``, so steps, solver, schedule, temperature and guidance are run-time
choices) and the vocoder call. The graphs are reached through a :class:`Backend`, so the same
pipeline runs the exported graphs (:class:`OnnxBackend`) and, in ``export/verify.py``, the torch
modules they came from.

Shapes: B batch, L tokens, T frames, C mel bands, S speaker vector size.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.io import save_audio, wav_bytes
from flowaudio.audio.istft import spectrum_to_audio
from flowaudio.audio.level import PeakLimiter
from flowaudio.config import from_dict
from flowaudio.runtime import contract as C
from flowaudio.runtime import solvers
from flowaudio.runtime.clauses import split_clauses
from flowaudio.runtime.contract import SynthesisConfig, VoiceFormatError, VoiceMeta
from flowaudio.runtime.solvers import Solver
from flowaudio.text.frontend import LexiconLike, Segment, TextFrontend, stored_text_config
from flowaudio.text.language import LanguageCheck
from flowaudio.text.normalize import check_normalizer_version
from flowaudio.text.pronounce import VOICE_LEXICON
from flowaudio.text.symbols import SPECIALS, SymbolTable

logger = logging.getLogger(__name__)

#: Sentences per pass through the graphs on a GPU, where a pass costs about the same whatever
#: its batch.
DEFAULT_BATCH = 8
#: Sentences per pass on CPU, where a pass costs in proportion to its frames: measured on 2
#: cores, 8 equal sentences in passes of 2 took 0.89-0.95x the time of passes of 1, passes of 4
#: 0.91-0.98x and of 8 1.03-1.06x, and every item of a pass adds its activations to the peak
#: memory.
DEFAULT_BATCH_CPU = 2
#: A sentence joins a pass only if the pass's longest sentence is at most this much longer
#: (in tokens) than its shortest: padding is computed like real frames, and on CPU a pass of
#: several sentences is no faster per frame than one sentence at a time (measured on 2 cores:
#: 8 equal sentences in passes of 8 vs 1: 1.03x the time), so uneven passes only waste work
#: (a 159-token and a 483-token sentence: 0.60x the time when run apart).
MAX_PADDING = 0.15

#: ``Voice.stream`` cuts a longer first sentence after its first clause (or first words): 96
#: tokens (blank-interspersed, ~48 phonemes) are ~3 s of speech, whose encoder and velocity
#: passes take ~25 ms on 2 cores, so the first audio does not wait for a 40-word sentence.
FIRST_PIECE_TOKENS = 96
#: The shortest first piece: no cut before this many tokens (~1 s of speech).
FIRST_PIECE_MIN_TOKENS = 24

Array = np.ndarray


@dataclass(frozen=True)
class Audio:
    """Synthesized speech: float32 samples and their sample rate. What the runtime gives out
    never exceeds :data:`~flowaudio.audio.level.OUTPUT_PEAK` (speech that would is turned
    down, see :class:`~flowaudio.audio.level.PeakLimiter`)."""

    samples: Array
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def save(self, path: str | Path, subtype: str = "PCM_16") -> None:
        """Write an audio file in the format its suffix names: .wav (or none), .flac, .ogg
        (Vorbis), .opus or .mp3 where the installed libsndfile has it (a ValueError lists
        them otherwise); ``subtype`` is the WAV sample format, ``PCM_16`` or ``FLOAT``."""
        save_audio(path, self.samples, self.sample_rate, subtype=subtype)  # type: ignore[arg-type]

    def to_wav_bytes(self, subtype: str = "PCM_16") -> bytes:
        """The WAV file as bytes (for HTTP responses)."""
        return wav_bytes(self.samples, self.sample_rate, subtype=subtype)  # type: ignore[arg-type]


class Backend(Protocol):
    """The three graphs of a voice, numpy in and numpy out (see ``contract`` for shapes)."""

    def encode(
        self,
        ids: Array,
        id_lengths: Array,
        length_scale: Array,
        speakers: Array | None,
        speaker_embedding: Array | None,
    ) -> tuple[Array, Array, Array]:
        """-> mu (B, C, L), log_durations (B, 1, L), speaker_cond (B, S)."""
        ...

    def velocity(
        self,
        x: Array,
        t: Array,
        mu_frames: Array,
        mel_mask: Array,
        speaker_cond: Array,
        dt: Array | None = None,
    ) -> Array:
        """-> v (B, C, T); ``dt`` (B,) only for an interval student (``has_dt``)."""
        ...

    def vocode(self, mel: Array) -> Array:
        """De-normalised log-mel (B, C, T) -> audio (B, T * hop)."""
        ...


class OnnxBackend:
    """The exported graphs in onnxruntime; sessions are created once and reused."""

    def __init__(
        self,
        voice_dir: str | Path,
        meta: VoiceMeta,
        threads: int | None = None,
        providers: Sequence[str] | str | None = None,
    ):
        from flowaudio.runtime.graphcheck import check_graph_files, open_graph
        from flowaudio.runtime.session import pick_providers

        voice_dir = Path(voice_dir)
        self.providers = pick_providers(providers)
        files = [C.ENCODER_ONNX, C.VELOCITY_ONNX]
        if meta.vocoder == "onnx":
            files.append(C.VOCODER_ONNX)
        for name in files:
            if not (voice_dir / name).is_file():
                raise VoiceFormatError(f"{voice_dir} is missing {name}; re-export the voice")
        # Each graph is checked before it is used (graphcheck: hash, names, metadata).
        check_graph_files(voice_dir, files, meta)
        sessions = [open_graph(voice_dir, name, meta, self.providers, threads) for name in files]
        self.encoder, self.velocity_session = sessions[:2]
        self.vocoder = sessions[2] if meta.vocoder == "onnx" else None
        # A spectrum-form vocoder graph (schema 3) leaves the ISTFT to the host.
        self.vocoder_output = meta.vocoder_output
        self.audio_config = from_dict(AudioConfig, meta.audio)
        self.speaker_mode = meta.speaker_mode
        #: Whether the graphs run on a GPU (CUDA can fall back to CPU: ask the session).
        self.on_gpu = self.velocity_session.get_providers()[0] == "CUDAExecutionProvider"

    def encode(self, ids, id_lengths, length_scale, speakers, speaker_embedding):
        feed = {C.ENC_IDS: ids, C.ENC_ID_LENGTHS: id_lengths, C.ENC_LENGTH_SCALE: length_scale}
        if self.speaker_mode == "id":
            feed[C.ENC_SPEAKERS] = speakers
        else:
            feed[C.ENC_SPEAKER_EMBEDDING] = speaker_embedding
        mu, logw, spk = self.encoder.run([C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND], feed)
        return mu, logw, spk

    def velocity(self, x, t, mu_frames, mel_mask, speaker_cond, dt=None):
        return self.bind_velocity(mu_frames, mel_mask, speaker_cond)(x, t, dt)

    @property
    def has_dt(self) -> bool:
        """The velocity graph takes a step size (an interval student, voice schema 2)."""
        return any(i.name == C.VEL_DT for i in self.velocity_session.get_inputs())

    def bind_velocity(
        self, mu_frames: Array, mel_mask: Array, speaker_cond: Array
    ) -> Callable[..., Array]:
        """A velocity function ``f(x, t, dt=None)`` for one ODE solve, with the constant inputs
        bound once (``dt`` only for an interval student)."""
        from flowaudio.runtime.session import BoundRunner

        runner = BoundRunner(
            self.velocity_session,
            {
                C.VEL_MU_FRAMES: mu_frames,
                C.VEL_MEL_MASK: mel_mask,
                C.VEL_SPEAKER_COND: speaker_cond,
            },
        )

        def run(x: Array, t: Array, dt: Array | None = None) -> Array:
            feed = {C.VEL_X: x, C.VEL_T: t}
            if dt is not None:
                feed[C.VEL_DT] = dt
            return runner(feed)

        return run

    def vocode(self, mel):
        if self.vocoder is None:
            raise RuntimeError("this voice has no ONNX vocoder (it uses griffin-lim)")
        if self.vocoder_output == "spectrum":
            spectrum = self.vocoder.run([C.VOC_SPECTRUM], {C.VOC_MEL: mel})[0]
            return spectrum_to_audio(spectrum, self.audio_config)
        return self.vocoder.run([C.VOC_AUDIO], {C.VOC_MEL: mel})[0]


#: Longest run of digits read aloud. Python refuses to convert more than 4,300 digits to a number
#: and names sys.set_int_max_str_digits in its message; a number this long is a mistake (or an
#: attack on the server's time: 5,000 digits read aloud last half an hour).
MAX_NUMBER_DIGITS = 1000
_DIGIT_RUN = re.compile(r"\d(?:[\d,._ ]*\d)?")


def _check_numbers(text: str) -> None:
    """ValueError for a number too long to read (the message speaks of the input)."""
    if not isinstance(text, str):
        return  # the frontend names the wrong type
    for match in _DIGIT_RUN.finditer(text):
        digits = sum(c.isdigit() for c in match.group())
        if digits > MAX_NUMBER_DIGITS:
            raise ValueError(
                f"the text holds a number of {digits} digits (from character {match.start()}); "
                f"numbers longer than {MAX_NUMBER_DIGITS} digits are not read aloud: shorten it "
                "or write it out in words"
            )


@functools.lru_cache(maxsize=8)
def _speakable_ids(symbols: tuple[str, ...]) -> frozenset[int]:
    """Ids of the symbols that make a sound: any letter (IPA included), not punctuation,
    spaces or the special tokens."""
    return frozenset(
        i
        for i, sym in enumerate(symbols)
        if sym not in SPECIALS and any(unicodedata.category(c).startswith("L") for c in sym)
    )


class SynthesisCancelledError(Exception):
    """The caller's ``cancel`` event was set; the synthesis stopped between two passes."""


@dataclass(frozen=True)
class _Encoded:
    """What the encoder gives the rest of a synthesis: mu (B, C, L), whole-frame durations
    (B, L), token counts (B,) and the speaker vector (B, S)."""

    mu: Array
    durations: Array
    lengths: Array
    speaker_cond: Array


def _length_groups(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of ``lengths``, shortest first, cut into passes of at most ``batch_size`` items
    whose longest is at most ``1 + MAX_PADDING`` times their shortest."""
    groups: list[list[int]] = []
    for k in sorted(range(len(lengths)), key=lambda k: lengths[k]):
        if (
            groups
            and len(groups[-1]) < batch_size
            and lengths[k] <= (1 + MAX_PADDING) * lengths[groups[-1][0]]
        ):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def default_voice_dir() -> Path | None:
    """The voice shipped inside the package, if this build has one."""
    path = Path(str(resources.files("flowaudio"))) / "voices" / "default"
    return path if (path / C.VOICE_JSON).is_file() else None


class Voice:
    """A loaded voice: ``speakers``, ``synthesize``, ``synthesize_batch`` and ``stream``.

    Args:
        meta: the voice's ``voice.json``.
        backend: where the graphs run (:class:`OnnxBackend` for exported voices).
        path: the voice directory, for messages.
    """

    def __init__(self, meta: VoiceMeta, backend: Backend, path: Path | None = None):
        self.meta = meta
        self.backend = backend
        self.path = path
        self.audio_config = from_dict(AudioConfig, meta.audio)
        lexicon = path / VOICE_LEXICON if path is not None else None
        self.frontend = TextFrontend(
            stored_text_config(meta.text),
            SymbolTable.from_dict(meta.symbols),
            lexicon=lexicon if lexicon is not None and lexicon.is_file() else None,
        )
        check_normalizer_version(self.frontend.config.normalizer_version, f"voice {meta.name!r}")
        self.speakers: tuple[str, ...] = tuple(meta.speakers)
        self._null_cond = np.asarray(meta.null_speaker_cond, dtype=np.float32)
        self._pad_value = math.log(self.audio_config.log_floor)
        self._has_dt = bool(getattr(backend, "has_dt", False))
        if self._has_dt and not meta.is_student:
            raise VoiceFormatError(
                f"{path or meta.name}: the velocity graph takes a step size (dt) but voice.json "
                "does not say the voice is distilled; re-export it with `flowaudio export`"
            )

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        threads: int | None = None,
        providers: Sequence[str] | str | None = None,
    ) -> Voice:
        """Load a voice directory, or the package's default voice when ``path`` is None."""
        if path is None:
            found = default_voice_dir()
            if found is None:
                raise VoiceFormatError(
                    "this flowaudio build ships no default voice; pass a voice directory "
                    "(voice=...) made with `flowaudio export`"
                )
            path = found
        path = Path(path)
        meta = VoiceMeta.load(path)
        backend = OnnxBackend(path, meta, threads=threads, providers=providers)
        try:
            voice = cls(meta, backend, path)
            # The phonemizer now: an unknown backend must not wait for the first call, where
            # it would read as "no pronounceable text" (espeak's own errors pass unchanged).
            voice.frontend.phonemizer  # noqa: B018
        except VoiceFormatError:
            raise
        except ValueError as exc:  # a config field of voice.json (audio, text, symbols)
            raise VoiceFormatError(
                f"{path / C.VOICE_JSON}: {exc}; re-export the voice with `flowaudio export`"
            ) from exc
        return voice

    @property
    def sample_rate(self) -> int:
        return self.audio_config.sample_rate

    # -- public API ---------------------------------------------------------------------------

    def synthesize(
        self,
        text: str,
        speaker: str | int | None = None,
        steps: int | None = None,
        solver: str | None = None,
        temperature: float | None = None,
        speed: float = 1.0,
        seed: int | None = None,
        schedule: str | None = None,
        guidance_scale: float | None = None,
        speaker_embedding: Array | None = None,
        batch_size: int | None = None,
        lexicon: LexiconLike | None = None,
        cancel: threading.Event | None = None,
        *,
        config: SynthesisConfig | None = None,
    ) -> Audio:
        """Speech for ``text``; long text is split into sentences joined by short pauses.

        The settings come as one ``config=SynthesisConfig(...)`` or, as a shorthand, as the
        keywords ``steps`` ... ``guidance_scale`` (the fields of :class:`SynthesisConfig`);
        not both. None takes the voice's default.

        ``text`` may be SSML (it starts with ``<speak>``) and may hold inline ``[[ IPA ]]``
        phonemes; ``lexicon`` (a ``{word: ipa}`` dict, a file of ``word<TAB>IPA`` lines or a
        ``Lexicon``) adds to the voice's own ``lexicon.tsv``.

        Raises:
            ValueError: empty or unpronounceable text, malformed SSML, IPA the voice cannot
                say, an unknown speaker (the message lists the voice's speakers), or a setting
                out of range.
            SynthesisCancelledError: ``cancel`` was set (checked between passes through the graphs).
        """
        keywords = SynthesisConfig(
            steps=steps,
            solver=solver,  # type: ignore[arg-type]  # parsed by SynthesisConfig
            schedule=schedule,  # type: ignore[arg-type]
            temperature=temperature,
            guidance_scale=guidance_scale,
            speed=speed,
            seed=seed,
        )
        if config is None:
            config = keywords
        elif keywords != SynthesisConfig():
            raise ValueError(
                "pass the settings as config=SynthesisConfig(...) or as keywords, not both"
            )
        return self.synthesize_batch(
            [text],
            speaker,
            config,
            speaker_embedding=speaker_embedding,
            batch_size=batch_size,
            lexicon=lexicon,
            cancel=cancel,
        )[0]

    def synthesize_batch(
        self,
        texts: Sequence[str],
        speaker: str | int | None = None,
        config: SynthesisConfig | None = None,
        *,
        speaker_embedding: Array | None = None,
        batch_size: int | None = None,
        lexicon: LexiconLike | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Audio]:
        """Speech for several texts, their sentences run through the graphs together.

        ``config`` holds the settings (None: the voice's defaults and a fresh seed).

        Sentences go through the graphs in passes of up to ``batch_size`` items of similar
        length (see :data:`MAX_PADDING`), shortest first; ``batch_size=None`` takes
        :data:`DEFAULT_BATCH` on a GPU and :data:`DEFAULT_BATCH_CPU` on CPU.

        Each sentence's noise comes from (seed, text index, sentence index), so a text gets
        the same mel whether it is synthesized alone, in a batch or streamed. In a batch the
        vocoder also sees the padding after a shorter sentence, which changes its last
        receptive field (a fraction of a second, as the sentence ends) by a small amount.

        ``cancel`` (e.g. set by a server whose client left) stops the work before the next pass
        with :class:`SynthesisCancelledError`: a thread cannot be interrupted, but a long text is
        many passes.
        """
        if isinstance(texts, str):
            raise ValueError("synthesize_batch takes a list of texts; use synthesize for one")
        if not texts:
            raise ValueError("synthesize_batch needs at least one text")
        if batch_size is None:
            on_gpu = getattr(self.backend, "on_gpu", False)
            batch_size = DEFAULT_BATCH if on_gpu else DEFAULT_BATCH_CPU
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1 (or None), got {batch_size!r}")
        opts = self._resolve(config)
        spk_id, spk_emb = self._speaker(speaker, speaker_embedding)
        plans = [self._plan(text, lexicon, opts) for text in texts]
        units = []  # (text index, segment index, ids)
        for ti, plan in enumerate(plans):
            for si, segment in enumerate(plan):
                if segment.ids:
                    units.append((ti, si, segment.ids))
        audio_by_unit: dict[tuple[int, int], Array] = {}
        for group in _length_groups([len(u[2]) for u in units], batch_size):
            if cancel is not None and cancel.is_set():
                raise SynthesisCancelledError("cancelled between two passes")
            chunk = [units[k] for k in group]
            mels, frames = self._mels(
                [u[2] for u in chunk],
                [(u[0], u[1]) for u in chunk],
                opts,
                spk_id,
                spk_emb,
                rates=[plans[u[0]][u[1]].rate for u in chunk],
            )
            for (ti, si, _), audio in zip(chunk, self._vocode(mels, frames), strict=True):
                audio_by_unit[(ti, si)] = audio
        out = []
        for ti, plan in enumerate(plans):
            parts = []
            for si, segment in enumerate(plan):
                if (ti, si) in audio_by_unit:
                    parts.append(audio_by_unit[(ti, si)])
                parts.append(self._silence(segment.pause_after))
            out.append(Audio(np.concatenate(parts).astype(np.float32), self.sample_rate))
        return out

    def stream(
        self,
        text: str,
        speaker: str | int | None = None,
        config: SynthesisConfig | None = None,
        *,
        speaker_embedding: Array | None = None,
        chunk_frames: int = 48,
        context_frames: int = 16,
        lexicon: LexiconLike | None = None,
        first_piece_tokens: int | None = FIRST_PIECE_TOKENS,
    ) -> Iterator[Audio]:
        """Yield audio chunks as they are ready: sentence by sentence, and within a sentence
        the vocoder runs on overlapping windows of ``chunk_frames`` mel frames (each with
        ``context_frames`` of context on both sides), so the first audio arrives long before
        the whole text is done. A first sentence longer than ``first_piece_tokens`` tokens
        has its first clause (or, without a clause mark in reach, its first words) cut off
        and synthesized on its own (:func:`~flowaudio.runtime.clauses.split_clauses`), so the
        first audio waits for that piece only; None never cuts. Otherwise concatenated chunks
        equal :meth:`synthesize` up to the vocoder's window edges (and exactly, for the mel,
        with the same seed). A sentence that overshoots the output peak is turned down from
        the chunk where it does (synthesize turns the whole sentence down), so no streamed
        sample is clipped either.
        """
        if chunk_frames < 1 or context_frames < 0:
            raise ValueError(
                f"chunk_frames must be >= 1 and context_frames >= 0, got {chunk_frames}, "
                f"{context_frames}"
            )
        if first_piece_tokens is not None and first_piece_tokens < 2 * FIRST_PIECE_MIN_TOKENS:
            raise ValueError(
                f"first_piece_tokens must be None or >= {2 * FIRST_PIECE_MIN_TOKENS}, got "
                f"{first_piece_tokens}"
            )
        opts = self._resolve(config)
        spk_id, spk_emb = self._speaker(speaker, speaker_embedding)
        hop = self.audio_config.hop_length
        first = True
        for si, segment in enumerate(self._plan(text, lexicon, opts)):
            pause = self._silence(segment.pause_after)
            if not segment.ids:
                if len(pause):
                    yield Audio(pause, self.sample_rate)
                continue
            pieces = [tuple(segment.ids)]
            if first and first_piece_tokens is not None:
                pieces = split_clauses(
                    segment.ids,
                    self.frontend.symbols.symbols,
                    first_piece_tokens,
                    FIRST_PIECE_MIN_TOKENS,
                    max_pieces=2,
                )
            first = False
            # The sentence's level rule as in synthesize, applied as the chunks come: the
            # gain falls at a chunk that overshoots and stays down (see PeakLimiter).
            limiter = PeakLimiter()
            for pi, ids in enumerate(pieces):
                mels, frames = self._mels(
                    [ids], [(pi, si)], opts, spk_id, spk_emb, rates=[segment.rate]
                )
                mel = mels[:, :, : frames[0]]
                n = mel.shape[2]
                if self.meta.vocoder != "onnx":  # Griffin-Lim needs the whole piece
                    yield Audio(self._vocode(mel, frames)[0], self.sample_rate)
                    continue
                for start in range(0, n, chunk_frames):
                    end = min(n, start + chunk_frames)
                    lo, hi = max(0, start - context_frames), min(n, end + context_frames)
                    audio = self.backend.vocode(np.ascontiguousarray(mel[:, :, lo:hi]))[0]
                    piece = audio[(start - lo) * hop : (end - lo) * hop]
                    yield Audio(limiter(piece), self.sample_rate)
            if len(pause):
                yield Audio(pause, self.sample_rate)

    def estimate_seconds(
        self,
        text: str,
        speaker: str | int | None = None,
        speed: float = 1.0,
        speaker_embedding: Array | None = None,
        lexicon: LexiconLike | None = None,
    ) -> float:
        """Seconds of audio :meth:`synthesize` would give for ``text``, from the encoder's
        durations alone (no flow, no vocoder: a few percent of a synthesis's time) and the
        one duration rule (:func:`~flowaudio.runtime.contract.frames_per_token`), pauses
        included: exact where the encoder sees the same batches. What a server bounds a
        request by.
        """
        length_scale = self.meta.defaults.length_scale / SynthesisConfig(speed=speed).speed
        spk_id, spk_emb = self._speaker(speaker, speaker_embedding)
        plan = self._plan(text, lexicon)
        segments = [seg for seg in plan if seg.ids]
        frames = 0
        for group in _length_groups([len(seg.ids) for seg in segments], DEFAULT_BATCH):
            encoded = self._encode(
                [segments[k].ids for k in group],
                spk_id,
                spk_emb,
                length_scale,
                [segments[k].rate for k in group],
            )
            frames += int(encoded.durations.sum())
        pauses = sum(seg.pause_after for seg in plan)
        return frames * self.audio_config.hop_length / self.sample_rate + pauses

    # -- pipeline -----------------------------------------------------------------------------

    def _plan(
        self, text: str, lexicon: LexiconLike | None, opts: SynthesisConfig | None = None
    ) -> list[Segment]:
        """The frontend's segments, the language looked at as ``opts`` says (not at all
        without ``opts``: an estimate, before the synthesis that looks)."""
        _check_numbers(text)
        plan = self.frontend.plan(
            text,
            self.meta.defaults.sentence_pause,
            lexicon,
            language_check=opts.language_check if opts else LanguageCheck.OFF,
            where=f"voice {self.meta.name!r}",
        )
        # A segment of punctuation alone ("...", "()", "«") has nothing to say: the model would
        # still make noise for its ids, so it keeps only its pause.
        speakable = _speakable_ids(self.frontend.symbols.symbols)
        plan = [
            seg if any(i in speakable for i in seg.ids) else dataclasses.replace(seg, ids=())
            for seg in plan
        ]
        if not any(segment.ids for segment in plan):
            raise ValueError(f"no pronounceable text in {text[:60]!r}")
        return plan

    def _silence(self, seconds: float) -> Array:
        return np.zeros(round(seconds * self.sample_rate), np.float32)

    def _resolve(self, config: SynthesisConfig | None) -> SynthesisConfig:
        """``config`` with the voice's defaults in place of None and a seed drawn if none was
        given; refuses what this voice cannot do."""
        opts = (config or SynthesisConfig()).resolve(self.meta.defaults)
        if self.meta.is_student and opts.guidance_scale != 1.0:
            raise ValueError(
                f"guidance_scale must be 1 for this voice, got {opts.guidance_scale}: it is a "
                "distilled student with the teacher's guidance folded in (one pass per step)"
            )
        if self._has_dt and opts.solver is not Solver.EULER:
            raise ValueError(
                "this voice is an interval student: it samples with solver 'euler', not "
                f"{opts.solver.value!r}"
            )
        if opts.seed is None:
            # os.urandom, not the secrets module: that one loads OpenSSL (~4 MB of RSS).
            opts = dataclasses.replace(opts, seed=int.from_bytes(os.urandom(8), "little") >> 1)
        return opts

    def _speaker(
        self, speaker: str | int | None, embedding: Array | None
    ) -> tuple[int, Array | None]:
        if self.meta.speaker_mode == "embedding":
            if embedding is None:
                raise ValueError(
                    "this voice is conditioned on a speaker embedding: pass speaker_embedding="
                    f"(a vector of {self.meta.speaker_embedding_dim} numbers)"
                )
            emb = np.asarray(embedding, dtype=np.float32).reshape(-1)
            if emb.shape[0] != self.meta.speaker_embedding_dim:
                raise ValueError(
                    f"speaker_embedding must have {self.meta.speaker_embedding_dim} values, "
                    f"got {emb.shape[0]}"
                )
            if not np.all(np.isfinite(emb)):
                raise ValueError("speaker_embedding contains NaN or infinite values")
            return 0, emb
        if embedding is not None:
            raise ValueError("this voice has named speakers; use speaker=, not speaker_embedding=")
        if speaker is None:
            return 0, None
        if isinstance(speaker, int) and not isinstance(speaker, bool):
            if 0 <= speaker < len(self.speakers):
                return speaker, None
        elif isinstance(speaker, str) and speaker in self.speakers:
            return self.speakers.index(speaker), None
        raise ValueError(f"unknown speaker {speaker!r}; this voice has: {', '.join(self.speakers)}")

    def _encode(
        self,
        id_seqs: Sequence[Sequence[int]],
        speaker: int,
        embedding: Array | None,
        length_scale: float,
        rates: Sequence[float] | None = None,
    ) -> _Encoded:
        """One encoder pass over B sentences and their whole-frame durations (the one duration
        rule); ``rates`` (B,) speed each sentence up (SSML prosody rate), 1 by default."""
        b = len(id_seqs)
        lengths = np.array([len(s) for s in id_seqs], dtype=np.int64)
        ids = np.zeros((b, int(lengths.max())), dtype=np.int64)
        for i, seq in enumerate(id_seqs):
            ids[i, : len(seq)] = seq
        speakers = np.full((b,), speaker, dtype=np.int64)
        emb = None if embedding is None else np.repeat(embedding[None], b, axis=0)
        scale = (length_scale / np.asarray(rates or [1.0] * b)).astype(np.float32)
        mu, logw, spk = self.backend.encode(ids, lengths, scale, speakers, emb)
        token_mask = (np.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        durations = C.frames_per_token(logw[:, 0, :], token_mask, np)
        return _Encoded(mu=mu, durations=durations, lengths=lengths, speaker_cond=spk)

    def _mels(
        self,
        id_seqs: Sequence[Sequence[int]],
        keys: Sequence[tuple[int, int]],
        opts: SynthesisConfig,
        speaker: int,
        embedding: Array | None,
        rates: Sequence[float] | None = None,
    ) -> tuple[Array, list[int]]:
        """Token ids of B sentences -> de-normalised log-mels (B, C, T_max) and frame counts;
        ``rates`` (B,) speed each sentence up (SSML prosody rate), 1 by default."""
        b = len(id_seqs)
        n_mels = self.audio_config.n_mels
        length_scale = self.meta.defaults.length_scale / opts.speed
        enc = self._encode(id_seqs, speaker, embedding, length_scale, rates)
        mu, durations, lengths, spk = enc.mu, enc.durations, enc.lengths, enc.speaker_cond
        frames = durations.sum(axis=1)
        t_max = int(frames.max())
        mu_frames = np.zeros((b, n_mels, t_max), dtype=np.float32)
        x0 = np.zeros((b, n_mels, t_max), dtype=np.float32)
        for i in range(b):
            n = int(lengths[i])
            mu_frames[i, :, : frames[i]] = np.repeat(mu[i, :, :n], durations[i, :n], axis=1)
            rng = np.random.default_rng([opts.seed, keys[i][0], keys[i][1]])
            x0[i, :, : frames[i]] = opts.temperature * rng.standard_normal((n_mels, frames[i]))
        mel_mask = (np.arange(t_max)[None, None, :] < frames[:, None, None]).astype(np.float32)

        grid = solvers.time_grid(opts.steps, opts.schedule)
        velocity = self._velocity_fn(mu_frames, mel_mask, spk, opts.guidance_scale, grid)
        y = solvers.solve(velocity, x0, grid, opts.solver) * mel_mask
        mel = y * np.float32(self.meta.mel_std) + np.float32(self.meta.mel_mean)
        mel = np.where(mel_mask > 0, mel, np.float32(self._pad_value)).astype(np.float32)
        return mel, [int(f) for f in frames]

    def _velocity_fn(
        self, mu_frames: Array, mel_mask: Array, spk: Array, guidance: float, grid: Array
    ) -> Callable[[Array, float], Array]:
        b = mu_frames.shape[0]
        bind = getattr(self.backend, "bind_velocity", None)

        def bound(mu: Array, mask: Array, cond: Array) -> Callable[..., Array]:
            if bind is not None:
                return bind(mu, mask, cond)
            return lambda x, t, dt=None: self.backend.velocity(x, t, mu, mask, cond, dt)

        if self._has_dt:
            # An interval student steps with Euler from grid point to grid point; each call
            # gets the size of the step it starts (the solver calls at grid points only).
            cond = bound(mu_frames, mel_mask, spk)
            steps = {float(a): float(b - a) for a, b in itertools.pairwise(grid)}

            def interval(x: Array, t: float) -> Array:
                dt = np.full((b,), steps[float(t)], dtype=np.float32)
                return cond(x, np.full((b,), t, dtype=np.float32), dt)

            return interval
        if guidance == 1.0:  # the conditional pass alone: one call per evaluation
            cond = bound(mu_frames, mel_mask, spk)
            return lambda x, t: cond(x, np.full((b,), t, dtype=np.float32))
        # Conditional and unconditional passes as one batch of 2B (one call per evaluation
        # instead of two): rows [0, B) see mu and the speaker, rows [B, 2B) zeros and the
        # voice's null speaker vector.
        null = np.repeat(self._null_cond[None], b, axis=0)
        pair = bound(
            np.concatenate([mu_frames, np.zeros_like(mu_frames)]),
            np.concatenate([mel_mask, mel_mask]),
            np.concatenate([spk.astype(np.float32, copy=False), null]),
        )
        g = np.float32(guidance)

        def guided(x: Array, t: float) -> Array:
            v = pair(np.concatenate([x, x]), np.full((2 * b,), t, dtype=np.float32))
            v_c, v_u = v[:b], v[b:]
            return v_u + g * (v_c - v_u)

        return guided

    def _vocode(self, mels: Array, frames: Sequence[int]) -> list[Array]:
        hop = self.audio_config.hop_length
        if self.meta.vocoder == "griffin-lim":
            from flowaudio.runtime.griffinlim import griffin_lim

            audio = griffin_lim(mels, self.audio_config)
        else:
            audio = self.backend.vocode(mels)
        # Each sentence turned down as a whole when it overshoots (never clipped, never boosted).
        return [PeakLimiter()(audio[i, : f * hop]) for i, f in enumerate(frames)]
