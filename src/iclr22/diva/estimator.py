"""The public DIVA estimator and the plain functions beside it (cleanlab style).

``find_label_issues(X, y)`` is the functional entry point; ``dataset_derivative``, ``reweight``,
``extend``, ``select_reg`` and ``loo_error`` expose the other uses of the derivative. Every one of them
runs the algorithm of ``train.py``; :class:`DIVA` does all of it with scikit-learn habits (``fit`` /
``predict`` / ``score``, ``clone``, ``save`` / ``load``). Units: ``score`` is accuracy and ``loo_error``
error in percent, as the paper's Table 1; the detection measures (AUROC, F1) are fractions, as its Fig. 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import ClassifierMixin

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.diva.model import WeightedRidgeSystem
from iclr22.diva.train import (
    DEFAULT_LR_GRID,
    DEFAULT_REG_GRID,
    _as_features,
    _as_labels,
    _as_outputs,
    _design,
    _objective,
    _prepare,
    _resolve_reg,
    _select_reg,
    _selection_error,
    extend_rounds,
    reweight_steps,
    warn_single_sample_classes,
)

__all__ = [
    "DIVA",
    "find_label_issues",
    "dataset_derivative",
    "reweight",
    "extend",
    "select_reg",
    "loo_error",
    "ReweightResult",
    "ExtendResult",
]

Loss = Literal["mse", "ce"]
Form = Literal["auto", "primal", "dual"]


def _check_choice(name: str, value: Any, annotation: Any) -> None:
    """A functional entry point's option checked like an estimator parameter (``ConfigError`` naming it)."""
    from iclr22.core.options import Option

    Option(name, annotation, None).validate(value, where="parameter")


