"""The Python API: behaviour on easy synthetic problems, the linearised network, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import NotFittedError
from iclr22.diva import (
    DIVA,
    loo_error,
    LinearizedNetwork,
    RandomFourierFeatures,
    dataset_derivative,
    extend,
    find_label_issues,
    ntk_features,
    reweight,
    select_reg,
)
from iclr22.diva.experiment import inject_label_noise
from iclr22.diva.model import brute_force_loo_predictions


def blobs(n: int = 300, d: int = 10, classes: int = 4, noise: float = 0.1, seed: int = 0, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, d))
    y = rng.integers(0, classes, n)
    x = centers[y] + spread * rng.normal(size=(n, d))
    noisy, mask = inject_label_noise(y, noise, rng, classes)
    return x, y, noisy, mask, centers


def test_derivative_ranks_flipped_labels_first_and_beats_chance_by_far():
    x, _, noisy, mask, _ = blobs()
    scores = dataset_derivative(x, noisy)
    assert roc_auc_score(mask, scores) > 0.97
    issues = find_label_issues(x, noisy)
    assert issues.ndim == 1 and len(issues) >= mask.sum() * 0.8
    # ranked: the derivative decreases along the returned indices, all >= epsilon = 0
    assert np.all(np.diff(scores[issues]) <= 0) and np.all(scores[issues] >= 0)
    recall = np.isin(np.flatnonzero(mask), issues).mean()
    assert recall > 0.9


def test_reweight_lowers_the_loo_loss_and_downweights_mislabelled_samples():
    x, _, noisy, mask, _ = blobs(seed=1)
    result = reweight(x, noisy, steps=3, lr=1.0)
    assert result.loss_history[-1] < result.loss_history[0]
    assert np.all(result.weights >= 0)
    assert result.weights[mask].mean() < 0.85 * result.weights[~mask].mean()


def test_reweight_beats_uniform_weights_on_heavy_noise():
    x, y, noisy, _, centers = blobs(n=400, noise=0.3, seed=2, spread=2.5)
    rng = np.random.default_rng(20)
    yt = rng.integers(0, 4, 2000)
    xt = centers[yt] + 2.5 * rng.normal(size=(2000, 10))
    uniform = DIVA(reg=10.0, steps=0).fit(x, noisy)
    weighted = DIVA(reg=10.0, steps=3, lr=1.0).fit(x, noisy)
    assert weighted.score(xt, yt) > uniform.score(xt, yt)


def test_validation_objective_uses_prop2_and_agrees_with_function():
    x, _, noisy, mask, _ = blobs(seed=3)
    xv, yv, _, _, _ = blobs(n=100, seed=3, noise=0.0)
    model = DIVA(reg=1.0, steps=1, lr=0.5).fit(x, noisy, X_val=xv, y_val=yv)
    assert model.objective_ == "val"
    assert np.allclose(model.derivative_, dataset_derivative(x, noisy, xv, yv, reg=1.0))
    assert roc_auc_score(mask, model.derivative_) > 0.9


def test_estimator_learned_state_and_string_labels():
    x, y, _, _, _ = blobs(noise=0.0, seed=4)
    names = np.array(["ant", "bee", "cat", "dog"])[y]
    model = DIVA(steps=1).fit(x, names)
    assert list(model.classes_) == ["ant", "bee", "cat", "dog"]
    assert model.coef_.shape == (11, 4) and model.weights_.shape == (300,) and model.reg_ > 0
    assert set(model.predict(x[:5])) <= set(model.classes_)
    assert model.score(x, names) > 95  # percent
    assert model.reg_ in model.reg_scores_ and model.reg_scores_[model.reg_] == min(model.reg_scores_.values())
    assert select_reg(x, names) == pytest.approx(model.reg_)


def test_extend_adds_correctly_labelled_pool_samples_before_wrong_ones():
    x, y, _, _, _ = blobs(n=360, noise=0.0, seed=5, spread=2.0)
    points = torch.as_tensor(x)
    feature_map = RandomFourierFeatures(10, 300, float(torch.pdist(points).median()), torch.Generator().manual_seed(0))
    z = feature_map(points).numpy()
    pool_y, wrong = inject_label_noise(y[60:], 0.5, np.random.default_rng(0), 4)
    result = extend(z[:60], y[:60], z[60:], pool_y, k=20, max_rounds=3, reg=1.0)
    assert 0 < len(result.selected) <= 60
    assert wrong[result.selected].mean() < 0.1  # half the pool is wrong, the picks almost never are
    assert set(np.flatnonzero(result.weights)) == set(result.selected)


def test_ntk_features_of_the_last_layer_are_the_penultimate_features():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x = torch.randn(9, 5)
    z = ntk_features(net, x, params=["2"])
    hidden = net[1](net[0](x)).detach()
    # d(sum_c f_c)/dW = 1_C (x) h, d/db = 1_C
    expected = torch.cat([hidden.repeat(1, 3), torch.ones(9, 3)], dim=1)
    assert torch.allclose(z, expected, atol=1e-6)


def test_ntk_features_match_per_sample_autograd():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    z = ntk_features(net, x, batch_size=2)
    for i in range(5):
        net.zero_grad()
        net(x[i : i + 1]).sum().backward()
        expected = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        assert torch.allclose(z[i], expected, atol=1e-12)


def test_linearized_network_fits_residual_targets_of_a_pretrained_head():
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4)).double()
    x, y, noisy, mask, _ = blobs(n=200, seed=6)
    xt = torch.as_tensor(x)
    lin = LinearizedNetwork(net, params=["2"])
    assert torch.allclose(lin(xt), net(xt))  # W = 0: f_lin = f_w0
    z, f0 = lin.features(xt).numpy(), lin.initial_outputs(xt).numpy()
    model = DIVA(steps=0, fit_intercept=False).fit(z, noisy, init_outputs=f0)
    assert roc_auc_score(mask, model.derivative_) > 0.9
    lin.set_linear_weights(torch.as_tensor(model.coef_))
    assert np.allclose(lin(xt).detach().numpy(), model.decision_function(z, init_outputs=f0))


# -------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": np.zeros(9)}, "y has 9 labels but X has 10 rows"),
        ({"y": np.zeros(10)}, "single class"),
        ({"X": np.where(np.eye(10, 3) > 0, np.nan, 1.0)}, "X: holds NaN"),
        ({"sample_weight": np.r_[np.ones(9), -0.5]}, "sample_weight: weights must be ≥ 0"),
        ({"sample_weight": np.zeros(10)}, "all zero"),
        ({"X": np.ones(10)}, "X: expected a 2-D array"),
        ({"X_val": np.ones((4, 3))}, "given together"),
        ({"X_val": np.ones((4, 2)), "y_val": np.zeros(4)}, "columns"),
        ({"X_val": np.ones((4, 3)), "y_val": np.full(4, 7)}, "label 7"),
    ],
)
def test_bad_input_raises_data_error_naming_the_problem(kwargs, match):
    rng = np.random.default_rng(0)
    args = {"X": rng.normal(size=(10, 3)), "y": np.arange(10) % 2}
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        dataset_derivative(**args, reg=1.0)


def test_bad_options_raise_config_error():
    x, y = np.random.default_rng(0).normal(size=(10, 3)), np.arange(10) % 2
    with pytest.raises(ConfigError, match="reg"):
        DIVA(reg=-1.0).fit(x, y)
    with pytest.raises(ConfigError, match="loss"):
        DIVA(loss="hinge").fit(x, y)
    with pytest.raises(ConfigError, match="steps"):
        DIVA(steps=-1).fit(x, y)
    with pytest.raises(ConfigError, match="lr"):
        DIVA(lr="fast").fit(x, y)
    with pytest.raises(ConfigError, match="lr_grid"):
        DIVA(lr="auto", lr_grid=(0.5, -1.0)).fit(x, y)
    with pytest.raises(NotFittedError, match="not fitted"):
        DIVA().predict(x)
    with pytest.raises(DataError, match="4 features, the model was fitted on 3"):
        DIVA(reg=1.0).fit(x, y).predict(np.ones((2, 4)))


def test_reweight_step_is_measured_against_the_largest_first_derivative():
    x, _, noisy, _, _ = blobs(seed=5)
    model = DIVA(reg=1.0, steps=1, lr=1.0).fit(x, noisy)
    worst = int(np.argmax(model.derivative_))
    assert model.step_scale_ == pytest.approx(1.0 / np.abs(model.derivative_).max())
    assert model.weights_[worst] == 0.0  # lr = 1: the most detrimental sample loses all its weight in one step
    assert np.allclose(model.weights_, np.clip(1.0 - model.derivative_ * model.step_scale_, 0.0, None))


def test_lr_auto_keeps_the_candidate_with_the_lowest_loo_error_and_refits_on_it():
    x, _, noisy, _, _ = blobs(seed=6, noise=0.2)
    model = DIVA(reg=1.0, steps=2, lr="auto", lr_grid=(0.5, 2.0)).fit(x, noisy)
    assert set(model.selection_errors_) == {(0.5, 1), (0.5, 2), (2.0, 1), (2.0, 2)}
    best = min(model.selection_errors_.values())
    assert model.selection_errors_[(model.lr_, model.steps_)] == best
    fixed = DIVA(reg=1.0, steps=model.steps_, lr=model.lr_).fit(x, noisy)
    assert np.allclose(model.weights_, fixed.weights_) and np.allclose(model.coef_, fixed.coef_)
    # the reported error is the leave-one-out error of those weights
    assert loo_error(x, noisy, model.weights_, reg=1.0) == pytest.approx(best)


def test_loo_error_predicts_a_dropped_sample_with_the_model_that_never_saw_it():
    x, _, noisy, _, _ = blobs(n=60, d=5, seed=7, noise=0.2)
    weights = np.ones(60)
    weights[:10] = 0.0
    z = torch.as_tensor(np.c_[x, np.ones(60)])
    targets = torch.nn.functional.one_hot(torch.as_tensor(noisy), 4).double()
    brute = brute_force_loo_predictions(z, targets, torch.as_tensor(weights), 2.0).numpy()
    assert loo_error(x, noisy, weights, reg=2.0) == pytest.approx(100.0 * np.mean(brute.argmax(1) != noisy))


# Every public entry point turns the issue's four kinds of bad input into a DataError naming the problem.
def _entry_points():
    def pool_of(x, y):
        return extend(x[:6], y[:6], x[6:], y[6:], k=2, reg=1.0)

    return {
        "DIVA.fit": lambda x, y, w: DIVA(reg=1.0, steps=1).fit(x, y, sample_weight=w),
        "reweight": lambda x, y, w: reweight(x, y, sample_weight=w, reg=1.0, steps=1),
        "dataset_derivative": lambda x, y, w: dataset_derivative(x, y, sample_weight=w, reg=1.0),
        "find_label_issues": lambda x, y, w: find_label_issues(x, y, reg=1.0),
        "select_reg": lambda x, y, w: select_reg(x, y, sample_weight=w),
        "loo_error": lambda x, y, w: loo_error(x, y, w, reg=1.0),
        "extend": lambda x, y, w: pool_of(x, y),
    }


BAD_INPUT = {
    "mismatched lengths": (lambda x, y, w: (x, y[:-1], None), r"labels but .* rows"),
    "a single class": (lambda x, y, w: (x, np.full_like(y, 3), None), "single class"),
    "NaN features": (lambda x, y, w: (np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), y, None), "NaN"),
    "negative weights": (lambda x, y, w: (x, y, np.r_[np.ones(len(y) - 1), -0.5]), "weights must be ≥ 0"),
}
TAKES_WEIGHTS = {"DIVA.fit", "reweight", "dataset_derivative", "select_reg", "loo_error"}


@pytest.mark.parametrize(
    "entry, case", [(e, c) for e in _entry_points() for c in BAD_INPUT if c != "negative weights" or e in TAKES_WEIGHTS]
)
def test_every_entry_point_rejects_bad_input_with_data_error(entry, case):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 3)), np.arange(12) % 3
    make, match = BAD_INPUT[case]
    with pytest.raises(DataError, match=match):
        _entry_points()[entry](*make(x, y, None))


def test_detrimental_set_at_epsilon_is_exactly_the_non_negative_derivatives():
    """The paper's rule (F1 at eps = 0): flag i iff dL/dalpha_i >= eps, i.e. down-weighting it lowers the loss."""
    x, _, noisy, mask, _ = blobs(seed=9)
    issues, scores = find_label_issues(x, noisy, return_scores=True)
    assert set(issues) == set(np.flatnonzero(scores >= 0.0))
    raised = find_label_issues(x, noisy, epsilon=float(np.median(scores[issues])))
    assert set(raised) == set(np.flatnonzero(scores >= np.median(scores[issues]))) and len(raised) < len(issues)
    # first-order meaning of the sign: a small step down on a flagged weight lowers L_LOO, on a helpful one raises it
    worst, best = int(issues[0]), int(np.argmin(scores))
    from iclr22.diva.train import _prepare, loo_loss

    problem = _prepare(x, noisy)
    reg = select_reg(x, noisy)
    base = float(loo_loss(problem, problem.weights, reg))
    assert scores[worst] > 0 > scores[best]
    for index in (worst, best):
        nudged = problem.weights.clone()
        nudged[index] -= 1e-3
        assert (float(loo_loss(problem, nudged, reg)) - base) * scores[index] < 0


