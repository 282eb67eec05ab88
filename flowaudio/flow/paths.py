"""Conditional optimal-transport probability path (Lipman et al. 2023, eq. 20-23; Matcha-TTS eq. 3).

With noise x0 ~ N(0, I) at t = 0 and data x1 at t = 1::

    x_t = (1 - (1 - sigma_min) t) x0 + t x1
    u_t = d x_t / dt = x1 - (1 - sigma_min) x0

u_t does not depend on t: each conditional path is a straight line travelled at constant speed,
which is why few-step solvers work well on a trained model. At t = 1 the path ends at
x1 + sigma_min x0, a Gaussian of width sigma_min around the data point.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["CondOTPath", "PathSample"]


@dataclass(frozen=True)
class PathSample:
    """One draw from the path, all on the device and dtype of the inputs."""

    x_t: Tensor
    """Point on the path, (B, C, T) (the shape of x0)."""
    u_t: Tensor
    """Target velocity at x_t, (B, C, T); the regression target for the velocity network."""
    t: Tensor
    """Times, (B,), as given."""


@dataclass(frozen=True)
class CondOTPath:
    """The conditional OT path; stateless apart from ``sigma_min``."""

    sigma_min: float = 1e-4
    """Width of the path's end point around the data; 0 <= sigma_min < 1."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.sigma_min < 1.0:
            raise ValueError(f"sigma_min must lie in [0, 1), got {self.sigma_min!r}")

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor) -> PathSample:
        """Point and target velocity at times ``t``.

        Args:
            x0: noise, (B, C, T) (any (B, ...) works).
            x1: data, same shape as x0.
            t: times in [0, 1], (B,); broadcast over every dimension of x after the first.

        Returns:
            PathSample with x_t = (1 - (1 - sigma_min) t) x0 + t x1 and
            u_t = x1 - (1 - sigma_min) x0.
        """
        if x0.shape != x1.shape:
            raise ValueError(
                f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}"
            )
        if x0.dim() < 1 or t.dim() != 1 or t.shape[0] != x0.shape[0]:
            raise ValueError(
                f"t must have shape (B,) with B = x0.shape[0]; got t {tuple(t.shape)} "
                f"for x0 {tuple(x0.shape)}"
            )
        # (B,) -> (B, 1, ..., 1) so one time per example scales all of its channels and frames.
        t_b = t.reshape((-1,) + (1,) * (x0.dim() - 1)).to(x0.dtype)
        keep = 1.0 - self.sigma_min
        x_t = (1.0 - keep * t_b) * x0 + t_b * x1
        u_t = x1 - keep * x0
        return PathSample(x_t=x_t, u_t=u_t, t=t)
