"""The method registry: what ``iclr22 list`` shows and where ``iclr22 run`` finds each method.

Each method is described by data alone (:class:`MethodSpec`), with the dotted path of its experiment
function. Nothing is imported until a method runs, so ``iclr22 list`` is instant and a missing
optional extra breaks only the method that needs it, with a message naming the extra.

Built-in methods are listed by import path in :data:`iclr22.methods.BUILTIN_SPECS`. Other packages can add methods through
the entry-point group ``iclr22.methods``, each entry point resolving to a :class:`MethodSpec`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iclr22.core.errors import ConfigError, MissingExtraError

__all__ = ["DatasetSpec", "Reproduction", "Demo", "MethodSpec", "available_methods", "get_method", "load_entry", "lazy_exports"]

# The toolkit's own top-level package; an import error inside it is a bug, not a missing extra.
_OWN_PACKAGE = "iclr22"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset a method knows.

    Args:
        name: What ``--dataset`` takes.
        description: One line for ``iclr22 list``.
        subdir: Its folder under the data root (e.g. ``"planetoid"``), which is where ``--data-dir``
            defaults to; ``None`` for data the toolkit generates or an installed package ships.
        paired: ``(metric, higher_is_better)`` pairs on which ``report.md`` compares the method's headline model
            with every other model seed by seed, when the method's headline metric does not fit this dataset
            (e.g. MSE per task instead of accuracy); empty = the method's headline metric.
        user_files: A layout for the user's own files (``--data-dir`` pointing at their folder), not only a
            fixed public dataset; ``iclr22 list`` and ``--help`` mark it.
    """

    name: str
    description: str = ""
    subdir: str | None = None
    paired: tuple[tuple[str, bool], ...] = ()
    user_files: bool = False

    @property
    def embedded(self) -> bool:
        return self.subdir is None


@dataclass(frozen=True)
class Reproduction:
    """One run of ``iclr22 reproduce``: the paper's experiment on real data."""

    dataset: str
    runs: int = 5
    overrides: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Demo:
    """What ``iclr22 demo`` shows for a method: one run on embedded data, the method against the baseline its
    paper claims to beat (or, for an analysis method, the two quantities whose order is the paper's finding).

    The setting is chosen before looking at which model wins and is written on the method's guide; the summary
    table then says plainly whether the method won on that run.

    Args:
        model: The row of the run's results that stands for the method (``"coldbrew"``).
        baseline: The row it is compared with: the baseline the paper claims to beat.
        metric: The compared metric (a column of both rows).
        claim: One line saying what the comparison shows when the method wins
            (``"the student beats GraphMLP on isolated nodes"``).
        higher_is_better: Direction of ``metric``.
        dataset: The embedded dataset; ``None`` = the method's default.
        overrides: ``--set`` options on top of the ``--quick`` settings (or the full defaults when ``quick`` is false).
        quick: Start from the ``--quick`` settings.
        runs: Seeds; the means are compared.
        tolerance: Differences up to this size read "level", not a win or a loss.
    """

    model: str
    baseline: str
    metric: str
    claim: str
    higher_is_better: bool = True
    dataset: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    quick: bool = True
    runs: int = 1
    tolerance: float = 0.0

    def command(self, method: str) -> str:
        """The ``iclr22 run`` command line that reproduces this demo."""
        parts = [f"iclr22 run {method}"]
        if self.dataset:
            parts.append(f"--dataset {self.dataset}")
        if self.quick:
            parts.append("--quick")
        if self.runs != 1:
            parts.append(f"--runs {self.runs}")
        parts += [f"--set {k}={v}" for k, v in self.overrides.items()]
        return " ".join(parts)

    def verdict(self, results: Mapping[str, Mapping[str, Any]]) -> tuple[float | None, float | None, str]:
        """``(method value, baseline value, "won" | "lost" | "level" | "missing")`` from a run's results."""
        ours = results.get(self.model, {}).get(self.metric)
        theirs = results.get(self.baseline, {}).get(self.metric)
        if ours is None or theirs is None:
            return ours, theirs, "missing"
        difference = (ours - theirs) if self.higher_is_better else (theirs - ours)
        if abs(difference) <= self.tolerance:
            return ours, theirs, "level"
        return ours, theirs, "won" if difference > 0 else "lost"