# ------------------------------------------------------------------------------------ the estimator
class DIVA(ClassifierMixin, Estimator):
    """The dataset derivative of a linearised model, and what it is used for (Dukler et al., 2022).

    ``fit`` computes ``dL/dalpha`` (Prop. 2 against a validation set, or Prop. 3's leave-one-out loss when
    there is none), takes DIVA Reweight steps ``alpha <- max(0, alpha - eta * dL/dalpha / max|dL/dalpha_0|)``
    from ``alpha_0`` (1 by default) and refits the weighted ridge (Eq. 6) on the final weights.

    Args:
        reg: Ridge ``lambda``, or ``"auto"`` to pick it from ``reg_grid`` by the leave-one-out loss.
        reg_grid: Candidate ``lambda`` values relative to the mean squared feature norm (for ``reg="auto"``).
        steps: Reweight gradient steps (the paper: 1–3; more over-fit the validation estimate). 0 keeps the
            given weights. With ``lr="auto"`` the largest number of steps tried. Default 1: the paper notes
            that its objective is an unbiased estimate of the test loss only at the first step, and the
            leave-one-out error that judges the candidates keeps falling with further steps while the test
            error rises (docs/methods/diva.md), so it cannot choose the step count.
        lr: Reweight step size ``eta`` in units of the largest first-step derivative, or ``"auto"`` (from
            ``lr_grid``, and the step count from ``1..steps``, by leave-one-out or validation error). In
            these units the weight that moves most moves by ``eta`` in step one, whatever ``lambda`` and the
            feature scale (see the docs for why not the raw 0.1); ``"auto"`` judges candidates by their
            classification error against the given labels.
        lr_grid: Candidate step sizes ``eta`` for ``lr="auto"``.
        loss: The loss being differentiated: ``"mse"`` (the paper's LQF squared loss on one-hot targets) or
            ``"ce"`` (cross-entropy of the linear outputs); the model itself is always the ridge.
        objective: The differentiated loss: ``"loo"``, ``"val"`` or ``"auto"`` (``"val"`` when a validation
            set is passed to ``fit``).
        epsilon: Detrimental threshold: sample ``i`` is flagged when ``dL/dalpha_i >= epsilon``.
        fit_intercept: Append a constant feature (penalised like the others).
        form: Closed form of the ridge: ``"primal"`` (``d x d`` solves), ``"dual"`` (``N x N``, for
            ``d > N``) or ``"auto"`` (the smaller).
        device: Where the tensors live and the linear algebra runs (``"cpu"``, ``"cuda"``, ...).
        verbose: Progress bar of the Reweight candidates: ``None`` on a terminal only.

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

    _fitted_attribute = "coef_"

    def __init__(
        self,
        reg: float | Literal["auto"] = "auto",
        reg_grid: tuple[float, ...] = DEFAULT_REG_GRID,
        steps: int = 1,
        lr: float | Literal["auto"] = "auto",
        lr_grid: tuple[float, ...] = DEFAULT_LR_GRID,
        loss: Loss = "mse",
        objective: Literal["auto", "loo", "val"] = "auto",
        epsilon: float = 0.0,
        fit_intercept: bool = True,
        form: Form = "auto",
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.reg, self.reg_grid, self.steps, self.lr, self.lr_grid = reg, reg_grid, steps, lr, lr_grid
        self.loss, self.objective, self.epsilon = loss, objective, epsilon
        self.fit_intercept, self.form = fit_intercept, form
        self.device, self.verbose = device, verbose

    def _check_params(self) -> None:
        """Types and choices (from the annotations), then the ranges.

        Raises:
            ConfigError: naming the parameter and what it takes.
        """
        super()._check_params()
        if self.reg != "auto" and not (np.isfinite(self.reg) and self.reg > 0):
            raise ConfigError(f"DIVA: parameter 'reg' must be a positive number or 'auto', got {self.reg!r}")
        if not self.reg_grid or not all(np.isfinite(v) and v > 0 for v in self.reg_grid):
            raise ConfigError(f"DIVA: parameter 'reg_grid' must hold positive numbers, got {list(self.reg_grid)}")
        if self.steps < 0:
            raise ConfigError(f"DIVA: parameter 'steps' must be a non-negative integer, got {self.steps!r}")
        if self.lr != "auto" and not (np.isfinite(self.lr) and self.lr >= 0):
            raise ConfigError(f"DIVA: parameter 'lr' must be a non-negative number or 'auto', got {self.lr!r}")
        if self.lr == "auto" and (not self.lr_grid or not all(np.isfinite(v) and v > 0 for v in self.lr_grid)):
            raise ConfigError(f"DIVA: parameter 'lr_grid' must hold positive numbers, got {list(self.lr_grid)}")
        if not np.isfinite(self.epsilon):
            raise ConfigError(f"DIVA: parameter 'epsilon' must be a finite number, got {self.epsilon!r}")

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
            y: Training labels ``[N]``: classes (ints, strings, or floats that are whole numbers; a float
                with a fractional part is refused: DIVA classifies, it does not regress). Under the
                leave-one-out objective a class with one sample is warned about (:class:`UserWarning`).
            sample_weight: Initial ``alpha`` (default all ones); non-negative.
            X_val, y_val: Optional validation set; its loss is then the objective (Prop. 2).
            init_outputs: ``f_{w0}(X)`` (``[N, C]``) when linearising a network whose head is not zero
                (Eq. 4); the ridge then fits ``Y - f_{w0}(X)``.
            val_init_outputs: ``f_{w0}(X_val)``.

        Returns:
            ``self``.
        """
        self._check_params()
        candidates = [float(v) for v in self.lr_grid] if self.lr == "auto" else [float(self.lr)]
        device = torch.device(self.device)
        problem = _prepare(X, y, X_val, y_val, sample_weight, self.fit_intercept, init_outputs, val_init_outputs, device=device)
        objective = _objective(problem, self.objective)
        if objective == "loo":
            warn_single_sample_classes(problem)
        self.classes_ = problem.classes
        self.n_features_in_ = int(problem.features.shape[1]) - int(self.fit_intercept)
        self.reg_scores_: dict[float, float] = {}
        if self.reg == "auto":
            self.reg_, self.reg_scores_ = _select_reg(problem, self.reg_grid, self.loss, self.form)
        else:
            self.reg_ = _resolve_reg(problem, self.reg, self.reg_grid, self.loss, self.form)
        self.objective_ = objective

        path = reweight_steps(problem, self.reg_, self.loss, self.form, objective, candidates, int(self.steps), self.verbose)
        self.step_scale_ = path.step_scale
        self.selection_errors_ = path.selection_errors
        self.lr_, self.steps_, self.loss_history_ = path.lr, path.steps, path.loss_history
        self.derivative_ = path.derivative.cpu().numpy()
        self.weights_ = path.weights.cpu().numpy()
        self.coef_ = WeightedRidgeSystem(problem.features, path.weights, self.reg_, self.form).coef(problem.targets).cpu().numpy()
        return self

    # -- prediction -----------------------------------------------------------------------------------
    def decision_function(self, X: Any, init_outputs: Any = None) -> np.ndarray:
        """Outputs of the linearised model, ``f_{w0}(x) + w^T z`` (``[M, C]``)."""
        self._check_is_fitted("predict")
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
        """Accuracy on ``(X, y)`` **in percent**, the unit of the paper's Table 1, of the run's ``test_error``
        (``100 - score``) and of :func:`loo_error` (scikit-learn's is a fraction; model selection only compares)."""
        self._check_is_fitted("score")
        x = _as_features(X, "X")
        y = _as_labels(y, x.shape[0], "y", "X")
        return 100.0 * float((self.predict(x, init_outputs) == y).mean())

    def loo_decision_function(self, X: Any, y: Any, init_outputs: Any = None) -> np.ndarray:
        """Leave-one-out outputs on the training set this model was fitted on (``[N, C]``).

        Row ``i`` is the output at ``x_i`` of the weighted ridge trained on every *other* sample, at the
        final weights ``weights_`` and the chosen ``reg_`` (Prop. 3 in closed form, no refit): what the
        model says about a sample it did not see. Pass the same ``X``, ``y`` (and ``init_outputs``) as to
        ``fit``; a validation set plays no part.

        Raises:
            DataError: ``X`` does not have the fitted number of rows and features, or ``y`` holds a class
                the model does not know.
        """
        from iclr22.diva.model import loo_predictions

        self._check_is_fitted("compute leave-one-out outputs")
        x = _as_features(X, "X")
        if x.shape != (len(self.weights_), self.n_features_in_):
            raise DataError(
                f"X has shape {x.shape}; leave-one-out outputs are for the training set the model was fitted on "
                f"({len(self.weights_)} rows, {self.n_features_in_} features)"
            )
        problem = _prepare(
            x, y, sample_weight=self.weights_, fit_intercept=self.fit_intercept, init_outputs=init_outputs,
            classes=self.classes_, device=torch.device(self.device),
        )
        with torch.no_grad():
            outputs = loo_predictions(problem.features, problem.targets, problem.weights, self.reg_, self.form)
            if problem.offsets is not None:
                outputs = outputs + problem.offsets
        return outputs.cpu().numpy()

    def loo_predict(self, X: Any, y: Any, init_outputs: Any = None) -> np.ndarray:
        """Per training sample, the class of the model trained without it (the ``find-issues`` ``suggested_label``)."""
        return self.classes_[self.loo_decision_function(X, y, init_outputs).argmax(1)]

    # -- uses of the derivative -----------------------------------------------------------------------
    def label_issues(self, epsilon: float | None = None) -> np.ndarray:
        """Indices of detrimental samples, ``dL/dalpha_i >= epsilon``, most detrimental first."""
        self._check_is_fitted("ask for label issues")
        eps = self.epsilon if epsilon is None else epsilon
        order = np.argsort(-self.derivative_, kind="stable")
        return order[self.derivative_[order] >= eps]

    # -- save / load ----------------------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {
            "classes": self.classes_,
            "n_features_in": self.n_features_in_,
            "reg": self.reg_,
            "reg_scores": [[r, s] for r, s in self.reg_scores_.items()],
            "objective": self.objective_,
            "derivative": self.derivative_,
            "weights": self.weights_,
            "lr": self.lr_,
            "steps": self.steps_,
            "step_scale": self.step_scale_,
            "selection_errors": [[eta, step, error] for (eta, step), error in self.selection_errors_.items()],
            "loss_history": list(self.loss_history_),
            "coef": self.coef_,
        }

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        self.classes_ = state["classes"]
        self.n_features_in_ = int(state["n_features_in"])
        self.reg_ = float(state["reg"])
        self.reg_scores_ = {float(r): float(s) for r, s in state["reg_scores"]}
        self.objective_ = str(state["objective"])
        self.derivative_, self.weights_ = state["derivative"], state["weights"]
        self.lr_, self.steps_, self.step_scale_ = float(state["lr"]), int(state["steps"]), float(state["step_scale"])
        self.selection_errors_ = {(float(eta), int(step)): float(error) for eta, step, error in state["selection_errors"]}
        self.loss_history_ = [float(v) for v in state["loss_history"]]
        self.coef_ = state["coef"]


