"""Atomic checkpoints that carry their config, loaded with ``weights_only=True``.

A checkpoint is one ``torch.save`` dict of tensors and plain Python values (no pickled
classes), so loading never executes code from the file. It is written to a temporary file in
the same directory, flushed to disk and renamed over the target: a crash or SIGKILL at any
moment leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowaudio.version import __version__

logger = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
_NAME = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.pt"


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoints of ``run_dir`` in step order (temporary leftovers are ignored)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))  # type: ignore[union-attr]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def latest_valid_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of ``run_dir`` that loads, and its state (None: there is none).

    A newer checkpoint that does not load (a disk that filled up, a copy cut short: the atomic
    rename protects against a kill, not against damage afterwards) is passed over with a
    warning, so a run resumes or exports from the last good state instead of stopping.
    """
    found = list_checkpoints(run_dir)
    errors = []
    for path in reversed(found):
        try:
            return path, load_checkpoint(path)
        except ValueError as exc:
            errors.append(exc)
            logger.warning("%s; trying the previous checkpoint", exc)
    if found:
        raise ValueError(
            f"none of the {len(found)} checkpoint(s) in {checkpoint_dir(run_dir)} is usable; "
            f"the newest: {errors[0]}. Train a new run or restore a checkpoint from a backup"
        )
    return None


_TMP = re.compile(r"^\.step_\d{8}\.pt\.tmp(\d+)$")


def remove_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files that a killed :func:`save_checkpoint` left behind.

    Only files of processes that no longer run are removed (the pid is in the name), so a
    second process writing into the same directory keeps its file. Returns what was removed.
    """
    folder = checkpoint_dir(run_dir)
    removed = []
    for path in folder.iterdir() if folder.is_dir() else []:
        match = _TMP.match(path.name)
        if match is None or (int(match.group(1)) != os.getpid() and _alive(int(match.group(1)))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        logger.info("removed %d temporary file(s) left by an interrupted save", len(removed))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format version) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"flowaudio_checkpoint": CHECKPOINT_VERSION, "flowaudio_version": __version__}
    payload.update(state)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) and check its format version."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise ValueError(f"{path} is not a readable flowaudio checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "flowaudio_checkpoint" not in state:
        raise ValueError(f"{path} is not a flowaudio checkpoint")
    version = state["flowaudio_checkpoint"]
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {version}, this flowaudio {__version__} reads "
            f"{CHECKPOINT_VERSION}: use the flowaudio version that wrote it "
            f"({state.get('flowaudio_version', 'unknown')}), or train a new run"
        )
    return state


def prune_checkpoints(run_dir: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` most recent checkpoints."""
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)


def capture_rng() -> dict[str, Any]:
    """Every RNG a training step may touch, as tensors and plain values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(_tuplify(state["python"]))
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(value: Any) -> Any:
    # random.setstate wants tuples; a round trip through some serialisers gives lists.
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value
