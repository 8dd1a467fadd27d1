"""Memory: the default path never allocates an ``N x N`` matrix when ``d < N`` (O(N d + d^2), not O(N^2)).

Every tensor that any torch op returns, in the forward pass and in autograd's backward, is recorded by a
dispatch mode; the largest one must be of the size of the feature matrix, far below ``N^2`` elements.
The speed and the resident memory at N = 10,000 are in ``benchmarks/diva_loo_speed.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from iclr22.diva import DIVA, dataset_derivative, find_label_issues
from iclr22.diva.model import loo_predictions, one_hot

N, D, C = 400, 10, 3


class LargestTensor(TorchDispatchMode):
    """Remembers the largest tensor (in elements) returned by any aten op run inside the ``with`` block."""

    def __init__(self) -> None:
        super().__init__()
        self.numel, self.op = 0, ""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.numel() > self.numel:
                self.numel, self.op = t.numel(), f"{func} -> {tuple(t.shape)}"
        return out


def data(n: int = N, d: int = D, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, C, n)


def test_estimator_default_path_stays_within_n_times_d():
    x, y = data()
    with LargestTensor() as record:
        model = DIVA().fit(x, y)  # lambda search, derivative, lr="auto" Reweight over its whole grid, refit
    assert model.steps_ >= 1
    assert record.numel <= N * (D + 1), record.op  # Z with its intercept column
    assert record.numel < N * N / 30


def test_derivative_and_label_issues_stay_within_n_times_d():
    x, y = data()
    xv, yv = data(n=150, seed=1)
    with LargestTensor() as record:
        dataset_derivative(x, y)
        dataset_derivative(x, y, X_val=xv, y_val=yv)  # Prop. 2: no N x N_val matrix either
        find_label_issues(x, y)
    assert record.numel <= N * (D + 1), record.op


def test_the_recorder_sees_the_n_by_n_matrix_of_the_dual_form():
    """The check above would catch an N x N matrix: the dual form (chosen only when d > N) forms one."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(N, D, generator=g, dtype=torch.float64)
    y = one_hot(torch.randint(0, C, (N,), generator=g), C)
    alpha = torch.ones(N, dtype=torch.float64, requires_grad=True)
    with LargestTensor() as record:
        ((loo_predictions(z, y, alpha, 1.0, form="dual") - y) ** 2).sum().backward()
    assert record.numel >= N * N
