"""The audio feature parameters (:class:`AudioConfig`) and their named presets.

One config decides the waveform rate and the log-mel features everywhere: data preparation,
both mel implementations, the acoustic model, the vocoder and the runtime (a voice stores it).
Pure Python.
"""

from __future__ import annotations

import dataclasses

from flowaudio.config import ConfigError

__all__ = ["AUDIO_PRESETS", "AudioConfig"]


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """Waveform and log-mel feature parameters, shared by training, vocoder and runtime."""

    sample_rate: int = 16000
    """Sample rate in Hz that every waveform is resampled to."""
    n_fft: int = 1024
    """FFT size of the STFT."""
    hop_length: int = 256
    """Samples between frames; one mel frame covers exactly ``hop_length`` samples."""
    win_length: int = 1024
    """Hann window length (<= n_fft)."""
    n_mels: int = 80
    """Number of mel bands."""
    f_min: float = 0.0
    """Lowest mel band edge in Hz."""
    f_max: float = 8000.0
    """Highest mel band edge in Hz (<= sample_rate / 2)."""
    log_floor: float = 1e-5
    """Magnitudes are clamped to this value before the natural log."""

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ConfigError(f"audio.sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.win_length <= self.n_fft:
            raise ConfigError(
                f"audio.win_length must be in (0, n_fft={self.n_fft}], got {self.win_length}"
            )
        if not 0 < self.hop_length <= self.win_length:
            raise ConfigError(
                f"audio.hop_length must be in (0, win_length={self.win_length}], "
                f"got {self.hop_length}"
            )
        if (self.n_fft - self.hop_length) % 2:
            raise ConfigError(
                "audio.n_fft - audio.hop_length must be even so frames stay centred on hops, "
                f"got n_fft={self.n_fft}, hop_length={self.hop_length}"
            )
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ConfigError(
                f"audio needs 0 <= f_min < f_max <= sample_rate/2, got f_min={self.f_min}, "
                f"f_max={self.f_max}, sample_rate={self.sample_rate}"
            )
        if self.n_mels <= 0:
            raise ConfigError(f"audio.n_mels must be positive, got {self.n_mels}")
        if self.log_floor <= 0:
            raise ConfigError(f"audio.log_floor must be positive, got {self.log_floor}")


AUDIO_PRESETS: dict[str, AudioConfig] = {
    # 16 kHz: the default voice's rate (flite teachers render at 16 kHz).
    "16k": AudioConfig(
        sample_rate=16000,
        n_fft=1024,
        hop_length=256,
        win_length=1024,
        n_mels=80,
        f_min=0.0,
        f_max=8000.0,
    ),
    # 22.05 kHz: LJSpeech and the HiFi-GAN / Matcha-TTS convention.
    "22k": AudioConfig(
        sample_rate=22050,
        n_fft=1024,
        hop_length=256,
        win_length=1024,
        n_mels=80,
        f_min=0.0,
        f_max=8000.0,
    ),
}
