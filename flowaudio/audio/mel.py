"""Log-mel features: the numpy reference implementation (no torch).

This module holds THE definition of the project's log-mel spectrogram. The runtime computes
features with it, and the training twin :class:`flowaudio.audio.mel_torch.LogMelSpectrogram`
is tested against it, so a model trained on torch features sees the same numbers at inference.

Definition, for a waveform x of T samples and an :class:`~flowaudio.audio.config.AudioConfig` cfg,
with ``pad = (n_fft - hop_length) // 2``:

1. reflect-pad x by ``pad`` samples on both sides (no edge sample repeated);
2. cut frames of ``n_fft`` samples every ``hop_length`` samples, without further centring,
   which gives exactly ``T // hop_length`` frames: frame i is centred on sample
   ``i * hop + hop / 2`` of x, so one frame covers one hop;
3. multiply each frame by :func:`hann_window` (periodic Hann of ``win_length``, zero-padded
   centrally to ``n_fft``, as float32 numbers);
4. rFFT of size ``n_fft``: ``n_fft // 2 + 1`` complex bins;
5. magnitude ``sqrt(re**2 + im**2 + 1e-9)``; the epsilon keeps the gradient of the torch twin
   finite on silence;
6. ``mel = mel_filterbank(cfg) @ magnitude`` (float32 numbers; Slaney mel scale and area
   normalisation, identical to ``librosa.filters.mel(htk=False, norm="slaney")``);
7. ``log(max(mel, cfg.log_floor))`` (natural log).

Steps 1-7 run in float64 and the result is returned as float32. A waveform needs at least
:func:`min_num_samples` samples (more than ``pad`` for the reflection, and one hop).
"""

from __future__ import annotations

import functools

import numpy as np

from flowaudio.audio.config import AudioConfig

__all__ = [
    "hann_window",
    "log_mel_spectrogram",
    "mel_filterbank",
    "min_num_samples",
    "num_frames",
    "stft_magnitude",
]

# Added under the square root of |X|^2; see step 5 of the module docstring.
MAGNITUDE_EPS = 1e-9

# Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # mels per log-Hz in the logarithmic part


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _F_SP
    # np.maximum keeps log() away from 0 Hz; those entries take the linear branch anyway.
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, linear)


@functools.lru_cache(maxsize=16)
def mel_filterbank(cfg: AudioConfig) -> np.ndarray:
    """Slaney-scale triangular mel filters with Slaney area normalisation.

    Band i rises linearly from edge i to edge i + 1 and falls to edge i + 2, where the
    ``n_mels + 2`` edges are equally spaced in mel between ``f_min`` and ``f_max``; it is then
    scaled by ``2 / (edge[i + 2] - edge[i])`` (in Hz) so every band has the same area. This is
    ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney")``.

    Returns:
        float32 array of shape (n_mels, n_fft // 2 + 1). It is cached per config and read-only;
        copy it before modifying.
    """
    fft_hz = np.fft.rfftfreq(cfg.n_fft, d=1.0 / cfg.sample_rate)  # (F,)
    edges_mel = np.linspace(_hz_to_mel(cfg.f_min), _hz_to_mel(cfg.f_max), cfg.n_mels + 2)
    edges_hz = _mel_to_hz(edges_mel)  # (n_mels + 2,)
    widths = np.diff(edges_hz)  # (n_mels + 1,)
    ramps = edges_hz[:, None] - fft_hz[None, :]  # (n_mels + 2, F)
    rising = -ramps[:-2] / widths[:-1, None]  # (n_mels, F)
    falling = ramps[2:] / widths[1:, None]  # (n_mels, F)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    out = weights.astype(np.float32)
    out.setflags(write=False)  # shared through the cache
    return out


