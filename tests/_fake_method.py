"""A tiny registered method written to the one contract, for the core and CLI tests (not part of the package).

It is also the smallest complete example of the contract: an estimator whose ``__init__`` is the options
schema, a run-options dataclass, and an :class:`Experiment` declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.base import RegressorMixin

from iclr22.core.errors import DataError
from iclr22.core.estimator import Estimator
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction
from iclr22.core.results import new_figure, save_figure
from iclr22.core.validation import check_array
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, read_matrix, require_out, write_csv, write_summary

SPEC = MethodSpec(
    name="fake",
    paper="Fake et al., A Method For Tests",
    entry="_fake_method:EXPERIMENT",
    datasets=(DatasetSpec("toy", "generated in-process"), DatasetSpec("folder", "a folder with values.txt", "fakedata", user_files=True)),
    headline=("ours", "acc"),
    reproductions=(Reproduction("toy", runs=2), Reproduction("toy", runs=1, overrides={"mode": "b"}, label="toy-b")),
    demo=Demo(model="ours", baseline="baseline", metric="acc", claim="ours beats the baseline", overrides={"lr": 0.3}),
    verbs="_fake_method:VERBS",
)


class FakeMean(RegressorMixin, Estimator):
    """Predicts a shifted mean of its training targets.

    Args:
        epochs: Passes over the data.
        lr: Step size, or "auto" for 0.1.
        mode: Which shift: ``a`` or ``b``.
        seed: Seed of the noise.
        device: Unused (the harness sets it).
        verbose: Unused (the harness sets it).
    """

    _fitted_attribute = "mean_"

    def __init__(
        self,
        epochs: int = 10,
        lr: float | Literal["auto"] = 0.1,
        mode: Literal["a", "b"] = "a",
        seed: int | None = 0,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.epochs, self.lr, self.mode = epochs, lr, mode
        self.seed, self.device, self.verbose = seed, device, verbose

    def fit(self, X: Any, y: Any) -> "FakeMean":
        self._check_params()
        X = check_array(X, "X", ndim=(1, 2))
        self.mean_ = float(np.mean(y)) + (0.0 if self.mode == "a" else 1.0)
        return self

    def predict(self, X: Any) -> np.ndarray:
        self._check_is_fitted("predict")
        return np.full(len(check_array(X, "X", ndim=(1, 2))), self.mean_)

    def _fitted_state(self) -> dict[str, Any]:
        return {"mean": self.mean_}

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        self.mean_ = float(state["mean"])


@dataclass
class RunOptions:
    """Args:
        models: Rows of the table.
        size: Samples drawn per run.
    """

    models: list[Literal["ours", "baseline"]] = field(default_factory=lambda: ["ours", "baseline"])
    size: int = 10


def load(ctx: RunContext, options: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(ctx.seed)
    if ctx.dataset == "folder":
        path = ctx.require_data_dir("values.txt") / "values.txt"
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        return {"acc": float(np.loadtxt(path).mean()), "rng": rng}
    return {"acc": 80.0 + float(rng.normal()), "rng": rng}


def evaluate(name: str, model: Any, data: dict[str, Any], ctx: RunContext, options: dict[str, Any]) -> dict[str, float]:
    if name == "ours":
        return {"acc": data["acc"], "broken": float("nan")}
    return {"acc": 70.0 + float(data["rng"].normal())}


def report(ctx: RunContext, options: dict[str, Any], data: Any, results: Any, fitted: Any) -> Report:
    figures = []
    if ctx.make_figures:
        fig, ax = new_figure()
        ax.plot(np.random.default_rng(ctx.seed).normal(size=10))
        figures.append(save_figure(fig, ctx.out_dir / "curve.png"))
    return Report(figures=figures, notes=["a note"], paper={"ours": {"acc": 81.0}})


EXPERIMENT = Experiment(
    estimator=FakeMean,
    run_options=RunOptions,
    load=load,
    models={"ours": lambda o, d, ctx: FakeMean(epochs=o["epochs"], lr=o["lr"], mode=o["mode"]), "baseline": lambda o, d, ctx: FakeMean()},
    evaluate=evaluate,
    quick={"epochs": 2},
    report=report,
)


# ------------------------------------------------------------------------------------------------ verbs
def _add_fit(parser: Any) -> None:
    parser.add_argument("--values", required=True, help="CSV: features, last column the target")
    parser.add_argument("--out", help="model folder to write")
    add_estimator_options(parser)


def _fit(args: Any) -> int:
    table = read_matrix(args.values, "values")
    model = FakeMean(**estimator_settings(FakeMean, args)).fit(table[:, :-1], table[:, -1])
    folder = model.save(require_out(args.out, "model folder to write"))
    write_summary(folder / "summary.md", "Fake model", [f"- mean: {model.mean_:.3f}"])
    return 0


def _add_predict(parser: Any) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--values", required=True)
    parser.add_argument("--out", required=True)


def _predict(args: Any) -> int:
    model = FakeMean.load(args.model)
    table = read_matrix(args.values, "values")
    write_csv(args.out, ["index", "prediction"], enumerate(model.predict(table).tolist()))
    return 0


VERBS = (
    Verb("fit", "fit the fake model on a CSV and save it", _add_fit, _fit, estimator="_fake_method:FakeMean", defaults={"epochs": 2}),
    Verb("predict", "predict with a saved fake model", _add_predict, _predict),
)
