"""GAN discriminators for vocoder training: multi-period (HiFi-GAN) and multi-resolution (UnivNet).

Each discriminator takes one batch of waveforms (B, N) and returns a
:class:`DiscriminatorOutput`: one logit map per sub-discriminator and the intermediate feature
maps of all of them (for the feature-matching loss). Real and generated audio go through
separate calls, so the discriminator step can pass ``fake.detach()`` while the generator step
passes ``fake`` itself; :mod:`flowaudio.train.vocoder_losses` pairs the results.

- :class:`MultiPeriodDiscriminator` (Kong et al., HiFi-GAN, arXiv:2010.05646): for each period
  p the waveform is folded into a (N / p, p) image and convolved along time only, so each
  sub-discriminator sees the samples spaced p apart: periodic structure (pitch) at several
  scales.
- :class:`MultiResolutionDiscriminator` (Jang et al., UnivNet, arXiv:2106.07889; also Vocos): 2-D
  convolutions over linear STFT magnitudes at three resolutions, which judges the spectral
  envelope and harmonics where the period discriminators judge the waveform.

Channel counts come from :class:`~flowaudio.models.config.VocoderConfig` and are small by
default; weight normalisation is applied to every convolution, as in both papers.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from flowaudio.audio.config import AudioConfig
from flowaudio.models.config import VocoderConfig

__all__ = [
    "DiscriminatorOutput",
    "MultiPeriodDiscriminator",
    "MultiResolutionDiscriminator",
    "StftResolution",
    "VocoderDiscriminator",
    "stft_resolutions",
]

LRELU_SLOPE = 0.1


@dataclasses.dataclass(frozen=True)
class DiscriminatorOutput:
    """What a discriminator says about one batch of waveforms.

    Attributes:
        logits: one tensor per sub-discriminator, each (B, ...) of unbounded scores
            (real -> 1, fake -> 0 under the least-squares loss).
        features: every intermediate activation of every sub-discriminator, in a fixed order,
            so the lists of a real and a fake call pair up element by element.
    """

    logits: list[Tensor]
    features: list[Tensor]


@dataclasses.dataclass(frozen=True)
class StftResolution:
    """One STFT resolution: FFT size, hop and (Hann) window length in samples."""

    n_fft: int
    hop_length: int
    win_length: int


# UnivNet's / Parallel WaveGAN's resolutions at 24 kHz: (n_fft, hop, win).
_REFERENCE_RATE = 24000
_REFERENCE_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def stft_resolutions(sample_rate: int) -> tuple[StftResolution, ...]:
    """The three resolutions of UnivNet, scaled to ``sample_rate`` (same durations in ms).

    Hop, window and FFT size are scaled by ``sample_rate / 24000``; the FFT size is rounded to
    the nearest power of two that still holds the window. At 16 kHz: (512, 80, 400),
    (1024, 160, 800), (256, 33, 160). Shared by the multi-resolution discriminator and the
    multi-resolution STFT loss.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    scale = sample_rate / _REFERENCE_RATE
    out = []
    for n_fft, hop, win in _REFERENCE_RESOLUTIONS:
        win_s = max(16, round(win * scale))
        hop_s = max(4, round(hop * scale))
        n_fft_s = max(1 << round(math.log2(n_fft * scale)), 1 << (win_s - 1).bit_length())
        out.append(StftResolution(n_fft_s, hop_s, win_s))
    return tuple(out)


