"""Timing helpers shared by the peer scripts (they run in the peer venv, without flowaudio).

Every timing process builds one onnxruntime session, runs it ``warmup`` times untimed and
``runs`` times timed, and prints one JSON line on stdout (the last line, which bench/run.py
reads). The session options mirror flowaudio's (flowaudio/runtime/session.py): sequential
execution, ``threads`` intra-op threads, all graph optimisations, no spin-waiting, so that the
peers are measured under the same rules.
"""

from __future__ import annotations

import importlib.metadata
import json
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_SECONDS = 7.0
"""Audio length the peers are pinned to (the issue's reference figures use a ~7 s utterance)."""


@dataclass(frozen=True)
class Timing:
    """Median wall time of ``runs`` calls after ``warmup`` untimed calls."""

    median_s: float
    times_s: list[float]


def session(path: str | Path, threads: int) -> Any:
    """An onnxruntime CPU session configured like flowaudio's (see the module docstring)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def time_calls(
    fn: Callable[[], object], warmup: int, runs: int, sync: Callable[[], object] = lambda: None
) -> Timing:
    """Call ``fn`` ``warmup`` times, then time ``runs`` calls; the median is the figure.
    ``sync`` waits for queued device work (a CUDA synchronize) inside each timed call."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return Timing(median_s=statistics.median(times), times_s=times)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record(
    system: str,
    part: str,
    steps: int | None,
    threads: int,
    warmup: int,
    timing: Timing,
    audio_s: float,
    graph: Path,
    package: str,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON line of one timing process (what bench/run.py reads)."""
    return {
        "system": system,
        "part": part,
        "steps": steps,
        **extra,
        "threads": threads,
        "runs": len(timing.times_s),
        "warmup": warmup,
        "median_s": timing.median_s,
        "times_s": timing.times_s,
        "audio_s": audio_s,
        "rtf": timing.median_s / audio_s,
        "peak_rss_mb": peak_rss_mb(),
        "graph_mb": graph.stat().st_size / 1e6,
        "versions": versions(package),
    }


def versions(*names: str) -> dict[str, str | None]:
    """Installed versions of the named distributions (None where one is missing)."""
    found: dict[str, str | None] = {}
    for name in ("onnxruntime", "torch", *names):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def emit(record: dict[str, Any]) -> None:
    """The process's result: one JSON line, last on stdout."""
    print(json.dumps(record), flush=True)


def read_plan(out_dir: Path) -> dict[str, Any]:
    """The export's plan.json (inputs and pinned length), with the fix when it is missing."""
    path = out_dir / "plan.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run this script's `export` command first")
    return json.loads(path.read_text())
