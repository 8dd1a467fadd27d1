"""DIVA's closed forms against brute force, autograd and finite differences (float64, 1e-8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.diva.model import (
    WeightedRidgeSystem,
    brute_force_loo_predictions,
    loo_predictions,
    one_hot,
    paper_loo_predictions,
)
from iclr22.diva.train import (
    _derivative,
    _loo_predictions_over_grid,
    _prepare,
    _validation_derivative,
    loo_loss,
    validation_loss,
)
from iclr22.diva.estimator import dataset_derivative

TOL = 1e-8


def random_problem(n: int = 60, d: int = 20, c: int = 3, seed: int = 0, zero_weights: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    labels = torch.randint(0, c, (n,), generator=g)
    y = one_hot(labels, c)
    alpha = 0.5 + torch.rand(n, generator=g, dtype=torch.float64)
    alpha[:zero_weights] = 0.0
    return z, y, labels, alpha


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_loo_matches_brute_force_refits(form):
    z, y, _, alpha = random_problem()
    fast = loo_predictions(z, y, alpha, reg=0.7, form=form)
    slow = brute_force_loo_predictions(z, y, alpha, reg=0.7)
    assert torch.allclose(fast, slow, atol=TOL, rtol=0)


def test_wide_features_dual_form_matches_brute_force():
    z, y, _, alpha = random_problem(n=25, d=80, seed=1)
    system = WeightedRidgeSystem(z, alpha, 0.3)
    assert system.form == "dual"  # auto picks the N x N system when d > N
    assert torch.allclose(loo_predictions(z, y, alpha, 0.3), brute_force_loo_predictions(z, y, alpha, 0.3), atol=TOL, rtol=0)


def test_paper_eq13_with_corrected_hat_matrix_matches_brute_force():
    z, y, _, alpha = random_problem(seed=2)
    assert torch.allclose(paper_loo_predictions(z, y, alpha, 0.5), brute_force_loo_predictions(z, y, alpha, 0.5), atol=TOL, rtol=0)


def test_zero_weight_rows_are_predictions_of_the_model_that_never_saw_them():
    z, y, _, alpha = random_problem(zero_weights=7, seed=3)
    loo = loo_predictions(z, y, alpha, 0.4)
    coef = WeightedRidgeSystem(z, alpha, 0.4).coef(y)
    assert torch.allclose(loo[:7], z[:7] @ coef, atol=TOL, rtol=0)
    assert torch.allclose(loo, brute_force_loo_predictions(z, y, alpha, 0.4), atol=TOL, rtol=0)


def test_dual_and_primal_systems_agree():
    z, y, _, alpha = random_problem(n=40, d=30, seed=4, zero_weights=3)
    primal = WeightedRidgeSystem(z, alpha, 0.9, "primal")
    dual = WeightedRidgeSystem(z, alpha, 0.9, "dual")
    assert torch.allclose(primal.coef(y), dual.coef(y), atol=TOL, rtol=0)
    assert torch.allclose(primal.fitted(y), dual.fitted(y), atol=TOL, rtol=0)
    assert torch.allclose(primal.leverage(), dual.leverage(), atol=TOL, rtol=0)
    m = torch.randn(30, 3, dtype=torch.float64)
    assert torch.allclose(primal.apply_covariance(m), dual.apply_covariance(m), atol=TOL, rtol=0)
    # P = Z C Z^T formed explicitly
    hat = z @ torch.linalg.inv(z.T @ (alpha[:, None] * z) + 0.9 * torch.eye(30, dtype=torch.float64)) @ z.T
    assert torch.allclose(primal.leverage(), torch.diagonal(hat), atol=TOL, rtol=0)


def test_prop1_model_derivative_is_c_z_residual():
    """dw/dalpha_i = C_alpha z_i (y_i - w^T z_i)^T (Prop. 1) against the autograd Jacobian."""
    z, y, _, alpha = random_problem(n=15, d=6, seed=5)
    jac = torch.autograd.functional.jacobian(lambda a: WeightedRidgeSystem(z, a, 0.5).coef(y), alpha)  # [d, C, N]
    system = WeightedRidgeSystem(z, alpha, 0.5)
    residual = y - z @ system.coef(y)
    closed = torch.einsum("di,ic->dci", system.apply_covariance(z.T), residual)
    assert torch.allclose(jac, closed, atol=TOL, rtol=0)


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("form", ["primal", "dual"])
def test_prop2_validation_derivative_closed_form_matches_autograd(loss, form):
    rng = np.random.default_rng(6)
    x, labels = rng.normal(size=(50, 12)), rng.integers(0, 4, 50)
    xv, yv = rng.normal(size=(30, 12)), rng.integers(0, 4, 30)
    problem = _prepare(x, labels, xv, yv, sample_weight=0.5 + rng.random(50))
    closed = _validation_derivative(problem, problem.weights, 0.8, loss, form)
    alpha = problem.weights.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(validation_loss(problem, alpha, 0.8, loss, form), alpha)
    assert torch.allclose(closed, auto, atol=TOL, rtol=0)


def test_loo_derivative_matches_central_finite_differences():
    rng = np.random.default_rng(7)
    problem = _prepare(rng.normal(size=(40, 8)), rng.integers(0, 3, 40), sample_weight=0.5 + rng.random(40))
    grad = _derivative(problem, problem.weights, 0.6, "mse", "auto", "loo")
    h = 1e-6
    for i in (0, 3, 17, 39):
        plus, minus = problem.weights.clone(), problem.weights.clone()
        plus[i] += h
        minus[i] -= h
        fd = (loo_loss(problem, plus, 0.6) - loo_loss(problem, minus, 0.6)) / (2 * h)
        assert abs(float(fd) - float(grad[i])) < 1e-6 * max(1.0, abs(float(grad[i])))


def test_loo_derivative_matches_derivative_of_brute_force_loo():
    """Autograd through N brute-force refits (the definition) equals the closed-form derivative."""
    rng = np.random.default_rng(8)
    x, labels = rng.normal(size=(25, 5)), rng.integers(0, 3, 25)
    problem = _prepare(x, labels)
    alpha = problem.weights.clone().requires_grad_(True)
    brute = ((brute_force_loo_predictions(problem.features, problem.targets, alpha, 0.4) - problem.targets) ** 2).sum()
    (expected,) = torch.autograd.grad(brute, alpha)
    got = dataset_derivative(x, labels, reg=0.4)
    assert np.allclose(got, expected.numpy(), atol=TOL, rtol=0)


def test_lambda_grid_path_equals_direct_loo():
    rng = np.random.default_rng(9)
    problem = _prepare(rng.normal(size=(70, 10)), rng.integers(0, 4, 70), sample_weight=rng.random(70))
    for reg, path in _loo_predictions_over_grid(problem, [0.01, 0.3, 5.0], "auto"):
        direct = loo_predictions(problem.features, problem.targets, problem.weights, reg)
        assert torch.allclose(path, direct, atol=TOL, rtol=0)
