"""The RIM estimator on small logs: fitting, both serving directions, constraints, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.core.errors import DataError
from iclr22.core.estimator import NotFittedError
from iclr22.rim import RIM, target_users
from iclr22.rim.synthetic import simulate_events

FAST = {"epochs": 1, "hidden": 8, "num_layers": 1, "num_decays": 6}


@pytest.fixture(scope="module")
def log():
    return simulate_events(num_users=60, num_items=30, days=60, seed=3)


@pytest.fixture(scope="module")
def fitted(log):
    return RIM(**FAST).fit(log)


def test_scores_are_intensity_times_item_probability(fitted, log):
    scores = fitted.score()
    assert scores.shape == (len(fitted.score_users_), log.n_items)
    finite = np.isfinite(scores)
    probs = np.exp(fitted.log_probs_[fitted.score_users_].astype(np.float64))
    assert np.allclose(probs.sum(1), 1.0, atol=1e-4)
    assert np.allclose(scores[finite], (fitted.intensity_[fitted.score_users_, None] * probs)[finite])
    seen = ~finite
    assert seen.sum() == np.unique(log.user * log.n_items + log.item).size  # exactly the pairs in the log


def test_target_and_recommend_with_and_without_caps(fitted, log):
    items = log.item_ids[:4]
    audience = fitted.target(items, per_item=5)
    assert set(audience) == {"item", "user", "rank", "score", "intensity", "p_item"}
    assert len(audience["item"]) == 20 and set(audience["item"]) == set(items)
    for item in items:
        rows = audience["item"] == item
        assert sorted(audience["rank"][rows]) == [1, 2, 3, 4, 5]
        assert (np.diff(audience["score"][rows][np.argsort(audience["rank"][rows])]) <= 0).all()
    capped = fitted.target(items, per_item=5, user_cap=1)
    assert np.unique(capped["user"], return_counts=True)[1].max() == 1
    recs = fitted.recommend(3, item_cap=4)
    assert np.unique(recs["item"], return_counts=True)[1].max() <= 4
    assert np.unique(recs["user"], return_counts=True)[1].max() <= 3
    dual = fitted.recommend(3, item_cap=4, method="dual")
    assert np.unique(dual["user"], return_counts=True)[1].max() <= 3


def test_save_load_scores_identically(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = RIM.load(tmp_path / "model")
    assert np.array_equal(loaded.score(), fitted.score())
    assert loaded.net_ is not None and loaded.get_params() == fitted.get_params()


def test_a_bursting_user_is_targeted_before_a_dormant_one_with_the_same_taste():
    # two users with the same items; "hot" acted many times just now, "cold" long ago
    hot = [("hot", f"i{j}", 1000 + j) for j in range(12)]
    cold = [("cold", f"i{j}", 10 + j) for j in range(12)]
    others = [(f"u{k}", f"i{(k + j) % 20}", 50 * k + 7 * j) for k in range(20) for j in range(6)]
    model = RIM(intensity="hawkes_poisson", item_model="pop", horizon=100.0, num_decays=6).fit(hot + cold + others)
    audience = model.target(["i15"], per_item=22)
    order = list(audience["user"])
    assert order.index("hot") < order.index("cold")


def test_every_intensity_runs_and_string_ids_and_unsorted_times_work():
    rows = [("b", "y", 30), ("a", "x", 10), ("a", "y", 5), ("c", "x", 20), ("b", "x", 7), ("c", "z", 2), ("a", "z", 25)]
    for intensity in ("hawkes_poisson", "hawkes", "ema", "user_pop", "none"):
        model = RIM(intensity=intensity, horizon=5.0, **FAST).fit({"user": [r[0] for r in rows], "item": [r[1] for r in rows],
                                                                  "timestamp": [r[2] for r in rows]})
        assert np.isfinite(model.intensity_).all() and (model.intensity_ >= 0).all()
    assert model.user_ids_.tolist() == ["a", "b", "c"]
    out = target_users(rows, items=["z"], per_item=1, horizon=5.0, **FAST)
    assert out["item"].tolist() == ["z"] and out["user"].tolist() == ["b"]  # a and c already have z


def test_bad_input_and_not_fitted():
    with pytest.raises(NotFittedError):
        RIM().score()
    with pytest.raises(DataError, match="missing column"):
        RIM(**FAST).fit({"user": [1], "item": [2]})
    with pytest.raises(DataError, match="timestamp must be numeric"):
        RIM(**FAST).fit([("a", "x", "noon"), ("b", "y", "later")])
    with pytest.raises(DataError, match="no events"):
        RIM(**FAST).fit([])
    with pytest.raises(DataError, match="same timestamp"):
        RIM(**FAST).fit([("a", "x", 5), ("b", "y", 5)])
    with pytest.raises(DataError, match="shorter horizon"):
        RIM(horizon=1000.0, **FAST).fit([("a", "x", 1), ("b", "y", 5), ("a", "y", 9)])
    model = RIM(**FAST, horizon=2.0).fit([("a", "x", 1), ("b", "y", 2), ("a", "y", 5), ("b", "x", 6)])
    with pytest.raises(DataError, match="unknown item id"):
        model.target(["nope"])
