"""``flowaudio evaluate``: synthesize a test set at several step counts and measure it.

For every usable row of the test set (:mod:`flowaudio.eval.testset`) and every step count:

- intelligibility: pocketsphinx transcripts of the synthesized audio and, once per row, of the
  reference recording; corpus-level WER (errors / reference words) per speaker and overall;
- mel-cepstral distortion against the reference, DTW-aligned (:mod:`flowaudio.eval.metrics`
  says exactly what is computed);
- speaker similarity: resemblyzer embeddings; each teacher is the normalised mean of its
  reference clips' embeddings, each synthesized speaker the same over its synthesized clips;
  a matrix of cosines synthesized speaker x teacher per step count;
- real-time factor: synthesis wall time / audio duration (median over rows), after one
  warm-up synthesis per step count, with the onnxruntime thread count recorded.

The bars (:class:`~flowaudio.eval.metrics.QualityBars`) are checked per speaker, and
:func:`write_report` writes ``report.md``, ``report.json`` and ``plots/*.png``.

The k-th usable row of the test set (0-based) is synthesized with seed ``seed + k`` at every
step count, so step counts differ only by the ODE solve.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flowaudio.audio.io import AudioError, load_audio
from flowaudio.audio.mel import log_mel_spectrogram, min_num_samples
from flowaudio.data.manifest import ManifestProblem, safe_id
from flowaudio.eval.asr import GroupedWer, WerResult, grouped_word_error_rate
from flowaudio.eval.metrics import (
    DEFAULT_MCD_ORDER,
    QualityBars,
    SimilarityBar,
    SimilarityMatrix,
    WerBar,
    mean_embedding,
    mel_cepstral_distortion,
    similarity_matrix,
    wer_bar,
)
from flowaudio.eval.testset import EvalItem, EvalSet
from flowaudio.version import __version__

if TYPE_CHECKING:
    from flowaudio.runtime.synthesizer import Voice

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_STEPS = (1, 2, 4, 8)


@dataclass(frozen=True)
class EvalOptions:
    """Settings of one evaluation run."""

    steps: tuple[int, ...] = DEFAULT_STEPS
    """ODE step counts; the voice's default step count is added when missing."""
    seed: int = 0
    """The k-th usable row is synthesized with seed ``seed + k``."""
    threads: int = 1
    """onnxruntime intra-op threads of the voice (RTF is measured with these) and torch
    threads of the speaker encoder."""
    mcd_order: int = DEFAULT_MCD_ORDER
    """Mel-cepstral coefficients c1..c{mcd_order} in the MCD."""
    mel_plots: int = 3
    """Samples drawn as mel spectrograms (synthesized at the default steps over reference)."""
    similarity: bool = True
    """Measure speaker similarity (needs reference audio; loads resemblyzer)."""
    bars: QualityBars = field(default_factory=QualityBars)

    def __post_init__(self) -> None:
        if not self.steps or any(
            isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 128 for s in self.steps
        ):
            raise ValueError(f"steps must be integers in [1, 128], got {self.steps!r}")
        if self.seed < 0 or self.threads < 1 or self.mel_plots < 0:
            raise ValueError(
                f"need seed >= 0, threads >= 1, mel_plots >= 0; got seed={self.seed}, "
                f"threads={self.threads}, mel_plots={self.mel_plots}"
            )


@dataclass(frozen=True)
class RowResult:
    """What was measured on one test-set row (step counts as keys)."""

    line: int
    speaker: str
    text: str
    reference_transcript: str | None
    transcripts: dict[int, str]
    mcd: dict[int, float]
    seconds: dict[int, float]
    """Audio duration of the synthesized clip."""
    rtf: dict[int, float]


