"""Small shared pieces of the flow math: named string enums and the step-count check.

Pure Python, so the math modules stay free of the rest of flowaudio.
"""

from __future__ import annotations

import numbers
from enum import Enum


class Choice(str, Enum):
    """A string enum whose :meth:`parse` names the allowed values on a wrong one."""

    @classmethod
    def parse(cls, value: Choice | str) -> Choice:
        """``value`` as a member; ValueError naming the allowed values otherwise."""
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            what = cls.__name__.lower()
            raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}") from None


def check_steps(steps: int) -> int:
    """``steps`` as an int >= 1; ValueError otherwise."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    return int(steps)
