"""Inverse STFT in numpy: the host twin of :class:`flowaudio.models.istft.ISTFT` (no torch).

A voice whose vocoder graph ends at the complex spectrum (voice.json ``vocoder_output:
"spectrum"``) is finished on the host with this function: ``numpy.fft.irfft`` of every frame,
the synthesis window, overlap-add, the window-sum-square envelope and the trim. The framing is
the project's (:mod:`flowaudio.audio.mel`): ``pad = (n_fft - hop) // 2`` samples were
reflect-padded on each side without centring, so frame t covers samples
``[t * hop - pad, t * hop - pad + n_fft)`` and T frames give exactly ``T * hop`` samples.

Why on the host: inside the graph the same math is a ConvTranspose over windowed DFT bases, a
dense (2F x n_fft) product per frame; the FFT is O(n_fft log n_fft). Measured on the shipped
voice's vocoder (n_fft 1024, hop 256, 2 threads, bench/vocoder_istft.py): 5 ms of numpy per 10 s
of audio, and the whole vocoder 0.81-0.87x the time of the graph with the ISTFT inside (see
:data:`flowaudio.export.voice.DEFAULT_VOCODER_ISTFT`).
"""

from __future__ import annotations

import functools

import numpy as np

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel import hann_window

__all__ = ["istft", "spectrum_to_audio"]

# Envelope values below this count as zero (as in the torch ISTFT): left undivided.
ENVELOPE_FLOOR = 1e-11


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """(..., T, N) frames placed every ``hop`` samples and summed -> (..., (T - 1) hop + N).

    Each frame is cut into k = ceil(N / hop) blocks of one hop (zero-padded), so the sum is k
    shifted adds of (..., T, hop) arrays instead of a Python loop over T.
    """
    *lead, t, n = frames.shape
    k = -(-n // hop)
    if k * hop != n:
        frames = np.concatenate([frames, np.zeros((*lead, t, k * hop - n), frames.dtype)], axis=-1)
    blocks = frames.reshape(*lead, t, k, hop)
    out = np.zeros((*lead, t + k - 1, hop), frames.dtype)
    for j in range(k):
        out[..., j : j + t, :] += blocks[..., :, j, :]
    return out.reshape(*lead, (t + k - 1) * hop)[..., : (t - 1) * hop + n]


@functools.lru_cache(maxsize=32)
def _inverse_envelope(cfg: AudioConfig, frames: int) -> np.ndarray:
    """(T * hop,) float32 1 / window-sum-square over the kept samples (1 where it is ~0)."""
    window_sq = hann_window(cfg).astype(np.float64) ** 2
    env = _overlap_add(np.broadcast_to(window_sq, (frames, cfg.n_fft)), cfg.hop_length)
    pad = (cfg.n_fft - cfg.hop_length) // 2
    env = env[pad : pad + frames * cfg.hop_length]
    inverse = np.where(env > ENVELOPE_FLOOR, 1.0 / np.maximum(env, ENVELOPE_FLOOR), 1.0)
    inverse = inverse.astype(np.float32)
    inverse.flags.writeable = False  # cached and shared between calls
    return inverse


def istft(real: np.ndarray, imag: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """(B, F, T) real and imaginary parts -> (B, T * hop) float32 waveform.

    ``F = n_fft // 2 + 1``; the imaginary parts of the DC and Nyquist bins are ignored, as in
    any inverse real DFT. The same numbers as :meth:`flowaudio.models.istft.ISTFT.from_complex`
    (float32 rounding apart), without the clip of the vocoder.

    Raises:
        ValueError: the inputs are not (B, F, T) of equal shape with ``F = n_fft // 2 + 1``.
    """
    real, imag = np.asarray(real), np.asarray(imag)
    n_bins = cfg.n_fft // 2 + 1
    if real.ndim != 3 or real.shape[1] != n_bins or real.shape != imag.shape:
        raise ValueError(
            f"istft expects real and imag of equal shape (B, {n_bins}, T) "
            f"(F = n_fft // 2 + 1), got {real.shape} and {imag.shape}"
        )
    b, _, t = real.shape
    hop, pad = cfg.hop_length, (cfg.n_fft - cfg.hop_length) // 2
    if t == 0:
        return np.zeros((b, 0), np.float32)
    spec = np.empty((b, t, n_bins), np.complex64)  # frames last: irfft along a contiguous axis
    spec.real = real.transpose(0, 2, 1)
    spec.imag = imag.transpose(0, 2, 1)
    frames = np.fft.irfft(spec, n=cfg.n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= hann_window(cfg)  # (B, T, N) windowed frames
    signal = _overlap_add(frames, hop)[:, pad : pad + t * hop]
    return signal * _inverse_envelope(cfg, t)


def spectrum_to_audio(spectrum: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """A spectrum-form vocoder graph's output (B, 2, F, T) -> audio (B, T * hop) in [-1, 1].

    Channel 0 holds the real parts, channel 1 the imaginary parts; the clip is the audio-form
    vocoder's last step (:meth:`flowaudio.models.vocoder.Vocoder.forward`).

    Raises:
        ValueError: ``spectrum`` is not (B, 2, F, T) with ``F = n_fft // 2 + 1``.
    """
    spectrum = np.asarray(spectrum)
    if spectrum.ndim != 4 or spectrum.shape[1] != 2:
        raise ValueError(
            f"a vocoder spectrum must be (B, 2, {cfg.n_fft // 2 + 1}, T) (real, imag), got "
            f"{spectrum.shape}"
        )
    return np.clip(istft(spectrum[:, 0], spectrum[:, 1], cfg), -1.0, 1.0)
