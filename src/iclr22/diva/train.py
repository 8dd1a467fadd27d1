"""DIVA, the dataset derivative (Dukler et al., ICLR 2022): the algorithm, readable top to bottom.

1. Put the training set in the linearised model's terms (:func:`_prepare`): features ``Z`` (a column of
   ones appended when ``fit_intercept``), one-hot targets ``Y`` (minus ``f_{w0}(X)`` for a linearised
   network, Eq. 4), weights ``alpha`` (1 by default), all on the estimator's device.
2. The losses of ``alpha``: the closed-form leave-one-out loss (Prop. 3) and the validation loss, and
   their derivatives with respect to every ``alpha_i`` *through the closed-form solution*: against a
   validation set (Prop. 2, closed form) or against the leave-one-out loss (autograd through the stable
   LOO formula; exact).
3. Choose the ridge ``lambda`` by the closed-form leave-one-out loss (:func:`_select_reg`; the paper leaves
   it to an appendix we do not have; LOO needs no validation set).
4. DIVA Reweight (:func:`reweight_steps`): ``alpha <- max(0, alpha - eta * grad / max|grad_0|)``, 1–3
   steps (Sec. 3.4), the step size chosen by leave-one-out (or validation) error.
5. DIVA Extend (:func:`extend_rounds`): add the pool samples with the most negative derivative.

The public estimator :class:`~iclr22.diva.estimator.DIVA` and the functional entry points
(``find_label_issues``, ``dataset_derivative``, ``reweight``, ``extend``, ...) are in ``estimator.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import progress
from iclr22.core.validation import as_numpy, check_array, check_weights
from iclr22.diva.model import WeightedRidgeSystem, loo_predictions, one_hot

__all__ = [
    "loo_loss",
    "validation_loss",
    "reweight_steps",
    "extend_rounds",
    "ReweightPath",
    "warn_single_sample_classes",
    "DEFAULT_REG_GRID",
    "DEFAULT_LR_GRID",
]

#: The ``lambda`` grid searched by LOO, relative to the mean squared feature norm (scale-free).
DEFAULT_REG_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0)
#: The Reweight step sizes tried by ``lr="auto"``, in units of the first step's largest derivative
#: (``eta = 1``: the most detrimental sample reaches weight 0 in one step).
DEFAULT_LR_GRID: tuple[float, ...] = (0.5, 1.0, 2.0)
DTYPE = torch.float64


# --------------------------------------------------------------------------------------- input checking
def _as_features(array: Any, name: str) -> np.ndarray:
    """A finite float64 matrix ``[n_samples, n_features]`` (:func:`~iclr22.core.validation.check_array`)."""
    return check_array(array, name, ndim=2, dtype=np.float64)


def _as_labels(array: Any, n: int, name: str, features_name: str) -> np.ndarray:
    """Class labels ``[n]``: any sortable values (ints, strings), so not :func:`check_labels`' integers.

    Float labels must be whole numbers: a fractional value is a regression target, not a class, and every
    distinct value would silently become a class of its own (the CLI verbs and ``iclr22 run diva --dataset
    features`` refuse them the same way).
    """
    y = as_numpy(array, name)
    if y.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array of class labels, got shape {tuple(y.shape)}")
    if y.shape[0] != n:
        raise DataError(f"{name} has {y.shape[0]} labels but {features_name} has {n} rows")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise DataError(f"{name}: holds NaN/inf labels")
        fractional = np.flatnonzero(y != np.round(y))
        if fractional.size:
            raise DataError(f"{name}: labels must be classes, got the non-whole number {y[fractional[0]]:g} (row {fractional[0]}); "
                            "DIVA classifies, it does not regress")
    return y


def _as_weights(weights: Any, n: int, name: str = "sample_weight") -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = check_weights(weights, n, name)
    if not (w > 0).any():
        raise DataError(f"{name}: all zero: no sample is in the training set")
    return w


def _as_outputs(outputs: Any, n: int, num_classes: int, name: str) -> np.ndarray | None:
    if outputs is None:
        return None
    f0 = check_array(outputs, name, ndim=2, dtype=np.float64)
    if f0.shape != (n, num_classes):
        raise DataError(f"{name}: expected shape ({n}, {num_classes}) (one output per class), got {f0.shape}")
    return f0


@dataclass
class _Problem:
    """A checked training (and optional validation) set in the linearised model's terms."""

    features: Tensor  # Z [N, d(+1)]
    targets: Tensor  # Y - f0 [N, C]
    labels: Tensor  # class indices [N]
    weights: Tensor  # alpha [N]
    classes: np.ndarray
    val_features: Tensor | None = None
    val_targets: Tensor | None = None
    val_labels: Tensor | None = None
    val_offsets: Tensor | None = None  # f0 on the validation set
    offsets: Tensor | None = None  # f0 on the training set (Eq. 4); None for a zero head


