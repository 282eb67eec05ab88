"""Vocoder training losses (generator and discriminator side); no optimiser, no loop.

Generator objective, with the weights of :class:`~flowaudio.models.config.VocoderConfig`::

    L_G = mel_weight    * L1(logmel(y), logmel(y_hat))                   (HiFi-GAN)
        + mrstft_weight * 1/R sum_r [SC_r + L1(log|Y_r|, log|Y_hat_r|)]  (Parallel WaveGAN)
        + adv_weight    * sum_k mean((D_k(y_hat) - 1)^2)                 (LSGAN, Mao et al.)
        + fm_weight     * mean_l L1(D^l(y), D^l(y_hat))                  (feature matching)

with ``SC_r = || |Y_r| - |Y_hat_r| ||_F / || |Y_r| ||_F`` at the resolutions of
:func:`~flowaudio.train.discriminators.stft_resolutions`. Discriminator objective::

    L_D = sum_k mean((D_k(y) - 1)^2) + mean(D_k(y_hat)^2)

A training step (written elsewhere) looks like::

    fake = vocoder(mel)
    d_loss = discriminator_loss(real, fake, discriminator)     # detaches fake
    d_opt.zero_grad(); d_loss.backward(); d_opt.step()
    g = vocoder_losses(real, fake, config, spectral, discriminator)
    g_opt.zero_grad(); g.total.backward(); g_opt.step()      # also leaves grads on D: the
                                                              # next d_opt.zero_grad() clears them

The log-mel of the mel loss is the project feature (:class:`LogMelSpectrogram`), the same the
acoustic model predicts, so the vocoder is trained on exactly what it will be fed.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel_torch import LogMelSpectrogram
from flowaudio.models.config import VocoderConfig
from flowaudio.train.discriminators import StftResolution, stft_resolutions

__all__ = [
    "MultiResolutionSTFTLoss",
    "SpectralLosses",
    "VocoderLosses",
    "discriminator_adversarial_loss",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "vocoder_losses",
]

# Magnitudes are floored here before the log of the log-magnitude loss.
_LOG_EPS = 1e-5


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence + log-magnitude L1 (Yamamoto et al. 2020).

    Both waveforms are (B, N); the STFTs are centred (``torch.stft(center=True)``), which is
    fine for a loss that only compares two signals framed the same way.
    """

    def __init__(self, resolutions: tuple[StftResolution, ...]) -> None:
        super().__init__()
        if not resolutions:
            raise ValueError("MultiResolutionSTFTLoss needs at least one resolution")
        self.resolutions = resolutions
        for i, r in enumerate(resolutions):
            self.register_buffer(f"window_{i}", torch.hann_window(r.win_length), persistent=False)

    def forward(self, real: Tensor, fake: Tensor) -> Tensor:
        """Scalar loss of ``fake`` against ``real``, both (B, N)."""
        total = real.new_zeros(())
        for i, r in enumerate(self.resolutions):
            window = getattr(self, f"window_{i}").to(real.dtype)
            mag_real = _magnitude(real, r, window)
            mag_fake = _magnitude(fake, r, window)
            norm_real = torch.linalg.vector_norm(mag_real).clamp(min=_LOG_EPS)
            sc = torch.linalg.vector_norm(mag_real - mag_fake) / norm_real
            log_real = torch.log(mag_real.clamp(min=_LOG_EPS))
            log_fake = torch.log(mag_fake.clamp(min=_LOG_EPS))
            log_l1 = torch.mean(torch.abs(log_real - log_fake))
            total = total + sc + log_l1
        return total / len(self.resolutions)


def _magnitude(audio: Tensor, r: StftResolution, window: Tensor) -> Tensor:
    spec = torch.stft(
        audio,
        n_fft=r.n_fft,
        hop_length=r.hop_length,
        win_length=r.win_length,
        window=window,
        center=True,
        return_complex=True,
    )
    # the epsilon keeps the gradient of |X| finite where the generator outputs exact silence
    return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9)


class SpectralLosses(nn.Module):
    """The two reconstruction losses of the generator, built once from the audio config.

    Attributes:
        log_mel: the project's log-mel (for the mel L1).
        mrstft: multi-resolution STFT loss at ``stft_resolutions(audio.sample_rate)``.
    """

    def __init__(self, audio: AudioConfig) -> None:
        super().__init__()
        self.log_mel = LogMelSpectrogram(audio)
        self.mrstft = MultiResolutionSTFTLoss(stft_resolutions(audio.sample_rate))

    def mel_l1(self, real: Tensor, fake: Tensor) -> Tensor:
        """Mean absolute difference of the log-mels of two (B, N) waveforms."""
        return torch.mean(torch.abs(self.log_mel(real) - self.log_mel(fake)))


