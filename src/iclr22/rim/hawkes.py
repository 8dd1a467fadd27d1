"""User-activity intensities λ(x) of RIM: Hawkes with exponential kernels, and Hawkes–Poisson.

**Hawkes** (the official code fits tick's ``HawkesSumExpKern``; tick 0.8 fails here under Python 3.11 /
numpy 2, so its model is re-implemented). Per user, times are taken relative to the user's first event and
divided by the horizon: ``s_j = (t_j - t_0) / h``. Two nodes: node 0 holds the user's events after the first;
node 1 is the "control" node whose event at 0 marks the first event, so that the first event can excite
node 0 (tick also puts a control event at the end in training; it lies at the end of the window and so
never changes node 0's likelihood, which is the only part whose parameters are used). With the decays
``β_d = 1 / logspace(-6, 1, 50)`` (kernel ``β e^{-β t}``, scales from 1e-6 to 10 horizons), the
intensity of node 0 is

    λ(s) = μ + Σ_d a_d Σ_{j ≥ 1, s_j < s} β_d e^{-β_d (s - s_j)} + Σ_d b_d β_d e^{-β_d s},

with μ, a, b ≥ 0 shared by all users. It is linear in θ = (μ, a, b), so the log-likelihood
``Σ_i log λ(s_i) - ∫_0^E λ`` is concave and is maximised with L-BFGS-B under θ ≥ 0, with tick's
normalisation (the loss is divided by the number of events) and L2 strength ``1/C = 1e-3``. Ties: events at
the same time do not excite each other (strict ``<``); the recursion subtracts their ``e^0 = 1`` terms.
:func:`brute_force_loglik` is the O(n²) definition the tests check :func:`hawkes_loglik` against.

**Hawkes–Poisson (HP)**: the Hawkes state at the scoring time (per-decay sums ``Σ_j e^{-β_d (E - s_j)}``, the
first-event term ``e^{-β_d E}`` and a constant 1) combined with softplus weights to predict the number of
events in the next horizon, fitted by Poisson log-likelihood + 1e-3 L2 (on the softplus weights) on the validation users
(:func:`fit_hawkes_poisson`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

__all__ = ["DECAYS", "decays", "user_times", "hawkes_design", "hawkes_loglik", "brute_force_loglik", "fit_hawkes",
           "HawkesFit", "hawkes_state", "hawkes_intensity", "fit_hawkes_poisson", "hawkes_poisson_rate"]


def decays(n: int = 50) -> np.ndarray:
    """``1 / logspace(-6, 1, n)``: decay rates in inverse horizons (the official code's 50 scales)."""
    return 1.0 / np.logspace(-6, 1, n)


#: The official decays.
DECAYS = decays(50)


def user_times(user: np.ndarray, timestamp: np.ndarray, at: np.ndarray, horizon: float, users: Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Each listed user's events before ``at[u]`` as normalised times ``(t - t_0) / horizon`` (sorted; the first is
    0), and the normalised end ``E = (at[u] - t_0) / horizon`` (0 for a user with no event before ``at``)."""
    keep = timestamp < at[user]
    u, t = user[keep], timestamp[keep].astype(np.float64)
    order = np.lexsort((t, u))
    u, t = u[order], t[order]
    bounds = np.searchsorted(u, np.arange(len(at) + 1))
    times, ends = [], np.zeros(len(users))
    for k, v in enumerate(users):
        tv = t[bounds[v]:bounds[v + 1]]
        if len(tv):
            times.append((tv - tv[0]) / horizon)
            ends[k] = (at[v] - tv[0]) / horizon
        else:
            times.append(np.zeros(0))
    return times, ends


def _strict_sums(s: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """``[n, D]``: for each event i, Σ_{j < i, s_j < s_i} e^{-β (s_i - s_j)} (ties excluded) by the O(n·D) recursion."""
    n = len(s)
    out = np.zeros((n, len(betas)))
    running = np.zeros(len(betas))
    tied = 0
    for i in range(1, n):
        gap = s[i] - s[i - 1]
        running = np.exp(-betas * gap) * (running + 1.0)
        tied = tied + 1 if gap == 0 else 0
        out[i] = running - tied  # tied earlier events contributed e^0 = 1 each
    return np.maximum(out, 0.0)


def hawkes_design(times: Sequence[np.ndarray], ends: np.ndarray, betas: np.ndarray = DECAYS) -> tuple[np.ndarray, np.ndarray, int]:
    """The linear pieces of the log-likelihood: ``Σ_i log(X[i] @ θ) - c @ θ``.

    Returns:
        ``X`` ``[events, 1 + 2D]`` (rows: node-0 events; columns: μ, the a_d excitation, the b_d first-event
        excitation), ``c`` ``[1 + 2D]`` the compensator ∫_0^E summed over users, and the number of users.
    """
    rows, comp = [], np.zeros(1 + 2 * len(betas))
    for s, end in zip(times, ends):
        if len(s) == 0:
            continue
        events = s[1:]
        excite = betas * _strict_sums(events, betas)  # excited by node-0 events only (j >= 1)
        first = np.where(events[:, None] > 0, betas * np.exp(-betas * events[:, None]), 0.0)
        rows.append(np.concatenate([np.ones((len(events), 1)), excite, first], axis=1))
        comp[0] += end
        comp[1:1 + len(betas)] += (1.0 - np.exp(-betas * (end - events[:, None]))).sum(0)
        comp[1 + len(betas):] += 1.0 - np.exp(-betas * end)
    X = np.concatenate(rows) if rows else np.zeros((0, 1 + 2 * len(betas)))
    return X, comp, len(times)


def hawkes_loglik(theta: np.ndarray, X: np.ndarray, comp: np.ndarray) -> float:
    """The log-likelihood of node 0 summed over users, from :func:`hawkes_design`."""
    return float(np.log(np.maximum(X @ theta, 1e-300)).sum() - comp @ theta)


def brute_force_loglik(mu: float, a: np.ndarray, b: np.ndarray, times: Sequence[np.ndarray], ends: np.ndarray, betas: np.ndarray) -> float:
    """The same log-likelihood from its definition, O(n²) per user: for tests."""
    total = 0.0
    for s, end in zip(times, ends):
        if len(s) == 0:
            continue
        events = s[1:]
        for si in events:
            lam = mu + sum(a[d] * betas[d] * np.exp(-betas[d] * (si - sj)) for sj in events if sj < si for d in range(len(betas)))
            lam += sum(b[d] * betas[d] * np.exp(-betas[d] * si) for d in range(len(betas)) if si > 0)
            total += np.log(lam)
        integral = mu * end
        for d in range(len(betas)):
            integral += a[d] * sum(1 - np.exp(-betas[d] * (end - sj)) for sj in events)
            integral += b[d] * (1 - np.exp(-betas[d] * end))
        total -= integral
    return float(total)


@dataclass
class HawkesFit:
    """Fitted Hawkes parameters: baseline ``mu``, excitation ``a`` ``[D]``, first-event excitation ``b`` ``[D]``."""

    mu: float
    a: np.ndarray
    b: np.ndarray
    betas: np.ndarray

    @property
    def theta(self) -> np.ndarray:
        return np.concatenate([[self.mu], self.a, self.b])


def fit_hawkes(times: Sequence[np.ndarray], ends: np.ndarray, betas: np.ndarray = DECAYS, l2: float = 1e-3, max_iter: int = 1000) -> HawkesFit:
    """Maximum likelihood under θ ≥ 0 (loss per event + ``l2/2·|θ|²``, tick's ``C = 1/l2``), L-BFGS-B."""
    X, comp, _ = hawkes_design(times, ends, betas)
    n = max(len(X), 1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lam = np.maximum(X @ theta, 1e-12)
        value = -(np.log(lam).sum() - comp @ theta) / n + 0.5 * l2 * theta @ theta
        grad = -(X.T @ (1.0 / lam) - comp) / n + l2 * theta
        return value, grad

    start = np.full(X.shape[1], 0.01)
    start[0] = max(len(X), 1) / max(comp[0], 1e-12)  # the Poisson rate: a feasible start with λ > 0 everywhere
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * len(start), options={"maxiter": max_iter})
    theta = result.x
    D = len(betas)
    return HawkesFit(float(theta[0]), theta[1:1 + D], theta[1 + D:], np.asarray(betas))


def hawkes_state(times: Sequence[np.ndarray], ends: np.ndarray, betas: np.ndarray = DECAYS) -> np.ndarray:
    """``[users, 1 + 2D]``: at each user's end E, (1, Σ_{j≥1, s_j<E} e^{-β_d (E - s_j)}, e^{-β_d E}); zeros but the 1
    for a user without history."""
    out = np.zeros((len(times), 1 + 2 * len(betas)))
    out[:, 0] = 1.0
    for k, (s, end) in enumerate(zip(times, ends)):
        if len(s) == 0:
            continue
        events = s[1:][s[1:] < end]
        out[k, 1:1 + len(betas)] = np.exp(-betas * (end - events[:, None])).sum(0)
        out[k, 1 + len(betas):] = np.exp(-betas * end) if end > 0 else 0.0
    return out


def hawkes_intensity(fit: HawkesFit, times: Sequence[np.ndarray], ends: np.ndarray) -> np.ndarray:
    """λ(x) at each user's end time (prediction: the control node holds only the event at 0)."""
    state = hawkes_state(times, ends, fit.betas)
    D = len(fit.betas)
    return fit.mu + state[:, 1:1 + D] @ (fit.a * fit.betas) + state[:, 1 + D:] @ (fit.b * fit.betas)


def _softplus(w: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, w)


def fit_hawkes_poisson(state: np.ndarray, counts: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weights w of the HP rate ``state @ softplus(w)`` maximising the Poisson likelihood of ``counts`` minus
    ``l2 · |softplus(w)|²``."""
    counts = np.asarray(counts, dtype=np.float64)
    n = max(len(counts), 1)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        # the L2 acts on the weights themselves, softplus(w): a penalty on w would pull every unused weight to
        # softplus(0) = 0.69 instead of 0 (seen on the first ML-100K run, where it inflated the rate)
        weights = _softplus(w)
        rate = np.maximum(state @ weights, 1e-12)
        value = (rate - counts * np.log(rate)).sum() / n + l2 * weights @ weights
        grad = (state.T @ (1.0 - counts / rate) / n + 2 * l2 * weights) * expit(w)
        return value, grad

    start = np.full(state.shape[1], -5.0)
    start[0] = np.log(np.expm1(max(counts.mean(), 1e-6)))  # the constant alone: the mean count
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return result.x


def hawkes_poisson_rate(w: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Expected events in the next horizon: ``state @ softplus(w)``."""
    return state @ _softplus(w)
