"""The benchmark's score: R² per factor with the variance of the full factor grid, averaged over factors.

``R²_k = 1 − MSE_k / Var_k`` where predictions and targets are the normalised labels ``index / (size − 1)``
and ``Var_k`` is the variance of factor ``k`` over the *full Cartesian grid* — not over the test set, as
``sklearn.metrics.r2_score`` would use. A test set covering only part of a factor's range can thus give a
negative R², and scores on different splits are comparable. This matches the official ``RSquared`` of
``evaluate_model.py``.

**Unit: R² is in percent everywhere in this package** (the API, ``iclr22 run`` reports, the verbs' CSVs), the
unit of the paper's leaderboard ("PCL 66.7 %"); the official evaluator returns the same number as a fraction
(``RSquared`` = ``r_squared`` / 100). Keys are ``r2``, ``r2_<factor>``; ``mse`` stays in squared normalised units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from iclr22.core.errors import DataError
from iclr22.idgbench.synthetic import FactorSpace

__all__ = ["r_squared", "score_predictions", "evaluate_model"]


def _check_pair(predictions: np.ndarray, targets: np.ndarray, space: FactorSpace) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    k = space.num_factors
    if targets.ndim != 2 or targets.shape[1] != k:
        raise DataError(f"targets: expected shape [N, {k}] (one column per factor of '{space.name}'), got {targets.shape}")
    if predictions.ndim != 2 or predictions.shape[1] != k:
        raise DataError(
            f"model output: expected shape [N, {k}] (one prediction per factor: {', '.join(space.names)}), got {predictions.shape}"
        )
    if predictions.shape[0] != targets.shape[0]:
        raise DataError(f"model output has {predictions.shape[0]} rows for {targets.shape[0]} images")
    if not np.all(np.isfinite(predictions)):
        raise DataError(f"model output holds {int((~np.isfinite(predictions)).sum())} NaN/inf values")
    return predictions, targets


def r_squared(predictions: np.ndarray, targets: np.ndarray, space: FactorSpace) -> np.ndarray:
    """Per-factor ``R²_k = 100 · (1 − mean((ŷ_k − y_k)²) / Var_grid(y_k))`` in % (the paper's score, Sec. 3).

    Args:
        predictions: ``[N, K]`` predicted normalised factors.
        targets: ``[N, K]`` true normalised factors (``index / (size − 1)``).
        space: The factor grid; its full-grid variance is the denominator.

    Returns:
        float64 ``[K]`` in % (100: perfect; 0: the grid mean's score; below 0: worse than the grid mean).
    """
    predictions, targets = _check_pair(predictions, targets, space)
    mse = np.mean((predictions - targets) ** 2, axis=0)
    return 100.0 * (1.0 - mse / space.variance)


def score_predictions(predictions: np.ndarray, targets: np.ndarray, space: FactorSpace) -> dict[str, float]:
    """The official score dict, R² in %: ``r2`` (mean over factors), ``mse``, ``r2_<factor>``, ``mse_<factor>``."""
    predictions, targets = _check_pair(predictions, targets, space)
    per_factor = r_squared(predictions, targets, space)
    mse = np.mean((predictions - targets) ** 2, axis=0)
    scores = {"r2": float(per_factor.mean()), "mse": float(mse.mean())}
    for name, r2, err in zip(space.metric_names, per_factor, mse):
        scores[f"r2_{name}"] = float(r2)
        scores[f"mse_{name}"] = float(err)
    return scores


def evaluate_model(
    model: Callable[[Any], Any],
    images: np.ndarray,
    targets: np.ndarray,
    space: FactorSpace,
    batch_size: int = 512,
) -> dict[str, float]:
    """Score any model on images with known factors.

    Args:
        model: A ``torch.nn.Module`` or any callable mapping a float batch ``[B, C, H, W]`` in ``[0, 1]``
            (a tensor for modules, a NumPy array otherwise) to ``[B, K]`` predicted normalised factors.
        images: uint8 ``[N, H, W]`` (greyscale, 0/1 or 0..255) or ``[N, H, W, C]`` images.
        targets: ``[N, K]`` normalised factors.
        space: The factor grid.
        batch_size: Images per forward pass.

    Returns:
        :func:`score_predictions` of the model's outputs.
    """
    from iclr22.idgbench.train import predict

    return score_predictions(predict(model, images, batch_size=batch_size, num_outputs=space.num_factors), targets, space)
