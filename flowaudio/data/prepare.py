"""``flowaudio prepare``: a dataset directory -> a feature cache that training reads.

Cache layout (``CACHE_FORMAT_VERSION`` 1)::

    CACHE/config.json        data config, symbol table, source, format version, flowaudio version
    CACHE/items/<id>.npz     mel (n_mels, frames) float32, audio (frames * hop,) int16, ids int32
    CACHE/items/<id>.json    text, normalised text, phonemes, speaker, frames, source fingerprint
    CACHE/train.jsonl        training utterances (one JSON object per line)
    CACHE/val.jsonl          validation utterances
    CACHE/speakers.json      speaker names in id order
    CACHE/stats.json         mel mean/std (global and per band), frames, seconds per speaker
    CACHE/report.tsv         every skipped file and repaired line, with the reason (also logged)

What is skipped, by rule (each reported in report.tsv): unreadable, missing, too short, too long
or silent audio; audio with fewer mel frames than tokens (the aligner gives every token a frame);
samples outside [-1, 1] beyond ``_MAX_PEAK`` (a float WAV that was never
scaled: clipping it would train on noise); a WAV whose header promises more samples than the file
holds (a copy cut short); empty or unpronounceable text; the same audio (equal samples) listed
twice with different transcripts (both: which one is right cannot be known; with equal
transcripts the first id is kept); manifest lines holding a NUL byte. Repaired and reported:
lines that are not UTF-8 (decoded by the rule of :mod:`flowaudio.data.manifest`). The mel
statistics leave out clips whose own mean or spread is far from the others' (see
:func:`compute_stats`), so one bad clip that passes the rules above cannot move them.

Resumable and idempotent: an item whose ``.json`` exists and whose source file has the same size
and modification time is not computed again, so re-running after a crash (or with more data)
only does the missing work. The index files are rebuilt from the items at the end of each run.
A cache made with a different config is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from flowaudio.audio.io import AudioError, load_audio
from flowaudio.audio.mel import log_mel_spectrogram
from flowaudio.config import to_dict
from flowaudio.data.config import DataConfig
from flowaudio.data.manifest import DatasetFormat, Utterance, read_manifest
from flowaudio.text.frontend import TextFrontend
from flowaudio.text.normalize import NORMALIZER_VERSION
from flowaudio.text.symbols import SymbolTable
from flowaudio.version import __version__

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1

# Below this peak a clip is treated as silence (a broken recording, not speech).
_SILENCE_PEAK = 1e-4
# Above this peak the samples were never scaled to [-1, 1] (a float WAV at 32767 or 1e6); the
# margin over 1 leaves room for resampling overshoot of audio that was normalised to full scale.
_MAX_PEAK = 1.5


@dataclass(frozen=True)
class PrepareSummary:
    """What one ``prepare`` run produced."""

    cache_dir: Path
    n_items: int
    n_train: int
    n_val: int
    n_computed: int
    n_skipped: int
    speakers: tuple[str, ...]
    hours: float
    elapsed_seconds: float


@dataclass(frozen=True)
class _Result:
    id: str
    ok: bool
    reason: str = ""
    computed: bool = False


def _fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def wav_truncation(path: Path) -> str | None:
    """Why the WAV file ``path`` is shorter than its header says, or None (fine, or not a WAV).

    libsndfile reads a WAV cut short without complaint (it returns the samples that are there),
    so a half-copied file would train on half a sentence under the whole transcript.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
            size = os.fstat(fh.fileno()).st_size
    except (OSError, ValueError):
        return None  # load_audio reports unreadable files
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            if length == 0xFFFFFFFF:  # written by a streaming writer: length unknown
                return None
            held = size - (pos + 8)
            if held < length:
                return (
                    f"the WAV header promises {length} bytes of samples, the file holds {held} "
                    "(a copy cut short?); copy the file again"
                )
            return None
        pos += 8 + length + (length & 1)
    return None


def cache_config(config: DataConfig, symbols: SymbolTable) -> dict[str, Any]:
    """The part of ``config.json`` that decides whether an existing cache can be reused."""
    return {
        "format_version": CACHE_FORMAT_VERSION,
        "data": to_dict(config),
        "symbols": symbols.to_dict(),
    }


# ---------------------------------------------------------------------------------------------
# per-item work (runs in worker processes)

