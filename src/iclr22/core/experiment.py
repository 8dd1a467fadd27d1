"""The contract between the CLI and a method's experiment: the declarative harness.

A method's ``experiment.py`` declares an :class:`Experiment`: its estimator (whose ``__init__`` is the
schema of hyperparameters), its run options, how to load one seed's data, a table of model factories,
how to fit and score one model, its CPU-budget settings and its figures. The core owns the rest, for
every method alike: resolving and validating the options (:mod:`iclr22.core.options`), the "unknown
model" error, the loop over models in the order asked for, device placement and verbosity, checkpoint
folders keyed by the resolved options and the code, timing, and — in :func:`run_experiment` — the loop
over ``--runs`` seeds, averaging, ``metrics.json`` (validated), ``report.md`` and the terminal table.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import functools
from functools import lru_cache
from pathlib import Path
from typing import Any

from iclr22.core.device import torch_threads
from iclr22.core.errors import ConfigError, DataError, Iclr22Error
from iclr22.core.paths import default_data_root, default_runs_root
from iclr22.core.registry import MethodSpec, load_entry
from iclr22.core.results import (
    Table,
    aggregate_runs,
    clean_table,
    format_table,
    versions,
    write_metrics,
    write_report,
)
from iclr22.core.seed import seed_everything

__all__ = ["RunContext", "ExperimentResult", "Experiment", "Report", "run_experiment", "resolve_data_dir", "experiment_of"]


@lru_cache(maxsize=None)
def code_fingerprint(method: str) -> str:
    """A hash of the source a method's numbers depend on: its own subpackage, ``iclr22.core`` and
    ``iclr22.data``. Part of the checkpoint folder's key, so a run after the code changed (an upgrade, an
    edit) starts afresh instead of resuming state that the old code trained."""
    import hashlib

    package_root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in (package_root / method, package_root / "core", package_root / "data"):
        for source in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            digest.update(source.relative_to(package_root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class RunContext:
    """Everything one run of a method's experiment needs to know.

    Attributes:
        method: CLI name of the method.
        dataset: The dataset name (the method's embedded default when ``--dataset`` was omitted).
        data_dir: The folder holding the dataset's files in their standard layout (``None`` for
            embedded data).
        out_dir: Where this invocation writes; figures go here.
        seed: This run's seed (``--seed`` plus the run index).
        quick: Shrink everything so the run finishes in well under a minute.
        overrides: The ``--set key=value`` options, parsed.
        device: ``"cpu"`` or ``"cuda"``; methods pass it to ``torch.device``.
        run_index: Which of the ``--runs`` repetitions this is (0-based).
        runs: How many repetitions there are.
        verbose: Progress bars: ``None`` on a terminal only, ``True`` always (also in logs), ``False`` never.
        options: The run's resolved options, once the harness has resolved them (they key the checkpoints).
    """

    method: str
    dataset: str
    data_dir: Path | None
    out_dir: Path
    seed: int = 0
    quick: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    run_index: int = 0
    runs: int = 1
    verbose: bool | None = None
    options: dict[str, Any] | None = None

    @property
    def make_figures(self) -> bool:
        """Figures come from the first run only, so repeated runs do not overwrite each other's."""
        return self.run_index == 0

    @property
    def settings_fingerprint(self) -> str:
        """A short hash of what changes a run's numbers: dataset, seed, ``--quick`` and ``--set`` options,
        and the code that trains it (see :func:`code_fingerprint`)."""
        import hashlib
        import json

        settings = {
            "dataset": self.dataset,
            "data_dir": str(self.data_dir) if self.data_dir is not None else None,  # same name, other files
            "seed": self.seed,
            "quick": self.quick,
            # the resolved options when the harness has them: the same settings reached through other
            # --set spellings share a folder, and a changed budget default does not resume stale state
            "options": self.options if self.options is not None else self.overrides,
            "code": code_fingerprint(self.method),
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]

    @property
    def checkpoint_dir(self) -> Path:
        """A folder for this run's checkpoints. A rerun with the same ``--out`` and the same settings resumes
        from it; a run with other settings gets its own folder, so it never resumes a stranger's state."""
        return self.out_dir / "checkpoints" / f"seed{self.seed}-{self.settings_fingerprint}"

    def model_checkpoint_dir(self, model: str) -> Path:
        """The checkpoint folder of one model of this run (inside :attr:`checkpoint_dir`)."""
        return self.checkpoint_dir / model

    def require_data_dir(self, expected: str = "") -> Path:
        """The data folder, or a :class:`DataError` saying which folder is needed and what it holds."""
        if self.data_dir is None:
            raise DataError(f"dataset '{self.dataset}' needs --data-dir (a folder holding {expected or 'its files'})")
        if not self.data_dir.is_dir():
            raise DataError(f"{self.data_dir}: data folder not found" + (f" (expected {expected})" if expected else ""))
        return self.data_dir


