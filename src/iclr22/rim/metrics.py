"""RIM's evaluation of an assignment (official ``rime/metrics/__init__.py``, ``evaluate_assigned``).

``hits = Σ target ⊙ assigned``; precision = hits / max(min_total_recs, Σ assigned) (so under-assignment under a
constraint is penalised); recall = the mean over users (ItemRec) or items (UserRec) of hits / max(1, #targets);
coverage = the fraction of items (or users) assigned at least once; perplexity = exp(entropy) of the
assignment counts (zeros contribute nothing).
"""

from __future__ import annotations

import numpy as np

__all__ = ["evaluate_assigned", "budgets"]


def budgets(n_users: int, n_items: int, fraction: float = 0.01) -> tuple[int, int]:
    """``(k, C)`` = ``(⌈fraction · items⌉, ⌈fraction · users⌉)``: items per user and users per item."""
    return max(1, int(np.ceil(fraction * n_items))), max(1, int(np.ceil(fraction * n_users)))


def _perplexity(counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def evaluate_assigned(target: np.ndarray, assigned: np.ndarray, min_total_recs: float = 0.0) -> dict[str, float]:
    """Precision, recall per user and per item, coverage and perplexity of a 0/1 assignment (fractions, not %)."""
    target = np.asarray(target, dtype=bool)
    assigned = np.asarray(assigned, dtype=bool)
    hits = target & assigned
    n_assigned = float(assigned.sum())
    per_item, per_user = assigned.sum(0), assigned.sum(1)
    return {
        "prec": float(hits.sum()) / max(min_total_recs, n_assigned, 1e-30) if n_assigned or min_total_recs else 0.0,
        "recall_user": float(np.mean(hits.sum(1) / np.maximum(1, target.sum(1)))),
        "recall_item": float(np.mean(hits.sum(0) / np.maximum(1, target.sum(0)))),
        "item_cov": float((per_item > 0).mean()),
        "user_cov": float((per_user > 0).mean()),
        "item_ppl": _perplexity(per_item.astype(np.float64)),
        "user_ppl": _perplexity(per_user.astype(np.float64)),
        "max_per_item": float(per_item.max(initial=0)),
    }
