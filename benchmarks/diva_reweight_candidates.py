"""Diagnostic, not a selection rule: the test error of every DIVA Reweight candidate (eta, steps).

    python benchmarks/diva_reweight_candidates.py [digits|mnist|cifar10] [SEEDS, e.g. 0,1]

For each seed it rebuilds the data of ``iclr22 run diva --dataset D`` (same split, features and label
noise as the experiment with that seed), runs the Reweight path for eta in {0.5, 1, 2, 4} (in units of the
largest first-step derivative) and 1-4 steps, and prints for every candidate its leave-one-out error on
the (noisy) training labels, which is what ``lr="auto"`` chooses by, its test error, which no rule may
use, and its error on a held-out 20% of the training set when the same path is run on the other 80%.
It showed that the leave-one-out error keeps falling with every further step while the test error rises
after the first (docs/methods/diva.md, "How many Reweight steps"). MNIST takes about 2 minutes a seed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from iclr22.core.experiment import RunContext
from iclr22.diva import experiment as E
from iclr22.diva.model import WeightedRidgeSystem
from iclr22.diva.train import DEFAULT_REG_GRID, _evaluate, _prepare, _select_reg, _value_and_derivative

ETAS = (0.5, 1.0, 2.0, 4.0)
STEPS = 4
DATA_DIRS = {"digits": None, "mnist": Path("../shared/data/images/mnist-t10k"), "cifar10": Path("../shared/data/images/cifar10-jpeg")}


def candidates(x, y, classes):
    """``{(eta, steps): (weights, leave-one-out error %)}``, lambda (chosen by LOO as DIVA does) and the problem."""
    problem = _prepare(x, y, classes=classes)
    reg = _select_reg(problem, DEFAULT_REG_GRID, "mse", "auto")[0]
    _, first = _value_and_derivative(problem, problem.weights, reg, "mse", "auto", "loo")
    scale = 1.0 / float(first.abs().max())
    out = {}
    for eta in ETAS:
        weights, grad = problem.weights.clone(), first
        for step in range(1, STEPS + 1):
            weights = (weights - eta * scale * grad).clamp_(min=0.0)
            _, grad, error = _evaluate(problem, weights, reg, "mse", "auto", "loo", with_grad=step < STEPS)
            out[(eta, step)] = (weights.clone(), error)
    return out, reg, problem


def error_on(problem, weights, reg, x, y, classes) -> float:
    coef = WeightedRidgeSystem(problem.features, weights, reg).coef(problem.targets)
    z = torch.as_tensor(np.c_[x, np.ones(len(x))])
    return 100 * float((classes[(z @ coef).argmax(1).numpy()] != y).mean())


def main(dataset: str = "digits", seeds: str = "0,1") -> None:
    for seed in (int(s) for s in seeds.split(",")):
        started = time.time()
        ctx = RunContext("diva", dataset, DATA_DIRS[dataset], Path("runs/diva-candidates"), seed=seed)
        config = E.EXPERIMENT.schema("diva").resolve(*E.EXPERIMENT.settings_for(dataset, quick=False))
        rng = np.random.default_rng(seed)  # consumed in the experiment's order: split, then noise
        data = E.load_splits(ctx, config, rng)
        x_train, x_test, _ = E.embed(data, config, seed)
        y_true = data["y_train"]
        y, mask = E.inject_label_noise(y_true, config["noise"], rng, int(max(y_true.max(), data["y_test"].max())) + 1)
        classes = np.unique(y)
        path, reg, problem = candidates(x_train, y, classes)
        uniform = error_on(problem, problem.weights, reg, x_test, data["y_test"], classes)
        order = np.random.default_rng(1000 + seed).permutation(len(y))
        fit_part, held_part = order[: int(0.8 * len(y))], order[int(0.8 * len(y)) :]
        held_path, held_reg, held_problem = candidates(x_train[fit_part], y[fit_part], classes)
        held = {key: error_on(held_problem, w, held_reg, x_train[held_part], y[held_part], classes) for key, (w, _) in held_path.items()}
        held_uniform = error_on(held_problem, held_problem.weights, held_reg, x_train[held_part], y[held_part], classes)
        print(f"seed {seed}: lambda {reg:.4g}, uniform test {uniform:.2f}, heldout-uniform {held_uniform:.2f}  ({time.time() - started:.0f}s)")
        noisy = torch.as_tensor(mask)
        for key, (weights, error) in path.items():
            print(
                f"  eta {key[0]:g} steps {key[1]}: loo_err {error:.2f} test {error_on(problem, weights, reg, x_test, data['y_test'], classes):.2f} "
                f"heldout {held[key]:.2f}  mislab mean w {float(weights[noisy].mean()):.3f} clean {float(weights[~noisy].mean()):.3f}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main(*sys.argv[1:3])
