"""Fixed-step explicit ODE solvers for sampling a flow: dx/dt = v(x, t), from t = 0 (noise) to 1.

Each step goes from t0 to t1 with h = t1 - t0 and k_i the velocity evaluations::

    euler:     x1 = x + h k1                             k1 = v(x, t0)
    midpoint:  x1 = x + h k2                             k2 = v(x + h/2 k1, t0 + h/2)
    heun:      x1 = x + h/2 (k1 + k2)                    k2 = v(x + h k1, t1)
    rk4:       x1 = x + h/6 (k1 + 2 k2 + 2 k3 + k4)      k2 = v(x + h/2 k1, t0 + h/2)
                                                         k3 = v(x + h/2 k2, t0 + h/2)
                                                         k4 = v(x + h k3, t1)

One implementation for every array type: the update uses only ``+`` and ``*`` on the state, so
numpy arrays (the runtime) and torch tensors (training, export) run the same code. :func:`solve`
hands the velocity the grid times as Python floats: they adopt the state's dtype (a float64 grid
does not promote a float32 state, NEP 50), and ``torch.jit.trace`` / ``torch.export`` unroll the
loop for a fixed grid with the times as constants. Gradients flow if the caller wants them.
This module imports nothing but the standard library.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ._common import Choice, check_steps

__all__ = ["Solver", "Velocity", "nfe", "solve", "step"]

Velocity = Callable[[Any, Any], Any]
"""v(x, t) -> dx/dt with x (B, C, T) (numpy or torch) and t a Python float (one time for the
whole batch)."""


class Solver(Choice):
    """Fixed-step explicit Runge-Kutta schemes, named by their usual names."""

    EULER = "euler"
    """x' = x + h v(x, t0). Order 1, one velocity evaluation per step."""
    MIDPOINT = "midpoint"
    """Explicit midpoint rule. Order 2, two evaluations per step."""
    HEUN = "heun"
    """Heun's method (explicit trapezoid). Order 2, two evaluations per step."""
    RK4 = "rk4"
    """Classic fourth-order Runge-Kutta. Order 4, four evaluations per step."""

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


def nfe(solver: Solver | str, steps: int) -> int:
    """Number of velocity (network) evaluations for ``steps`` steps of ``solver``.

    euler: steps, midpoint: 2 steps, heun: 2 steps, rk4: 4 steps.
    """
    return Solver.parse(solver).evals_per_step * check_steps(steps)


def step(velocity: Velocity, x: Any, t0: Any, t1: Any, solver: Solver) -> Any:
    """Advance ``x`` from time ``t0`` to ``t1`` with one step of ``solver``.

    Args:
        velocity: v(x, t) -> dx/dt, same shape as x.
        x: state at t0, (B, C, T) (any shape), numpy or torch.
        t0: start of the step (a float, or a 0-dim tensor).
        t1: end of the step.
        solver: a :class:`Solver` (parsed once by the caller, not here on every step).

    Returns:
        The state at t1, shape of x. Costs ``Solver.evals_per_step`` velocity calls.
    """
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
    if solver is not Solver.RK4:
        raise TypeError(f"solver must be a Solver (use Solver.parse), got {solver!r}")
    t_mid = t0 + 0.5 * h
    k1 = velocity(x, t0)
    k2 = velocity(x + 0.5 * h * k1, t_mid)
    k3 = velocity(x + 0.5 * h * k2, t_mid)
    k4 = velocity(x + h * k3, t1)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def solve(
    velocity: Velocity, x0: Any, grid: Sequence[float], solver: Solver | str = Solver.EULER
) -> Any:
    """Integrate dx/dt = v(x, t) from t = grid[0] to t = grid[-1], one step per grid interval.

    Args:
        velocity: v(x, t) -> dx/dt with x shaped like x0 and t a Python float (the current
            grid time; the same t for the whole batch).
        x0: initial state at grid[0], usually noise at t = 0, (B, C, T) (any shape), a numpy
            array or a torch tensor.
        grid: time points (K + 1,), K >= 1, from :func:`flowaudio.flow.time_grid` or
            :func:`flowaudio.flow.custom_grid` (any 1-D sequence: numpy, torch, list). Its
            values are not re-checked here; the grid builders check them.
        solver: :class:`Solver` or its value ("euler", "midpoint", "heun", "rk4").

    Returns:
        The state at grid[-1], shape and dtype of x0 (a velocity that returns a wider dtype is
        cast back after each step), after ``nfe(solver, K)`` velocity calls.
    """
    solver = Solver.parse(solver)
    shape = tuple(getattr(grid, "shape", (len(grid),)))
    if len(shape) != 1 or shape[0] < 2:
        raise ValueError(f"grid must be 1-D with at least 2 points, got shape {shape}")
    times = [float(t) for t in grid]
    x = x0
    for t0, t1 in itertools.pairwise(times):
        x = step(velocity, x, t0, t1, solver)
        if x.dtype != x0.dtype:  # numpy .astype, torch .to
            x = x.astype(x0.dtype) if hasattr(x, "astype") else x.to(x0.dtype)
    return x
