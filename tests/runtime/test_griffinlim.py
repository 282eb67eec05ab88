"""Griffin-Lim runtime vocoder: numpy STFT pair, NNLS mel inversion, quality on a real clip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from flowaudio.audio import load_audio, log_mel_spectrogram, mel_filterbank, stft_magnitude
from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.runtime.griffinlim import (
    griffin_lim,
    istft,
    mel_to_magnitude,
    spectral_convergence,
    stft,
)

# win_length < n_fft and a non-power-of-two FFT exercise the window padding and the envelope.
ODD = AudioConfig(
    sample_rate=24000,
    n_fft=800,
    hop_length=200,
    win_length=600,
    n_mels=100,
    f_min=50.0,
    f_max=11000.0,
)
CONFIGS = {**AUDIO_PRESETS, "odd": ODD}

SENTENCE = "The birch canoe slid on the smooth planks, and the quick brown fox jumped over it."
# Measured 0.356 with flite 2.2 (slt, 16 kHz), 32 iterations, seed 0 (0.374 without momentum);
# the bound leaves room for another flite build's slightly different rendering.
SPECTRAL_CONVERGENCE_BOUND = 0.38


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stft_istft_round_trip(name: str) -> None:
    cfg = CONFIGS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 37 * cfg.hop_length))
    spec = stft(x, cfg)
    assert spec.shape == (2, cfg.n_fft // 2 + 1, 37)
    # the magnitude is the reference feature's (up to its sqrt(1e-9) epsilon)
    np.testing.assert_allclose(np.abs(spec), stft_magnitude(x, cfg), atol=1e-4)
    np.testing.assert_allclose(istft(spec, cfg), x, atol=1e-10)
    np.testing.assert_allclose(istft(spec[0], cfg), x[0], atol=1e-10)


def test_stft_errors() -> None:
    cfg = AUDIO_PRESETS["16k"]
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(B, N\)"):
        stft(np.zeros((1, 1, 4096)), cfg)
    with pytest.raises(ValueError, match="needs more than"):
        stft(np.zeros(100), cfg)
    with pytest.raises(ValueError, match="F = n_fft // 2 \\+ 1 = 513"):
        istft(np.zeros((512, 4), dtype=complex), cfg)


def test_mel_to_magnitude_is_nonnegative_least_squares() -> None:
    cfg = AUDIO_PRESETS["16k"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(32 * cfg.hop_length)
    log_mel = log_mel_spectrogram(x, cfg)
    mel = np.exp(log_mel.astype(np.float64))
    basis = mel_filterbank(cfg).astype(np.float64)

    def residual(mag: np.ndarray) -> float:
        return float(np.linalg.norm(basis @ mag - mel) / np.linalg.norm(mel))

    clipped = mel_to_magnitude(log_mel, cfg, n_iter=0)
    refined = mel_to_magnitude(log_mel, cfg, n_iter=30)
    assert clipped.min() >= 0 and refined.min() >= 0
    assert residual(refined) < residual(clipped)
    assert refined.shape == (cfg.n_fft // 2 + 1, 32)
    with pytest.raises(ValueError, match="n_iter >= 0"):
        mel_to_magnitude(log_mel, cfg, n_iter=-1)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_griffin_lim_shapes_and_determinism(name: str) -> None:
    cfg = CONFIGS[name]
    rng = np.random.default_rng(2)
    log_mel = rng.normal(-4.0, 1.0, (2, cfg.n_mels, 9)).astype(np.float32)
    audio = griffin_lim(log_mel, cfg, n_iter=4)
    assert audio.shape == (2, 9 * cfg.hop_length)
    assert audio.dtype == np.float32
    assert np.isfinite(audio).all()
    single = griffin_lim(log_mel[1], cfg, n_iter=4)
    assert single.shape == (9 * cfg.hop_length,)
    np.testing.assert_array_equal(single, griffin_lim(log_mel[1], cfg, n_iter=4))
    assert not np.array_equal(single, griffin_lim(log_mel[1], cfg, n_iter=4, seed=1))


def test_griffin_lim_errors() -> None:
    cfg = AUDIO_PRESETS["16k"]
    log_mel = np.zeros((80, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="n_mels = 80"):
        griffin_lim(np.zeros((64, 10)), cfg)
    with pytest.raises(ValueError, match="at least 2 frames"):
        griffin_lim(log_mel[:, :1], cfg)
    with pytest.raises(ValueError, match=r"momentum in \[0, 1\)"):
        griffin_lim(log_mel, cfg, momentum=1.0)
    with pytest.raises(ValueError, match="n_iter >= 0"):
        griffin_lim(log_mel, cfg, n_iter=-1)


def test_spectral_convergence() -> None:
    ref = np.arange(1.0, 7.0).reshape(2, 3)
    assert spectral_convergence(ref, ref) == 0.0
    assert spectral_convergence(ref, np.zeros_like(ref)) == pytest.approx(1.0)
    assert spectral_convergence(ref, 1.1 * ref) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="equal shapes"):
        spectral_convergence(ref, ref[:, :2])
    with pytest.raises(ValueError, match="all zeros"):
        spectral_convergence(np.zeros(3), np.ones(3))


def test_griffin_lim_on_a_flite_sentence(tmp_path: Path) -> None:
    cfg = AUDIO_PRESETS["16k"]
    wav = tmp_path / "slt.wav"
    subprocess.run(
        ["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(wav)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    audio = load_audio(wav, cfg.sample_rate)
    audio = audio[: len(audio) // cfg.hop_length * cfg.hop_length]
    log_mel = log_mel_spectrogram(audio, cfg)
    rebuilt = griffin_lim(log_mel, cfg, n_iter=32)
    assert rebuilt.shape == audio.shape
    sc = spectral_convergence(stft_magnitude(audio, cfg), stft_magnitude(rebuilt, cfg))
    print(f"spectral convergence of Griffin-Lim (32 iterations) on flite slt: {sc:.3f}")
    assert sc < SPECTRAL_CONVERGENCE_BOUND
    # momentum is what makes 32 iterations enough
    plain = griffin_lim(log_mel, cfg, n_iter=32, momentum=0.0)
    assert sc < spectral_convergence(stft_magnitude(audio, cfg), stft_magnitude(plain, cfg))


def test_runtime_griffin_lim_imports_without_torch(run_without_torch) -> None:
    result = run_without_torch(
        """
import sys

import numpy as np

from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.runtime.griffinlim import griffin_lim

audio = griffin_lim(np.full((80, 4), -3.0, dtype=np.float32), AUDIO_PRESETS["16k"], 2)
assert audio.shape == (1024,), audio.shape
assert "torch" not in sys.modules
print("ok")
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
