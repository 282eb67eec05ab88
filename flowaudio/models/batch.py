"""What the acoustic model trains on: a padded batch of token ids and log-mels.

Training's own batch (``flowaudio.train.dataset.Batch``) extends it with what only training
carries (item names, waveforms); the model needs nothing but these fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

from .layers import sequence_mask

__all__ = ["TTSBatch"]

B = TypeVar("B", bound="TTSBatch")


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

    def to(self: B, device: torch.device | str) -> B:
        """The same batch (of the same class: a subclass's fields come along) with every
        tensor field on ``device``."""
        moved = {
            f.name: value.to(device)
            for f in dataclasses.fields(self)
            if isinstance(value := getattr(self, f.name), Tensor)
        }
        return dataclasses.replace(self, **moved)
