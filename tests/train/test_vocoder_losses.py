"""Vocoder training parts: STFT resolutions, discriminators and losses (gradients, errors), and a
short reconstruction-only fit of the tiny generator."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch

from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.models.config import VOCODER_PRESETS
from flowaudio.models.vocoder import Vocoder
from flowaudio.train.discriminators import StftResolution, VocoderDiscriminator, stft_resolutions
from flowaudio.train.vocoder_losses import SpectralLosses, discriminator_loss, vocoder_losses

AUDIO = AUDIO_PRESETS["16k"]
TINY = VOCODER_PRESETS["tiny"]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run torch single-threaded: on these small tensors intra-op threads only add
    synchronisation, which a busy 2-core machine turns from milliseconds into seconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _harmonic(seconds: float) -> torch.Tensor:
    """(1, N) vibrato tone with five harmonics, N a multiple of the hop."""
    n = int(seconds * AUDIO.sample_rate) // AUDIO.hop_length * AUDIO.hop_length
    t = torch.arange(n, dtype=torch.float64) / AUDIO.sample_rate
    f0 = 200.0 * (1.0 + 0.1 * torch.sin(2 * math.pi * 2.0 * t))
    phase = 2 * math.pi * torch.cumsum(f0, 0) / AUDIO.sample_rate
    wave = sum(0.3 / k * torch.sin(k * phase) for k in range(1, 6))
    return wave.float().unsqueeze(0)


def test_stft_resolutions_follow_the_sample_rate() -> None:
    assert stft_resolutions(24000) == (
        StftResolution(1024, 120, 600),
        StftResolution(2048, 240, 1200),
        StftResolution(512, 50, 240),
    )
    assert stft_resolutions(16000) == (
        StftResolution(512, 80, 400),
        StftResolution(1024, 160, 800),
        StftResolution(256, 33, 160),
    )


@pytest.mark.usefixtures("one_thread")
def test_gradients_are_finite_through_every_loss() -> None:
    torch.manual_seed(0)
    vocoder = Vocoder(TINY, AUDIO)
    discriminator = VocoderDiscriminator(TINY, AUDIO)
    spectral = SpectralLosses(AUDIO)
    real = 0.5 * torch.randn(2, AUDIO.sample_rate // AUDIO.hop_length * AUDIO.hop_length)
    real = real.clamp(-1.0, 1.0)
    mel = spectral.log_mel(real)
    fake = vocoder(mel)

    # discriminator step: no gradient may reach the generator
    d_loss = discriminator_loss(real, fake, discriminator)
    d_loss.backward()
    assert torch.isfinite(d_loss)
    assert all(p.grad is None for p in vocoder.parameters())
    d_grads = [p.grad for p in discriminator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in d_grads)
    assert any(float(g.abs().sum()) > 0 for g in d_grads if g is not None)

    # generator step
    discriminator.zero_grad()
    losses = vocoder_losses(real, fake, TINY, spectral, discriminator)
    for name in ("total", "mel", "mrstft", "adversarial", "feature_matching"):
        value = getattr(losses, name)
        assert value.dim() == 0 and torch.isfinite(value), name
        assert float(value.detach()) > 0, name
    losses.total.backward()
    for name, p in vocoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert float(vocoder.head.weight.grad.abs().sum()) > 0


def test_losses_reject_mismatched_lengths() -> None:
    spectral = SpectralLosses(AUDIO)
    real, fake = torch.zeros(1, 4096), torch.zeros(1, 4000)
    with pytest.raises(ValueError, match="trim real to T \\* hop"):
        vocoder_losses(real, fake, TINY, spectral)
    with pytest.raises(ValueError, match="same shape"):
        discriminator_loss(real, fake, VocoderDiscriminator(TINY, AUDIO))


@pytest.mark.usefixtures("one_thread")
def test_tiny_vocoder_fits_a_harmonic_signal() -> None:
    # Reconstruction losses only (no GAN), 60 Adam steps on half a second: the log-mel L1 fell
    # from 4.65 to 0.75 (6.2x) when measured; require 3x.
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, adv_weight=0.0, fm_weight=0.0)
    vocoder = Vocoder(config, AUDIO)
    spectral = SpectralLosses(AUDIO)
    real = _harmonic(0.5)
    mel = spectral.log_mel(real)
    optimizer = torch.optim.Adam(vocoder.parameters(), lr=1e-2)
    with torch.no_grad():
        initial = vocoder_losses(real, vocoder(mel), config, spectral)
    for _ in range(60):
        losses = vocoder_losses(real, vocoder(mel), config, spectral)
        optimizer.zero_grad()
        losses.total.backward()
        optimizer.step()
    with torch.no_grad():
        final = vocoder_losses(real, vocoder(mel), config, spectral)
    print(f"mel L1 {float(initial.mel):.3f} -> {float(final.mel):.3f}")
    assert float(final.mel) < float(initial.mel) / 3
    assert float(final.mrstft) < float(initial.mrstft)
