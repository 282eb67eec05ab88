"""What the acoustic model trains on: a padded batch of token ids and log-mels.

Training's own batch (``flowaudio.train.dataset.Batch``) extends it with what only training
carries (item names, waveforms); the model needs nothing but these fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .layers import sequence_mask

__all__ = ["TTSBatch"]


@dataclass
class TTSBatch:
    """A padded batch. Masks are 1 on real positions, 0 on padding.

    Attributes:
        ids: (B, L) token ids, padded with 0 (``<pad>``).
        id_lengths: (B,) number of real tokens.
        mels: (B, C, T) log-mels (not normalised), padded with the log floor (silence).
        mel_lengths: (B,) number of real frames.
        speakers: (B,) speaker ids.
    """

    ids: Tensor
    id_lengths: Tensor
    mels: Tensor
    mel_lengths: Tensor
    speakers: Tensor

    @property
    def id_mask(self) -> Tensor:
        """(B, 1, L) float mask of real tokens."""
        return sequence_mask(self.id_lengths, self.ids.shape[1]).unsqueeze(1)

    @property
    def mel_mask(self) -> Tensor:
        """(B, 1, T) float mask of real frames."""
        return sequence_mask(self.mel_lengths, self.mels.shape[2]).unsqueeze(1)

    def to(self, device: torch.device | str) -> TTSBatch:
        return TTSBatch(
            ids=self.ids.to(device),
            id_lengths=self.id_lengths.to(device),
            mels=self.mels.to(device),
            mel_lengths=self.mel_lengths.to(device),
            speakers=self.speakers.to(device),
        )
