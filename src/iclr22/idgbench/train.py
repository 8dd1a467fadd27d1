"""Training the model families on a split's training images, and predicting factors.

Supervised families (MLP, CNN, CoordConv, ResNet, ViT) regress all normalised factors end to end with
the mean squared error — categorical factors such as shape are regressed like the others, there is no
classification head (the paper's protocol). The β-VAE is first trained without labels on the same
training images; a readout from its frozen posterior means to the factors is then fit on the training
labels — by default a small MLP trained with MSE (like the readout the paper trains on the representations
of its un- and weakly supervised models), or a linear map by ridge least squares (``readout="linear"``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import fit_epochs
from iclr22.idgbench.model import MODEL_FAMILIES, BetaVAE, EncoderWithReadout, LinearReadout, MLPReadout, build_model

__all__ = ["images_to_tensor", "predict", "fit_regressor", "fit_beta_vae", "fit_linear_readout", "fit_mlp_readout", "scheduled_lr", "FactorRegressor", "TrainingConfig"]


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images ``[N, H, W]`` or ``[N, H, W, C]`` → float ``[N, C, H, W]`` in ``[0, 1]``.

    Binary images stored as 0/1 (dSprites) are kept as 0/1; 0..255 images are divided by 255.
    """
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        array = np.transpose(array, (0, 3, 1, 2))
    else:
        raise DataError(f"images: expected [N, H, W] or [N, H, W, C], got shape {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(array)).float()
    if array.dtype == np.uint8 and array.size and array.max() > 1:
        tensor /= 255.0
    if array.dtype != np.uint8 and array.size and not torch.isfinite(tensor).all():
        raise DataError("images hold NaN/inf values")
    return tensor


def predict(model: Callable[[Any], Any], images: np.ndarray, batch_size: int = 512, num_outputs: int | None = None) -> np.ndarray:
    """Run a model on uint8 images in batches and return float64 ``[N, K]`` predictions.

    Args:
        model: A ``torch.nn.Module`` (called on float tensors, in eval mode, without gradients) or any
            callable taking a float NumPy batch ``[B, C, H, W]``.
        images: uint8 images.
        batch_size: Images per call.
        num_outputs: Expected ``K``; a model with another output size raises :class:`DataError`.
    """
    outputs = []
    is_module = isinstance(model, nn.Module)
    was_training = model.training if is_module else False
    if is_module:
        model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                batch = images_to_tensor(images[start : start + batch_size])
                out = model(batch.to(_device_of(model))) if is_module else model(batch.numpy())
                out = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
                if out.ndim != 2 or out.shape[0] != len(batch) or (num_outputs is not None and out.shape[1] != num_outputs):
                    expected = f"[{len(batch)}, {num_outputs if num_outputs is not None else 'K'}]"
                    raise DataError(f"model output has shape {tuple(out.shape)} for a batch of {len(batch)} images; expected {expected} (one value per factor)")
                outputs.append(out.astype(np.float64))
    finally:
        if is_module and was_training:
            model.train()
    if not outputs:
        raise DataError("predict: no images given")
    return np.concatenate(outputs)


def _device_of(module: nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


@dataclass
class TrainingConfig:
    """Optimisation settings shared by the families.

    Attributes:
        epochs: Passes over the training images.
        batch_size: Images per step.
        lr: Adam learning rate (the peak, with a schedule).
        lr_schedule: ``"cosine"`` (decay to 0 over all steps of the supervised training) or ``"constant"``.
        warmup: Share of the supervised steps over which the learning rate rises linearly from 0 to ``lr``
            before the schedule starts (0: none).
        weight_decay: Adam weight decay.
        vae_lr: Adam learning rate of the β-VAE (disentanglement_lib uses 1e-4; more is needed for few epochs).
        vae_epochs: Passes of unsupervised β-VAE training (``None``: ``epochs``).
        beta: β of the β-VAE.
        readout: How the β-VAE's frozen posterior means are read out: ``"mlp"`` (a small MLP trained with
            MSE, :func:`fit_mlp_readout`) or ``"linear"`` (ridge least squares, :func:`fit_linear_readout`).
        ridge: L2 penalty of the linear readout.
        device: ``"cpu"`` or ``"cuda[:N]"``; batches are moved there one at a time.
    """

    epochs: int = 4
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    warmup: float = 0.0
    weight_decay: float = 0.0
    vae_lr: float = 5e-4
    vae_epochs: int | None = None
    beta: float = 4.0
    readout: str = "mlp"
    ridge: float = 1e-3
    device: str = "cpu"

    def check(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be positive, got {self.epochs} and {self.batch_size}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ConfigError(f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ConfigError(f"warmup is a share of the training steps in [0, 1), got {self.warmup}")
        if self.readout not in ("mlp", "linear"):
            raise ConfigError(f"readout must be 'mlp' or 'linear', got {self.readout!r}")
        if self.lr <= 0 or self.vae_lr <= 0:
            raise ConfigError(f"learning rates must be positive, got lr={self.lr}, vae_lr={self.vae_lr}")


def _check_training_data(images: np.ndarray, targets: np.ndarray | None) -> None:
    if len(images) == 0:
        raise DataError("no training images")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim != 2 or len(targets) != len(images):
            raise DataError(f"targets: expected [{len(images)}, K] (one row per image), got {targets.shape}")
        if not np.all(np.isfinite(targets)):
            raise DataError("targets hold NaN/inf values")


def _batches(num: int, batch_size: int, seed: int, epoch: int):
    # The order depends only on (seed, epoch), so a run resumed from a checkpoint sees the same batches.
    order = torch.randperm(num, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    for start in range(0, num, batch_size):
        yield order[start : start + batch_size].numpy()


def scheduled_lr(config: TrainingConfig, step: int, total_steps: int) -> float:
    """The learning rate at a global step: linear warm-up over ``config.warmup`` of the steps, then constant
    or cosine decay to 0 at ``total_steps``. A function of the step alone, so a resumed run follows the same
    schedule."""
    warmup_steps = int(config.warmup * total_steps)
    if step < warmup_steps:
        return config.lr * (step + 1) / warmup_steps
    if config.lr_schedule == "constant":
        return config.lr
    return 0.5 * config.lr * (1.0 + math.cos(math.pi * (step - warmup_steps) / (total_steps - warmup_steps)))


def fit_regressor(
    model: nn.Module,
    images: np.ndarray,
    targets: np.ndarray,
    config: TrainingConfig,
    seed: int = 0,
    checkpoint_path: str | os.PathLike | None = None,
    desc: str = "train",
) -> list[dict[str, float]]:
    """Minimise ``mean ‖model(x) − y‖²`` over the training images with Adam (the supervised protocol).

    Args:
        model: Maps ``[B, C, H, W]`` to ``[B, K]``.
        images: uint8 training images.
        targets: ``[N, K]`` normalised factors.
        config: Optimisation settings.
        seed: Seeds the batch order.
        checkpoint_path: Resume from / save to this file (per epoch).
        desc: Progress-bar label.

    Returns:
        Per-epoch logs (``loss``).
    """
    config.check()
    _check_training_data(images, targets)
    device = torch.device(config.device)
    model.to(device)
    target_tensor = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    steps_per_epoch = math.ceil(len(images) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        total, count = 0.0, 0
        for i, rows in enumerate(_batches(len(images), config.batch_size, seed, epoch)):
            for group in optimizer.param_groups:
                group["lr"] = scheduled_lr(config, epoch * steps_per_epoch + i, total_steps)
            x, y = images_to_tensor(images[rows]).to(device), target_tensor[rows].to(device)
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
            count += len(rows)
        return {"loss": total / count}

    with torch.no_grad():
        out = model.eval()(images_to_tensor(images[:1]).to(device))
    if out.ndim != 2 or out.shape[1] != target_tensor.shape[1]:
        raise DataError(f"model output has shape {tuple(out.shape)} for one image; expected [1, {target_tensor.shape[1]}] (one value per factor)")
    result = fit_epochs(model, optimizer, train_epoch, None, config.epochs, checkpoint_path=checkpoint_path, checkpoint_every=1, desc=desc, restore_best=False)
    return result.history


def fit_beta_vae(
    vae: BetaVAE,
    images: np.ndarray,
    config: TrainingConfig,
    seed: int = 0,
    checkpoint_path: str | os.PathLike | None = None,
    desc: str = "beta-vae",
) -> list[dict[str, float]]:
    """Train a β-VAE without labels: minimise ``BCE(x, x̂) + β · KL(q(z|x) ‖ N(0, I))`` (Higgins et al.)."""
    config.check()
    _check_training_data(images, None)
    device = torch.device(config.device)
    vae.to(device)
    optimizer = torch.optim.Adam(vae.parameters(), lr=config.vae_lr)
    vae.beta = config.beta

    def train_epoch(epoch: int) -> dict[str, float]:
        vae.train()
        totals = np.zeros(3)
        for rows in _batches(len(images), config.batch_size, seed, epoch):
            loss, reconstruction, kl = vae.loss(images_to_tensor(images[rows]).to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals += np.array([float(loss.detach()), float(reconstruction.detach()), float(kl.detach())]) * len(rows)
        totals /= len(images)
        return {"loss": float(totals[0]), "reconstruction": float(totals[1]), "kl": float(totals[2])}

    epochs = config.vae_epochs or config.epochs
    return fit_epochs(vae, optimizer, train_epoch, None, epochs, checkpoint_path=checkpoint_path, checkpoint_every=1, desc=desc, restore_best=False).history


def fit_mlp_readout(
    encoder: nn.Module,
    images: np.ndarray,
    targets: np.ndarray,
    hidden: tuple[int, ...] = (256, 256),
    epochs: int = 30,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
) -> EncoderWithReadout:
    """Fit an MLP ``ŷ = g(h)`` with MSE on frozen representations ``h = encoder(x)``.

    The representations are computed once; the readout (``hidden`` ReLU layers) is trained with Adam and a
    cosine-decayed learning rate over ``epochs`` passes. Cheap: the inputs are the encoder's outputs, not images.

    Returns:
        The encoder and its readout as one module mapping images to factors.
    """
    _check_training_data(images, targets)
    features = torch.as_tensor(predict(encoder, images), dtype=torch.float32)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    torch.manual_seed(seed)
    readout = MLPReadout(features.shape[1], target.shape[1], hidden)
    optimizer = torch.optim.Adam(readout.parameters(), lr=lr)
    total_steps = epochs * math.ceil(len(features) / batch_size)
    step = 0
    readout.train()
    for epoch in range(epochs):
        for rows in _batches(len(features), batch_size, seed, epoch):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * step / total_steps))
            loss = nn.functional.mse_loss(readout(features[rows]), target[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    readout.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return EncoderWithReadout(encoder, readout.to(_device_of(encoder)))


def fit_linear_readout(encoder: nn.Module, images: np.ndarray, targets: np.ndarray, ridge: float = 1e-3) -> EncoderWithReadout:
    """Fit ``ŷ = W h + b`` on frozen representations ``h = encoder(x)`` by ridge least squares.

    Returns:
        The encoder and its readout as one module mapping images to factors.
    """
    _check_training_data(images, targets)
    features = torch.as_tensor(predict(encoder, images), dtype=torch.float64)
    design = torch.cat([features, torch.ones(len(features), 1, dtype=torch.float64)], dim=1)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.float64)
    penalty = ridge * torch.eye(design.shape[1], dtype=torch.float64)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    solution = torch.linalg.solve(design.T @ design + penalty, design.T @ target)
    readout = LinearReadout(features.shape[1], target.shape[1])
    with torch.no_grad():
        readout.linear.weight.copy_(solution[:-1].T.float())
        readout.linear.bias.copy_(solution[-1].float())
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return EncoderWithReadout(encoder, readout.to(_device_of(encoder)))


class FactorRegressor:
    """Train one of the benchmark's model families on images and predict their factors (scikit-learn style).

    Args:
        family: One of :data:`~iclr22.idgbench.model.MODEL_FAMILIES` (``mlp``, ``cnn``, ``coordconv``,
            ``resnet``, ``vit``, ``betavae``).
        config: Optimisation settings (:class:`TrainingConfig`).
        seed: Seeds initialisation and batch order.
        checkpoint_dir: Folder for resumable per-epoch checkpoints (``None``: none).

    Attributes:
        model_: The trained module mapping ``[B, C, H, W]`` to ``[B, K]``.
        history_: Per-epoch training logs.

    Example:
        >>> reg = FactorRegressor("cnn", TrainingConfig(epochs=2)).fit(train_images, train_targets)
        >>> predictions = reg.predict(test_images)
    """

    def __init__(self, family: str = "cnn", config: TrainingConfig | None = None, seed: int = 0, checkpoint_dir: str | Path | None = None) -> None:
        if family not in MODEL_FAMILIES:
            raise ConfigError(f"unknown model '{family}'; known: {', '.join(MODEL_FAMILIES)}")
        self.family = family
        self.config = config or TrainingConfig()
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir

    def _checkpoint(self, name: str) -> Path | None:
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / f"{name}.pt"

    def fit(self, images: np.ndarray, targets: np.ndarray) -> FactorRegressor:
        """Train on uint8 images ``[N, H, W(, C)]`` and normalised factors ``[N, K]``."""
        _check_training_data(images, targets)
        torch.manual_seed(self.seed)
        image_shape = tuple(images_to_tensor(images[:1]).shape[1:])
        model = build_model(self.family, image_shape, int(np.asarray(targets).shape[1]))
        if isinstance(model, BetaVAE):
            self.history_ = fit_beta_vae(model, images, self.config, self.seed, self._checkpoint(f"{self.family}-vae"), desc="beta-vae")
            if self.config.readout == "mlp":
                self.model_ = fit_mlp_readout(model, images, targets, seed=self.seed)
            else:
                self.model_ = fit_linear_readout(model, images, targets, self.config.ridge)
        else:
            self.history_ = fit_regressor(model, images, targets, self.config, self.seed, self._checkpoint(self.family), desc=self.family)
            self.model_ = model
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted normalised factors ``[N, K]``."""
        if not hasattr(self, "model_"):
            raise ConfigError("FactorRegressor.predict called before fit")
        return predict(self.model_, images)
