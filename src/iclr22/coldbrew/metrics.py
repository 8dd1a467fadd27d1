"""The paper's measures: accuracy on a node subset and the feature contribution ratio (eq. 5)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["accuracy", "feature_contribution_ratio"]


def accuracy(logits_or_pred: Tensor, y: Tensor, mask: Tensor | np.ndarray | None = None) -> float:
    """Accuracy in percent over ``mask`` (NaN when the mask is empty)."""
    pred = logits_or_pred.argmax(-1) if logits_or_pred.dim() == 2 else logits_or_pred
    if mask is not None:
        mask = torch.as_tensor(mask, dtype=torch.bool, device=pred.device)
        pred, y = pred[mask], y.to(pred.device)[mask]
    if y.numel() == 0:
        return math.nan
    return float((pred == y.to(pred.device)).float().mean() * 100)


def feature_contribution_ratio(z_gnn: float, z_mlp: float, z_lp: float) -> float:
    """Feature contribution ratio, paper eq. 5, in percent.

    With ``δ_MLP = z_GNN − z_MLP`` and ``δ_LP = z_GNN − z_LP``: if ``z_MLP ≤ z_GNN``,
    ``FCR = δ_LP / (δ_MLP + δ_LP)``; otherwise ``FCR = 1 + |δ_MLP| / (|δ_MLP| + δ_LP)``. A high FCR says
    the labels are explained mostly by node features (an MLP student can do well), a low one that the
    neighbourhood matters. NaN when the denominators vanish.
    """
    delta_mlp, delta_lp = z_gnn - z_mlp, z_gnn - z_lp
    if z_mlp <= z_gnn:
        denominator = delta_mlp + delta_lp
        return math.nan if denominator == 0 else 100.0 * delta_lp / denominator
    denominator = abs(delta_mlp) + delta_lp
    return math.nan if denominator == 0 else 100.0 * (1.0 + abs(delta_mlp) / denominator)