def _design(x: np.ndarray, fit_intercept: bool, device: Any = "cpu") -> Tensor:
    z = torch.as_tensor(x, dtype=DTYPE, device=device)
    if fit_intercept:
        z = torch.cat([z, torch.ones(z.shape[0], 1, dtype=DTYPE, device=device)], dim=1)
    return z


def _encode(labels: np.ndarray, classes: np.ndarray, name: str, device: Any = "cpu") -> Tensor:
    index = np.searchsorted(classes, labels)
    index = np.clip(index, 0, len(classes) - 1)
    unknown = classes[index] != labels
    if unknown.any():
        shown = [c.item() if isinstance(c, np.generic) else c for c in classes[:20]]
        first = labels[unknown][0]
        raise DataError(f"{name} holds label {first.item() if isinstance(first, np.generic) else first!r}, which the training labels do not have (classes: {shown})")
    return torch.as_tensor(index, dtype=torch.long, device=device)


def _prepare(
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    sample_weight: Any = None,
    fit_intercept: bool = True,
    init_outputs: Any = None,
    val_init_outputs: Any = None,
    classes: np.ndarray | None = None,
    device: Any = "cpu",
) -> _Problem:
    x = _as_features(X, "X")
    labels = _as_labels(y, x.shape[0], "y", "X")
    if classes is None:
        classes = np.unique(labels)
    if len(classes) < 2:
        raise DataError(f"y holds a single class ({classes[0]!r}); DIVA needs at least two classes")
    alpha = _as_weights(sample_weight, x.shape[0])
    label_index = _encode(labels, classes, "y", device)
    targets = one_hot(label_index, len(classes))
    f0 = _as_outputs(init_outputs, x.shape[0], len(classes), "init_outputs")
    if f0 is not None:
        targets = targets - torch.as_tensor(f0, device=device)  # Eq. (4): the linear part fits the residual target
    problem = _Problem(_design(x, fit_intercept, device), targets, label_index, torch.as_tensor(alpha, dtype=DTYPE, device=device), classes)
    problem.offsets = torch.as_tensor(f0, device=device) if f0 is not None else None
    if (X_val is None) != (y_val is None):
        raise DataError("X_val and y_val must be given together")
    if X_val is not None:
        xv = _as_features(X_val, "X_val")
        if xv.shape[1] != x.shape[1]:
            raise DataError(f"X_val has {xv.shape[1]} columns, X has {x.shape[1]}")
        yv = _as_labels(y_val, xv.shape[0], "y_val", "X_val")
        problem.val_features = _design(xv, fit_intercept, device)
        problem.val_labels = _encode(yv, classes, "y_val", device)
        problem.val_targets = one_hot(problem.val_labels, len(classes))
        fv = _as_outputs(val_init_outputs, xv.shape[0], len(classes), "val_init_outputs")
        problem.val_offsets = torch.as_tensor(fv, device=device) if fv is not None else None
    return problem


