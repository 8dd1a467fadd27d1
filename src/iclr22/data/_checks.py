"""Validation helpers shared by the loaders.

Every helper raises :class:`~iclr22.core.errors.DataError` with a one-line message that names the file
(or folder) and says what was expected, so a loader never leaks a raw numpy / gzip / zip / OS traceback.
"""

from __future__ import annotations

import gzip
import math
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from iclr22.core.errors import DataError

__all__ = [
    "as_path",
    "require_dir",
    "require_file",
    "require_files",
    "read_bytes",
    "read_text_lines",
    "parse_float",
    "parse_int",
    "check_finite",
    "check_ids_in_range",
    "check_shape",
    "load_npz_arrays",
    "npz_member_names",
    "iter_data_lines",
]


def as_path(path: str | Path) -> Path:
    """Turn a user-given path into a ``Path`` with ``~`` expanded."""
    return Path(path).expanduser()


def require_dir(folder: str | Path, expected: Sequence[str]) -> Path:
    """Check that ``folder`` is a directory.

    Args:
        folder: The dataset folder.
        expected: The file names that folder should hold (named in the error message).

    Returns:
        The folder as a ``Path``.

    Raises:
        DataError: If the folder does not exist or is not a directory.
    """
    folder = as_path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found (expected a folder holding {', '.join(expected)})")
    return folder


def require_file(path: str | Path, what: str) -> Path:
    """Check that ``path`` is an existing file.

    Args:
        path: The file.
        what: What the file should hold, for the message (``"MNIST test images (IDX, gzip)"``).

    Raises:
        DataError: If the file is missing.
    """
    path = as_path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected {what})")
    return path


def require_files(folder: str | Path, names: Sequence[str]) -> dict[str, Path]:
    """Check that every one of ``names`` exists in ``folder``.

    Returns:
        ``{name: path}`` for every expected file.

    Raises:
        DataError: Naming the folder, the missing files and the full list of files expected there.
    """
    folder = require_dir(folder, names)
    paths = {name: folder / name for name in names}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise DataError(
            f"{folder}: missing file(s) {', '.join(missing)} (this folder must hold {', '.join(names)})"
        )
    return paths


def read_bytes(path: Path, *, gzipped: bool | None = None) -> bytes:
    """Read a whole file, transparently un-gzipping it.

    Args:
        path: The file.
        gzipped: ``True``/``False`` to force; ``None`` decides from the ``.gz`` suffix.

    Raises:
        DataError: If the file is missing, unreadable, or a truncated / corrupt gzip stream.
    """
    path = as_path(path)
    if gzipped is None:
        gzipped = path.suffix == ".gz"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if not gzipped:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: truncated or corrupt gzip file ({exc})") from None