def test_f1_of_the_experiment_is_sklearns_f1():
    from sklearn.metrics import f1_score as sklearn_f1

    from iclr22.diva.experiment import f1_score

    rng = np.random.default_rng(2)
    truth, flagged = rng.random(200) < 0.1, rng.random(200) < 0.3
    assert f1_score(flagged, truth) == pytest.approx(sklearn_f1(truth, flagged))


def test_api_defaults_use_the_experiments_step_rule():
    """``reweight`` and ``DIVA`` default to what ``iclr22 run diva`` does: eta and 1..3 steps chosen by LOO error."""
    import inspect

    from iclr22.diva.experiment import EXPERIMENT
    from iclr22.diva.train import DEFAULT_LR_GRID

    for dataset in ("digits", "mnist", "cifar10", "features"):
        defaults = EXPERIMENT.schema("diva").resolve(*EXPERIMENT.settings_for(dataset, quick=False))
        assert DIVA().lr == inspect.signature(reweight).parameters["lr"].default == defaults["lr"] == "auto"
        assert DIVA().steps == inspect.signature(reweight).parameters["steps"].default == defaults["steps"]
        assert tuple(DEFAULT_LR_GRID) == tuple(defaults["lr_grid"]) == DIVA().lr_grid
    x, _, noisy, _, _ = blobs(seed=10, noise=0.2)
    result = reweight(x, noisy, reg=1.0)
    errors = result.model.selection_errors_
    assert set(errors) == {(eta, step) for eta in DEFAULT_LR_GRID for step in range(1, defaults["steps"] + 1)}
    assert errors[(result.model.lr_, result.model.steps_)] == min(errors.values())
    assert loo_error(x, noisy, result.weights, reg=1.0) == pytest.approx(min(errors.values()))
