"""A prepared cache as it describes itself: :class:`CacheInfo` reads ``config.json``,
``speakers.json`` and ``stats.json`` (written by :func:`flowaudio.data.prepare.prepare_dataset`).

No torch: training (``flowaudio.train.dataset``), fine-tuning and the CLI read a cache through it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowaudio.config import from_dict
from flowaudio.data.config import DataConfig
from flowaudio.data.prepare import CACHE_FORMAT_VERSION
from flowaudio.text.frontend import stored_text_config
from flowaudio.text.symbols import SymbolTable

__all__ = ["CacheInfo"]


@dataclass(frozen=True)
class CacheInfo:
    """What a prepared cache says about itself (``config.json``, ``speakers.json``,
    ``stats.json``)."""

    root: Path
    config: DataConfig
    symbols: SymbolTable
    speakers: tuple[str, ...]
    stats: dict[str, Any]

    @classmethod
    def load(cls, root: str | Path) -> CacheInfo:
        root = Path(root)
        cfg_path = root / "config.json"
        if not cfg_path.is_file():
            raise FileNotFoundError(
                f"{root} is not a prepared cache (no config.json); run `flowaudio prepare` first"
            )
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        if cfg.get("format_version") != CACHE_FORMAT_VERSION:
            raise ValueError(
                f"{root} has cache format {cfg.get('format_version')!r}, this flowaudio reads "
                f"{CACHE_FORMAT_VERSION}: run `flowaudio prepare` again into a new directory"
            )
        for name in ("speakers.json", "stats.json", "train.jsonl"):
            if not (root / name).is_file():
                raise FileNotFoundError(
                    f"{root} is incomplete (no {name}): `flowaudio prepare` did not finish; "
                    "run it again, it resumes"
                )
        return cls(
            root=root,
            config=_data_config(cfg["data"]),
            symbols=SymbolTable.from_dict(cfg["symbols"]),
            speakers=tuple(json.loads((root / "speakers.json").read_text(encoding="utf-8"))),
            stats=json.loads((root / "stats.json").read_text(encoding="utf-8")),
        )


def _data_config(data: dict[str, Any]) -> DataConfig:
    """The cache's DataConfig; a cache made before normaliser versions were recorded was made
    with version 1."""
    fields = dict(data)
    text = stored_text_config(fields.pop("text", {}))
    return dataclasses.replace(from_dict(DataConfig, fields), text=text)
