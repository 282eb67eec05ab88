"""``flowaudio evaluate``: synthesize a test set on a grid of settings and measure it.

A setting is a pair (ODE steps, guidance scale); the grid is every pair of the step counts and
guidance scales asked for, plus the voice's default pair. A distilled voice refuses a guidance
other than 1 (its guidance is folded in): such pairs are left out with a note. The k-th usable
row of the test set (0-based) is synthesized with seed ``seed + k`` at every setting, so settings
differ only by the ODE solve.

Each clip is judged the same way, whether it is a synthesized clip, the reference recording or
its copy synthesis (the reference's own log-mels through the voice's neural vocoder: what the
vocoder alone costs):

- intelligibility: transcripts by each ASR (pocketsphinx, Whisper base); corpus-level WER
  (errors / reference words) per speaker and overall;
- DNSMOS P.808, SIG, BAK and OVRL (:mod:`flowaudio.eval.dnsmos`), and their difference to the
  references': an artifact alarm, not a naturalness score;
- mel-cepstral distortion against the reference, DTW-aligned (:mod:`flowaudio.eval.metrics`);
- pace: total duration, and speech span without leading and trailing silence, against the
  references' (:class:`~flowaudio.eval.metrics.Pace`);
- speaker similarity: resemblyzer embeddings; each teacher is the normalised mean of its
  reference clips' embeddings, each synthesized speaker the same over its clips; a matrix of
  cosines synthesized speaker x teacher per system;
- real-time factor of the synthesis: wall time / audio duration (median over rows), after one
  warm-up synthesis per setting, with the onnxruntime thread count recorded.

:func:`evaluate` measures (:class:`EvaluationReport`, whose :meth:`~EvaluationReport.to_dict` is
the JSON document); :mod:`flowaudio.eval.render` writes ``report.md``, ``report.json`` and the
plots. The bars (:class:`~flowaudio.eval.metrics.QualityBars`) are checked per speaker on the
first ASR of the run.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from flowaudio.audio.io import AudioError, load_audio
from flowaudio.audio.mel import log_mel_spectrogram, min_num_samples
from flowaudio.data.manifest import ManifestProblem, safe_id
from flowaudio.eval.asr import ASR_NAMES, GroupedWer, Recognizer, grouped_word_error_rate
from flowaudio.eval.dnsmos import DnsmosScore
from flowaudio.eval.metrics import (
    DEFAULT_MCD_ORDER,
    Pace,
    QualityBars,
    SimilarityBar,
    SimilarityMatrix,
    WerBar,
    mean_embedding,
    mel_cepstral_distortion,
    similarity_matrix,
    speech_span,
    wer_bar,
)
from flowaudio.eval.testset import EvalItem, EvalSet
from flowaudio.runtime.contract import MAX_STEPS
from flowaudio.version import __version__

if TYPE_CHECKING:
    from flowaudio.audio.config import AudioConfig
    from flowaudio.eval.dnsmos import Dnsmos
    from flowaudio.eval.speaker import SpeakerEncoder
    from flowaudio.runtime.synthesizer import Voice

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DEFAULT_STEPS = (1, 2, 4, 8)
REFERENCE = "reference"
COPY = "copy synthesis"
T = TypeVar("T")


@dataclass(frozen=True)
class EvalOptions:
    """Settings of one evaluation run."""

    steps: tuple[int, ...] = DEFAULT_STEPS
    """ODE step counts."""
    guidance: tuple[float, ...] | None = None
    """Guidance scales, paired with every step count (None: the voice's default only)."""
    asr: tuple[str, ...] = ("pocketsphinx",)
    """Recognisers (:data:`flowaudio.eval.asr.ASR_NAMES`); the bars use the first."""
    whisper_model: Path | None = None
    """CTranslate2 Whisper directory (None: the packaged Whisper base)."""
    dnsmos: bool = True
    """Score every clip with DNSMOS (speechmos)."""
    seed: int = 0
    """The k-th usable row is synthesized with seed ``seed + k``."""
    threads: int = 1
    """onnxruntime intra-op threads of the voice (RTF is measured with these), of DNSMOS and
    of Whisper, and torch threads of the speaker encoder."""
    mcd_order: int = DEFAULT_MCD_ORDER
    """Mel-cepstral coefficients c1..c{mcd_order} in the MCD."""
    mel_plots: int = 3
    """Samples drawn as mel spectrograms (synthesized at the default setting over reference)."""
    similarity: bool = True
    """Measure speaker similarity (needs reference audio; loads resemblyzer)."""
    bars: QualityBars = field(default_factory=QualityBars)

    def __post_init__(self) -> None:
        if not self.steps or any(
            isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= MAX_STEPS
            for s in self.steps
        ):
            raise ValueError(f"steps must be integers in [1, {MAX_STEPS}], got {self.steps!r}")
        if self.guidance is not None and (
            not self.guidance or any(not 0.0 <= g <= 10.0 for g in self.guidance)
        ):
            raise ValueError(f"guidance scales must be in [0, 10], got {self.guidance!r}")
        if not self.asr or any(a not in ASR_NAMES for a in self.asr):
            raise ValueError(f"asr must name some of {', '.join(ASR_NAMES)}, got {self.asr!r}")
        if self.seed < 0 or self.threads < 1 or self.mel_plots < 0:
            raise ValueError(
                f"need seed >= 0, threads >= 1, mel_plots >= 0; got seed={self.seed}, "
                f"threads={self.threads}, mel_plots={self.mel_plots}"
            )


@dataclass(frozen=True, order=True)
class Setting:
    """One point of the grid: ODE steps and guidance scale."""

    steps: int
    guidance: float
    evaluations: int = field(init=False, compare=False)
    """Velocity-network evaluations per clip: a guided step runs the network twice
    (conditional and unconditional)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluations", self.steps * (1 if self.guidance == 1.0 else 2))

    @property
    def name(self) -> str:
        return f"steps={self.steps},guidance={self.guidance:g}"

    @property
    def label(self) -> str:
        return f"{self.steps} step{'s' if self.steps != 1 else ''}, guidance {self.guidance:g}"


@dataclass(frozen=True)
class SkippedSetting:
    """A grid point the voice refused, with its reason."""

    setting: Setting
    reason: str


@dataclass(frozen=True)
class Clip:
    """What was measured on one clip (synthesized, reference or copy synthesis)."""

    transcripts: dict[str, str]
    """ASR name -> words heard."""
    dnsmos: DnsmosScore | None
    mcd: float | None
    """Against the reference (None for the reference itself, or without one)."""
    seconds: float
    speech_seconds: float
    """Without leading and trailing silence (:func:`~flowaudio.eval.metrics.speech_span`)."""
    rtf: float | None
    """Synthesis wall time / duration (synthesized clips only)."""


@dataclass(frozen=True)
class RowResult:
    """One test-set row: its clips by system name (``reference``, ``copy synthesis`` and
    :attr:`Setting.name` of each setting)."""

    line: int
    speaker: str
    text: str
    clips: dict[str, Clip]


@dataclass(frozen=True)
class Grouped(Generic[T]):
    """A measure over all rows and per speaker."""

    overall: T
    speakers: dict[str, T]


@dataclass(frozen=True)
class RtfSummary:
    """Real-time factor of one setting: synthesis wall time / audio duration."""

    median: float
    mean: float
    wall_seconds: float
    audio_seconds: float


@dataclass(frozen=True)
class SystemResult:
    """Everything measured on one system's clips over the test set.

    A system is the references, their copy synthesis, or the voice at one :class:`Setting`.
    """

    name: str
    setting: Setting | None
    wer: dict[str, GroupedWer]
    """ASR name -> WER."""
    dnsmos: Grouped[DnsmosScore] | None
    dnsmos_minus_reference: Grouped[DnsmosScore] | None
    mcd: Grouped[float] | None
    """Mean MCD (dB) over rows."""
    pace: Grouped[Pace] | None
    similarity: SimilarityMatrix | None
    rtf: RtfSummary | None


@dataclass(frozen=True)
class SpeakerBars:
    """The three bars of one speaker."""

    wer_default: WerBar
    wer_two_steps: WerBar
    similarity: SimilarityBar

    @property
    def passed(self) -> bool | None:
        """False if any bar failed, None if none failed but one was not measured, else True."""
        return _combine(
            [self.wer_default.passed, self.wer_two_steps.passed, self.similarity.passed]
        )


@dataclass(frozen=True)
class MelSample:
    """A row drawn in the report: log-mels (C, T) of its synthesis and of its reference."""

    line: int
    speaker: str
    text: str
    synthesized: np.ndarray
    reference: np.ndarray | None


@dataclass(frozen=True)
class EvalSetInfo:
    path: Path
    rows: int
    speakers: tuple[str, ...]
    skipped: tuple[ManifestProblem, ...]


@dataclass(frozen=True)
class Measurements:
    """What the run collected, clip by clip, before anything is averaged."""

    voice: dict[str, Any]
    """What the report says about the voice (name, path, sample rate, defaults, ...)."""
    test_set: EvalSetInfo
    options: EvalOptions
    asr_models: dict[str, str]
    """ASR name -> what ran (Whisper's model directory and compute type)."""
    settings: tuple[Setting, ...]
    default: Setting
    """The voice's default setting (the bars are measured there)."""
    skipped_settings: tuple[SkippedSetting, ...]
    rows: tuple[RowResult, ...]
    embeddings: dict[str, dict[str, list[np.ndarray]]] = field(metadata={"json": False})
    """System name -> speaker -> utterance embeddings."""
    mel_samples: tuple[MelSample, ...] = field(metadata={"json": False})
    seconds: float


@dataclass(frozen=True)
class EvaluationReport(Measurements):
    """The measurements and their summaries (:func:`summarise`); :meth:`to_dict` is the JSON
    document."""

    reference: SystemResult | None
    copy_synthesis: SystemResult | None
    synthesized: tuple[SystemResult, ...]
    """One per setting, in the order of :attr:`settings`."""
    bars: dict[str, SpeakerBars]

    @property
    def speakers(self) -> tuple[str, ...]:
        return self.test_set.speakers

    @property
    def passed(self) -> bool | None:
        """The bars of all speakers together (see :attr:`SpeakerBars.passed`)."""
        return _combine([b.passed for b in self.bars.values()])

    def system(self, setting: Setting) -> SystemResult:
        return self.synthesized[self.settings.index(setting)]

    @property
    def systems(self) -> tuple[SystemResult, ...]:
        """References, copy synthesis (when measured) and every setting."""
        return tuple(s for s in (self.reference, self.copy_synthesis) if s) + self.synthesized

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema_version": SCHEMA_VERSION,
            "flowaudio_version": __version__,
            "cpu_count": os.cpu_count(),
            **plain(self),
        }
        data["bars"] = {"passed": self.passed, "speakers": data["bars"]}
        for spk, bars in self.bars.items():
            data["bars"]["speakers"][spk]["passed"] = bars.passed
        return data


def plain(obj: Any) -> Any:
    """JSON-ready data: dataclasses field by field (less fields marked ``json: False``),
    mappings with string keys, sequences as lists, arrays as nested lists, paths as strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get("json", True)
        }
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, enum.Enum)):
        return str(obj.value if isinstance(obj, enum.Enum) else obj)
    return obj


def _combine(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    if any(r is None for r in results) or not results:
        return None
    return True


# ---------------------------------------------------------------------------------------------
# The run


def resolve_speakers(voice: Voice, test_set: EvalSet) -> dict[str | None, str]:
    """Test-set speaker name -> voice speaker (None -> the voice's first speaker).

    A name matches a voice speaker as written or as the training cache names it
    (:func:`flowaudio.data.manifest.safe_id`).

    Raises:
        ValueError: a name the voice does not have (the message lists the voice's speakers).
    """
    mapping: dict[str | None, str] = {}
    unknown = []
    for name in test_set.speakers:
        if name is None:
            mapping[None] = voice.speakers[0]
        elif name in voice.speakers:
            mapping[name] = name
        elif safe_id(name) in voice.speakers:
            mapping[name] = safe_id(name)
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(
            f"test set {test_set.path} names speaker(s) {', '.join(map(repr, unknown))} that the "
            f"voice {voice.path or voice.meta.name} does not have; its speakers are: "
            f"{', '.join(voice.speakers)}"
        )
    return mapping


@dataclass
class _Judges:
    """The models every clip goes through, loaded once."""

    asr: dict[str, Recognizer]
    dnsmos: Dnsmos | None
    encoder: SpeakerEncoder | None
    cfg: AudioConfig
    mcd_order: int

    def judge(
        self,
        samples: np.ndarray,
        sample_rate: int,
        ref_mel: np.ndarray | None,
        rtf: float | None = None,
    ) -> Clip:
        mcd = None
        if ref_mel is not None:
            mel = log_mel_spectrogram(_at_least(samples, self.cfg), self.cfg)
            mcd = mel_cepstral_distortion(mel, ref_mel, self.mcd_order).mcd
        return Clip(
            transcripts={n: a.transcribe(samples, sample_rate) for n, a in self.asr.items()},
            dnsmos=None if self.dnsmos is None else self.dnsmos.score(samples, sample_rate),
            mcd=mcd,
            seconds=len(samples) / sample_rate,
            speech_seconds=speech_span(samples, sample_rate),
            rtf=rtf,
        )


def _load_judges(options: EvalOptions, test_set: EvalSet, cfg: AudioConfig) -> _Judges:
    from flowaudio.eval.asr import make_transcriber

    dnsmos = encoder = None
    if options.dnsmos:
        from flowaudio.eval.dnsmos import Dnsmos

        dnsmos = Dnsmos(threads=options.threads)
    if options.similarity and test_set.has_references:
        from flowaudio.eval.speaker import SpeakerEncoder

        encoder = SpeakerEncoder(threads=options.threads)
    asr = {
        name: make_transcriber(name, options.whisper_model, options.threads) for name in options.asr
    }
    return _Judges(asr, dnsmos, encoder, cfg, options.mcd_order)


def _grid(
    voice: Voice, options: EvalOptions, first: EvalItem, speaker: str
) -> tuple[list[Setting], list[SkippedSetting]]:
    """The settings to run, each warmed up once (the first run of a session allocates, and
    would count in the RTF), and those the voice refuses."""
    d = voice.meta.defaults
    default = Setting(d.steps, d.guidance_scale)
    guidance = options.guidance or (d.guidance_scale,)
    wanted = sorted({Setting(s, g) for s in options.steps for g in guidance} | {default})
    if default not in {Setting(s, g) for s in options.steps for g in guidance}:
        logger.info("adding the voice's default setting (%s) to the grid", default.label)

    def failure(s: Setting) -> ValueError | None:
        try:
            voice.synthesize(
                first.text, speaker=speaker, steps=s.steps, guidance_scale=s.guidance, seed=0
            )
        except ValueError as exc:
            return exc
        return None

    settings, skipped = [], []
    for s in wanted:
        exc = failure(s)
        # A refusal of the setting (a distilled voice and guidance != 1) or a bad first row
        # (reported and skipped with the rows): only the first is the setting's fault.
        if exc is not None and s.guidance != 1.0 and failure(Setting(s.steps, 1.0)) is None:
            logger.warning("skipping %s: %s", s.label, exc)
            skipped.append(SkippedSetting(s, str(exc)))
            continue
        settings.append(s)
    return settings, skipped


def evaluate(
    voice: Voice,
    test_set: EvalSet,
    options: EvalOptions | None = None,
    audio_dir: Path | None = None,
    progress: bool = True,
) -> EvaluationReport:
    """Measure ``voice`` on ``test_set`` (module docstring).

    Args:
        voice: a loaded voice; load it with ``threads=options.threads`` so the RTF is measured
            with the thread count the report states.
        test_set: from :func:`flowaudio.eval.testset.load_test_set`.
        options: settings grid, ASRs, seed, ... (defaults: :class:`EvalOptions`).
        audio_dir: where to write the synthesized (and copy-synthesized) WAVs (None: nowhere).
        progress: show a progress bar.

    Raises:
        ValueError: a speaker the voice does not have, or no row left after skipping rows
            whose reference audio or text could not be used (each skip is logged).
    """
    from tqdm.auto import tqdm

    options = options or EvalOptions()
    started = time.perf_counter()
    speakers = resolve_speakers(voice, test_set)
    cfg = voice.audio_config
    sr = voice.sample_rate
    judges = _load_judges(options, test_set, cfg)
    first = test_set.items[0]
    settings, skipped_settings = _grid(voice, options, first, speakers[first.speaker])
    d = voice.meta.defaults
    default = Setting(d.steps, d.guidance_scale)
    copy = voice.meta.vocoder == "onnx" and test_set.has_references

    rows: list[RowResult] = []
    skipped = list(test_set.problems)
    embeddings: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    mel_rows: list[tuple[EvalItem, str, np.ndarray, np.ndarray | None]] = []
    for k, item in enumerate(tqdm(test_set.items, desc="evaluate", disable=not progress)):
        speaker = speakers[item.speaker]
        where = f"{test_set.path}:{item.line}"
        audio: dict[str, np.ndarray] = {}
        reference = ref_mel = None
        if item.audio_path is not None:
            try:
                reference = load_audio(item.audio_path, cfg.sample_rate)
                if len(reference) < min_num_samples(cfg):
                    raise AudioError(f"{item.audio_path} is too short ({len(reference)} samples)")
                ref_mel = log_mel_spectrogram(reference, cfg)
            except AudioError as exc:
                logger.warning("skipping %s: reference audio unusable: %s", where, exc)
                skipped.append(ManifestProblem(where, f"reference audio unusable: {exc}"))
                continue
            audio[REFERENCE] = reference
            if copy:
                audio[COPY] = _copy_synthesis(voice, ref_mel, len(reference))
        wall: dict[str, float] = {}
        try:
            for s in settings:
                t0 = time.perf_counter()
                out = voice.synthesize(
                    item.text,
                    speaker=speaker,
                    steps=s.steps,
                    guidance_scale=s.guidance,
                    seed=options.seed + k,
                )
                wall[s.name] = time.perf_counter() - t0
                audio[s.name] = out.samples
        except ValueError as exc:
            logger.warning("skipping %s: cannot synthesize: %s", where, exc)
            skipped.append(ManifestProblem(where, f"cannot synthesize: {exc}"))
            continue
        clips = {}
        for name, samples in audio.items():
            rtf = wall[name] / (len(samples) / sr) if name in wall else None
            clips[name] = judges.judge(samples, sr, None if name == REFERENCE else ref_mel, rtf)
            if judges.encoder is not None:
                _embed_into(embeddings[name][speaker], judges.encoder, samples, sr, where)
        if audio_dir is not None:
            _save_clips(audio_dir, item.line, speaker, audio, sr)
        rows.append(RowResult(item.line, speaker, item.text, clips))
        mel_rows.append((item, speaker, audio[default.name], ref_mel))
    if not rows:
        raise ValueError(
            f"no row of {test_set.path} could be evaluated ({len(skipped)} skipped; first: "
            f"{skipped[0].source}: {skipped[0].reason})"
        )
    return summarise(
        Measurements(
            voice=_describe_voice(voice),
            test_set=EvalSetInfo(
                test_set.path,
                len(rows),
                tuple(dict.fromkeys(r.speaker for r in rows)),
                tuple(skipped),
            ),
            options=options,
            asr_models={name: _describe(a) for name, a in judges.asr.items()},
            settings=tuple(settings),
            default=default,
            skipped_settings=tuple(skipped_settings),
            rows=tuple(rows),
            embeddings={k: dict(v) for k, v in embeddings.items()},
            mel_samples=_mel_samples(mel_rows, options.mel_plots, cfg),
            seconds=time.perf_counter() - started,
        )
    )


def _describe_voice(voice: Voice) -> dict[str, Any]:
    meta = voice.meta
    return {
        "name": meta.name,
        "path": None if voice.path is None else str(voice.path),
        "speakers": list(voice.speakers),
        "sample_rate": voice.sample_rate,
        "hop_length": voice.audio_config.hop_length,
        "vocoder": meta.vocoder,
        "defaults": vars(meta.defaults),
        "provenance": meta.provenance,
    }


def _copy_synthesis(voice: Voice, ref_mel: np.ndarray, n_samples: int) -> np.ndarray:
    """The reference's own log-mels (C, T) through the voice's vocoder, trimmed to its length."""
    mel = np.ascontiguousarray(ref_mel[None].astype(np.float32))
    audio = np.asarray(voice.backend.vocode(mel))[0]
    audio = np.clip(np.nan_to_num(audio, nan=0.0), -1.0, 1.0)
    return audio[:n_samples].astype(np.float32)


def _describe(asr: Recognizer) -> str:
    model_dir = getattr(asr, "model_dir", None)
    if model_dir is None:
        return asr.name
    # the model's folder name: a report may be committed, and names nothing of the machine
    return f"{asr.name} ({Path(model_dir).name}, {getattr(asr, 'compute_type', '?')})"


def _save_clips(audio_dir: Path, line: int, speaker: str, audio: dict[str, np.ndarray], sr: int):
    from flowaudio.audio.io import save_wav

    for name, samples in audio.items():
        if name != REFERENCE:
            tag = "copy" if name == COPY else name.replace("steps=", "").replace(",guidance=", "_g")
            save_wav(audio_dir / f"{line:05d}_{speaker}_{tag}.wav", samples, sr)


def _at_least(samples: np.ndarray, cfg) -> np.ndarray:
    need = min_num_samples(cfg)
    return samples if len(samples) >= need else np.pad(samples, (0, need - len(samples)))


def _embed_into(bucket: list, encoder, samples, sample_rate: int, where: str) -> None:
    try:
        bucket.append(encoder.embed(samples, sample_rate))
    except ValueError as exc:
        logger.warning("no speaker embedding for %s: %s", where, exc)


def _mel_samples(mel_rows, n: int, cfg) -> tuple[MelSample, ...]:
    """Up to ``n`` rows to draw: the first row of each speaker first, then the next rows."""
    firsts, rest, seen = [], [], set()
    for row in mel_rows:
        (firsts if row[1] not in seen else rest).append(row)
        seen.add(row[1])
    chosen = sorted((firsts + rest)[:n], key=lambda r: r[0].line)
    return tuple(
        MelSample(item.line, speaker, item.text, log_mel_spectrogram(_at_least(a, cfg), cfg), ref)
        for item, speaker, a, ref in chosen
    )


# ---------------------------------------------------------------------------------------------
# Summaries


def _grouped(rows: Sequence[RowResult], value: Callable[[list[RowResult]], T]) -> Grouped[T]:
    speakers = dict.fromkeys(r.speaker for r in rows)
    return Grouped(
        overall=value(list(rows)),
        speakers={spk: value([r for r in rows if r.speaker == spk]) for spk in speakers},
    )


def _system(m: Measurements, name: str, setting: Setting | None) -> SystemResult:
    rows = m.rows
    refs = {spk: [r.text for r in rows if r.speaker == spk] for spk in m.test_set.speakers}
    wer = {
        asr: grouped_word_error_rate(
            refs,
            {
                spk: [r.clips[name].transcripts[asr] for r in rows if r.speaker == spk]
                for spk in refs
            },
        )
        for asr in m.options.asr
    }
    clips = [r.clips[name] for r in rows]
    dnsmos = minus = None
    if all(c.dnsmos is not None for c in clips):
        dnsmos = _grouped(rows, lambda rs: DnsmosScore.mean([r.clips[name].dnsmos for r in rs]))
        if name != REFERENCE and all(REFERENCE in r.clips for r in rows):
            ref = _grouped(
                rows, lambda rs: DnsmosScore.mean([r.clips[REFERENCE].dnsmos for r in rs])
            )
            minus = Grouped(
                dnsmos.overall.minus(ref.overall),
                {s: v.minus(ref.speakers[s]) for s, v in dnsmos.speakers.items()},
            )
    mcd = pace = None
    if all(c.mcd is not None for c in clips):
        mcd = _grouped(rows, lambda rs: float(np.mean([r.clips[name].mcd for r in rs])))
    if name != REFERENCE and all(REFERENCE in r.clips for r in rows):
        pace = _grouped(rows, lambda rs: _pace(rs, name))
    similarity = None
    teachers = {s: mean_embedding(e) for s, e in m.embeddings.get(REFERENCE, {}).items() if e}
    synth = {s: mean_embedding(e) for s, e in m.embeddings.get(name, {}).items() if e}
    if name != REFERENCE and synth and teachers:
        similarity = similarity_matrix(synth, teachers)
    rtf = None
    if setting is not None:
        rtf = RtfSummary(
            median=statistics.median(c.rtf for c in clips),
            mean=statistics.fmean(c.rtf for c in clips),
            wall_seconds=sum(c.rtf * c.seconds for c in clips),
            audio_seconds=sum(c.seconds for c in clips),
        )
    return SystemResult(name, setting, wer, dnsmos, minus, mcd, pace, similarity, rtf)


def _pace(rows: list[RowResult], name: str) -> Pace:
    def total(system: str, attr: str) -> float:
        return sum(getattr(r.clips[system], attr) for r in rows)

    return Pace(
        seconds=total(name, "seconds"),
        reference_seconds=total(REFERENCE, "seconds"),
        speech_seconds=total(name, "speech_seconds"),
        reference_speech_seconds=total(REFERENCE, "speech_seconds"),
    )


def summarise(m: Measurements) -> EvaluationReport:
    """Average the clips into per-system results and check the bars."""
    has_refs = all(REFERENCE in r.clips for r in m.rows)
    has_copy = all(COPY in r.clips for r in m.rows)
    reference = _system(m, REFERENCE, None) if has_refs else None
    synthesized = tuple(_system(m, s.name, s) for s in m.settings)
    by_setting = dict(zip(m.settings, synthesized, strict=True))
    asr = m.options.asr[0]
    bars_cfg = m.options.bars
    default = by_setting[m.default]
    two = by_setting.get(Setting(2, m.default.guidance))
    bars = {}
    for spk in m.test_set.speakers:
        ref_w = None if reference is None else reference.wer[asr].groups[spk].wer
        bars[spk] = SpeakerBars(
            wer_default=wer_bar(
                m.default.steps,
                bars_cfg.default_steps_margin,
                default.wer[asr].groups[spk].wer,
                ref_w,
            ),
            wer_two_steps=wer_bar(
                2, bars_cfg.two_steps_margin, two.wer[asr].groups[spk].wer if two else None, ref_w
            ),
            similarity=default.similarity.bar(spk)
            if default.similarity is not None
            else SimilarityBar(None, None, None, None),
        )
    return EvaluationReport(
        **{f.name: getattr(m, f.name) for f in dataclasses.fields(m)},
        reference=reference,
        copy_synthesis=_system(m, COPY, None) if has_copy else None,
        synthesized=synthesized,
        bars=bars,
    )
