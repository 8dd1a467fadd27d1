"""``--set key=value`` options: parsing and merging into a method's typed defaults."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from iclr22.core.errors import ConfigError

__all__ = ["parse_overrides", "resolve_config"]


def _parse_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if "," in text:
        return [_parse_value(part) for part in text.split(",") if part != ""]
    return text


def parse_overrides(items: Iterable[str] | None) -> dict[str, Any]:
    """Parse ``["lr=0.01", "models=cnn,mlp", "split=official"]`` into a dict of Python values.

    Values are read as booleans, ``None``, Python literals (numbers, lists, tuples), comma-separated
    lists, or else kept as strings.

    Raises:
        ConfigError: an item has no ``=`` or an empty key.
    """
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        overrides[key] = _parse_value(value)
    return overrides


def _coerce(key: str, value: Any, default: Any) -> Any:
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"option '{key}' expects true/false, got {value!r}")
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"option '{key}' expects an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"option '{key}' expects a number, got {value!r}")
    if isinstance(default, (list, tuple)):
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if default:
            values = [_coerce(key, v, default[0]) for v in values]
        return type(default)(values)
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        return str(value)
    return value


def resolve_config(
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    choices: Mapping[str, Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Merge ``--set`` overrides into a method's defaults, checking names, types and choices.

    Args:
        defaults: Every option the method knows, with its default value; the default's type is the
            option's type (an option whose default is ``None`` takes any value).
        overrides: What the user set.
        choices: Allowed values for options that take one of a few strings.

    Raises:
        ConfigError: an unknown option (the message lists the known ones), a value of the wrong type,
            or a value outside its choices.
    """
    config = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "(none)"
            raise ConfigError(f"unknown option '{key}'; this method knows: {known}")
        config[key] = _coerce(key, value, defaults[key])
    for key, allowed in (choices or {}).items():
        allowed = list(allowed)
        if config.get(key) not in allowed:
            raise ConfigError(f"option '{key}' must be one of {allowed}, got {config.get(key)!r}")
    return config
