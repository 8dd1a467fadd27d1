"""RIM — Recurrent Intensity Modeling (Ma, Liu, Deoras; ICLR 2022): which users to target for an item, now.

:class:`RIM` fits, on an event log (user, item, timestamp), a next-item model p(item | user history) (a GRU)
and a user-activity intensity λ(user) (Hawkes–Poisson by default), and scores λ(user)·p(item | user): the
expected engagements of the user with the item in the next ``horizon``. The same scores serve ItemRec
(:meth:`RIM.recommend`: items per user) and UserRec (:meth:`RIM.target`: users per item, the marketing task),
optionally under exposure constraints (:mod:`iclr22.rim.matching`). :func:`target_users` is the one-call form.

Two ways to fit: :meth:`RIM.fit` on a user's log (scored at ``at``, default just after the last event; the
Hawkes–Poisson weights learned on the last ``horizon`` before it), and :meth:`RIM.fit_split` on the paper's time
split (:func:`iclr22.data.interactions.time_split`), as the experiment does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.data.interactions import Interactions, TimeSplit, _build

__all__ = ["RIM", "target_users", "as_interactions"]


def as_interactions(events: Any) -> Interactions:
    """An :class:`~iclr22.data.interactions.Interactions`, or a table with columns ``user``, ``item``, ``timestamp``
    (a pandas DataFrame, a dict of arrays), or a sequence of ``(user, item, timestamp)`` rows.

    Raises:
        DataError: missing columns, different lengths, no events, or timestamps that are not numbers.
    """
    if isinstance(events, Interactions):
        return events
    if hasattr(events, "columns") or isinstance(events, Mapping):
        missing = [c for c in ("user", "item", "timestamp") if c not in events]
        if missing:
            raise DataError(f"events: missing column(s) {', '.join(missing)} (expected user, item, timestamp)")
        users, items, times = (np.asarray(events[c]) for c in ("user", "item", "timestamp"))
    else:
        rows = list(events)
        if rows and any(len(r) != 3 for r in rows):
            raise DataError("events: every row must be (user, item, timestamp)")
        users, items, times = (np.asarray([r[j] for r in rows]) for j in range(3)) if rows else (np.zeros(0),) * 3
    if not (len(users) == len(items) == len(times)):
        raise DataError(f"events: user, item and timestamp have different lengths ({len(users)}, {len(items)}, {len(times)})")
    if len(users) == 0:
        raise DataError("events: no events")
    try:
        times = times.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError("events: timestamp must be numeric (for example unix seconds)") from None
    if not np.isfinite(times).all():
        raise DataError("events: timestamp has NaN or infinite values")
    return _build(users, items, times, None, "events")


class RIM(Estimator):
    """Scores λ(user)·p(item | user) to recommend items (ItemRec) and to target users (UserRec).

    Args:
        intensity: λ(user): ``"hawkes_poisson"`` (paper's best: Hawkes state → next-horizon count, Poisson
            likelihood), ``"hawkes"`` (exponential-kernel Hawkes), ``"ema"`` (decayed event count),
            ``"user_pop"`` (past event count) or ``"none"`` (λ = 1: the item model alone).
        item_model: p(item | user): ``"gru"`` (GRU over the user's items) or ``"pop"`` (item popularity).
        horizon: Length of the window the scores predict, in the timestamps' unit; ``"auto"``: a tenth of the
            log's time span (:meth:`fit`) or the split's horizon (:meth:`fit_split`).
        hidden: GRU width = item embedding size (paper code: 128).
        num_layers: GRU layers (paper code: 2).
        epochs: GRU training epochs (paper code: 20); the best epoch on held-out users is kept.
        lr: Adagrad learning rate (paper code: 0.1).
        batch_size: Users per GRU batch (paper code: 64).
        max_len: Each user's last events fed to the GRU (paper code: 256).
        num_decays: Hawkes decay scales, log-spaced from 1e-6 to 10 horizons (paper code: 50).
        exclude_seen: Never recommend a (user, item) pair already in the user's history.
        num_threads: Torch intra-op threads while fitting (None: leave as is); one is fastest for this small GRU
            on a shared CPU.
        seed: Seed of the GRU's initialisation, batches and held-out users, and of tie-breaking.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` for the GRU.
        verbose: Progress bar: ``None`` on a terminal only, ``True`` always, ``False`` never.
    """

    _fitted_attribute = "intensity_"

    def __init__(self, intensity: Literal["hawkes_poisson", "hawkes", "ema", "user_pop", "none"] = "hawkes_poisson",
                 item_model: Literal["gru", "pop"] = "gru", horizon: float | Literal["auto"] = "auto", hidden: int = 128,
                 num_layers: int = 2, epochs: int = 20, lr: float = 0.1, batch_size: int = 64, max_len: int = 256,
                 num_decays: int = 50, exclude_seen: bool = True, num_threads: int | None = 1, seed: int | None = 0, device: str = "cpu",
                 verbose: bool | None = None) -> None:
        self.intensity, self.item_model, self.horizon = intensity, item_model, horizon
        self.hidden, self.num_layers, self.epochs, self.lr, self.batch_size, self.max_len = hidden, num_layers, epochs, lr, batch_size, max_len
        self.num_decays, self.exclude_seen, self.num_threads = num_decays, exclude_seen, num_threads
        self.seed, self.device, self.verbose = seed, device, verbose

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("hidden", "num_layers", "batch_size", "max_len", "num_decays"):
            if getattr(self, name) < 1:
                raise ConfigError(f"RIM: {name} must be at least 1, got {getattr(self, name)}")
        if self.epochs < 0 or self.lr <= 0:
            raise ConfigError(f"RIM: epochs must be >= 0 and lr > 0, got epochs={self.epochs}, lr={self.lr}")
        if self.horizon != "auto" and not self.horizon > 0:
            raise ConfigError(f"RIM: horizon must be positive or 'auto', got {self.horizon}")

    # ------------------------------------------------------------------------------------------ fitting
    def fit(self, events: Any, at: float | None = None) -> "RIM":
        """Fit on a user's log and score every user at time ``at`` (default: just after the last event).

        The Hawkes–Poisson weights are learned on the last ``horizon`` before ``at``: the Hawkes state of each
        user at ``at - horizon`` against the number of events they had in ``[at - horizon, at)``.

        Args:
            events: An ``Interactions`` or a table with columns ``user``, ``item``, ``timestamp`` (any order;
                ids may be strings).
            at: The time "now" at which users are scored; events at or after it are ignored.

        Raises:
            DataError: no events before ``at``, or a horizon that leaves no user history before ``at - horizon``.
        """
        self._check_params()
        data = as_interactions(events)
        t = data.timestamp.astype(np.float64)
        at = float(t.max() + max(1e-9, 1e-9 * abs(t.max()))) if at is None else float(at)
        if not (t < at).any():
            raise DataError(f"events: no event before at={at:g}")
        span = float(t[t < at].max() - t.min())
        horizon = span / 10 if self.horizon == "auto" else float(self.horizon)
        if horizon <= 0:
            raise DataError("events: every event has the same timestamp; RIM needs events spread over time (or set horizon)")
        keep = t < at
        user, item, time = data.user[keep], data.item[keep], t[keep]
        val_at = np.full(data.n_users, at - horizon)
        counts = np.bincount(user[time >= at - horizon], minlength=data.n_users)
        val_users = np.flatnonzero(np.bincount(user[time < at - horizon], minlength=data.n_users) > 0)
        if self.intensity == "hawkes_poisson" and len(val_users) < 2:
            raise DataError(f"events: fewer than 2 users have events before at - horizon = {at - horizon:g}, so the "
                            "Hawkes-Poisson weights cannot be learned; choose a shorter horizon (--set horizon=...)")
        score_users = np.flatnonzero(np.bincount(user, minlength=data.n_users) > 0)
        self._fit_parts(data, user, item, time, np.full(data.n_users, at), score_users, val_at, val_users, counts[val_users], horizon)
        return self

    def fit_split(self, split: TimeSplit) -> "RIM":
        """Fit on the paper's time split: the item model on the training events, Hawkes on the test users' histories,
        Hawkes–Poisson on the validation users' windows; every test user is scored at its test start."""
        self._check_params()
        data, train = split.data, split.train_mask
        horizon = split.horizon if self.horizon == "auto" else float(self.horizon)
        counts = np.bincount(data.user[split.window_mask(split.val_start)], minlength=data.n_users)
        self._fit_parts(data, data.user[train], data.item[train], data.timestamp[train].astype(np.float64), split.test_start,
                        split.test_users, split.val_start, split.val_users, counts[split.val_users], horizon)
        return self

    def _fit_parts(self, *args: Any) -> None:
        from iclr22.core.device import torch_threads

        with torch_threads(self.num_threads):
            self._fit_parts_unthreaded(*args)

    def _fit_parts_unthreaded(self, data: Interactions, user: np.ndarray, item: np.ndarray, time: np.ndarray, at: np.ndarray,
                   score_users: np.ndarray, val_at: np.ndarray, val_users: np.ndarray, val_counts: np.ndarray, horizon: float) -> None:
        from iclr22.rim import hawkes as H
        from iclr22.rim.train import decayed_counts, gru_log_probs, history_counts, item_popularity, train_gru, user_sequences

        n_users, n_items = data.n_users, data.n_items
        self.user_ids_, self.item_ids_, self.horizon_ = data.user_ids, data.item_ids, float(horizon)
        self.at_ = np.where(np.isfinite(at), at, np.nan)
        self.popularity_ = item_popularity(item, n_items)
        self.seen_ = np.unique(user * n_items + item)
        self.history_: list[dict[str, float]] = []
        self.net_ = None
        if self.item_model == "gru":
            sequences = user_sequences(user, item, time, n_users, self.max_len)
            self.net_, self.history_ = train_gru(sequences, n_items, self.hidden, self.num_layers, self.epochs, self.lr, self.batch_size,
                                                 seed=0 if self.seed is None else self.seed, device=self.device, verbose=self.verbose)
            self.net_.cpu()
            self.log_probs_ = np.full((n_users, n_items), np.nan, dtype=np.float32)
            self.log_probs_[score_users] = gru_log_probs(self.net_, [sequences[u] for u in score_users])
        else:
            self.log_probs_ = np.tile(np.log(self.popularity_).astype(np.float32), (n_users, 1))
        intensity = np.zeros(n_users)
        self.hawkes_theta_ = np.zeros(0)
        self.hp_weights_ = np.zeros(0)
        betas = H.decays(self.num_decays)
        if self.intensity in ("hawkes", "hawkes_poisson"):
            times, ends = H.user_times(user, time, at, horizon, score_users)
            if self.intensity == "hawkes":
                fit = H.fit_hawkes(times, ends, betas)
                self.hawkes_theta_ = fit.theta
                intensity[score_users] = H.hawkes_intensity(fit, times, ends)
            else:
                val_times, val_ends = H.user_times(user, time, val_at, horizon, val_users)
                self.hp_weights_ = H.fit_hawkes_poisson(H.hawkes_state(val_times, val_ends, betas), val_counts)
                intensity[score_users] = H.hawkes_poisson_rate(self.hp_weights_, H.hawkes_state(times, ends, betas))
        elif self.intensity == "ema":
            intensity = decayed_counts(user, time, at, horizon)
        elif self.intensity == "user_pop":
            intensity = history_counts(user, time, at)
        else:
            intensity[score_users] = 1.0
        self.score_users_ = np.asarray(score_users, dtype=np.int64)
        self.intensity_ = intensity

    # ------------------------------------------------------------------------------------------ scoring
    def _user_index(self, users: Any | None) -> np.ndarray:
        if users is None:
            return self.score_users_
        return _lookup(self.user_ids_, users, "user")

    def _item_index(self, items: Any | None) -> np.ndarray:
        if items is None:
            return np.arange(len(self.item_ids_))
        return _lookup(self.item_ids_, items, "item")

    def score(self, users: Any | None = None, items: Any | None = None) -> np.ndarray:
        """``[users, items]`` λ(user)·p(item | user), with ``-inf`` for pairs already seen (``exclude_seen``).

        Args:
            users: Raw user ids (default: every user scored at fit time).
            items: Raw item ids (default: every item).
        """
        self._check_is_fitted("score")
        u, i = self._user_index(users), self._item_index(items)
        if np.isnan(self.log_probs_[u][:, :1]).any():
            raise DataError("RIM: some users were not scored at fit time (only the test users of a split are)")
        scores = self.intensity_[u, None] * np.exp(self.log_probs_[u][:, i].astype(np.float64))
        if self.exclude_seen:
            seen = np.isin(u[:, None] * len(self.item_ids_) + i[None, :], self.seen_)
            scores[seen] = -np.inf
        return scores

    def recommend(self, k: int = 10, users: Any | None = None, items: Any | None = None, item_cap: int | None = None,
                  method: Literal["greedy", "dual"] = "greedy") -> dict[str, np.ndarray]:
        """ItemRec: each user's ``k`` best items; with ``item_cap``, no item goes to more than that many users.

        Returns:
            Columns ``user``, ``item``, ``rank`` (1 = best for the user), ``score``, ``intensity``, ``p_item``.
        """
        scores = self.score(users, items)
        return self._rows(scores, self._allocate(scores, k, item_cap, method), users, items, by_item=False)

    def target(self, items: Any | None = None, per_item: int = 10, users: Any | None = None, user_cap: int | None = None,
               method: Literal["greedy", "dual"] = "greedy") -> dict[str, np.ndarray]:
        """UserRec: for each item, the ``per_item`` users to target now; with ``user_cap``, no user is targeted by
        more than that many items.

        Returns:
            Columns ``item``, ``user``, ``rank`` (1 = best user for the item), ``score``, ``intensity``, ``p_item``.
        """
        scores = self.score(users, items).T
        return self._rows(scores.T, self._allocate(scores, per_item, user_cap, method).T, users, items, by_item=True)

    def _allocate(self, scores: np.ndarray, per_row: int, col_cap: int | None, method: str) -> np.ndarray:
        """The 0/1 assignment of ``per_row`` columns to each row of ``scores``: plain top-k, or under a cap on
        each column by the exact greedy allocation or the online dual (paper page, section 3.4)."""
        from iclr22.rim.matching import dual_allocate, greedy_allocate, top_k_per_row

        seed = 0 if self.seed is None else self.seed
        if col_cap is None:
            return top_k_per_row(scores, per_row, seed)
        allocate = greedy_allocate if method == "greedy" else dual_allocate
        return allocate(scores, per_row, col_cap=col_cap, seed=seed)

    def _rows(self, scores: np.ndarray, assigned: np.ndarray, users: Any, items: Any, by_item: bool) -> dict[str, np.ndarray]:
        u_idx, i_idx = self._user_index(users), self._item_index(items)
        rows, cols = np.nonzero(assigned)
        value = scores[rows, cols]
        # rank within the user (ItemRec) or the item (UserRec), best first
        group, other = (cols, rows) if by_item else (rows, cols)
        order = np.lexsort((-value, group))
        rows, cols, value, group = rows[order], cols[order], value[order], group[order]
        starts = np.searchsorted(group, group, side="left")
        rank = np.arange(len(group)) - starts + 1
        u, i = u_idx[rows], i_idx[cols]
        out = {"user": self.user_ids_[u], "item": self.item_ids_[i], "rank": rank, "score": value,
               "intensity": self.intensity_[u], "p_item": np.exp(self.log_probs_[u, i].astype(np.float64))}
        return ({"item": out["item"], "user": out["user"], **{k: out[k] for k in ("rank", "score", "intensity", "p_item")}}
                if by_item else out)

    # ------------------------------------------------------------------------------------------ saving
    def _fitted_state(self) -> dict[str, Any]:
        state = {k: getattr(self, k) for k in ("user_ids_", "item_ids_", "horizon_", "at_", "popularity_", "seen_", "log_probs_",
                                                 "hawkes_theta_", "hp_weights_", "score_users_", "intensity_")}
        state["history_"] = list(self.history_)
        state["net"] = None if self.net_ is None else {"n_items": self.net_.n_items, "weights": self.net_.state_dict()}
        return state

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        from iclr22.rim.model import GRUNextItem

        net = state.pop("net")
        for key, value in state.items():
            setattr(self, key, value)
        self.net_ = None
        if net is not None:
            self.net_ = GRUNextItem(int(net["n_items"]), self.hidden, self.num_layers)
            self.net_.load_state_dict(net["weights"])
            self.net_.eval()


def _lookup(known: np.ndarray, raw: Any, what: str) -> np.ndarray:
    raw = np.atleast_1d(np.asarray(raw))
    if known.dtype.kind in "iu" and raw.dtype.kind not in "iu":
        try:
            raw = raw.astype(np.int64)
        except ValueError:
            raise DataError(f"unknown {what} id(s): {', '.join(map(str, raw[:5]))}") from None
    elif known.dtype.kind not in "iu":
        raw = raw.astype(str)
    index = np.searchsorted(known, raw)
    index = np.clip(index, 0, len(known) - 1)
    unknown = known[index] != raw
    if unknown.any():
        bad = raw[unknown]
        raise DataError(f"unknown {what} id(s) {', '.join(map(str, bad[:5]))}{' ...' if len(bad) > 5 else ''}: not in the fitted events")
    return index


def target_users(events: Any, items: Sequence[Any] | None = None, per_item: int = 10, at: float | None = None, **params: Any) -> dict[str, np.ndarray]:
    """The plain-function entry point: ``RIM(**params).fit(events, at).target(items, per_item)``."""
    return RIM(**params).fit(events, at=at).target(items, per_item=per_item)
