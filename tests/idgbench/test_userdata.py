"""A user's images with factors: levels, the benchmark's split rules on the split factors' grid, scores in %."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.splits import make_split
from iclr22.idgbench.synthetic import FactorSpace
from iclr22.idgbench.userdata import DatasetBenchmark, FactorLevels, factor_dataset


def grid_dataset(sizes=(6, 8, 8), values=None):
    space = FactorSpace("g", tuple(f"f{k}" for k in range(len(sizes))), sizes)
    cells = space.cells()
    factors = cells.astype(float) if values is None else np.stack([values[k][cells[:, k]] for k in range(len(sizes))], axis=1)
    return factor_dataset(np.zeros((len(cells), 4, 4), np.uint8), factors, space.names), space


def test_levels_are_the_sorted_distinct_values_and_map_back_linearly():
    data = factor_dataset(np.zeros((4, 2, 2), np.uint8), [[10.0, 1], [0.5, 1], [2.0, 1], [10.0, 1]], ["scale", "constant"])
    assert data.dropped == ("constant",) and data.levels.names == ("scale",)
    np.testing.assert_array_equal(data.levels.levels[0], [0.5, 2.0, 10.0])
    np.testing.assert_allclose(data.targets[:, 0], [1.0, 0.0, 0.5, 1.0])  # rank / (levels - 1): evenly spaced levels
    np.testing.assert_allclose(data.levels.values(np.array([[0.25], [1.5], [-1.0]]))[:, 0], [1.25, 10.0, 0.5])  # clipped
    with pytest.raises(DataError, match="row 0: factor 'scale' is 3, not one of its 3 levels"):
        data.levels.classes(np.array([[3.0]]))


def test_levels_round_trip_through_factors_json(tmp_path):
    levels = FactorLevels(("a", "b"), (np.array([0.1, 0.2]), np.array([1.0, 5.0, 9.0])))
    levels.save(tmp_path)
    loaded = FactorLevels.load(tmp_path)
    assert loaded.names == ("a", "b") and [v.tolist() for v in loaded.levels] == [[0.1, 0.2], [1.0, 5.0, 9.0]]
    assert FactorLevels.load(tmp_path / "none") is None


@pytest.mark.parametrize("kind", ["composition", "interpolation", "extrapolation"])
def test_on_a_full_grid_the_splits_are_the_benchmarks(kind):
    data, space = grid_dataset()
    bench = DatasetBenchmark(data, splits=[kind], heldin_fraction=0.0)
    split = bench.split(kind)
    rule = make_split(space, kind, space.names)
    assert split.train_share(len(data)) == pytest.approx(rule.train_fraction)
    np.testing.assert_array_equal(np.sort(split.train), np.flatnonzero(rule.train_mask))  # one image per cell, in grid order
    np.testing.assert_array_equal(split.ood, rule.out_of_distribution(space.cells(np.sort(split.test))))


def test_random_split_heldin_and_caps_are_disjoint_and_seeded():
    data, _ = grid_dataset()
    bench = DatasetBenchmark(data, splits=["random"], heldin_fraction=0.1, num_train=50, num_test=40, seed=3)
    split = bench.split("random")
    assert len(split.train) == 50 and len(split.test) == 40 and split.train_side == round(0.3 * len(data))
    assert len(split.heldin) == round(0.1 * split.train_side)
    assert not (set(split.train) & set(split.test)) and not (set(split.train) & set(split.heldin))
    again = DatasetBenchmark(data, splits=["random"], heldin_fraction=0.1, num_train=50, num_test=40, seed=3).split("random")
    np.testing.assert_array_equal(split.train, again.train)


def test_perfect_predictions_score_100_percent_on_test_and_heldin():
    data, _ = grid_dataset((3, 5, 5))
    bench = DatasetBenchmark(data, splits=["extrapolation"])
    split = bench.split("extrapolation")
    rows = [np.concatenate([split.heldin, split.test])]  # score() predicts the held-in images first, then the test images

    def by_position(batch):  # the images are blank: a "model" that knows each image's factors by its position
        out, rows[0] = data.targets[rows[0][: len(batch)]], rows[0][len(batch):]
        return out

    scores = bench.score(by_position, "extrapolation")
    assert scores["r2"] == pytest.approx(100.0) and scores["r2_heldin"] == pytest.approx(100.0)
    assert scores["r2_ood_factor"] == pytest.approx(100.0)


def test_too_many_level_combinations_and_empty_sides_are_errors():
    many = np.random.default_rng(0).integers(0, 100, size=(300, 3)).astype(float)
    data = factor_dataset(np.zeros((300, 2, 2), np.uint8), many)
    with pytest.raises(ConfigError, match="level combinations; the split search handles at most"):
        DatasetBenchmark(data, splits=["extrapolation"]).split("extrapolation")
    # every level of a 6 x 6 grid occurs, but no image sits where the rule trains (x < 3 and y < 4)
    corners = np.array([[0, 5], [1, 4], [2, 4], [3, 0], [4, 1], [5, 2], [5, 3]], dtype=float)
    data = factor_dataset(np.zeros((7, 2, 2), np.uint8), corners, ["x", "y"])
    assert make_split(data.space, "extrapolation", ("x", "y")).held_out_values == {"x": [3, 4, 5], "y": [4, 5]}
    with pytest.raises(DataError, match="leaves the training side empty"):
        DatasetBenchmark(data, splits=["extrapolation"]).split("extrapolation")
