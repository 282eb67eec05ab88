"""The acoustic model's own mels, aligned to the recordings, for fine-tuning a vocoder on them.

A vocoder trained on the recordings' mels hears slightly different mels at run time: the
acoustic model's output is smoother and its noise is its own. The usual cure (HiFi-GAN's
fine-tuning stage) is to train the vocoder on *generated* mels that line up sample for sample
with the recorded waveforms. A flow-matching model gives them by teacher forcing: the
recording's alignment (monotonic alignment search under the model's own prior) fixes every
token's frames, so the sampled mel has exactly the recording's length, and the sampler then
runs at the voice's settings (steps, guidance, temperature) from a seeded noise per item.

Sampled from noise (``start_t = 0``) such a mel has the model's own pitch contour, not the
recording's, so the pair (mel, waveform) disagrees on every harmonic. ``start_t > 0`` starts
the ODE instead from the recording's own (normalised) mel carried along the OT path to time
``start_t`` (x = (1 - (1 - sigma_min) t) x0 + t y, as in training; SDEdit-style): the coarse
structure (pitch, formants) stays the recording's, the fine texture becomes the model's.

``flowaudio train-vocoder --acoustic-mels SOURCE`` generates them once per cache under
``CACHE/acoustic-mels/KEY/`` (one ``{id}.npy`` float16 (n_mels, frames) per item, written
atomically, so a killed run resumes where it stopped; ``complete.json`` marks a finished
split), where KEY hashes the model's weights, the settings and the cache's item list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowaudio.config import to_dict
from flowaudio.models.tts import FlowTTS
from flowaudio.train.dataset import TTSDataset, collate
from flowaudio.train.distill import cache_listing_digest, length_batches, model_digest

__all__ = [
    "AcousticMelSettings",
    "acoustic_mels_dir",
    "generate_acoustic_mels",
    "load_acoustic_source",
]

logger = logging.getLogger(__name__)

FORMAT = 1
FOLDER = "acoustic-mels"


@dataclasses.dataclass(frozen=True)
class AcousticMelSettings:
    """How the mels are sampled (a voice's defaults, or a run's: see
    :func:`load_acoustic_source`)."""

    steps: int = 1
    guidance_scale: float = 1.0
    temperature: float = 0.667
    seed: int = 1234
    start_t: float = 0.0
    """0: sample from noise, as at synthesis; in (0, 1): start from the recording's mel
    noised to this time of the path (module docstring)."""
    max_frames: int = 4000
    """Padded frames per generation batch (memory only: the mels do not depend on it)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_t < 1.0:
            raise ValueError(f"start_t must lie in [0, 1), got {self.start_t!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps!r}")


def acoustic_mels_dir(model: FlowTTS, settings: AcousticMelSettings, cache_dir: str | Path) -> Path:
    """``CACHE/acoustic-mels/KEY``: KEY hashes the weights, the settings (batching aside) and
    the cache's item list, so another model or setting never reuses these mels."""
    spec = to_dict(settings)
    spec.pop("max_frames")
    key = hashlib.sha256(
        json.dumps(spec, sort_keys=True).encode() + cache_listing_digest(cache_dir)
    )
    return Path(cache_dir) / FOLDER / f"{model_digest(model)}-{key.hexdigest()[:12]}"


def load_acoustic_source(
    source: str | Path, start_t: float = 0.0
) -> tuple[FlowTTS, AcousticMelSettings, str]:
    """The acoustic model of ``source`` (a voice directory, ``"default"``, or an acoustic /
    distill / fine-tune run) and the settings it synthesizes with: a voice's defaults, or for
    a run 1 step without guidance when it is a one-step student (``decoder.dt_input``), else 2
    steps with guidance 1.5 (the teacher's shipped default); ``start_t`` as in
    :class:`AcousticMelSettings`. Returns (model, settings, name)."""
    from flowaudio.export.from_voice import load_teacher, resolve_voice_dir
    from flowaudio.runtime.contract import VoiceMeta, is_voice_source

    teacher = load_teacher(source)
    if is_voice_source(source):
        defaults = VoiceMeta.load(resolve_voice_dir(source)).defaults
        settings = AcousticMelSettings(
            steps=int(defaults.steps),
            guidance_scale=float(defaults.guidance_scale),
            temperature=float(defaults.temperature),
        )
    elif teacher.model.config.decoder.dt_input:
        settings = AcousticMelSettings(steps=1, guidance_scale=1.0)
    else:
        settings = AcousticMelSettings(steps=2, guidance_scale=1.5)
    settings = dataclasses.replace(settings, start_t=float(start_t))
    return teacher.model.float().eval(), settings, teacher.name


