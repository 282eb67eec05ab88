"""Fixed-step solvers against closed-form ODEs: exactness, convergence order, grids, NFE."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from flowaudio.flow import (
    CondOTPath,
    Schedule,
    Solver,
    custom_grid,
    nfe,
    solve,
    step,
    time_grid,
)

F64 = torch.float64
STEPS = [4, 8, 16, 32]
ROTATION = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64)


def _rotation(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]], dtype=F64)


# name -> (velocity v(x, t), x(0), exact x(1)); x is (B=1, C, T=1) like a one-frame mel.
Problem = tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor]
X_ROT0 = torch.tensor([1.0, 0.5], dtype=F64).reshape(1, 2, 1)
PROBLEMS: dict[str, Problem] = {
    # dx/dt = a x, x(0) = 1  ->  x(1) = e^a
    "linear": (
        lambda x, t: 1.5 * x,
        torch.ones(1, 1, 1, dtype=F64),
        torch.full((1, 1, 1), math.exp(1.5), dtype=F64),
    ),
    # dx/dt = A x with A the 90-degree rotation generator  ->  x(1) = R(1) x(0)
    "rotation": (
        lambda x, t: torch.einsum("ij,bjt->bit", ROTATION, x),
        X_ROT0,
        torch.einsum("ij,bjt->bit", _rotation(1.0), X_ROT0),
    ),
    # time-dependent rate: dx/dt = 2t A x  ->  angle t^2, x(1) = R(1) x(0); checks stage times
    "rotation_2t": (
        lambda x, t: 2.0 * t * torch.einsum("ij,bjt->bit", ROTATION, x),
        X_ROT0,
        torch.einsum("ij,bjt->bit", _rotation(1.0), X_ROT0),
    ),
}


def _error(problem: Problem, grid: torch.Tensor, solver: Solver) -> float:
    velocity, x0, exact = problem
    return float((solve(velocity, x0, grid, solver) - exact).abs().max())


def _slope(steps: list[int], errors: list[float]) -> float:
    # Least-squares slope of log(error) against log(h), h = 1 / steps.
    return float(np.polyfit(np.log(1.0 / np.asarray(steps)), np.log(errors), 1)[0])


@pytest.mark.parametrize("schedule", list(Schedule))
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("solver", list(Solver))
def test_convergence_order(solver: Solver, problem: str, schedule: Schedule) -> None:
    # Sway is a smooth monotone reparametrisation of the uniform grid, so it keeps the order.
    grids = [time_grid(n, schedule) for n in STEPS]
    errors = [_error(PROBLEMS[problem], grid, solver) for grid in grids]
    assert errors == sorted(errors, reverse=True)
    slope = _slope(STEPS, errors)
    assert abs(slope - solver.order) <= 0.3, (
        f"{solver.value}/{schedule.value} on {problem}: slope {slope:.3f}, errors {errors}"
    )


def test_polynomial_in_time() -> None:
    # dx/dt = 3t^2, x(0) = 0  ->  x(1) = 1. Euler's error is exactly 1/steps-order; RK4 is
    # Simpson's rule here, exact for a quadratic integrand.
    velocity = lambda x, t: 3.0 * t**2 * torch.ones_like(x)  # noqa: E731
    x0 = torch.zeros(2, 3, 4, dtype=F64)
    euler_errors = []
    for n in STEPS:
        grid = time_grid(n)
        rk4 = solve(velocity, x0, grid, Solver.RK4)
        torch.testing.assert_close(rk4, torch.ones_like(x0), rtol=0, atol=1e-14)
        euler_errors.append(float((solve(velocity, x0, grid, "euler") - 1.0).abs().max()))
    assert euler_errors == sorted(euler_errors, reverse=True)
    # Left Riemann sum of 3t^2: error 3/(2n) - 1/(2n^2), first order.
    for n, err in zip(STEPS, euler_errors, strict=True):
        assert err == pytest.approx(1.5 / n - 0.5 / n**2, rel=1e-12)
    assert abs(_slope(STEPS, euler_errors) - 1.0) <= 0.3


@pytest.mark.parametrize("solver", list(Solver))
def test_custom_grid(solver: Solver) -> None:
    velocity, x0, exact = PROBLEMS["rotation_2t"]
    # A custom grid with uniform values is the uniform grid, bit for bit.
    same = custom_grid([k / 5 for k in range(6)])
    torch.testing.assert_close(
        solve(velocity, x0, same, solver),
        solve(velocity, x0, time_grid(5), solver),
        rtol=0,
        atol=0,
    )
    # A non-uniform grid is followed step by step: refining it (halving every interval)
    # shrinks the error by about 2^order.
    coarse = [0.0, 0.05, 0.2, 0.45, 0.7, 1.0]
    fine = sorted(coarse + [(a + b) / 2 for a, b in itertools.pairwise(coarse)])
    err_coarse = float((solve(velocity, x0, custom_grid(coarse), solver) - exact).abs().max())
    err_fine = float((solve(velocity, x0, custom_grid(fine), solver) - exact).abs().max())
    assert math.log2(err_coarse / err_fine) == pytest.approx(solver.order, abs=0.6)


def test_rk4_exact_for_quadratic_rate_on_any_grid() -> None:
    # RK4 is Simpson's rule for dx/dt = f(t): exact for f = 3t^2 on every grid.
    grid = custom_grid([0.0, 0.05, 0.2, 0.45, 0.7, 1.0])
    x0 = torch.zeros(1, 1, 1, dtype=F64)
    out = solve(lambda x, t: 3.0 * t**2 * torch.ones_like(x), x0, grid, Solver.RK4)
    torch.testing.assert_close(out, torch.ones_like(x0), rtol=0, atol=1e-15)


@pytest.mark.parametrize("solver", list(Solver))
@pytest.mark.parametrize("steps", [1, 3])
def test_exact_on_straight_paths(solver: Solver, steps: int) -> None:
    # The conditional OT field u_t(x | x1) = (x1 - (1 - sigma) x) / (1 - (1 - sigma) t) moves
    # every point along a straight line at constant speed, so any step size integrates it
    # exactly, and from x0 at t = 0 the solver lands on the path's end sigma x0 + x1.
    path = CondOTPath(sigma_min=1e-2)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 3, 4, generator=gen, dtype=F64)
    x1 = torch.randn(2, 3, 4, generator=gen, dtype=F64)
    keep = 1.0 - path.sigma_min

    def conditional_field(x: torch.Tensor, t: float) -> torch.Tensor:
        assert isinstance(t, float)
        return (x1 - keep * x) / (1.0 - keep * t)

    end = path.sample(x0, x1, torch.ones(2, dtype=F64)).x_t
    out = solve(conditional_field, x0, time_grid(steps), solver)
    torch.testing.assert_close(out, end, rtol=0, atol=1e-13)
    constant = solve(lambda x, t: x1 - keep * x0, x0, time_grid(steps), solver)
    torch.testing.assert_close(constant, end, rtol=0, atol=1e-13)


@pytest.mark.parametrize("solver", list(Solver))
def test_nfe_counts_velocity_calls(solver: Solver) -> None:
    calls = []

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        calls.append(t)
        return -x

    x0 = torch.ones(1, 2, 3)
    out = solve(velocity, x0, time_grid(7, Schedule.SWAY), solver.value)
    assert len(calls) == nfe(solver, 7) == 7 * solver.evals_per_step
    # Times come as Python floats, which adopt x's dtype: a float64 grid never promotes a
    # float32 model.
    assert out.dtype == torch.float32
    assert all(type(t) is float for t in calls)


def test_nfe_values() -> None:
    assert [nfe(s, 10) for s in ("euler", "midpoint", "heun", "rk4")] == [10, 20, 20, 40]
    x = torch.ones(1, 1, 1, dtype=F64)
    one = step(lambda x, t: x, x, 0.0, 0.5, Solver.RK4)
    # One RK4 step of dx/dt = x: the 4th-order Taylor polynomial of e^h.
    assert float(one) == pytest.approx(sum(0.5**k / math.factorial(k) for k in range(5)), rel=1e-15)


def test_solve_exports_unrolled() -> None:
    # torch.export unrolls the loop for a fixed grid: the times become constants of the graph
    # (as in the fused ONNX graph), and the exported module gives the eager result.
    weight = torch.tensor([[0.5, -1.0], [1.0, 0.2]])
    grid = time_grid(4, Schedule.SWAY)

    class Sampler(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            velocity = lambda x, t: torch.einsum("ij,bjt->bit", weight, x) * (1.0 + t)  # noqa: E731
            return solve(velocity, x, grid, Solver.RK4)

    x0 = torch.randn(1, 2, 3, generator=torch.Generator().manual_seed(0))
    exported = torch.export.export(Sampler(), (x0,))
    torch.testing.assert_close(exported.module()(x0), Sampler()(x0))


def test_grids() -> None:
    uniform = time_grid(4)
    assert uniform.dtype == np.float64
    assert uniform.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    sway = time_grid(8, "sway")
    assert sway[0] == 0.0
    assert sway[-1] == 1.0
    assert bool((np.diff(sway) > 0).all())
    u = np.arange(9) / 8
    np.testing.assert_allclose(sway, 1.0 - np.cos(0.5 * math.pi * u), rtol=0, atol=1e-15)
    # s = -1 packs steps near t = 0 (noise): the first step is the smallest.
    assert float(np.diff(sway)[0]) < 1 / 8 < float(np.diff(sway)[-1])
    assert time_grid(1, Schedule.SWAY).tolist() == [0.0, 1.0]
    positive = time_grid(8, "sway", sway_coef=1.0)
    assert bool((np.diff(positive) > 0).all())
    assert float(np.diff(positive)[0]) > 1 / 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps must be an integer >= 1, got 0"),
        ({"steps": 2.0}, "steps must be an integer"),
        ({"steps": 4, "schedule": "cosine"}, r"'cosine'.*'uniform', 'sway'"),
        ({"steps": 4, "schedule": "sway", "sway_coef": -1.5}, r"sway_coef.*-1.5"),
        ({"steps": 4, "schedule": "sway", "sway_coef": 2.0}, r"sway_coef.*2.0"),
    ],
)
def test_time_grid_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        time_grid(**kwargs)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([0.0], "at least 2 points"),
        ([[0.0, 1.0]], "1-D"),
        ([0.1, 1.0], "start at 0"),
        ([0.0, 0.9], "end at 1"),
        ([0.0, 0.5, 0.5, 1.0], r"increase strictly, got t\[1\]=0.5 >= t\[2\]=0.5"),
        ([0.0, 0.7, 0.3, 1.0], "increase strictly"),
        ([0.0, float("nan"), 1.0], "finite"),
    ],
)
def test_custom_grid_errors(values: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        custom_grid(values)


def test_solver_errors() -> None:
    x0 = torch.zeros(1, 1, 1)
    with pytest.raises(ValueError, match=r"unknown solver 'dopri5'.*'euler', 'midpoint'"):
        solve(lambda x, t: x, x0, time_grid(2), "dopri5")
    with pytest.raises(ValueError, match="at least 2 points"):
        solve(lambda x, t: x, x0, torch.zeros(1), "euler")
    with pytest.raises(ValueError, match="steps must be"):
        nfe("euler", 0)
