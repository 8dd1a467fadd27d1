"""The GRDA estimator: what it learns, the update-order trap, determinism, resuming, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.grda import GRDA, AdversarialAdapter, fit_grda, make_spiral_domains

SMALL = {"hidden": 16, "epochs": 2, "batch_per_domain": 20}


@pytest.fixture(scope="module")
def spiral():
    return make_spiral_domains(num_domains=9, points_per_domain=40, seed=0)


def _masked_labels(data) -> np.ndarray:
    return np.where(np.isin(data.domain, data.source_domains), data.y, -1)


@pytest.mark.parametrize("update, moves", [("paper", True), ("official", False)])
def test_discriminator_trains_only_in_the_paper_update(spiral, update: str, moves: bool) -> None:
    """The official update order gives D a (1 - λ)∇L_d gradient: at λ = 1 D never moves (paper page §4)."""
    model = GRDA(update=update, lambda_adv=1.0, init="official", **{**SMALL, "epochs": 0})
    model.fit(spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency, spiral.source_domains)
    before = [p.detach().clone() for p in model.discriminator_.parameters()]
    model.epochs = 1
    model.fit(spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency, spiral.source_domains)
    after = list(model.discriminator_.parameters())
    changed = any(not torch.equal(a, b) for a, b in zip(before, after))
    assert changed is moves


def test_grda_beats_source_only_on_the_spiral() -> None:
    """On a DG-15-like spiral, graph-relational alignment lifts target accuracy well above source-only.

    Averaged over six seeds: at this small size (hidden 32, 40 epochs) a single GRDA run either aligns the
    spiral (83-92 %) or collapses to one class (50 %), so one seed would test the draw, not the method
    (measured 2026-11-24, seeds 0-5: GRDA 84.6 / 50.0 / 50.0 / 50.0 / 83.5 / 92.2, source-only 53.5 / 49.1 /
    56.3 / 50.2 / 50.9 / 48.9).
    """
    data = make_spiral_domains(num_domains=15, points_per_domain=60, seed=1)
    y = _masked_labels(data)
    acc_grda, acc_source = [], []
    for seed in range(6):
        common = {"hidden": 32, "epochs": 40, "lr": 1e-3, "lr_disc": 1e-3, "init": "pytorch", "pairing": "aligned", "seed": seed}
        grda = GRDA(**common).fit(data.x, y, data.domain, data.adjacency, data.source_domains)
        source_only = AdversarialAdapter("source_only", **common).fit(data.x, y, data.domain, data.adjacency, data.source_domains)
        acc_grda.append(grda._metric(data.x, data.y, data.domain))
        acc_source.append(source_only._metric(data.x, data.y, data.domain))
    assert np.mean(acc_grda) > np.mean(acc_source) + 10, (acc_grda, acc_source)


def test_same_seed_same_numbers_and_resume_matches(spiral, tmp_path) -> None:
    args = (spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency, spiral.source_domains)
    straight = GRDA(**{**SMALL, "epochs": 4}, seed=3).fit(*args)
    again = GRDA(**{**SMALL, "epochs": 4}, seed=3).fit(*args)
    np.testing.assert_array_equal(straight.predict_proba(spiral.x, spiral.domain), again.predict_proba(spiral.x, spiral.domain))
    # Interrupted after 2 epochs, then resumed to 4 from the checkpoint: the same model.
    checkpoint = tmp_path / "grda"
    GRDA(**{**SMALL, "epochs": 2}, seed=3, checkpoint_dir=checkpoint).fit(*args)
    assert (checkpoint / "checkpoint.pt").is_file()
    resumed = GRDA(**{**SMALL, "epochs": 4}, seed=3, checkpoint_dir=checkpoint).fit(*args)
    np.testing.assert_allclose(resumed.predict_proba(spiral.x, spiral.domain), straight.predict_proba(spiral.x, spiral.domain), atol=1e-6)


@pytest.mark.parametrize("method", ["source_only", "dann", "cdann", "adda", "mdd"])
def test_every_baseline_fits_and_predicts(spiral, method: str) -> None:
    model = AdversarialAdapter(method, **SMALL).fit(spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency, spiral.source_domains)
    assert set(np.unique(model.predict(spiral.x, spiral.domain))) <= {0, 1}
    proba = model.predict_proba(spiral.x[:5], spiral.domain[:5])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)


def test_regression_with_learned_domain_index_and_edge_list() -> None:
    rng = np.random.default_rng(0)
    domain = np.repeat(np.arange(5), 20)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [0.5], [-1.0]]) + domain[:, None] * 0.1
    y[domain >= 3] = np.nan  # domains 3, 4 are unlabelled targets
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    model = fit_grda(x, y, domain, edges, task="regression", domain_index="joint", **SMALL)
    assert list(model.source_domains_) == [0, 1, 2] and list(model.target_domains_) == [3, 4]
    assert model.predict(x, domain).shape == (100,)
    assert all(np.isfinite(v) for v in model.score_domains(x, np.nan_to_num(y), domain).values())


def test_one_unit_score_and_score_domains_in_percent(spiral) -> None:
    """score() and score_domains() both report accuracy in percent (the paper's and the reports' unit)."""
    model = GRDA(**SMALL).fit(spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency, spiral.source_domains)
    correct = model.predict(spiral.x, spiral.domain) == spiral.y
    assert model.score(spiral.x, spiral.y, spiral.domain) == pytest.approx(100 * correct.mean())
    per_domain = model.score_domains(spiral.x, spiral.y, spiral.domain)
    assert per_domain[3] == pytest.approx(100 * correct[spiral.domain == 3].mean())
    # Equal-sized domains: the overall score is the mean of the per-domain ones, in the same unit.
    assert model.score(spiral.x, spiral.y, spiral.domain) == pytest.approx(np.mean(list(per_domain.values())))


def test_regression_score_is_minus_the_per_domain_mse_unit() -> None:
    rng = np.random.default_rng(0)
    domain = np.repeat(np.arange(3), 10)
    x = rng.normal(size=(30, 2)).astype(np.float32)
    y = np.stack([x[:, 0], x[:, 1] * 2], axis=1)  # two outputs: the squared error is summed over them
    model = GRDA(task="regression", **SMALL).fit(x, np.where(domain[:, None] < 2, y, np.nan), domain, [[0, 1], [1, 2], [0, 2]])
    per_domain = model.score_domains(x, y, domain)
    assert model.score(x, y, domain) == pytest.approx(-np.mean(list(per_domain.values())), rel=1e-5)


def test_a_graph_without_edges_warns(spiral) -> None:
    from iclr22.grda.graph import DomainGraphWarning

    with pytest.warns(DomainGraphWarning, match="no edges"):
        GRDA(**{**SMALL, "epochs": 0}).fit(spiral.x, _masked_labels(spiral), spiral.domain, np.zeros_like(spiral.adjacency), spiral.source_domains)


# --------------------------------------------------------------------------------------- bad input
def _fit(x, y, domain, graph, sources=None):
    return GRDA(**SMALL).fit(x, y, domain, graph, sources)


def test_bad_inputs_raise_data_errors(spiral) -> None:
    x, y, d, a = spiral.x, _masked_labels(spiral), spiral.domain, spiral.adjacency
    with pytest.raises(DataError, match="square"):
        _fit(x, y, d, a[:, :-1], spiral.source_domains)
    asymmetric = a.copy()
    asymmetric[0, 5], asymmetric[5, 0] = 1, 0
    with pytest.raises(DataError, match="symmetric"):
        _fit(x, y, d, asymmetric, spiral.source_domains)
    with pytest.raises(DataError, match="no node"):
        _fit(x, y, np.where(d == 8, 9, d), a, spiral.source_domains)
    with pytest.raises(DataError, match="no source domain"):
        _fit(x, np.full(len(y), -1), d, a)
    # Labels given for the target domains only.
    only_targets = np.where(np.isin(d, spiral.source_domains), -1, spiral.y)
    with pytest.raises(DataError, match="source domain .* without a label.*target-domain samples instead"):
        _fit(x, only_targets, d, a, spiral.source_domains)
    bad_x = x.copy()
    bad_x[3, 0] = np.nan
    with pytest.raises(DataError, match=r"fit: X: holds NaN .*\(3, 0\)"):
        _fit(bad_x, y, d, a, spiral.source_domains)
    with pytest.raises(ConfigError, match="update"):
        GRDA(update="sometimes").fit(x, y, d, a, spiral.source_domains)
    model = _fit(x, y, d, a, spiral.source_domains)
    with pytest.raises(DataError, match="no node"):
        model.predict(x[:2], [0, 99])
    with pytest.raises(DataError, match="features"):
        model.predict(np.zeros((2, 5)), [0, 1])