def warn_single_sample_classes(problem: _Problem) -> None:
    """Warn (:class:`UserWarning`) when a class has a single training sample, under the leave-one-out objective.

    The model trained without that sample has never seen its class, so its leave-one-out loss is large and
    its derivative flags it whatever its label: the ranking says nothing about those samples. Many such
    classes usually mean the labels are a numeric target (ids, counts, rounded measurements), not classes.
    """
    counts = torch.bincount(problem.labels, minlength=len(problem.classes)).cpu().numpy()
    single = np.flatnonzero(counts == 1)
    if single.size:
        shown = ", ".join(repr(c.item() if isinstance(c, np.generic) else c) for c in problem.classes[single[:5]])
        warnings.warn(
            f"y: {single.size} of {len(problem.classes)} classes have a single sample (e.g. {shown}); the leave-one-out "
            "model never sees such a class, so its sample is flagged whatever its label"
            + ("; most classes are single: are the labels a numeric target rather than classes?" if 2 * single.size > len(problem.classes) else "")
            + " (a validation set, X_val / y_val or --val, avoids leave-one-out)",
            UserWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------------- losses of alpha
def _per_sample_loss(outputs: Tensor, targets: Tensor, labels: Tensor, loss: str) -> Tensor:
    """``l(f, y)``: squared error on one-hot targets (LQF, the paper's loss) or softmax cross-entropy."""
    if loss == "mse":
        return ((outputs - targets) ** 2).sum(1)
    return torch.nn.functional.cross_entropy(outputs, labels, reduction="none")


def loo_loss(problem: _Problem, weights: Tensor, reg: float, loss: str = "mse", form: str = "auto", mask: Tensor | None = None) -> Tensor:
    """``L_LOO(alpha) = sum_i l(f_{w_alpha^{-i}}(x_i), y_i)``, Prop. 3 (over ``mask`` when given).

    The LOO predictions are those of the linear part, fitted to ``Y - f_{w0}``; the squared loss of the
    full output is then ``||f_lin - (Y - f_{w0})||^2``, and cross-entropy reads ``f_{w0} + f_lin`` as logits.
    """
    predictions = loo_predictions(problem.features, problem.targets, weights, reg, form)
    if loss == "ce" and problem.offsets is not None:
        predictions = predictions + problem.offsets
    per_sample = _per_sample_loss(predictions, problem.targets, problem.labels, loss)
    return per_sample[mask].sum() if mask is not None else per_sample.sum()


def validation_loss(problem: _Problem, weights: Tensor, reg: float, loss: str = "mse", form: str = "auto") -> Tensor:
    """``L_val(alpha) = sum_v l(f_{w_alpha}(x_v), y_v)`` of the model trained with weights ``alpha``."""
    assert problem.val_features is not None and problem.val_targets is not None and problem.val_labels is not None
    coef = WeightedRidgeSystem(problem.features, weights, reg, form).coef(problem.targets)
    outputs = problem.val_features @ coef
    if problem.val_offsets is not None:
        outputs = outputs + problem.val_offsets
    return _per_sample_loss(outputs, problem.val_targets, problem.val_labels, loss).sum()


def _validation_derivative(problem: _Problem, weights: Tensor, reg: float, loss: str, form: str) -> Tensor:
    """Prop. 2 in closed form: ``dL_val/dalpha_i = sum_v (z_v^T C_alpha z_i) <G_v, r_i>``.

    ``G_v = dl/df`` at validation point ``v`` and ``r_i = y_i - w_alpha^T z_i``; computed as
    ``((Z C Z_val^T G_val) * R).sum(1)`` without forming any ``N x N_val`` matrix.
    """
    assert problem.val_features is not None and problem.val_targets is not None and problem.val_labels is not None
    system = WeightedRidgeSystem(problem.features, weights, reg, form)
    coef = system.coef(problem.targets)
    residuals = problem.targets - problem.features @ coef
    outputs = (problem.val_features @ coef).detach().requires_grad_(True)
    offsets = problem.val_offsets if problem.val_offsets is not None else 0.0
    val_loss = _per_sample_loss(outputs + offsets, problem.val_targets, problem.val_labels, loss).sum()
    (output_grad,) = torch.autograd.grad(val_loss, outputs)  # G_val [N_val, C]
    return (system.cross_projection(problem.val_features, output_grad) * residuals).sum(1)


def _derivative(problem: _Problem, weights: Tensor, reg: float, loss: str, form: str, objective: str, mask: Tensor | None = None) -> Tensor:
    return _value_and_derivative(problem, weights, reg, loss, form, objective, mask)[1]


def _value_and_derivative(
    problem: _Problem, weights: Tensor, reg: float, loss: str, form: str, objective: str, mask: Tensor | None = None
) -> tuple[float, Tensor]:
    """The objective at ``weights`` and its derivative ``dL/dalpha`` (Prop. 2 closed form, or autograd on Prop. 3)."""
    if objective == "val":
        with torch.no_grad():
            value = float(validation_loss(problem, weights, reg, loss, form))
        return value, _validation_derivative(problem, weights, reg, loss, form).detach()
    alpha = weights.detach().clone().requires_grad_(True)
    value = loo_loss(problem, alpha, reg, loss, form, mask)
    (grad,) = torch.autograd.grad(value, alpha)
    return float(value.detach()), grad.detach()


def _evaluate(
    problem: _Problem, weights: Tensor, reg: float, loss: str, form: str, objective: str, with_grad: bool
) -> tuple[float, Tensor | None, float]:
    """The objective at ``weights``, its derivative (when ``with_grad``) and the selection error (percent).

    The leave-one-out predictions are computed once and serve all three (see :func:`_selection_error`).
    """
    if objective == "val":
        grad = _value_and_derivative(problem, weights, reg, loss, form, "val")[1] if with_grad else None
        with torch.no_grad():
            value = float(validation_loss(problem, weights, reg, loss, form))
        return value, grad, _selection_error(problem, weights, reg, form, "val")
    alpha = weights.detach().clone().requires_grad_(with_grad)
    with torch.set_grad_enabled(with_grad):
        predictions = loo_predictions(problem.features, problem.targets, alpha, reg, form)
        outputs = predictions + problem.offsets if problem.offsets is not None else predictions
        per_sample = _per_sample_loss(outputs if loss == "ce" else predictions, problem.targets, problem.labels, loss)
        value = per_sample.sum()
        grad = torch.autograd.grad(value, alpha)[0].detach() if with_grad else None
    error = 100.0 * float((outputs.detach().argmax(1) != problem.labels).double().mean())
    return float(value.detach()), grad, error


def _objective(problem: _Problem, objective: str) -> str:
    """The loss to differentiate: ``"val"`` when a validation set is given and ``objective="auto"``."""
    if objective not in ("auto", "loo", "val"):
        raise ConfigError(f"objective must be 'auto', 'loo' or 'val', got {objective!r}")
    if objective == "auto":
        return "val" if problem.val_features is not None else "loo"
    if objective == "val" and problem.val_features is None:
        raise DataError("objective='val' needs val_features and val_labels")
    return objective


# --------------------------------------------------------------------------------------- choosing lambda
def _loo_predictions_over_grid(problem: _Problem, regs: Sequence[float], form: str):
    """LOO predictions for every ``lambda`` of a grid, sharing one factorisation where possible.

    Primal form: one eigendecomposition ``Z^T D Z = V S V^T`` gives, for every ``lambda``,
    ``P_ii = sum_k (Z V)_ik^2 / (s_k + lambda)`` and ``yhat = (Z V)(S + lambda)^{-1}(Z V)^T D Y`` in
    ``O(N d C)``, instead of a fresh ``O(N d^2)`` solve per ``lambda``.
    """
    features, weights, targets = problem.features, problem.weights, problem.targets
    n, d = features.shape
    use_primal = form == "primal" or (form == "auto" and d <= n)
    if not use_primal:
        for reg in regs:
            yield reg, loo_predictions(features, targets, weights, reg, "dual")
        return
    eigenvalues, eigenvectors = torch.linalg.eigh(features.T @ (weights[:, None] * features))
    eigenvalues = eigenvalues.clamp(min=0.0)
    rotated = features @ eigenvectors  # Z V
    projected_targets = rotated.T @ (weights[:, None] * targets)  # (Z V)^T D Y
    squared = rotated**2
    for reg in regs:
        inverse = 1.0 / (eigenvalues + reg)
        leverage = squared @ inverse
        fitted = rotated @ (inverse[:, None] * projected_targets)
        scaled = (weights * leverage)[:, None]
        yield reg, (fitted - scaled * targets) / (1.0 - scaled)


def _select_reg(problem: _Problem, grid: Sequence[float], loss: str, form: str) -> tuple[float, dict[float, float]]:
    scale = float((problem.features**2).sum(1).mean())
    regs = [float(relative) * scale for relative in grid]
    if not regs or min(regs) <= 0:
        raise ConfigError(f"reg_grid must hold positive numbers, got {list(grid)}")
    scores: dict[float, float] = {}
    with torch.no_grad():
        for reg, predictions in _loo_predictions_over_grid(problem, regs, form):
            if loss == "ce" and problem.offsets is not None:
                predictions = predictions + problem.offsets
            scores[reg] = float(_per_sample_loss(predictions, problem.targets, problem.labels, loss).sum())
    finite = {r: s for r, s in scores.items() if np.isfinite(s)}
    if not finite:
        raise DataError("the leave-one-out loss is not finite for any lambda of the grid; check the features for extreme values")
    return min(finite, key=finite.__getitem__), scores


def _resolve_reg(problem: _Problem, reg: float | str, grid: Sequence[float], loss: str, form: str) -> float:
    if reg == "auto":
        return _select_reg(problem, grid, loss, form)[0]
    if isinstance(reg, str) or not reg > 0:
        raise ConfigError(f"reg must be a positive number or 'auto', got {reg!r}")
    return float(reg)


def _selection_error(problem: _Problem, weights: Tensor, reg: float, form: str, objective: str) -> float:
    """Classification error (percent) that picks the Reweight step size and step count.

    ``objective="loo"``: of the leave-one-out predictions ``f_{-i}(z_i)`` over *all* training samples
    (a sample at weight 0 is predicted by the model that never saw it) against the given labels;
    ``"val"``: of the validation predictions. Under symmetric label noise the expected error against noisy
    labels is an increasing affine function of the error against clean ones, so no clean label is needed.
    """
    with torch.no_grad():
        if objective == "val":
            assert problem.val_features is not None and problem.val_labels is not None
            outputs = problem.val_features @ WeightedRidgeSystem(problem.features, weights, reg, form).coef(problem.targets)
            offsets, labels = problem.val_offsets, problem.val_labels
        else:
            outputs = loo_predictions(problem.features, problem.targets, weights, reg, form)
            offsets, labels = problem.offsets, problem.labels
        if offsets is not None:
            outputs = outputs + offsets
        return 100.0 * float((outputs.argmax(1) != labels).double().mean())


# --------------------------------------------------------------------------------------- DIVA Reweight
@dataclass
class ReweightPath:
    """What :func:`reweight_steps` found.

    Attributes:
        derivative: ``dL/dalpha`` at the initial weights (``[N]``, on the problem's device).
        step_scale: ``1 / max|dL/dalpha_i|`` at the first step (what ``eta`` is measured against).
        lr, steps: The step size and number of steps kept.
        weights: The weights after those steps.
        loss_history: The objective before each step and after the last.
        selection_errors: ``{(eta, steps): error %}`` of every candidate when more than one ``eta`` is tried.
    """

    derivative: Tensor
    step_scale: float
    lr: float
    steps: int
    weights: Tensor
    loss_history: list[float]
    selection_errors: dict[tuple[float, int], float] = field(default_factory=dict)


def reweight_steps(
    problem: _Problem, reg: float, loss: str, form: str, objective: str, candidates: Sequence[float], steps: int, verbose: bool | None = None
) -> ReweightPath:
    """DIVA Reweight (Sec. 3.4): a few gradient steps on ``alpha`` through the closed-form solution.

    From ``alpha_0``, ``alpha <- max(0, alpha - eta * dL/dalpha / max|dL/dalpha_0|)`` for each ``eta`` of
    ``candidates``; with more than one candidate, every ``(eta, step)`` is judged by the leave-one-out (or
    validation) classification error and the best is kept, else the last step of the one ``eta``.
    """
    # The derivative at the initial weights: the detection score, and the first Reweight direction.
    first_value, derivative = _value_and_derivative(problem, problem.weights, reg, loss, form, objective)
    if not bool(torch.isfinite(derivative).all()):
        raise DataError("the dataset derivative is not finite; the features may be degenerate (try a larger reg)")
    largest = float(derivative.abs().max())
    # The paper's loss scale is not stated, so eta is measured against the first step's largest derivative.
    step_scale = 1.0 / largest if largest > 0 else 1.0

    selection_errors: dict[tuple[float, int], float] = {}
    chosen: tuple[float, float, int, Tensor, list[float]] = (float("inf"), candidates[0], 0, problem.weights.clone(), [first_value])
    for eta in progress(candidates, desc="DIVA Reweight", verbose=verbose):
        weights, grad, history = problem.weights.clone(), derivative, [first_value]
        for step in range(1, int(steps) + 1):
            # Weights are sample multiplicities: a step may drop a sample (alpha = 0), not make it negative.
            weights = (weights - eta * step_scale * grad).clamp_(min=0.0)
            if not bool((weights > 0).any()):
                raise DataError(f"Reweight with lr={eta:g} set every weight to 0; use a smaller lr")
            # One pass gives the objective, the next step's derivative and the selection error.
            value, next_grad, error = _evaluate(problem, weights, reg, loss, form, objective, with_grad=step < steps)
            history.append(value)
            if len(candidates) > 1:  # lr="auto": every (eta, step) is a candidate
                selection_errors[(eta, step)] = error
                if error < chosen[0]:
                    chosen = (error, eta, step, weights.clone(), list(history))
            grad = next_grad
        if len(candidates) == 1:
            chosen = (float("nan"), eta, int(steps), weights, history)
    _, lr, kept_steps, weights, loss_history = chosen
    return ReweightPath(derivative, step_scale, lr, kept_steps, weights, loss_history, selection_errors)


# ----------------------------------------------------------------------------------------- DIVA Extend
def extend_rounds(problem: _Problem, n_core: int, reg: float, loss: str, form: str, k: int, limit: int, max_rounds: int | None) -> tuple[list[int], int, Tensor]:
    """DIVA Extend: each round adds the ``k`` pool samples (rows ``n_core:``) with the most negative
    derivative of the LOO loss of the current training set (``alpha > 0``); stops when none is negative,
    after ``max_rounds`` rounds, or when ``limit`` samples were added.

    Returns:
        ``(selected pool indices in order, rounds, final alpha)``.
    """
    alpha = problem.weights.clone()
    selected: list[int] = []
    rounds = 0
    while len(selected) < limit and (max_rounds is None or rounds < max_rounds):
        in_set = alpha > 0
        grad = _derivative(problem, alpha, reg, loss, form, "loo", mask=in_set)
        rounds += 1
        pool_grad = grad[n_core:].clone()
        pool_grad[in_set[n_core:]] = float("inf")  # already added
        order = torch.argsort(pool_grad)
        chosen = [int(j) for j in order[: min(k, limit - len(selected))] if pool_grad[j] < 0]
        if not chosen:
            break
        for j in chosen:
            alpha[n_core + j] = 1.0
        selected += chosen
    return selected, rounds, alpha
