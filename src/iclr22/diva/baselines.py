"""The baselines DIVA is compared with in ``iclr22 run diva`` (the issue's; the paper has none for detection).

Detection: the squared training loss of the same uniformly weighted ridge (``loss_rank``), its
self-influence (Koh & Liang, 2017; ``influence``) and cleanlab's confident learning on cross-validated
logistic-regression probabilities (``cleanlab``, when installed). Reweighting: the ridge refitted with
uniform weights (``uniform``) and after dropping the samples DIVA ranks most detrimental (``drop_top``,
its count chosen by the rule that chooses DIVA's step size; ``drop_top_oracle``, told the noise rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import clone

from iclr22.diva.estimator import DIVA, loo_error
from iclr22.diva.model import WeightedRidgeSystem

__all__ = ["ridge_scores", "cleanlab_scores", "ridge_test_error", "DropSelection", "select_drop_count", "kept_after_dropping"]


def ridge_scores(features: np.ndarray, labels: np.ndarray, classes: np.ndarray, reg: float, device: Any = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Loss-ranking and self-influence scores of the uniformly weighted ridge (the model DIVA linearises).

    ``loss_i = ||y_i - w^T z_i||^2`` (training loss) and Koh & Liang's self-influence
    ``grad l_i^T H^{-1} grad l_i``, which for the ridge is ``2 z_i^T C z_i ||r_i||^2``.
    """
    z = torch.as_tensor(np.c_[features, np.ones(len(features))], dtype=torch.float64, device=device)
    y = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(classes, labels), device=device), len(classes)).double()
    system = WeightedRidgeSystem(z, torch.ones(len(z), dtype=torch.float64, device=device), reg)
    residual_sq = ((y - system.fitted(y)) ** 2).sum(1)
    return residual_sq.cpu().numpy(), (2.0 * system.leverage() * residual_sq).cpu().numpy()


def cleanlab_scores(features: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """cleanlab's confident learning on cross-validated logistic-regression probabilities, or ``None``.

    Returns ``(flagged_mask, score)``, score = 1 - self-confidence (higher = more suspicious).
    """
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    _, codes = np.unique(labels, return_inverse=True)  # cleanlab wants labels 0..K-1
    classifier = LogisticRegression(max_iter=500)
    pred_probs = cross_val_predict(classifier, features, codes, cv=folds, method="predict_proba")
    flagged = cleanlab_find(codes, pred_probs)
    return np.asarray(flagged, dtype=bool), 1.0 - get_label_quality_scores(codes, pred_probs)


def ridge_test_error(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, like: DIVA, test_features: np.ndarray, test_labels: np.ndarray
) -> float:
    """Test error (percent) of the weighted ridge with ``like``'s lambda, classes and device, refit on ``weights``."""
    device = torch.device(like.device)
    design = lambda x: torch.as_tensor(np.c_[x, np.ones(len(x))], dtype=torch.float64, device=device)  # noqa: E731
    targets = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(like.classes_, labels), device=device), len(like.classes_)).double()
    coef = WeightedRidgeSystem(design(features), torch.as_tensor(weights, dtype=torch.float64, device=device), like.reg_).coef(targets)
    predicted = like.classes_[(design(test_features) @ coef).argmax(1).cpu().numpy()]
    return 100.0 * float((predicted != test_labels).mean())


def kept_after_dropping(ranking: np.ndarray, count: int) -> np.ndarray:
    """Weights 1, except 0 for the ``count`` first samples of ``ranking``."""
    kept = np.ones(len(ranking))
    kept[ranking[:count]] = 0.0
    return kept


@dataclass
class DropSelection:
    """How many top-ranked samples ``drop_top`` drops, and the errors that chose it.

    Attributes:
        ranking: Training samples by decreasing derivative.
        count: The number dropped.
        fraction: That number as a fraction of the training set.
        errors: ``{fraction: selection error %}`` of every candidate.
    """

    ranking: np.ndarray
    count: int
    fraction: float
    errors: dict[float, float]


def select_drop_count(
    diva: DIVA, X: np.ndarray, y: np.ndarray, fractions: list[float] | None, fixed: float | None, X_val: Any = None, y_val: Any = None
) -> DropSelection:
    """``drop_top``'s count: drop the k samples with the largest derivative and refit with uniform weights;
    k is chosen like DIVA's step size, by the leave-one-out error on the training set (a dropped sample is
    predicted by the model without it), or by the validation error when DIVA used a validation set.

    Args:
        diva: The fitted DIVA whose derivative ranks the samples and whose lambda every refit uses.
        X, y: Its training set.
        fractions: Candidate fractions of the training set (when ``fixed`` is ``None``).
        fixed: A fraction to drop, not chosen.
        X_val, y_val: The validation set, when ``diva.objective_ == "val"``.
    """
    ranking = np.argsort(-diva.derivative_, kind="stable")
    if fixed is not None:
        counts = {float(fixed): int(round(float(fixed) * len(y)))}
    else:
        counts = {fraction: int(round(fraction * len(y))) for fraction in fractions or []}

    def selection_error(kept: np.ndarray) -> float:
        """The rule that chose DIVA's step size: validation error when DIVA used a validation set, else LOO error."""
        if diva.objective_ == "val":
            refit = clone(diva).set_params(reg=diva.reg_, steps=0, verbose=False).fit(X, y, sample_weight=kept)
            return 100.0 - refit.score(X_val, y_val)  # score: accuracy in percent
        return loo_error(X, y, kept, reg=diva.reg_, fit_intercept=diva.fit_intercept, form=diva.form, device=diva.device)

    errors = {fraction: selection_error(kept_after_dropping(ranking, count)) for fraction, count in counts.items()}
    fraction = min(errors, key=errors.__getitem__)
    return DropSelection(ranking, counts[fraction], fraction, errors)
