"""Frozen training settings shared by every task."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowaudio.config import ConfigError


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
