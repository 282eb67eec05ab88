"""The torch-free half of :mod:`flowaudio.flow`: solver and schedule names, NFE counts, time grids.

This module imports only :mod:`math`, :mod:`numbers` and numpy, so the torch-free runtime
(:mod:`flowaudio.runtime.solvers`) can share it with the training code instead of keeping a
second copy of the enums and the grid arithmetic. The torch wrappers in
:mod:`flowaudio.flow.schedules` call these functions and cast the float64 result, so the grids
used in training, export and the runtime are bit-identical before the cast.

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
import numbers
from collections.abc import Sequence
from enum import Enum

import numpy as np

from flowaudio.config import parse_choice

__all__ = [
    "SWAY_COEF_MAX",
    "SWAY_COEF_MIN",
    "Schedule",
    "Solver",
    "custom_grid",
    "nfe",
    "time_grid",
]

SWAY_COEF_MIN = -1.0
"""Smallest sway coefficient for which the sway map is monotonic (slope at 0: 1 + s)."""
SWAY_COEF_MAX = 1.0 / (math.pi / 2.0 - 1.0)
"""Largest sway coefficient for which the sway map is monotonic (slope at 1: 1 + s(1 - pi/2))."""


class Solver(str, Enum):
    """Fixed-step explicit Runge-Kutta schemes, named by their usual names."""

    EULER = "euler"
    """x' = x + h v(x, t0). Order 1, one velocity evaluation per step."""
    MIDPOINT = "midpoint"
    """Explicit midpoint rule. Order 2, two evaluations per step."""
    HEUN = "heun"
    """Heun's method (explicit trapezoid). Order 2, two evaluations per step."""
    RK4 = "rk4"
    """Classic fourth-order Runge-Kutta. Order 4, four evaluations per step."""

    @classmethod
    def parse(cls, value: Solver | str) -> Solver:
        """Return ``value`` as a :class:`Solver`; ValueError naming the allowed names otherwise."""
        return parse_choice(cls, value, "solver")

    @property
    def order(self) -> int:
        """Global order of accuracy p: the error at t = 1 shrinks as O(h^p)."""
        return _ORDER[self]

    @property
    def evals_per_step(self) -> int:
        """Velocity evaluations per step."""
        return _EVALS_PER_STEP[self]


_ORDER = {Solver.EULER: 1, Solver.MIDPOINT: 2, Solver.HEUN: 2, Solver.RK4: 4}
_EVALS_PER_STEP = {Solver.EULER: 1, Solver.MIDPOINT: 2, Solver.HEUN: 2, Solver.RK4: 4}


class Schedule(str, Enum):
    """How the ``steps + 1`` points of a time grid are spread over [0, 1]."""

    UNIFORM = "uniform"
    """t_k = k / steps."""
    SWAY = "sway"
    """Sway sampling t' = t + s (cos(pi/2 t) - 1 + t); s < 0 packs steps near the noise end."""

    @classmethod
    def parse(cls, value: Schedule | str) -> Schedule:
        """Return ``value`` as a :class:`Schedule`; ValueError naming the allowed ones otherwise."""
        return parse_choice(cls, value, "schedule")


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    return int(steps)


def nfe(solver: Solver | str, steps: int) -> int:
    """Number of velocity (network) evaluations for ``steps`` steps of ``solver``.

    euler: steps, midpoint: 2 steps, heun: 2 steps, rk4: 4 steps.
    """
    return Solver.parse(solver).evals_per_step * _check_steps(steps)


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
    steps = _check_steps(steps)
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
