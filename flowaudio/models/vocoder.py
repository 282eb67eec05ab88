"""Vocos-style neural vocoder: log-mel frames -> STFT magnitude and phase -> inverse STFT.

Siuzdenko, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders for
audio synthesis" (arXiv:2306.00814). Instead of upsampling with transposed convolutions
(HiFi-GAN), the network runs at frame rate, predicts one complex spectrum per mel frame and lets
an inverse STFT do the upsampling; that is why it is an order of magnitude faster on CPU::

    mel (B, n_mels, T)
      -> Conv1d(n_mels, dim, k) -> LayerNorm
      -> n_layers x ConvNeXt block              (B, dim, T)
      -> LayerNorm -> Linear(dim, 2F)           F = n_fft // 2 + 1
      -> |X| = exp(min(log|X|, 7)), phase p    X = |X| (cos p + i sin p)
      -> ISTFT (fixed DFT bases)                (B, T * hop), clipped to [-1, 1]

The inverse STFT uses the feature framing of :mod:`flowaudio.audio.mel`, so T mel frames give
exactly ``T * hop`` samples. Everything exports to ONNX (opset 17) with a dynamic T.

:class:`~flowaudio.models.config.VocoderConfig` holds only the vocoder's own sizes and its
training-loss weights; the :class:`~flowaudio.audio.config.AudioConfig` of the features is passed
next to it, so one audio config is shared by the acoustic model, the vocoder and the runtime.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowaudio.audio.config import AudioConfig
from flowaudio.models.config import VocoderConfig
from flowaudio.models.istft import ISTFT

__all__ = ["ConvNeXtBlock", "Vocoder"]

# exp(7) ~ 1100 is above any STFT magnitude of audio in [-1, 1] with a Hann window of n_fft
# <= 2048 (at most sum(window) / 2 = n_fft / 4 = 512); the cap only keeps an untrained or
# diverging network from producing inf.
MAX_LOG_MAGNITUDE = 7.0


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block for 1-D sequences (Liu et al. 2022, as adapted by Vocos).

    ``x + gamma * W2 GELU(W1 LayerNorm(DepthwiseConv(x)))`` on (B, C, T); the pointwise layers
    run in (B, T, C) so they are plain matmuls.
    """

    def __init__(
        self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale_init: float
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, T) -> (B, C, T)."""
        h = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        return x + (self.gamma * h).transpose(1, 2)


class Vocoder(nn.Module):
    """Log-mel (B, n_mels, T) -> waveform (B, T * hop) in [-1, 1]; see the module docstring.

    The input is the project's log-mel (:mod:`flowaudio.audio.mel`) for ``audio``; the output
    has ``audio.sample_rate``. ``forward`` is also the ONNX graph: it has no Python-side
    branching on values, so tracing with a dynamic T is exact.
    """

    def __init__(self, config: VocoderConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.config = config
        self.audio = audio
        self.n_bins = audio.n_fft // 2 + 1
        c = config
        self.embed = nn.Conv1d(audio.n_mels, c.dim, c.kernel_size, padding=c.kernel_size // 2)
        self.norm = nn.LayerNorm(c.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(c.dim, c.intermediate_dim, c.kernel_size, c.layer_scale_init)
            for _ in range(c.n_layers)
        )
        self.final_norm = nn.LayerNorm(c.dim, eps=1e-6)
        self.head = nn.Linear(c.dim, 2 * self.n_bins)
        self.istft = ISTFT(audio)
        self.apply(_init_weights)

    def forward(self, mel: Tensor) -> Tensor:
        """(B, n_mels, T) log-mel -> (B, T * hop) waveform clipped to [-1, 1].

        Raises:
            ValueError: ``mel`` is not (B, n_mels, T).
        """
        real, imag = self.spectrum(mel)
        return torch.clamp(self.istft.from_complex(real, imag), -1.0, 1.0)

    def spectrum(self, mel: Tensor) -> tuple[Tensor, Tensor]:
        """(B, n_mels, T) log-mel -> the complex spectrum the ISTFT turns into audio, as its
        (B, F, T) real and imaginary parts. ``forward`` is ``clamp(istft(spectrum(mel)))``;
        a voice exported with the ISTFT on the host runs this much in its graph.

        Raises:
            ValueError: ``mel`` is not (B, n_mels, T).
        """
        if mel.dim() != 3 or mel.shape[1] != self.audio.n_mels:
            raise ValueError(
                f"Vocoder expects a log-mel of shape (B, n_mels={self.audio.n_mels}, T), "
                f"got {tuple(mel.shape)}"
            )
        x = self.embed(mel)  # (B, dim, T)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2)  # (B, 2F, T)
        log_mag, phase = x[:, : self.n_bins], x[:, self.n_bins :]
        magnitude = torch.exp(torch.clamp(log_mag, max=MAX_LOG_MAGNITUDE))
        # The phase is an unbounded real read as an angle (Vocos): cos/sin wrap it, so the
        # network never meets the discontinuity at +-pi.
        return magnitude * torch.cos(phase), magnitude * torch.sin(phase)

    def num_parameters(self) -> int:
        """Trainable parameters of the generator (the ISTFT bases are buffers)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _init_weights(module: nn.Module) -> None:
    # Vocos' initialisation: small truncated-normal weights, zero biases.
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
