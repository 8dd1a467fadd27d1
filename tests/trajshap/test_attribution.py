"""TrajectoryShapley: agrees with captum, satisfies efficiency, removes players the paper's way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import NotFittedError
from iclr22.trajshap.estimator import TrajectoryShapley, trajectory_shapley
from iclr22.trajshap.model import ConstantVelocity, InteractionPredictor, Prediction, trajectory_errors
from iclr22.trajshap.scenes import SceneBatch


def _batch(size: int = 6, neighbours: int = 3, seed: int = 0) -> SceneBatch:
    gen = torch.Generator().manual_seed(seed)
    steps = torch.randn(size, 1, 2, generator=gen) * 0.4
    past = steps * torch.arange(-7, 1).view(1, 8, 1)
    future = steps * torch.arange(1, 13).view(1, 12, 1) + 0.1 * torch.randn(size, 12, 2, generator=gen)
    nb = torch.randn(size, neighbours, 1, 2, generator=gen) * 1.5 + torch.randn(size, neighbours, 8, 2, generator=gen) * 0.2
    mask = torch.ones(size, neighbours)
    if size > 2:
        mask[0, 1:] = 0  # sample 0 has a single neighbour
    nb = nb * mask[..., None, None]
    return SceneBatch(past, nb, mask, future)


def _model(seed: int = 0) -> InteractionPredictor:
    torch.manual_seed(seed)
    return InteractionPredictor(pred_len=12, modes=3, hidden=16, scale=0.4).eval()


def test_exact_values_equal_captum_shapley_values():
    captum_attr = pytest.importorskip("captum.attr")
    model, batch = _model(), _batch(size=1)
    ours = TrajectoryShapley(model, metric="ade", estimator="exact", random_agent=False).fit().explain(batch).values[0]

    def value(past, neighbours, mask):
        prediction = model(SceneBatch(past, neighbours, mask, batch.future.expand(past.shape[0], -1, -1)))
        return -trajectory_errors(prediction, batch.future.expand(past.shape[0], -1, -1))["ade"]

    groups = torch.arange(1, 4).view(1, 3)
    feature_mask = (torch.zeros(1, 8, 2, dtype=torch.long), groups.view(1, 3, 1, 1).expand(1, 3, 8, 2).contiguous(), groups.clone())
    with torch.no_grad():
        attr = captum_attr.ShapleyValues(value).attribute((batch.past, batch.neighbours, batch.neighbour_mask), feature_mask=feature_mask)
    reference = [float(attr[0][0, 0, 0])] + [float(attr[2][0, j]) for j in range(3)]
    np.testing.assert_allclose(ours, reference, atol=1e-5)


@pytest.mark.parametrize("removal", ["zero", "random"])
def test_efficiency_per_sample(removal):
    model, batch = _model(1), _batch()
    attributions = TrajectoryShapley(model, removal=removal, estimator="exact", seed=3).fit(_batch(seed=9)).explain(batch)
    for values, full, empty in zip(attributions.values, attributions.full_value, attributions.empty_value):
        if removal == "zero":  # with random removal v(empty) is one draw among many: only the exact zero variant is checked
            assert values.sum() == pytest.approx(full - empty, abs=1e-6)
    assert [len(v) for v in attributions.values] == [3, 5, 5, 5, 5, 5]  # past + real neighbours + random agent
    plain = TrajectoryShapley(model, removal=removal, estimator="exact", random_agent=False).fit(_batch(seed=9)).explain(batch)
    with torch.no_grad():
        full_errors = trajectory_errors(model(batch), batch.future)["ade"].numpy()
    np.testing.assert_allclose(plain.full_value, -full_errors, rtol=1e-5)  # v(all players) is the model's own performance


def test_constant_velocity_uses_only_the_past():
    batch = _batch()
    attributions = trajectory_shapley(ConstantVelocity(12, modes=5), batch, pool=_batch(seed=4), estimator="exact")
    assert np.all(attributions.past > 0)
    np.testing.assert_allclose(attributions.interaction, 0.0, atol=1e-12)
    np.testing.assert_allclose(attributions.random, 0.0, atol=1e-12)


def test_zero_removal_cuts_edges_and_aggregation_takes_the_max():
    seen = []

    def follow_first_neighbour(batch: SceneBatch) -> torch.Tensor:
        """Predicts the future from the first neighbour's last step when its edge exists; else stands still."""
        seen.append(batch)
        velocity = (batch.neighbours[:, 0, -1] - batch.neighbours[:, 0, -2]) * batch.neighbour_mask[:, 0:1]
        return velocity[:, None, :] * torch.arange(1, 13).view(1, 12, 1)

    batch = _batch(size=2, neighbours=2)
    batch.future = (batch.neighbours[:, 0, -1] - batch.neighbours[:, 0, -2])[:, None] * torch.arange(1, 13).view(1, 12, 1)
    attributions = TrajectoryShapley(follow_first_neighbour, estimator="exact", random_agent=False).fit().explain(batch)
    for values in attributions.values:
        assert values[1] > 0 and values[0] == pytest.approx(0) and values[2] == pytest.approx(0)
    np.testing.assert_allclose(attributions.interaction, [v[1] for v in attributions.values])
    cut = torch.cat([b.neighbour_mask for b in seen]) == 0
    neighbours = torch.cat([b.neighbours for b in seen])
    assert cut.any() and torch.all(neighbours[cut] == 0)  # a removed neighbour is zeroed and its edge cut


def test_permutation_and_banzhaf_estimators_run_on_trajectories():
    model, batch = _model(2), _batch()
    exact = TrajectoryShapley(model, estimator="exact", random_agent=False).fit().explain(batch)
    sampled = TrajectoryShapley(model, estimator="permutation", num_permutations=200, random_agent=False).fit().explain(batch)
    for e, s, err in zip(exact.values, sampled.values, sampled.stderr):
        assert np.all(np.abs(e - s) <= 5 * err + 1e-6)
    banzhaf = TrajectoryShapley(model, estimator="banzhaf", random_agent=False).fit().explain(batch)
    assert banzhaf.estimators_used == {"banzhaf": 6}


def test_user_predictor_returning_a_tensor_and_bad_inputs():
    batch = _batch()
    single = lambda b: b.past[:, -1:, :].expand(-1, 12, -1) * 0  # noqa: E731  a (B, T, 2) tensor
    attributions = TrajectoryShapley(single, random_agent=False).fit().explain(batch)
    np.testing.assert_allclose(attributions.past, 0.0)
    assert Prediction.of(torch.zeros(2, 12, 2)).modes.shape == (2, 1, 12, 2)
    with pytest.raises(NotFittedError, match="fit"):
        TrajectoryShapley(single).explain(batch)
    with pytest.raises(ConfigError, match="fit"):
        TrajectoryShapley(single).fit()  # a random agent needs a pool
    with pytest.raises(ConfigError, match="probabilistic"):
        TrajectoryShapley(single, metric="nll", random_agent=False).fit().explain(batch)
    bad = _batch()
    bad.past[0, 0, 0] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        TrajectoryShapley(single, random_agent=False).fit().explain(bad)
    with pytest.raises(ConfigError, match="removal"):
        TrajectoryShapley(single, removal="mean", random_agent=False).fit()  # checked in fit, not in __init__
