"""Time schedules of the ODE solvers: the :class:`Schedule` enum and the float64 time grids.

numpy only (no torch), so training, export and the runtime use the very same grids; a torch
caller passes the grid to :func:`flowaudio.flow.solvers.solve` as it is (the solver reads its
points as Python floats, which adopt the state's dtype).

Convention (as everywhere in :mod:`flowaudio.flow`): t = 0 is noise, t = 1 is data.

Time grids are float64 arrays ``(steps + 1,)`` that start at exactly 0.0, end at exactly 1.0 and
increase strictly:

- ``UNIFORM``: t_k = k / steps.
- ``SWAY`` (sway sampling, F5-TTS, Chen et al. 2024): t'_k = t_k + s (cos(pi/2 t_k) - 1 + t_k)
  with t_k uniform and coefficient s. s = -1 gives t' = 1 - cos(pi/2 t), which packs steps near
  t = 0, the noise end, where the flow decides the coarse structure. The map is strictly
  increasing on [0, 1] only for -1 <= s <= 1 / (pi/2 - 1) (about 1.752); outside that range the
  grid would leave [0, 1], so it is rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._common import Choice, check_steps

__all__ = [
    "SWAY_COEF_MAX",
    "SWAY_COEF_MIN",
    "Schedule",
    "custom_grid",
    "time_grid",
]

SWAY_COEF_MIN = -1.0
"""Smallest sway coefficient for which the sway map is monotonic (slope at 0: 1 + s)."""
SWAY_COEF_MAX = 1.0 / (math.pi / 2.0 - 1.0)
"""Largest sway coefficient for which the sway map is monotonic (slope at 1: 1 + s(1 - pi/2))."""


class Schedule(Choice):
    """How the ``steps + 1`` points of a time grid are spread over [0, 1]."""

    UNIFORM = "uniform"
    """t_k = k / steps."""
    SWAY = "sway"
    """Sway sampling t' = t + s (cos(pi/2 t) - 1 + t); s < 0 packs steps near the noise end."""


def time_grid(
    steps: int, schedule: Schedule | str = Schedule.UNIFORM, sway_coef: float = -1.0
) -> np.ndarray:
    """Time grid ``(steps + 1,)`` float64 from exactly 0.0 to exactly 1.0.

    Args:
        steps: number of solver steps, >= 1.
        schedule: :class:`Schedule` or its value ("uniform", "sway").
        sway_coef: s in t' = t + s (cos(pi/2 t) - 1 + t); used only by ``Schedule.SWAY``, must
            lie in [SWAY_COEF_MIN, SWAY_COEF_MAX] = [-1, ~1.752].

    The end points are set to 0.0 and 1.0 explicitly: cos(pi/2) is 6e-17, not 0, in floating point.
    """
    steps = check_steps(steps)
    schedule = Schedule.parse(schedule)
    # k / steps rather than linspace: the interior points are the correctly rounded quotients.
    t = np.arange(steps + 1, dtype=np.float64) / steps
    if schedule is Schedule.SWAY:
        s = float(sway_coef)
        if not SWAY_COEF_MIN <= s <= SWAY_COEF_MAX:
            raise ValueError(
                f"sway_coef must lie in [{SWAY_COEF_MIN}, {SWAY_COEF_MAX:.6f}] so the grid stays "
                f"increasing inside [0, 1], got {sway_coef!r}"
            )
        t = t + s * (np.cos(0.5 * np.pi * t) - 1.0 + t)
    t[0], t[-1] = 0.0, 1.0
    return t


def custom_grid(values: Sequence[float]) -> np.ndarray:
    """Validate a user-given time grid and return it as float64 ``(K + 1,)``.

    The grid must be one-dimensional, finite, have at least 2 points, start at exactly 0, end at
    exactly 1 and increase strictly (each interval is one solver step).
    """
    t = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape[0] < 2:
        raise ValueError(
            f"a time grid needs a 1-D sequence of at least 2 points, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)):
        raise ValueError(f"a time grid must be finite, got {t.tolist()}")
    if t[0] != 0.0 or t[-1] != 1.0:
        raise ValueError(
            f"a time grid must start at 0 (noise) and end at 1 (data), got {t[0]} ... {t[-1]}"
        )
    if not np.all(np.diff(t) > 0):
        bad = int(np.argmin(np.diff(t) > 0))
        raise ValueError(
            f"a time grid must increase strictly, got t[{bad}]={t[bad]} >= "
            f"t[{bad + 1}]={t[bad + 1]}"
        )
    return t
