"""Flow-matching math: probability path, loss, time grids, ODE solvers. Nothing else.

Convention, used by every function here and by the runtime: **t = 0 is noise, t = 1 is data.**

Conditional OT path (Lipman et al. 2023; Matcha-TTS), noise x0 ~ N(0, I), data x1, both (B, C, T)::

    x_t = (1 - (1 - sigma_min) t) x0 + t x1          (paths.CondOTPath.sample)
    u_t = x1 - (1 - sigma_min) x0                    (constant along each straight path)

Training regresses a velocity network v_theta(x_t, t) onto u_t over real frames::

    L = sum_mask (v_theta(x_t, t) - u_t)^2 / (C * number of real frames)    (loss.cfm_loss)

Sampling integrates dx/dt = v_theta(x, t) from t = 0 to t = 1 over a time grid
(schedules.time_grid: uniform or F5-TTS sway sampling t' = t + s (cos(pi/2 t) - 1 + t)) with a
fixed-step solver (solvers.solve: euler, midpoint, heun, rk4).

Layout and the torch boundary:

- :mod:`.schedules` (numpy): the :class:`Schedule` enum and the float64 time grids.
- :mod:`.solvers` (standard library only): the :class:`Solver` enum, :func:`nfe` and the one
  :func:`step` / :func:`solve`, written once for numpy arrays and torch tensors alike; the
  torch-free runtime (``flowaudio.runtime``) and the torch model both call it.
- :mod:`.paths`, :mod:`.loss` (torch, training only).

Importing this package must not import torch, or the runtime could not use the solvers through
it. So the torch-using names below are resolved lazily on first access (PEP 562 module
``__getattr__``): ``from flowaudio.flow import cfm_loss`` works as usual and imports torch then.
Nothing else happens at import.

This package imports nothing else of flowaudio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .schedules import Schedule, custom_grid, time_grid
from .solvers import Solver, Velocity, nfe, solve, step

if TYPE_CHECKING:
    from .loss import cfm_loss
    from .paths import CondOTPath, PathSample

__all__ = [
    "CondOTPath",
    "PathSample",
    "Schedule",
    "Solver",
    "Velocity",
    "cfm_loss",
    "custom_grid",
    "nfe",
    "solve",
    "step",
    "time_grid",
]

# Torch-using public names -> the submodule that defines them (imported on first access).
_LAZY = {
    "CondOTPath": "paths",
    "PathSample": "paths",
    "cfm_loss": "loss",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
