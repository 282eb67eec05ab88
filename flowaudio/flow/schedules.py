"""Time grids for the ODE solvers as torch tensors.

The arithmetic lives once, in float64 numpy, in :mod:`flowaudio.flow.grid` (shared with the
torch-free runtime); these wrappers only cast the result to the requested dtype and device.
t = 0 is noise, t = 1 is data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from . import grid as _grid
from .grid import Schedule

__all__ = ["Schedule", "custom_grid", "time_grid"]


def time_grid(
    steps: int,
    schedule: Schedule | str = Schedule.UNIFORM,
    sway_coef: float = -1.0,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Time grid (steps + 1,) from 0 to 1 inclusive, computed in float64 and cast to ``dtype``.

    Args:
        steps: number of solver steps, >= 1.
        schedule: "uniform" (t_k = k / steps) or "sway" (t' = t + s (cos(pi/2 t) - 1 + t)).
        sway_coef: s of the sway schedule, in [-1, ~1.752]; ignored by "uniform". The default
            s = -1 packs steps near t = 0, the noise end.
        device: device of the result.
        dtype: dtype of the result.

    See :func:`flowaudio.flow.grid.time_grid` for the float64 reference.
    """
    t = _grid.time_grid(steps, schedule, sway_coef)
    return torch.as_tensor(t, device=device).to(dtype)


def custom_grid(
    values: Sequence[float],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """A user-given grid as a tensor, after checking it: finite, >= 2 points, 0 first, 1 last,
    strictly increasing (ValueError otherwise, naming the offending values)."""
    t = _grid.custom_grid(values)
    return torch.as_tensor(t, device=device).to(dtype)
