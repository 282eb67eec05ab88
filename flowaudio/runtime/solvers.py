"""The ODE solvers and time grids of the runtime: :mod:`flowaudio.flow`'s own, re-exported.

:func:`flowaudio.flow.solvers.solve` is written once for numpy and torch alike and
:mod:`flowaudio.flow.schedules` builds the grids with numpy, neither imports torch
(``tests/runtime/test_solvers_numpy.py`` proves it with torch blocked), so the runtime uses them
as they are. Convention: t = 0 is noise, t = 1 is data.
"""

from __future__ import annotations

from flowaudio.flow.schedules import Schedule, custom_grid, time_grid
from flowaudio.flow.solvers import Solver, Velocity, nfe, solve, step

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