_worker: dict[str, Any] = {}


def _init_worker(config: DataConfig, items_dir: str) -> None:
    # Each process gets its own frontend: the espeak library has global state.
    _worker["config"] = config
    _worker["frontend"] = TextFrontend(config.text)
    _worker["items_dir"] = Path(items_dir)
    logging.getLogger("flowaudio.text.symbols").setLevel(logging.ERROR)


def _process(utt: Utterance) -> _Result:
    config: DataConfig = _worker["config"]
    frontend: TextFrontend = _worker["frontend"]
    items_dir: Path = _worker["items_dir"]
    meta_path = items_dir / f"{utt.id}.json"
    try:
        source = _fingerprint(utt.audio_path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return _Result(utt.id, False, f"audio file missing: {utt.audio_path}")
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text(encoding="utf-8"))
            if old.get("source") == source and old.get("text") == utt.text:
                fast = _too_fast(int(old.get("n_frames", 1)), int(old.get("n_ids", 0)))
                return _Result(utt.id, not fast, fast)
        except (OSError, ValueError):
            pass  # unreadable leftovers are recomputed
    try:
        return _compute(utt, source, config, frontend, items_dir, meta_path)
    except Exception as exc:  # one bad item must never stop the run; the reason is reported
        logger.debug("item %s failed", utt.id, exc_info=True)
        return _Result(utt.id, False, f"unexpected error: {type(exc).__name__}: {exc}")


def _compute(
    utt: Utterance,
    source: dict[str, int],
    config: DataConfig,
    frontend: TextFrontend,
    items_dir: Path,
    meta_path: Path,
) -> _Result:
    if not utt.text.strip():
        return _Result(utt.id, False, "empty text")
    try:
        tok = frontend.encode(utt.text)
    except ValueError as exc:
        return _Result(utt.id, False, f"unpronounceable text: {exc}")
    acfg = config.audio
    truncated = wav_truncation(utt.audio_path)
    if truncated:
        return _Result(utt.id, False, f"truncated audio: {truncated}")
    try:
        audio = load_audio(utt.audio_path, acfg.sample_rate)
    except AudioError as exc:
        return _Result(utt.id, False, f"unreadable audio: {exc}")
    seconds = len(audio) / acfg.sample_rate
    if seconds < config.min_seconds:
        return _Result(utt.id, False, f"too short: {seconds:.2f} s < {config.min_seconds} s")
    if seconds > config.max_seconds:
        return _Result(utt.id, False, f"too long: {seconds:.2f} s > {config.max_seconds} s")
    peak = float(np.max(np.abs(audio)))
    if peak < _SILENCE_PEAK:
        return _Result(utt.id, False, f"silent audio (peak {peak:.2e})")
    if peak > _MAX_PEAK:
        return _Result(
            utt.id,
            False,
            f"samples far outside [-1, 1] (peak {peak:.3g}): a float file that was never scaled; "
            "rescale it to [-1, 1]",
        )
    # Trim to whole frames so that audio and mel line up exactly (frames * hop samples).
    frames = len(audio) // acfg.hop_length
    audio = audio[: frames * acfg.hop_length]
    fast = _too_fast(frames, len(tok.ids))
    if fast:
        return _Result(utt.id, False, fast)
    mel = log_mel_spectrogram(audio, acfg)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    _atomic_npz(
        items_dir / f"{utt.id}.npz",
        mel=mel.astype(np.float32),
        audio=pcm,
        ids=np.asarray(tok.ids, dtype=np.int32),
    )
    meta = {
        "id": utt.id,
        "speaker": utt.speaker,
        "text": utt.text,
        "normalized": tok.text,
        "phonemes": tok.phonemes,
        "n_ids": len(tok.ids),
        "n_frames": int(mel.shape[-1]),
        "seconds": frames * acfg.hop_length / acfg.sample_rate,
        "audio_path": str(utt.audio_path),
        "source": source,
        "audio_sha1": hashlib.sha1(pcm.tobytes()).hexdigest(),  # finds the same clip listed twice
    }
    _atomic_text(meta_path, json.dumps(meta, ensure_ascii=False))
    return _Result(utt.id, True, computed=True)


