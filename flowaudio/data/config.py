"""The corpus preparation settings (:class:`DataConfig`, ``flowaudio prepare``) and their
named presets, one per audio preset. Pure Python; stored in every prepared cache's config.json.
"""

from __future__ import annotations

import dataclasses

from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.config import ConfigError
from flowaudio.text.config import TextConfig

__all__ = ["DATA_PRESETS", "DataConfig"]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Corpus preparation settings (``flowaudio prepare``)."""

    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    text: TextConfig = dataclasses.field(default_factory=TextConfig)
    min_seconds: float = 0.5
    """Clips shorter than this are skipped (reported with the reason)."""
    max_seconds: float = 20.0
    """Clips longer than this are skipped (reported with the reason)."""
    val_fraction: float = 0.02
    """Fraction of each speaker's utterances held out for validation (at least one per speaker
    that has two or more)."""
    max_val_per_speaker: int = 20
    """Upper bound on validation utterances per speaker."""
    seed: int = 1234
    """Seed of the train/validation split."""

    def __post_init__(self) -> None:
        if not 0 < self.min_seconds < self.max_seconds:
            raise ConfigError(
                "data needs 0 < min_seconds < max_seconds, got "
                f"min_seconds={self.min_seconds}, max_seconds={self.max_seconds}"
            )
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {self.val_fraction}")


DATA_PRESETS: dict[str, DataConfig] = {
    name: DataConfig(audio=audio) for name, audio in AUDIO_PRESETS.items()
}
