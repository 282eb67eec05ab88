"""Velocity network v_theta(x_t, t | mu, speaker) of the flow: a 1D U-Net (Matcha-TTS-like).

    input  concat[x_t, mu, speaker broadcast over frames]       (B, 2 n_mels + S, T)
    down   per level i: resnet block (FiLM on t) -> n_blocks transformer blocks -> skip_i,
           then a stride-2 conv to level i + 1 (not after the coarsest level)
    mid    n_mid_blocks x (resnet block -> n_blocks transformer blocks) at the coarsest level
    up     per level i, coarsest first: concat[x, skip_i] -> resnet block -> transformer blocks,
           then a stride-2 transposed conv to level i - 1 (not after level 0)
    output conv -> SiLU -> 1x1 conv to n_mels, masked                         (B, n_mels, T)

Any number of frames works: the input is padded inside ``forward`` to a multiple of
``2 ** (levels - 1)`` (pad by the constant ``multiple - 1`` frames, then slice to the rounded-up
length, both computed from the traced size, so an exported graph keeps T dynamic), the frame
mask is halved with ``mask[..., ::2]`` at every level, and the output is cropped back to T.
Transformer blocks use rotary positions computed from the actual length. Normalisation is per
frame (LayerNorm over channels, not GroupNorm over time), so the output on real frames does not
depend on how much padding follows them.

Time conditioning: t (B,) in [0, 1] -> sinusoidal features of 1000 t -> MLP -> per resnet
block a FiLM scale and shift of its hidden channels. With ``dt_input`` (interval students of
``flowaudio distill``) a step size dt (B,) is embedded the same way by a second MLP whose output
layer starts at zero, and added to the time embedding: the network predicts the mean velocity
(x_{t + dt} - x_t) / dt, and at initialisation (or dt -> 0) the instantaneous one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import DecoderConfig
from .layers import ChannelLayerNorm, MultiHeadAttention, SinusoidalTimeEmbedding

__all__ = ["VelocityUNet"]


class ResnetBlock(nn.Module):
    """conv -> LN -> SiLU -> FiLM(t) -> dropout -> conv -> LN -> SiLU, plus a 1x1 residual."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, padding=1)
        self.norm1 = ChannelLayerNorm(out_channels)
        self.film = nn.Linear(time_dim, 2 * out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, padding=1)
        self.norm2 = ChannelLayerNorm(out_channels)
        self.drop = nn.Dropout(dropout)
        self.residual = (
            nn.Conv1d(in_channels, out_channels, 1)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: Tensor, mask: Tensor, temb: Tensor) -> Tensor:
        """x (B, C_in, T), mask (B, 1, T), temb (B, time_dim) -> (B, C_out, T)."""
        h = F.silu(self.norm1(self.conv1(x * mask)))
        scale, shift = self.film(F.silu(temb)).unsqueeze(-1).chunk(2, dim=1)  # (B, C_out, 1)
        h = self.drop(h * (1.0 + scale) + shift)
        h = F.silu(self.norm2(self.conv2(h * mask)))
        return (h + self.residual(x * mask)) * mask