@dataclass(frozen=True)
class RtfSummary:
    """Real-time factor of one step count: synthesis wall time / audio duration."""

    median: float
    mean: float
    wall_seconds: float
    audio_seconds: float


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
class EvaluationReport:
    """Everything :func:`evaluate` measured; :meth:`to_dict` is the JSON document."""

    voice: dict[str, Any]
    test_set: Path
    options: EvalOptions
    steps: tuple[int, ...]
    default_steps: int
    rows: tuple[RowResult, ...]
    skipped: tuple[ManifestProblem, ...]
    reference_wer: GroupedWer | None
    wer: dict[int, GroupedWer]
    mcd: dict[int, dict[str, float]]
    """Mean MCD (dB) per speaker, per step count (empty without reference audio)."""
    mcd_overall: dict[int, float]
    rtf: dict[int, RtfSummary]
    similarity: dict[int, SimilarityMatrix]
    bars: dict[str, SpeakerBars]
    mel_samples: tuple[MelSample, ...]
    seconds: float

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.speaker for r in self.rows))

    @property
    def passed(self) -> bool | None:
        """The bars of all speakers together (see :attr:`SpeakerBars.passed`)."""
        return _combine([b.passed for b in self.bars.values()])

    def to_dict(self) -> dict[str, Any]:
        def wer_dict(g: GroupedWer) -> dict[str, Any]:
            return {
                "overall": _wer_cell(g.overall),
                "speakers": {s: _wer_cell(w) for s, w in g.groups.items()},
            }

        bars = self.options.bars
        return {
            "schema_version": SCHEMA_VERSION,
            "flowaudio_version": __version__,
            "voice": self.voice,
            "test_set": {
                "path": str(self.test_set),
                "rows": len(self.rows),
                "speakers": list(self.speakers),
                "skipped": [{"where": p.source, "reason": p.reason} for p in self.skipped],
            },
            "settings": {
                "steps": list(self.steps),
                "default_steps": self.default_steps,
                "seed": self.options.seed,
                "onnxruntime_threads": self.options.threads,
                "cpu_count": os.cpu_count(),
                "mcd": {
                    "order": self.options.mcd_order,
                    "definition": "mean over the DTW path of 10*sqrt(2)/ln(10) * "
                    "||c_synth - c_ref||_2 over c1..cD, c = DCT-II/(2N) of the natural-log "
                    "mel amplitude (flowaudio.eval.metrics)",
                },
                "bars": {
                    "default_steps_margin": bars.default_steps_margin,
                    "two_steps_margin": bars.two_steps_margin,
                    "similarity": "cosine to the own teacher > to every other teacher",
                },
            },
            "wer": {
                "reference": None if self.reference_wer is None else wer_dict(self.reference_wer),
                "synthesized": {str(s): wer_dict(g) for s, g in self.wer.items()},
            },
            "mcd": {
                str(s): {"overall": self.mcd_overall[s], "speakers": self.mcd[s]} for s in self.mcd
            },
            "rtf": {str(s): vars(r) for s, r in self.rtf.items()},
            "similarity": {str(s): m.to_dict() for s, m in self.similarity.items()},
            "bars": {
                "passed": self.passed,
                "speakers": {
                    s: {
                        "passed": b.passed,
                        "wer_default_steps": vars(b.wer_default),
                        "wer_two_steps": vars(b.wer_two_steps),
                        "similarity": vars(b.similarity),
                    }
                    for s, b in self.bars.items()
                },
            },
            "rows": [
                {
                    "line": r.line,
                    "speaker": r.speaker,
                    "text": r.text,
                    "reference_transcript": r.reference_transcript,
                    "transcripts": {str(s): t for s, t in r.transcripts.items()},
                    "mcd": {str(s): v for s, v in r.mcd.items()},
                    "seconds": {str(s): v for s, v in r.seconds.items()},
                    "rtf": {str(s): v for s, v in r.rtf.items()},
                }
                for r in self.rows
            ],
            "seconds": self.seconds,
        }


