"""Griffin-Lim vocoding of log-mel spectrograms in numpy (no torch, no model weights).

The fallback vocoder of the runtime and a baseline for the neural one: it needs nothing but the
:class:`~flowaudio.audio.config.AudioConfig` the mel was computed with. Two steps:

1. **Mel to linear magnitude.** ``mel = M @ |S|`` with the (n_mels, F) filterbank ``M`` of
   :func:`flowaudio.audio.mel.mel_filterbank` has many more unknowns (F = n_fft // 2 + 1) than
   equations, so :func:`mel_to_magnitude` picks a non-negative solution of the least-squares
   problem ``min ||M s - mel||^2, s >= 0``: the pseudo-inverse solution clipped at zero, then
   a few projected-gradient steps (step ``1 / ||M||_2^2``, which cannot increase the residual)
   that repair what the clipping broke. Fine harmonic structure inside a mel band is lost; that
   is the main reason Griffin-Lim from a mel sounds buzzy.
2. **Phase retrieval.** The fast Griffin-Lim algorithm of Perraudin, Balazs and Søndergaard,
   "A fast Griffin-Lim algorithm" (WASPAA 2013), in the form librosa uses: with
   ``P(X) = stft(istft(X))`` the projection onto consistent spectrograms and
   ``alpha = momentum``::

       c_n = P(|S| e^{i angle(t_{n-1})})            t_n = c_n - alpha / (1 + alpha) c_{n-1}

   and the audio is ``istft(|S| e^{i angle(t_N)})``. ``alpha = 0`` is the original algorithm of
   Griffin and Lim (1984); 0.99 converges in far fewer iterations.

The STFT pair :func:`stft` / :func:`istft` uses exactly the framing of
:mod:`flowaudio.audio.mel` (reflect padding of ``(n_fft - hop) // 2`` samples on each side, no
centring, :func:`~flowaudio.audio.mel.hann_window`), so T frames become exactly ``T * hop``
samples and ``istft(stft(x)) == x`` for any x of a multiple of ``hop`` samples.
"""

from __future__ import annotations

import functools

import numpy as np

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel import hann_window, mel_filterbank

__all__ = [
    "griffin_lim",
    "istft",
    "mel_to_magnitude",
    "spectral_convergence",
    "stft",
]

# Window-sum-square values below this are treated as zero (nothing to normalise there).
_ENVELOPE_FLOOR = 1e-11
# Keeps angle normalisation finite where the spectrum is exactly zero.
_TINY = 1e-16


def _pad(cfg: AudioConfig) -> int:
    return (cfg.n_fft - cfg.hop_length) // 2


