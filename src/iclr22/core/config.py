"""``--set key=value``: splitting the command line's items; :func:`resolve_config` for experiments not yet declared
with :class:`~iclr22.core.experiment.Experiment` (the schema in :mod:`iclr22.core.options` replaces it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from iclr22.core.errors import ConfigError
from iclr22.core.options import parse_value

__all__ = ["parse_overrides", "resolve_config"]


def parse_overrides(items: Iterable[str] | None) -> dict[str, Any]:
    """Split ``["lr=0.01", "models=cnn,mlp", "split=official"]`` into ``{key: text}``.

    The text stays text: the method's option schema reads it against the option's type
    (:meth:`iclr22.core.options.Option.validate`), so ``5`` can be an ``int`` and also a ``str`` option.

    Raises:
        ConfigError: an item has no ``=`` or an empty key.
    """
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        overrides[key] = value
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
        value = parse_value(value) if isinstance(value, str) else value
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "(none)"
            raise ConfigError(f"unknown option '{key}'; this method knows: {known}")
        config[key] = _coerce(key, value, defaults[key])
    for key, allowed in (choices or {}).items():
        allowed = list(allowed)
        if config.get(key) not in allowed:
            raise ConfigError(f"option '{key}' must be one of {allowed}, got {config.get(key)!r}")
    return config
