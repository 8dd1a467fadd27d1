"""A small convolutional backbone, pre-trained on held-out images and frozen: the paper's setting in small.

DIVA linearises a *pre-trained* network around its weights; in every experiment of the paper only the last
layer is linearised, so the features are the penultimate activations of a frozen ImageNet ResNet-34. No
pre-trained weights can be had offline, so the experiment can pre-train this network on a disjoint,
cleanly labelled part of the same dataset (``--set features=cnn``) and hand its penultimate features to
DIVA. Training shows progress and resumes from its checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from iclr22.core.errors import DataError
from iclr22.core.training import fit_epochs

__all__ = ["SmallConvNet", "pretrain_backbone", "extract_features", "as_image_batch"]


class SmallConvNet(nn.Module):
    """``conv3x3(32) - ReLU - maxpool - conv3x3(64) - ReLU - maxpool - linear(feature_dim) - ReLU - linear(C)``.

    Args:
        in_channels: 1 for greyscale, 3 for RGB.
        image_size: Height (= width) of the input images; must be divisible by 4.
        num_classes: Outputs of the classification layer used for pre-training.
        feature_dim: Width of the penultimate layer, the features handed to DIVA.
    """

    def __init__(self, in_channels: int, image_size: int, num_classes: int, feature_dim: int = 128) -> None:
        super().__init__()
        if image_size % 4:
            raise DataError(f"SmallConvNet needs an image size divisible by 4, got {image_size}")
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * (image_size // 4) ** 2, feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.conv1, self.conv2, self.fc, self.head):
            layer.reset_parameters()

    def features(self, images: Tensor) -> Tensor:
        """Penultimate activations ``[N, feature_dim]``."""
        h = nn.functional.max_pool2d(torch.relu(self.conv1(images)), 2)
        h = nn.functional.max_pool2d(torch.relu(self.conv2(h)), 2)
        return torch.relu(self.fc(h.flatten(1)))

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images))


def as_image_batch(images: np.ndarray) -> Tensor:
    """Images ``[N, H, W]`` or ``[N, H, W, C]`` (already scaled, e.g. to [0, 1]) → float32 ``[N, C, H, W]``."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        x = x.permute(0, 3, 1, 2)
    else:
        raise DataError(f"expected images [N, H, W] or [N, H, W, C], got shape {tuple(x.shape)}")
    return x


def pretrain_backbone(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    epochs: int = 6,
    batch_size: int = 64,
    lr: float = 1e-3,
    feature_dim: int = 128,
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    device: str | torch.device = "cpu",
    verbose: bool | None = None,
) -> SmallConvNet:
    """Train :class:`SmallConvNet` with Adam and cross-entropy on ``(images, labels)``, then freeze it.

    The weights are drawn on the CPU from ``seed`` and then moved to ``device``, where the training runs;
    the shuffling draws from the global CPU generator, so a run resumed from ``checkpoint_path`` shuffles
    like an uninterrupted one. ``verbose``: the progress bar (``None``: on a terminal only).
    """
    x = as_image_batch(images).to(device)
    y = torch.as_tensor(labels, dtype=torch.long).to(device)
    torch.manual_seed(seed)
    net = SmallConvNet(x.shape[1], x.shape[2], num_classes, feature_dim).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    def train_epoch(epoch: int) -> dict[str, float]:
        net.train()
        # The global RNG, which fit_epochs checkpoints: a resumed run shuffles exactly like an uninterrupted one.
        order = torch.randperm(len(y)).to(device)
        total = 0.0
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        return {"loss": total / len(y)}

    fit_epochs(net, optimizer, train_epoch, None, epochs, checkpoint_path=checkpoint_path, checkpoint_every=1, desc="pre-train backbone", verbose=verbose)
    net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


@torch.no_grad()
def extract_features(net: SmallConvNet, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Frozen penultimate features (float64 ``[N, feature_dim]``), computed on the network's device."""
    device = next(net.parameters()).device
    x = as_image_batch(images)
    return torch.cat([net.features(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]).double().cpu().numpy()
