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
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import fit_epochs
from iclr22.core.validation import check_array, check_consistent_length
from iclr22.idgbench.model import BetaVAE, EncoderWithReadout, LinearReadout, MLPReadout

__all__ = [
    "images_to_tensor",
    "predict",
    "fit_regressor",
    "fit_beta_vae",
    "fit_linear_readout",
    "fit_mlp_readout",
    "scheduled_lr",
    "TrainingConfig",
    "LrSchedule",
    "Readout",
]


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


#: The supervised learning-rate schedules.
LrSchedule = Literal["cosine", "constant"]
#: How the β-VAE's frozen posterior means are read out.
Readout = Literal["mlp", "linear"]


@dataclass
class TrainingConfig:
    """The resolved optimisation settings of one fit (built by
    :meth:`iclr22.idgbench.estimator.FactorRegressor.training_config`, whose parameters document each
    field and hold their defaults).

    Attributes:
        epochs: Passes over the training images.
        batch_size: Images per step.
        lr: Adam learning rate (the peak, with a schedule).
        lr_schedule: ``"cosine"`` (decay to 0 over all steps of the supervised training) or ``"constant"``.
        warmup: Share of the supervised steps over which the learning rate rises linearly from 0 to ``lr``.
        weight_decay: Adam weight decay.
        vae_lr: Adam learning rate of the β-VAE.
        vae_epochs: Passes of unsupervised β-VAE training (``None``: ``epochs``).
        beta: β of the β-VAE.
        readout: How the β-VAE's frozen posterior means are read out (``"mlp"`` or ``"linear"``).
        ridge: L2 penalty of the linear readout.
        device: ``"cpu"`` or ``"cuda[:N]"``; the model and each batch go there.
    """

    epochs: int
    batch_size: int
    lr: float
    lr_schedule: LrSchedule
    warmup: float
    weight_decay: float
    vae_lr: float
    vae_epochs: int | None
    beta: float
    readout: Readout
    ridge: float
    device: str

    def check(self) -> None:
        """Range and choice checks.

        Raises:
            ConfigError: naming the setting and what it takes.
        """
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be positive, got {self.epochs} and {self.batch_size}")
        if self.vae_epochs is not None and self.vae_epochs < 1:
            raise ConfigError(f"vae_epochs must be positive (or None: same as epochs), got {self.vae_epochs}")
        if self.lr_schedule not in get_args(LrSchedule):
            raise ConfigError(f"lr_schedule must be one of {', '.join(get_args(LrSchedule))}, got {self.lr_schedule!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ConfigError(f"warmup is a share of the training steps in [0, 1), got {self.warmup}")
        if self.readout not in get_args(Readout):
            raise ConfigError(f"readout must be one of {', '.join(get_args(Readout))}, got {self.readout!r}")
        if self.lr <= 0 or self.vae_lr <= 0:
            raise ConfigError(f"learning rates must be positive, got lr={self.lr}, vae_lr={self.vae_lr}")
        if self.weight_decay < 0 or self.ridge < 0:
            raise ConfigError(f"weight_decay and ridge must be >= 0, got {self.weight_decay} and {self.ridge}")


def _check_training_data(images: np.ndarray, targets: np.ndarray | None) -> None:
    check_array(images, "images", ndim=(3, 4), dtype=None)
    if targets is not None:
        check_array(targets, "targets", ndim=2, dtype=None)
        check_consistent_length(images=images, targets=targets)


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
    verbose: bool | None = None,
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
        verbose: Progress bar: ``None`` on a terminal only, else on / off.

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
    result = fit_epochs(model, optimizer, train_epoch, None, config.epochs, checkpoint_path=checkpoint_path, checkpoint_every=1, desc=desc, restore_best=False, verbose=verbose)
    return result.history


def fit_beta_vae(
    vae: BetaVAE,
    images: np.ndarray,
    config: TrainingConfig,
    seed: int = 0,
    checkpoint_path: str | os.PathLike | None = None,
    desc: str = "beta-vae",
    verbose: bool | None = None,
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
    return fit_epochs(vae, optimizer, train_epoch, None, epochs, checkpoint_path=checkpoint_path, checkpoint_every=1, desc=desc, restore_best=False, verbose=verbose).history


def fit_mlp_readout(
    encoder: nn.Module,
    images: np.ndarray,
    targets: np.ndarray,
    hidden: tuple[int, ...] = (256, 256),
    epochs: int = 30,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> EncoderWithReadout:
    """Fit an MLP ``ŷ = g(h)`` with MSE on frozen representations ``h = encoder(x)``.

    The representations are computed once; the readout (``hidden`` ReLU layers) is trained with Adam and a
    cosine-decayed learning rate over ``epochs`` passes. Cheap: the inputs are the encoder's outputs, not images.
    The readout trains on ``device`` (default: the encoder's).

    Returns:
        The encoder and its readout as one module mapping images to factors.
    """
    _check_training_data(images, targets)
    device = torch.device(device) if device is not None else _device_of(encoder)
    features = torch.as_tensor(predict(encoder, images), dtype=torch.float32).to(device)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.float32).to(device)
    torch.manual_seed(seed)
    readout = MLPReadout(features.shape[1], target.shape[1], hidden).to(device)
    optimizer = torch.optim.Adam(readout.parameters(), lr=lr)
    total_steps = epochs * math.ceil(len(features) / batch_size)
    step = 0
    readout.train()
    for epoch in range(epochs):
        for rows in _batches(len(features), batch_size, seed, epoch):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * step / total_steps))
            index = torch.from_numpy(rows).to(device)
            loss = nn.functional.mse_loss(readout(features[index]), target[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    readout.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return EncoderWithReadout(encoder, readout.to(_device_of(encoder)))


def fit_linear_readout(
    encoder: nn.Module, images: np.ndarray, targets: np.ndarray, ridge: float = 1e-3, device: str | torch.device | None = None
) -> EncoderWithReadout:
    """Fit ``ŷ = W h + b`` on frozen representations ``h = encoder(x)`` by ridge least squares.

    The least-squares solve runs on ``device`` (default: the encoder's), in float64.

    Returns:
        The encoder and its readout as one module mapping images to factors.
    """
    _check_training_data(images, targets)
    device = torch.device(device) if device is not None else _device_of(encoder)
    features = torch.as_tensor(predict(encoder, images), dtype=torch.float64).to(device)
    design = torch.cat([features, torch.ones(len(features), 1, dtype=torch.float64, device=device)], dim=1)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.float64).to(device)
    penalty = ridge * torch.eye(design.shape[1], dtype=torch.float64, device=device)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    solution = torch.linalg.solve(design.T @ design + penalty, design.T @ target)
    readout = LinearReadout(features.shape[1], target.shape[1])
    with torch.no_grad():
        readout.linear.weight.copy_(solution[:-1].T.float())
        readout.linear.bias.copy_(solution[-1].float())
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return EncoderWithReadout(encoder, readout.to(_device_of(encoder)))