# ---------------------------------------------------------------------------------- functional API
def find_label_issues(
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    epsilon: float = 0.0,
    reg: float | Literal["auto"] = "auto",
    loss: Loss = "mse",
    fit_intercept: bool = True,
    form: Form = "auto",
    return_scores: bool = False,
    device: str = "cpu",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Likely mislabelled or harmful samples: ``Detrimental(epsilon) = {i : dL/dalpha_i >= epsilon}``.

    Returns:
        Their indices, most detrimental first (cleanlab's ``return_indices_ranked_by`` habit); with
        ``return_scores=True`` also the derivative of every sample (``[N]``, higher = more suspicious),
        which ranks all samples for AUROC-style use.
    """
    model = DIVA(reg=reg, steps=0, loss=loss, epsilon=epsilon, fit_intercept=fit_intercept, form=form, device=device)
    model.fit(X, y, None, X_val, y_val)
    issues = model.label_issues()
    return (issues, model.derivative_) if return_scores else issues


def dataset_derivative(
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    sample_weight: Any = None,
    reg: float | Literal["auto"] = "auto",
    loss: Loss = "mse",
    fit_intercept: bool = True,
    form: Form = "auto",
    init_outputs: Any = None,
    val_init_outputs: Any = None,
    device: str = "cpu",
) -> np.ndarray:
    """``dL/dalpha_i`` for every training sample, through the closed-form weighted ridge.

    With a validation set, ``L = L_val`` and the derivative is Prop. 2 in closed form,
    ``sum_v (z_v^T C_alpha z_i) <G_v, r_i>``; without one, ``L = L_LOO`` (Prop. 3) and the derivative is
    taken by autograd through the stable LOO formula (exact, no retraining). Positive means that
    up-weighting the sample raises the loss (detrimental); negative means it helps.

    Args:
        X: ``[N, d]`` training features.
        y: ``[N]`` training labels.
        X_val, y_val: Optional validation set.
        sample_weight: ``alpha`` at which to differentiate (default ones; non-negative).
        reg: ``lambda`` or ``"auto"`` (chosen by LOO).
        loss: ``"mse"`` or ``"ce"``.
        fit_intercept, form, init_outputs, val_init_outputs, device: As for :class:`DIVA`.

    Returns:
        float64 ``[N]``.
    """
    model = DIVA(reg=reg, steps=0, loss=loss, fit_intercept=fit_intercept, form=form, device=device)
    model.fit(X, y, sample_weight, X_val, y_val, init_outputs, val_init_outputs)
    return model.derivative_


@dataclass
class ReweightResult:
    """What :func:`reweight` returns: the weights, the refit model and the objective per step."""

    weights: np.ndarray
    model: DIVA
    loss_history: list[float] = field(default_factory=list)


def reweight(
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    sample_weight: Any = None,
    steps: int = 1,
    lr: float | Literal["auto"] = "auto",
    reg: float | Literal["auto"] = "auto",
    loss: Loss = "mse",
    fit_intercept: bool = True,
    form: Form = "auto",
    lr_grid: Sequence[float] = DEFAULT_LR_GRID,
    device: str = "cpu",
) -> ReweightResult:
    """DIVA Reweight (Sec. 3.4): ``alpha <- max(0, alpha - lr * dL/dalpha / max|dL/dalpha_0|)`` for
    ``steps`` steps, then refit. ``lr="auto"`` (the default, as in ``iclr22 run diva``) picks ``lr`` from
    ``lr_grid`` (and with ``steps > 1`` the step count from ``1..steps``) by the leave-one-out (or
    validation) classification error; see :class:`DIVA`. ``reweight(X, y)`` equals ``DIVA().fit(X, y)``."""
    model = DIVA(reg=reg, steps=steps, lr=lr, loss=loss, fit_intercept=fit_intercept, form=form, lr_grid=tuple(lr_grid), device=device)
    model.fit(X, y, sample_weight, X_val, y_val)
    return ReweightResult(model.weights_, model, model.loss_history_)


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
    X: Any,
    y: Any,
    X_pool: Any,
    y_pool: Any,
    k: int = 10,
    max_rounds: int | None = None,
    budget: int | None = None,
    reg: float | Literal["auto"] = "auto",
    loss: Loss = "mse",
    fit_intercept: bool = True,
    form: Form = "auto",
    device: str = "cpu",
) -> ExtendResult:
    """DIVA Extend: grow a core set ``(X, y)`` with the pool samples whose derivative is most negative.

    The core set has ``alpha = 1`` and the pool ``alpha = 0`` (the stable LOO form is defined there). Each
    round differentiates the LOO loss of the current training set (the samples with ``alpha > 0``) with
    respect to every pool weight and adds the ``k`` most negative ones; it stops when no remaining pool
    sample has a negative derivative, after ``max_rounds`` rounds, or when ``budget`` samples were added.
    """
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    _check_choice("loss", loss, Loss)
    _check_choice("form", form, Form)
    core = _as_features(X, "X")
    pool = _as_features(X_pool, "X_pool")
    if pool.shape[1] != core.shape[1]:
        raise DataError(f"X_pool has {pool.shape[1]} columns, X has {core.shape[1]}")
    core_labels = _as_labels(y, core.shape[0], "y", "X")
    pool_y = _as_labels(y_pool, pool.shape[0], "y_pool", "X_pool")
    classes = np.unique(np.concatenate([core_labels, pool_y]))
    n_core, n_pool = core.shape[0], pool.shape[0]
    weights = np.concatenate([np.ones(n_core), np.zeros(n_pool)])
    problem = _prepare(np.vstack([core, pool]), np.concatenate([core_labels, pool_y]), sample_weight=weights, fit_intercept=fit_intercept, classes=classes, device=device)
    if reg == "auto":  # lambda by the LOO loss of the core set alone: the pool's labels are not trusted yet
        core_only = _prepare(core, core_labels, fit_intercept=fit_intercept, classes=classes, device=device)
        reg_value = _select_reg(core_only, DEFAULT_REG_GRID, loss, form)[0]
    else:
        reg_value = _resolve_reg(problem, reg, DEFAULT_REG_GRID, loss, form)
    limit = budget if budget is not None else n_pool
    selected, rounds, alpha = extend_rounds(problem, n_core, reg_value, loss, form, k, limit, max_rounds)
    return ExtendResult(np.asarray(selected, dtype=np.int64), rounds, alpha[n_core:].cpu().numpy())


def select_reg(
    X: Any,
    y: Any,
    sample_weight: Any = None,
    grid: Sequence[float] = DEFAULT_REG_GRID,
    loss: Loss = "mse",
    fit_intercept: bool = True,
    form: Form = "auto",
    device: str = "cpu",
) -> float:
    """The ridge ``lambda`` with the lowest closed-form leave-one-out loss.

    ``grid`` is relative to the mean squared norm of the feature rows, so it fits any feature scale.
    """
    _check_choice("loss", loss, Loss)
    _check_choice("form", form, Form)
    problem = _prepare(X, y, sample_weight=sample_weight, fit_intercept=fit_intercept, device=device)
    return _select_reg(problem, grid, loss, form)[0]


def loo_error(
    X: Any,
    y: Any,
    sample_weight: Any = None,
    reg: float | Literal["auto"] = "auto",
    fit_intercept: bool = True,
    form: Form = "auto",
    device: str = "cpu",
) -> float:
    """Leave-one-out classification error (percent) of the weighted ridge, over every sample.

    A sample with weight 0 counts with the prediction of the model trained without it, so comparing weight
    vectors (e.g. "drop the top k") by this number needs no validation set and no clean labels.
    """
    _check_choice("form", form, Form)
    problem = _prepare(X, y, sample_weight=sample_weight, fit_intercept=fit_intercept, device=device)
    reg_value = _resolve_reg(problem, reg, DEFAULT_REG_GRID, "mse", form)
    return _selection_error(problem, problem.weights, reg_value, form, "loo")
