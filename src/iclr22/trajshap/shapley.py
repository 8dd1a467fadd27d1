"""Estimators of Shapley and Banzhaf values of cooperative games, batched over many games.

A game here is a value function on coalitions of ``n`` players. All estimators take

    value_fn(masks: bool ndarray (G, C, n)) -> ndarray (G, C)

which scores ``C`` coalitions of each of ``G`` games with the same number of players at once, so a
caller can evaluate every coalition of every sample in a few large batched forward passes.

* :func:`exact_shapley` — all ``2**n`` coalitions, Shapley weights |S|!(n-|S|-1)!/n! (paper Eq. 1-2);
  :func:`shapley_matrix` gives the same as one linear map ``phi = W v``.
* :func:`permutation_shapley` — Monte-Carlo over (antithetic) permutations, with a standard error.
* :func:`sampled_banzhaf` — the official code's estimator: each other player present with probability
  ½, ``num_coalitions`` coalitions per player. Its expectation is the Banzhaf value, not the Shapley
  value (official repository issue #9).
* :func:`exact_banzhaf` — that expectation, by enumeration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import factorial
from typing import Literal, get_args

import numpy as np

from iclr22.core.errors import ConfigError

__all__ = [
    "ValueFn",
    "Estimate",
    "all_coalitions",
    "shapley_matrix",
    "banzhaf_matrix",
    "exact_shapley",
    "exact_banzhaf",
    "permutation_shapley",
    "sampled_banzhaf",
    "estimate",
    "ESTIMATORS",
    "EstimatorName",
]

ValueFn = Callable[[np.ndarray], np.ndarray]

#: Exact enumeration beyond this many players would need more than 2**20 coalitions per game.
MAX_EXACT_PLAYERS = 20

#: The estimators :func:`estimate` dispatches to.
EstimatorName = Literal["exact", "permutation", "banzhaf", "exact_banzhaf", "auto"]
ESTIMATORS: tuple[str, ...] = get_args(EstimatorName)


@dataclass
class Estimate:
    """Attributions of ``G`` games of ``n`` players.

    Attributes:
        values: ``(G, n)`` the estimated values.
        stderr: ``(G, n)`` their Monte-Carlo standard error (zeros for exact estimators).
        evaluations: Coalitions evaluated per game.
        estimator: Which estimator produced them.
    """

    values: np.ndarray
    stderr: np.ndarray
    evaluations: int
    estimator: str

    def confidence_interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Normal-approximation interval ``values ± z * stderr``."""
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        return self.values - z * self.stderr, self.values + z * self.stderr


@lru_cache(maxsize=32)
def all_coalitions(n: int) -> np.ndarray:
    """``(2**n, n)`` bool: row ``s`` is the coalition whose bit ``i`` is set when player ``i`` is in it."""
    if n > MAX_EXACT_PLAYERS:
        raise ConfigError(f"exact enumeration of {n} players needs 2**{n} coalitions; use estimator='permutation'")
    codes = np.arange(2**n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(bool)


@lru_cache(maxsize=32)
def shapley_matrix(n: int) -> np.ndarray:
    """``(n, 2**n)`` matrix ``W`` with Shapley values ``phi = W @ v`` for the values ``v`` of :func:`all_coalitions`.

    phi_i = sum over S not containing i of |S|!(n-|S|-1)!/n! * (v(S+i) - v(S)): a coalition ``T`` enters
    with weight ``+w(|T|-1)`` for its members and ``-w(|T|)`` for the others.
    """
    masks = all_coalitions(n)
    size = masks.sum(1)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)] + [0.0])
    with_i = weight[np.maximum(size - 1, 0)]
    without_i = weight[size]
    return np.where(masks, with_i[:, None], -without_i[:, None]).T.copy()


@lru_cache(maxsize=32)
def banzhaf_matrix(n: int) -> np.ndarray:
    """``(n, 2**n)`` matrix of the Banzhaf value: every marginal contribution weighted 1/2**(n-1)."""
    masks = all_coalitions(n)
    return np.where(masks, 1.0, -1.0).T / 2 ** (n - 1)


@lru_cache(maxsize=32)
def _marginal_pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every player ``i`` and coalition ``S`` without it: the codes of ``S`` and ``S + i`` and ``|S|``,
    each ``(n, 2**(n-1))``. Differencing the pairs first makes a dummy player's value exactly zero."""
    codes = np.arange(2**n, dtype=np.int64)
    without, with_i, sizes = [], [], []
    for i in range(n):
        rest = codes[(codes >> i) & 1 == 0]
        without.append(rest)
        with_i.append(rest | (1 << i))
        sizes.append(all_coalitions(n)[rest].sum(1))
    return np.stack(without), np.stack(with_i), np.stack(sizes)


def _from_marginals(v: np.ndarray, n: int, weight_of_size: np.ndarray) -> np.ndarray:
    without, with_i, sizes = _marginal_pairs(n)
    return ((v[:, with_i] - v[:, without]) * weight_of_size[sizes]).sum(-1)


def _call(value_fn: ValueFn, masks: np.ndarray, games: int) -> np.ndarray:
    values = np.asarray(value_fn(masks), dtype=np.float64)
    if values.shape != masks.shape[:2]:
        raise ValueError(f"value_fn returned shape {values.shape}, expected {masks.shape[:2]} (games, coalitions)")
    if not np.isfinite(values).all():
        raise ValueError("value_fn returned NaN/inf for some coalition")
    return values


