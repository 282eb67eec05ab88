"""The one solver gives the same result on numpy and torch arrays, keeps float32, and never
imports torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowaudio.runtime import solvers as rt


def _np_field(x: np.ndarray, t: float) -> np.ndarray:
    return np.sin(x) * (1.0 + t)


def _torch_field(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.sin(x) * (1.0 + t)


def _noise(dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, 3, 5)).astype(dtype)


def test_shares_the_enums_with_flow() -> None:
    import flowaudio.flow as flow

    assert rt.Solver is flow.Solver
    assert rt.Schedule is flow.Schedule
    assert rt.nfe is flow.nfe
    assert rt.solve is flow.solve  # one implementation, not a twin


@pytest.mark.parametrize("schedule", list(rt.Schedule))
@pytest.mark.parametrize("solver", list(rt.Solver))
def test_numpy_equals_torch(solver: rt.Solver, schedule: rt.Schedule) -> None:
    # The same solve on numpy (the runtime) and torch (the model) arrays; the torch grid as a
    # tensor, as a caller might pass it.
    grid = rt.time_grid(9, schedule)
    x0 = _noise()
    ours = rt.solve(_np_field, x0, grid, solver)
    theirs = rt.solve(_torch_field, torch.from_numpy(x0), torch.from_numpy(grid), solver)
    assert ours.dtype == np.float64
    assert theirs.dtype == torch.float64
    assert float(np.max(np.abs(ours - theirs.numpy()))) < 1e-10
    one = rt.step(_np_field, x0, 0.25, 0.5, solver)
    one_torch = rt.step(_torch_field, torch.from_numpy(x0), 0.25, 0.5, solver)
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
