"""``--set key=value``: splitting the command line's items. Reading each value against its option's type is
the schema's work (:mod:`iclr22.core.options`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iclr22.core.errors import ConfigError

__all__ = ["parse_overrides"]


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
