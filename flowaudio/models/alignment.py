"""Monotonic alignment search (Glow-TTS, Kim et al. 2020) and duration <-> path helpers.

An alignment of L tokens to T frames (T >= L) is a 0/1 matrix A (L, T) in which every frame
belongs to exactly one token, tokens advance monotonically in time (frame f+1 belongs to the
token of frame f or to the next one), the first frame belongs to token 0, the last to token
L-1, so every token gets at least one frame. MAS finds the A that maximises sum(A * log_p) by
dynamic programming over Q[j, f], the best score of frames 0..f ending on token j::

    Q[j, f] = log_p[j, f] + max(Q[j, f-1], Q[j-1, f-1])      (Q[0, 0] = log_p[0, 0])

and backtracks from (L-1, T-1). Only cells with j <= f and L - j <= T - f (token j must leave
room for the tokens after it) can lie on a path; the loops visit those only. O(L T) per item.

Ties (both predecessors equal) go to staying on the same token while backtracking, i.e. the
token boundary is placed at the earliest frame among the optimal ones. The search runs in
float64 on the CPU under numba (``pip install 'flowaudio[train]'``), compiled on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["durations_from_path", "expand", "maximum_path", "path_from_durations"]

_KERNEL: Callable[..., Any] | None = None


def _kernel() -> Callable[..., Any]:
    """The numba-compiled batch search, built on first use (no work at import)."""
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - numba is part of the train extra
        raise ImportError(
            "monotonic alignment search needs numba: pip install 'flowaudio[train]'"
        ) from exc

    @numba.njit(cache=True, nogil=True)
    def search(log_p: np.ndarray, n_tokens: np.ndarray, n_frames: np.ndarray) -> np.ndarray:
        batch, max_tokens, max_frames = log_p.shape
        path = np.zeros((batch, max_tokens, max_frames), dtype=np.float32)
        q = np.empty((max_tokens, max_frames), dtype=np.float64)
        for b in range(batch):
            n_x = n_tokens[b]
            n_y = n_frames[b]
            for f in range(n_y):
                lo = max(0, n_x + f - n_y)
                hi = min(n_x, f + 1)
                for j in range(lo, hi):
                    # Stay on token j (impossible when j == f: j tokens need j + 1 frames).
                    stay = -np.inf if j == f else q[j, f - 1]
                    # Come from token j - 1; token 0 can only start the path, at frame 0.
                    move = (0.0 if f == 0 else -np.inf) if j == 0 else q[j - 1, f - 1]
                    q[j, f] = log_p[b, j, f] + max(stay, move)
            j = n_x - 1
            for f in range(n_y - 1, -1, -1):
                path[b, j, f] = 1.0
                # Move back one token when forced (j == f) or strictly better; ties stay.
                if j > 0 and (j == f or q[j, f - 1] < q[j - 1, f - 1]):
                    j -= 1
        return path

    _KERNEL = search
    return search


def maximum_path(log_p: Tensor, mask: Tensor) -> Tensor:
    """Most likely monotonic hard alignment of tokens to frames.

    Args:
        log_p: (B, L, T) score of frame f under token j (e.g. a Gaussian log-likelihood).
        mask: (B, L, T), 1 where both token j and frame f are real (the outer product of the
            token mask and the frame mask); item b has ``mask[b, :, 0].sum()`` tokens and
            ``mask[b, 0, :].sum()`` frames.

    Returns:
        (B, L, T) 0/1 alignment in log_p's dtype and device, zero outside the mask. No gradient.

    Raises:
        ValueError: on shape mismatch, or if an item has no token, or fewer frames than tokens
            (no alignment gives every token a frame).
    """
    if log_p.dim() != 3 or tuple(mask.shape) != tuple(log_p.shape):
        raise ValueError(
            f"log_p and mask must both be (B, L, T), got {tuple(log_p.shape)} and "
            f"{tuple(mask.shape)}"
        )
    with torch.no_grad():
        keep = mask.detach().to(device="cpu", dtype=torch.bool)
        n_tokens = keep[:, :, 0].sum(1).numpy().astype(np.int64)
        n_frames = keep[:, 0, :].sum(1).numpy().astype(np.int64)
        bad = np.flatnonzero((n_tokens < 1) | (n_frames < n_tokens))
        if bad.size:
            b = int(bad[0])
            raise ValueError(
                f"monotonic alignment needs 1 <= tokens <= frames, got {int(n_tokens[b])} "
                f"tokens and {int(n_frames[b])} frames for batch item {b} "
                f"(items failing: {bad.tolist()})"
            )
        scores = log_p.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
        path = _kernel()(scores, n_tokens, n_frames)
    return torch.from_numpy(path).to(device=log_p.device, dtype=log_p.dtype)


def durations_from_path(path: Tensor) -> Tensor:
    """(B, L, T) 0/1 alignment -> (B, L) frames per token, int64."""
    if path.dim() != 3:
        raise ValueError(f"path must be (B, L, T), got shape {tuple(path.shape)}")
    return path.sum(-1).round().to(torch.long)


def path_from_durations(durations: Tensor, n_frames: int | Tensor | None = None) -> Tensor:
    """(B, L) integer durations -> (B, L, T) 0/1 alignment, T = ``n_frames``.

    Token j covers frames [sum(d[:j]), sum(d[:j+1])). Tensor ops only (cumsum and comparisons),
    so it exports with dynamic lengths. ``n_frames`` defaults to the longest total duration;
    frames past an item's total are all-zero columns (padding).
    """
    if durations.dim() != 2:
        raise ValueError(f"durations must be (B, L), got shape {tuple(durations.shape)}")
    d = durations.to(torch.long)
    end = d.cumsum(1)  # (B, L) exclusive end frame of every token
    start = end - d
    if n_frames is None:
        n_frames = int(end[:, -1].max()) if d.shape[1] else 0
    frames = torch.arange(n_frames, device=d.device)[None, None, :]  # (1, 1, T)
    inside = (frames >= start.unsqueeze(-1)) & (frames < end.unsqueeze(-1))
    return inside.to(torch.float32)


def expand(x: Tensor, durations: Tensor, n_frames: int | None = None) -> Tensor:
    """Repeat each token's features over its frames: x (B, C, L), durations (B, L) -> (B, C, T).

    Implemented as x @ path with the (B, L, T) alignment of :func:`path_from_durations`, so it
    is differentiable in x. Frames past an item's total duration are zero.
    """
    if x.dim() != 3 or durations.shape != (x.shape[0], x.shape[2]):
        raise ValueError(
            f"expand needs x (B, C, L) and durations (B, L), got {tuple(x.shape)} and "
            f"{tuple(durations.shape)}"
        )
    path = path_from_durations(durations, n_frames).to(x.dtype)
    return torch.bmm(x, path)
