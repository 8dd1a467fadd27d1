"""DIVA, the dataset derivative (Dukler et al., ICLR 2022), readable top to bottom.

1. Put the training set in the linearised model's terms: features ``Z`` (a column of ones appended when
   ``fit_intercept``), one-hot targets ``Y`` (minus ``f_{w0}(X)`` for a linearised network, Eq. 4), weights
   ``alpha`` (1 by default).
2. Choose the ridge ``lambda`` by the closed-form leave-one-out loss (the paper leaves it to an appendix
   we do not have; LOO needs no validation set).
3. Take the derivative of the loss with respect to every ``alpha_i`` *through the closed-form solution*:
   against a validation set (Prop. 2, closed form) or against the leave-one-out loss (Prop. 3, autograd
   through the stable LOO formula; exact).
4. Use it: DIVA Reweight (``alpha <- alpha - eta * grad``, 1–3 steps, Sec. 3.4), detrimental / mislabelled
   samples (``grad_i >= epsilon``), DIVA Extend (add the pool samples with the most negative derivative).

Functional entry points (``dataset_derivative``, ``reweight``, ``find_label_issues``, ``extend``,
``select_reg``) sit beside the :class:`DIVA` estimator that does all of it with scikit-learn habits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import progress
from iclr22.diva.model import FORMS, WeightedRidgeSystem, loo_predictions, one_hot

__all__ = [
    "DIVA",
    "dataset_derivative",
    "loo_loss",
    "validation_loss",
    "select_reg",
    "reweight",
    "find_label_issues",
    "extend",
    "ReweightResult",
    "ExtendResult",
    "DEFAULT_REG_GRID",
    "DEFAULT_LR_GRID",
    "loo_error",
]

LOSSES = ("mse", "ce")
#: The ``lambda`` grid searched by LOO, relative to the mean squared feature norm (scale-free).
DEFAULT_REG_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0)
#: The Reweight step sizes tried by ``lr="auto"``, in units of the first step's largest derivative
#: (``eta = 1``: the most detrimental sample reaches weight 0 in one step).
DEFAULT_LR_GRID: tuple[float, ...] = (0.5, 1.0, 2.0)
DTYPE = torch.float64


# --------------------------------------------------------------------------------------- input checking
def _as_features(array: Any, name: str) -> np.ndarray:
    try:
        x = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}") from exc
    if x.ndim != 2:
        raise DataError(f"{name} must be a 2-D array [n_samples, n_features], got shape {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{name} has no rows")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{name} holds {int(bad.sum())} NaN/inf values (first at row {row}, column {col})")
    return x


def _as_labels(array: Any, n: int, name: str, features_name: str) -> np.ndarray:
    y = np.asarray(array)
    if y.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of class labels, got shape {y.shape}")
    if y.shape[0] != n:
        raise DataError(f"{name} has {y.shape[0]} labels but {features_name} has {n} rows")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataError(f"{name} holds NaN/inf labels")
    return y


def _as_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise DataError(f"{name} must have shape ({n},) like the training labels, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise DataError(f"{name} holds NaN/inf values")
    if (w < 0).any():
        i = int(np.argmin(w))
        raise DataError(f"{name} must be non-negative; {name}[{i}] = {w[i]:g}")
    if not (w > 0).any():
        raise DataError(f"{name} are all zero: no sample is in the training set")
    return w


def _as_outputs(outputs: Any, n: int, num_classes: int, name: str) -> np.ndarray | None:
    if outputs is None:
        return None
    f0 = np.asarray(outputs, dtype=np.float64)
    if f0.shape != (n, num_classes):
        raise DataError(f"{name} must have shape ({n}, {num_classes}) (one output per class), got {f0.shape}")
    if not np.all(np.isfinite(f0)):
        raise DataError(f"{name} holds NaN/inf values")
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


def _design(x: np.ndarray, fit_intercept: bool) -> Tensor:
    z = torch.as_tensor(x, dtype=DTYPE)
    if fit_intercept:
        z = torch.cat([z, torch.ones(z.shape[0], 1, dtype=DTYPE)], dim=1)
    return z


def _encode(labels: np.ndarray, classes: np.ndarray, name: str) -> Tensor:
    index = np.searchsorted(classes, labels)
    index = np.clip(index, 0, len(classes) - 1)
    unknown = classes[index] != labels
    if unknown.any():
        shown = [c.item() if isinstance(c, np.generic) else c for c in classes[:20]]
        first = labels[unknown][0]
        raise DataError(f"{name} holds label {first.item() if isinstance(first, np.generic) else first!r}, which the training labels do not have (classes: {shown})")
    return torch.as_tensor(index, dtype=torch.long)


def _prepare(
    features: Any,
    labels: Any,
    val_features: Any = None,
    val_labels: Any = None,
    weights: Any = None,
    fit_intercept: bool = True,
    init_outputs: Any = None,
    val_init_outputs: Any = None,
    classes: np.ndarray | None = None,
) -> _Problem:
    x = _as_features(features, "features")
    y = _as_labels(labels, x.shape[0], "labels", "features")
    if classes is None:
        classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(f"labels hold a single class ({classes[0]!r}); DIVA needs at least two classes")
    alpha = _as_weights(weights, x.shape[0])
    label_index = _encode(y, classes, "labels")
    targets = one_hot(label_index, len(classes))
    f0 = _as_outputs(init_outputs, x.shape[0], len(classes), "init_outputs")
    if f0 is not None:
        targets = targets - torch.as_tensor(f0)  # Eq. (4): the linear part fits the residual target
    problem = _Problem(_design(x, fit_intercept), targets, label_index, torch.as_tensor(alpha, dtype=DTYPE), classes)
    problem.offsets = torch.as_tensor(f0) if f0 is not None else None
    if (val_features is None) != (val_labels is None):
        raise DataError("val_features and val_labels must be given together")
    if val_features is not None:
        xv = _as_features(val_features, "val_features")
        if xv.shape[1] != x.shape[1]:
            raise DataError(f"val_features has {xv.shape[1]} columns, features has {x.shape[1]}")
        yv = _as_labels(val_labels, xv.shape[0], "val_labels", "val_features")
        problem.val_features = _design(xv, fit_intercept)
        problem.val_labels = _encode(yv, classes, "val_labels")
        problem.val_targets = one_hot(problem.val_labels, len(classes))
        fv = _as_outputs(val_init_outputs, xv.shape[0], len(classes), "val_init_outputs")
        problem.val_offsets = torch.as_tensor(fv) if fv is not None else None
    return problem


def _check_options(loss: str, form: str) -> None:
    if loss not in LOSSES:
        raise ConfigError(f"loss must be one of {LOSSES}, got {loss!r}")
    if form not in FORMS:
        raise ConfigError(f"form must be one of {FORMS}, got {form!r}")


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


def select_reg(
    features: Any,
    labels: Any,
    weights: Any = None,
    grid: Sequence[float] = DEFAULT_REG_GRID,
    loss: str = "mse",
    fit_intercept: bool = True,
    form: str = "auto",
) -> float:
    """The ridge ``lambda`` with the lowest closed-form leave-one-out loss.

    ``grid`` is relative to the mean squared norm of the feature rows, so it fits any feature scale.
    """
    _check_options(loss, form)
    problem = _prepare(features, labels, weights=weights, fit_intercept=fit_intercept)
    return _select_reg(problem, grid, loss, form)[0]


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


def loo_error(
    features: Any, labels: Any, weights: Any = None, reg: float | str = "auto", fit_intercept: bool = True, form: str = "auto"
) -> float:
    """Leave-one-out classification error (percent) of the weighted ridge, over every sample.

    A sample with weight 0 counts with the prediction of the model trained without it, so comparing weight
    vectors (e.g. "drop the top k") by this number needs no validation set and no clean labels.
    """
    _check_options("mse", form)
    problem = _prepare(features, labels, weights=weights, fit_intercept=fit_intercept)
    reg_value = _resolve_reg(problem, reg, DEFAULT_REG_GRID, "mse", form)
    return _selection_error(problem, problem.weights, reg_value, form, "loo")


# ------------------------------------------------------------------------------------ the estimator
class DIVA:
    """The dataset derivative of a linearised model, and what it is used for (Dukler et al., 2022).

    ``fit`` computes ``dL/dalpha`` (Prop. 2 against a validation set, or Prop. 3's leave-one-out loss when
    there is none), takes DIVA Reweight steps ``alpha <- max(0, alpha - eta * dL/dalpha / max|dL/dalpha_0|)``
    from ``alpha_0`` (1 by default) and refits the weighted ridge (Eq. 6) on the final weights.

    Args:
        reg: Ridge ``lambda``, or ``"auto"`` to pick it from ``reg_grid`` by the leave-one-out loss.
        reg_grid: Candidate ``lambda`` values relative to the mean squared feature norm.
        steps: Reweight gradient steps (the paper: 1–3; more over-fit the validation estimate). 0 keeps the
            given weights. With ``lr="auto"`` the largest number of steps tried. Default 1: the paper notes
            that its objective is an unbiased estimate of the test loss only at the first step, and the
            leave-one-out error that judges the candidates keeps falling with further steps while the test
            error rises (docs/methods/diva.md), so it cannot choose the step count.
        lr: ``eta``, the Reweight step size in units of the largest ``|dL/dalpha_i|`` at the first step (so
            the weight that moves most moves by ``eta`` in step one, whatever ``lambda`` and the feature
            scale; see the docs for why not the raw 0.1), or ``"auto"``: ``eta`` from ``lr_grid``
            and the step count from ``1..steps`` with the lowest leave-one-out (or validation)
            classification error against the given labels.
        lr_grid: Candidate ``eta`` for ``lr="auto"``.
        loss: ``"mse"`` (the paper's LQF squared loss on one-hot targets) or ``"ce"`` (cross-entropy of the
            linear outputs) for the loss being differentiated; the model itself is always the ridge.
        objective: ``"loo"``, ``"val"`` or ``"auto"`` (``"val"`` when a validation set is passed).
        epsilon: Detrimental threshold: sample ``i`` is flagged when ``dL/dalpha_i >= epsilon``.
        fit_intercept: Append a constant feature (penalised like the others).
        form: ``"primal"`` (``d x d`` solves), ``"dual"`` (``N x N``, for ``d > N``) or ``"auto"``.

    Attributes:
        classes_: The class labels, sorted; column ``c`` of the outputs is ``classes_[c]``.
        reg_: The ``lambda`` used.
        reg_scores_: ``{lambda: LOO loss}`` when ``reg="auto"``.
        objective_: ``"loo"`` or ``"val"``, the loss that was differentiated.
        derivative_: ``dL/dalpha`` at the initial weights (``[N]``); large positive = detrimental.
        weights_: The sample weights after Reweight.
        lr_, steps_: The step size and number of steps used (chosen ones with ``lr="auto"``).
        step_scale_: ``1 / max|dL/dalpha_i|`` at the first step (what ``eta`` is measured against).
        selection_errors_: ``{(eta, steps): error %}`` of every candidate with ``lr="auto"``.
        loss_history_: The objective before each step and after the last.
        coef_: ``w`` (``[d, C]``, the intercept row last when ``fit_intercept``).
        n_features_in_: ``d``.
    """

    def __init__(
        self,
        reg: float | str = "auto",
        reg_grid: Sequence[float] = DEFAULT_REG_GRID,
        steps: int = 1,
        lr: float | str = "auto",
        loss: str = "mse",
        objective: str = "auto",
        epsilon: float = 0.0,
        fit_intercept: bool = True,
        form: str = "auto",
        lr_grid: Sequence[float] = DEFAULT_LR_GRID,
    ) -> None:
        self.reg, self.reg_grid, self.steps, self.lr, self.lr_grid = reg, reg_grid, steps, lr, lr_grid
        self.loss, self.objective, self.epsilon = loss, objective, epsilon
        self.fit_intercept, self.form = fit_intercept, form

    # -- fitting --------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        X_val: Any = None,
        y_val: Any = None,
        init_outputs: Any = None,
        val_init_outputs: Any = None,
    ) -> DIVA:
        """Compute the dataset derivative, reweight, and refit.

        Args:
            X: Training features ``[N, d]`` (e.g. frozen penultimate-layer embeddings).
            y: Training labels ``[N]`` (any hashable, sortable labels).
            sample_weight: Initial ``alpha`` (default all ones); non-negative.
            X_val, y_val: Optional validation set; its loss is then the objective (Prop. 2).
            init_outputs: ``f_{w0}(X)`` (``[N, C]``) when linearising a network whose head is not zero
                (Eq. 4); the ridge then fits ``Y - f_{w0}(X)``.
            val_init_outputs: ``f_{w0}(X_val)``.
        """
        _check_options(self.loss, self.form)
        if not isinstance(self.steps, (int, np.integer)) or self.steps < 0:
            raise ConfigError(f"steps must be a non-negative integer, got {self.steps!r}")
        if self.lr == "auto":
            candidates = [float(v) for v in self.lr_grid]
            if not candidates or not all(np.isfinite(v) and v > 0 for v in candidates):
                raise ConfigError(f"lr_grid must hold positive numbers, got {list(self.lr_grid)}")
        elif isinstance(self.lr, str) or not np.isfinite(self.lr) or self.lr < 0:
            raise ConfigError(f"lr must be a non-negative number or 'auto', got {self.lr!r}")
        else:
            candidates = [float(self.lr)]
        problem = _prepare(X, y, X_val, y_val, sample_weight, self.fit_intercept, init_outputs, val_init_outputs)
        objective = _objective(problem, self.objective)
        self.classes_ = problem.classes
        self.n_features_in_ = int(np.asarray(X).shape[1])
        self.reg_scores_: dict[float, float] = {}
        if self.reg == "auto":
            self.reg_, self.reg_scores_ = _select_reg(problem, self.reg_grid, self.loss, self.form)
        else:
            self.reg_ = _resolve_reg(problem, self.reg, self.reg_grid, self.loss, self.form)
        self.objective_ = objective

        # The derivative at the initial weights: the detection score, and the first Reweight direction.
        first_value, derivative = _value_and_derivative(problem, problem.weights, self.reg_, self.loss, self.form, objective)
        if not bool(torch.isfinite(derivative).all()):
            raise DataError("the dataset derivative is not finite; the features may be degenerate (try a larger reg)")
        largest = float(derivative.abs().max())
        # The paper's loss scale is not stated, so eta is measured against the first step's largest derivative.
        self.step_scale_ = 1.0 / largest if largest > 0 else 1.0

        # DIVA Reweight (Sec. 3.4): a few gradient steps on alpha through the closed-form solution.
        self.selection_errors_: dict[tuple[float, int], float] = {}
        chosen: tuple[float, float, int, Tensor, list[float]] = (float("inf"), candidates[0], 0, problem.weights.clone(), [first_value])
        for eta in progress(candidates, desc="DIVA Reweight"):
            weights, grad, history = problem.weights.clone(), derivative, [first_value]
            for step in range(1, int(self.steps) + 1):
                # Weights are sample multiplicities: a step may drop a sample (alpha = 0), not make it negative.
                weights = (weights - eta * self.step_scale_ * grad).clamp_(min=0.0)
                if not bool((weights > 0).any()):
                    raise DataError(f"Reweight with lr={eta:g} set every weight to 0; use a smaller lr")
                # One pass gives the objective, the next step's derivative and the selection error.
                value, next_grad, error = _evaluate(problem, weights, self.reg_, self.loss, self.form, objective, with_grad=step < self.steps)
                history.append(value)
                if len(candidates) > 1:  # lr="auto": every (eta, step) is a candidate
                    self.selection_errors_[(eta, step)] = error
                    if error < chosen[0]:
                        chosen = (error, eta, step, weights.clone(), list(history))
                grad = next_grad
            if len(candidates) == 1:
                chosen = (float("nan"), eta, int(self.steps), weights, history)
        _, self.lr_, self.steps_, weights, self.loss_history_ = chosen

        self.derivative_ = derivative.numpy()
        self.weights_ = weights.numpy()
        self.coef_ = WeightedRidgeSystem(problem.features, weights, self.reg_, self.form).coef(problem.targets).numpy()
        return self

    # -- prediction -----------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ConfigError("this DIVA instance is not fitted yet; call fit(X, y) first")

    def decision_function(self, X: Any, init_outputs: Any = None) -> np.ndarray:
        """Outputs of the linearised model, ``f_{w0}(x) + w^T z`` (``[M, C]``)."""
        self._check_fitted()
        x = _as_features(X, "X")
        if x.shape[1] != self.n_features_in_:
            raise DataError(f"X has {x.shape[1]} features, the model was fitted on {self.n_features_in_}")
        outputs = _design(x, self.fit_intercept).numpy() @ self.coef_
        f0 = _as_outputs(init_outputs, x.shape[0], len(self.classes_), "init_outputs")
        return outputs + f0 if f0 is not None else outputs

    def predict(self, X: Any, init_outputs: Any = None) -> np.ndarray:
        """The class with the largest output."""
        outputs = self.decision_function(X, init_outputs)
        return self.classes_[outputs.argmax(1)]

    def score(self, X: Any, y: Any, init_outputs: Any = None) -> float:
        """Accuracy on ``(X, y)``."""
        y = _as_labels(y, np.asarray(X).shape[0], "y", "X")
        return float((self.predict(X, init_outputs) == y).mean())

    # -- uses of the derivative -----------------------------------------------------------------------
    def label_issues(self, epsilon: float | None = None) -> np.ndarray:
        """Indices of detrimental samples, ``dL/dalpha_i >= epsilon``, most detrimental first."""
        self._check_fitted()
        eps = self.epsilon if epsilon is None else epsilon
        order = np.argsort(-self.derivative_, kind="stable")
        return order[self.derivative_[order] >= eps]


# ---------------------------------------------------------------------------------- functional API
def dataset_derivative(
    features: Any,
    labels: Any,
    val_features: Any = None,
    val_labels: Any = None,
    weights: Any = None,
    reg: float | str = "auto",
    loss: str = "mse",
    fit_intercept: bool = True,
    form: str = "auto",
    init_outputs: Any = None,
    val_init_outputs: Any = None,
) -> np.ndarray:
    """``dL/dalpha_i`` for every training sample, through the closed-form weighted ridge.

    With a validation set, ``L = L_val`` and the derivative is Prop. 2 in closed form,
    ``sum_v (z_v^T C_alpha z_i) <G_v, r_i>``; without one, ``L = L_LOO`` (Prop. 3) and the derivative is
    taken by autograd through the stable LOO formula (exact, no retraining). Positive means that
    up-weighting the sample raises the loss (detrimental); negative means it helps.

    Args:
        features: ``[N, d]`` training features. labels: ``[N]``.
        val_features, val_labels: Optional validation set.
        weights: ``alpha`` at which to differentiate (default ones; non-negative).
        reg: ``lambda`` or ``"auto"`` (chosen by LOO). loss: ``"mse"`` or ``"ce"``.
        fit_intercept, form, init_outputs, val_init_outputs: As for :class:`DIVA`.

    Returns:
        float64 ``[N]``.
    """
    model = DIVA(reg=reg, steps=0, loss=loss, fit_intercept=fit_intercept, form=form)
    model.fit(features, labels, weights, val_features, val_labels, init_outputs, val_init_outputs)
    return model.derivative_


@dataclass
class ReweightResult:
    """What :func:`reweight` returns: the weights, the refit model and the objective per step."""

    weights: np.ndarray
    model: DIVA
    loss_history: list[float] = field(default_factory=list)


def reweight(
    features: Any,
    labels: Any,
    val_features: Any = None,
    val_labels: Any = None,
    weights: Any = None,
    steps: int = 1,
    lr: float | str = "auto",
    reg: float | str = "auto",
    loss: str = "mse",
    fit_intercept: bool = True,
    form: str = "auto",
    lr_grid: Sequence[float] = DEFAULT_LR_GRID,
) -> ReweightResult:
    """DIVA Reweight (Sec. 3.4): ``alpha <- max(0, alpha - lr * dL/dalpha / max|dL/dalpha_0|)`` for
    ``steps`` steps, then refit. ``lr="auto"`` (the default, as in ``iclr22 run diva``) picks ``lr`` from
    ``lr_grid`` (and with ``steps > 1`` the step count from ``1..steps``) by the leave-one-out (or
    validation) classification error; see :class:`DIVA`. ``reweight(X, y)`` equals ``DIVA().fit(X, y)``."""
    model = DIVA(reg=reg, steps=steps, lr=lr, loss=loss, fit_intercept=fit_intercept, form=form, lr_grid=lr_grid)
    model.fit(features, labels, weights, val_features, val_labels)
    return ReweightResult(model.weights_, model, model.loss_history_)


def find_label_issues(
    features: Any,
    labels: Any,
    val_features: Any = None,
    val_labels: Any = None,
    epsilon: float = 0.0,
    reg: float | str = "auto",
    loss: str = "mse",
    fit_intercept: bool = True,
    form: str = "auto",
    return_scores: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Likely mislabelled or harmful samples: ``Detrimental(epsilon) = {i : dL/dalpha_i >= epsilon}``.

    Returns:
        Their indices, most detrimental first (cleanlab's ``return_indices_ranked_by`` habit); with
        ``return_scores=True`` also the derivative of every sample (``[N]``, higher = more suspicious),
        which ranks all samples for AUROC-style use.
    """
    model = DIVA(reg=reg, steps=0, loss=loss, epsilon=epsilon, fit_intercept=fit_intercept, form=form)
    model.fit(features, labels, None, val_features, val_labels)
    issues = model.label_issues()
    return (issues, model.derivative_) if return_scores else issues