def exact_shapley(value_fn: ValueFn, n: int, games: int = 1) -> Estimate:
    """Exact Shapley values by enumerating all ``2**n`` coalitions (one batched call).

    Satisfies efficiency exactly: ``values.sum(1) == v(all) - v(empty)``.
    """
    masks = np.broadcast_to(all_coalitions(n), (games, 2**n, n))
    v = _call(value_fn, masks, games)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    return Estimate(_from_marginals(v, n, weight), np.zeros((games, n)), 2**n, "exact")


def exact_banzhaf(value_fn: ValueFn, n: int, games: int = 1) -> Estimate:
    """Exact Banzhaf values (the expectation of :func:`sampled_banzhaf`) by enumeration."""
    masks = np.broadcast_to(all_coalitions(n), (games, 2**n, n))
    v = _call(value_fn, masks, games)
    return Estimate(_from_marginals(v, n, np.full(n, 1.0 / 2 ** (n - 1))), np.zeros((games, n)), 2**n, "exact_banzhaf")


def permutation_shapley(
    value_fn: ValueFn, n: int, games: int = 1, num_permutations: int = 64, antithetic: bool = True, rng: np.random.Generator | None = None
) -> Estimate:
    """Shapley values by sampling player orderings (Castro et al., 2009), batched.

    Each permutation contributes every player's marginal value when it joins the players before it.
    With ``antithetic`` each ordering is paired with its reverse, which cancels much of the variance;
    the standard error is computed over the (pair-averaged) permutations.

    Args:
        num_permutations: Orderings per game (rounded up to even when antithetic).
    """
    if num_permutations < 2:
        raise ConfigError(f"num_permutations must be at least 2 for a standard error, got {num_permutations}")
    rng = rng if rng is not None else np.random.default_rng(0)
    pairs = (num_permutations + 1) // 2 if antithetic else num_permutations
    orders = np.argsort(rng.random((games, pairs, n)), axis=-1)
    if antithetic:
        orders = np.concatenate([orders, orders[..., ::-1]], axis=1)
    m = orders.shape[1]
    # prefix k of ordering p: the first k players of that ordering (k = 0..n).
    rank = np.argsort(orders, axis=-1)  # rank[g, p, i]: position of player i in ordering p
    prefix = rank[:, :, None, :] < np.arange(n + 1)[None, None, :, None]  # (G, m, n+1, n)
    v = _call(value_fn, prefix.reshape(games, m * (n + 1), n), games).reshape(games, m, n + 1)
    gains = np.diff(v, axis=2)  # gains[g, p, k]: value added by orders[g, p, k]
    contributions = np.take_along_axis(gains, rank, axis=2)  # (G, m, n) per player
    if antithetic:
        contributions = 0.5 * (contributions[:, : m // 2] + contributions[:, m // 2 :])
    count = contributions.shape[1]
    stderr = contributions.std(axis=1, ddof=1) / np.sqrt(count)
    return Estimate(contributions.mean(axis=1), stderr, m * (n + 1), "permutation")


def sampled_banzhaf(value_fn: ValueFn, n: int, games: int = 1, num_coalitions: int = 10, rng: np.random.Generator | None = None) -> Estimate:
    """The official code's estimator: for each player ``i``, ``num_coalitions`` coalitions in which every
    other player is present with probability ½; the value is the mean of ``v(S + i) - v(S)``.

    This is an unbiased estimate of the Banzhaf value (uniform weighting of coalitions), which is what the
    paper's released numbers are; see official repository issue #9.
    """
    if num_coalitions < 1:
        raise ConfigError(f"num_coalitions must be at least 1, got {num_coalitions}")
    rng = rng if rng is not None else np.random.default_rng(0)
    others = rng.random((games, n, num_coalitions, n)) < 0.5  # player i's coalitions of the others
    eye = np.eye(n, dtype=bool)[None, :, None, :]
    with_i = others | eye
    without_i = others & ~eye
    masks = np.concatenate([with_i, without_i], axis=2).reshape(games, n * 2 * num_coalitions, n)
    v = _call(value_fn, masks, games).reshape(games, n, 2, num_coalitions)
    diff = v[:, :, 0] - v[:, :, 1]
    stderr = diff.std(axis=-1, ddof=1) / np.sqrt(num_coalitions) if num_coalitions > 1 else np.zeros((games, n))
    return Estimate(diff.mean(-1), stderr, n * 2 * num_coalitions, "banzhaf")


def estimate(
    value_fn: ValueFn,
    n: int,
    games: int = 1,
    estimator: EstimatorName = "auto",
    max_exact_players: int = 12,
    num_permutations: int = 64,
    num_coalitions: int = 10,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """Dispatch to an estimator by name; ``"auto"`` is exact up to ``max_exact_players``, else permutation sampling."""
    if estimator not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    if n == 0:
        return Estimate(np.zeros((games, 0)), np.zeros((games, 0)), 0, estimator)
    if estimator == "auto":
        estimator = "exact" if n <= max_exact_players else "permutation"
    if estimator == "exact":
        return exact_shapley(value_fn, n, games)
    if estimator == "exact_banzhaf":
        return exact_banzhaf(value_fn, n, games)
    if estimator == "permutation":
        return permutation_shapley(value_fn, n, games, num_permutations, rng=rng)
    return sampled_banzhaf(value_fn, n, games, num_coalitions, rng=rng)
