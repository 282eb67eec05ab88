"""Duration predictor: log durations of each token from detached encoder features and the speaker.

Convention: the predictor outputs **log d**, d the number of mel frames of a token (natural log,
no offset). Training targets come from monotonic alignment search, where every real token gets
d >= 1 frames, so log d >= 0 is always defined (``FlowTTS.loss``: ``log(max(d, 1))``). At
synthesis the predictions become whole frames by the one duration rule,
:func:`flowaudio.runtime.contract.frames_per_token` (cumulative rounding).

The predictor reads the encoder features with the gradient stopped (Glow-TTS): the duration loss
trains this network (and the speaker vector), never the text encoder, so alignment quality is
not traded against duration accuracy.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from .config import DurationConfig
from .layers import ChannelLayerNorm

__all__ = ["DurationPredictor"]


class DurationPredictor(nn.Module):
    """n x [conv(k) -> ReLU -> LayerNorm -> dropout] -> 1x1 conv, on h + speaker projection.

    Args:
        config: :class:`DurationConfig`.
        in_channels: C of the encoder features.
        speaker_dim: width of the speaker vector.
    """

    def __init__(self, config: DurationConfig, in_channels: int, speaker_dim: int):
        super().__init__()
        pad = config.kernel_size // 2
        self.speaker_proj = nn.Linear(speaker_dim, in_channels)
        widths = [in_channels] + [config.channels] * config.n_layers
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, config.kernel_size, padding=pad)
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.norms = nn.ModuleList(ChannelLayerNorm(config.channels) for _ in widths[1:])
        self.drop = nn.Dropout(config.dropout)
        self.proj = nn.Conv1d(config.channels, 1, 1)

    def forward(self, h: Tensor, mask: Tensor, speaker: Tensor) -> Tensor:
        """Predict log durations.

        Args:
            h: (B, C, L) encoder features; detached here.
            mask: (B, 1, L) float, 1 on real tokens.
            speaker: (B, speaker_dim).

        Returns:
            (B, 1, L) log d (frames), zero on padding.
        """
        x = h.detach() + self.speaker_proj(speaker).unsqueeze(-1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = self.drop(norm(torch.relu(conv(x * mask))))
        return self.proj(x * mask) * mask
