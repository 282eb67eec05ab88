"""Run directories: resolve the config of a new run, or re-read the one a run was started with.

A run's resolved config is written once to ``RUN_DIR/config.json`` (and into every checkpoint).
Re-running the same command resumes it; asking for a *different* config in the same RUN_DIR is
an error, because mixing two configs in one run is never what anyone meant. Only
``train.max_steps`` may change on resume (``--max-steps`` extends or shortens a run).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from flowaudio.train.loop import Trainer, TrainTask

from flowaudio.config import ConfigError, from_dict, load_config, to_dict

logger = logging.getLogger(__name__)

C = TypeVar("C")


def resolve_run_config(
    cls: type[C],
    run_dir: str | Path,
    requested: str | Path | None,
    presets: Mapping[str, C],
    default: str,
    max_steps: int | None = None,
    adapt: Callable[[C], C] | None = None,
) -> C:
    """The config of the run in ``run_dir`` (see the module docstring).

    Args:
        cls: run config dataclass with a ``train: TrainConfig`` field.
        run_dir: the run directory (may not exist yet).
        requested: preset name or config file asked for, or None.
        presets: named configs.
        default: preset used for a new run when nothing is requested.
        max_steps: override of ``train.max_steps``.
        adapt: fills in what the data decides (e.g. the number of speakers) before a requested
            config is compared with the stored one.
    """
    adapt = adapt or (lambda c: c)
    stored_path = Path(run_dir) / "config.json"
    if stored_path.is_file():
        try:
            stored = from_dict(cls, json.loads(stored_path.read_text(encoding="utf-8")))
        except (ValueError, ConfigError) as exc:
            raise ConfigError(
                f"{stored_path} cannot be read by this flowaudio ({exc}); use a new --out"
            ) from exc
        if requested is not None:
            wanted = adapt(load_config(cls, requested, presets))
            if _identity(wanted) != _identity(stored):
                raise ConfigError(
                    f"{run_dir} holds a run started with another config; resume it without "
                    "--config (or with the same one), or choose a new --out"
                )
        cfg = stored
    else:
        cfg = adapt(load_config(cls, requested if requested is not None else default, presets))
    if max_steps is not None:
        cfg = dataclasses.replace(cfg, train=cfg.train.with_max_steps(max_steps))  # type: ignore[attr-defined]
    return cfg


def write_run_config(run_dir: str | Path, cfg: Any) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f".config.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(to_dict(cfg), indent=2), encoding="utf-8")
    os.replace(tmp, run_dir / "config.json")


DATA_RECORD = "data.json"


def check_run_data(run_dir: str | Path, cache: Any, allow_new_data: bool = False) -> None:
    """Refuse to resume the run in ``run_dir`` on another dataset than the one it started on.

    The first call records the cache (``RUN_DIR/data.json``: its path, audio config, symbol
    table and speakers). Later calls compare: another audio config (sample rate, hop, mels) or
    symbol table is always refused (the weights would be read against other features); another
    cache folder or speaker list only with ``allow_new_data`` (``--allow-new-data``: e.g. the
    same speakers with more clips).

    Args:
        cache: the :class:`~flowaudio.data.cache.CacheInfo` of the data asked for.

    Raises:
        ConfigError: the data differs as described.
    """
    record_path = Path(run_dir) / DATA_RECORD
    current = {
        "cache": str(Path(cache.root).resolve()),
        "audio": to_dict(cache.config.audio),
        "symbols": cache.symbols.to_dict(),
        "speakers": list(cache.speakers),
    }
    if record_path.is_file():
        stored = json.loads(record_path.read_text(encoding="utf-8"))
        for key, what in (("audio", "audio config"), ("symbols", "symbol table")):
            if stored.get(key) != current[key]:
                raise ConfigError(
                    f"{run_dir} was started on {stored.get('cache')} and {current['cache']} has "
                    f"another {what} ({_difference(stored.get(key), current[key])}); a run "
                    "cannot continue on other features: use a new --out"
                )
        changed = [k for k in ("cache", "speakers") if stored.get(k) != current[k]]
        if changed and not allow_new_data:
            raise ConfigError(
                f"{run_dir} was started on {stored.get('cache')} (speakers "
                f"{stored.get('speakers')}), not {current['cache']} (speakers "
                f"{current['speakers']}); resume with the same --data, use a new --out, or pass "
                "--allow-new-data to continue on the new data"
            )
        if not changed:
            return
        logger.warning("%s continues on new data: %s", run_dir, current["cache"])
    record_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = record_path.with_name(f".{DATA_RECORD}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(current, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, record_path)


def _difference(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return ", ".join(f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys[:4])
    return "differs"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _identity(cfg: Any) -> dict[str, Any]:
    data = to_dict(cfg)
    data["train"].pop("max_steps", None)
    return data


def fit_run(
    task: TrainTask, cfg: Any, run_dir: str | Path, progress: bool, describe: str
) -> Trainer:
    """Train ``task`` with ``cfg.train`` in ``run_dir``: store the config, fit, leave cleanly.

    Args:
        describe: one log line about the model and data, written by the main process.
    """
    from flowaudio.train.loop import Trainer

    trainer = Trainer(task, cfg.train, run_dir, to_dict(cfg), progress=progress)
    if trainer.dist.is_main:
        write_run_config(run_dir, cfg)
        logger.info("%s; %d training items", describe, len(trainer.train_data))
    try:
        trainer.fit()
    finally:
        trainer.close()
    return trainer
