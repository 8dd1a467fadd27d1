"""The four split generators: the official invariants and each rule checked by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.synthetic import DSPRITES, DSPRITES_ROT90, FactorSpace
from iclr22.idgbench.splits import (
    COMPOSITION_TEST_FRACTION,
    SPLIT_KINDS,
    composition_split,
    extrapolation_split,
    interpolation_split,
    make_split,
    random_split,
    split_from_labels,
    validate_split,
)

TOY = FactorSpace("toy", ("shape", "size", "x", "y"), (2, 5, 6, 7))
TOY_FACTORS = ("size", "x", "y")


@pytest.fixture(scope="module")
def dsprites_splits():
    return {kind: make_split(DSPRITES, kind) for kind in SPLIT_KINDS}


@pytest.mark.parametrize("kind", SPLIT_KINDS)
def test_dsprites_splits_partition_the_grid(dsprites_splits, kind):
    split = dsprites_splits[kind]
    assert split.train_mask.shape == (737_280,)
    assert not (split.train_mask & split.test_mask).any() and (split.train_mask | split.test_mask).all()
    if kind != "composition":
        # the official repository test (random, interpolation, extrapolation only): num_train / num_total
        # rounds to 0.3, num_test / num_total to 0.7
        assert round(split.num_train / DSPRITES.num_cells, 1) == 0.3
        assert round(split.num_test / DSPRITES.num_cells, 1) == 0.7


def test_composition_corner_takes_the_share_of_the_papers_figure(dsprites_splits):
    split = dsprites_splits["composition"]
    # Figure 2: a corner block of 4 of 7 rows x 5 of 7 columns is test, 20/49 of the grid
    assert COMPOSITION_TEST_FRACTION == pytest.approx(20 / 49)
    assert abs(split.num_test / DSPRITES.num_cells - 20 / 49) < 0.02
    # scale 2..5 (4 of 6) and x, y 7..31 (25 of 32): 4/6 * (25/32)^2 of the cells
    assert split.held_out_values["scale"] == [2, 3, 4, 5]
    assert split.held_out_values["x-position"] == list(range(7, 32)) == split.held_out_values["y-position"]
    assert split.num_test == 737_280 * 4 * 25 * 25 // (6 * 32 * 32)
    # the share is an option; train_fraction (the other splits' 30 %) does not move the corner
    assert make_split(DSPRITES, "composition", train_fraction=0.5).num_test == split.num_test
    assert abs(make_split(DSPRITES, "composition", composition_test_fraction=0.7).test_mask.mean() - 0.7) < 0.03
    with pytest.raises(ConfigError, match="test_fraction"):
        composition_split(DSPRITES, None, 1.0)


def test_extrapolation_follows_the_paper_example(dsprites_splits):
    split = dsprites_splits["extrapolation"]
    # "small and medium objects for training, large ones for testing": the two largest scales are test
    assert split.held_out_values["scale"] == [4, 5]
    assert split.split_factors == ("scale", "x-position", "y-position")


def test_extrapolation_rule_by_brute_force():
    split = extrapolation_split(TOY, TOY_FACTORS, 0.3)
    thresholds = {f: min(v) for f, v in split.held_out_values.items()}
    for flat, cell in enumerate(itertools.product(*(range(n) for n in TOY.sizes))):
        test = any(cell[TOY.factor_index(f)] >= t for f, t in thresholds.items())
        assert split.test_mask[flat] == test
    # every factor value below the threshold is trained on, nothing above
    train_cells = TOY.cells(np.flatnonzero(split.train_mask))
    for f, t in thresholds.items():
        assert train_cells[:, TOY.factor_index(f)].max() == t - 1


def test_interpolation_holds_out_interior_values_only():
    split = interpolation_split(TOY, TOY_FACTORS, 0.3)
    train_cells = TOY.cells(np.flatnonzero(split.train_mask))
    for f, values in split.held_out_values.items():
        k = TOY.factor_index(f)
        assert values and min(values) > 0 and max(values) < TOY.sizes[k] - 1
        assert not np.isin(train_cells[:, k], values).any()
        assert set(np.unique(train_cells[:, k])) == set(range(TOY.sizes[k])) - set(values)
    # a cell is test exactly when some factor takes a held-out value
    cells = TOY.cells()
    any_held = np.zeros(TOY.num_cells, dtype=bool)
    for f, values in split.held_out_values.items():
        any_held |= np.isin(cells[:, TOY.factor_index(f)], values)
    assert np.array_equal(any_held, split.test_mask)


def test_composition_holds_out_a_corner_but_every_value_is_trained_on():
    split = composition_split(TOY, TOY_FACTORS, 0.7)
    cells = TOY.cells()
    corner = np.ones(TOY.num_cells, dtype=bool)
    for f, values in split.held_out_values.items():
        corner &= np.isin(cells[:, TOY.factor_index(f)], values)
    assert np.array_equal(corner, split.test_mask)
    train_cells = cells[split.train_mask]
    for k, size in enumerate(TOY.sizes):
        assert set(np.unique(train_cells[:, k])) == set(range(size))
    # no factor value is out of distribution on its own
    assert not split.out_of_distribution(cells[split.test_mask]).any()


def test_out_of_distribution_flags_the_held_out_factor():
    split = extrapolation_split(DSPRITES)
    big_scale_only = np.array([[0, 5, 3, 0, 0]])
    assert split.out_of_distribution(big_scale_only).tolist() == [[False, True, False, False, False]]


def test_random_split_is_reproducible_from_its_seed():
    a, b, c = random_split(TOY, 0.3, seed=1), random_split(TOY, 0.3, seed=1), random_split(TOY, 0.3, seed=2)
    assert np.array_equal(a.train_mask, b.train_mask) and not np.array_equal(a.train_mask, c.train_mask)
    assert a.num_train == round(0.3 * TOY.num_cells)


def test_sample_draws_disjoint_subsets(dsprites_splits):
    train, test = dsprites_splits["extrapolation"].sample(500, 300, seed=0)
    assert len(train) == 500 and len(test) == 300 and not set(train) & set(test)
    assert dsprites_splits["extrapolation"].train_mask[train].all()
    again = dsprites_splits["extrapolation"].sample(500, 300, seed=0)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])


def test_split_from_labels_rejects_a_factor_value_in_neither_set():
    space = FactorSpace("tiny", ("a", "b"), (3, 4))
    cells = space.cells()
    train, test = cells[cells[:, 0] == 0], cells[cells[:, 0] == 1]  # value a=2 is in neither set
    with pytest.raises(DataError, match="factor 'a' value 2 is in neither set"):
        split_from_labels(space, train, test)
    with pytest.raises(DataError, match="in both train and test"):
        split_from_labels(space, cells, cells[:1])
    ok = split_from_labels(space, cells[cells[:, 0] < 2], cells[cells[:, 0] == 2])
    assert ok.num_train == 8


def test_bad_split_arguments():
    with pytest.raises(ConfigError, match="unknown split"):
        make_split(DSPRITES, "diagonal")
    with pytest.raises(ConfigError, match="unknown factor 'colour'"):
        extrapolation_split(DSPRITES, ["colour"])
    with pytest.raises(ConfigError, match="train_fraction"):
        random_split(DSPRITES, 1.5)
    with pytest.raises(DataError, match="bool"):
        validate_split(DSPRITES, np.ones(10, dtype=bool))


def test_orientation_is_held_out_only_on_request():
    # neither grid holds out orientation by default: a symmetric shape turned past the trained angles reads
    # as another shape, so shape would collapse with it (docs/methods/idgbench.md)
    for space in (DSPRITES, DSPRITES_ROT90):
        split = make_split(space, "extrapolation")
        assert split.split_factors == ("scale", "x-position", "y-position")
        assert split.held_out_values["scale"] == [4, 5]
    # the supplementary's choice on the quarter-turn grid, orientation held out too, is one option away
    factors = ("scale", "orientation", "x-position", "y-position")
    split = make_split(DSPRITES_ROT90, "extrapolation", factors)
    assert split.split_factors == factors and max(split.held_out_values["orientation"]) == 9
    assert 0.25 <= split.train_fraction <= 0.35


# --- the paper's supplementary split rules (split_rule="supplementary") -----------------------------------


def test_supplementary_rules_hold_out_the_values_worked_out_by_hand():
    # per factor, r = 0.2: extrapolation the top ceil(n r), interpolation what n - ceil(n r) evenly spaced
    # rounded values miss (n = 6: linspace(0, 5, 4) = 0, 1.67, 3.33, 5 -> kept 0, 2, 3, 5)
    extrapolation = make_split(DSPRITES_ROT90, "extrapolation", split_rule="supplementary")
    assert extrapolation.split_factors == ("scale", "orientation", "x-position", "y-position")
    assert extrapolation.held_out_values == {
        "scale": [4, 5], "orientation": [8, 9], "x-position": list(range(25, 32)), "y-position": list(range(25, 32))
    }
    interpolation = make_split(DSPRITES_ROT90, "interpolation", split_rule="supplementary")
    assert interpolation.held_out_values["scale"] == [1, 4]
    assert interpolation.held_out_values["orientation"] == [2, 7]
    assert interpolation.held_out_values["x-position"] == [2, 7, 11, 15, 20, 24, 29]
    # the full grid holds out 8 of its 40 orientations
    assert make_split(DSPRITES, "extrapolation", split_rule="supplementary").held_out_values["orientation"] == list(range(32, 40))
    expected_train = (4 / 6) * (8 / 10) * (25 / 32) ** 2
    for kind in ("random", "interpolation", "extrapolation"):
        split = make_split(DSPRITES_ROT90, kind, split_rule="supplementary", seed=3)
        assert split.num_train == pytest.approx(expected_train * DSPRITES_ROT90.num_cells, abs=1)
        # the official repository test's invariant, to one decimal
        assert round(split.num_test / DSPRITES_ROT90.num_cells, 1) == 0.7


def test_supplementary_composition_trains_only_where_some_factor_is_lowest():
    split = make_split(DSPRITES_ROT90, "composition", split_rule="supplementary")
    # q = 1 - (1 - 0.8^4)^(1/4) = 0.1234: lowest floor(n q) values = none of scale, orientation 0, x and y 0-2
    cells = DSPRITES_ROT90.cells()
    by_hand = (cells[:, 2] < 1) | (cells[:, 3] < 3) | (cells[:, 4] < 3)
    np.testing.assert_array_equal(split.train_mask, by_hand)
    assert split.train_fraction == pytest.approx(1 - 0.9 * (29 / 32) ** 2)
    # every single value of every factor is still trained on
    grid = split.train_mask.reshape(DSPRITES_ROT90.sizes)
    for k in range(DSPRITES_ROT90.num_factors):
        assert grid.any(axis=tuple(j for j in range(DSPRITES_ROT90.num_factors) if j != k)).all()


def test_supplementary_rule_bad_arguments():
    with pytest.raises(ConfigError, match="test_ratio_per_factor"):
        make_split(DSPRITES_ROT90, "extrapolation", split_rule="supplementary", test_ratio_per_factor=1.0)
    with pytest.raises(ConfigError, match="unknown split rule"):
        make_split(DSPRITES_ROT90, "extrapolation", split_rule="zenodo")
    # a large share leaves no factor a lowest value to train on (q = 1 - (1 - 0.1^3)^(1/3) = 0.0003)
    with pytest.raises(ConfigError, match="lowest value"):
        make_split(TOY, "composition", TOY_FACTORS, split_rule="supplementary", test_ratio_per_factor=0.9)