def _combine(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    if any(r is None for r in results) or not results:
        return None
    return True


def _wer_cell(w: WerResult) -> dict[str, Any]:
    return {
        "wer": w.wer,
        "words": w.words,
        "substitutions": w.substitutions,
        "deletions": w.deletions,
        "insertions": w.insertions,
    }


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
        options: steps, seed, ... (defaults: :class:`EvalOptions`).
        audio_dir: where to write the synthesized WAVs (None: nowhere).
        progress: show a progress bar.

    Raises:
        ValueError: a speaker the voice does not have, or no row left after skipping rows
            whose reference audio or text could not be used (each skip is logged).
    """
    from tqdm.auto import tqdm

    from flowaudio.eval.asr import Transcriber

    options = options or EvalOptions()
    started = time.perf_counter()
    default_steps = voice.meta.defaults.steps
    steps = tuple(sorted(set(options.steps) | {default_steps}))
    if default_steps not in options.steps:
        logger.info("adding the voice's default step count %d to the steps", default_steps)
    speakers = resolve_speakers(voice, test_set)
    cfg = voice.audio_config
    asr = Transcriber()
    encoder = None
    if options.similarity and test_set.has_references:
        from flowaudio.eval.speaker import SpeakerEncoder

        encoder = SpeakerEncoder(threads=options.threads)

    first = test_set.items[0]
    for s in steps:  # warm-up: the first run of a session allocates, and would count in the RTF
        with contextlib.suppress(ValueError):  # that row is reported and skipped below
            voice.synthesize(first.text, speaker=speakers[first.speaker], steps=s, seed=0)

    rows: list[RowResult] = []
    skipped = list(test_set.problems)
    teacher_emb: dict[str, list[np.ndarray]] = defaultdict(list)
    synth_emb: dict[int, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    mel_rows: list[tuple[EvalItem, str, np.ndarray, np.ndarray | None]] = []
    for k, item in enumerate(tqdm(test_set.items, desc="evaluate", disable=not progress)):
        speaker = speakers[item.speaker]
        where = f"{test_set.path}:{item.line}"
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
        audio: dict[int, np.ndarray] = {}
        wall: dict[int, float] = {}
        try:
            for s in steps:
                t0 = time.perf_counter()
                out = voice.synthesize(item.text, speaker=speaker, steps=s, seed=options.seed + k)
                wall[s] = time.perf_counter() - t0
                audio[s] = out.samples
        except ValueError as exc:
            logger.warning("skipping %s: cannot synthesize: %s", where, exc)
            skipped.append(ManifestProblem(where, f"cannot synthesize: {exc}"))
            continue
        sr = voice.sample_rate
        mcd = {}
        if ref_mel is not None:
            for s in steps:
                synth_mel = log_mel_spectrogram(_at_least(audio[s], cfg), cfg)
                mcd[s] = mel_cepstral_distortion(synth_mel, ref_mel, options.mcd_order).mcd
        if encoder is not None and reference is not None:
            _embed_into(teacher_emb[speaker], encoder, reference, cfg.sample_rate, where)
            for s in steps:
                _embed_into(synth_emb[s][speaker], encoder, audio[s], sr, f"{where} ({s} steps)")
        if audio_dir is not None:
            from flowaudio.audio.io import save_wav

            for s in steps:
                save_wav(audio_dir / f"{item.line:05d}_{speaker}_{s}steps.wav", audio[s], sr)
        rows.append(
            RowResult(
                line=item.line,
                speaker=speaker,
                text=item.text,
                reference_transcript=None
                if reference is None
                else asr.transcribe(reference, cfg.sample_rate),
                transcripts={s: asr.transcribe(audio[s], sr) for s in steps},
                mcd=mcd,
                seconds={s: len(audio[s]) / sr for s in steps},
                rtf={s: wall[s] / (len(audio[s]) / sr) for s in steps},
            )
        )
        mel_rows.append((item, speaker, audio[default_steps], ref_mel))
    if not rows:
        raise ValueError(
            f"no row of {test_set.path} could be evaluated ({len(skipped)} skipped; first: "
            f"{skipped[0].source}: {skipped[0].reason})"
        )
    return _summarise(
        voice,
        test_set,
        options,
        steps,
        default_steps,
        rows,
        skipped,
        teacher_emb,
        synth_emb,
        _mel_samples(mel_rows, options.mel_plots, cfg),
        time.perf_counter() - started,
    )


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


def _summarise(
    voice,
    test_set,
    options,
    steps,
    default_steps,
    rows,
    skipped,
    teacher_emb,
    synth_emb,
    mel_samples,
    seconds,
) -> EvaluationReport:
    refs: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        refs[r.speaker].append(r.text)
    wer = {
        s: grouped_word_error_rate(
            refs, {spk: [r.transcripts[s] for r in rows if r.speaker == spk] for spk in refs}
        )
        for s in steps
    }
    reference_wer = None
    if all(r.reference_transcript is not None for r in rows):
        reference_wer = grouped_word_error_rate(
            refs, {spk: [r.reference_transcript for r in rows if r.speaker == spk] for spk in refs}
        )
    mcd: dict[int, dict[str, float]] = {}
    mcd_overall: dict[int, float] = {}
    if all(r.mcd for r in rows):
        for s in steps:
            mcd[s] = {
                spk: float(np.mean([r.mcd[s] for r in rows if r.speaker == spk])) for spk in refs
            }
            mcd_overall[s] = float(np.mean([r.mcd[s] for r in rows]))
    rtf = {
        s: RtfSummary(
            median=statistics.median(r.rtf[s] for r in rows),
            mean=statistics.fmean(r.rtf[s] for r in rows),
            wall_seconds=sum(r.rtf[s] * r.seconds[s] for r in rows),
            audio_seconds=sum(r.seconds[s] for r in rows),
        )
        for s in steps
    }
    similarity: dict[int, SimilarityMatrix] = {}
    teachers = {spk: mean_embedding(e) for spk, e in teacher_emb.items() if e}
    for s in steps:
        synth = {spk: mean_embedding(e) for spk, e in synth_emb.get(s, {}).items() if e}
        if synth and teachers:
            similarity[s] = similarity_matrix(synth, teachers)
    bars_cfg = options.bars
    bars = {}
    for spk in refs:
        ref_w = None if reference_wer is None else reference_wer.groups[spk].wer
        sim = similarity.get(default_steps)
        bars[spk] = SpeakerBars(
            wer_default=wer_bar(
                default_steps,
                bars_cfg.default_steps_margin,
                wer[default_steps].groups[spk].wer,
                ref_w,
            ),
            wer_two_steps=wer_bar(
                2, bars_cfg.two_steps_margin, wer[2].groups[spk].wer if 2 in wer else None, ref_w
            ),
            similarity=sim.bar(spk) if sim is not None else SimilarityBar(None, None, None, None),
        )
    meta = voice.meta
    return EvaluationReport(
        voice={
            "name": meta.name,
            "path": None if voice.path is None else str(voice.path),
            "speakers": list(voice.speakers),
            "sample_rate": voice.sample_rate,
            "hop_length": voice.audio_config.hop_length,
            "vocoder": meta.vocoder,
            "defaults": vars(meta.defaults),
            "provenance": meta.provenance,
        },
        test_set=test_set.path,
        options=options,
        steps=steps,
        default_steps=default_steps,
        rows=tuple(rows),
        skipped=tuple(skipped),
        reference_wer=reference_wer,
        wer=wer,
        mcd=mcd,
        mcd_overall=mcd_overall,
        rtf=rtf,
        similarity=similarity,
        bars=bars,
        mel_samples=mel_samples,
        seconds=seconds,
    )


# ---------------------------------------------------------------------------------------------
# Writers


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    markdown: Path
    json: Path
    plots: tuple[Path, ...]


def write_report(report: EvaluationReport, out_dir: str | Path) -> ReportFiles:
    """Write ``report.md``, ``report.json`` and ``plots/*.png`` into ``out_dir``."""
    from flowaudio.eval.plots import plot_mels, plot_wer_vs_steps

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hop_seconds = report.voice["hop_length"] / report.voice["sample_rate"]
    plots: list[Path] = []
    speakers = report.speakers
    plots.append(
        plot_wer_vs_steps(
            out / "plots" / "wer_vs_steps.png",
            report.steps,
            {spk: [report.wer[s].groups[spk].wer for s in report.steps] for spk in speakers},
            {}
            if report.reference_wer is None
            else {spk: report.reference_wer.groups[spk].wer for spk in speakers},
        )
    )
    for i, sample in enumerate(report.mel_samples, start=1):
        panels = [(f"synthesized, {report.default_steps} steps", sample.synthesized)]
        if sample.reference is not None:
            panels.insert(0, ("reference", sample.reference))
        plots.append(
            plot_mels(
                out / "plots" / f"mel_{i}_{sample.speaker}.png",
                f"line {sample.line}, {sample.speaker}: {_shorten(sample.text, 90)}",
                panels,
                hop_seconds,
            )
        )
    data = report.to_dict()
    data["plots"] = [str(p.relative_to(out)) for p in plots]
    json_path = out / "report.json"
    # allow_nan=False: a NaN would be a bug upstream, and it is not valid JSON either.
    json_path.write_text(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    md_path = out / "report.md"
    md_path.write_text(render_markdown(report, [p.relative_to(out) for p in plots]))
    return ReportFiles(md_path, json_path, tuple(plots))


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def render_markdown(report: EvaluationReport, plots: list[Path]) -> str:
    """The human-readable report (the JSON holds the same numbers and every transcript)."""
    r = report
    v = r.voice
    d = r.default_steps
    bars = r.options.bars
    speakers = list(r.speakers)
    md = [
        f"# Evaluation of voice `{v['name']}`",
        "",
        f"- voice: `{v['path']}` ({v['sample_rate']} Hz, vocoder {v['vocoder']}, default "
        f"{d} steps, solver {v['defaults']['solver']}, temperature "
        f"{v['defaults']['temperature']:g}, guidance scale {v['defaults']['guidance_scale']:g}); "
        f"speakers: {', '.join(v['speakers'])}",
        f"- test set: `{r.test_set}`: {len(r.rows)} rows evaluated, {len(r.skipped)} skipped; "
        f"speakers: {', '.join(speakers)}",
        f"- steps: {', '.join(map(str, r.steps))}; seed {r.options.seed} (+ row index); "
        f"onnxruntime threads: {r.options.threads} ({os.cpu_count()} CPUs); "
        f"flowaudio {__version__}; {r.seconds:.0f} s",
        "",
        "## Bars",
        "",
        f"Per speaker: WER at {d} steps at most {100 * bars.default_steps_margin:g} points above "
        f"the reference WER on the same sentences; at 2 steps at most "
        f"{100 * bars.two_steps_margin:g} points above; speaker similarity (at {d} steps) to "
        "the own teacher higher than to every other teacher.",
        "",
    ]
    rows = []
    for spk in speakers:
        b = r.bars[spk]
        sim = b.similarity
        if sim.own is None:
            sim_cell = "n/a"
        elif sim.best_other is None:
            sim_cell = f"{sim.own:.3f} (no other teacher)"
        else:
            sim_cell = f"{sim.own:.3f} vs {sim.best_other:.3f} ({sim.best_other_speaker})"
        rows.append(
            [
                spk,
                f"{_pct(b.wer_default.wer)} vs {_pct(b.wer_default.reference_wer)}: "
                f"{_mark(b.wer_default.passed)}",
                f"{_pct(b.wer_two_steps.wer)} vs {_pct(b.wer_two_steps.reference_wer)}: "
                f"{_mark(b.wer_two_steps.passed)}",
                f"{sim_cell}: {_mark(sim.passed)}",
                f"**{_mark(b.passed)}**",
            ]
        )
    md += _table(
        [
            "speaker",
            f"WER {_steps(d)} vs reference (bar +{100 * bars.default_steps_margin:g})",
            f"WER 2 steps vs reference (bar +{100 * bars.two_steps_margin:g})",
            "similarity own vs best other",
            "passed",
        ],
        rows,
    )
    md += [f"All speakers: **{_mark(r.passed)}**", ""]

    md += ["## Intelligibility (pocketsphinx WER)", ""]
    header = ["speaker", "reference"] + [_steps(s) for s in r.steps]
    rows = []
    for spk in [*speakers, None]:

        def cell(g: GroupedWer | None, spk=spk) -> str:
            if g is None:
                return "n/a"
            return _pct((g.overall if spk is None else g.groups[spk]).wer)

        rows.append([spk or "**all**", cell(r.reference_wer)] + [cell(r.wer[s]) for s in r.steps])
    md += _table(header, rows)
    md += [
        "Corpus-level WER (errors / reference words) of pocketsphinx transcripts; compare "
        "against the reference column, never against WERs from elsewhere.",
        "",
    ]
    if r.mcd:
        md += [
            f"## Mel-cepstral distortion (dB, DTW-aligned, c1..c{r.options.mcd_order})",
            "",
        ]
        rows = [[spk] + [f"{r.mcd[s][spk]:.2f}" for s in r.steps] for spk in speakers]
        rows.append(["**all**"] + [f"{r.mcd_overall[s]:.2f}" for s in r.steps])
        md += _table(["speaker"] + [_steps(s) for s in r.steps], rows)
        md += [
            "Mean over rows of the mean over the DTW path of 10·√2/ln 10 · ‖Δc‖, c = cosine "
            "transform (DCT-II / 2N) of the natural-log mel amplitude, c0 excluded "
            "(`flowaudio.eval.metrics`).",
            "",
        ]
    if r.similarity:
        md += ["## Speaker similarity (resemblyzer cosine)", ""]
        for s, m in r.similarity.items():
            md += [f"At {_steps(s)} (rows: synthesized speaker, columns: teacher):", ""]
            md += _table(
                ["synthesized \\ teacher", *m.columns],
                [
                    [row] + [f"**{v:.3f}**" if v == vals.max() else f"{v:.3f}" for v in vals]
                    for row, vals in zip(m.rows, m.values, strict=True)
                ],
            )
    md += ["## Real-time factor", ""]
    md += _table(
        ["steps", "median RTF", "mean RTF", "audio s", "wall s"],
        [
            [
                str(s),
                f"{x.median:.3f}",
                f"{x.mean:.3f}",
                f"{x.audio_seconds:.1f}",
                f"{x.wall_seconds:.1f}",
            ]
            for s, x in r.rtf.items()
        ],
    )
    md += [
        f"Synthesis wall time / audio duration per sentence, onnxruntime with "
        f"{r.options.threads} intra-op thread(s), after one warm-up per step count.",
        "",
        "## Plots",
        "",
    ]
    md += [f"![{p.stem}]({p.as_posix()})" for p in plots] + [""]
    if r.skipped:
        md += ["## Skipped rows", ""]
        md += [f"- `{p.source}`: {p.reason}" for p in r.skipped] + [""]
    md += ["## Transcripts (first 10 rows)", ""]
    rows = []
    for row in r.rows[:10]:
        rows.append(
            [
                str(row.line),
                row.speaker,
                _shorten(row.text, 60),
                _shorten(row.reference_transcript or "n/a", 60),
                _shorten(row.transcripts[d], 60),
            ]
        )
    md += _table(["line", "speaker", "text", "reference heard", f"{d} steps heard"], rows)
    return "\n".join(md)
