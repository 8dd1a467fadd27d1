"""The paper's attribution procedure (Makansi et al., 2022, Sec. 3-4).

For one target agent at one time step the *players* are

    0: the target's past trajectory,
    1..n: each real neighbour (one player per neighbour, padding never counts),
    n+1: optionally a random agent — a real neighbour trajectory from another scene, a sanity check
         whose value should be about zero.

The value of a coalition ``S`` is the predictor's *performance on the ground truth* when only the players
in ``S`` are present: ``v(S) = -error(S)`` with error minADE, minFDE or NLL (Eq. 2, "performance, not
output"). A player's value ``phi_i`` is then the (Shapley-weighted) mean of ``error(S) - error(S + i)``:
positive means the input helps the prediction. Players outside ``S`` are removed by

* ``removal="zero"``: the past is zeroed (the agent "stood still"), a neighbour's edge is cut
  (mask 0) — the official ``zero`` variant, baseline Shapley values;
* ``removal="random"``: the past / neighbour is replaced by a real trajectory drawn from the pool of
  another scene, freshly per coalition — the official ``random`` variant.

Per sample, the aggregates are ``past = phi_past``, ``interaction = max_j phi_j`` over real neighbours
(0 without neighbours, Eq. 4) and ``random = phi_random``; a dataset is summarised by their means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import progress
from iclr22.trajshap.model import Prediction, trajectory_errors
from iclr22.trajshap.scenes import SceneBatch
from iclr22.trajshap.shapley import ESTIMATORS, estimate

__all__ = ["TrajectoryShapley", "Attributions", "trajectory_shapley", "METRICS", "REMOVALS"]

METRICS = ("ade", "fde", "nll")
REMOVALS = ("zero", "random")

Predictor = Callable[[SceneBatch], "Prediction | torch.Tensor"]


@dataclass
class Attributions:
    """Per-sample attributions.

    Attributes:
        values: one ``(players,)`` array per sample: ``[past, neighbour_1..n, (random)]``.
        stderr: the matching Monte-Carlo standard errors (zeros for exact estimators).
        past: ``(B,)`` phi of the target's past.
        interaction: ``(B,)`` max over real neighbours of phi (0 for a sample without neighbours).
        random: ``(B,)`` phi of the random agent (NaN when it was not a player).
        full_value: ``(B,)`` v(all players), i.e. minus the error with every input present.
        empty_value: ``(B,)`` v(no player).
        sample_index: ``(B,)`` index of each sample in the explained batch.
        estimator: the estimator used (``"exact"``, ``"permutation"``, ``"banzhaf"``, ...).
        metric: the error in the value function.
    """

    values: list[np.ndarray]
    stderr: list[np.ndarray]
    past: np.ndarray
    interaction: np.ndarray
    random: np.ndarray
    full_value: np.ndarray
    empty_value: np.ndarray
    sample_index: np.ndarray
    estimator: str
    metric: str
    estimators_used: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Dataset means of the paper's three bars: ``past``, ``interaction`` and ``random``."""
        out = {"past": float(np.mean(self.past)), "interaction": float(np.mean(self.interaction))}
        if np.isfinite(self.random).any():
            out["random"] = float(np.nanmean(self.random))
        return out

    def neighbour_values(self, i: int) -> np.ndarray:
        """phi of sample ``i``'s real neighbours, in the batch's neighbour order."""
        has_random = np.isfinite(self.random[i])
        values = self.values[i]
        return values[1 : len(values) - 1] if has_random else values[1:]


