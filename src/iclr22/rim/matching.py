"""Serving RIM's scores: top-k assignment in both directions, and allocation under exposure constraints.

* :func:`top_k_per_row` — ItemRec (each user's k best items) or, on the transposed matrix, UserRec (each item's
  C best users). Ties are broken by a seeded 1e-10-scale random term (official ``tie_breaker``).
* :func:`greedy_allocate` — the offline greedy matching (``greedy_mtch.py``): all pairs by score, assigned
  while the user's budget and the item's cap last; with minimums, the minimums are met first.
* :func:`dual_allocate` — the dual (threshold) method of the paper (``metrics/dual.py``, ``util/dual_bisect.py``):
  π = σ((s − u(x) − v(y)) / ε) with scores normalised by their maximum; each row's u and each column's v are
  found by bisection so that the row sums meet the user budget and the column sums the item cap (or minimum),
  with ε annealed geometrically from 1 to ``eps_final``. The item thresholds v are learned on one matrix
  (validation users, or the matrix itself offline) and then each user is served alone: its u by bisection on
  its own row with v fixed, keeping the items with s − v above u — the online setting, where caps hold on
  average rather than exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["top_k_per_row", "greedy_allocate", "dual_thresholds", "serve_with_thresholds", "dual_allocate"]


def _tie_break(scores: np.ndarray, seed: int) -> np.ndarray:
    scale = max(float(np.abs(scores[np.isfinite(scores)]).max(initial=0.0)), 1e-30)
    return scores + 1e-10 * scale * np.random.default_rng(seed).random(scores.shape)


def top_k_per_row(scores: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """0/1 ``[n, m]``: the ``k`` highest finite scores of every row (fewer where a row has fewer finite ones)."""
    scores = _tie_break(np.asarray(scores, dtype=np.float64), seed)
    k = min(int(k), scores.shape[1])
    assigned = np.zeros(scores.shape, dtype=bool)
    if k <= 0:
        return assigned
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(scores.shape[0]), k)
    assigned[rows, top.reshape(-1)] = True
    return assigned & np.isfinite(scores)


def greedy_allocate(scores: np.ndarray, row_budget: int, col_cap: int | None = None, col_min: int | None = None, seed: int = 0) -> np.ndarray:
    """Offline greedy matching: at most ``row_budget`` per row, at most ``col_cap`` per column; with ``col_min``,
    first every column gets its ``col_min`` best rows (within row budgets), then rows are topped up."""
    scores = _tie_break(np.asarray(scores, dtype=np.float64), seed)
    n, m = scores.shape
    order = np.argsort(-scores, axis=None, kind="stable")
    order = order[np.isfinite(scores.reshape(-1)[order])]
    rows, cols = np.divmod(order, m)
    assigned = np.zeros((n, m), dtype=bool)
    row_count, col_count = np.zeros(n, dtype=np.int64), np.zeros(m, dtype=np.int64)
    passes = [(col_min, False)] if col_min else []
    passes.append((col_cap if col_cap is not None else n, True))
    for cap, _ in passes:
        for r, c in zip(rows.tolist(), cols.tolist()):
            if assigned[r, c] or row_count[r] >= row_budget or col_count[c] >= cap:
                continue
            assigned[r, c] = True
            row_count[r] += 1
            col_count[c] += 1
    return assigned


def _bisect(s: np.ndarray, target: float, eps: float, iters: int = 40) -> np.ndarray:
    """Per row of ``s``, the u with Σ_j σ((s_j − u)/ε) = target (monotone decreasing in u)."""
    lo = s.min(1) - 50 * eps - 1.0
    hi = s.max(1) + 50 * eps + 1.0
    for _ in range(iters):
        mid = (lo + hi) / 2
        above = expit((s - mid[:, None]) / eps).sum(1) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return (lo + hi) / 2


def dual_thresholds(scores: np.ndarray, row_budget: float, col_cap: float | None = None, col_min: float | None = None,
                    epochs: int = 100, eps_final: float = 1e-10, damping: float = 0.5) -> np.ndarray:
    """The item thresholds v of the dual method, learned on ``scores`` (normalised by their maximum).

    Each epoch: u per row by bisection (row sum = ``row_budget``; a user budget is an upper bound, so u ≥ 0),
    then v* per column (column sum = ``col_cap`` with v ≥ 0 for a cap, ``col_min`` with v ≤ 0 for a minimum),
    and v moves toward v* by ``damping``; ε goes from 1 to ``eps_final`` geometrically.
    """
    s = np.nan_to_num(scores / max(np.nanmax(scores[np.isfinite(scores)], initial=1e-30), 1e-30), neginf=-1e3)
    v = np.zeros(s.shape[1])
    target = float(col_cap if col_cap is not None else col_min)
    for epoch in range(epochs):
        eps = float(eps_final ** (epoch / max(epochs - 1, 1)))
        u = np.maximum(_bisect(s - v, float(row_budget), eps), 0.0)
        v_star = _bisect((s - u[:, None]).T, target, eps)
        v_star = np.maximum(v_star, 0.0) if col_cap is not None else np.minimum(v_star, 0.0)
        v = v + damping * (v_star - v)
    return v


def serve_with_thresholds(scores: np.ndarray, v: np.ndarray, row_budget: int, seed: int = 0) -> np.ndarray:
    """Online serving: each row alone takes its ``row_budget`` best items by ``s/max(s) − v`` among those above 0
    (u ≥ 0 at ε → 0: an item whose score is below its threshold is not shown)."""
    s = np.nan_to_num(scores / max(np.nanmax(scores[np.isfinite(scores)], initial=1e-30), 1e-30), neginf=-1e3) - v[None, :]
    top = top_k_per_row(s, row_budget, seed)
    return top & (s > 0)


def dual_allocate(scores: np.ndarray, row_budget: int, col_cap: int | None = None, col_min: int | None = None,
                  fit_on: np.ndarray | None = None, epochs: int = 100, seed: int = 0) -> np.ndarray:
    """Learn item thresholds on ``fit_on`` (default: ``scores`` itself, the offline setting), serve every row."""
    reference = scores if fit_on is None else fit_on
    scale = scores.shape[0] / reference.shape[0]  # caps are per served population: rescale to the reference's size
    v = dual_thresholds(reference, row_budget, None if col_cap is None else col_cap / scale,
                        None if col_min is None else col_min / scale, epochs=epochs)
    return serve_with_thresholds(scores, v, row_budget, seed)