def hann_window(cfg: AudioConfig) -> np.ndarray:
    """Periodic Hann window of ``win_length``, zero-padded centrally to ``n_fft``.

    The padding puts ``(n_fft - win_length) // 2`` zeros on the left, as ``torch.stft`` and
    ``librosa.stft`` do when given a window shorter than ``n_fft``.

    Returns:
        float32 array of shape (n_fft,), the same numbers the torch twin uses; like the float32
        filterbank, the rounding is part of the definition so both implementations share their
        parameters bit for bit.
    """
    n = np.arange(cfg.win_length, dtype=np.float64)
    # Periodic (DFT-even) Hann: the window of length N + 1 without its last sample.
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / cfg.win_length)
    left = (cfg.n_fft - cfg.win_length) // 2
    padded = np.zeros(cfg.n_fft, dtype=np.float64)
    padded[left : left + cfg.win_length] = window
    return padded.astype(np.float32)


def num_frames(n_samples: int, cfg: AudioConfig) -> int:
    """Number of mel frames for a waveform of ``n_samples`` samples: ``n_samples // hop``."""
    return n_samples // cfg.hop_length


def min_num_samples(cfg: AudioConfig) -> int:
    """Shortest waveform the spectrogram accepts.

    Reflect padding needs more samples than it pads (``T > (n_fft - hop) // 2``), and there must
    be at least one frame (``T >= hop``).
    """
    return max((cfg.n_fft - cfg.hop_length) // 2 + 1, cfg.hop_length)


def _check_waveform_shape(shape: tuple[int, ...], cfg: AudioConfig, where: str) -> None:
    """Shared by the numpy and torch implementations so both fail with the same message."""
    if len(shape) not in (1, 2):
        raise ValueError(f"{where} expects audio of shape (T,) or (B, T), got shape {shape}")
    need = min_num_samples(cfg)
    if shape[-1] < need:
        raise ValueError(
            f"{where} got {shape[-1]} samples but needs at least {need} "
            f"(reflect padding of (n_fft - hop_length) // 2 = "
            f"{(cfg.n_fft - cfg.hop_length) // 2} and one hop of {cfg.hop_length}); "
            "pad or skip clips this short"
        )


def stft_magnitude(audio: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Steps 1-5 of the module definition: the padded, windowed STFT magnitude.

    Args:
        audio: (T,) or (B, T) waveform.

    Returns:
        float64 array (F, frames) or (B, F, frames) with ``F = n_fft // 2 + 1`` and
        ``frames = T // hop_length``; every entry is at least ``sqrt(1e-9)``.
    """
    x = np.asarray(audio, dtype=np.float64)
    _check_waveform_shape(x.shape, cfg, "stft_magnitude")
    pad = (cfg.n_fft - cfg.hop_length) // 2
    x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    # (..., T + 2 * pad - n_fft + 1, n_fft) view, strided down to one frame per hop.
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg.n_fft, axis=-1)[
        ..., :: cfg.hop_length, :
    ]
    spec = np.fft.rfft(frames * hann_window(cfg).astype(np.float64), n=cfg.n_fft, axis=-1)
    mag = np.sqrt(spec.real**2 + spec.imag**2 + MAGNITUDE_EPS)  # (..., frames, F)
    return np.swapaxes(mag, -1, -2)


def log_mel_spectrogram(audio: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """The project's log-mel spectrogram (see the module docstring for the definition).

    Computed in float64, returned as float32.

    Args:
        audio: (T,) or (B, T) waveform with ``T >= min_num_samples(cfg)``.
        cfg: audio parameters.

    Returns:
        (n_mels, T // hop_length) or (B, n_mels, T // hop_length) natural-log mel energies.

    Raises:
        ValueError: audio is not 1-D/2-D or too short for the reflect padding.
    """
    x = np.asarray(audio)
    _check_waveform_shape(x.shape, cfg, "log_mel_spectrogram")
    mag = stft_magnitude(x, cfg)  # (..., F, frames)
    mel = mel_filterbank(cfg).astype(np.float64) @ mag  # (..., n_mels, frames)
    return np.log(np.maximum(mel, cfg.log_floor)).astype(np.float32)
