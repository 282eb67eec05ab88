"""Building blocks shared by the encoder, duration predictor and decoder.

Shapes: B batch, C channels, T time steps (tokens or frames), H heads, D head width.
Sequences travel as (B, C, T) with a float mask (B, 1, T), 1 on real steps and 0 on padding.

Export rules kept by every block here (the models are exported with ``torch.onnx.export`` at
opset 17 with dynamic lengths):

- nothing is sized at build time by a maximum length: rotary angles are computed from the actual
  length at every call, so a sequence of any length works, in torch and in the exported graph;
- no Python branching on tensor values inside ``forward``;
- no in-place writes into views.

Padding never leaks into real positions: every convolution multiplies its input by the mask
first (its kernel would otherwise read padding next to the last real step), attention ignores
padded keys, and normalisation is per step (never over time), so the output on the real part
does not depend on how much padding follows it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ChannelLayerNorm",
    "ConvFeedForward",
    "MultiHeadAttention",
    "RotaryEmbedding",
    "SinusoidalTimeEmbedding",
    "apply_rotary",
    "sequence_mask",
]


def sequence_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """(B,) lengths -> (B, max_len) float mask, 1 on the first ``lengths[b]`` positions."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return (torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]).float()


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a (B, C, T) tensor, independently at every step.

    Args:
        channels: C.
        eps: added to the variance.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, T) -> (B, C, T)."""
        # F.layer_norm normalises trailing dims, so move C last; exports as LayerNormalization.
        y = F.layer_norm(x.transpose(1, 2), (self.channels,), self.weight, self.bias, self.eps)
        return y.transpose(1, 2)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoFormer, Su et al. 2021), angles computed at call time.

    Channel pair (i, i + D/2) of the vector at position p is rotated by the angle
    p * base^(-2i / D). The dot product of a query rotated at position m and a key rotated at
    position n then depends on m - n only, so attention sees relative positions, and any
    length works: nothing is tabulated up to a maximum length.

    Args:
        dim: D, the head width (even).
        base: wavelength base of the frequencies.
    """

    def __init__(self, dim: int, base: float = 10000.0):
        super().__init__()
        if dim <= 0 or dim % 2:
            raise ValueError(f"rotary dim must be a positive even integer, got {dim!r}")
        self.dim = dim
        inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        # Not persistent: it is a function of (dim, base), not a learned or data-derived value.
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        """cos and sin of the rotation angles, each (T, D), for positions (T,), computed in the
        dtype of the frequencies (float32 unless the module was cast)."""
        angles = positions.to(self.inv_freq.dtype)[:, None] * self.inv_freq[None, :]  # (T, D/2)
        angles = torch.cat([angles, angles], dim=-1)  # (T, D): pair i and i + D/2 share angles
        return angles.cos(), angles.sin()

    def for_sequence(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """cos and sin (T, D) for positions 0 .. T-1 of x (B, C, T), in x's dtype."""
        # arange over the traced size keeps the length dynamic in an exported graph.
        positions = torch.arange(x.shape[-1], device=x.device)
        cos, sin = self(positions)
        return cos.to(x.dtype), sin.to(x.dtype)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate channel pairs (i, i + D/2) of x (..., T, D) by the angles behind cos, sin (T, D)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


#: Added to the attention scores of padded keys (see :class:`MultiHeadAttention`).
_MASKED_KEY = 1e9


class MultiHeadAttention(nn.Module):
    """Self-attention over (B, C, T) with optional rotary positions and a key padding mask.

    Uses ``F.scaled_dot_product_attention`` with an additive mask (0 on real keys, -1e9 on padded
    ones, -inf in float16: their weights are exactly 0), so real outputs do not depend on
    padding. A boolean mask gives the same numbers but exports as Where + IsNaN
    around the softmax (guarding rows with no real key, which cannot occur here): ~8% of the
    velocity graph's time on CPU. Outputs at padded query steps are finite garbage that the
    caller masks.

    Args:
        channels: C of input and output.
        n_heads: H.
        head_dim: D; defaults to C / H.
        dropout: attention-weight dropout (training only).
        rotary: apply rotary position embeddings to queries and keys.
    """

    def __init__(
        self,
        channels: int,
        n_heads: int,
        head_dim: int | None = None,
        dropout: float = 0.0,
        rotary: bool = True,
    ):
        super().__init__()
        if head_dim is None:
            if channels % n_heads:
                raise ValueError(f"channels {channels} is not divisible by n_heads {n_heads}")
            head_dim = channels // n_heads
        self.n_heads = n_heads
        self.head_dim = head_dim
        self.dropout = dropout
        inner = n_heads * head_dim
        self.qkv = nn.Linear(channels, 3 * inner)
        self.out = nn.Linear(inner, channels)
        self.rotary = RotaryEmbedding(head_dim) if rotary else None

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, T), mask (B, 1, T) -> (B, C, T)."""
        batch, _, length = x.shape
        qkv = self.qkv(x.transpose(1, 2))  # (B, T, 3 H D)
        # reshape with the traced B and T (not unflatten, whose exported shape is frozen).
        qkv = qkv.reshape(batch, length, 3, self.n_heads, self.head_dim)  # (B, T, 3, H, D)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, D)
        if self.rotary is not None:
            cos, sin = self.rotary.for_sequence(x)
            q = apply_rotary(q, cos, sin)
            k = apply_rotary(k, cos, sin)
        bias = ((mask.unsqueeze(1) > 0).to(q.dtype) - 1.0) * _MASKED_KEY  # (B, 1, 1, T)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(batch, length, -1)  # (B, T, H D)
        return self.out(y).transpose(1, 2)


class ConvFeedForward(nn.Module):
    """Position-wise feed-forward with convolutions: conv(k) -> ReLU -> dropout -> conv(k).

    Args:
        channels: C of input and output.
        filter_channels: hidden width.
        kernel_size: odd kernel of both convolutions.
        dropout: dropout on the hidden activations.
    """

    def __init__(self, channels: int, filter_channels: int, kernel_size: int, dropout: float):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(channels, filter_channels, kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(filter_channels, channels, kernel_size, padding=pad)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, T), mask (B, 1, T) -> (B, C, T), zero on padding."""
        h = self.drop(torch.relu(self.conv1(x * mask)))
        return self.conv2(h * mask) * mask


class SinusoidalTimeEmbedding(nn.Module):
    """Sinusoidal features of the flow time t in [0, 1] (transformer-style, t scaled first).

    ``emb = [sin(s t w_i), cos(s t w_i)]`` with w_i = 10000^(-i / (dim/2 - 1)), s = ``scale``.
    Scaling t by 1000 spreads [0, 1] over the range of positions these frequencies were made
    for, so nearby times still get distinguishable embeddings.

    Args:
        dim: output width (even).
        scale: s.
    """

    def __init__(self, dim: int, scale: float = 1000.0):
        super().__init__()
        if dim < 4 or dim % 2:
            raise ValueError(f"time embedding dim must be an even integer >= 4, got {dim!r}")
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (half - 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.scale = scale

    def forward(self, t: Tensor) -> Tensor:
        """t (B,) -> (B, dim) in float32."""
        args = (self.scale * t.to(torch.float32))[:, None] * self.freqs[None, :]
        return torch.cat([args.sin(), args.cos()], dim=-1)
