"""``flowaudio prepare``: a dataset directory -> a feature cache that training reads.

Cache layout (``CACHE_FORMAT_VERSION`` 1)::

    CACHE/config.json        data config, symbol table, source, format version, flowaudio version
    CACHE/items/<id>.npz     mel (n_mels, frames) float32, audio (frames * hop,) int16, ids int32
    CACHE/items/<id>.json    text, normalised text, phonemes, speaker, frames, source fingerprint
    CACHE/train.jsonl        training utterances (one JSON object per line)
    CACHE/val.jsonl          validation utterances
    CACHE/speakers.json      speaker names in id order
    CACHE/stats.json         mel mean/std (global and per band), frames, seconds per speaker
    CACHE/report.tsv         every skipped file with the reason (also logged)

Resumable and idempotent: an item whose ``.json`` exists and whose source file has the same size
and modification time is not computed again, so re-running after a crash (or with more data)
only does the missing work. The index files are rebuilt from the items at the end of each run.
A cache made with a different config is refused rather than mixed.
"""

from __future__ import annotations

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
from flowaudio.config import AUDIO_PRESETS, DataConfig, to_dict
from flowaudio.data.manifest import DatasetFormat, Utterance, read_manifest
from flowaudio.text.frontend import TextFrontend
from flowaudio.text.symbols import SymbolTable
from flowaudio.version import __version__

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1

DATA_PRESETS: dict[str, DataConfig] = {
    name: DataConfig(audio=audio) for name, audio in AUDIO_PRESETS.items()
}

# Below this peak a clip is treated as silence (a broken recording, not speech).
_SILENCE_PEAK = 1e-4


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
    except OSError:
        return _Result(utt.id, False, f"audio file missing: {utt.audio_path}")
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text(encoding="utf-8"))
            if old.get("source") == source and old.get("text") == utt.text:
                return _Result(utt.id, True)
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
    # Trim to whole frames so that audio and mel line up exactly (frames * hop samples).
    frames = len(audio) // acfg.hop_length
    audio = audio[: frames * acfg.hop_length]
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
    }
    _atomic_text(meta_path, json.dumps(meta, ensure_ascii=False))
    return _Result(utt.id, True, computed=True)


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
        ("-", p.source, p.reason) for p in manifest.problems
    ]
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
    for uid, path, reason in skipped:
        logger.warning("skipped %s (%s): %s", uid, path, reason)
    _write_report(out / "report.tsv", skipped)

    metas = [json.loads((items_dir / f"{uid}.json").read_text(encoding="utf-8")) for uid in ok_ids]
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
        out, summary.n_items, summary.n_train, summary.n_val, summary.hours, len(speakers),
        n_computed, len(skipped), out / "report.tsv", summary.elapsed_seconds,
    )
    return summary


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
                workers, mp_context=ctx, initializer=_init_worker,
                initargs=(config, str(items_dir)),
            ) as pool:
                for res in pool.map(_process, utts, chunksize=8):
                    results.append(res)
                    bar.update()
    finally:
        bar.close()
    return results


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
    """Mel statistics over ``metas`` (float64 accumulation), and per-speaker durations."""
    n_mels = config.audio.n_mels
    total = np.zeros(n_mels)
    total_sq = np.zeros(n_mels)
    frames = 0
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for m in metas:
        with np.load(items_dir / f"{m['id']}.npz", allow_pickle=False) as npz:
            mel = npz["mel"].astype(np.float64)
        total += mel.sum(axis=1)
        total_sq += (mel**2).sum(axis=1)
        frames += mel.shape[1]
        seconds[m["speaker"]] += m["seconds"]
        counts[m["speaker"]] += 1
    mean_band = total / frames
    std_band = np.sqrt(np.maximum(total_sq / frames - mean_band**2, 1e-12))
    mean = float(total.sum() / (frames * n_mels))
    std = float(np.sqrt(max(total_sq.sum() / (frames * n_mels) - mean**2, 1e-12)))
    return {
        "mel_mean": mean,
        "mel_std": std,
        "mel_mean_per_band": mean_band.tolist(),
        "mel_std_per_band": std_band.tolist(),
        "frames": int(frames),
        "seconds_by_speaker": dict(sorted(seconds.items())),
        "utterances_by_speaker": dict(sorted(counts.items())),
    }


def _write_report(path: Path, skipped: list[tuple[str, str, str]]) -> None:
    lines = ["id\tpath\treason"] + [
        "\t".join(f.replace("\t", " ").replace("\n", " ") for f in row) for row in skipped
    ]
    _atomic_text(path, "\n".join(lines) + "\n")
