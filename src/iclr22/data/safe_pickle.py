"""A restricted unpickler for the pickles found in public dataset releases.

Some dataset folders only exist as pickles: Planetoid's python-2 ``ind.<name>.*`` files (scipy CSR
matrices, numpy arrays, a ``defaultdict`` adjacency list), the GRDA ``.pkl`` files (dicts of numpy arrays)
and the object array ``arr_0`` inside netgan's ``cora_ml.npz``. Plain :func:`pickle.load` would run any
callable a crafted file names (``os.system`` ...), so every pickle in this package is read through
:class:`RestrictedUnpickler`, whose :meth:`~RestrictedUnpickler.find_class` resolves only the globals of
an explicit allow-list:

* numpy array reconstruction: ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype``, ``numpy.core.multiarray.scalar`` (and the ``numpy._core`` spelling);
* scipy sparse matrices (``csr_matrix``, ``csc_matrix``, ``coo_matrix``, ``lil_matrix``, ``dok_matrix``)
  under their old python-2 era module names (``scipy.sparse.csr`` ...) as well as the current ones, all
  mapped to the current classes;
* ``collections.defaultdict``, ``collections.OrderedDict`` and the builtin containers/scalars
  (``list``, ``dict``, ``set``, ``frozenset``, ``tuple``, ``int``, ``float``, ``complex``, ``bool``,
  ``str``, ``bytes``, ``bytearray``) under ``builtins`` or the python-2 name ``__builtin__``;
* ``_codecs.encode`` restricted to the ``latin1`` codec (python 3 uses it to pickle ``bytes`` at protocol 2).

Any other global raises :class:`~iclr22.core.errors.DataError` naming the file and the forbidden global,
before anything is called. Truncated or corrupt pickles raise ``DataError`` too.
"""

from __future__ import annotations

import builtins
import collections
import functools
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from iclr22.core.errors import DataError
from iclr22.data._checks import as_path, require_file