def _too_fast(frames: int, tokens: int) -> str:
    """Why an item cannot be aligned ("" when it can): the monotonic alignment gives every
    token at least one mel frame."""
    if frames >= tokens:
        return ""
    return (
        f"spoken faster than one mel frame per token ({frames} frames for {tokens} tokens): "
        "the aligner needs at least one frame per token (a wrong transcript, or audio cut short)"
    )


def _atomic_npz(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# the driver


def prepare_dataset(
    data: str | Path,
    out: str | Path,
    config: DataConfig | None = None,
    fmt: DatasetFormat | str = DatasetFormat.AUTO,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> PrepareSummary:
    """Phonemise, compute mels and write the cache ``out`` for the dataset at ``data``.

    Args:
        data: dataset directory (LJSpeech layout or multi-speaker CSV) or CSV file.
        out: cache directory (created; reused when it was made with the same config).
        config: data config; defaults to the 16 kHz preset.
        fmt: dataset layout, ``auto`` to detect.
        workers: worker processes (default: all cores).
        progress: show a progress bar.
        overwrite: allow reusing a cache made with a different config (its items are redone).
    """
    start = time.perf_counter()
    config = config or DataConfig()
    if config.text.normalizer_version != NORMALIZER_VERSION:
        raise ValueError(
            f"text.normalizer_version is {config.text.normalizer_version}, but this flowaudio "
            f"normalises with rules v{NORMALIZER_VERSION} only; leave the key out (or set it to "
            f"{NORMALIZER_VERSION}), or prepare with the flowaudio that has the rules you want"
        )
    out = Path(out)
    manifest = read_manifest(data, fmt)
    symbols = SymbolTable.load(config.text.symbols_version)
    items_dir = out / "items"
    items_dir.mkdir(parents=True, exist_ok=True)
    _check_cache_config(out, config, symbols, overwrite)
    wanted = cache_config(config, symbols) | {
        "source": str(manifest.root),
        "format": manifest.format.value,
        "flowaudio_version": __version__,
    }
    _atomic_text(out / "config.json", json.dumps(wanted, indent=2, ensure_ascii=False))

    skipped: list[tuple[str, str, str]] = [
        ("-", p.source, p.reason) for p in manifest.problems if p.skipped
    ]
    repaired = [("-", p.source, f"kept, {p.reason}") for p in manifest.problems if not p.skipped]
    by_id = {u.id: u for u in manifest.utterances}
    results = _run(manifest.utterances, config, items_dir, workers, progress)
    ok_ids = []
    n_computed = 0
    for res in results:
        if res.ok:
            ok_ids.append(res.id)
            n_computed += res.computed
        else:
            skipped.append((res.id, str(by_id[res.id].audio_path), res.reason))
    metas = [json.loads((items_dir / f"{uid}.json").read_text(encoding="utf-8")) for uid in ok_ids]
    metas, duplicates = _drop_duplicates(metas)
    skipped += duplicates
    for uid, path, reason in skipped:
        logger.warning("skipped %s (%s): %s", uid, path, reason)
    _write_report(out / "report.tsv", skipped + repaired)

    if not metas:
        raise ValueError(
            f"no usable utterances in {data}: all {len(skipped)} were skipped, see {out}/report.tsv"
        )
    speakers = sorted({m["speaker"] for m in metas})
    train, val = split_train_val(metas, config)
    spk_ids = {s: i for i, s in enumerate(speakers)}
    for split_name, rows in (("train", train), ("val", val)):
        lines = [
            json.dumps(_index_row(m, spk_ids), ensure_ascii=False)
            for m in sorted(rows, key=lambda m: m["id"])
        ]
        _atomic_text(out / f"{split_name}.jsonl", "".join(line + "\n" for line in lines))
    _atomic_text(out / "speakers.json", json.dumps(speakers, indent=2, ensure_ascii=False))
    stats = compute_stats(items_dir, train or metas, config)
    _atomic_text(out / "stats.json", json.dumps(stats, indent=2))
    seconds: dict[str, float] = defaultdict(float)
    for m in metas:
        seconds[m["speaker"]] += m["seconds"]
    warning = little_data_warning(seconds)
    if warning:
        logger.warning("%s", warning)
    summary = PrepareSummary(
        cache_dir=out,
        n_items=len(metas),
        n_train=len(train),
        n_val=len(val),
        n_computed=n_computed,
        n_skipped=len(skipped),
        speakers=tuple(speakers),
        hours=sum(m["seconds"] for m in metas) / 3600.0,
        elapsed_seconds=time.perf_counter() - start,
    )
    logger.info(
        "prepared %s: %d utterances (%d train, %d val, %.2f h, %d speakers), %d computed now, "
        "%d skipped (see %s) in %.1f s",
        out,
        summary.n_items,
        summary.n_train,
        summary.n_val,
        summary.hours,
        len(speakers),
        n_computed,
        len(skipped),
        out / "report.tsv",
        summary.elapsed_seconds,
    )
    return summary


LITTLE_DATA_SECONDS = 180.0
"""Below ~3 minutes of clips a speaker is learnt poorly, even by fine-tuning a voice."""


def little_data_warning(seconds_by_speaker: dict[str, float]) -> str | None:
    """What to expect from speakers with less than :data:`LITTLE_DATA_SECONDS` of audio, or
    None when every speaker has enough."""
    short = {k: v for k, v in seconds_by_speaker.items() if v < LITTLE_DATA_SECONDS}
    if not short:
        return None
    listed = ", ".join(f"{k} ({v / 60:.1f} min)" for k, v in sorted(short.items()))
    return (
        f"little audio for {listed}: below ~3 minutes, fine-tuning a voice catches the timbre "
        "roughly and mispronounces more (training from scratch needs hours); 10 minutes or more "
        "of clean clips give a usable voice"
    )


def _check_cache_config(out: Path, config: DataConfig, symbols: SymbolTable, overwrite: bool):
    path = out / "config.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is corrupt ({exc}); delete it or use a new --out") from exc
    current = cache_config(config, symbols)
    if {k: old.get(k) for k in current} == current:
        return
    if not overwrite:
        raise ValueError(
            f"{out} was prepared with a different config (or flowaudio cache format); "
            "use a new --out directory, or pass --overwrite to redo every item"
        )
    for meta in (out / "items").glob("*.json"):
        meta.unlink()


def _run(utts, config, items_dir, workers, progress) -> list[_Result]:
    from tqdm.auto import tqdm

    workers = max(1, workers or os.cpu_count() or 1)
    bar = tqdm(total=len(utts), desc="prepare", unit="utt", disable=not progress)
    results: list[_Result] = []
    try:
        if workers == 1:
            _init_worker(config, str(items_dir))
            for utt in utts:
                results.append(_process(utt))
                bar.update()
        else:
            # spawn, not fork: the parent may hold threads (tqdm) and library state (espeak).
            ctx = get_context("spawn")
            with ProcessPoolExecutor(
                workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(config, str(items_dir)),
            ) as pool:
                for res in pool.map(_process, utts, chunksize=8):
                    results.append(res)
                    bar.update()
    finally:
        bar.close()
    return results


def _drop_duplicates(
    metas: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Items whose audio (equal samples) is another's: the same transcript keeps the first id,
    different transcripts drop every copy (which one is right cannot be known).
    -> (kept items, report rows of the dropped ones)."""
    by_audio: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in sorted(metas, key=lambda m: m["id"]):
        by_audio[m.get("audio_sha1") or m["id"]].append(m)  # old cache items have no hash
    kept, dropped = [], []
    for group in by_audio.values():
        texts = {m["normalized"] for m in group}
        if len(group) == 1:
            kept.append(group[0])
            continue
        if len(texts) == 1:
            kept.append(group[0])
            losers = group[1:]
            reason = f"the same audio as {group[0]['id']}, listed twice: the first is kept"
        else:
            losers = group
            ids = ", ".join(m["id"] for m in group)
            reason = (
                f"the same audio is listed as {ids} with different transcripts: all are skipped; "
                "keep the right line in the manifest"
            )
        dropped += [(m["id"], m["audio_path"], reason) for m in losers]
    return kept, dropped


def split_train_val(
    metas: list[dict[str, Any]], config: DataConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-speaker random split, deterministic for ``config.seed`` and the set of ids."""
    rng = random.Random(config.seed)
    by_spk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in sorted(metas, key=lambda m: m["id"]):
        by_spk[m["speaker"]].append(m)
    train, val = [], []
    for spk in sorted(by_spk):
        rows = by_spk[spk]
        rng.shuffle(rows)
        n_val = 0
        if config.val_fraction > 0 and len(rows) >= 2:
            n_val = min(config.max_val_per_speaker, max(1, round(config.val_fraction * len(rows))))
        val.extend(rows[:n_val])
        train.extend(rows[n_val:])
    return train, val


def _index_row(meta: dict[str, Any], spk_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "speaker": meta["speaker"],
        "speaker_id": spk_ids[meta["speaker"]],
        "n_frames": meta["n_frames"],
        "n_ids": meta["n_ids"],
        "seconds": meta["seconds"],
        "text": meta["normalized"],
    }


def compute_stats(
    items_dir: Path, metas: Iterable[dict[str, Any]], config: DataConfig
) -> dict[str, Any]:
    """Mel statistics over ``metas`` (float64 accumulation), and per-speaker durations.

    Clips whose own mean or standard deviation lies more than ``_OUTLIER_SIGMAS`` robust
    deviations (1.4826 x the median absolute deviation, at least ``_OUTLIER_FLOOR`` log-mel
    units) from the median clip's are left out, and listed under ``excluded_from_stats``: one
    clip of noise or of a wrong gain must not move the normalisation every other clip is
    trained with. They stay in the dataset (they passed every rule of the module docstring).
    """
    n_mels = config.audio.n_mels
    metas = list(metas)
    sums, sq_sums, counts_f = [], [], []
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for m in metas:
        with np.load(items_dir / f"{m['id']}.npz", allow_pickle=False) as npz:
            mel = npz["mel"].astype(np.float64)
        sums.append(mel.sum(axis=1))
        sq_sums.append((mel**2).sum(axis=1))
        counts_f.append(mel.shape[1])
        seconds[m["speaker"]] += m["seconds"]
        counts[m["speaker"]] += 1
    band_sum, band_sq, n_frames = np.array(sums), np.array(sq_sums), np.array(counts_f)
    clip_mean = band_sum.sum(axis=1) / (n_frames * n_mels)
    clip_std = np.sqrt(np.maximum(band_sq.sum(axis=1) / (n_frames * n_mels) - clip_mean**2, 0))
    keep = ~(_outliers(clip_mean) | _outliers(clip_std))
    total, total_sq = band_sum[keep].sum(axis=0), band_sq[keep].sum(axis=0)
    frames = int(n_frames[keep].sum())
    mean_band = total / frames
    std_band = np.sqrt(np.maximum(total_sq / frames - mean_band**2, 1e-12))
    mean = float(total.sum() / (frames * n_mels))
    std = float(np.sqrt(max(total_sq.sum() / (frames * n_mels) - mean**2, 1e-12)))
    excluded = [m["id"] for m, k in zip(metas, keep, strict=True) if not k]
    if excluded:
        logger.warning(
            "mel statistics leave out %d clip(s) far from the others (%s): listen to them",
            len(excluded),
            ", ".join(excluded[:5]) + (" ..." if len(excluded) > 5 else ""),
        )
    return {
        "mel_mean": mean,
        "mel_std": std,
        "mel_mean_per_band": mean_band.tolist(),
        "mel_std_per_band": std_band.tolist(),
        "frames": frames,
        "seconds_by_speaker": dict(sorted(seconds.items())),
        "utterances_by_speaker": dict(sorted(counts.items())),
        "excluded_from_stats": excluded,
    }


_OUTLIER_SIGMAS = 6.0
_OUTLIER_FLOOR = 0.5
_MIN_CLIPS_FOR_OUTLIERS = 5


def _outliers(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the values far from the median (never more than half of them)."""
    if len(values) < _MIN_CLIPS_FOR_OUTLIERS:
        return np.zeros(len(values), dtype=bool)
    median = np.median(values)
    spread = max(1.4826 * float(np.median(np.abs(values - median))), _OUTLIER_FLOOR)
    return np.abs(values - median) > _OUTLIER_SIGMAS * spread


def _write_report(path: Path, skipped: list[tuple[str, str, str]]) -> None:
    lines = ["id\tpath\treason"] + [
        "\t".join(f.replace("\t", " ").replace("\n", " ") for f in row) for row in skipped
    ]
    _atomic_text(path, "\n".join(lines) + "\n")
