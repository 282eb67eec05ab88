"""The numpy runtime solvers equal the torch ones, keep float32, and never import torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowaudio.flow import custom_grid as torch_custom_grid
from flowaudio.flow import solve as torch_solve
from flowaudio.flow import step as torch_step
from flowaudio.flow import time_grid as torch_time_grid
from flowaudio.runtime import solvers as rt


def _np_field(x: np.ndarray, t: float) -> np.ndarray:
    return np.sin(x) * (1.0 + t)


def _torch_field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * (1.0 + t)


def _noise(dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, 3, 5)).astype(dtype)


def test_shares_the_enums_with_flow() -> None:
    import flowaudio.flow as flow

    assert rt.Solver is flow.Solver
    assert rt.Schedule is flow.Schedule
    assert rt.nfe is flow.nfe


@pytest.mark.parametrize("schedule", list(rt.Schedule))
@pytest.mark.parametrize("steps", [1, 7, 32])
def test_grids_equal(steps: int, schedule: rt.Schedule) -> None:
    grid = rt.time_grid(steps, schedule, -1.0)
    assert grid.dtype == np.float64
    assert grid.shape == (steps + 1,)
    np.testing.assert_array_equal(grid, torch_time_grid(steps, schedule, dtype=torch.float64))
    np.testing.assert_array_equal(
        grid.astype(np.float32), torch_time_grid(steps, schedule.value).numpy()
    )
    values = [0.0, 0.1, 0.5, 1.0]
    np.testing.assert_array_equal(
        rt.custom_grid(values), torch_custom_grid(values, dtype=torch.float64)
    )


@pytest.mark.parametrize("schedule", list(rt.Schedule))
@pytest.mark.parametrize("solver", list(rt.Solver))
def test_numpy_twin_equals_torch(solver: rt.Solver, schedule: rt.Schedule) -> None:
    grid = rt.time_grid(9, schedule)
    x0 = _noise()
    ours = rt.solve(_np_field, x0, grid, solver)
    theirs = torch_solve(_torch_field, torch.from_numpy(x0), torch.from_numpy(grid), solver)
    assert ours.dtype == np.float64
    assert float(np.max(np.abs(ours - theirs.numpy()))) < 1e-10
    one = rt.step(_np_field, x0, 0.25, 0.5, solver.value)
    one_torch = torch_step(
        _torch_field,
        torch.from_numpy(x0),
        torch.tensor(0.25, dtype=torch.float64),
        torch.tensor(0.5, dtype=torch.float64),
        solver.value,
    )
    assert float(np.max(np.abs(one - one_torch.numpy()))) < 1e-10


@pytest.mark.parametrize("solver", list(rt.Solver))
def test_float32_stays_float32(solver: rt.Solver) -> None:
    x0 = _noise(np.float32)
    grid = rt.time_grid(6, "sway")  # float64 grid must not promote the float32 state
    seen = []

    def field(x: np.ndarray, t: float) -> np.ndarray:
        seen.append((x.dtype, type(t)))
        return np.sin(x) * (1.0 + t)

    out = rt.solve(field, x0, grid, solver)
    assert out.dtype == np.float32
    assert set(seen) == {(np.dtype(np.float32), float)}
    assert len(seen) == rt.nfe(solver, 6)
    reference = rt.solve(_np_field, x0.astype(np.float64), grid, solver)
    assert float(np.max(np.abs(out - reference))) < 1e-5
    # A velocity that widens to float64 is cast back after each step.
    widened = rt.solve(lambda x, t: _np_field(x, t).astype(np.float64), x0, grid, solver)
    assert widened.dtype == np.float32


def test_errors() -> None:
    x0 = _noise()
    with pytest.raises(ValueError, match=r"unknown solver 'rk45'"):
        rt.solve(_np_field, x0, rt.time_grid(2), "rk45")
    with pytest.raises(ValueError, match="at least 2 points"):
        rt.solve(_np_field, x0, np.zeros(1), "euler")
    with pytest.raises(ValueError, match="unknown schedule"):
        rt.time_grid(2, "linear")


def test_runtime_solvers_import_without_torch(run_without_torch) -> None:
    result = run_without_torch(
        """
import sys

import numpy as np

from flowaudio.runtime import solvers

x0 = np.ones((1, 2, 3), dtype=np.float32)
grid = solvers.time_grid(8, "sway")
out = solvers.solve(lambda x, t: -x, x0, grid, "rk4")
assert out.dtype == np.float32, out.dtype
assert abs(float(out[0, 0, 0]) - float(np.exp(-1.0))) < 1e-5, out
assert "torch" not in sys.modules
print("ok")
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