class TrajectoryShapley:
    """Shapley attribution of a trajectory predictor's performance to its inputs.

    Args:
        predictor: Any callable ``SceneBatch -> Prediction`` (or a tensor ``(B, [K,] T, 2)``), e.g. the
            models of :mod:`iclr22.trajshap.model` or a wrapper around your own model.
        metric: The error in the value function: ``"ade"`` (minADE over the modes, best-of-K),
            ``"fde"`` or ``"nll"`` (needs a probabilistic prediction).
        removal: ``"zero"`` (zero the past, cut the neighbour's edge) or ``"random"`` (replace by a real
            trajectory of another scene; needs :meth:`fit`).
        estimator: ``"exact"`` (all coalitions), ``"permutation"`` (sampling, with standard errors),
            ``"banzhaf"`` (the official code's Bernoulli(½) estimator), ``"exact_banzhaf"`` (its
            expectation) or ``"auto"`` (exact up to ``max_exact_players``, else permutation).
        random_agent: Add a random agent from another scene as an extra player (needs :meth:`fit`).
        max_exact_players: The ``"auto"`` threshold.
        num_permutations: Orderings per sample for ``"permutation"``.
        num_coalitions: Coalitions per player for ``"banzhaf"`` (the official code: 10).
        batch_size: Rows per forward pass of the predictor.
        seed: Seeds the random agents, random replacements and sampling estimators.
        device: Where the predictor runs.

    Example:
        >>> explainer = TrajectoryShapley(model, metric="ade").fit(train_batch)
        >>> attributions = explainer.explain(test_batch)
        >>> attributions.summary()  # {'past': 0.41, 'interaction': 0.01, 'random': 0.0}
    """

    def __init__(
        self,
        predictor: Predictor,
        metric: str = "ade",
        removal: str = "zero",
        estimator: str = "auto",
        random_agent: bool = True,
        max_exact_players: int = 12,
        num_permutations: int = 64,
        num_coalitions: int = 10,
        batch_size: int = 8192,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.predictor = predictor
        self.metric = metric
        self.removal = removal
        self.estimator = estimator
        self.random_agent = random_agent
        self.max_exact_players = max_exact_players
        self.num_permutations = num_permutations
        self.num_coalitions = num_coalitions
        self.batch_size = batch_size
        self.seed = seed
        self.device = device

    # -- the pool of real trajectories that random agents / random replacements come from ------------
    def fit(self, pool: SceneBatch) -> TrajectoryShapley:
        """Store real trajectories to draw random agents and replacements from.

        Args:
            pool: Samples of *other* scenes than the ones explained (e.g. the training set); their real
                neighbours' trajectories (relative to their own target) and their targets' pasts form the pool.
        """
        real = pool.neighbour_mask > 0
        self.neighbour_pool_ = pool.neighbours[real].detach().cpu()
        self.past_pool_ = pool.past.detach().cpu()
        self.pool_scenes_ = pool.scene_names
        if self.neighbour_pool_.shape[0] == 0:
            raise DataError("the pool has no real neighbour trajectory to draw random agents from")
        return self

    def _check(self, batch: SceneBatch) -> None:
        if self.metric not in METRICS:
            raise ConfigError(f"unknown metric {self.metric!r}; choose one of {', '.join(METRICS)}")
        if self.removal not in REMOVALS:
            raise ConfigError(f"unknown removal {self.removal!r}; choose one of {', '.join(REMOVALS)}")
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"unknown estimator {self.estimator!r}; choose one of {', '.join(ESTIMATORS)}")
        if (self.random_agent or self.removal == "random") and not hasattr(self, "neighbour_pool_"):
            raise ConfigError("random agents and random removal draw from a pool: call fit(pool_batch) first")
        if batch.future is None:
            raise DataError("the value function is the error on the ground truth: the batch needs `future`")
        if batch.past.shape[-2] < 2:
            raise DataError(f"the past needs at least 2 observed steps, got {batch.past.shape[-2]}")
        for name in ("past", "neighbours", "future"):
            if not torch.isfinite(getattr(batch, name)).all():
                raise DataError(f"batch.{name} holds NaN/inf values")

    # -- the value function: -error of the predictor with only a coalition of players present -----------
    def _coalition_batch(self, sample: SceneBatch, masks: torch.Tensor, random_tracks: torch.Tensor | None, gen: torch.Generator) -> SceneBatch:
        """Rows of a batch, one per (game, coalition): ``sample`` holds G games of the same size,
        ``masks (G, C, P)``; returns G*C rows with the absent players removed."""
        games, coalitions, _ = masks.shape
        rows = games * coalitions
        n = sample.neighbours.shape[1]
        rep = lambda t: t.repeat_interleave(coalitions, dim=0)  # noqa: E731
        flat = masks.reshape(rows, -1)
        has_past = flat[:, 0].float().view(rows, 1, 1)
        past = rep(sample.past)
        neighbours = rep(sample.neighbours)
        present = flat[:, 1 : 1 + n].float()
        if random_tracks is not None:  # the random agent is one more neighbour slot
            neighbours = torch.cat([neighbours, rep(random_tracks).unsqueeze(1)], dim=1)
            present = torch.cat([present, flat[:, -1:].float()], dim=1)
        if self.removal == "zero":
            past = past * has_past
            neighbours = neighbours * present.view(rows, -1, 1, 1)
            edge = present
        else:  # replaced players are real trajectories from elsewhere, drawn anew for every coalition
            pick = torch.randint(len(self.past_pool_), (rows,), generator=gen)
            past = torch.where(has_past > 0, past, self.past_pool_[pick].to(past))
            slots = neighbours.shape[1]
            pick = torch.randint(len(self.neighbour_pool_), (rows, slots), generator=gen)
            stand_in = self.neighbour_pool_[pick].to(neighbours)
            neighbours = torch.where(present.view(rows, slots, 1, 1) > 0, neighbours, stand_in)
            edge = torch.ones_like(present)
        context = sample.context
        if isinstance(context, torch.Tensor) and context.shape[:1] == sample.past.shape[:1]:
            context = rep(context)
        return SceneBatch(past=past, neighbours=neighbours, neighbour_mask=edge, future=rep(sample.future), context=context)

    @torch.no_grad()
    def _errors(self, batch: SceneBatch) -> torch.Tensor:
        out = []
        for start in range(0, len(batch), self.batch_size):
            rows = slice(start, start + self.batch_size)
            part = SceneBatch(
                past=batch.past[rows], neighbours=batch.neighbours[rows], neighbour_mask=batch.neighbour_mask[rows],
                future=batch.future[rows], context=batch.context[rows] if isinstance(batch.context, torch.Tensor) and batch.context.shape[:1] == batch.past.shape[:1] else batch.context,
            ).to(self.device)
            prediction = Prediction.of(self.predictor(part))
            errors = trajectory_errors(prediction, part.future)
            if self.metric not in errors:
                raise ConfigError(f"metric {self.metric!r} needs a probabilistic prediction (log_sigma); this predictor gives {sorted(errors)}")
            out.append(errors[self.metric].double().cpu())
        return torch.cat(out)

    def explain(self, batch: SceneBatch, show_progress: bool = True) -> Attributions:
        """Attributions of every sample of ``batch`` (samples with the same number of players are
        evaluated together, all their coalitions in large batched forward passes)."""
        self._check(batch)
        gen = torch.Generator().manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        size = len(batch)
        counts = batch.num_neighbours.numpy()
        random_tracks = None
        if self.random_agent:
            random_tracks = self.neighbour_pool_[torch.randint(len(self.neighbour_pool_), (size,), generator=gen)]
        players = 1 + counts + int(self.random_agent)
        values: list[np.ndarray] = [np.zeros(0)] * size
        stderr: list[np.ndarray] = [np.zeros(0)] * size
        full = np.zeros(size)
        empty = np.zeros(size)
        used: dict[str, int] = {}
        groups = [np.flatnonzero(players == p) for p in np.unique(players)]
        for group in progress(groups, desc="shapley", total=len(groups)) if show_progress else groups:
            n = int(players[group[0]])
            sample = batch.index(group)
            tracks = random_tracks[group] if random_tracks is not None else None
            per_game = self._evaluations(n)
            chunk = max(1, self.batch_size // max(per_game, 1))
            for start in range(0, len(group), chunk):
                members = group[start : start + chunk]
                part = sample.index(np.arange(start, start + len(members)))
                part_tracks = tracks[start : start + len(members)] if tracks is not None else None

                def value_fn(masks: np.ndarray) -> np.ndarray:
                    coalition = self._coalition_batch(part, torch.from_numpy(np.array(masks, dtype=bool)), part_tracks, gen)
                    return -self._errors(coalition).numpy().reshape(masks.shape[:2])

                result = estimate(value_fn, n, len(members), self.estimator, self.max_exact_players, self.num_permutations, self.num_coalitions, rng)
                ends = value_fn(np.stack([np.ones((len(members), n), bool), np.zeros((len(members), n), bool)], axis=1))
                for k, i in enumerate(members):
                    values[i], stderr[i] = result.values[k], result.stderr[k]
                full[members], empty[members] = ends[:, 0], ends[:, 1]
                used[result.estimator] = used.get(result.estimator, 0) + len(members)
        past = np.array([v[0] for v in values])
        interaction = np.array([v[1 : 1 + c].max() if c > 0 else 0.0 for v, c in zip(values, counts)])
        random = np.array([v[-1] for v in values]) if self.random_agent else np.full(size, np.nan)
        return Attributions(values, stderr, past, interaction, random, full, empty, np.arange(size), self.estimator, self.metric, used)

    def _evaluations(self, n: int) -> int:
        if self.estimator == "banzhaf":
            return 2 * n * self.num_coalitions
        if self.estimator == "permutation" or (self.estimator == "auto" and n > self.max_exact_players):
            return (self.num_permutations + 1) // 2 * 2 * (n + 1)
        return 2**n


def trajectory_shapley(
    predictor: Predictor,
    batch: SceneBatch,
    pool: SceneBatch | None = None,
    metric: str = "ade",
    removal: str = "zero",
    estimator: str = "auto",
    **kwargs,
) -> Attributions:
    """Functional form of :class:`TrajectoryShapley`: attributions of ``batch``; a ``pool`` enables the
    random agent (and ``removal="random"``)."""
    explainer = TrajectoryShapley(predictor, metric=metric, removal=removal, estimator=estimator, random_agent=pool is not None, **kwargs)
    if pool is not None:
        explainer.fit(pool)
    return explainer.explain(batch)
