"""Numpy twin of :mod:`flowaudio.flow.solvers`: fixed-step ODE sampling without torch.

The runtime runs where torch is not installed, so this module imports numpy and
:mod:`flowaudio.flow.grid` only. That module is the torch-free half of ``flowaudio.flow``: it
holds the :class:`Solver` and :class:`Schedule` enums, :func:`nfe` and the float64 grid
arithmetic, shared here and with the torch wrappers so each exists exactly once.
(``flowaudio.flow`` resolves its torch-using names lazily, so importing ``flowaudio.flow.grid``
does not import torch; ``tests/runtime/test_solvers_numpy.py`` proves it with torch blocked.)

:func:`step` mirrors :func:`flowaudio.flow.solvers.step` line for line; a parity test checks that
both give the same result to 1e-10 in float64. Convention: t = 0 is noise, t = 1 is data::

    euler:     x1 = x + h k1                             k1 = v(x, t0)
    midpoint:  x1 = x + h k2                             k2 = v(x + h/2 k1, t0 + h/2)
    heun:      x1 = x + h/2 (k1 + k2)                    k2 = v(x + h k1, t1)
    rk4:       x1 = x + h/6 (k1 + 2 k2 + 2 k3 + k4)      k2 = v(x + h/2 k1, t0 + h/2)
                                                         k3 = v(x + h/2 k2, t0 + h/2)
                                                         k4 = v(x + h k3, t1)

Times are Python floats: numpy 2 scalars of type float64 would promote a float32 state to
float64 (NEP 50), while Python floats adopt the array's dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowaudio.flow.grid import Schedule, Solver, custom_grid, nfe, time_grid

__all__ = [
    "Schedule",
    "Solver",
    "Velocity",
    "custom_grid",
    "nfe",
    "solve",
    "step",
    "time_grid",
]

Velocity = Callable[[np.ndarray, float], np.ndarray]
"""v(x, t) -> dx/dt with x (B, C, T) and t a Python float (one time for the whole batch)."""


def step(
    velocity: Velocity, x: np.ndarray, t0: float, t1: float, solver: Solver | str
) -> np.ndarray:
    """Advance ``x`` from time ``t0`` to ``t1`` with one step of ``solver``.

    Args:
        velocity: v(x, t) -> dx/dt, same shape as x; t is a Python float.
        x: state at t0, (B, C, T) (any shape).
        t0: start of the step.
        t1: end of the step.
        solver: :class:`Solver` or its value.

    Returns:
        The state at t1, shape of x. Costs ``Solver.evals_per_step`` velocity calls.
    """
    solver = Solver.parse(solver)
    h = t1 - t0
    if solver is Solver.EULER:
        return x + h * velocity(x, t0)
    if solver is Solver.MIDPOINT:
        k1 = velocity(x, t0)
        return x + h * velocity(x + 0.5 * h * k1, t0 + 0.5 * h)
    if solver is Solver.HEUN:
        k1 = velocity(x, t0)
        k2 = velocity(x + h * k1, t1)
        return x + 0.5 * h * (k1 + k2)
    # Solver.RK4
    t_mid = t0 + 0.5 * h
    k1 = velocity(x, t0)
    k2 = velocity(x + 0.5 * h * k1, t_mid)
    k3 = velocity(x + 0.5 * h * k2, t_mid)
    k4 = velocity(x + h * k3, t1)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def solve(
    velocity: Velocity, x0: np.ndarray, grid: np.ndarray, solver: Solver | str = "euler"
) -> np.ndarray:
    """Integrate dx/dt = v(x, t) from t = grid[0] to t = grid[-1], one step per grid interval.

    Args:
        velocity: v(x, t) -> dx/dt with x shaped like x0 and t a Python float.
        x0: initial state at grid[0], usually float32 noise at t = 0, (B, C, T) (any shape).
        grid: time points (K + 1,), K >= 1, from :func:`time_grid` or :func:`custom_grid`
            (values not re-checked here, as in the torch version).
        solver: :class:`Solver` or its value ("euler", "midpoint", "heun", "rk4").

    Returns:
        The state at grid[-1], shape and dtype of x0 (a velocity that returns a wider dtype is
        cast back after each step), after ``nfe(solver, K)`` velocity calls.
    """
    solver = Solver.parse(solver)
    x0 = np.asarray(x0)
    times = np.asarray(grid, dtype=np.float64)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"grid must be 1-D with at least 2 points, got shape {times.shape}")
    x = x0
    for i in range(times.shape[0] - 1):
        x = step(velocity, x, float(times[i]), float(times[i + 1]), solver).astype(
            x0.dtype, copy=False
        )
    return x