@dataclass
class ExtendResult:
    """What :func:`extend` returns.

    Attributes:
        selected: Pool indices in the order they were added.
        rounds: Derivative evaluations made.
        weights: Final ``alpha`` over the pool (1 = added).
    """

    selected: np.ndarray
    rounds: int
    weights: np.ndarray


def extend(
    features: Any,
    labels: Any,
    pool_features: Any,
    pool_labels: Any,
    k: int = 10,
    max_rounds: int | None = None,
    budget: int | None = None,
    reg: float | str = "auto",
    loss: str = "mse",
    fit_intercept: bool = True,
    form: str = "auto",
) -> ExtendResult:
    """DIVA Extend: grow a core set with the pool samples whose derivative is most negative.

    The core set has ``alpha = 1`` and the pool ``alpha = 0`` (the stable LOO form is defined there). Each
    round differentiates the LOO loss of the current training set (the samples with ``alpha > 0``) with
    respect to every pool weight and adds the ``k`` most negative ones; it stops when no remaining pool
    sample has a negative derivative, after ``max_rounds`` rounds, or when ``budget`` samples were added.
    """
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    _check_options(loss, form)
    core = _as_features(features, "features")
    pool = _as_features(pool_features, "pool_features")
    if pool.shape[1] != core.shape[1]:
        raise DataError(f"pool_features has {pool.shape[1]} columns, features has {core.shape[1]}")
    core_labels = _as_labels(labels, core.shape[0], "labels", "features")
    pool_y = _as_labels(pool_labels, pool.shape[0], "pool_labels", "pool_features")
    classes = np.unique(np.concatenate([core_labels, pool_y]))
    n_core, n_pool = core.shape[0], pool.shape[0]
    weights = np.concatenate([np.ones(n_core), np.zeros(n_pool)])
    problem = _prepare(np.vstack([core, pool]), np.concatenate([core_labels, pool_y]), weights=weights, fit_intercept=fit_intercept, classes=classes)
    if reg == "auto":  # lambda by the LOO loss of the core set alone: the pool's labels are not trusted yet
        core_only = _prepare(core, core_labels, fit_intercept=fit_intercept, classes=classes)
        reg_value = _select_reg(core_only, DEFAULT_REG_GRID, loss, form)[0]
    else:
        reg_value = _resolve_reg(problem, reg, DEFAULT_REG_GRID, loss, form)
    alpha = problem.weights.clone()
    selected: list[int] = []
    rounds = 0
    limit = budget if budget is not None else n_pool
    while len(selected) < limit and (max_rounds is None or rounds < max_rounds):
        in_set = alpha > 0
        grad = _derivative(problem, alpha, reg_value, loss, form, "loo", mask=in_set)
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
    return ExtendResult(np.asarray(selected, dtype=np.int64), rounds, alpha[n_core:].numpy())
