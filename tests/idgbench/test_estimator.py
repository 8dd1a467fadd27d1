"""FactorRegressor follows the toolkit's estimator contract: clone, NotFittedError, fit returns self, checks in
fit (not __init__), save / load without pickle giving identical predictions; and the functional entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sklearn.base
import sklearn.exceptions
import torch

from iclr22.core.errors import ConfigError
from iclr22.core.estimator import NotFittedError
from iclr22.idgbench.estimator import FactorRegressor, benchmark_family


def _tiny(size: int = 16, n: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = (rng.random((n, size, size)) > 0.8).astype(np.uint8)
    targets = rng.random((n, 5)).astype(np.float32)
    return images, targets


def test_clone_gives_equal_params():
    reg = FactorRegressor("vit", epochs=2, lr=3e-4, readout="linear", seed=5, checkpoint_dir="x")
    copy = sklearn.base.clone(reg)
    assert copy is not reg and copy.get_params() == reg.get_params()


def test_predict_and_save_before_fit_raise_not_fitted(tmp_path):
    reg = FactorRegressor("mlp")
    images, _ = _tiny()
    for call in (lambda: reg.predict(images), lambda: reg.save(tmp_path / "m")):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
        with pytest.raises(sklearn.exceptions.NotFittedError):
            call()


@pytest.mark.parametrize("value", [{"family": "densenet"}, {"readout": "forest"}, {"lr_schedule": "step"}, {"epochs": "many"}, {"epochs": 0}, {"lr": -1.0}, {"warmup": 1.0}])
def test_bad_parameter_raises_config_error_in_fit_not_in_init(value):
    reg = FactorRegressor(**value)  # __init__ only stores
    assert reg.get_params()[next(iter(value))] == next(iter(value.values()))
    images, targets = _tiny(size=64, n=4)
    with pytest.raises(ConfigError, match=next(iter(value))):
        reg.fit(images, targets)


@pytest.mark.parametrize(
    "params, size",
    [({"family": "mlp"}, 16), ({"family": "resnet"}, 16), ({"family": "betavae", "readout": "mlp"}, 64), ({"family": "betavae", "readout": "linear"}, 64)],
)
def test_fit_returns_self_and_save_load_predicts_identically(tmp_path, params, size):
    images, targets = _tiny(size=size, n=32)
    reg = FactorRegressor(**params, epochs=1, batch_size=16, seed=1)
    assert reg.fit(images, targets) is reg
    before = reg.predict(images)
    assert before.shape == (32, 5) and before.dtype == np.float64
    folder = reg.save(tmp_path / "m")
    assert json.loads((folder / "estimator.json").read_text())["params"]["family"] == params["family"]
    state = torch.load(folder / "state.pt", weights_only=True)  # no pickle needed to read it
    assert "weights" in state
    loaded = FactorRegressor.load(folder)
    assert loaded.get_params() == reg.get_params()
    np.testing.assert_array_equal(loaded.predict(images), before)
    assert loaded.history_ == reg.history_


def test_family_budgets_resolve_auto_and_explicit_values_win():
    assert FactorRegressor("resnet").training_config().epochs == 2
    assert FactorRegressor("vit").training_config().lr == 2e-3
    assert FactorRegressor("vit", epochs=7, lr=1e-4).training_config().epochs == 7
    assert FactorRegressor("vit", epochs=7, lr=1e-4).training_config().lr == 1e-4


def test_functional_entry_point_scores_each_split():
    results = benchmark_family("mlp", splits=["random", "extrapolation"], num_train=64, num_test=32, num_heldin=16, epochs=1, batch_size=32)
    assert list(results) == ["random", "extrapolation"]
    assert {"r2", "r2_heldin", "r2_shape"} <= set(results["random"])
    assert "r2_ood_factor" in results["extrapolation"]
