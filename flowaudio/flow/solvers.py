"""Fixed-step explicit ODE solvers for sampling a flow: dx/dt = v(x, t), from t = 0 (noise) to 1.

Each step goes from t0 to t1 with h = t1 - t0 and k_i the velocity evaluations::

    euler:     x1 = x + h k1                             k1 = v(x, t0)
    midpoint:  x1 = x + h k2                             k2 = v(x + h/2 k1, t0 + h/2)
    heun:      x1 = x + h/2 (k1 + k2)                    k2 = v(x + h k1, t1)
    rk4:       x1 = x + h/6 (k1 + 2 k2 + 2 k3 + k4)      k2 = v(x + h/2 k1, t0 + h/2)
                                                         k3 = v(x + h/2 k2, t0 + h/2)
                                                         k4 = v(x + h k3, t1)

The update uses only tensor arithmetic on the grid values (no ``.item()``, no branching on tensor
values), so ``torch.jit.trace`` / ``torch.export`` can unroll :func:`solve` for a fixed grid
length. Gradients flow if the caller wants them; wrap the call in ``torch.no_grad()`` for
inference. :mod:`flowaudio.runtime.solvers` is the numpy twin and mirrors :func:`step` line for
line; a parity test ties the two together.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .grid import Solver, nfe

__all__ = ["Solver", "Velocity", "nfe", "solve", "step"]

Velocity = Callable[[Tensor, Tensor], Tensor]
"""v(x, t) -> dx/dt with x (B, C, T) and t a 0-dim tensor (one time for the whole batch)."""


def step(velocity: Velocity, x: Tensor, t0: Tensor, t1: Tensor, solver: Solver | str) -> Tensor:
    """Advance ``x`` from time ``t0`` to ``t1`` with one step of ``solver``.

    Args:
        velocity: v(x, t) -> dx/dt, same shape as x; t is a 0-dim tensor.
        x: state at t0, (B, C, T) (any shape).
        t0: 0-dim tensor, start of the step.
        t1: 0-dim tensor, end of the step.
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


def solve(velocity: Velocity, x0: Tensor, grid: Tensor, solver: Solver | str = "euler") -> Tensor:
    """Integrate dx/dt = v(x, t) from t = grid[0] to t = grid[-1], one step per grid interval.

    Args:
        velocity: v(x, t) -> dx/dt with x shaped like x0 and t a 0-dim tensor (the current
            grid time, in x0's dtype and on x0's device; the same t for the whole batch).
        x0: initial state at grid[0], usually noise at t = 0, (B, C, T) (any shape).
        grid: time points (K + 1,), K >= 1, from :func:`flowaudio.flow.time_grid` or
            :func:`flowaudio.flow.custom_grid`. Cast to x0's dtype and device so a float64 grid
            does not promote a float32 model. Its values are not checked here (that would
            branch on tensor data and break tracing); the grid builders check them.
        solver: :class:`Solver` or its value ("euler", "midpoint", "heun", "rk4").

    Returns:
        The state at grid[-1], shape and dtype of x0, after ``nfe(solver, K)`` velocity calls.
    """
    solver = Solver.parse(solver)
    if grid.dim() != 1 or grid.shape[0] < 2:
        raise ValueError(f"grid must be 1-D with at least 2 points, got shape {tuple(grid.shape)}")
    grid = grid.to(device=x0.device, dtype=x0.dtype)
    x = x0
    # The loop runs over the grid's static length, so tracing unrolls it into K steps.
    for i in range(grid.shape[0] - 1):
        x = step(velocity, x, grid[i], grid[i + 1], solver)
    return x