def read_text_lines(path: Path, *, encoding: str = "utf-8") -> list[str]:
    """Read a (possibly gzipped) text file as lines split on ``\\n`` only.

    Splitting on ``\\n`` only (not ``str.splitlines``) keeps rare characters such as U+2028 inside a
    sentence from breaking a row. A trailing ``\\r`` is removed and a final empty line dropped.

    Raises:
        DataError: If the file is missing, corrupt, or not valid text in ``encoding``.
    """
    data = read_bytes(path)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid {encoding} text (byte offset {exc.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_float(cell: str, path: Path, line_no: int, column: str, *, allow_nonfinite: bool = False) -> float:
    """Parse one numeric cell.

    Args:
        cell: The text of the cell.
        path: The file (for the message).
        line_no: 1-based line number (for the message).
        column: The column's name (for the message).
        allow_nonfinite: Accept NaN / inf.

    Raises:
        DataError: If the cell is not a number, or is NaN/inf when not allowed.
    """
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{path}: line {line_no}: column {column} is not a number: {cell[:40]!r}") from None
    if not allow_nonfinite and not math.isfinite(value):
        raise DataError(f"{path}: line {line_no}: column {column} is {cell!r} (NaN/inf values are not allowed)")
    return value


def parse_int(cell: str, path: Path, line_no: int, column: str) -> int:
    """Parse one integer cell; integral floats such as ``"3.0"`` are accepted.

    Raises:
        DataError: If the cell is not an integer.
    """
    try:
        return int(cell)
    except ValueError:
        pass
    value = parse_float(cell, path, line_no, column)
    if not value.is_integer():
        raise DataError(f"{path}: line {line_no}: column {column} must be an integer, got {cell[:40]!r}")
    return int(value)


def check_finite(array: np.ndarray, path: Path | str, what: str) -> None:
    """Raise DataError if a float array holds NaN or inf.

    Args:
        array: The array to check (non-float arrays always pass).
        path: The file it came from.
        what: The array's name (``"features"``).
    """
    if array.dtype.kind in "fc" and array.size and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        first = np.argwhere(~np.isfinite(array))[0].tolist()
        raise DataError(f"{path}: {what} holds {bad} NaN/inf value(s) (first at index {first}); expected finite numbers")


def check_ids_in_range(ids: np.ndarray, upper: int, path: Path | str, what: str) -> None:
    """Raise DataError unless every id is an integer in ``0..upper-1``.

    Args:
        ids: Integer array.
        upper: The number of valid ids.
        path: The file they came from.
        what: What the ids are (``"edge endpoints"``).
    """
    ids = np.asarray(ids)
    if ids.size == 0:
        return
    if ids.dtype.kind not in "iu":
        if ids.dtype.kind != "f" or not np.all(np.isfinite(ids)) or not np.all(ids == np.round(ids)):
            raise DataError(f"{path}: {what} must be integers, got dtype {ids.dtype}")
    low, high = ids.min(), ids.max()
    if low < 0 or high >= upper:
        bad = low if low < 0 else high
        raise DataError(f"{path}: {what} hold id {int(bad)} outside 0..{upper - 1}")


def check_shape(array: np.ndarray, expected: tuple[int | None, ...], path: Path | str, what: str) -> None:
    """Raise DataError unless ``array.shape`` matches ``expected`` (``None`` = any size on that axis)."""
    ok = array.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, array.shape))
    if not ok:
        shown = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise DataError(f"{path}: {what} has shape {tuple(array.shape)}, expected {shown}")


def npz_member_names(path: Path) -> list[str]:
    """The array names inside an ``.npz`` (without opening any array).

    Raises:
        DataError: If the file is missing or not a valid zip archive.
    """
    require_file(path, "a NumPy .npz archive")
    try:
        with zipfile.ZipFile(path) as archive:
            return [name[:-4] if name.endswith(".npy") else name for name in archive.namelist()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: truncated or corrupt .npz archive ({exc})") from None


def load_npz_arrays(path: Path, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Read named arrays from an ``.npz`` with ``allow_pickle=False``.

    Only the named members are read, so other members (for example a pickled ``metadata`` object) are
    never touched.

    Args:
        path: The archive.
        required: Names that must be present.
        optional: Names read when present.

    Returns:
        ``{name: array}``.

    Raises:
        DataError: If the file is missing or corrupt, a required key is absent, or a member is an object
            (pickled) array.
    """
    required, optional = list(required), list(optional)
    names = npz_member_names(path)
    missing = [key for key in required if key not in names]
    if missing:
        raise DataError(
            f"{path}: missing array(s) {', '.join(missing)} (expected keys {', '.join(required)}; found {', '.join(names) or 'none'})"
        )
    arrays: dict[str, np.ndarray] = {}
    key = ""
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in required + [k for k in optional if k in names]:
                arrays[key] = archive[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(f"{path}: array '{key}' is a pickled object array; expected a plain numeric/string array") from None
        raise DataError(f"{path}: corrupt array '{key}' ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: truncated or corrupt .npz archive ({exc})") from None
    return arrays


def iter_data_lines(lines: list[str], *, skip_comments: bool = True) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, line)`` for non-blank lines, skipping ``#`` comments if asked."""
    for index, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or (skip_comments and stripped.startswith("#")):
            continue
        yield index, line