@dataclass(frozen=True)
class MethodSpec:
    """A registered method.

    Args:
        name: CLI name (``"coldbrew"``).
        paper: Short citation shown by ``iclr22 list``.
        entry: ``"module:function"`` of the experiment, called as ``function(ctx: RunContext)``.
        datasets: Known datasets; the first is the embedded default used when ``--dataset`` is omitted.
        extra: The optional dependency group the method needs (``pip install 'iclr22[extra]'``).
        headline: ``(model, metric)`` summarised by ``make demo``.
        higher_is_better: Direction of the headline metric.
        reproductions: What ``iclr22 reproduce`` runs.
        accepts_any_dataset_in: A dataset family whose members are open-ended (Planetoid names,
            ``dgN`` files): any ``--dataset`` is then passed through to the method, which validates it.
        demo: What ``iclr22 demo`` runs and compares (:class:`Demo`); ``None`` = ``--quick`` on the default
            dataset, summarised by the headline model against the strongest other row.
        verbs: ``"module:attribute"`` of the method's task verbs (``iclr22 METHOD VERB``, see
            :mod:`iclr22.core.verbs`); ``None`` while it has none.
    """

    name: str
    paper: str
    entry: str
    datasets: tuple[DatasetSpec, ...]
    extra: str | None = None
    headline: tuple[str, str] = ("", "")
    higher_is_better: bool = True
    reproductions: tuple[Reproduction, ...] = ()
    accepts_any_dataset_in: str | None = None
    demo: Demo | None = None
    verbs: str | None = None

    @property
    def default_dataset(self) -> DatasetSpec:
        return self.datasets[0]

    def dataset(self, name: str | None) -> DatasetSpec:
        """The spec of ``--dataset name`` (the default when ``None``)."""
        if name is None:
            return self.default_dataset
        for spec in self.datasets:
            if spec.name == name:
                return spec
        if self.accepts_any_dataset_in is not None:
            return DatasetSpec(name, f"user dataset in {self.accepts_any_dataset_in} format", self.accepts_any_dataset_in)
        known = ", ".join(d.name for d in self.datasets)
        raise ConfigError(f"method '{self.name}' does not know dataset '{name}'; known: {known}")


def load_entry(spec: MethodSpec) -> Callable[..., Any]:
    """Import the method's experiment function.

    Raises:
        MissingExtraError: a third-party module the method needs is not installed.
    """
    module_name, _, attr = spec.entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing != _OWN_PACKAGE:
            raise MissingExtraError(spec.name, spec.extra or "all", exc.name or missing) from exc
        raise
    return getattr(module, attr)


def available_methods() -> dict[str, MethodSpec]:
    """Built-in methods, then those added through the ``iclr22.methods`` entry-point group."""
    from importlib.metadata import entry_points

    from iclr22.methods import BUILTIN_SPECS

    methods: dict[str, MethodSpec] = {}
    for path in BUILTIN_SPECS:
        module_name, _, attr = path.partition(":")
        spec = getattr(importlib.import_module(module_name), attr)
        methods[spec.name] = spec
    for entry_point in entry_points(group="iclr22.methods"):
        spec = entry_point.load()
        if isinstance(spec, MethodSpec) and spec.name not in methods:
            methods[spec.name] = spec
    return methods


def get_method(name: str) -> MethodSpec:
    """The spec of a registered method.

    Raises:
        ConfigError: unknown name (the message lists the registered ones).
    """
    methods = available_methods()
    if name not in methods:
        known = ", ".join(methods) or "(none registered)"
        raise ConfigError(f"unknown method '{name}'; registered methods: {known}")
    return methods[name]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for a method package whose ``__init__`` must stay light.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> module defining it, as a submodule name (``"train"``) or a full path.

    Example (the end of a method's ``__init__.py``)::

        __getattr__, __dir__ = lazy_exports(__name__, {"ColdBrew": "train", "GCNSE": "model"})
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        full = module if module.startswith(_OWN_PACKAGE + ".") else f"{package}.{module}"
        return getattr(importlib.import_module(full), name)

    def __dir__() -> list[str]:
        return sorted({"SPEC", *exports})

    return __getattr__, __dir__