class TransformerBlock(nn.Module):
    """Pre-norm: x + Attn(LN(x)) (RoPE, key padding mask), then x + MLP(LN(x)) per frame."""

    def __init__(self, channels: int, n_heads: int, head_dim: int, dropout: float):
        super().__init__()
        self.norm_attn = ChannelLayerNorm(channels)
        self.attn = MultiHeadAttention(channels, n_heads, head_dim, dropout=dropout, rotary=True)
        self.norm_ffn = ChannelLayerNorm(channels)
        self.ffn = nn.Sequential(
            nn.Conv1d(channels, 4 * channels, 1),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(4 * channels, channels, 1),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, T), mask (B, 1, T) -> (B, C, T), zero on padding."""
        x = x + self.drop(self.attn(self.norm_attn(x), mask))
        x = x + self.drop(self.ffn(self.norm_ffn(x)))
        return x * mask


class Level(nn.Module):
    """One resnet block followed by ``n_blocks`` transformer blocks at one resolution."""

    def __init__(
        self, in_channels: int, out_channels: int, config: DecoderConfig, time_dim: int
    ) -> None:
        super().__init__()
        self.resnet = ResnetBlock(in_channels, out_channels, time_dim, config.dropout)
        self.transformers = nn.ModuleList(
            TransformerBlock(out_channels, config.n_heads, config.head_dim, config.dropout)
            for _ in range(config.n_blocks)
        )

    def forward(self, x: Tensor, mask: Tensor, temb: Tensor) -> Tensor:
        x = self.resnet(x, mask, temb)
        for block in self.transformers:
            x = block(x, mask)
        return x


class VelocityUNet(nn.Module):
    """v(x_t, t, mu, mask, speaker) -> (B, n_mels, T), the OT-CFM velocity estimate.

    Args:
        config: :class:`DecoderConfig`.
        n_mels: channels of x_t, mu and the output.
        speaker_dim: width S of the speaker vector concatenated to the input on every frame.
    """

    def __init__(self, config: DecoderConfig, n_mels: int, speaker_dim: int):
        super().__init__()
        self.n_mels = n_mels
        self.speaker_dim = speaker_dim
        channels = tuple(config.channels)
        self.multiple = 2 ** (len(channels) - 1)
        tdim = config.time_embedding_dim
        self.time_embedding = SinusoidalTimeEmbedding(tdim)
        self.time_mlp = nn.Sequential(nn.Linear(tdim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.dt_mlp: nn.Module | None = None
        if config.dt_input:
            self.dt_mlp = nn.Sequential(nn.Linear(tdim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
            nn.init.zeros_(self.dt_mlp[-1].weight)
            nn.init.zeros_(self.dt_mlp[-1].bias)

        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = 2 * n_mels + speaker_dim
        for i, ch in enumerate(channels):
            self.down.append(Level(prev, ch, config, tdim))
            if i < len(channels) - 1:
                self.downsample.append(nn.Conv1d(ch, ch, 3, stride=2, padding=1))
            prev = ch
        self.mid = nn.ModuleList(
            Level(prev, prev, config, tdim) for _ in range(config.n_mid_blocks)
        )
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(channels))):
            ch = channels[i]
            self.up.append(Level(prev + ch, ch, config, tdim))
            if i > 0:
                # kernel 4, stride 2, padding 1: exactly doubles the length.
                self.upsample.append(nn.ConvTranspose1d(ch, ch, 4, stride=2, padding=1))
            prev = ch
        # No normalisation before the output: a per-frame LayerNorm there discards the
        # per-frame amplitude the velocity must reproduce (it trained measurably worse).
        self.final_conv = nn.Conv1d(prev, prev, 3, padding=1)
        self.proj = nn.Conv1d(prev, n_mels, 1)

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        mu: Tensor,
        mask: Tensor,
        speaker: Tensor,
        dt: Tensor | None = None,
    ) -> Tensor:
        """Velocity at (x_t, t) (with ``dt_input``: mean velocity over [t, t + dt]).

        Args:
            x: x_t (B, n_mels, T), the point on the path.
            t: (B,) times in [0, 1] (t = 0 noise, t = 1 data).
            mu: (B, n_mels, T) frame-level prior mean (the expanded encoder output), or zeros
                for the unconditional (classifier-free guidance) pass.
            mask: (B, 1, T) float, 1 on real frames.
            speaker: (B, S) speaker vector (or the null vector for the unconditional pass).
            dt: (B,) step sizes, only for a network built with ``dt_input`` (None means 0, the
                instantaneous velocity); a network without it refuses one.

        Returns:
            (B, n_mels, T) velocity, zero on padded frames.
        """
        n_frames = x.shape[-1]
        h = torch.cat([x, mu, speaker.unsqueeze(-1) * mask], dim=1) * mask
        m = mask
        if self.multiple > 1:
            # Pad by a constant then slice to the rounded-up length: both follow the traced T.
            padded = (n_frames + self.multiple - 1) // self.multiple * self.multiple
            h = F.pad(h, (0, self.multiple - 1))[:, :, :padded]
            m = F.pad(m, (0, self.multiple - 1))[:, :, :padded]
        temb = self.time_mlp(self.time_embedding(t))
        if self.dt_mlp is not None:
            dt = torch.zeros_like(t) if dt is None else dt
            temb = temb + self.dt_mlp(self.time_embedding(dt))
        elif dt is not None:
            raise ValueError("this velocity network was built without dt_input; pass dt=None")

        masks = [m]
        skips = []
        for i, level in enumerate(self.down):
            h = level(h, masks[-1], temb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h * masks[-1])
                masks.append(masks[-1][:, :, ::2])
        for level in self.mid:
            h = level(h, masks[-1], temb)
        for i, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), masks[-1], temb)
            if i < len(self.upsample):
                h = self.upsample[i](h * masks.pop())
        h = F.silu(self.final_conv(h * m))
        v = self.proj(h * m)
        return v[:, :, :n_frames] * mask
