"""Frozen configuration of the models: the acoustic model (text encoder, duration predictor,
flow decoder) and the vocoder, with their named presets.

Every field has a docstring and a range check; :func:`flowaudio.config.from_dict` builds these
from a dict, YAML or TOML with unknown keys rejected, and :func:`flowaudio.config.to_dict` writes
them next to the weights. The vocabulary size is not configured here: it is the length of the
symbol table the model is built with (``FlowTTS(config, n_vocab=len(symbols))``), so the two can
never disagree. Mel normalisation statistics are not configured either: they are buffers of the
model (``FlowTTS.set_normalization``), filled from the prepared cache's ``stats.json``.

This module is pure Python (no torch).
"""

from __future__ import annotations

import dataclasses

from flowaudio.config import ConfigError

__all__ = [
    "TTS_PRESETS",
    "VOCODER_PRESETS",
    "DecoderConfig",
    "DurationConfig",
    "EncoderConfig",
    "SpeakerConfig",
    "TTSConfig",
    "VocoderConfig",
]


def _positive(where: str, **values: int | float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ConfigError(f"{where}.{name} must be positive, got {value!r}")


def _probability(where: str, **values: float) -> None:
    for name, value in values.items():
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{where}.{name} must lie in [0, 1), got {value!r}")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Text encoder: token embedding, convolutional prenet, RoPE transformer (pre-norm)."""

    channels: int = 192
    """Width of the token features h (B, channels, L)."""
    filter_channels: int = 768
    """Hidden width of each transformer layer's convolutional feed-forward network."""
    n_heads: int = 2
    """Attention heads per transformer layer; must divide ``channels``."""
    n_layers: int = 6
    """Transformer layers."""
    kernel_size: int = 3
    """Kernel of the feed-forward convolutions (odd, so padding keeps the length)."""
    dropout: float = 0.1
    """Dropout after attention, feed-forward and prenet layers (training only)."""
    prenet_layers: int = 3
    """Conv -> LayerNorm -> ReLU layers of the residual prenet; 0 disables the prenet."""
    prenet_kernel_size: int = 5
    """Kernel of the prenet convolutions (odd)."""

    def __post_init__(self) -> None:
        _positive(
            "encoder",
            channels=self.channels,
            filter_channels=self.filter_channels,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
        )
        if self.channels % self.n_heads or (self.channels // self.n_heads) % 2:
            raise ConfigError(
                f"encoder.channels / encoder.n_heads must be an even integer (rotary embeddings "
                f"rotate pairs of channels), got {self.channels} / {self.n_heads}"
            )
        for name in ("kernel_size", "prenet_kernel_size"):
            value = getattr(self, name)
            if value < 1 or value % 2 == 0:
                raise ConfigError(f"encoder.{name} must be odd and >= 1, got {value!r}")
        if self.prenet_layers < 0:
            raise ConfigError(f"encoder.prenet_layers must be >= 0, got {self.prenet_layers!r}")
        _probability("encoder", dropout=self.dropout)


@dataclasses.dataclass(frozen=True)
class DurationConfig:
    """Duration predictor: a conv stack on detached encoder features plus the speaker."""

    channels: int = 256
    """Hidden width of the conv stack."""
    kernel_size: int = 3
    """Kernel of the convolutions (odd)."""
    dropout: float = 0.1
    """Dropout after each conv layer (training only)."""
    n_layers: int = 2
    """Conv -> ReLU -> LayerNorm -> dropout layers before the 1x1 output projection."""

    def __post_init__(self) -> None:
        _positive("duration", channels=self.channels, n_layers=self.n_layers)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"duration.kernel_size must be odd and >= 1, got {self.kernel_size}")
        _probability("duration", dropout=self.dropout)


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    """Velocity network: a 1D U-Net with one resnet block and transformer blocks per level."""

    channels: tuple[int, ...] = (256, 256, 256)
    """Width of each U-Net level, finest first; level i > 0 runs at 1 / 2**i of the frame rate,
    so ``len(channels) - 1`` halvings (inputs are padded inside the network to a multiple of
    ``2 ** (len(channels) - 1)`` frames and cropped back)."""
    n_blocks: int = 1
    """Transformer blocks after the resnet block of every down and up level."""
    n_mid_blocks: int = 2
    """(resnet block, transformer blocks) pairs at the coarsest level."""
    n_heads: int = 4
    """Attention heads of the decoder transformer blocks."""
    head_dim: int = 64
    """Width of one attention head (even: rotary embeddings rotate pairs of channels)."""
    dropout: float = 0.05
    """Dropout in resnet, attention and feed-forward layers (training only)."""
    time_embedding_dim: int = 256
    """Width of the sinusoidal embedding of t and of the MLP that maps it to FiLM parameters."""
    dt_input: bool = False
    """Also condition on a step size dt (an interval / mean-velocity student of ``flowaudio
    distill``): the network then predicts the average velocity over [t, t + dt]. Its embedding
    is added to the time embedding through an MLP whose last layer starts at zero, so a student
    built from a teacher starts out equal to it."""

    def __post_init__(self) -> None:
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ConfigError(
                f"decoder.channels must be a non-empty list of positive widths, "
                f"got {self.channels!r}"
            )
        _positive(
            "decoder",
            n_heads=self.n_heads,
            head_dim=self.head_dim,
            time_embedding_dim=self.time_embedding_dim,
        )
        if self.n_blocks < 0 or self.n_mid_blocks < 0:
            raise ConfigError(
                "decoder.n_blocks and decoder.n_mid_blocks must be >= 0, got "
                f"{self.n_blocks} and {self.n_mid_blocks}"
            )
        if self.head_dim % 2:
            raise ConfigError(f"decoder.head_dim must be even, got {self.head_dim}")
        if self.time_embedding_dim % 2:
            raise ConfigError(
                f"decoder.time_embedding_dim must be even, got {self.time_embedding_dim}"
            )
        _probability("decoder", dropout=self.dropout)


@dataclasses.dataclass(frozen=True)
class SpeakerConfig:
    """Speaker conditioning: a table of speaker ids and/or an external embedding projection.

    Both paths produce one vector of ``embedding_dim`` per utterance, and everything after that
    (encoder, duration predictor, decoder) is shared.
    """

    n_speakers: int = 1
    """Rows of the speaker id table. With 1, callers may omit the speaker."""
    embedding_dim: int = 64
    """Width of the speaker conditioning vector seen by encoder, duration and decoder."""
    external_dim: int = 0
    """When > 0, the model also accepts an external speaker embedding of this width (e.g. 256
    for resemblyzer), projected linearly to ``embedding_dim``; 0 disables that path."""

    def __post_init__(self) -> None:
        _positive("speaker", n_speakers=self.n_speakers, embedding_dim=self.embedding_dim)
        if self.external_dim < 0:
            raise ConfigError(f"speaker.external_dim must be >= 0, got {self.external_dim}")


@dataclasses.dataclass(frozen=True)
class TTSConfig:
    """The whole acoustic model (``flowaudio.models.FlowTTS``) and its loss weights."""

    n_mels: int = 80
    """Mel bands of the target features; must match the prepared cache's ``audio.n_mels``."""
    encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
    """Text encoder."""
    duration: DurationConfig = dataclasses.field(default_factory=DurationConfig)
    """Duration predictor."""
    decoder: DecoderConfig = dataclasses.field(default_factory=DecoderConfig)
    """Velocity network."""
    speaker: SpeakerConfig = dataclasses.field(default_factory=SpeakerConfig)
    """Speaker conditioning."""
    sigma_min: float = 1e-4
    """Width of the OT path's end point around the data (``flowaudio.flow.CondOTPath``)."""
    cfg_dropout: float = 0.1
    """Per-utterance probability, in training, of replacing the decoder's condition (expanded
    mu and speaker vector) by the null condition, for classifier-free guidance."""
    prior_loss_weight: float = 1.0
    """Weight of the prior loss (Gaussian NLL of the mel under N(mu, I)) in the total."""
    duration_loss_weight: float = 1.0
    """Weight of the duration loss (MSE of log durations) in the total."""

    def __post_init__(self) -> None:
        _positive("model", n_mels=self.n_mels)
        if not 0.0 <= self.sigma_min < 1.0:
            raise ConfigError(f"model.sigma_min must lie in [0, 1), got {self.sigma_min!r}")
        _probability("model", cfg_dropout=self.cfg_dropout)
        if self.prior_loss_weight < 0 or self.duration_loss_weight < 0:
            raise ConfigError(
                "model.prior_loss_weight and model.duration_loss_weight must be >= 0, got "
                f"{self.prior_loss_weight} and {self.duration_loss_weight}"
            )


TTS_PRESETS: dict[str, TTSConfig] = {
    # ~0.2M parameters: unit tests and smoke runs only.
    "tiny": TTSConfig(
        encoder=EncoderConfig(
            channels=32,
            filter_channels=64,
            n_heads=2,
            n_layers=2,
            prenet_layers=1,
        ),
        duration=DurationConfig(channels=32),
        decoder=DecoderConfig(
            channels=(32, 48),
            n_blocks=1,
            n_mid_blocks=1,
            n_heads=2,
            head_dim=16,
            time_embedding_dim=32,
        ),
        speaker=SpeakerConfig(embedding_dim=16),
    ),
    # ~7M parameters: trains and synthesises comfortably on a CPU.
    "small": TTSConfig(
        encoder=EncoderConfig(
            channels=192,
            filter_channels=512,
            n_heads=2,
            n_layers=4,
            prenet_layers=3,
        ),
        duration=DurationConfig(channels=192),
        decoder=DecoderConfig(
            channels=(192, 192),
            n_blocks=1,
            n_mid_blocks=2,
            n_heads=2,
            head_dim=64,
            time_embedding_dim=192,
        ),
        speaker=SpeakerConfig(embedding_dim=64),
    ),
    # ~20M parameters: Matcha-TTS sized (its paper model has 18.2M).
    # The defaults of every config class.
    "base": TTSConfig(),
}


@dataclasses.dataclass(frozen=True)
class VocoderConfig:
    """Sizes of the Vocos-style generator, its discriminators and its loss weights."""

    dim: int = 256
    """Channels of the ConvNeXt backbone."""
    intermediate_dim: int = 768
    """Hidden width of each ConvNeXt block's pointwise MLP (Vocos uses 3 x dim)."""
    n_layers: int = 8
    """Number of ConvNeXt blocks."""
    kernel_size: int = 7
    """Kernel of the input convolution and of each block's depthwise convolution (odd)."""
    layer_scale_init: float = 0.125
    """Initial per-channel scale of each block's residual branch (Vocos: 1 / n_layers)."""
    mel_weight: float = 45.0
    """Weight of the log-mel L1 loss (HiFi-GAN and Vocos use 45)."""
    mrstft_weight: float = 1.0
    """Weight of the multi-resolution STFT loss (spectral convergence + log-magnitude L1)."""
    adv_weight: float = 1.0
    """Weight of the least-squares adversarial generator loss, summed over discriminators."""
    fm_weight: float = 2.0
    """Weight of the discriminator feature-matching L1 loss (HiFi-GAN uses 2)."""
    mpd_periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    """Periods of the multi-period discriminator (HiFi-GAN); empty disables it."""
    mpd_channels: tuple[int, ...] = (32, 64, 128, 256)
    """Output channels of each period discriminator's strided (5, 1) convolutions."""
    mrd_channels: int = 32
    """Channels of each resolution discriminator (UnivNet uses 32); 0 disables the MRD."""

    def __post_init__(self) -> None:
        for name in ("dim", "intermediate_dim", "n_layers", "kernel_size"):
            value = getattr(self, name)
            if value <= 0:
                raise ConfigError(f"vocoder.{name} must be positive, got {value}")
        if self.kernel_size % 2 == 0:
            raise ConfigError(
                f"vocoder.kernel_size must be odd so frames stay aligned, got {self.kernel_size}"
            )
        for name in ("mel_weight", "mrstft_weight", "adv_weight", "fm_weight"):
            value = getattr(self, name)
            if value < 0:
                raise ConfigError(f"vocoder.{name} must be >= 0, got {value}")
        if any(p < 1 for p in self.mpd_periods):
            raise ConfigError(f"vocoder.mpd_periods must be >= 1, got {self.mpd_periods}")
        if self.mpd_periods and (not self.mpd_channels or min(self.mpd_channels) < 1):
            raise ConfigError(
                f"vocoder.mpd_channels must be a non-empty list of positive channel counts, "
                f"got {self.mpd_channels}"
            )
        if self.mrd_channels < 0:
            raise ConfigError(f"vocoder.mrd_channels must be >= 0, got {self.mrd_channels}")


VOCODER_PRESETS: dict[str, VocoderConfig] = {
    # For tests and smoke runs: trains in seconds, sounds like it.
    "tiny": VocoderConfig(
        dim=64,
        intermediate_dim=192,
        n_layers=2,
        layer_scale_init=0.5,
        mpd_channels=(8, 16, 32),
        mrd_channels=8,
    ),
    # The default voice's vocoder: sized for >= 150x real time on 2 CPU cores under
    # onnxruntime at 16 kHz (bench/vocoder_rtf.py).
    "small": VocoderConfig(
        dim=256,
        intermediate_dim=768,
        n_layers=8,
        layer_scale_init=1 / 8,
    ),
    # Vocos' published size (13.5M parameters at 24 kHz with n_fft 1024).
    "base": VocoderConfig(
        dim=512,
        intermediate_dim=1536,
        n_layers=8,
        layer_scale_init=1 / 8,
        mpd_channels=(32, 128, 512, 1024),
    ),
}