def stft(audio: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Complex STFT with the project framing (steps 1-4 of :mod:`flowaudio.audio.mel`).

    Args:
        audio: (N,) or (B, N) waveform with ``N > (n_fft - hop) // 2`` (reflect padding).

    Returns:
        complex128 array (F, N // hop) or (B, F, N // hop), ``F = n_fft // 2 + 1``.

    Raises:
        ValueError: audio is not 1-D/2-D or too short to reflect-pad.
    """
    x = np.asarray(audio, dtype=np.float64)
    pad = _pad(cfg)
    if x.ndim not in (1, 2):
        raise ValueError(f"stft expects audio of shape (N,) or (B, N), got shape {x.shape}")
    if x.shape[-1] <= pad or x.shape[-1] < cfg.hop_length:
        raise ValueError(
            f"stft got {x.shape[-1]} samples but needs more than (n_fft - hop) // 2 = {pad} "
            f"and at least one hop ({cfg.hop_length})"
        )
    x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    # (..., frames, n_fft) strided view: one frame per hop, no copy until the window multiply
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg.n_fft, axis=-1)[
        ..., :: cfg.hop_length, :
    ]
    spec = np.fft.rfft(frames * hann_window(cfg).astype(np.float64), n=cfg.n_fft, axis=-1)
    return np.swapaxes(spec, -1, -2)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """(..., T, N) frames -> (..., (T - 1) * hop + N) signal, frame t starting at t * hop."""
    *lead, n_frames, n = frames.shape
    chunks = -(-n // hop)  # ceil: each frame spans this many hops
    padded = np.zeros((*lead, n_frames, chunks * hop), dtype=frames.dtype)
    padded[..., :n] = frames
    padded = padded.reshape(*lead, n_frames, chunks, hop)
    out = np.zeros((*lead, (n_frames + chunks - 1) * hop), dtype=frames.dtype)
    # One vectorised add per hop-sized chunk of the frame instead of one per frame.
    for r in range(chunks):
        out[..., r * hop : (r + n_frames) * hop] += padded[..., :, r, :].reshape(
            *lead, n_frames * hop
        )
    return out[..., : (n_frames - 1) * hop + n]


@functools.lru_cache(maxsize=32)
def _envelope(cfg: AudioConfig, n_frames: int) -> np.ndarray:
    """Window-sum-square of ``n_frames`` frames, trimmed like the signal: (n_frames * hop,).

    Entries below the floor are set to 1 so dividing by the envelope leaves them unchanged.
    """
    w2 = hann_window(cfg).astype(np.float64) ** 2
    env = _overlap_add(np.broadcast_to(w2, (n_frames, cfg.n_fft)), cfg.hop_length)
    pad = _pad(cfg)
    env = env[pad : pad + n_frames * cfg.hop_length]
    env = np.where(env > _ENVELOPE_FLOOR, env, 1.0)
    env.setflags(write=False)  # shared through the cache
    return env


def istft(spec: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Inverse of :func:`stft`: least-squares overlap-add (Griffin and Lim 1984).

    Each frame is inverse-rFFT'd, multiplied by the window again, overlap-added, divided by the
    window-sum-square envelope, and ``(n_fft - hop) // 2`` samples are cut from both ends, so
    T frames give exactly ``T * hop`` samples. With the project framing the envelope is
    positive everywhere inside the kept region whenever the Hann window overlaps itself
    (``hop < win_length``); samples where it vanishes are left undivided.

    Args:
        spec: complex (F, T) or (B, F, T) with ``F = n_fft // 2 + 1``.

    Returns:
        float64 array (T * hop,) or (B, T * hop).

    Raises:
        ValueError: wrong rank or number of bins.
    """
    spec = np.asarray(spec)
    n_bins = cfg.n_fft // 2 + 1
    if spec.ndim not in (2, 3) or spec.shape[-2] != n_bins:
        raise ValueError(
            f"istft expects a spectrum of shape (F, T) or (B, F, T) with F = n_fft // 2 + 1 = "
            f"{n_bins}, got shape {spec.shape}"
        )
    n_frames = spec.shape[-1]
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=cfg.n_fft, axis=-1)  # (..., T, n_fft)
    frames = frames * hann_window(cfg).astype(np.float64)
    signal = _overlap_add(frames, cfg.hop_length)
    pad = _pad(cfg)
    signal = signal[..., pad : pad + n_frames * cfg.hop_length]
    return signal / _envelope(cfg, n_frames)


@functools.lru_cache(maxsize=16)
def _mel_inverse(cfg: AudioConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Pseudo-inverse (F, n_mels), Gram matrix M^T M (F, F) and 1 / ||M||_2^2 of the filters."""
    basis = mel_filterbank(cfg).astype(np.float64)
    pinv = np.linalg.pinv(basis)
    gram = basis.T @ basis
    step = 1.0 / float(np.linalg.norm(basis, ord=2) ** 2)
    for a in (pinv, gram):
        a.setflags(write=False)
    return pinv, gram, step


def mel_to_magnitude(log_mel: np.ndarray, cfg: AudioConfig, n_iter: int = 30) -> np.ndarray:
    """Non-negative least-squares linear magnitude for a log-mel spectrogram.

    Solves ``min_s ||M s - exp(log_mel)||^2`` subject to ``s >= 0`` approximately: the
    pseudo-inverse solution clipped at zero, then ``n_iter`` projected-gradient steps
    ``s <- max(s - M^T (M s - mel) / ||M||_2^2, 0)``. See the module docstring for why.

    Args:
        log_mel: (n_mels, T) or (B, n_mels, T) natural-log mel magnitudes.
        n_iter: projected-gradient steps after the clipped pseudo-inverse (0 skips them).

    Returns:
        float64 magnitudes (F, T) or (B, F, T), all ``>= 0``.

    Raises:
        ValueError: wrong shape, or a negative ``n_iter``.
    """
    log_mel = np.asarray(log_mel)
    _check_log_mel(log_mel, cfg, "mel_to_magnitude")
    if n_iter < 0:
        raise ValueError(f"mel_to_magnitude needs n_iter >= 0, got {n_iter}")
    mel = np.exp(log_mel.astype(np.float64))
    pinv, gram, step = _mel_inverse(cfg)
    basis = mel_filterbank(cfg).astype(np.float64)
    target = basis.T @ mel  # M^T mel, (..., F, T); the gradient is gram @ s - target
    mag = np.maximum(pinv @ mel, 0.0)
    for _ in range(n_iter):
        mag = np.maximum(mag - step * (gram @ mag - target), 0.0)
    return mag


def _check_log_mel(log_mel: np.ndarray, cfg: AudioConfig, where: str) -> None:
    if log_mel.ndim not in (2, 3) or log_mel.shape[-2] != cfg.n_mels:
        raise ValueError(
            f"{where} expects a log-mel of shape (n_mels, T) or (B, n_mels, T) with "
            f"n_mels = {cfg.n_mels}, got shape {log_mel.shape}"
        )
    if log_mel.shape[-1] * cfg.hop_length <= _pad(cfg):
        raise ValueError(
            f"{where} got {log_mel.shape[-1]} frames; the output must be longer than "
            f"(n_fft - hop) // 2 = {_pad(cfg)} samples, so pass at least "
            f"{_pad(cfg) // cfg.hop_length + 1} frames"
        )


def griffin_lim(
    log_mel: np.ndarray,
    cfg: AudioConfig,
    n_iter: int = 32,
    momentum: float = 0.99,
    seed: int = 0,
) -> np.ndarray:
    """Waveform from a log-mel spectrogram by NNLS mel inversion and fast Griffin-Lim.

    Args:
        log_mel: (n_mels, T) or (B, n_mels, T) log-mel in the project's definition
            (:func:`flowaudio.audio.mel.log_mel_spectrogram` with the same ``cfg``).
        cfg: the audio parameters the mel was computed with.
        n_iter: Griffin-Lim iterations (each is one ISTFT and one STFT).
        momentum: ``alpha`` of fast Griffin-Lim in ``[0, 1)``; 0 is plain Griffin-Lim.
        seed: seed of the random initial phase, so the output is reproducible.

    Returns:
        float32 audio (T * hop,) or (B, T * hop). It is not clipped or normalised.

    Raises:
        ValueError: wrong log-mel shape, too few frames, ``n_iter < 0`` or momentum outside
            ``[0, 1)``.
    """
    log_mel = np.asarray(log_mel)
    _check_log_mel(log_mel, cfg, "griffin_lim")
    if n_iter < 0:
        raise ValueError(f"griffin_lim needs n_iter >= 0, got {n_iter}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"griffin_lim needs momentum in [0, 1), got {momentum}")
    magnitude = mel_to_magnitude(log_mel, cfg)  # (..., F, T)
    rng = np.random.default_rng(seed)
    angles = np.exp(2j * np.pi * rng.random(magnitude.shape))
    previous = np.zeros_like(angles)
    weight = momentum / (1.0 + momentum)
    for _ in range(n_iter):
        rebuilt = stft(istft(magnitude * angles, cfg), cfg)
        accelerated = rebuilt - weight * previous
        angles = accelerated / (np.abs(accelerated) + _TINY)
        previous = rebuilt
    return istft(magnitude * angles, cfg).astype(np.float32)


def spectral_convergence(reference_mag: np.ndarray, estimate_mag: np.ndarray) -> float:
    """``||S - S_hat||_F / ||S||_F`` of two magnitude spectrograms (0 is a perfect match).

    Raises:
        ValueError: the shapes differ, or the reference is all zeros.
    """
    ref = np.asarray(reference_mag, dtype=np.float64)
    est = np.asarray(estimate_mag, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(
            f"spectral_convergence needs equal shapes, got {ref.shape} and {est.shape}; "
            "trim both to the same number of frames"
        )
    norm = float(np.linalg.norm(ref))
    if norm == 0.0:
        raise ValueError("spectral_convergence: the reference magnitude is all zeros")
    return float(np.linalg.norm(ref - est)) / norm
