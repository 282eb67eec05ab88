"""Shared test settings: deterministic hypothesis, quiet espeak, CPU only."""

import os

from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine, no example database.
settings.register_profile("flowaudio", derandomize=True, database=None, deadline=None)
settings.load_profile("flowaudio")

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
