"""The estimator contract of TrajectoryShapley and TrajectoryPredictor: scikit-learn's clone, validation in
fit, NotFittedError, fit returns self, and a save / load round trip that predicts identically."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.base import clone

from iclr22.core.errors import ConfigError
from iclr22.core.estimator import NotFittedError
from iclr22.trajshap.estimator import TrajectoryPredictor, TrajectoryShapley
from iclr22.trajshap.scenes import build_samples
from iclr22.trajshap.synthetic import simulate_scenes


@pytest.fixture(scope="module")
def data():
    train = build_samples(simulate_scenes(2, "social", seed=1, num_frames=24), max_neighbours=6)
    test = build_samples(simulate_scenes(1, "social", seed=2, num_frames=24), max_neighbours=6)
    return train, test.index(np.arange(8))


@pytest.fixture(scope="module")
def predictor(data):
    return TrajectoryPredictor("interaction", modes=2, hidden=8, epochs=1, batch_size=64).fit(data[0], X_val=data[0].index(np.arange(16)))


def test_clone_gives_equal_params():
    for estimator in (TrajectoryPredictor("lstm", modes=3, epochs=5, lr=1e-3), TrajectoryShapley(metric="fde", estimator="exact", num_coalitions=4)):
        copy = clone(estimator)
        assert type(copy) is type(estimator) and copy.get_params() == estimator.get_params()
    module = torch.nn.Linear(2, 2)
    copy = clone(TrajectoryShapley(module, removal="random"), safe=False)
    assert copy.removal == "random" and isinstance(copy.predictor, torch.nn.Linear)


def test_unfitted_calls_raise_not_fitted_error(data, tmp_path):
    for call in (
        lambda: TrajectoryPredictor().predict(data[1]),
        lambda: TrajectoryPredictor().evaluate(data[1]),
        lambda: TrajectoryPredictor().save(tmp_path / "p"),
        lambda: TrajectoryShapley(lambda b: b.future).explain(data[1]),
        lambda: TrajectoryShapley(lambda b: b.future).save(tmp_path / "s"),
    ):
        with pytest.raises(NotFittedError) as caught:
            call()
        assert isinstance(caught.value, sklearn.exceptions.NotFittedError)


def test_bad_parameters_raise_config_error_in_fit_not_init(data):
    bad = TrajectoryPredictor(architecture="gan")  # stored, not checked
    with pytest.raises(ConfigError, match="architecture"):
        bad.fit(data[0])
    with pytest.raises(ConfigError, match="epochs"):
        TrajectoryPredictor(epochs=-1).fit(data[0])
    explainer = TrajectoryShapley(lambda b: b.future, estimator="kernel", random_agent=False)
    with pytest.raises(ConfigError, match="estimator"):
        explainer.fit()
    with pytest.raises(ConfigError, match="metric"):
        TrajectoryShapley(lambda b: b.future, metric="mse").fit(data[0])
    with pytest.raises(ConfigError, match="predictor"):
        TrajectoryShapley(random_agent=False).fit()


def test_fit_returns_self_and_cv_learns_nothing(data, predictor):
    cv = TrajectoryPredictor("cv", modes=3)
    assert cv.fit(data[0]) is cv and cv.predict(data[1]).modes.shape == (8, 3, 12, 2)
    explainer = TrajectoryShapley(predictor, estimator="exact")
    assert explainer.fit(data[0]) is explainer
    assert set(predictor.evaluate(data[1])) == {"ade", "fde", "nll"}


def test_save_load_round_trip_predicts_identically(data, predictor, tmp_path):
    train, test = data
    loaded = TrajectoryPredictor.load(predictor.save(tmp_path / "predictor"))
    assert loaded.get_params() == predictor.get_params()
    torch.testing.assert_close(loaded.predict(test).modes, predictor.predict(test).modes, rtol=0, atol=0)
    explainer = TrajectoryShapley(predictor, estimator="exact", seed=3).fit(train)
    again = TrajectoryShapley.load(explainer.save(tmp_path / "explainer"))
    assert isinstance(again.predictor, TrajectoryPredictor) and again.metric == explainer.metric
    first, second = explainer.explain(test), again.explain(test)
    for a, b in zip(first.values, second.values):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="TrajectoryPredictor"):
        TrajectoryShapley(predictor.module_, random_agent=False).fit().save(tmp_path / "plain")


def test_y_argument_replaces_the_future(data):
    train = data[0]
    a = TrajectoryPredictor("lstm", modes=2, hidden=8, epochs=1, augment=False).fit(train)
    b = TrajectoryPredictor("lstm", modes=2, hidden=8, epochs=1, augment=False).fit(train, train.future.numpy())
    torch.testing.assert_close(a.predict(data[1]).modes, b.predict(data[1]).modes)
