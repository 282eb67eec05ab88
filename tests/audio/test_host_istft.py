"""The host ISTFT (numpy) against the graph's (torch ISTFT module) and against the analysis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.audio.istft import istft, spectrum_to_audio
from flowaudio.audio.mel import hann_window
from flowaudio.models.istft import ISTFT

# win_length < n_fft and a hop that does not divide n_fft: the zero-padded window and the
# overlap-add of partial blocks are exercised.
ODD = AudioConfig(
    sample_rate=24000,
    n_fft=800,
    hop_length=200,
    win_length=600,
    n_mels=100,
    f_min=50.0,
    f_max=11000.0,
)
UNEVEN = AudioConfig(
    sample_rate=16000, n_fft=512, hop_length=192, win_length=480, n_mels=40, f_max=8000.0
)
CONFIGS = {**AUDIO_PRESETS, "odd": ODD, "uneven": UNEVEN}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize(("batch", "frames"), [(1, 1), (3, 1), (2, 2), (1, 7), (3, 33), (2, 250)])
def test_host_istft_equals_the_graph_istft(name: str, batch: int, frames: int) -> None:
    cfg = CONFIGS[name]
    rng = np.random.default_rng(frames * 10 + batch)
    shape = (batch, cfg.n_fft // 2 + 1, frames)
    # Magnitudes up to ~e^2 with random phases, as the vocoder's head gives them.
    magnitude = np.exp(rng.normal(0.0, 1.0, shape)).astype(np.float32)
    phase = rng.uniform(-10, 10, shape).astype(np.float32)
    real, imag = magnitude * np.cos(phase), magnitude * np.sin(phase)
    expected = ISTFT(cfg).from_complex(torch.from_numpy(real), torch.from_numpy(imag)).numpy()
    ours = istft(real, imag, cfg)
    assert ours.shape == (batch, frames * cfg.hop_length) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, atol=1e-5 * np.abs(expected).max(), rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_host_istft_inverts_the_project_stft(name: str) -> None:
    cfg = CONFIGS[name]
    pad = (cfg.n_fft - cfg.hop_length) // 2
    x = torch.randn(2, 41 * cfg.hop_length, generator=torch.Generator().manual_seed(0))
    padded = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(
        padded,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.n_fft,
        window=torch.from_numpy(hann_window(cfg)),
        center=False,
        return_complex=True,
    )  # (B, F, 41)
    y = istft(spec.real.numpy(), spec.imag.numpy(), cfg)
    np.testing.assert_allclose(y, x.numpy(), atol=1e-5, rtol=0)


def test_dc_and_nyquist_imaginary_parts_are_ignored_as_in_the_graph() -> None:
    cfg = AUDIO_PRESETS["16k"]
    rng = np.random.default_rng(3)
    real = rng.standard_normal((1, cfg.n_fft // 2 + 1, 5)).astype(np.float32)
    imag = rng.standard_normal(real.shape).astype(np.float32)
    moved = imag.copy()
    moved[:, [0, -1]] += 5.0
    np.testing.assert_allclose(istft(real, moved, cfg), istft(real, imag, cfg), atol=1e-6)


def test_spectrum_to_audio_clips_like_the_vocoder_and_checks_shapes() -> None:
    cfg = AUDIO_PRESETS["16k"]
    n_bins = cfg.n_fft // 2 + 1
    loud = np.zeros((2, 2, n_bins, 9), np.float32)
    loud[:, 0, 3] = 2000.0  # a tone far above full scale
    audio = spectrum_to_audio(loud, cfg)
    assert audio.shape == (2, 9 * cfg.hop_length)
    assert np.abs(audio).max() == 1.0
    with pytest.raises(ValueError, match=r"\(B, 2, 513, T\)"):
        spectrum_to_audio(loud[:, 0], cfg)
    with pytest.raises(ValueError, match=r"\(B, 513, T\)"):
        istft(loud[:, 0, :-1], loud[:, 1, :-1], cfg)
    assert istft(loud[:, 0, :, :0], loud[:, 1, :, :0], cfg).shape == (2, 0)