__all__ = ["RestrictedUnpickler", "load_pickle", "loads_pickle", "load_npz_object", "allowed_globals"]

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct  # type: ignore[no-redef]
    from numpy.core.multiarray import scalar as _np_scalar  # type: ignore[no-redef]


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` limited to latin-1, the only codec pickled ``bytes`` use."""
    if encoding.lower().replace("-", "").replace("_", "") not in {"latin1", "iso88591"}:
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not allowed")
    if not isinstance(text, str):
        raise pickle.UnpicklingError("_codecs.encode expects a str")
    return text.encode("latin1", errors)


def _sparse_classes() -> dict[tuple[str, str], Any]:
    import scipy.sparse as sp

    table: dict[tuple[str, str], Any] = {}
    for fmt in ("csr", "csc", "coo", "lil", "dok"):
        cls = getattr(sp, f"{fmt}_matrix")
        for module in ("scipy.sparse", f"scipy.sparse.{fmt}", f"scipy.sparse._{fmt}"):
            table[(module, f"{fmt}_matrix")] = cls
    return table


_BUILTIN_NAMES = ("list", "dict", "set", "frozenset", "tuple", "int", "float", "complex", "bool", "str", "bytes", "bytearray")


def _static_globals() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(module, "_reconstruct")] = _np_reconstruct
        table[(module, "scalar")] = _np_scalar
    table[("numpy", "ndarray")] = np.ndarray
    table[("numpy", "dtype")] = np.dtype
    table[("collections", "defaultdict")] = collections.defaultdict
    table[("collections", "OrderedDict")] = collections.OrderedDict
    for name in _BUILTIN_NAMES:
        table[("builtins", name)] = getattr(builtins, name)
        table[("__builtin__", name)] = getattr(builtins, name)
    table[("__builtin__", "unicode")] = str
    table[("_codecs", "encode")] = _latin1_encode
    return table


@functools.lru_cache(maxsize=1)
def _allowed_table() -> dict[tuple[str, str], Any]:
    return {**_static_globals(), **_sparse_classes()}


def allowed_globals() -> dict[tuple[str, str], Any]:
    """The allow-list: ``{(module, name): object it resolves to}`` (scipy is imported on first use)."""
    return dict(_allowed_table())


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only allow-listed globals.

    Args:
        file: A binary file object positioned at the start of the pickle.
        source: The file name used in error messages.
        encoding: How python-2 ``str`` objects are decoded (``"latin1"`` keeps numpy buffers intact).
    """

    def __init__(self, file: BinaryIO, *, source: str, encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 - documented in the module docstring
        target = allowed_globals().get((module, name))
        if target is None:
            raise DataError(
                f"{self.source}: pickle references forbidden global '{module}.{name}'; refusing to load it "
                "(only numpy arrays, scipy sparse matrices and builtin containers are allowed)"
            )
        return target

    def persistent_load(self, pid: Any) -> Any:  # pragma: no cover - defensive
        raise DataError(f"{self.source}: pickle uses persistent ids, which are not allowed")


def loads_pickle(data: bytes, *, source: str, encoding: str = "latin1") -> Any:
    """Unpickle bytes through :class:`RestrictedUnpickler`.

    Args:
        data: The pickle bytes.
        source: The file name used in error messages.
        encoding: Decoding of python-2 strings.

    Returns:
        The unpickled object.

    Raises:
        DataError: On a forbidden global, or a truncated / corrupt pickle.
    """
    return _run(lambda: RestrictedUnpickler(io.BytesIO(data), source=source, encoding=encoding).load(), source)


def load_pickle(path: str | Path, *, encoding: str = "latin1") -> Any:
    """Read a pickle file through :class:`RestrictedUnpickler`.

    Args:
        path: The ``.pkl`` (or Planetoid ``ind.*``) file.
        encoding: Decoding of python-2 strings (``latin1`` as PyG's Planetoid reader uses).

    Returns:
        The unpickled object (numpy arrays, scipy sparse matrices, dicts, lists ...).

    Raises:
        DataError: If the file is missing, truncated or corrupt, or references a forbidden global.
    """
    path = require_file(as_path(path), "a pickle file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return loads_pickle(data, source=str(path), encoding=encoding)


def load_npz_object(path: str | Path, member: str, *, encoding: str = "latin1") -> Any:
    """Read one pickled object array (``dtype=object``) out of an ``.npz`` without ``allow_pickle=True``.

    The ``.npy`` header of the member is parsed with :mod:`numpy.lib.format`, then the pickle that follows
    it is read through :class:`RestrictedUnpickler`.

    Args:
        path: The ``.npz`` archive.
        member: The array name (``"arr_0"``).
        encoding: Decoding of python-2 strings.

    Returns:
        The unpickled array; for a 0-d object array, call ``.item()`` to get the object.

    Raises:
        DataError: If the archive or member is missing or corrupt, the member is not an object array, or
            its pickle references a forbidden global.
    """
    path = require_file(as_path(path), "a NumPy .npz archive")
    source = f"{path}[{member}]"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if f"{member}.npy" not in names:
                raise DataError(f"{path}: no array '{member}' (found {', '.join(n[:-4] for n in names) or 'none'})")
            raw = archive.read(f"{member}.npy")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: truncated or corrupt .npz archive ({exc})") from None
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise DataError(f"{source}: corrupt .npy header ({exc})") from None
    if not dtype.hasobject:
        raise DataError(f"{source}: expected a pickled object array, found dtype {dtype}")
    value = _run(lambda: RestrictedUnpickler(stream, source=source, encoding=encoding).load(), source)
    if not isinstance(value, np.ndarray) or value.shape != tuple(shape):
        raise DataError(f"{source}: pickle does not hold the array of shape {tuple(shape)} its header announces")
    return value


def _run(load: Callable[[], Any], source: str) -> Any:
    try:
        return load()
    except DataError:
        raise
    except RecursionError:
        raise DataError(f"{source}: pickle is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside unpickling means a corrupt file
        raise DataError(f"{source}: truncated or corrupt pickle ({type(exc).__name__}: {exc})") from None
