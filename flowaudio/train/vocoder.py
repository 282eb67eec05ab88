"""Training the vocoder (``flowaudio train-vocoder``): GAN training inside the generic loop.

Each step trains on random segments of the cache's utterances: the *cached* mel frames of the
segment (computed over the whole utterance, as the acoustic model will produce them) go in, the
matching waveform samples are the target. The discriminators (multi-period + multi-resolution)
step first on the detached generator output, then the generator steps on mel L1 +
multi-resolution STFT + adversarial + feature-matching losses (``vocoder_losses``).

Segment offsets come from the global torch RNG in the main process, which the checkpoint
restores, so resume is exact (with the default ``train.num_workers = 0``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from flowaudio.audio.config import AudioConfig
from flowaudio.config import to_dict
from flowaudio.data.cache import CacheInfo
from flowaudio.models.vocoder import Vocoder
from flowaudio.train.config import VOCODER_RUN_PRESETS, VocoderRunConfig
from flowaudio.train.dataset import TTSDataset
from flowaudio.train.discriminators import VocoderDiscriminator
from flowaudio.train.loop import StepContext, Trainer, TrainTask
from flowaudio.train.run import check_run_data, fit_run, resolve_run_config
from flowaudio.train.vocoder_losses import (
    SpectralLosses,
    discriminator_adversarial_loss,
    vocoder_losses,
)

logger = logging.getLogger(__name__)


@dataclass
class SegmentBatch:
    """mel (B, C, F) cached log-mel frames; audio (B, F * hop) the matching samples."""

    mel: torch.Tensor
    audio: torch.Tensor

    def to(self, device: torch.device | str) -> SegmentBatch:
        return SegmentBatch(self.mel.to(device), self.audio.to(device))


class SegmentDataset(Dataset):
    """Random fixed-length segments of a cache's utterances (shorter ones are padded)."""

    def __init__(self, cache_dir: str | Path, split: str, frames: int, audio: AudioConfig):
        self.items = TTSDataset(cache_dir, split, with_audio=True)
        self.frames = frames
        self.hop = audio.hop_length
        self.pad_value = math.log(audio.log_floor)
        self.frame_lengths = [frames] * len(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.items[index]
        mel, audio = item["mel"], item["audio"]
        n = mel.shape[1]
        f = self.frames
        if n > f:
            start = int(torch.randint(0, n - f + 1, (1,)))
            mel = mel[:, start : start + f]
            audio = audio[start * self.hop : (start + f) * self.hop]
        elif n < f:
            mel = torch.nn.functional.pad(mel, (0, f - n), value=self.pad_value)
            audio = torch.nn.functional.pad(audio, (0, (f - n) * self.hop))
        return {"mel": mel, "audio": audio}


class VocoderTask(TrainTask):
    """Generator + discriminators on a prepared cache."""

    name = "vocoder"
    ema_module = "generator"

    def __init__(self, cfg: VocoderRunConfig, cache_dir: str | Path):
        self.cfg = cfg
        self.cache_dir = Path(cache_dir)
        self.info = CacheInfo.load(cache_dir)
        self.audio = self.info.config.audio
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.train.seed)
            self.generator = Vocoder(cfg.model, self.audio)
            self.discriminator = VocoderDiscriminator(cfg.model, self.audio)
        self.spectral = SpectralLosses(self.audio)

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def train_dataset(self) -> SegmentDataset:
        return SegmentDataset(self.cache_dir, "train", self.cfg.segment_frames, self.audio)

    def val_dataset(self) -> TTSDataset | None:
        val = TTSDataset(self.cache_dir, "val", with_audio=True)
        return val if len(val) else None

    def collate(self, items: list[dict[str, torch.Tensor]]) -> Any:
        if "id" in items[0]:  # validation: whole utterances, one at a time
            return SegmentBatch(items[0]["mel"][None], items[0]["audio"][None])
        return SegmentBatch(
            torch.stack([it["mel"] for it in items]), torch.stack([it["audio"] for it in items])
        )

    def train_step(self, step: int, batch: SegmentBatch, ctx: StepContext) -> dict[str, float]:
        self.spectral.to(batch.audio.device)
        fake = ctx.call("generator", "forward", batch.mel)
        use_gan = step >= self.cfg.gan_start_step
        metrics: dict[str, float] = {}
        if use_gan:
            # Real and fake in one discriminator call: under DDP a module may run forward only
            # once per backward.
            b = batch.audio.shape[0]
            out = ctx.call("discriminator", "forward", torch.cat([batch.audio, fake.detach()]))
            d_loss = discriminator_adversarial_loss(
                [x[:b] for x in out.logits], [x[b:] for x in out.logits]
            )
            ctx.optimize("discriminator", d_loss)
            metrics["disc"] = float(d_loss.detach())
        # The generator's losses need no gradient for the discriminator's weights (and under
        # DDP they must not reach its gradient hooks).
        self.discriminator.requires_grad_(False)
        try:
            losses = vocoder_losses(
                batch.audio,
                fake,
                self.cfg.model,
                self.spectral,
                self.discriminator if use_gan else None,
            )
            ctx.optimize("generator", losses.total)
        finally:
            self.discriminator.requires_grad_(True)
        metrics.update(
            loss=float(losses.total.detach()),
            mel=float(losses.mel.detach()),
            mrstft=float(losses.mrstft.detach()),
            adversarial=float(losses.adversarial.detach()),
            feature_matching=float(losses.feature_matching.detach()),
        )
        return metrics

    def validate(
        self, modules: dict[str, nn.Module], batches: Iterator[SegmentBatch]
    ) -> dict[str, float]:
        gen = modules["generator"]
        self.spectral.to(next(gen.parameters()).device)
        total, n = 0.0, 0
        for batch in batches:
            fake = gen(batch.mel)
            real = batch.audio[:, : fake.shape[1]]
            total += float(self.spectral.mel_l1(real, fake))
            n += 1
        return {"mel_l1": total / max(n, 1)}

    def log_samples(
        self, modules: dict[str, nn.Module], dataset: Any, writer: Any, step: int, n: int
    ) -> None:
        gen = modules["generator"]
        device = next(gen.parameters()).device
        for i in range(min(n, len(dataset))):
            item = dataset[i]
            audio = gen(item["mel"][None].to(device))[0].float().cpu()
            writer.add_audio(
                f"val/{i}/vocoded", audio[None], step, sample_rate=self.audio.sample_rate
            )
            if step <= self.cfg.train.val_every:
                writer.add_audio(
                    f"val/{i}/target", item["audio"][None], step, sample_rate=self.audio.sample_rate
                )

    def metadata(self) -> dict[str, Any]:
        return {
            "audio": to_dict(self.audio),
            "corpus": str(self.cache_dir.resolve()),
            "n_parameters": self.generator.num_parameters(),
        }


def train_vocoder(
    data: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    allow_new_data: bool = False,
) -> Trainer:
    """``flowaudio train-vocoder``: train (or resume) the vocoder in ``out`` on cache ``data``
    (a run resumes only on the data it started on, unless ``allow_new_data``: see
    :func:`~flowaudio.train.run.check_run_data`)."""
    cfg = resolve_run_config(VocoderRunConfig, out, config, VOCODER_RUN_PRESETS, "small", max_steps)
    check_run_data(out, CacheInfo.load(data), allow_new_data)
    task = VocoderTask(cfg, data)
    return fit_run(
        task,
        cfg,
        out,
        progress,
        f"vocoder: {task.generator.num_parameters() / 1e6:.2f}M generator parameters, "
        f"segments of {cfg.segment_frames} frames",
    )
