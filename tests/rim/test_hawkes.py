"""Hawkes and Hawkes–Poisson intensities: the vectorised likelihood equals its definition, fits recover known
parameters of simulated processes, and the intensity follows a user's recent activity."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.rim.hawkes import (
    brute_force_loglik,
    decays,
    fit_hawkes,
    fit_hawkes_poisson,
    hawkes_design,
    hawkes_intensity,
    hawkes_loglik,
    hawkes_poisson_rate,
    hawkes_state,
    user_times,
)


def _simulate(mu, a, beta, end, rng):
    """One user's Hawkes path on [0, end] by the branching construction; the first event is the origin."""
    pending = list(rng.uniform(0, end, rng.poisson(mu * end)))
    events = []
    while pending:
        t = pending.pop()
        events.append(t)
        pending.extend(c for c in t + rng.exponential(1 / beta, rng.poisson(a)) if c < end)
    events = np.sort(events)
    return events - events[0] if len(events) else events, end - (events[0] if len(events) else 0)


def test_loglik_equals_the_brute_force_definition_with_ties_and_short_users():
    rng = np.random.default_rng(0)
    betas = decays(5)
    times = [np.zeros(0), np.array([0.0]), np.array([0.0, 0.0, 0.3]), np.sort(np.r_[0, rng.uniform(0, 2, 9)])]
    times[3][5] = times[3][4] = times[3][3]  # a triple tie
    ends = np.array([1.0, 0.5, 1.0, 2.5])
    mu, a, b = 0.4, rng.uniform(0, 1, 5), rng.uniform(0, 1, 5)
    X, comp, _ = hawkes_design(times, ends, betas)
    assert X.shape == (2 + 9, 11)  # node-0 events only: the first event of each user is the control node
    assert hawkes_loglik(np.r_[mu, a, b], X, comp) == pytest.approx(brute_force_loglik(mu, a, b, times, ends, betas), rel=1e-10)


def test_fit_recovers_a_simulated_hawkes_process():
    rng = np.random.default_rng(1)
    paths = [_simulate(0.5, 0.5, 2.0, 40.0, rng) for _ in range(200)]
    times, ends = [p[0] for p in paths], np.array([p[1] for p in paths])
    fit = fit_hawkes(times, ends, betas=np.array([2.0]), l2=0.0)
    assert fit.mu == pytest.approx(0.5, abs=0.08)
    assert fit.a[0] == pytest.approx(0.5, abs=0.08)
    X, comp, _ = hawkes_design(times, ends, np.array([2.0]))
    truth = hawkes_loglik(np.array([0.5, 0.5, 0.5]), X, comp)
    assert hawkes_loglik(fit.theta, X, comp) >= truth  # the maximum is at least as likely as the truth


def test_intensity_is_high_right_after_a_burst_and_decays():
    fit = fit_hawkes([np.array([0.0, 0.1, 0.2, 0.3])] * 20 + [np.array([0.0, 5.0])] * 20, np.array([1.0] * 20 + [10.0] * 20),
                     betas=decays(10))
    recent, old = hawkes_intensity(fit, [np.array([0.0, 1.0, 1.01, 1.02])] * 2, np.array([1.03, 8.0]))
    assert recent > old > 0


def test_user_times_normalise_by_horizon_and_drop_events_at_or_after_the_end():
    user = np.array([0, 0, 0, 1])
    times, ends = user_times(user, np.array([10.0, 30.0, 50.0, 7.0]), np.array([50.0, 20.0]), 20.0, [0, 1])
    assert times[0].tolist() == [0.0, 1.0] and ends.tolist() == [2.0, 0.65]
    assert times[1].tolist() == [0.0]


def test_hawkes_poisson_learns_counts_from_recent_activity():
    rng = np.random.default_rng(2)
    betas = decays(8)
    recent = rng.random(300) < 0.5
    times = [np.array([0.0, 0.9, 0.95]) if r else np.array([0.0, 0.05]) for r in recent]
    ends = np.ones(300)
    counts = rng.poisson(np.where(recent, 4.0, 0.5))
    state = hawkes_state(times, ends, betas)
    rate = hawkes_poisson_rate(fit_hawkes_poisson(state, counts), state)
    assert rate[recent].mean() == pytest.approx(4.0, rel=0.2) and rate[~recent].mean() == pytest.approx(0.5, rel=0.3)
