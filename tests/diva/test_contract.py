"""DIVA follows the toolkit's estimator contract: scikit-learn habits, checks in fit, save/load without pickle."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone

from iclr22.core.errors import ConfigError
from iclr22.core.estimator import NotFittedError
from iclr22.diva import DIVA, find_label_issues


def data(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(3, 5))
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(size=(n, 5)), y


def test_clone_gives_equal_params():
    model = DIVA(reg=0.5, steps=2, lr=1.0, lr_grid=(0.5, 1.0), loss="ce", objective="loo", epsilon=0.1, form="primal", verbose=False)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()


@pytest.mark.parametrize("call", ["predict", "decision_function", "score", "label_issues", "save"])
def test_fitted_only_calls_before_fit_raise_not_fitted(call, tmp_path):
    x, y = data()
    model = DIVA()
    args = {"predict": (x,), "decision_function": (x,), "score": (x, y), "label_issues": (), "save": (tmp_path / "m",)}[call]
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(model, call)(*args)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        getattr(model, call)(*args)


def test_fit_returns_self_and_save_load_predicts_identically(tmp_path):
    x, y = data()
    names = np.array(["ant", "bee", "cat"])[y]  # string labels survive the round trip too
    model = DIVA(steps=2, lr="auto")
    assert model.fit(x, names) is model
    folder = model.save(tmp_path / "m")
    assert (folder / "estimator.json").is_file() and (folder / "state.pt").is_file()
    loaded = DIVA.load(folder)
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert np.array_equal(loaded.decision_function(x), model.decision_function(x))
    assert np.array_equal(loaded.label_issues(), model.label_issues())
    assert np.array_equal(loaded.weights_, model.weights_) and np.array_equal(loaded.derivative_, model.derivative_)
    assert loaded.selection_errors_ == model.selection_errors_ and loaded.reg_scores_ == model.reg_scores_
    assert (loaded.reg_, loaded.lr_, loaded.steps_, loaded.loss_history_) == (model.reg_, model.lr_, model.steps_, model.loss_history_)


@pytest.mark.parametrize(
    "params, name",
    [({"loss": "hinge"}, "loss"), ({"form": "sideways"}, "form"), ({"objective": "test"}, "objective"), ({"lr": "fast"}, "lr"), ({"reg": "none"}, "reg")],
)
def test_a_value_outside_its_literal_is_a_config_error_in_fit_not_init(params, name):
    x, y = data()
    model = DIVA(**params)  # __init__ only stores
    assert getattr(model, name) == params[name]
    with pytest.raises(ConfigError, match=f"parameter '{name}'"):
        model.fit(x, y)


def test_the_device_parameter_is_where_it_computes():
    x, y = data()
    with pytest.raises(RuntimeError):
        DIVA(device="nosuchdevice").fit(x, y)
    assert DIVA(device="cpu").fit(x, y).coef_.shape == (6, 3)


def test_functional_entry_point_is_the_estimators_label_issues():
    x, y = data(seed=1)
    y = y.copy()
    y[:5] = (y[:5] + 1) % 3
    issues, scores = find_label_issues(x, y, return_scores=True)
    model = DIVA(steps=0).fit(x, y)
    assert np.array_equal(issues, model.label_issues()) and np.array_equal(scores, model.derivative_)
    with pytest.raises(ConfigError, match="parameter 'loss'"):
        find_label_issues(x, y, loss="hinge")
