"""Text encoder: token ids -> token features h and the prior mean mu (Glow-TTS / Matcha-TTS).

    ids (B, L) -> embedding * sqrt(C) -> residual conv prenet -> N x transformer layer (RoPE)
        -> final LayerNorm -> + speaker projection -> h (B, C, L) -> 1x1 conv -> mu (B, n_mels, L)

The transformer is **pre-norm** (x + Attn(LN(x)), x + FFN(LN(x)), one LayerNorm at the end):
unlike the post-norm layers of Glow-TTS and Matcha-TTS it trains without a learning-rate warm-up
and keeps an identity path through the whole stack. Positions enter only through rotary
embeddings inside attention, computed from the actual length, so any number of tokens works.

The speaker vector is added to the features after the transformer and before the mu projection,
so mu (and the duration predictor, which reads h) depend on the speaker.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import EncoderConfig
from .layers import ChannelLayerNorm, ConvFeedForward, MultiHeadAttention

__all__ = ["TextEncoder"]


class ConvPrenet(nn.Module):
    """Residual conv stack: x + proj(n x [conv -> LayerNorm -> ReLU -> dropout]).

    The projection starts at zero, so at initialisation the prenet is the identity.
    """

    def __init__(self, channels: int, n_layers: int, kernel_size: int, dropout: float):
        super().__init__()
        pad = kernel_size // 2
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=pad) for _ in range(n_layers)
        )
        self.norms = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, L), mask (B, 1, L) -> (B, C, L)."""
        h = x
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = self.drop(torch.relu(norm(conv(h * mask))))
        return (x + self.proj(h * mask)) * mask


class EncoderLayer(nn.Module):
    """Pre-norm transformer layer: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        c = config.channels
        self.norm_attn = ChannelLayerNorm(c)
        self.attn = MultiHeadAttention(c, config.n_heads, dropout=config.dropout, rotary=True)
        self.norm_ffn = ChannelLayerNorm(c)
        self.ffn = ConvFeedForward(c, config.filter_channels, config.kernel_size, config.dropout)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, L), mask (B, 1, L) -> (B, C, L), zero on padding."""
        x = x + self.drop(self.attn(self.norm_attn(x), mask))
        x = x + self.drop(self.ffn(self.norm_ffn(x), mask))
        return x * mask


class TextEncoder(nn.Module):
    """Token ids and a speaker vector -> features h (B, C, L) and prior mean mu (B, n_mels, L).

    Args:
        config: :class:`EncoderConfig`.
        n_vocab: size of the symbol table (rows of the embedding).
        n_mels: channels of mu.
        speaker_dim: width of the speaker vector added before the output projection.
    """

    def __init__(self, config: EncoderConfig, n_vocab: int, n_mels: int, speaker_dim: int):
        super().__init__()
        if n_vocab <= 0:
            raise ValueError(f"n_vocab must be positive, got {n_vocab!r}")
        c = config.channels
        self.channels = c
        self.embedding = nn.Embedding(n_vocab, c)
        # Unit-variance inputs after the sqrt(C) scale below (Transformer / Glow-TTS init).
        nn.init.normal_(self.embedding.weight, 0.0, c**-0.5)
        self.prenet = (
            ConvPrenet(c, config.prenet_layers, config.prenet_kernel_size, config.dropout)
            if config.prenet_layers > 0
            else None
        )
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))
        self.norm_out = ChannelLayerNorm(c)
        self.speaker_proj = nn.Linear(speaker_dim, c)
        self.proj_mu = nn.Conv1d(c, n_mels, 1)

    def forward(self, ids: Tensor, mask: Tensor, speaker: Tensor) -> tuple[Tensor, Tensor]:
        """Encode a padded batch.

        Args:
            ids: (B, L) token ids (padding ids are ignored through ``mask``).
            mask: (B, 1, L) float, 1 on real tokens.
            speaker: (B, speaker_dim) speaker conditioning vector.

        Returns:
            h (B, C, L) and mu (B, n_mels, L), both zero on padding.
        """
        x = self.embedding(ids).transpose(1, 2) * math.sqrt(self.channels)  # (B, C, L)
        x = x * mask
        if self.prenet is not None:
            x = self.prenet(x, mask)
        for layer in self.layers:
            x = layer(x, mask)
        h = (self.norm_out(x) + self.speaker_proj(speaker).unsqueeze(-1)) * mask
        mu = self.proj_mu(h) * mask
        return h, mu
