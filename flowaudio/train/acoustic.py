"""Training the acoustic model (``flowaudio train``): FlowTTS losses inside the generic loop."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flowaudio.config import to_dict
from flowaudio.data.cache import CacheInfo
from flowaudio.models.tts import FlowTTS
from flowaudio.train.config import ACOUSTIC_PRESETS, AcousticRunConfig
from flowaudio.train.dataset import Batch, TTSDataset, collate
from flowaudio.train.loop import StepContext, Trainer, TrainTask
from flowaudio.train.run import check_run_data, fit_run, resolve_run_config

logger = logging.getLogger(__name__)


class AcousticTask(TrainTask):
    """FlowTTS on a prepared cache."""

    name = "acoustic"
    ema_module = "model"

    def __init__(self, cfg: AcousticRunConfig, cache_dir: str | Path):
        self.cfg = cfg
        self.cache_dir = Path(cache_dir)
        self.info = CacheInfo.load(cache_dir)
        if cfg.model.n_mels != self.info.config.audio.n_mels:
            raise ValueError(
                f"model.n_mels={cfg.model.n_mels} but the cache has "
                f"{self.info.config.audio.n_mels} mel bands; prepare the data with the same "
                "n_mels or change the model config"
            )
        if cfg.model.speaker.n_speakers != len(self.info.speakers):
            raise ValueError(
                f"model.speaker.n_speakers={cfg.model.speaker.n_speakers} but the cache has "
                f"{len(self.info.speakers)} speakers ({', '.join(self.info.speakers)})"
            )
        # Initial weights depend on the run's seed only, never on what ran before in-process.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.train.seed)
            self.model = FlowTTS(cfg.model, n_vocab=len(self.info.symbols))
        stats = self.info.stats
        self.model.set_normalization(float(stats["mel_mean"]), float(stats["mel_std"]))
        self._log_floor = float(np.log(self.info.config.audio.log_floor))

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def train_dataset(self) -> TTSDataset:
        return TTSDataset(self.cache_dir, "train")

    def val_dataset(self) -> TTSDataset | None:
        val = TTSDataset(self.cache_dir, "val")
        return val if len(val) else None

    def collate(self, items: list[Any]) -> Batch:
        return collate(items, pad_value=self._log_floor)

    def train_step(self, step: int, batch: Batch, ctx: StepContext) -> dict[str, float]:
        losses = ctx.call("model", "loss", batch)
        ctx.optimize("model", losses.total)
        return {
            "loss": float(losses.total.detach()),
            "flow": float(losses.flow.detach()),
            "prior": float(losses.prior.detach()),
            "duration": float(losses.duration.detach()),
        }

    def validate(self, modules: dict[str, nn.Module], batches: Iterator[Batch]) -> dict[str, float]:
        model = modules["model"]
        # A fixed generator: validation losses of two checkpoints compare like with like.
        gen = torch.Generator(device=next(model.parameters()).device).manual_seed(0)
        sums: dict[str, float] = {"loss": 0.0, "flow": 0.0, "prior": 0.0, "duration": 0.0}
        n = 0
        for batch in batches:
            losses = model.loss(batch, generator=gen)
            sums["loss"] += float(losses.total)
            sums["flow"] += float(losses.flow)
            sums["prior"] += float(losses.prior)
            sums["duration"] += float(losses.duration)
            n += 1
        return {k: v / max(n, 1) for k, v in sums.items()}

    def log_samples(
        self, modules: dict[str, nn.Module], dataset: Any, writer: Any, step: int, n: int
    ) -> None:
        from flowaudio.runtime.griffinlim import griffin_lim

        model = modules["model"]
        device = next(model.parameters()).device
        audio_cfg = self.info.config.audio
        for i in range(min(n, len(dataset))):
            batch = collate([dataset[i]], pad_value=self._log_floor).to(device)
            out = model.synthesize(batch.ids, batch.id_lengths, batch.speakers, steps=8, seed=i)
            mel = out.mel[0, :, : int(out.mel_lengths[0])].float().cpu().numpy()
            target = batch.mels[0].cpu().numpy()
            writer.add_image(f"val/{i}/mel", _mel_image(mel), step, dataformats="CHW")
            if step <= self.cfg.train.val_every:
                writer.add_image(f"val/{i}/target", _mel_image(target), step, dataformats="CHW")
            audio = griffin_lim(mel, audio_cfg, n_iter=32)
            writer.add_audio(
                f"val/{i}/griffin_lim",
                torch.from_numpy(audio)[None],
                step,
                sample_rate=audio_cfg.sample_rate,
            )

    def metadata(self) -> dict[str, Any]:
        return {
            "symbols": self.info.symbols.to_dict(),
            "speakers": list(self.info.speakers),
            "audio": to_dict(self.info.config.audio),
            "text": to_dict(self.info.config.text),
            "mel_mean": float(self.info.stats["mel_mean"]),
            "mel_std": float(self.info.stats["mel_std"]),
            "corpus": str(self.cache_dir.resolve()),
            "n_parameters": self.model.count_parameters(),
        }


def _mel_image(mel: np.ndarray) -> np.ndarray:
    """(C, T) log-mel -> (1, C, T) image in [0, 1], low frequencies at the bottom."""
    lo, hi = float(mel.min()), float(mel.max())
    return ((mel - lo) / max(hi - lo, 1e-6))[None, ::-1].copy()


def train_acoustic(
    data: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    allow_new_data: bool = False,
) -> Trainer:
    """``flowaudio train``: train (or resume) the acoustic model in ``out`` on cache ``data``
    (a run resumes only on the data it started on, unless ``allow_new_data``: see
    :func:`~flowaudio.train.run.check_run_data`)."""
    info = CacheInfo.load(data)

    def adapt(cfg: AcousticRunConfig) -> AcousticRunConfig:
        # The speaker table's size comes from the data, not from the preset.
        speaker = dataclasses.replace(cfg.model.speaker, n_speakers=len(info.speakers))
        return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, speaker=speaker))

    cfg = resolve_run_config(
        AcousticRunConfig, out, config, ACOUSTIC_PRESETS, "small", max_steps, adapt
    )
    check_run_data(out, info, allow_new_data)
    task = AcousticTask(cfg, data)
    return fit_run(
        task,
        cfg,
        out,
        progress,
        f"acoustic model: {task.model.count_parameters() / 1e6:.2f}M parameters, "
        f"{len(info.speakers)} speakers",
    )
