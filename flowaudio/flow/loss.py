"""Conditional flow-matching loss (Lipman et al. 2023, eq. 9; Matcha-TTS eq. 4), padding masked."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["cfm_loss"]


def cfm_loss(v_pred: Tensor, u_target: Tensor, mask: Tensor) -> Tensor:
    """Masked mean squared error between predicted and target velocities.

    Args:
        v_pred: predicted velocity v_theta(x_t, t), (B, C, T).
        u_target: target velocity u_t from :meth:`CondOTPath.sample`, (B, C, T).
        mask: (B, 1, T), 1 (or True) on real frames, 0 (or False) on padding.

    Returns:
        0-dim tensor::

            loss = sum_{b,c,f : mask[b,0,f]} (v_pred - u_target)^2 / (C * sum_{b,f} mask[b,0,f])

        i.e. the mean over every real (frame, channel) entry of the batch, so each frame weighs
        the same whatever the length of its utterance and padding contributes nothing (even
        non-finite values in padding are ignored, since they are selected out, not multiplied).

    Raises:
        ValueError: on mismatched shapes, or when the mask selects no frame at all (the mean
            would be 0/0). The check reads the mask sum back, a host sync once per call.
    """
    if v_pred.shape != u_target.shape or v_pred.dim() != 3:
        raise ValueError(
            "v_pred and u_target must both be (B, C, T), got "
            f"{tuple(v_pred.shape)} and {tuple(u_target.shape)}"
        )
    batch, channels, frames = v_pred.shape
    if tuple(mask.shape) != (batch, 1, frames):
        raise ValueError(
            f"mask must be (B, 1, T) = {(batch, 1, frames)} for inputs {tuple(v_pred.shape)}, "
            f"got {tuple(mask.shape)}"
        )
    keep = mask.to(torch.bool)
    n_frames = keep.sum()
    if int(n_frames) == 0:
        raise ValueError("mask selects no frame (all zeros); the loss is undefined")
    sq_err = torch.where(keep, (v_pred - u_target).square(), v_pred.new_zeros(()))
    return sq_err.sum() / (n_frames * channels).to(sq_err.dtype)