def _sum(terms: list[Tensor]) -> Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def generator_adversarial_loss(fake_logits: list[Tensor]) -> Tensor:
    """LSGAN generator loss ``sum_k mean((D_k(fake) - 1)^2)``."""
    if not fake_logits:
        raise ValueError("generator_adversarial_loss got no logit maps")
    return _sum([torch.mean((1.0 - d) ** 2) for d in fake_logits])


def discriminator_adversarial_loss(real_logits: list[Tensor], fake_logits: list[Tensor]) -> Tensor:
    """LSGAN discriminator loss ``sum_k mean((D_k(real) - 1)^2) + mean(D_k(fake)^2)``."""
    if len(real_logits) != len(fake_logits) or not real_logits:
        raise ValueError(
            f"got {len(real_logits)} real and {len(fake_logits)} fake logit maps; pass the "
            "non-empty outputs of the same discriminator"
        )
    return _sum(
        [
            torch.mean((1.0 - r) ** 2) + torch.mean(f**2)
            for r, f in zip(real_logits, fake_logits, strict=True)
        ]
    )


def feature_matching_loss(real_features: list[Tensor], fake_features: list[Tensor]) -> Tensor:
    """Mean over layers of the L1 distance between real and fake activations.

    The real activations are detached: this loss trains the generator only.
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(
            f"got {len(real_features)} real and {len(fake_features)} fake feature maps; pass "
            "the non-empty outputs of the same discriminator"
        )
    terms = [
        torch.mean(torch.abs(r.detach() - f))
        for r, f in zip(real_features, fake_features, strict=True)
    ]
    return _sum(terms) / len(terms)


@dataclasses.dataclass(frozen=True)
class VocoderLosses:
    """Generator-side losses of one batch; ``total`` is what to backpropagate.

    The parts are unweighted (for logging); ``total`` applies the config's weights.
    ``adversarial`` and ``feature_matching`` are zero when no discriminator was given.
    """

    total: Tensor
    mel: Tensor
    mrstft: Tensor
    adversarial: Tensor
    feature_matching: Tensor


def vocoder_losses(
    real: Tensor,
    fake: Tensor,
    config: VocoderConfig,
    spectral: SpectralLosses,
    discriminator: nn.Module | None = None,
) -> VocoderLosses:
    """Generator losses of ``fake = vocoder(mel)`` against the recorded ``real`` audio.

    Args:
        real: (B, N) target waveform; N is the generated length, ``T * hop``.
        fake: (B, N) generated waveform, still attached to the generator's graph.
        config: supplies the loss weights.
        spectral: the mel and multi-resolution STFT losses for the audio config.
        discriminator: a module mapping (B, N) audio to a
            :class:`~flowaudio.train.discriminators.DiscriminatorOutput`
            (e.g. :class:`~flowaudio.train.discriminators.VocoderDiscriminator`), or None to
            train on the reconstruction losses only.

    Raises:
        ValueError: ``real`` and ``fake`` differ in shape.
    """
    if real.shape != fake.shape or real.dim() != 2:
        raise ValueError(
            f"vocoder_losses expects real and fake of the same shape (B, N), got "
            f"{tuple(real.shape)} and {tuple(fake.shape)}; trim real to T * hop samples"
        )
    mel = spectral.mel_l1(real, fake)
    mrstft = spectral.mrstft(real, fake)
    zero = fake.new_zeros(())
    adversarial, matching = zero, zero
    if discriminator is not None:
        with torch.no_grad():
            real_out = discriminator(real)
        fake_out = discriminator(fake)
        adversarial = generator_adversarial_loss(fake_out.logits)
        matching = feature_matching_loss(real_out.features, fake_out.features)
    total = (
        config.mel_weight * mel
        + config.mrstft_weight * mrstft
        + config.adv_weight * adversarial
        + config.fm_weight * matching
    )
    return VocoderLosses(total, mel, mrstft, adversarial, matching)


def discriminator_loss(real: Tensor, fake: Tensor, discriminator: nn.Module) -> Tensor:
    """LSGAN discriminator loss on one batch; ``fake`` is detached, so the generator gets no
    gradient from it.

    Raises:
        ValueError: ``real`` and ``fake`` differ in shape.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"discriminator_loss expects real and fake of the same shape, got "
            f"{tuple(real.shape)} and {tuple(fake.shape)}"
        )
    real_out = discriminator(real)
    fake_out = discriminator(fake.detach())
    return discriminator_adversarial_loss(real_out.logits, fake_out.logits)
