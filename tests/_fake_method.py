"""A tiny registered-method stand-in for the core and CLI tests (not part of the package)."""

from __future__ import annotations

import numpy as np

from iclr22.core.errors import DataError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.core.registry import DatasetSpec, MethodSpec, Reproduction
from iclr22.core.results import new_figure, save_figure

SPEC = MethodSpec(
    name="fake",
    paper="Fake et al., A Method For Tests",
    entry="_fake_method:run",
    datasets=(DatasetSpec("toy", "generated in-process"), DatasetSpec("folder", "a folder with values.txt", "fakedata")),
    headline=("ours", "acc"),
    reproductions=(Reproduction("toy", runs=2), Reproduction("toy", runs=1, overrides={"mode": "b"}, label="toy-b")),
    demo_overrides={"lr": 0.3},
)

DEFAULTS = {"epochs": 10, "lr": 0.1, "mode": "a"}
QUICK = {"epochs": 2}


def run(ctx: RunContext) -> ExperimentResult:
    config = ctx.config(DEFAULTS, quick=QUICK, choices={"mode": ["a", "b"]})
    rng = np.random.default_rng(ctx.seed)
    if ctx.dataset == "folder":
        path = ctx.require_data_dir("values.txt") / "values.txt"
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        values = np.loadtxt(path)
        accuracy = float(values.mean())
    else:
        accuracy = 80.0 + float(rng.normal())
    figures = []
    if ctx.make_figures:
        fig, ax = new_figure()
        ax.plot(rng.normal(size=10))
        figures.append(save_figure(fig, ctx.out_dir / "curve.png"))
    return ExperimentResult(
        results={"ours": {"acc": accuracy, "broken": float("nan")}, "baseline": {"acc": 70.0 + float(rng.normal())}},
        paper={"ours": {"acc": 81.0}},
        config=config,
        figures=figures,
        notes=["a note"],
    )
