"""The coalition-game estimators against brute force, shap, and their axioms."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from iclr22.core.errors import ConfigError
from iclr22.trajshap.shapley import estimate, exact_banzhaf, exact_shapley, permutation_shapley, sampled_banzhaf


def _random_game(n: int, seed: int = 0):
    """A non-additive game: a random value per coalition code (shared across the G games, scaled per game)."""
    table = np.random.default_rng(seed).normal(size=2**n)
    weights = 1 << np.arange(n)

    def value_fn(masks: np.ndarray) -> np.ndarray:
        codes = (masks.astype(np.int64) * weights).sum(-1)
        return table[codes] * (1 + np.arange(masks.shape[0]))[:, None]

    def v(coalition: set[int]) -> float:
        return float(table[sum(1 << i for i in coalition)])

    return value_fn, v


def _brute_force_shapley(v, n: int) -> np.ndarray:
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        before: set[int] = set()
        for player in order:
            phi[player] += v(before | {player}) - v(before)
            before.add(player)
    return phi / factorial(n)


def _brute_force_banzhaf(v, n: int) -> np.ndarray:
    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for r in range(n):
            for subset in itertools.combinations(others, r):
                phi[i] += v(set(subset) | {i}) - v(set(subset))
    return phi / 2 ** (n - 1)


def test_exact_shapley_equals_the_permutation_definition_and_is_efficient():
    value_fn, v = _random_game(5)
    result = exact_shapley(value_fn, 5, games=2)
    np.testing.assert_allclose(result.values[0], _brute_force_shapley(v, 5), atol=1e-12)
    np.testing.assert_allclose(result.values[1], 2 * result.values[0], atol=1e-12)  # game 2 is twice game 1
    np.testing.assert_allclose(result.values[0].sum(), v(set(range(5))) - v(set()), atol=1e-12)


def test_exact_shapley_equals_shap_exact_explainer():
    shap = pytest.importorskip("shap")
    value_fn, v = _random_game(4, seed=3)
    model = lambda x: value_fn(np.asarray(x)[None].astype(bool))[0]  # noqa: E731  shap passes masked copies of x
    explainer = shap.explainers.Exact(model, shap.maskers.Independent(np.zeros((1, 4)), max_samples=1))
    reference = explainer(np.ones((1, 4))).values[0]
    np.testing.assert_allclose(exact_shapley(value_fn, 4).values[0], reference, atol=1e-10)


def test_dummy_and_symmetric_players():
    def value_fn(masks):  # players 0 and 1 are interchangeable, player 2 never matters
        m = masks.astype(float)
        return 3 * m[..., 0] * m[..., 1] + m[..., 0] + m[..., 1] + 0 * m[..., 2] + 2 * m[..., 3]

    values = exact_shapley(value_fn, 4).values[0]
    np.testing.assert_allclose(values, [2.5, 2.5, 0.0, 2.0], atol=1e-12)


def test_permutation_sampling_converges_to_exact_with_honest_error_bars():
    value_fn, _ = _random_game(6, seed=1)
    exact = exact_shapley(value_fn, 6).values[0]
    sampled = permutation_shapley(value_fn, 6, num_permutations=400, rng=np.random.default_rng(0))
    assert sampled.evaluations == 400 * 7
    assert np.all(np.abs(sampled.values[0] - exact) < 5 * sampled.stderr[0] + 1e-9)
    low, high = sampled.confidence_interval(0.999)
    assert np.all((low[0] <= exact + 1e-9) & (exact - 1e-9 <= high[0]))
    # an additive game has no sampling error at all
    additive = lambda masks: masks.astype(float) @ np.arange(1.0, 7.0)  # noqa: E731
    result = permutation_shapley(additive, 6, num_permutations=4)
    np.testing.assert_allclose(result.values[0], np.arange(1.0, 7.0))
    np.testing.assert_allclose(result.stderr[0], 0.0, atol=1e-12)


def test_banzhaf_is_the_expectation_of_the_official_estimator_and_differs_from_shapley():
    value_fn, v = _random_game(4, seed=2)
    exact = exact_banzhaf(value_fn, 4).values[0]
    np.testing.assert_allclose(exact, _brute_force_banzhaf(v, 4), atol=1e-12)
    sampled = sampled_banzhaf(value_fn, 4, num_coalitions=20000, rng=np.random.default_rng(0))
    assert np.all(np.abs(sampled.values[0] - exact) < 5 * sampled.stderr[0])
    official = sampled_banzhaf(value_fn, 4, num_coalitions=10)
    assert official.evaluations == 4 * 2 * 10  # two forward passes of 10 coalitions per player
    assert not np.allclose(exact, exact_shapley(value_fn, 4).values[0], atol=1e-3)  # official issue #9


def test_auto_switches_to_sampling_and_bad_names_are_config_errors():
    additive = lambda masks: masks.astype(float).sum(-1)  # noqa: E731
    assert estimate(additive, 5, estimator="auto", max_exact_players=4).estimator == "permutation"
    assert estimate(additive, 4, estimator="auto", max_exact_players=4).estimator == "exact"
    with pytest.raises(ConfigError, match="unknown estimator"):
        estimate(additive, 3, estimator="kernel")
    with pytest.raises(ConfigError, match="2\\*\\*25"):
        exact_shapley(additive, 25)


def test_linear_map_form_agrees():
    from iclr22.trajshap.shapley import all_coalitions, banzhaf_matrix, shapley_matrix

    value_fn, _ = _random_game(5, seed=4)
    v = value_fn(all_coalitions(5)[None])
    np.testing.assert_allclose(v @ shapley_matrix(5).T, exact_shapley(value_fn, 5).values, atol=1e-12)
    np.testing.assert_allclose(v @ banzhaf_matrix(5).T, exact_banzhaf(value_fn, 5).values, atol=1e-12)
