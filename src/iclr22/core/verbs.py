"""Task verbs: ``iclr22 METHOD VERB ...`` on a user's own files.

``iclr22 run`` is the paper's benchmark. A task verb is what a user came for: fit a model on *their* data and
save it, predict for new rows, find the suspicious samples — writing files they can open (a saved model folder,
CSV outputs, a short ``summary.md``). A method lists its verbs in ``<method>/verbs.py`` as ``VERBS``, a tuple of
:class:`Verb`, and names that module in its spec (``MethodSpec(verbs="iclr22.<method>.verbs:VERBS")``); the
CLI imports it only when one of the method's verbs runs.

The helpers here keep the verbs alike: :func:`estimator_settings` reads ``--set key=value`` against the
estimator's own schema (the same names as its Python parameters), :func:`write_csv` and :func:`write_summary`
write the outputs, :func:`read_matrix` reads a user's numeric table (``.npy``, ``.npz``, ``.csv``/``.tsv``).
"""

from __future__ import annotations

import argparse
import csv
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError

__all__ = ["Verb", "load_verbs", "is_number", "print_warning", "estimator_settings", "add_estimator_options", "read_matrix", "write_csv", "write_summary"]


@dataclass(frozen=True)
class Verb:
    """One task verb of a method.

    Args:
        name: What follows the method on the command line (``"find-issues"``).
        help: One line for ``iclr22 METHOD --help``.
        add_arguments: Adds the verb's arguments to its ``argparse`` parser.
        run: Does the work from the parsed arguments; returns the exit code (``None`` = 0).
        description: Longer text for ``iclr22 METHOD VERB --help`` (inputs, outputs).
        estimator: ``"module:Class"`` of the estimator the verb fits, when it takes ``--set``: its options
            (type, default, meaning) are listed under the verb's ``--help``.
        defaults: The verb's own settings applied before ``--set`` (shown as the defaults in that list).
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]
    description: str = ""
    estimator: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def options_help(self) -> str:
        """The ``--set`` options of :attr:`estimator` as ``--help`` text; empty when the verb has none."""
        if not self.estimator:
            return ""
        from iclr22.core.options import OptionSchema, options_of

        module_name, _, attr = self.estimator.partition(":")
        estimator = getattr(importlib.import_module(module_name), attr)
        schema = OptionSchema(options_of(estimator), method=estimator.__name__)
        return schema.help_text(dict(self.defaults))


def load_verbs(path: str | None) -> tuple[Verb, ...]:
    """The verbs named by a spec's ``verbs`` import path (``"module:attribute"``); none when ``None``."""
    if not path:
        return ()
    module_name, _, attr = path.partition(":")
    return tuple(getattr(importlib.import_module(module_name), attr))


def add_estimator_options(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (the estimator's parameters), ``--seed``, ``--device`` and ``--quiet``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="an estimator parameter (listed below); repeatable")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def estimator_settings(estimator: type, args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``estimator`` from ``--set`` items, validated against its ``__init__`` schema.

    Args:
        estimator: The estimator class.
        args: Parsed arguments holding ``overrides`` and, when present, ``seed``, ``device``, ``quiet``.
        defaults: Settings applied before ``--set`` (e.g. the verb's CPU-friendly choices).

    Raises:
        ConfigError: an unknown key (with close matches) or a value that does not fit its parameter.
    """
    from iclr22.core.config import parse_overrides
    from iclr22.core.device import get_device
    from iclr22.core.options import OptionSchema, options_of

    schema = OptionSchema(options_of(estimator), method=estimator.__name__)
    user = parse_overrides(getattr(args, "overrides", []))
    settings = {**(defaults or {})}
    for key, value in user.items():
        if key not in schema:
            raise schema._unknown(key, "option")
        settings[key] = schema[key].validate(value)
    params = options_of(estimator, skip=())
    if "seed" in params and getattr(args, "seed", None) is not None:
        settings["seed"] = args.seed
    if "device" in params and getattr(args, "device", None):
        settings["device"] = str(get_device(args.device))
    if "verbose" in params and getattr(args, "quiet", False):
        settings["verbose"] = False
    return settings


def read_matrix(path: str | Path, name: str = "features", key: str | None = None) -> np.ndarray:
    """A 2-D float array from ``.npy``, ``.npz`` (``key`` or its only array) or ``.csv``/``.tsv`` (header optional).

    Raises:
        DataError: a missing or unreadable file, a non-numeric cell (named by row and column), or NaN.
    """
    from iclr22.core.validation import check_array

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: {name} file not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            chosen = key if key is not None else (names[0] if len(names) == 1 else None)
            if chosen is None or chosen not in names:
                raise DataError(f"{path}: expected an array named {key!r}" if key else f"{path}: holds {names}; name the {name} array")
            array = archive[chosen]
    elif suffix in (".csv", ".tsv", ".txt"):
        array = _read_delimited(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise DataError(f"{path}: unknown {name} format {suffix!r} (expected .npy, .npz, .csv or .tsv)")
    return check_array(array, f"{path}", dtype=np.float32)


def _read_delimited(path: Path, delimiter: str) -> np.ndarray:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    if not rows:
        raise DataError(f"{path}: empty file")
    try:
        [float(cell) for cell in rows[0]]
        start = 0
    except ValueError:
        start = 1  # a header row
    values = []
    for line, row in enumerate(rows[start:], start=start + 1):
        try:
            values.append([float(cell) for cell in row])
        except ValueError:
            bad = next(i for i, cell in enumerate(row) if not is_number(cell))
            raise DataError(f"{path}: line {line}, column {bad + 1}: not a number ({row[bad]!r})") from None
    widths = {len(r) for r in values}
    if len(widths) > 1:
        raise DataError(f"{path}: rows have different numbers of columns ({sorted(widths)})")
    return np.asarray(values, dtype=np.float64)


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a number."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV with a header row (floats with 6 significant digits); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in row])
    return path


def write_summary(path: str | Path, title: str, lines: Iterable[str]) -> Path:
    """A short ``summary.md`` for the user's data (no paper columns): a title and Markdown lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n" + "\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def print_warning(message: str) -> None:
    """A warning about the user's data as one ``iclr22: warning: ...`` line on stderr (also with ``--quiet``: a
    warning is not progress), in the form the CLI gives a ``UserWarning``."""
    import sys

    print(f"iclr22: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def require_out(path: str | Path | None, what: str) -> Path:
    """The ``--out`` path, or a :class:`ConfigError` saying the verb needs one."""
    if not path:
        raise ConfigError(f"--out is required: the {what}")
    return Path(path).expanduser()
