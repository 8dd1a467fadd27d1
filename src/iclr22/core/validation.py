"""Input checks for arrays, labels, masks and graphs passed to the Python API.

Every method validates its inputs with these, so a user gets the same kind of message everywhere: a
:class:`~iclr22.core.errors.DataError` naming the argument (or file) and saying what was expected and
what came instead — never a deep traceback from torch or numpy, never a silent NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iclr22.core.errors import DataError

__all__ = [
    "as_numpy",
    "check_array",
    "check_labels",
    "check_mask",
    "check_edge_index",
    "check_weights",
    "check_consistent_length",
]


def as_numpy(value: Any, name: str) -> np.ndarray:
    """``value`` (a numpy array, torch tensor, list or pandas object) as a numpy array.

    Raises:
        DataError: ``value`` is ``None`` or cannot be read as an array.
    """
    if value is None:
        raise DataError(f"{name}: missing (got None)")
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):
        value = value.to_numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: cannot be read as an array ({exc})") from None


def check_array(
    X: Any,
    name: str = "X",
    *,
    ndim: int | tuple[int, ...] = 2,
    dtype: Any = np.float32,
    allow_nonfinite: bool = False,
    min_rows: int = 1,
    n_features: int | None = None,
) -> np.ndarray:
    """A numeric array of the expected rank, converted to ``dtype``.

    Args:
        X: The input.
        name: Its name in messages (argument or file).
        ndim: Allowed rank(s).
        dtype: The dtype of the result (``None``: keep).
        allow_nonfinite: Accept NaN / inf.
        min_rows: Fewest rows (first axis) accepted.
        n_features: Required size of the last axis (``None``: any).

    Returns:
        The array.

    Raises:
        DataError: wrong rank, non-numeric values, too few rows, wrong width, or NaN / inf.
    """
    array = as_numpy(X, name)
    ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in ranks:
        shape = " or ".join(f"{r}-D" for r in ranks)
        raise DataError(f"{name}: expected a {shape} array, got shape {tuple(array.shape)}")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name}: expected numbers, got dtype {array.dtype}")
    if array.shape[0] < min_rows:
        raise DataError(f"{name}: expected at least {min_rows} row(s), got {array.shape[0]}")
    if n_features is not None and array.shape[-1] != n_features:
        raise DataError(f"{name}: expected {n_features} features per row (as in fit), got {array.shape[-1]}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if not allow_nonfinite and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise DataError(f"{name}: holds NaN or inf (first at index {tuple(int(i) for i in bad)})")
    return array


def check_labels(y: Any, n: int | None = None, name: str = "y", *, allow_missing: bool = False) -> np.ndarray:
    """Integer class labels ``[n]`` (``-1`` marks a missing label when ``allow_missing``).

    Float labels are accepted only when every value is a whole number: a regression target passed as
    classes is a mistake the user must hear about.

    Raises:
        DataError: wrong length, not 1-D, non-integer values, or negative labels.
    """
    labels = as_numpy(y, name)
    if labels.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array of class labels, got shape {tuple(labels.shape)}")
    if n is not None and labels.shape[0] != n:
        raise DataError(f"{name}: expected {n} labels (one per row), got {labels.shape[0]}")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.all(labels == np.round(labels)):
            raise DataError(f"{name}: class labels must be whole numbers; got floats such as {labels[labels != np.round(labels)][:3].tolist()}")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise DataError(f"{name}: expected integer class labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64, copy=False)
    lowest = -1 if allow_missing else 0
    if labels.size and labels.min() < lowest:
        raise DataError(f"{name}: labels must be ≥ {lowest}, got {int(labels.min())}")
    return labels


def check_mask(mask: Any, n: int, name: str = "mask") -> np.ndarray:
    """A boolean mask over ``n`` items, from booleans, 0/1 integers, or integer indices.

    Raises:
        DataError: wrong length, an index outside ``[0, n)``, or another dtype.
    """
    array = as_numpy(mask, name)
    if array.dtype == bool:
        if array.shape != (n,):
            raise DataError(f"{name}: expected a boolean mask of length {n}, got shape {tuple(array.shape)}")
        return array
    if array.dtype.kind in "iu" and array.shape == (n,) and n > 2 and set(np.unique(array).tolist()) <= {0, 1}:
        return array.astype(bool)  # a 0/1 mask, not the indices 0 and 1 repeated n times
    if array.dtype.kind in "iu" and array.ndim == 1:
        if array.size and (array.min() < 0 or array.max() >= n):
            raise DataError(f"{name}: index out of range [0, {n}): {int(array.min())}..{int(array.max())}")
        out = np.zeros(n, dtype=bool)
        out[array] = True
        return out
    raise DataError(f"{name}: expected a boolean mask of length {n} or integer indices, got dtype {array.dtype}, shape {tuple(array.shape)}")


def check_edge_index(edge_index: Any, num_nodes: int, name: str = "edge_index") -> np.ndarray:
    """A ``[2, E]`` integer array of node ids in ``[0, num_nodes)`` (``[E, 2]`` is transposed).

    Raises:
        DataError: wrong shape or dtype, or an id out of range.
    """
    edges = as_numpy(edge_index, name)
    if edges.ndim == 2 and edges.shape[0] != 2 and edges.shape[1] == 2:
        edges = edges.T
    if edges.ndim != 2 or edges.shape[0] != 2:
        raise DataError(f"{name}: expected shape [2, num_edges], got {tuple(edges.shape)}")
    if edges.size and edges.dtype.kind not in "iu":
        raise DataError(f"{name}: expected integer node ids, got dtype {edges.dtype}")
    edges = edges.astype(np.int64, copy=False)
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        raise DataError(f"{name}: node id out of range [0, {num_nodes}): {int(edges.min())}..{int(edges.max())}")
    return edges


def check_weights(weights: Any, n: int, name: str = "sample_weight") -> np.ndarray:
    """Non-negative finite weights ``[n]`` as float64.

    Raises:
        DataError: wrong length, negative, NaN or inf.
    """
    array = check_array(weights, name, ndim=1, dtype=np.float64, min_rows=0)
    if array.shape[0] != n:
        raise DataError(f"{name}: expected {n} weights (one per row), got {array.shape[0]}")
    if (array < 0).any():
        raise DataError(f"{name}: weights must be ≥ 0, got {float(array.min())}")
    return array


def check_consistent_length(**arrays: Any) -> int:
    """The common first-axis length of named arrays (``None`` entries are skipped).

    Raises:
        DataError: the lengths differ; the message lists each name and length.
    """
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        raise DataError("inputs differ in length: " + ", ".join(f"{k} has {v}" for k, v in lengths.items()))
    return next(iter(lengths.values()), 0)
