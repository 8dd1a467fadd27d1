"""The baselines of RIM's experiment, each scoring (user, item) pairs from the training events alone.

Every baseline has ``fit(user, item, n_users, n_items)`` on the training events and ``score(users)`` →
``[users, items]``; higher means more likely. None models when a user is active, which is RIM's point:
their scores rank users for UserRec as they come.

* :class:`RandomScores` — uniform random (seeded).
* :class:`Popularity` — (0.01 + user's past events) × (0.01 + item's past events) (official ``Pop``).
* :class:`ItemToItem` — item-to-item collaborative filtering (Linden, Smith and York, 2003): cosine similarity
  of items over the users who engaged both; a user's score for an item sums its similarity to the user's items.
* :class:`BPR` — matrix factorisation by Bayesian personalised ranking, in torch as the official ``bpr.py``:
  32 dimensions, each positive pair against sampled negative items (ItemRec loss) and negative users
  (UserRec loss), the two losses averaged.
* :class:`ALS` — implicit-feedback ALS from the ``implicit`` package (Hu, Koren, Volinsky 2008).

The GRU alone and Hawkes alone are :class:`~iclr22.rim.estimator.RIM` with ``intensity="none"`` or
``item_model="pop"``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["RandomScores", "Popularity", "ItemToItem", "BPR", "ALS"]


class _Baseline:
    def fit(self, user: np.ndarray, item: np.ndarray, n_users: int, n_items: int) -> "_Baseline":
        raise NotImplementedError

    def score(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomScores(_Baseline):
    """Uniform random scores (seeded)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, user, item, n_users, n_items):
        self.n_items_ = n_items
        return self

    def score(self, users):
        return np.random.default_rng(self.seed).random((len(users), self.n_items_))


class Popularity(_Baseline):
    """(0.01 + user's training events) × (0.01 + item's training events)."""

    def fit(self, user, item, n_users, n_items):
        self.user_count_ = np.bincount(user, minlength=n_users) + 0.01
        self.item_count_ = np.bincount(item, minlength=n_items) + 0.01
        return self

    def score(self, users):
        return self.user_count_[users, None] * self.item_count_[None, :]


def _matrix(user: np.ndarray, item: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    values = np.ones(len(user), dtype=np.float32)
    matrix = sp.csr_matrix((values, (user, item)), shape=(n_users, n_items))
    matrix.data[:] = 1.0  # repeated pairs count once
    return matrix


class ItemToItem(_Baseline):
    """Linden et al. (2003): cosine item–item similarity; score(u, y) = Σ_{j ∈ history(u)} sim(j, y)."""

    def fit(self, user, item, n_users, n_items):
        matrix = _matrix(user, item, n_users, n_items)
        norms = np.sqrt(np.asarray(matrix.sum(0))).reshape(-1)
        co = (matrix.T @ matrix).toarray()
        sim = co / np.maximum(norms[:, None] * norms[None, :], 1e-12)
        np.fill_diagonal(sim, 0.0)
        self.matrix_, self.sim_ = matrix, sim.astype(np.float32)
        return self

    def score(self, users):
        return np.asarray(self.matrix_[users] @ self.sim_)


class BPR(_Baseline):
    """BPR matrix factorisation: p_u·q_i + b_u + b_i; ItemRec and UserRec pairwise losses averaged.

    Args:
        dim: Factors (official: 32).
        negatives: Sampled negatives per positive on each side (official: 10).
        epochs: Passes over the positive pairs.
        lr: Adam learning rate (the official Adagrad lr 1 diverged in our runs on ML-100K; docs: deviations).
        weight_decay: L2 (official: 1e-5).
        seed: Seed.
    """

    def __init__(self, dim: int = 32, negatives: int = 10, epochs: int = 30, lr: float = 0.01, weight_decay: float = 1e-5,
                 batch_size: int = 1024, seed: int = 0) -> None:
        self.dim, self.negatives, self.epochs, self.lr, self.weight_decay = dim, negatives, epochs, lr, weight_decay
        self.batch_size, self.seed = batch_size, seed

    def fit(self, user, item, n_users, n_items):
        generator = torch.Generator().manual_seed(self.seed)
        self.user_vec_ = torch.nn.Parameter(0.1 * torch.randn(n_users, self.dim, generator=generator))
        self.item_vec_ = torch.nn.Parameter(0.1 * torch.randn(n_items, self.dim, generator=generator))
        self.user_bias_ = torch.nn.Parameter(torch.zeros(n_users))
        self.item_bias_ = torch.nn.Parameter(torch.zeros(n_items))
        params = [self.user_vec_, self.item_vec_, self.user_bias_, self.item_bias_]
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        u_all, i_all = torch.as_tensor(user), torch.as_tensor(item)
        # negatives from the empirical proposals: items by popularity, users by activity (official default)
        item_prob = torch.as_tensor(np.bincount(item, minlength=n_items) + 1.0, dtype=torch.float)
        user_prob = torch.as_tensor(np.bincount(user, minlength=n_users) + 1.0, dtype=torch.float)

        def s(u, i):
            return (self.user_vec_[u] * self.item_vec_[i]).sum(-1) + self.user_bias_[u] + self.item_bias_[i]

        for _ in range(self.epochs):
            order = torch.randperm(len(u_all), generator=generator)
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                u, i = u_all[batch], i_all[batch]
                neg_i = torch.multinomial(item_prob, len(batch) * self.negatives, True, generator=generator).view(len(batch), -1)
                neg_u = torch.multinomial(user_prob, len(batch) * self.negatives, True, generator=generator).view(len(batch), -1)
                pos = s(u, i)[:, None]
                item_loss = -torch.nn.functional.logsigmoid(pos - s(u[:, None], neg_i)).mean()
                user_loss = -torch.nn.functional.logsigmoid(pos - s(neg_u, i[:, None])).mean()
                optimizer.zero_grad()
                ((item_loss + user_loss) / 2).backward()
                optimizer.step()
        return self

    @torch.no_grad()
    def score(self, users):
        u = torch.as_tensor(users)
        return (self.user_vec_[u] @ self.item_vec_.T + self.user_bias_[u, None] + self.item_bias_[None, :]).numpy()


class ALS(_Baseline):
    """Implicit-feedback ALS (``implicit.als.AlternatingLeastSquares``, CPU, one thread for reproducibility)."""

    def __init__(self, factors: int = 64, regularization: float = 0.01, iterations: int = 15, seed: int = 0) -> None:
        self.factors, self.regularization, self.iterations, self.seed = factors, regularization, iterations, seed

    def fit(self, user, item, n_users, n_items):
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ModuleNotFoundError as exc:
            from iclr22.core.errors import MissingExtraError

            raise MissingExtraError("rim", "rim", "implicit") from exc
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit warns (and slows down) when BLAS runs threads of its own
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization, iterations=self.iterations,
                                            random_state=self.seed, num_threads=1)
            model.fit(_matrix(user, item, n_users, n_items), show_progress=False)
        self.user_factors_, self.item_factors_ = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return self

    def score(self, users):
        return self.user_factors_[users] @ self.item_factors_.T
