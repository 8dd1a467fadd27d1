"""R² with the full-grid variance, in %: the official unit tests and the difference from sklearn's r2_score."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.core.errors import DataError
from iclr22.idgbench.metrics import r_squared, score_predictions
from iclr22.idgbench.synthetic import DSPRITES, FactorSpace

SPACE = FactorSpace("toy", ("a", "b", "c"), (3, 5, 8))


def test_the_three_official_cases():
    """The official evaluator's perfect -> 1, mean -> 0, zeros -> < 0, in percent (its fraction x 100)."""
    targets = SPACE.normalize(SPACE.cells())
    np.testing.assert_allclose(r_squared(targets, targets, SPACE), 100.0)
    mean = np.broadcast_to(targets.mean(axis=0), targets.shape)
    np.testing.assert_allclose(r_squared(mean, targets, SPACE), 0.0, atol=1e-6)
    assert (r_squared(np.zeros_like(targets), targets, SPACE) < 0).all()


def test_denominator_is_the_grid_variance_not_the_test_variance():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    cells = DSPRITES.cells(rng.integers(0, DSPRITES.num_cells, 400))
    cells[:, 1] = rng.integers(4, 6, 400)  # an extrapolation-like test set: only the two largest scales
    targets = DSPRITES.normalize(cells).astype(np.float64)
    predictions = targets + rng.normal(0, 0.08, targets.shape)
    ours = r_squared(predictions, targets, DSPRITES)
    expected = 100 * (1 - ((predictions - targets) ** 2).mean(0) / DSPRITES.variance)
    np.testing.assert_allclose(ours, expected)
    sklearn_scale = r2_score(targets[:, 1], predictions[:, 1])
    assert ours[1] > 90 and sklearn_scale < 0.6  # the test-set variance of scale is tiny


def test_score_dict_has_the_official_keys():
    targets = SPACE.normalize(SPACE.cells())
    scores = score_predictions(targets + 0.1, targets, SPACE)
    assert set(scores) == {"r2", "mse"} | {f"{p}_{n}" for p in ("r2", "mse") for n in SPACE.names}
    assert scores["mse"] == pytest.approx(0.01)
    assert scores["r2"] == pytest.approx(np.mean([scores[f"r2_{n}"] for n in SPACE.names]))
    assert scores["r2_a"] == pytest.approx(100 * (1 - 0.01 / SPACE.variance[0]))  # percent


def test_wrong_prediction_shapes_and_nan_are_data_errors():
    targets = SPACE.normalize(SPACE.cells()[:10])
    with pytest.raises(DataError, match=r"one prediction per factor"):
        r_squared(np.zeros((10, 2)), targets, SPACE)
    with pytest.raises(DataError, match="rows"):
        r_squared(np.zeros((9, 3)), targets, SPACE)
    bad = targets.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        r_squared(bad, targets, SPACE)
