"""The toolkit's exception types.

Every error caused by the user's input (a file, a dataset name, a ``--set`` option, an array passed to
the Python API) is raised as one of these, with a message that says *what* was wrong and *where*
(the file path, the argument name, the row). The CLI turns them into a one-line message and exit
code 2; anything else is a bug in the toolkit.
"""

from __future__ import annotations

__all__ = ["Iclr22Error", "DataError", "ConfigError", "MissingExtraError", "NotFittedError"]


class Iclr22Error(Exception):
    """Base class of every error the toolkit raises on purpose."""


class DataError(Iclr22Error, ValueError):
    """A dataset file or array is missing, truncated, malformed, has NaNs or out-of-range ids."""


class ConfigError(Iclr22Error, ValueError):
    """An unknown method, dataset or option, or an option value of the wrong type or range."""


class MissingExtraError(Iclr22Error, ImportError):
    """A method needs an optional dependency group that is not installed.

    Args:
        method: The method that needs it (``"coldbrew"``).
        extra: The name of the extra to install (``"graphs"``).
        module: The module whose import failed.
    """

    def __init__(self, method: str, extra: str, module: str) -> None:
        self.method, self.extra, self.module = method, extra, module
        super().__init__(
            f"method '{method}' needs the optional extra '{extra}' (module '{module}' is not installed): "
            f"pip install 'iclr22[{extra}]'"
        )


def __getattr__(name: str):  # PEP 562: NotFittedError subclasses scikit-learn's, whose import takes seconds
    if name == "NotFittedError":
        from iclr22.core.estimator import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