@torch.no_grad()
def _generate_group(
    model: FlowTTS,
    dataset: TTSDataset,
    indices: list[int],
    settings: AcousticMelSettings,
    pad: float,
) -> list[tuple[str, np.ndarray]]:
    batch = collate([dataset[i] for i in indices], pad_value=pad)
    durations = model.align(batch)  # (B, L): the recordings' timing under the model's prior
    out = []
    # One item at a time through the sampler so each item's noise depends on its seed only
    # (not on what it was batched with); the alignment above is batched.
    for row, index in enumerate(indices):
        n_ids, n = int(batch.id_lengths[row]), int(batch.mel_lengths[row])
        d = durations[row : row + 1, :n_ids]
        if settings.start_t > 0:
            mel = _from_recording(model, batch, row, d, settings, int(index))
        else:
            mel = model.synthesize(
                batch.ids[row : row + 1, :n_ids],
                batch.id_lengths[row : row + 1],
                speakers=batch.speakers[row : row + 1],
                steps=settings.steps,
                guidance_scale=settings.guidance_scale,
                temperature=settings.temperature,
                seed=settings.seed + int(index),
                durations=d,
            ).mel[0, :, :n]
        out.append((batch.utt_ids[row], _checked(mel, n, batch.utt_ids[row])))
    return out


def _checked(mel: torch.Tensor, n: int, utt_id: str) -> np.ndarray:
    if mel.shape[-1] != n or not bool(torch.isfinite(mel).all()):
        raise ValueError(
            f"{utt_id}: the acoustic model gave {mel.shape[-1]} frames "
            f"(finite: {bool(torch.isfinite(mel).all())}) for a recording of {n}"
        )
    return mel.numpy().astype(np.float16)


def _from_recording(
    model: FlowTTS,
    batch: Any,
    row: int,
    durations: torch.Tensor,
    settings: AcousticMelSettings,
    index: int,
) -> torch.Tensor:
    """Euler from the recording's mel noised to ``start_t`` up to t = 1 (one item)."""
    from flowaudio.models.tts import expand_prior

    n_ids, n = int(batch.id_lengths[row]), int(batch.mel_lengths[row])
    enc = model.encode(
        batch.ids[row : row + 1, :n_ids],
        batch.id_lengths[row : row + 1],
        batch.speakers[row : row + 1],
    )
    mu_frames, mask = expand_prior(enc.mu, durations, n)
    y = model.normalize(batch.mels[row : row + 1, :, :n]) * mask
    gen = torch.Generator().manual_seed(settings.seed + index)
    x0 = settings.temperature * torch.randn(y.shape, generator=gen)
    t0 = settings.start_t
    x = ((1.0 - (1.0 - model.path.sigma_min) * t0) * x0 + t0 * y) * mask
    grid = np.linspace(t0, 1.0, settings.steps + 1)
    student = model.config.decoder.dt_input
    for a, b in itertools.pairwise(grid):
        dt = torch.full((1,), float(b - a))
        v = model.velocity(
            x,
            torch.full((1,), float(a)),
            mu_frames,
            mask,
            enc.speaker,
            settings.guidance_scale,
            dt if student else None,
        )
        x = (x + float(b - a) * v) * mask
    return model.denormalize(x)[0]


def generate_acoustic_mels(
    model: FlowTTS,
    cache_dir: str | Path,
    settings: AcousticMelSettings,
    source_name: str = "",
    splits: Sequence[str] = ("train", "val"),
    progress: bool = True,
) -> Path:
    """Generate (or finish generating) the teacher-forced mels of ``cache_dir``; returns their
    folder (:func:`acoustic_mels_dir`)."""
    from tqdm.auto import tqdm

    out = acoustic_mels_dir(model, settings, cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    done_path = out / "complete.json"
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "source": source_name,
        "settings": to_dict(settings),
        "splits": {},
    }
    if done_path.is_file():
        manifest = json.loads(done_path.read_text(encoding="utf-8"))
    for split in splits:
        dataset = TTSDataset(cache_dir, split)
        if not len(dataset) or split in manifest["splits"]:
            continue
        pad = float(np.log(dataset.info.config.audio.log_floor))
        lengths = dataset.frame_lengths
        todo = [
            i
            for i in sorted(range(len(dataset)), key=lambda i: (lengths[i], i))
            if not (out / f"{dataset.rows[i]['id']}.npy").is_file()
        ]
        logger.info(
            "acoustic mels (%s, %s): %d items, %d to generate (%d steps, guidance %.2f, "
            "temperature %.3f, from %s)",
            split, source_name or "model", len(dataset), len(todo), settings.steps,
            settings.guidance_scale, settings.temperature,
            f"the recording noised to t={settings.start_t}" if settings.start_t else "noise",
        )  # fmt: skip
        bar = tqdm(total=len(dataset), initial=len(dataset) - len(todo), unit="item",
                   desc=f"acoustic mels {split}", disable=not progress)  # fmt: skip
        for group in length_batches(todo, lengths, settings.max_frames):
            for utt_id, mel in _generate_group(model, dataset, group, settings, pad):
                tmp = out / f".{utt_id}.tmp{os.getpid()}.npy"
                np.save(tmp, mel)
                os.replace(tmp, out / f"{utt_id}.npy")
            bar.update(len(group))
        bar.close()
        manifest["splits"][split] = {"items": len(dataset)}
        tmp = out / f".complete.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, done_path)
    return out
