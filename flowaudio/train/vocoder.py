"""Training the vocoder (``flowaudio train-vocoder``): GAN training inside the generic loop.

Each step trains on random segments of the cache's utterances: the *cached* mel frames of the
segment (computed over the whole utterance, as the acoustic model will produce them) go in, the
matching waveform samples are the target. The discriminators (multi-period + multi-resolution)
step first on the detached generator output, then the generator steps on mel L1 +
multi-resolution STFT + adversarial + feature-matching losses (``vocoder_losses``).

Segment offsets come from the global torch RNG in the main process, which the checkpoint
restores, so resume is exact (with the default ``train.num_workers = 0``).

Fine-tuning a shipped vocoder (``--init VOICE_OR_RUN``): the generator starts from that
vocoder's weights (a voice's are rebuilt from its vocoder.onnx), the discriminators from
scratch. ``--acoustic-mels SOURCE`` swaps the recordings' mels for the acoustic model's own,
teacher-forced to the recordings' timing (:mod:`flowaudio.train.acoustic_mels`), so the
vocoder learns the mels it will hear at run time; the target stays the recorded waveform.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from flowaudio.audio.config import AudioConfig
from flowaudio.config import ConfigError, to_dict
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


class MelSwapDataset(Dataset):
    """A cache split whose items carry the mels of ``mel_dir`` (same frames) instead of the
    recordings' (None: the cache's own)."""

    def __init__(self, items: TTSDataset, mel_dir: Path | None):
        self.items = items
        self.mel_dir = mel_dir

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        if self.mel_dir is None:
            return item
        path = self.mel_dir / f"{item['id']}.npy"
        mel = torch.from_numpy(np.load(path, allow_pickle=False).astype(np.float32))
        if tuple(mel.shape) != tuple(item["mel"].shape):
            raise ValueError(
                f"{path}: mel {tuple(mel.shape)} does not match the cache's "
                f"{tuple(item['mel'].shape)}; delete the folder to regenerate it"
            )
        return {**item, "mel": mel}


class SegmentDataset(Dataset):
    """Random fixed-length segments of a cache's utterances (shorter ones are padded); the mels
    of ``mel_dir`` (e.g. the acoustic model's) instead of the cache's when given."""

    def __init__(
        self,
        cache_dir: str | Path,
        split: str,
        frames: int,
        audio: AudioConfig,
        mel_dir: Path | None = None,
    ):
        self.items = MelSwapDataset(TTSDataset(cache_dir, split, with_audio=True), mel_dir)
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

    def __init__(
        self,
        cfg: VocoderRunConfig,
        cache_dir: str | Path,
        init: str | Path | None = None,
        mel_dir: Path | None = None,
        mel_source: str | None = None,
    ):
        """``init``: a voice, ``"default"`` or a vocoder run whose generator weights start
        this run; ``mel_dir``: mels to train on instead of the cache's (``mel_source`` names
        them in the checkpoint metadata)."""
        self.cfg = cfg
        self.cache_dir = Path(cache_dir)
        self.info = CacheInfo.load(cache_dir)
        self.audio = self.info.config.audio
        self.mel_dir = mel_dir
        self.mel_source = mel_source
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.train.seed)
            self.generator = Vocoder(cfg.model, self.audio)
            self.discriminator = VocoderDiscriminator(cfg.model, self.audio)
        self.spectral = SpectralLosses(self.audio)
        self.init: dict[str, Any] | None = None
        if init is not None:
            self.init = self._load_init(init)

    def _load_init(self, init: str | Path) -> dict[str, Any]:
        from flowaudio.export.voice import load_vocoder

        source = load_vocoder(init)
        if to_dict(source.model.audio) != to_dict(self.audio):
            raise ConfigError(
                f"--init {init}: its vocoder was trained on other features than {self.cache_dir} "
                f"({to_dict(source.model.audio)} vs {to_dict(self.audio)})"
            )
        try:
            self.generator.load_state_dict(source.model.state_dict())
        except RuntimeError as exc:
            raise ConfigError(
                f"--init {init}: its generator does not have the shape of this run's model "
                f"config (use its own sizes: {source.config.get('model')}): {exc}"
            ) from exc
        from flowaudio.export.from_voice import source_name

        logger.info("generator initialised from %s (%d steps trained)", init, source.step)
        return {
            "source": source_name(init),
            "steps_trained": source.step,
            "corpus": Path(str(source.metadata["corpus"])).name
            if source.metadata.get("corpus")
            else None,
        }

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def train_dataset(self) -> SegmentDataset:
        return SegmentDataset(
            self.cache_dir, "train", self.cfg.segment_frames, self.audio, self.mel_dir
        )

    def val_dataset(self) -> Dataset | None:
        val = MelSwapDataset(TTSDataset(self.cache_dir, "val", with_audio=True), self.mel_dir)
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
            "init": self.init,
            "mels": self.mel_source or "recordings",
        }


def train_vocoder(
    data: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    allow_new_data: bool = False,
    init: str | Path | None = None,
    acoustic_mels: str | Path | None = None,
    acoustic_start_t: float = 0.0,
) -> Trainer:
    """``flowaudio train-vocoder``: train (or resume) the vocoder in ``out`` on cache ``data``
    (a run resumes only on the data it started on, unless ``allow_new_data``: see
    :func:`~flowaudio.train.run.check_run_data`).

    Args:
        init: start the generator from this voice's (or ``"default"``'s, or a vocoder run's)
            weights; ignored when ``out`` already has a checkpoint (the run resumes).
        acoustic_mels: train on the mels this acoustic source (voice, ``"default"`` or run)
            generates for the cache's utterances, teacher-forced to the recordings
            (generated first, once, resumable).
        acoustic_start_t: 0 samples those mels from noise; in (0, 1) from the recording's mel
            noised to that time (:class:`~flowaudio.train.acoustic_mels.AcousticMelSettings`).
    """
    cfg = resolve_run_config(VocoderRunConfig, out, config, VOCODER_RUN_PRESETS, "small", max_steps)
    check_run_data(out, CacheInfo.load(data), allow_new_data)
    mel_dir, mel_source = _run_mels(out, data, acoustic_mels, acoustic_start_t, progress)
    if init is not None and list((Path(out) / "checkpoints").glob("*.pt")):
        logger.info("%s has checkpoints: resuming, --init %s is not applied", out, init)
        init = None
    task = VocoderTask(cfg, data, init=init, mel_dir=mel_dir, mel_source=mel_source)
    return fit_run(
        task,
        cfg,
        out,
        progress,
        f"vocoder: {task.generator.num_parameters() / 1e6:.2f}M generator parameters, "
        f"segments of {cfg.segment_frames} frames, mels: {mel_source or 'recordings'}",
    )


MELS_RECORD = "mels.json"


def _run_mels(
    out: str | Path,
    data: str | Path,
    acoustic: str | Path | None,
    start_t: float,
    progress: bool,
) -> tuple[Path | None, str | None]:
    """The mel folder a run trains on: recorded in ``RUN_DIR/mels.json`` at its start, so a
    resume keeps it (and asking for other mels in the same run is an error)."""
    import json

    record = Path(out) / MELS_RECORD
    stored = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
    if acoustic is None:
        if stored and stored.get("key"):  # a resume without the flag keeps the run's mels
            folder = Path(data) / "acoustic-mels" / stored["key"]
            if not (folder / "complete.json").is_file():
                raise ConfigError(
                    f"{out} trains on the mels of {stored['source']}, which are not complete in "
                    f"{folder}; resume with --acoustic-mels and that voice or run"
                )
            return folder, f"acoustic:{stored['source']}"
        if stored is None:
            _write_json(record, {"source": None, "key": None})
        return None, None
    from flowaudio.train.acoustic_mels import (
        acoustic_mels_dir,
        generate_acoustic_mels,
        load_acoustic_source,
    )

    model, settings, name = load_acoustic_source(acoustic, start_t)
    # Refuse other mels before spending minutes generating them.
    if stored is not None and stored.get("key") != acoustic_mels_dir(model, settings, data).name:
        raise ConfigError(
            f"{out} was started on mels {stored.get('source') or 'of the recordings'}, not on "
            f"those of {name}; resume without --acoustic-mels or choose a new --out"
        )
    folder = generate_acoustic_mels(model, data, settings, name, progress=progress)
    if stored is None:
        _write_json(record, {"source": name, "key": folder.name, "settings": to_dict(settings)})
    return folder, f"acoustic:{name}"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    import json

    from flowaudio.data.corpus._files import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(data, indent=2))
