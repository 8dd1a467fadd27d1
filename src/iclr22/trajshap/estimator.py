"""The public estimators: :class:`TrajectoryShapley` (the paper's attribution procedure, Makansi et al.,
2022, Sec. 3-4) with its functional form :func:`trajectory_shapley`, and :class:`TrajectoryPredictor`, a
trained predictor to analyse (the functional form of its training is :func:`~iclr22.trajshap.train.fit_predictor`).

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Union, get_args

import numpy as np
import torch
from torch import nn

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.core.training import progress
from iclr22.core.validation import check_array
from iclr22.trajshap.model import Prediction, build_predictor, trajectory_errors
from iclr22.trajshap.scenes import SceneBatch
from iclr22.trajshap.shapley import MAX_EXACT_PLAYERS, EstimatorName, estimate
from iclr22.trajshap.train import evaluate_predictor, fit_predictor, position_scale

__all__ = ["TrajectoryShapley", "TrajectoryPredictor", "Attributions", "trajectory_shapley", "METRICS", "REMOVALS", "ARCHITECTURES"]

Metric = Literal["ade", "fde", "nll"]
Removal = Literal["zero", "random"]
Architecture = Literal["cv", "lstm", "interaction"]
METRICS: tuple[str, ...] = get_args(Metric)
REMOVALS: tuple[str, ...] = get_args(Removal)
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)

Predictor = Callable[[SceneBatch], Union[Prediction, torch.Tensor]]


def _check_batch(X: SceneBatch, name: str, need_future: bool = True) -> SceneBatch:
    """``X`` is a non-empty :class:`SceneBatch` of finite coordinates (with ``future`` when it is needed)."""
    if not isinstance(X, SceneBatch):
        raise DataError(f"{name}: expected a SceneBatch (see iclr22.trajshap.build_samples), got {type(X).__name__}")
    if need_future and X.future is None:
        raise DataError(f"{name}: the error on the ground truth needs `future`; this batch has none")
    check_array(X.past, f"{name}.past", ndim=3, dtype=None)
    check_array(X.neighbours, f"{name}.neighbours", ndim=4, dtype=None, min_rows=0)
    if X.future is not None:
        check_array(X.future, f"{name}.future", ndim=3, dtype=None)
    return X


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


class TrajectoryShapley(Estimator):
    """Shapley attribution of a trajectory predictor's performance to its inputs.

    Args:
        predictor: The model to explain, a callable ``SceneBatch -> Prediction`` (set by the experiment to
            each trained model). Any callable returning a ``Prediction`` or a tensor ``(B, [K,] T, 2)``
            works: a fitted :class:`TrajectoryPredictor`, a module of :mod:`iclr22.trajshap.model`, or a
            wrapper around your own model.
        metric: The error in the value function: ``"ade"`` (minADE over the modes, best-of-K),
            ``"fde"`` or ``"nll"`` (needs a probabilistic prediction).
        removal: How an absent player is removed: ``"zero"`` (zero the past, cut the neighbour's edge) or
            ``"random"`` (replace by a real trajectory of another scene; needs a pool in :meth:`fit`).
        estimator: The Shapley estimator: ``"exact"`` (all coalitions), ``"permutation"`` (sampling, with
            standard errors), ``"banzhaf"`` (the official code's Bernoulli(½) estimator), ``"exact_banzhaf"``
            (its expectation) or ``"auto"`` (exact up to ``max_exact_players``, else permutation).
        random_agent: Add a random agent from another scene as an extra player (needs a pool in :meth:`fit`).
        max_exact_players: The ``"auto"`` threshold between exact enumeration and permutation sampling.
        num_permutations: Orderings per sample for ``"permutation"``.
        num_coalitions: Coalitions per player for ``"banzhaf"`` (the official code: 10).
        eval_batch_size: Rows per forward pass of the predictor.
        seed: Seeds the random agents, random replacements and sampling estimators.
        device: Where the coalitions are evaluated (a torch module given as ``predictor`` is moved there).
        verbose: Progress bar over the groups of samples (``None``: on a terminal only).

    Example:
        >>> explainer = TrajectoryShapley(model, metric="ade").fit(train_batch)
        >>> attributions = explainer.explain(test_batch)
        >>> attributions.summary()  # {'past': 0.41, 'interaction': 0.01, 'random': 0.0}
    """

    _fitted_attribute = "neighbour_pool_"
    _not_options = ("predictor",)  # the fitted predictor is passed in, not a setting of a run

    def __init__(
        self,
        predictor: Predictor | None = None,
        metric: Metric = "ade",
        removal: Removal = "zero",
        estimator: EstimatorName = "auto",
        random_agent: bool = True,
        max_exact_players: int = 12,
        num_permutations: int = 64,
        num_coalitions: int = 10,
        eval_batch_size: int = 8192,
        seed: int = 0,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.predictor = predictor
        self.metric = metric
        self.removal = removal
        self.estimator = estimator
        self.random_agent = random_agent
        self.max_exact_players = max_exact_players
        self.num_permutations = num_permutations
        self.num_coalitions = num_coalitions
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _check_params(self) -> None:
        super()._check_params()
        if not 0 <= self.max_exact_players <= MAX_EXACT_PLAYERS:
            raise ConfigError(f"TrajectoryShapley: max_exact_players must be in [0, {MAX_EXACT_PLAYERS}], got {self.max_exact_players}")
        for name, lowest in (("num_permutations", 2), ("num_coalitions", 1), ("eval_batch_size", 1)):
            if getattr(self, name) < lowest:
                raise ConfigError(f"TrajectoryShapley: {name} must be at least {lowest}, got {getattr(self, name)}")

    # -- the pool of real trajectories that random agents / random replacements come from ------------
    def fit(self, X: SceneBatch | None = None, y: None = None) -> TrajectoryShapley:
        """Check the parameters and store real trajectories to draw random agents and replacements from.

        Args:
            X: The pool: samples of *other* scenes than the ones explained (e.g. the training set); their
                real neighbours' trajectories (relative to their own target) and their targets' pasts form
                it. ``None`` (no pool) is allowed with ``random_agent=False`` and ``removal="zero"``.
            y: Ignored (scikit-learn's signature).
        """
        self._check_params()
        if self.predictor is None:
            raise ConfigError("TrajectoryShapley: no predictor to explain; pass TrajectoryShapley(predictor, ...)")
        if X is None:
            if self.random_agent or self.removal == "random":
                raise ConfigError("random agents and random removal draw from a pool: call fit(pool_batch) with samples of other scenes")
            self.past_pool_, self.pool_scenes_, self.neighbour_pool_ = None, [], None
            return self
        _check_batch(X, "X", need_future=False)
        real = X.neighbour_mask > 0
        neighbour_pool = X.neighbours[real].detach().cpu()
        if neighbour_pool.shape[0] == 0:
            raise DataError("the pool has no real neighbour trajectory to draw random agents from")
        self.past_pool_ = X.past.detach().cpu()
        self.pool_scenes_ = list(X.scene_names)
        self.neighbour_pool_ = neighbour_pool
        return self

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
        for start in range(0, len(batch), self.eval_batch_size):
            rows = slice(start, start + self.eval_batch_size)
            part = SceneBatch(
                past=batch.past[rows], neighbours=batch.neighbours[rows], neighbour_mask=batch.neighbour_mask[rows],
                future=batch.future[rows], context=batch.context[rows] if isinstance(batch.context, torch.Tensor) and batch.context.shape[:1] == batch.past.shape[:1] else batch.context,
            ).to(self.device)
            prediction = Prediction.of(self.predictor(part))
            errors = trajectory_errors(prediction, part.future.to(prediction.modes.device))
            if self.metric not in errors:
                raise ConfigError(f"metric {self.metric!r} needs a probabilistic prediction (log_sigma); this predictor gives {sorted(errors)}")
            out.append(errors[self.metric].double().cpu())
        return torch.cat(out)

    def explain(self, X: SceneBatch) -> Attributions:
        """Attributions of every sample of ``X`` (samples with the same number of players are evaluated
        together, all their coalitions in large batched forward passes).

        Raises:
            NotFittedError: before :meth:`fit`.
            DataError: ``X`` is not a finite batch with a ground-truth ``future`` and at least 2 observed steps.
        """
        self._check_is_fitted("explain")
        batch = _check_batch(X, "X")
        if batch.past.shape[-2] < 2:
            raise DataError(f"the past needs at least 2 observed steps, got {batch.past.shape[-2]}")
        if isinstance(self.predictor, nn.Module):
            self.predictor.to(self.device)
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
        for group in progress(groups, desc="shapley", total=len(groups), verbose=self.verbose):
            n = int(players[group[0]])
            sample = batch.index(group)
            tracks = random_tracks[group] if random_tracks is not None else None
            per_game = self._evaluations(n)
            chunk = max(1, self.eval_batch_size // max(per_game, 1))
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

    # -- persistence: the pool here, the predictor (an iclr22 estimator) in the sub-folder predictor/ ----
    def save(self, path: str | Path) -> Path:
        """Write the explainer and its predictor (which must be an iclr22 estimator, e.g. a
        :class:`TrajectoryPredictor`, saved into ``path/predictor``) to the folder ``path``."""
        self._check_is_fitted("save it")
        if not isinstance(self.predictor, Estimator):
            raise ConfigError(f"TrajectoryShapley.save: the predictor must be an iclr22 estimator (e.g. a TrajectoryPredictor) to be saved, got {type(self.predictor).__name__}")
        from iclr22.core.estimator import save_estimator

        shell = _with_params(self, predictor=None)  # estimator.json holds plain parameters only
        folder = save_estimator(shell, path)
        self.predictor.save(folder / "predictor")
        return folder

    def _fitted_state(self) -> dict:
        return {"past_pool": self.past_pool_, "neighbour_pool": self.neighbour_pool_, "pool_scenes": list(self.pool_scenes_)}

    def _restore_fitted_state(self, state: dict, folder: Path) -> None:
        from iclr22.core.estimator import load_estimator

        self.predictor = load_estimator(folder / "predictor", device=self.device)
        self.past_pool_, self.pool_scenes_ = state["past_pool"], list(state["pool_scenes"])
        self.neighbour_pool_ = state["neighbour_pool"]


def _with_params(estimator: Estimator, **params) -> Estimator:
    """A shallow copy of ``estimator`` (fitted state shared) with some parameters replaced."""
    import copy

    shell = copy.copy(estimator)
    for name, value in params.items():
        setattr(shell, name, value)
    return shell


def trajectory_shapley(predictor: Predictor, X: SceneBatch, pool: SceneBatch | None = None, **params) -> Attributions:
    """Functional form of :class:`TrajectoryShapley`: attributions of ``X``; a ``pool`` enables the
    random agent (and ``removal="random"``); ``params`` are :class:`TrajectoryShapley`'s."""
    return TrajectoryShapley(predictor, random_agent=pool is not None, **params).fit(pool).explain(X)


class TrajectoryPredictor(Estimator):
    """A trajectory predictor to analyse, trained like Trajectron++ on pedestrians
    (:func:`~iclr22.trajshap.train.fit_predictor`; the modules are in :mod:`iclr22.trajshap.model`).

    Args:
        architecture: The model: cv (constant velocity), lstm (the target's past only) or interaction (past
            and neighbours); set by the experiment from ``models``. ``cv`` has nothing to learn.
        modes: Predicted trajectories per sample (the K of best-of-K).
        hidden: Encoder width of the learned models.
        epochs: Training epochs; the state with the best validation minADE is kept.
        batch_size: Training samples per step.
        lr: Adam learning rate (Trajectron++: 1e-3).
        weight_decay: Adam weight decay.
        patience: Validation evaluations without improvement before stopping early (0: no early stopping).
        augment: Random rotations of every training sample.
        wta_weight: Weight of the winner-takes-all minADE term of the loss.
        seed: Seeds the initialisation, the shuffling and the augmentation.
        device: Where the model trains and predicts.
        verbose: Progress bar over the epochs (``None``: on a terminal only).
        checkpoint_dir: Save every epoch into this folder and resume from it (``None``: no checkpoints).

    Example:
        >>> predictor = TrajectoryPredictor("interaction", epochs=40).fit(train, X_val=val)
        >>> predictor.evaluate(test)  # {'ade': ..., 'fde': ..., 'nll': ...}
    """

    _fitted_attribute = "module_"
    _not_options = ("architecture",)  # the experiment trains one predictor per architecture (--set models=...)

    def __init__(
        self,
        architecture: Architecture = "interaction",
        modes: int = 20,
        hidden: int = 64,
        epochs: int = 40,
        batch_size: int = 256,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        patience: int = 0,
        augment: bool = True,
        wta_weight: float = 1.0,
        seed: int = 0,
        device: str = "cpu",
        verbose: bool | None = None,
        checkpoint_dir: str | None = None,
    ) -> None:
        self.architecture = architecture
        self.modes = modes
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.augment = augment
        self.wta_weight = wta_weight
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir

    def _check_params(self) -> None:
        super()._check_params()
        for name, lowest in (("modes", 1), ("hidden", 1), ("epochs", 0), ("batch_size", 1), ("patience", 0)):
            if getattr(self, name) < lowest:
                raise ConfigError(f"TrajectoryPredictor: {name} must be at least {lowest}, got {getattr(self, name)}")
        for name in ("lr", "weight_decay", "wta_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"TrajectoryPredictor: {name} must be non-negative, got {getattr(self, name)}")

    def fit(self, X: SceneBatch, y: torch.Tensor | np.ndarray | None = None, X_val: SceneBatch | None = None) -> TrajectoryPredictor:
        """Build the model for ``X``'s prediction length and position scale and train it.

        Args:
            X: Training samples (with ``future`` unless ``y`` is given).
            y: ``(B, T_pred, 2)`` ground-truth futures (default: ``X.future``).
            X_val: Validation samples; the state with their best minADE is kept (``None``: the last epoch's).
        """
        self._check_params()
        if y is not None:
            X = replace(X, future=torch.as_tensor(check_array(y, "y", ndim=3)))
        train = _check_batch(X, "X")
        if X_val is not None:
            _check_batch(X_val, "X_val")
        scale = position_scale(train)
        torch.manual_seed(self.seed)
        module = build_predictor(self.architecture, train.future.shape[1], self.modes, self.hidden, scale).to(self.device)
        if self.architecture != "cv":
            fit_predictor(
                module, train, X_val, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                patience=self.patience, augment=self.augment, wta_weight=self.wta_weight,
                checkpoint_path=Path(self.checkpoint_dir) / "predictor.pt" if self.checkpoint_dir is not None else None,
                seed=self.seed, desc=f"train {self.architecture}", verbose=self.verbose,
            )
        self.scale_, self.pred_len_ = scale, int(train.future.shape[1])
        self.module_ = module.eval()
        return self

    @torch.no_grad()
    def predict(self, X: SceneBatch) -> Prediction:
        """The predicted futures of ``X`` (on :attr:`device`)."""
        self._check_is_fitted("predict")
        return self.module_(X.to(self.device))

    __call__ = predict  # a predictor for TrajectoryShapley is a callable

    def evaluate(self, X: SceneBatch, without_neighbours: bool = False) -> dict[str, float]:
        """Mean minADE / minFDE (and NLL) on ``X``; ``without_neighbours`` cuts every edge (Table 1's ablation)."""
        self._check_is_fitted("evaluate it")
        return evaluate_predictor(self.module_, _check_batch(X, "X"), without_neighbours=without_neighbours)

    def _fitted_state(self) -> dict:
        return {"module": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}, "scale": self.scale_, "pred_len": self.pred_len_}

    def _restore_fitted_state(self, state: dict, folder: Path) -> None:
        with torch.random.fork_rng(devices=[]):  # building the modules draws an initialisation we overwrite
            module = build_predictor(self.architecture, int(state["pred_len"]), self.modes, self.hidden, float(state["scale"]))
        module.load_state_dict(state["module"])
        self.scale_, self.pred_len_ = float(state["scale"]), int(state["pred_len"])
        self.module_ = module.to(self.device).eval()
