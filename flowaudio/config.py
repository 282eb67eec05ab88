"""The config machinery: strict (de)serialisation of frozen config dataclasses.

Every config is a frozen dataclass with a docstring per field, defined next to what it
configures: :mod:`flowaudio.audio.config` (features), :mod:`flowaudio.text.config` (frontend),
:mod:`flowaudio.data.config` (preparation), :mod:`flowaudio.models.config` (model sizes),
:mod:`flowaudio.train.config` (training runs). Loading from a dict, YAML or TOML rejects unknown
keys with the dotted key path and the allowed names, so a typo in a config file is an error and
never a silently ignored setting. The resolved config travels with every artifact (prepared
cache, checkpoint, exported voice) as a plain dict from :func:`to_dict`.

This module is pure Python (no torch): the runtime and the data tools import it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class ConfigError(ValueError):
    """A config file or dict does not match the dataclass it should fill."""


def parse_choice(kind: type[E], value: E | str, what: str) -> E:
    """``value`` as a member of the string enum ``kind``; a ValueError that names ``what`` and
    the allowed values otherwise (the ``parse`` of Solver, Schedule, Weights, ...)."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}") from None


# --------------------------------------------------------------------------------------------
# (de)serialisation


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, JSON-serialisable dict of a config dataclass (nested dataclasses included)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"to_dict expects a dataclass instance, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


def from_dict(cls: type[T], data: Mapping[str, Any], *, where: str = "") -> T:
    """Build ``cls`` from ``data``; unknown keys and wrong types raise :class:`ConfigError`.

    Args:
        cls: a (frozen) dataclass type; nested dataclass fields are filled recursively.
        data: mapping of field name to value; missing keys take the field default.
        where: dotted prefix used in error messages (e.g. ``"model.encoder"``).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"from_dict expects a dataclass type, got {cls!r}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a table/mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(_path(where, k) for k in unknown)}; "
            f"allowed keys for {where or cls.__name__}: {', '.join(sorted(fields))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, _path(where, name))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (the subset our configs use)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} matches none of {tp}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {allowed}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
        item = args[0] if args else Any
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported config type {tp!r}")  # pragma: no cover


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.yaml``/``.yml``/``.toml``/``.json`` file into a dict (no interpretation)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: unknown config format {suffix!r}; use .yaml/.toml/.json")
    except ConfigError:
        raise
    except Exception as exc:  # yaml/toml/json parse errors differ by library
        raise ConfigError(f"{path}: cannot parse: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a table/mapping, got {type(data).__name__}")
    return data


def load_config(
    cls: type[T],
    source: str | Path | Mapping[str, Any] | None,
    presets: Mapping[str, T] | None = None,
) -> T:
    """Resolve a config from a preset name, a file path, a dict, or None (the defaults)."""
    if source is None:
        return cls()
    if isinstance(source, Mapping):
        return from_dict(cls, source)
    if presets is not None and str(source) in presets:
        return presets[str(source)]
    path = Path(source)
    if not path.exists():
        names = ", ".join(sorted(presets)) if presets else "none"
        raise ConfigError(f"{source!r} is neither a config file nor a preset (presets: {names})")
    return from_dict(cls, read_config_file(path), where="")
