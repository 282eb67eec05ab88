"""Frozen training configs: the optimisation settings every task shares (:class:`TrainConfig`)
and each task's run config with its named presets (``--config NAME``).

- ``flowaudio train``: :class:`AcousticRunConfig`, :data:`ACOUSTIC_PRESETS`;
- ``flowaudio train-vocoder``: :class:`VocoderRunConfig`, :data:`VOCODER_RUN_PRESETS`;
- ``flowaudio distill``: :class:`DistillRunConfig` (:class:`DistillConfig`, :class:`TeacherConfig`),
  :data:`DISTILL_PRESETS`;
- ``flowaudio finetune``: :class:`FinetuneRunConfig` (:class:`FinetuneConfig`),
  :data:`FINETUNE_PRESETS`.

A run stores its resolved config (``RUN_DIR/config.json``, and in every checkpoint) as plain
dicts (:func:`flowaudio.config.to_dict`), so where these classes live is not part of a run.
Pure Python (no torch): the model configs come from :mod:`flowaudio.models.config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from flowaudio.config import ConfigError
from flowaudio.models.config import TTS_PRESETS, VOCODER_PRESETS, TTSConfig, VocoderConfig

__all__ = [
    "ACOUSTIC_PRESETS",
    "AUTO",
    "DEFAULT_TARGETS",
    "DISTILL_PRESETS",
    "FINETUNE_PRESETS",
    "METHODS",
    "VOCODER_RUN_PRESETS",
    "AcousticRunConfig",
    "Adaptation",
    "DistillConfig",
    "DistillRunConfig",
    "FinetuneConfig",
    "FinetuneRunConfig",
    "SpeakerMode",
    "TeacherConfig",
    "TrainConfig",
    "VocoderRunConfig",
]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, batching, checkpointing and logging of one run."""

    max_steps: int = 100_000
    """Optimiser steps of the whole run (``--max-steps`` overrides it, also when resuming)."""
    max_frames: int = 12_000
    """Padded mel frames per batch per process (the bucketing sampler's budget)."""
    max_batch_items: int = 64
    """Upper bound on utterances per batch."""
    lr: float = 2e-4
    """Peak learning rate (AdamW)."""
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.01
    warmup_steps: int = 1000
    """Linear warm-up from 0 to ``lr``."""
    min_lr_ratio: float = 0.05
    """Cosine decay ends at ``lr * min_lr_ratio`` at ``max_steps``."""
    grad_clip: float = 1.0
    """Clip the global gradient norm of each optimiser to this (0 disables)."""
    ema_decay: float = 0.999
    """Decay of the exponential moving average of the weights (0 disables EMA)."""
    checkpoint_every: int = 1000
    """Steps between checkpoints (one is also written at the end and on Ctrl-C)."""
    keep_checkpoints: int = 3
    """Most recent checkpoints kept in RUN_DIR/checkpoints."""
    val_every: int = 1000
    """Steps between validation passes."""
    log_every: int = 50
    """Steps between metric lines (TensorBoard and metrics.jsonl)."""
    num_samples: int = 2
    """Validation utterances rendered to TensorBoard (mels and audio)."""
    seed: int = 1234
    precision: str = "auto"
    """``auto`` (bf16 autocast on a GPU that supports it, fp32 on CPU), ``bf16`` or ``fp32``."""
    num_workers: int = 0
    """DataLoader worker processes."""

    def __post_init__(self) -> None:
        if self.max_steps <= 0:
            raise ConfigError(f"train.max_steps must be positive, got {self.max_steps}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"train.precision must be auto, bf16 or fp32, got {self.precision!r}")
        for name in ("checkpoint_every", "val_every", "log_every", "max_frames"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"train.ema_decay must be in [0, 1), got {self.ema_decay}")

    def with_max_steps(self, max_steps: int | None) -> TrainConfig:
        return self if max_steps is None else dataclasses.replace(self, max_steps=max_steps)


# ---------------------------------------------------------------------------------------------
# flowaudio train


@dataclass(frozen=True)
class AcousticRunConfig:
    """Everything ``flowaudio train`` needs besides the data: model sizes and training."""

    model: TTSConfig = dataclasses.field(default_factory=TTSConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


ACOUSTIC_PRESETS: dict[str, AcousticRunConfig] = {
    # Unit tests and smoke runs: learns a tiny corpus in a few hundred CPU steps.
    "tiny": AcousticRunConfig(
        model=TTS_PRESETS["tiny"],
        train=TrainConfig(
            max_steps=300,
            max_frames=4000,
            lr=2e-3,
            warmup_steps=20,
            checkpoint_every=100,
            val_every=100,
            log_every=10,
            ema_decay=0.99,
        ),
    ),
    # The default voice's size (5-10M parameters).
    "small": AcousticRunConfig(
        model=TTS_PRESETS["small"],
        train=TrainConfig(
            max_steps=100_000,
            max_frames=12_000,
            lr=5e-4,
            warmup_steps=1000,
            checkpoint_every=1000,
            val_every=1000,
            log_every=50,
        ),
    ),
    "base": AcousticRunConfig(
        model=TTS_PRESETS["base"],
        train=TrainConfig(max_steps=300_000, max_frames=16_000, lr=2e-4, warmup_steps=2000),
    ),
}


# ---------------------------------------------------------------------------------------------
# flowaudio train-vocoder


@dataclass(frozen=True)
class VocoderRunConfig:
    """Vocoder sizes, segment length and training settings of ``flowaudio train-vocoder``."""

    model: VocoderConfig = dataclasses.field(default_factory=VocoderConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    segment_frames: int = 32
    """Mel frames per training segment (32 frames = 0.5 s at 16 kHz, hop 256)."""
    gan_start_step: int = 0
    """Steps of reconstruction-only training before the discriminators join."""

    def __post_init__(self) -> None:
        if self.segment_frames < 4:
            raise ConfigError(f"segment_frames must be >= 4, got {self.segment_frames}")
        if self.gan_start_step < 0:
            raise ConfigError(f"gan_start_step must be >= 0, got {self.gan_start_step}")


VOCODER_RUN_PRESETS: dict[str, VocoderRunConfig] = {
    "tiny": VocoderRunConfig(
        model=VOCODER_PRESETS["tiny"],
        train=TrainConfig(
            max_steps=200,
            max_frames=8 * 16,
            lr=1e-3,
            warmup_steps=10,
            checkpoint_every=100,
            val_every=100,
            log_every=10,
            ema_decay=0.99,
            betas=(0.8, 0.99),
        ),
        segment_frames=16,
    ),
    # The default voice's vocoder (examples/default_voice/vocoder.yaml): reconstruction losses
    # only (mel L1 + multi-resolution STFT), ~3.5 s a step and 0.7 GB on 2 busy CPU cores; the
    # discriminators would cost 57-170 s a step and 4.4 GB there (measured). Set
    # gan_start_step below max_steps (or use `small-gan`) where a GPU can afford them.
    "small": VocoderRunConfig(
        model=VOCODER_PRESETS["small"],
        train=TrainConfig(
            max_steps=30_000,
            max_frames=16 * 32,
            max_batch_items=16,
            lr=1e-3,
            warmup_steps=200,
            betas=(0.8, 0.99),
            ema_decay=0.995,
            checkpoint_every=250,
            val_every=1000,
            log_every=50,
        ),
        segment_frames=32,
        gan_start_step=1_000_000,
    ),
    # The adversarial stage on CPU: fine-tunes a trained generator (`--init default`) against
    # multi-period discriminators at half HiFi-GAN's width, no multi-resolution ones. Measured
    # (bench/vocoder_gan_cost.py, 1 thread, 8 x 32 frames): 0.56 s a step, 0.6 GB; the
    # multi-resolution discriminators would make it 2.7 s (16 channels) to 6.9 s (32).
    "gan-finetune": VocoderRunConfig(
        model=dataclasses.replace(
            VOCODER_PRESETS["small"], mpd_channels=(16, 32, 64, 128), mrd_channels=0
        ),
        train=TrainConfig(
            max_steps=6000,
            max_frames=8 * 32,
            max_batch_items=8,
            lr=1e-4,
            warmup_steps=50,
            betas=(0.8, 0.99),
            ema_decay=0.995,
            checkpoint_every=500,
            keep_checkpoints=20,
            val_every=500,
            log_every=50,
        ),
        segment_frames=32,
    ),
    # GAN training from the first step (multi-period + multi-resolution discriminators): GPUs.
    "small-gan": VocoderRunConfig(
        model=VOCODER_PRESETS["small"],
        train=TrainConfig(
            max_steps=200_000,
            max_frames=16 * 32,
            max_batch_items=16,
            lr=5e-4,
            warmup_steps=1000,
            betas=(0.8, 0.99),
            checkpoint_every=2000,
            val_every=2000,
            log_every=50,
        ),
        segment_frames=32,
    ),
}


# ---------------------------------------------------------------------------------------------
# flowaudio distill

METHODS = ("reflow", "interval")
"""Distillation methods (see :mod:`flowaudio.train.distill`)."""


@dataclass(frozen=True)
class TeacherConfig:
    """How the teacher's targets are generated (part of the targets' cache key)."""

    steps: int = 16
    """Euler steps of the teacher (uniform grid)."""
    guidance_scale: float = 1.5
    """Classifier-free guidance of the teacher; the student folds it in."""
    temperature: float = 0.667
    """Standard deviation of the initial noise (the runtime's default)."""
    snapshots: int = 4
    """K: the states at t = k / K, k = 0..K, are stored (``steps`` must be a multiple of K)."""
    seed: int = 0
    """Base seed of the per-item noise (item i draws from seed + i)."""
    max_frames: int = 4000
    """Padded frames per generation batch (the guided pass doubles it)."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.snapshots < 1 or self.steps % self.snapshots:
            raise ConfigError(
                f"teacher.steps ({self.steps}) must be a positive multiple of teacher.snapshots "
                f"({self.snapshots})"
            )
        if not 0 <= self.temperature <= 2 or not 0 <= self.guidance_scale <= 10:
            raise ConfigError(
                "teacher.temperature must be in [0, 2] and teacher.guidance_scale in [0, 10], "
                f"got {self.temperature} and {self.guidance_scale}"
            )
        if self.max_frames <= 0:
            raise ConfigError(f"teacher.max_frames must be positive, got {self.max_frames}")


@dataclass(frozen=True)
class DistillConfig:
    """The student's objective."""

    method: str = "reflow"
    """``reflow`` or ``interval`` (see :mod:`flowaudio.train.distill`)."""
    endpoint_prob: float = 0.5
    """Share of the batch items trained on the one-step jump (t = 0 to 1)."""
    duration_weight: float = 1.0
    """Weight of the per-token log-duration MSE."""
    total_duration_weight: float = 1.0
    """Weight of the utterance-level log total-duration error."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"distill.method must be one of {', '.join(METHODS)}, got {self.method!r}"
            )
        if not 0 <= self.endpoint_prob <= 1:
            raise ConfigError(f"distill.endpoint_prob must be in [0, 1], got {self.endpoint_prob}")
        if self.duration_weight < 0 or self.total_duration_weight < 0:
            raise ConfigError("distill duration weights must be >= 0")


@dataclass(frozen=True)
class DistillRunConfig:
    """A distillation run: the student's model config (the teacher's, filled in by
    :func:`flowaudio.train.distill.distill`), the objective, the targets and the optimisation."""

    model: TTSConfig = dataclasses.field(default_factory=TTSConfig)
    distill: DistillConfig = dataclasses.field(default_factory=DistillConfig)
    teacher: TeacherConfig = dataclasses.field(default_factory=TeacherConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


DISTILL_PRESETS: dict[str, DistillRunConfig] = {
    # Tests: a tiny teacher, a few steps.
    "tiny": DistillRunConfig(
        teacher=TeacherConfig(steps=8, snapshots=4, max_frames=2000),
        train=TrainConfig(
            max_steps=60,
            max_frames=2000,
            lr=1e-3,
            warmup_steps=10,
            checkpoint_every=20,
            val_every=20,
            log_every=10,
            ema_decay=0.9,
            num_samples=0,
        ),
    ),
    # The default voice's student on 2 CPU cores: ~1-1.5 s a step on one thread.
    "default": DistillRunConfig(
        train=TrainConfig(
            max_steps=2000,
            max_frames=3000,
            lr=1e-4,
            warmup_steps=100,
            min_lr_ratio=0.1,
            ema_decay=0.99,
            checkpoint_every=100,
            val_every=250,
            log_every=10,
            keep_checkpoints=2,
            num_samples=0,
        ),
    ),
}


# ---------------------------------------------------------------------------------------------
# flowaudio finetune

DEFAULT_TARGETS = (r"encoder\..*", r"duration\..*", r"decoder\.(?!time_mlp\.|dt_mlp\.).*")
"""Regular expressions of the module paths LoRA adapts (``re.fullmatch``; only ``nn.Linear``
and ``nn.Conv1d`` are wrapped, so the embeddings and norms never are)."""


class SpeakerMode(str, Enum):
    """What happens to the voice's speaker table (see :mod:`flowaudio.train.finetune`)."""

    ADD = "add"
    REPLACE = "replace"


class Adaptation(str, Enum):
    """Which weights train (see :mod:`flowaudio.train.finetune`)."""

    LORA = "lora"
    FULL = "full"


@dataclass(frozen=True)
class FinetuneConfig:
    """What is adapted, and how (stored with the run; a resume must ask for the same)."""

    source: str = ""
    """The voice or run fine-tuned from (filled in by :func:`flowaudio.train.finetune.finetune`)."""
    base_speakers: tuple[str, ...] = ()
    """The source's speaker table (filled in)."""
    speakers: tuple[str, ...] = ()
    """The fine-tuned model's speaker table, in id order (filled in from the data)."""
    speaker_mode: str = SpeakerMode.ADD.value
    """``add`` or ``replace``."""
    adaptation: str = Adaptation.LORA.value
    """``lora`` or ``full``."""
    lora_rank: int = 8
    """r of every adapter."""
    lora_alpha: float = 16.0
    """The adapters' update is scaled by lora_alpha / lora_rank."""
    lora_targets: tuple[str, ...] = DEFAULT_TARGETS
    """Module paths adapted (regular expressions, ``re.fullmatch``)."""
    total_duration_weight: float = 1.0
    """Weight of the utterance-level log total-duration error (speaking rate)."""
    retention_weight: float = 4.0
    """``add`` mode: weight of the distance of the old speakers' outputs to the frozen source's
    (0: off). Measured on the default voice with 10 minutes of a new speaker (240 LoRA steps):
    1.0 let the old speakers' Whisper WER rise 6.5% -> 11.6% (pocketsphinx 11.6% -> 13.9%),
    4.0 held them at 7.9% (12.5%) with the new speaker as good (Whisper 12.9% -> 11.9%,
    similarity to its teacher 0.71 -> 0.68, the base speakers' at most 0.58);
    ``bench/results/finetune/add-10min-lora*``."""
    patience: int = 3
    """Validations without improvement before the run stops early (0: never)."""
    min_improvement: float = 0.005
    """Relative decrease of the validation loss that counts as an improvement."""

    def __post_init__(self) -> None:
        for name, enum in (("speaker_mode", SpeakerMode), ("adaptation", Adaptation)):
            value = getattr(self, name)
            if value not in {e.value for e in enum}:
                raise ConfigError(
                    f"finetune.{name} must be one of {', '.join(e.value for e in enum)}, "
                    f"got {value!r}"
                )
        if self.lora_rank < 1 or self.lora_alpha <= 0:
            raise ConfigError(
                f"finetune.lora_rank must be >= 1 and lora_alpha > 0, got {self.lora_rank} and "
                f"{self.lora_alpha}"
            )
        if self.retention_weight < 0:
            raise ConfigError(
                f"finetune.retention_weight must be >= 0, got {self.retention_weight}"
            )
        if self.total_duration_weight < 0 or self.patience < 0 or self.min_improvement < 0:
            raise ConfigError(
                "finetune.total_duration_weight, patience and min_improvement must be >= 0"
            )
        if len(set(self.speakers)) != len(self.speakers):
            raise ConfigError(f"finetune.speakers has duplicate names: {list(self.speakers)}")


@dataclass(frozen=True)
class FinetuneRunConfig:
    """A fine-tuning run: the adapted model's config (the source's, with the new speaker
    count), what is adapted, and the optimisation."""

    model: TTSConfig = dataclasses.field(default_factory=TTSConfig)
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


AUTO = "auto"
FINETUNE_PRESETS: dict[str, FinetuneRunConfig] = {
    # The training settings are derived from the data (derive_train_config).
    AUTO: FinetuneRunConfig(),
    # Tests: a few steps on a tiny voice.
    "tiny": FinetuneRunConfig(
        train=TrainConfig(
            max_steps=30,
            max_frames=3000,
            lr=2e-3,
            warmup_steps=5,
            checkpoint_every=10,
            val_every=10,
            log_every=5,
            ema_decay=0.0,
            num_samples=0,
        ),
    ),
}