@dataclass
class ExperimentResult:
    """What one run of a method's experiment returns.

    Attributes:
        results: ``{model: {metric: value}}`` in the unit of the paper's table.
        paper: The paper's numbers for the same cells, where they exist.
        config: The resolved options of the run.
        figures: PNG files written into ``ctx.out_dir`` (relative or absolute paths).
        notes: Sentences for the report (deviations seen, warnings).
        sections: Extra Markdown sections for the report, ``{title: body}``.
    """

    results: Mapping[str, Mapping[str, float | None]]
    paper: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)


@dataclass
class Report:
    """What an experiment adds to its table: figures, notes, report sections, the paper's numbers.

    Attributes:
        figures: PNG files written into ``ctx.out_dir``.
        notes: Sentences for the report.
        sections: Extra Markdown sections, ``{title: body}``.
        paper: The paper's numbers for the same cells, where they exist.
        results: Rows to add or replace after the models ran (e.g. a row derived from two fitted models,
            or every row of a method whose one fit yields several models); a model whose row is still empty
            after this is left out of the table.
        config: Facts of the run to keep beside the options in ``metrics.json`` (e.g. the size of the data).
    """

    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    paper: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    results: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)


#: ``factory(options, data, ctx)`` -> an unfitted model (an estimator, usually).
ModelFactory = Callable[[dict[str, Any], Any, "RunContext"], Any]