def _pad_to_multiple(audio: Tensor, multiple: int) -> Tensor:
    """(B, N) -> (B, N') with N' a multiple of ``multiple``, reflect-padded at the end."""
    rest = audio.shape[-1] % multiple
    if rest == 0:
        return audio
    pad = multiple - rest
    mode = "reflect" if pad < audio.shape[-1] else "replicate"
    return F.pad(audio.unsqueeze(1), (0, pad), mode=mode).squeeze(1)


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's sub-discriminator for one period: (B, N) -> (B, frames * p) logits."""

    def __init__(self, period: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.period = period
        layers = []
        in_ch = 1
        for out_ch in channels:
            # (5, 1) kernels stride along time only; the period axis stays independent.
            layers.append(weight_norm(nn.Conv2d(in_ch, out_ch, (5, 1), (3, 1), padding=(2, 0))))
            in_ch = out_ch
        layers.append(weight_norm(nn.Conv2d(in_ch, in_ch, (5, 1), 1, padding=(2, 0))))
        self.convs = nn.ModuleList(layers)
        self.post = weight_norm(nn.Conv2d(in_ch, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, audio: Tensor) -> tuple[Tensor, list[Tensor]]:
        x = _pad_to_multiple(audio, self.period)
        x = x.reshape(x.shape[0], 1, -1, self.period)  # (B, 1, N / p, p)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            features.append(x)
        x = self.post(x)
        features.append(x)
        return x.flatten(1), features


class MultiPeriodDiscriminator(nn.Module):
    """One :class:`PeriodDiscriminator` per period in ``config.mpd_periods``."""

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PeriodDiscriminator(p, config.mpd_channels) for p in config.mpd_periods
        )

    def forward(self, audio: Tensor) -> DiscriminatorOutput:
        """(B, N) waveform -> logits and features of every period."""
        logits: list[Tensor] = []
        features: list[Tensor] = []
        for disc in self.discriminators:
            score, fmaps = disc(audio)
            logits.append(score)
            features.extend(fmaps)
        return DiscriminatorOutput(logits, features)


class ResolutionDiscriminator(nn.Module):
    """UnivNet's sub-discriminator: 2-D convolutions over a (frames, F) magnitude image."""

    window: Tensor

    def __init__(self, resolution: StftResolution, channels: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.register_buffer("window", torch.hann_window(resolution.win_length), persistent=False)
        c = channels
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
                # stride 2 along frequency only: frames stay aligned with the waveform
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
            ]
        )
        self.post = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, audio: Tensor) -> tuple[Tensor, list[Tensor]]:
        r = self.resolution
        spec = torch.stft(
            audio,
            n_fft=r.n_fft,
            hop_length=r.hop_length,
            win_length=r.win_length,
            window=self.window.to(audio.dtype),
            center=True,
            return_complex=True,
        )  # (B, F, frames)
        # the epsilon keeps the gradient of |X| finite at exact zeros
        mag = torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9)
        x = mag.transpose(1, 2).unsqueeze(1)  # (B, 1, frames, F)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            features.append(x)
        x = self.post(x)
        features.append(x)
        return x.flatten(1), features


class MultiResolutionDiscriminator(nn.Module):
    """One :class:`ResolutionDiscriminator` per resolution of :func:`stft_resolutions`."""

    def __init__(self, config: VocoderConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ResolutionDiscriminator(r, config.mrd_channels)
            for r in stft_resolutions(audio.sample_rate)
        )

    def forward(self, audio: Tensor) -> DiscriminatorOutput:
        """(B, N) waveform -> logits and features of every resolution."""
        logits: list[Tensor] = []
        features: list[Tensor] = []
        for disc in self.discriminators:
            score, fmaps = disc(audio)
            logits.append(score)
            features.extend(fmaps)
        return DiscriminatorOutput(logits, features)


class VocoderDiscriminator(nn.Module):
    """Both discriminators of the config in one module (an empty period list or
    ``mrd_channels = 0`` leaves one out); their outputs are concatenated, MPD first."""

    def __init__(self, config: VocoderConfig, audio: AudioConfig) -> None:
        super().__init__()
        parts: list[nn.Module] = []
        if config.mpd_periods:
            parts.append(MultiPeriodDiscriminator(config))
        if config.mrd_channels > 0:
            parts.append(MultiResolutionDiscriminator(config, audio))
        if not parts:
            raise ValueError(
                "VocoderDiscriminator needs mpd_periods or mrd_channels > 0; to train without a "
                "GAN, build no discriminator and set adv_weight = fm_weight = 0"
            )
        self.parts = nn.ModuleList(parts)

    def forward(self, audio: Tensor) -> DiscriminatorOutput:
        """(B, N) waveform -> logits and features of every sub-discriminator.

        Raises:
            ValueError: ``audio`` is not (B, N).
        """
        if audio.dim() != 2:
            raise ValueError(
                f"VocoderDiscriminator expects audio of shape (B, N), got {tuple(audio.shape)}"
            )
        logits: list[Tensor] = []
        features: list[Tensor] = []
        for part in self.parts:
            out = part(audio)
            logits.extend(out.logits)
            features.extend(out.features)
        return DiscriminatorOutput(logits, features)
