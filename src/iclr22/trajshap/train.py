"""Training and evaluating the predictors that the attribution analyses.

The learned predictors are trained like Trajectron++ on pedestrians: Adam, gradient clipping,
random-rotation augmentation, and a likelihood loss on the ground-truth future. Our decoder is a
mixture of ``K`` trajectories, so the loss is the mixture negative log-likelihood plus a
winner-takes-all displacement term on the best mode, which keeps the ``K`` modes apart so that the
best-of-K metrics the paper reports (minADE / minFDE) are meaningful. Early stopping watches the
validation minADE; training resumes from its checkpoint when interrupted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from iclr22.core.errors import DataError
from iclr22.core.training import EarlyStopping, FitResult, fit_epochs
from iclr22.trajshap.model import Prediction, trajectory_errors
from iclr22.trajshap.scenes import SceneBatch

__all__ = ["position_scale", "rotate", "predictor_loss", "fit_predictor", "evaluate_predictor"]


def _device_of(model: nn.Module) -> torch.device:
    """Where a module's parameters (or buffers) are; the CPU for one without either (or a plain callable)."""
    if isinstance(model, nn.Module):
        for tensor in (*model.parameters(), *model.buffers()):
            return tensor.device
    return torch.device("cpu")


def position_scale(batch: SceneBatch) -> float:
    """A typical per-step displacement of the targets (mean step length), so models work in any unit."""
    steps = torch.linalg.vector_norm(batch.past[:, 1:] - batch.past[:, :-1], dim=-1)
    moving = steps[steps > 0]
    scale = float(moving.mean()) if moving.numel() else 1.0
    if not math.isfinite(scale) or scale <= 0:
        raise DataError("cannot infer a position scale: the targets never move")
    return scale


def rotate(batch: SceneBatch, angles: torch.Tensor) -> SceneBatch:
    """Rotate every sample of ``batch`` about its target's current position by ``angles (B,)``
    (the rotation augmentation of Trajectron++)."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    matrix = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # (B, 2, 2)

    def turn(x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        return (x.reshape(shape[0], -1, 2) @ matrix.transpose(1, 2)).reshape(shape)

    return SceneBatch(
        past=turn(batch.past),
        neighbours=turn(batch.neighbours),
        neighbour_mask=batch.neighbour_mask,
        future=turn(batch.future) if batch.future is not None else None,
        context=batch.context,
    )


def predictor_loss(prediction: Prediction, future: torch.Tensor, scale: float, wta_weight: float = 1.0) -> torch.Tensor:
    """Mixture NLL (per step, clamped as Trajectron++) plus ``wta_weight`` × the best mode's ADE in units of ``scale``."""
    nll = -prediction.log_likelihood(future).mean()
    best = trajectory_errors(Prediction(prediction.modes), future)["ade"].mean() / scale
    return nll + wta_weight * best


def fit_predictor(
    model: nn.Module,
    train: SceneBatch,
    val: SceneBatch | None = None,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    patience: int | None,
    augment: bool,
    wta_weight: float,
    checkpoint_path: str | Path | None = None,
    seed: int = 0,
    desc: str = "train",
    verbose: bool | None = None,
) -> FitResult:
    """Train a learned predictor (``LSTMPredictor`` / ``InteractionPredictor``) and keep its best
    validation state, on the device of its parameters (batches are drawn and augmented on the CPU).

    The training settings have no defaults here: their one source is
    :class:`~iclr22.trajshap.estimator.TrajectoryPredictor`, which calls this.

    Args:
        model: The predictor; its ``scale`` buffers should hold :func:`position_scale` of ``train``.
        train: Training samples.
        val: Validation samples for early stopping on minADE (``None``: train all epochs).
        epochs: Maximum epochs.
        batch_size: Samples per step.
        lr: Adam learning rate (Trajectron++: 1e-3).
        weight_decay: Adam weight decay.
        patience: Evaluations without improvement before stopping (0 or ``None``: train every epoch and keep
            the best validation state).
        augment: Random rotations of every training sample.
        wta_weight: Weight of the winner-takes-all term of :func:`predictor_loss`.
        checkpoint_path: Save / resume here.
        seed: Seeds the shuffling and the augmentation (through the global torch RNG).
        desc: Label of the progress bar.
        verbose: Progress bar (``None``: on a terminal only).
    """
    if len(train) == 0:
        raise DataError("no training samples")
    scale = position_scale(train)
    device = _device_of(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    # Shuffling and augmentation draw from the global torch RNG, whose state fit_epochs checkpoints,
    # so a resumed run continues with exactly the draws an uninterrupted one would have made.
    torch.manual_seed(seed)

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        order = torch.randperm(len(train))
        total, count = 0.0, 0
        for start in range(0, len(train), batch_size):
            batch = train.index(order[start : start + batch_size])
            if augment:
                batch = rotate(batch, torch.rand(len(batch)) * 2 * math.pi)
            batch = batch.to(device)
            loss = predictor_loss(model(batch), batch.future, scale, wta_weight)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        return {"loss": total / count}

    def evaluate() -> float:
        return -evaluate_predictor(model, val)["ade"]

    return fit_epochs(
        model,
        optimizer,
        train_epoch,
        evaluate if val is not None and len(val) else None,
        epochs,
        early_stopping=EarlyStopping(patience=patience or None, mode="max"),
        checkpoint_path=checkpoint_path,
        checkpoint_every=1,
        desc=desc,
        verbose=verbose,
    )


@torch.no_grad()
def evaluate_predictor(model: nn.Module, batch: SceneBatch, batch_size: int = 2048, without_neighbours: bool = False) -> dict[str, float]:
    """Mean minADE / minFDE (and NLL for probabilistic models) over ``batch``; ``without_neighbours``
    cuts every edge at test time (the paper's Table 1 ablation)."""
    device = _device_of(model)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    sums: dict[str, float] = {}
    for start in range(0, len(batch), batch_size):
        part = batch.index(np.arange(start, min(start + batch_size, len(batch))))
        if without_neighbours:
            part = part.without_neighbours()
        part = part.to(device)
        for name, value in trajectory_errors(model(part), part.future).items():
            sums[name] = sums.get(name, 0.0) + float(value.double().sum())
    if was_training:
        model.train()
    return {name: total / len(batch) for name, total in sums.items()}
