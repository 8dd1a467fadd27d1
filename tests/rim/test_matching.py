"""Top-k, greedy and dual allocation, and the metrics, on small matrices whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.rim.matching import dual_allocate, greedy_allocate, top_k_per_row
from iclr22.rim.metrics import budgets, evaluate_assigned


def test_top_k_skips_excluded_pairs():
    scores = np.array([[3.0, 1.0, 2.0], [-np.inf, 5.0, -np.inf]])
    assert top_k_per_row(scores, 2).tolist() == [[True, False, True], [False, True, False]]


def test_greedy_respects_budgets_caps_and_minimums():
    rng = np.random.default_rng(0)
    scores = rng.random((30, 8))
    scores[:, 0] += 10  # every user's favourite
    assigned = greedy_allocate(scores, row_budget=2, col_cap=5)
    assert assigned.sum(1).max() <= 2 and assigned.sum(0).max() <= 5 and assigned[:, 0].sum() == 5
    floor = greedy_allocate(scores, row_budget=2, col_min=3)
    assert (floor.sum(0) >= 3).all() and floor.sum(1).max() <= 2


def test_dual_meets_the_item_cap_that_top_k_breaks():
    rng = np.random.default_rng(1)
    n, m, k, cap = 200, 20, 2, 20  # room for every user's 2 items: 20 items x 20 users
    scores = rng.random((n, m)) * np.linspace(1, 3, m)[None, :]  # popular items would take everyone
    assert top_k_per_row(scores, k).sum(0).max() > 2.5 * cap
    offline = dual_allocate(scores, k, col_cap=cap, epochs=100)
    assert offline.sum(1).max() <= k and offline.sum(0).max() <= 1.1 * cap and offline.sum() >= 0.9 * n * k
    # online: thresholds learned on other users of the same kind; the cap then holds up to sampling noise
    big = rng.random((2000, m)) * np.linspace(1, 3, m)[None, :]
    validation = rng.random((2000, m)) * np.linspace(1, 3, m)[None, :]
    served = dual_allocate(big, k, col_cap=10 * cap, fit_on=validation, epochs=100)
    assert served.sum(1).max() <= k and served.sum(0).max() <= 1.2 * 10 * cap and served.sum() >= 0.9 * 2000 * k


def test_metrics_on_a_hand_made_assignment():
    target = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]], dtype=bool)
    assigned = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=bool)
    m = evaluate_assigned(target, assigned)
    assert m["prec"] == pytest.approx(2 / 4)
    assert m["recall_user"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["recall_item"] == pytest.approx((1 + 0 + 1) / 3)
    assert m["item_cov"] == 1.0 and m["user_cov"] == 1.0
    assert m["item_ppl"] == pytest.approx(np.exp(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))))
    assert evaluate_assigned(target, assigned, min_total_recs=8)["prec"] == pytest.approx(2 / 8)
    assert budgets(471, 1556) == (16, 5)
