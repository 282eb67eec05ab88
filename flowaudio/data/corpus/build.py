"""The corpus build: a recipe of teacher voices and sentences rendered into the CSV layout.

:func:`build_corpus` plans which voice says which sentence (held-out sentences shared by every
voice), renders what is missing in parallel and writes the CSVs and ``corpus.json``; it is
deterministic and resumable. :class:`CorpusRecipe` holds the arguments that define a corpus,
:data:`DEFAULT_VOICE_RECIPE` the one of the shipped voice.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from flowaudio.data.manifest import CSV_HEADER
from flowaudio.version import __version__

from ._files import audio_frames, write_text_atomic
from .sentences import load_sentences
from .teachers import TeacherVoice, _one_line, engine_version, parse_voice, render, require_programs

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_VOICE_RECIPE", "CorpusRecipe", "CorpusSummary", "build_corpus"]

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusSummary:
    """What :func:`build_corpus` produced.

    Attributes:
        out_dir: the corpus folder.
        voices: the voice specs, canonical (``"flite:slt"``), in the order given.
        n_train: training clips listed in ``metadata.csv``.
        n_heldout: held-out clips listed in ``heldout.csv``.
        seconds_by_speaker: training audio per speaker, in seconds.
        total_seconds: training audio over all speakers, in seconds.
        failed: one ``"spec<TAB>text<TAB>reason"`` line per clip that failed in this run
            (also written to ``failed.tsv``).
        elapsed_seconds: wall time of this run.
    """

    out_dir: Path
    voices: tuple[str, ...]
    n_train: int
    n_heldout: int
    seconds_by_speaker: dict[str, float]
    total_seconds: float
    failed: tuple[str, ...]
    elapsed_seconds: float


@dataclass(frozen=True)
class CorpusRecipe:
    """Arguments of :func:`build_corpus` that define a corpus (everything but where and how fast).

    Attributes:
        voices: voice specs, e.g. ``("flite:slt", "espeak:en-us+f3")``.
        per_voice: training sentences per voice.
        heldout: held-out sentences, shared by all voices.
        sentences: ``"fortunes"`` or the path of a UTF-8 text file.
        seed: seed of the sentence shuffle.
    """

    voices: tuple[str, ...]
    per_voice: int
    heldout: int = 20
    sentences: str = "fortunes"
    seed: int = 1234

    def __post_init__(self) -> None:
        if isinstance(self.voices, str) or not self.voices:
            raise ValueError(
                f"voices must be a non-empty tuple of specs like ('flite:slt',), "
                f"got {self.voices!r}"
            )
        if self.per_voice < 1 or self.heldout < 0:
            raise ValueError(
                f"need per_voice >= 1 and heldout >= 0, got per_voice={self.per_voice}, "
                f"heldout={self.heldout}"
            )

    def build(
        self, out_dir: Path, *, workers: int | None = None, progress: bool = True
    ) -> CorpusSummary:
        """Build this recipe into ``out_dir`` (see :func:`build_corpus`)."""
        return build_corpus(
            out_dir,
            self.voices,
            sentences=self.sentences,
            per_voice=self.per_voice,
            heldout=self.heldout,
            seed=self.seed,
            workers=workers,
            progress=progress,
        )


# The default voice's teacher corpus: four flite voices, fortunes, ~3.5 hours of training audio.
# Measured on the build machine (flite 2.2, 2 CPU cores, load_sentences("fortunes") -> 16,895
# sentences, 76 characters on average):
# - 60 fortunes sentences (the first 60 after the seed-1234 shuffle, 87 characters on average)
#   rendered by flite:slt: 5.18 s of audio per clip on average (2.0-11.5 s, 311 s in all) in
#   7.6 s, i.e. ~41x real time on one core (rms and awb alike; kal16 ~440x, espeak ~180x).
# - 200 random pool sentences per voice: 4.63 s (slt), 5.17 s (rms), 4.61 s (awb), 4.75 s
#   (kal16) per clip, 4.79 s on average.
# So 650 per voice x 4 voices x 4.79 s ~= 12,450 s ~= 3.5 hours of training audio (plus 20
# shared held-out sentences x 4 voices, ~6 min), 2,620 distinct sentences (no reuse). A full
# build confirmed it: 3.53 hours of training audio (slt 3087 s, rms 3402 s, awb 3024 s, kal16
# 3182 s) + 431 s held-out, 138 s wall time on 2 cores.
DEFAULT_VOICE_RECIPE = CorpusRecipe(
    voices=("flite:slt", "flite:rms", "flite:awb", "flite:kal16"),
    per_voice=650,
    heldout=20,
    sentences="fortunes",
    seed=1234,
)


@dataclass(frozen=True)
class _Clip:
    """One planned clip: which voice says which text into which file."""

    voice: TeacherVoice
    text: str
    audio_path: str  # relative to out_dir, "/"-separated
    heldout: bool


def _read_plan(path: Path) -> dict[str, tuple[str, str]]:
    """``plan.tsv`` of an earlier run: audio_path -> (voice spec, text); empty if none."""
    plan: dict[str, tuple[str, str]] = {}
    if not path.is_file():
        return plan
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) == 3:
            plan[cols[0]] = (cols[1], cols[2])
    return plan


def _plan_clips(
    voices: Sequence[TeacherVoice], pool: list[str], per_voice: int, heldout: int, seed: int
) -> list[_Clip]:
    """Shuffle the pool; first ``heldout`` for everyone, then ``per_voice`` each in turn."""
    order = list(pool)
    random.Random(seed).shuffle(order)
    held, train = order[:heldout], order[heldout:]
    needed = per_voice * len(voices)
    if needed > len(train):
        logger.warning(
            "the sentence pool has %d training sentences but %d voices x %d per voice need %d: "
            "sentences are reused across voices%s; use a bigger sentence file or a smaller "
            "per_voice for distinct sentences",
            len(train),
            len(voices),
            per_voice,
            needed,
            " and within a voice" if per_voice > len(train) else "",
        )
    width = max(5, len(str(max(per_voice, heldout) - 1)))
    clips: list[_Clip] = []
    for i, voice in enumerate(voices):
        spk = voice.speaker
        for j in range(per_voice):
            text = train[(i * per_voice + j) % len(train)]
            clips.append(_Clip(voice, text, f"wavs/{spk}/{spk}_{j:0{width}d}.wav", False))
        for k, text in enumerate(held):
            clips.append(_Clip(voice, text, f"wavs/{spk}/{spk}_heldout_{k:0{width}d}.wav", True))
    return clips


def _csv(rows: list[tuple[str, str, str]]) -> str:
    lines = ["|".join(CSV_HEADER), *("|".join(row) for row in sorted(rows))]
    return "\n".join(lines) + "\n"


def build_corpus(
    out_dir: Path,
    voices: Sequence[str],
    sentences: str | Path = "fortunes",
    per_voice: int = 100,
    heldout: int = 20,
    seed: int = 1234,
    workers: int | None = None,
    progress: bool = True,
) -> CorpusSummary:
    """Render a multi-speaker teacher corpus into ``out_dir``.

    Sentences come from :func:`load_sentences` and are shuffled with ``random.Random(seed)``.
    The first ``heldout`` of them are the held-out set, rendered by every voice so that
    per-speaker evaluation compares like with like. Voice ``i`` then takes the next
    ``per_voice`` sentences of the rest, so voices say different sentences while the pool
    lasts; past its end the sentences wrap around and are reused (with a warning).

    The build is deterministic and resumable: the same arguments give byte-identical CSVs, and
    a clip whose wav exists and is readable is not rendered again, so a re-run after a crash
    renders only what is missing. ``plan.tsv`` records which text each wav holds; a wav whose
    planned text or voice changed (other seed or sentences) is deleted and rendered again. The
    CSVs, ``corpus.json`` and ``failed.tsv`` are written atomically at the end from the wavs
    that exist. A clip that fails to render is logged, listed in ``failed.tsv`` and left out.

    Args:
        out_dir: corpus folder (created if missing).
        voices: voice specs, e.g. ``["flite:slt", "espeak:en-us+f3"]``.
        sentences: ``"fortunes"`` or a UTF-8 text file (see :func:`load_sentences`).
        per_voice: training sentences per voice.
        heldout: held-out sentences, shared by every voice (0 for none).
        seed: seed of the sentence shuffle.
        workers: parallel renders (default: ``os.cpu_count()``).
        progress: show a tqdm progress bar.

    Raises:
        EngineNotFoundError: flite or espeak-ng is needed but not installed.
        ValueError: bad arguments, unknown voices, two voices with one speaker name, or fewer
            than ``heldout + 1`` usable sentences.
        FileNotFoundError: the sentence source is missing.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if isinstance(voices, str) or not voices:
        raise ValueError(
            f"voices must be a non-empty list of specs like ['flite:slt', 'flite:kal16'], "
            f"got {voices!r}"
        )
    if per_voice < 1:
        raise ValueError(f"per_voice must be >= 1, got {per_voice}")
    if heldout < 0:
        raise ValueError(f"heldout must be >= 0 (0: no held-out set), got {heldout}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 or None (one per CPU), got {workers}")
    require_programs(voices)
    parsed = [parse_voice(spec) for spec in voices]
    specs = [v.spec for v in parsed]
    for name, n in Counter(specs).items():
        if n > 1:
            raise ValueError(f"voice {name} is listed {n} times in voices={list(voices)!r}")
    # Case-insensitively: on macOS and Windows "en-us" and "EN-US" are one folder.
    speakers = Counter(v.speaker.lower() for v in parsed)
    for name, n in speakers.items():
        if n > 1:
            clash = [v.spec for v in parsed if v.speaker.lower() == name]
            raise ValueError(
                f"voices {clash} share the speaker name {name!r} (their folder); keep one of them"
            )

    pool = load_sentences(sentences)
    if len(pool) < heldout + 1:
        raise ValueError(
            f"{sentences} gives {len(pool)} usable sentences, fewer than heldout + 1 = "
            f"{heldout + 1}: add sentences or lower heldout"
        )
    clips = _plan_clips(parsed, pool, per_voice, heldout, seed)

    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.tsv"
    old_plan = _read_plan(plan_path)
    for clip in clips:
        before = old_plan.get(clip.audio_path)
        wav = out_dir / clip.audio_path
        if before is not None and before != (clip.voice.spec, clip.text) and wav.exists():
            logger.info("%s held another sentence in an earlier build: re-rendering", wav)
            wav.unlink()
    plan = dict(old_plan)  # keep entries of wavs outside this plan: they are still on disk
    plan.update({c.audio_path: (c.voice.spec, c.text) for c in clips})
    write_text_atomic(
        plan_path,
        "audio_path\tvoice\ttext\n"
        + "".join(f"{p}\t{s}\t{t}\n" for p, (s, t) in sorted(plan.items())),
    )

    todo = [c for c in clips if audio_frames(out_dir / c.audio_path) == 0]
    n_workers = workers or os.cpu_count() or 1
    logger.info(
        "corpus %s: %d clips planned (%d voices x (%d training + %d held-out)), "
        "%d already rendered, %d to render with %d workers",
        out_dir,
        len(clips),
        len(parsed),
        per_voice,
        heldout,
        len(clips) - len(todo),
        len(todo),
        n_workers,
    )
    failures: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def work(clip: _Clip) -> None:
        try:
            render(clip.voice, clip.text, out_dir / clip.audio_path)
        except (RuntimeError, OSError) as exc:
            logger.warning("failed to render %s: %s", clip.audio_path, exc)
            with lock:
                failures.append((clip.voice.spec, clip.text, _one_line(str(exc))))

    if todo:
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=n_workers)
        try:
            futures = [executor.submit(work, clip) for clip in todo]
            with tqdm(total=len(todo), desc="rendering", unit="clip", disable=not progress) as bar:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
                    bar.update(1)
        finally:
            # On Ctrl-C, drop what has not started; finished wavs stay for the next run.
            executor.shutdown(wait=True, cancel_futures=True)

    train_rows: list[tuple[str, str, str]] = []
    held_rows: list[tuple[str, str, str]] = []
    seconds: dict[str, dict[str, float]] = {
        v.speaker: {"train": 0.0, "heldout": 0.0} for v in parsed
    }
    rates: dict[str, set[int]] = {v.speaker: set() for v in parsed}
    for clip in clips:
        try:
            info = sf.info(str(out_dir / clip.audio_path))
        except (RuntimeError, OSError, ValueError):
            continue  # failed (listed in failed.tsv) or vanished
        if info.frames == 0:
            continue
        spk = clip.voice.speaker
        row = (clip.audio_path, spk, clip.text)
        (held_rows if clip.heldout else train_rows).append(row)
        seconds[spk]["heldout" if clip.heldout else "train"] += info.frames / info.samplerate
        rates[spk].add(int(info.samplerate))

    write_text_atomic(out_dir / "metadata.csv", _csv(train_rows))
    write_text_atomic(out_dir / "heldout.csv", _csv(held_rows))
    failed_lines = tuple("\t".join(f) for f in sorted(failures))
    failed_path = out_dir / "failed.tsv"
    if failed_lines:
        write_text_atomic(failed_path, "spec\ttext\treason\n" + "\n".join(failed_lines) + "\n")
        logger.warning("%d clips failed to render: see %s", len(failed_lines), failed_path)
    else:
        with contextlib.suppress(FileNotFoundError):
            failed_path.unlink()  # failures of an earlier run have been rendered since

    seconds_by_speaker = {spk: round(s["train"], 3) for spk, s in seconds.items()}
    total_seconds = round(sum(seconds_by_speaker.values()), 3)
    elapsed = time.perf_counter() - started
    engines = sorted({v.engine for v in parsed})
    meta = {
        "format": "flowaudio-teacher-corpus",
        "format_version": _FORMAT_VERSION,
        "flowaudio_version": __version__,
        "recipe": {
            "voices": specs,
            "sentences": str(sentences),
            "per_voice": per_voice,
            "heldout": heldout,
            "seed": seed,
        },
        "engines": {e: engine_version(e) for e in engines},
        "sentence_pool": len(pool),
        "n_train": len(train_rows),
        "n_heldout": len(held_rows),
        "n_failed": len(failed_lines),
        "speakers": {
            v.speaker: {
                "voice": v.spec,
                "sample_rates": sorted(rates[v.speaker]),
                "train_seconds": round(seconds[v.speaker]["train"], 3),
                "heldout_seconds": round(seconds[v.speaker]["heldout"], 3),
            }
            for v in parsed
        },
        "seconds_by_speaker": seconds_by_speaker,
        "total_seconds": total_seconds,
        "total_hours": round(total_seconds / 3600, 4),
        "build": {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 2),
            "rendered": len(todo) - len(failures),
            "reused": len(clips) - len(todo),
        },
    }
    write_text_atomic(out_dir / "corpus.json", json.dumps(meta, indent=2) + "\n")
    logger.info(
        "corpus %s: %d training + %d held-out clips, %.2f hours of training audio, "
        "%d failed, built in %.1f s",
        out_dir,
        len(train_rows),
        len(held_rows),
        total_seconds / 3600,
        len(failed_lines),
        elapsed,
    )
    return CorpusSummary(
        out_dir=out_dir,
        voices=tuple(specs),
        n_train=len(train_rows),
        n_heldout=len(held_rows),
        seconds_by_speaker=seconds_by_speaker,
        total_seconds=total_seconds,
        failed=failed_lines,
        elapsed_seconds=elapsed,
    )
