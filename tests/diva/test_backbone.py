"""The frozen CNN backbone of ``--set features=cnn``: resumable, deterministic pre-training."""

from __future__ import annotations

import numpy as np
import torch

from iclr22.data.images import load_digits
from iclr22.diva.backbone import extract_features, pretrain_backbone


def digits(n: int = 300):
    data = load_digits()
    return data.images[:n].astype(np.float32) / 16.0, data.labels[:n]


def test_pretraining_resumes_from_its_checkpoint_with_the_same_numbers(tmp_path):
    x, y = digits()
    straight = pretrain_backbone(x, y, 10, epochs=3, seed=1)
    path = tmp_path / "backbone.pt"
    pretrain_backbone(x, y, 10, epochs=2, seed=1, checkpoint_path=path)  # "interrupted" after 2 epochs
    resumed = pretrain_backbone(x, y, 10, epochs=3, seed=1, checkpoint_path=path)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a, b)


def test_frozen_features_separate_the_classes():
    x, y = digits(600)
    net = pretrain_backbone(x[:300], y[:300], 10, epochs=8, seed=0)
    assert not any(p.requires_grad for p in net.parameters())
    features = extract_features(net, x[300:])
    assert features.shape == (300, 128) and features.dtype == np.float64
    # nearest class mean on the frozen features of unseen images
    means = np.stack([features[y[300:] == c].mean(0) for c in range(10)])
    predicted = np.argmin(((features[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (predicted == y[300:]).mean() > 0.8