@dataclass(frozen=True)
class Experiment:
    """A method's paper experiment, declared; the core runs it (:meth:`run`, :func:`run_experiment`).

    Args:
        estimator: The method's public estimator class. Its ``__init__`` (annotations, defaults, ``Args:``
            docstring) is the single source of every hyperparameter: its names are the ``--set`` keys.
        run_options: A dataclass of the experiment's own options (which ``models``, data sizes, splits),
            read the same way; it must have a ``models`` field listing the rows to run.
        load: ``load(ctx, options)`` -> the data of one seed (called once per seed, before any model).
        models: ``{name: factory}``; a factory builds one unfitted model from the options and the data.
        evaluate: ``evaluate(name, model, data, ctx, options)`` -> ``{metric: value}``: fits the model
            and scores it, in the paper's units.
        budget: Settings that replace estimator defaults so a run fits a 2-core CPU (each written with its
            reason in ``experiment.py``); never a second copy of a default.
        dataset_options: ``{dataset: settings}`` applied after ``budget`` (or a function of the dataset
            name returning them).
        quick: Settings applied with ``--quick`` (a smoke test in seconds), or a function of the dataset name
            returning them when the sizes differ per dataset.
        report: ``report(ctx, options, data, results, fitted)`` -> :class:`Report` (figures, notes, extra
            rows); ``fitted`` maps each model name to what ``evaluate`` fitted.
        extra_options: More classes or functions whose annotated parameters are options too (e.g. a
            baseline's hyperparameters that the method's estimator does not have).
        check: ``check(ctx, options)``: cross-option rules (raise ``ConfigError``), run before loading.
        resume_options: Options that do not change what the finished run computes (e.g. a stop-after-N-phases
            switch), left out of the checkpoint key so that a later run with another value resumes.
    """

    estimator: type
    run_options: type
    load: Callable[["RunContext", dict[str, Any]], Any]
    models: Mapping[str, ModelFactory]
    evaluate: Callable[[str, Any, Any, "RunContext", dict[str, Any]], Mapping[str, float | None]]
    budget: Mapping[str, Any] = field(default_factory=dict)
    dataset_options: Mapping[str, Mapping[str, Any]] | Callable[[str], Mapping[str, Any]] = field(default_factory=dict)
    quick: Mapping[str, Any] | Callable[[str], Mapping[str, Any]] = field(default_factory=dict)
    report: Callable[..., Report] | None = None
    extra_options: Sequence[Any] = ()
    check: Callable[["RunContext", dict[str, Any]], None] | None = None
    resume_options: tuple[str, ...] = ()

    def schema(self, method: str = "") -> Any:
        """The :class:`~iclr22.core.options.OptionSchema`: run options first, then the hyperparameters."""
        from iclr22.core.options import OptionSchema

        sources = [self.run_options, self.estimator, *self.extra_options]
        return OptionSchema.build(*sources, method=method, owners=["run", "estimator", *["estimator"] * len(self.extra_options)])

    def settings_for(self, dataset: str, quick: bool) -> list[Mapping[str, Any]]:
        """The experiment's own layers over the defaults, in order: budget, dataset, quick."""
        per_dataset = self.dataset_options(dataset) if callable(self.dataset_options) else self.dataset_options.get(dataset, {})
        return [self.budget, per_dataset, self.quick_settings(dataset) if quick else {}]

    def quick_settings(self, dataset: str) -> Mapping[str, Any]:
        """What ``--quick`` sets on ``dataset``."""
        return self.quick(dataset) if callable(self.quick) else self.quick

    def resolve(self, ctx: "RunContext") -> dict[str, Any]:
        """The run's options: estimator defaults, then :meth:`settings_for`, then ``--set``.

        Raises:
            ConfigError: an unknown option or model, or a value that does not fit its option.
        """
        options = self.schema(ctx.method).resolve(*self.settings_for(ctx.dataset, ctx.quick), user=ctx.overrides)
        models = options.get("models")
        if isinstance(models, str):
            models = [models]
        unknown = [m for m in models or [] if m not in self.models]
        if unknown or not models:
            raise ConfigError(f"option 'models': unknown {unknown or 'empty list'}; choose from {', '.join(self.models)}")
        options["models"] = list(models)
        if self.check is not None:
            self.check(ctx, options)
        return options

    def run(self, ctx: "RunContext") -> ExperimentResult:
        """One seed: resolve options, load data, then build, place, fit and score each model in order."""
        options = self.resolve(ctx)
        ctx.options = {k: v for k, v in options.items() if k not in self.resume_options}
        data = self.load(ctx, options)
        results: dict[str, dict[str, float | None]] = {}
        fitted: dict[str, Any] = {}
        seconds: dict[str, float] = {}
        for name in options["models"]:
            model = self.models[name](options, data, ctx)
            _place(model, ctx)
            started = time.perf_counter()
            results[name] = dict(self.evaluate(name, model, data, ctx, options))
            seconds[name] = time.perf_counter() - started
            fitted[name] = model
        report = self.report(ctx, options, data, results, fitted) if self.report is not None else Report()
        for name, row in report.results.items():
            results[name] = dict(row)
        results = {name: row for name, row in results.items() if row}  # evaluate may return {} to leave a row out
        timing = "\n".join(f"| {name} | {seconds[name]:.1f} |" for name in seconds)
        sections = {**report.sections, "Time per model": "| model | seconds (fit and score, this seed) |\n|---|---|\n" + timing}
        return ExperimentResult(
            results, paper=report.paper, config={**_plain(options), **report.config}, figures=report.figures, notes=report.notes, sections=sections
        )

    def __call__(self, ctx: "RunContext") -> ExperimentResult:
        return self.run(ctx)


def _place(model: Any, ctx: "RunContext") -> None:
    """Give an estimator the run's device and verbosity, when it takes them."""
    if not callable(getattr(model, "set_params", None)):
        return
    params = model.get_params(deep=False)
    updates = {key: value for key, value in (("device", ctx.device), ("verbose", ctx.verbose)) if key in params}
    if updates:
        model.set_params(**updates)


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}


def experiment_of(spec: MethodSpec) -> Experiment | None:
    """The method's declared :class:`Experiment` (``None`` for a method with a plain ``run`` function)."""
    entry = load_entry(spec)
    return entry if isinstance(entry, Experiment) else None


def resolve_data_dir(spec: MethodSpec, dataset: str | None, data_dir: str | Path | None, data_root: str | Path | None = None) -> Path | None:
    """Where a dataset's files are: ``--data-dir`` if given, else ``DATA_ROOT/<subdir>`` for real datasets.

    Raises:
        DataError: the given folder does not exist, or no data root holds a real dataset's folder.
    """
    dataset_spec = spec.dataset(dataset)
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(f"{path}: --data-dir folder not found")
        return path.resolve()
    if dataset_spec.embedded:
        return None
    root = Path(data_root).expanduser() if data_root is not None else default_data_root()
    if root is None:
        raise DataError(
            f"dataset '{dataset_spec.name}' needs its files: pass --data-dir DIR (a folder laid out like "
            f"shared/data/{dataset_spec.subdir}) or set ICLR22_DATA_ROOT"
        )
    path = root / dataset_spec.subdir
    if not path.is_dir():
        raise DataError(f"{path}: data folder for dataset '{dataset_spec.name}' not found; pass --data-dir DIR")
    return path


