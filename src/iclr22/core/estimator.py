"""The estimator contract every method follows: scikit-learn's, plus save/load without pickle.

A method's public estimator subclasses :class:`Estimator` (and the scikit-learn mixin that fits its task,
e.g. ``ClassifierMixin``)::

    class ColdBrew(ClassifierMixin, Estimator):
        _fitted_attribute = "student_"

        def __init__(self, hidden_channels: int = 64, norm: Literal["none", "pairnorm"] = "none", ...,
                     seed: int | None = 0, device: str = "cpu", verbose: bool | None = None) -> None:
            self.hidden_channels, self.norm = hidden_channels, norm        # store, never validate
            ...

        def fit(self, X, y, ...) -> "ColdBrew":
            self._check_params()                                          # types and Literal choices
            ...
            self.student_ = ...                                           # learned state ends in _
            return self

        def _fitted_state(self) -> dict: return {"student": self.student_.state_dict(), ...}
        def _restore_fitted_state(self, state, folder) -> None: self.student_ = ...

The rules (docs/architecture.md): ``__init__`` only stores its arguments, annotated (the annotation and the
``Args:`` docstring entry are the option's single source, :mod:`iclr22.core.options`); validation happens
in ``fit``; ``fit`` returns ``self``; learned state ends in ``_``; calling a fitted-only method before
``fit`` raises :class:`NotFittedError`; the common runtime parameters are named ``seed``, ``device``,
``verbose`` (``None`` = progress bars on a terminal only), and arrays ``X`` / ``y``.

:meth:`Estimator.save` writes a folder holding ``estimator.json`` (format, class, parameters — JSON) and
``state.pt`` (tensors and plain containers, read back with ``torch.load(weights_only=True)``: a saved model
can never run code). :meth:`Estimator.load` rebuilds the estimator from that folder.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from iclr22.core.errors import ConfigError, DataError, Iclr22Error

__all__ = ["Estimator", "NotFittedError", "save_estimator", "load_estimator", "FORMAT"]

#: The ``format`` field of ``estimator.json``.
FORMAT = "iclr22-estimator/1"
_PARAMS_FILE, _STATE_FILE = "estimator.json", "state.pt"

E = TypeVar("E", bound="Estimator")


class NotFittedError(Iclr22Error, _SklearnNotFittedError):
    """An estimator was asked to predict, transform or save before ``fit`` (or ``load``).

    Also scikit-learn's ``NotFittedError`` (a ``ValueError`` and ``AttributeError``), so code written for
    scikit-learn estimators catches it unchanged.
    """


class Estimator(BaseEstimator):
    """Base class of the toolkit's public estimators (see the module docstring for the contract).

    Subclasses set :attr:`_fitted_attribute` (the learned attribute whose presence means "fitted") and
    implement :meth:`_fitted_state` / :meth:`_restore_fitted_state` for :meth:`save` / :meth:`load`.
    """

    #: The attribute ``fit`` sets last; its presence means the estimator is fitted.
    _fitted_attribute: ClassVar[str] = ""
    #: Constructor arguments that are not options of an experiment (e.g. a fitted model passed in, or a value
    #: the experiment sets per model): left out of ``--help`` and ``--set``, still checked in ``fit``.
    _not_options: ClassVar[tuple[str, ...]] = ()

    # -- scikit-learn protocol -------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return bool(self._fitted_attribute) and hasattr(self, self._fitted_attribute)

    def _check_is_fitted(self, action: str = "use it") -> None:
        """Raise :class:`NotFittedError` unless ``fit`` (or ``load``) has run."""
        if not self.__sklearn_is_fitted__():
            name = type(self).__name__
            raise NotFittedError(f"{name} is not fitted yet: call {name}.fit(...) or {name}.load(path) before you {action}")

    def _check_params(self) -> None:
        """Check every constructor argument against its annotation (``Literal`` choices, types).

        Subclasses extend this with range checks (``super()._check_params()`` first).

        Raises:
            ConfigError: naming the class, the parameter and what it takes.
        """
        from iclr22.core.options import check_params

        check_params(self)

    # -- persistence --------------------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        """The learned state to save: tensors, numpy arrays and plain containers (no objects)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement saving")

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        """Rebuild the learned attributes from what :meth:`_fitted_state` returned."""
        raise NotImplementedError(f"{type(self).__name__} does not implement loading")

    def _save_files(self, folder: Path) -> None:
        """Hook: write files beside ``state.pt`` (e.g. a sentence-transformers folder). Default: none."""

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted estimator to the folder ``path`` (created; files in it are replaced).

        Returns:
            The folder.

        Raises:
            NotFittedError: before ``fit``.
        """
        self._check_is_fitted("save it")
        return save_estimator(self, path)

    @classmethod
    def load(cls: type[E], path: str | os.PathLike, device: str | None = None) -> E:
        """Read an estimator written by :meth:`save`.

        Args:
            path: The folder :meth:`save` wrote.
            device: Where to put its modules (default: the saved ``device`` parameter, or ``cpu`` when that
                is not available here).

        Raises:
            DataError: the folder is missing, is not a saved estimator, or holds another class.
        """
        estimator = load_estimator(path, device=device, expected=cls)
        if not isinstance(estimator, cls):
            raise DataError(f"{path}: holds a {type(estimator).__name__}, not a {cls.__name__}")
        return estimator


# ------------------------------------------------------------------------------------------- encoding
def _encode(value: Any, where: str) -> Any:
    """numpy arrays become tensors with a marker, so ``torch.load(weights_only=True)`` can read them."""
    import torch

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value)), "dtype": value.dtype.str}
        return {"__ndarray_list__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _encode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, Path):
        return str(value)
    raise Iclr22Error(f"cannot save {where}: a {type(value).__name__} is neither a tensor, an array nor a plain value")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return value["__ndarray__"].numpy().astype(np.dtype(value["dtype"]), copy=False)
        if "__ndarray_list__" in value:
            return np.array(value["__ndarray_list__"], dtype=np.dtype(value["dtype"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    return value


def _json_params(estimator: BaseEstimator) -> dict[str, Any]:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError as exc:
            raise Iclr22Error(f"{type(estimator).__name__}: parameter '{name}' ({type(value).__name__}) cannot be saved as JSON") from exc
        params[name] = value
    return params


def save_estimator(estimator: Estimator, path: str | os.PathLike) -> Path:
    """Write ``estimator.json`` and ``state.pt`` into the folder ``path`` (see :meth:`Estimator.save`)."""
    import torch

    from iclr22.core.training import atomic_write

    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder (a model is saved as a folder)")
    folder.mkdir(parents=True, exist_ok=True)
    cls = type(estimator)
    meta = {"format": FORMAT, "class": f"{cls.__module__}:{cls.__qualname__}", "params": _json_params(estimator)}
    try:
        import iclr22

        meta["iclr22_version"] = getattr(iclr22, "__version__", "")
    except ImportError:  # pragma: no cover
        pass
    state = _encode(estimator._fitted_state(), "state")
    atomic_write(folder / _STATE_FILE, lambda tmp: torch.save(state, tmp))
    estimator._save_files(folder)
    atomic_write(folder / _PARAMS_FILE, lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8"))
    return folder


def _public_class(qualified: str, where: Path) -> type:
    module_name, _, name = qualified.partition(":")
    if not module_name.startswith("iclr22.") or not name.isidentifier():
        raise DataError(f"{where}: names class '{qualified}', which is not an iclr22 estimator")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise DataError(f"{where}: class '{qualified}' not found in this version of iclr22 ({exc})") from None
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise DataError(f"{where}: '{qualified}' is not an iclr22 estimator")
    return cls


def load_estimator(path: str | os.PathLike, device: str | None = None, expected: type | None = None) -> Estimator:
    """Read any estimator written by :func:`save_estimator` (its class is named in ``estimator.json``).

    Only classes of the ``iclr22`` package are looked up by name; ``expected`` (the class whose ``load`` was
    called) is used as it is when the file names it.

    Raises:
        DataError: missing folder or files, a file that is not ours, weights that do not fit.
    """
    from iclr22.core.training import load_checkpoint

    folder = Path(path).expanduser()
    meta_path = folder / _PARAMS_FILE
    if not meta_path.is_file():
        raise DataError(f"{folder}: not a saved iclr22 model (expected a folder holding {_PARAMS_FILE} and {_STATE_FILE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{meta_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("params"), dict):
        raise DataError(f"{meta_path}: not an iclr22 estimator file (format {FORMAT!r} expected)")
    named = str(meta.get("class", ""))
    if expected is not None and named == f"{expected.__module__}:{expected.__qualname__}":
        cls = expected
    else:
        cls = _public_class(named, meta_path)
    params = dict(meta["params"])
    if device is not None and "device" in params:
        params["device"] = device
    elif params.get("device", "cpu") != "cpu":
        import torch

        if str(params["device"]).startswith("cuda") and not torch.cuda.is_available():
            params["device"] = "cpu"
    try:
        estimator = cls(**params)
        estimator._check_params()
    except (TypeError, ConfigError) as exc:
        raise DataError(f"{meta_path}: parameters do not fit {cls.__name__} ({exc})") from None
    state = _decode(load_checkpoint(folder / _STATE_FILE))
    try:
        estimator._restore_fitted_state(state, folder)
    except (KeyError, RuntimeError, ValueError) as exc:
        if isinstance(exc, Iclr22Error):
            raise
        raise DataError(f"{folder / _STATE_FILE}: does not fit {cls.__name__} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    return estimator
