"""The shared core: errors, seeding, devices, training helpers, results I/O and the method registry."""

from iclr22.core.errors import ConfigError, DataError, Iclr22Error, MissingExtraError

__all__ = ["ConfigError", "DataError", "Iclr22Error", "MissingExtraError"]