def _default_out_dir(method: str, dataset: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return default_runs_root() / method / f"{dataset}-{stamp}"


def _gives_threads_back(function: Callable[..., Any]) -> Callable[..., Any]:
    """A method may set torch's CPU thread count for its runs (coldbrew's ``threads`` option): the next method run
    in the same process (``iclr22 demo``, ``iclr22 reproduce``) must start from the process's own count, or its
    numbers change."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_threads(None):  # restores the count on the way out
            return function(*args, **kwargs)

    return wrapper


@_gives_threads_back
def run_experiment(
    spec: MethodSpec,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    seed: int = 0,
    runs: int = 1,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    device: str = "cpu",
    data_root: str | Path | None = None,
    command: str | None = None,
    echo: bool = True,
    verbose: bool | None = None,
) -> dict[str, Any]:
    """Run a method's experiment ``runs`` times and write ``metrics.json`` and ``report.md``.

    Returns:
        The metrics dict that was written (it follows ``metrics_schema.json``).
    """
    if runs < 1:
        raise ConfigError(f"--runs must be at least 1, got {runs}")
    if seed < 0:
        raise ConfigError(f"--seed must be non-negative, got {seed}")
    dataset_spec = spec.dataset(dataset)
    resolved_dir = resolve_data_dir(spec, dataset, data_dir, data_root)
    out = Path(out_dir) if out_dir is not None else _default_out_dir(spec.name, dataset_spec.name)
    out.mkdir(parents=True, exist_ok=True)
    experiment = load_entry(spec)

    started = time.perf_counter()
    tables: list[Table] = []
    notes: list[str] = []
    first: ExperimentResult | None = None
    for run_index in range(runs):
        ctx = RunContext(
            method=spec.name,
            dataset=dataset_spec.name,
            data_dir=resolved_dir,
            out_dir=out,
            seed=seed + run_index,
            quick=quick,
            overrides=dict(overrides or {}),
            device=device,
            run_index=run_index,
            runs=runs,
            verbose=verbose,
        )
        seed_everything(ctx.seed)
        result = experiment(ctx)
        if not isinstance(result, ExperimentResult):
            raise Iclr22Error(f"{spec.entry} returned {type(result).__name__}, expected ExperimentResult")
        tables.append(clean_table(result.results, notes))
        first = first or result
        if echo and runs > 1:
            print(f"[{spec.name}] run {run_index + 1}/{runs} (seed {ctx.seed}) done", file=sys.stderr)
    assert first is not None
    notes = list(dict.fromkeys([*first.notes, *notes]))
    # report.md links figures relative to its own folder, whether the run's --out was given relative or absolute
    where = Path(out).resolve()
    figures = [str(Path(f).resolve().relative_to(where)) if Path(f).resolve().is_relative_to(where) else str(f) for f in first.figures]
    metrics: dict[str, Any] = {
        "method": spec.name,
        "dataset": dataset_spec.name,
        "seed": seed,
        "runs": runs,
        "quick": quick,
        "wall_seconds": round(time.perf_counter() - started, 3),
        "results": aggregate_runs(tables),
        "paper": clean_table(first.paper),
        "config": dict(first.config),
        "versions": versions(),
        "headline": {"model": spec.headline[0], "metric": spec.headline[1], "higher_is_better": spec.higher_is_better},
        "notes": notes,
        "figures": figures,
    }
    if runs > 1:  # each seed's own table, so that models can be compared seed by seed (paired)
        metrics["per_run"] = [{"seed": seed + i, "results": table} for i, table in enumerate(tables)]
    if command is None:
        command = "iclr22 " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv and sys.argv[0].endswith("iclr22") else None
    if command:
        metrics["command"] = command
    write_metrics(out / "metrics.json", metrics)
    write_report(out / "report.md", metrics, command=command, sections=first.sections, paired=dataset_spec.paired or None)
    if echo:
        reading = "ours ± std (paper)" if any(metrics["paper"].values()) else ("mean ± std over seeds" if runs > 1 else "this run")
        print(f"{spec.name} on {dataset_spec.name}: {reading}")
        print(format_table(metrics["results"], metrics["paper"]))
        print(f"wrote {out / 'metrics.json'} and {out / 'report.md'}")
    return metrics
