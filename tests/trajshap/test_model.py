"""The predictors: the mixture likelihood, edge cutting, and resumable deterministic training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from iclr22.trajshap.model import LOG_PROB_MAX, ConstantVelocity, InteractionPredictor, LSTMPredictor, Prediction, trajectory_errors
from iclr22.trajshap.scenes import SceneBatch, build_samples
from iclr22.trajshap.synthetic import simulate_scenes
from iclr22.trajshap.train import evaluate_predictor, fit_predictor, position_scale


def test_mixture_log_likelihood_matches_scipy():
    gen = torch.Generator().manual_seed(0)
    modes = torch.randn(2, 3, 4, 2, generator=gen)
    log_sigma = torch.randn(2, 3, 4, generator=gen) * 0.3
    logits = torch.randn(2, 3, generator=gen)
    future = torch.randn(2, 4, 2, generator=gen)
    ours = Prediction(modes, logits, log_sigma).log_likelihood(future)
    for b in range(2):
        weights = torch.softmax(logits[b], 0).numpy()
        density = sum(
            weights[k] * np.prod([multivariate_normal.pdf(future[b, t].numpy(), modes[b, k, t].numpy(), math.exp(2 * float(log_sigma[b, k, t]))) for t in range(4)])
            for k in range(3)
        )
        assert float(ours[b]) == pytest.approx(min(math.log(density) / 4, LOG_PROB_MAX), rel=1e-4)


def test_best_of_k_errors():
    future = torch.zeros(1, 3, 2)
    modes = torch.tensor([[[[1.0, 0], [1, 0], [1, 0]], [[0, 0], [0, 0], [3, 0]]]])
    errors = trajectory_errors(modes, future)
    assert float(errors["ade"]) == pytest.approx(1.0) and float(errors["fde"]) == pytest.approx(1.0)  # each minimised on its own
    cv = ConstantVelocity(pred_len=3, modes=1)(SceneBatch(torch.tensor([[[-2.0, 0], [-1, 0], [0, 0]]]), torch.zeros(1, 0, 3, 2), torch.zeros(1, 0)))
    np.testing.assert_allclose(cv.modes[0, 0].numpy(), [[1, 0], [2, 0], [3, 0]])


def test_cut_edges_equal_no_neighbours_and_neighbours_matter_when_present():
    torch.manual_seed(0)
    model = InteractionPredictor(modes=4, hidden=16, scale=0.5).eval()
    gen = torch.Generator().manual_seed(1)
    batch = SceneBatch(torch.randn(5, 8, 2, generator=gen), torch.randn(5, 3, 8, 2, generator=gen), torch.ones(5, 3))
    cut = SceneBatch(batch.past, batch.neighbours, torch.zeros(5, 3))
    with torch.no_grad():
        alone = model(batch.without_neighbours()).modes
        torch.testing.assert_close(model(cut).modes, alone)
        assert not torch.allclose(model(batch).modes, alone)
        lstm = LSTMPredictor(modes=4, hidden=16, scale=0.5).eval()
        torch.testing.assert_close(lstm(batch).modes, lstm(batch.without_neighbours()).modes)


def test_training_is_deterministic_and_resumable(tmp_path):
    train = build_samples(simulate_scenes(4, "social", seed=1, num_frames=24), max_neighbours=8)
    scale = position_scale(train)

    def fit(epochs: int, path) -> InteractionPredictor:
        torch.manual_seed(0)
        model = InteractionPredictor(modes=4, hidden=24, scale=scale)
        fit_predictor(
            model, train, None, epochs=epochs, batch_size=128, lr=3e-3, weight_decay=0.0, patience=None, augment=True, wta_weight=1.0,
            checkpoint_path=path, seed=0,
        )
        return model.eval()

    full = fit(3, tmp_path / "a.pt")
    fit(1, tmp_path / "b.pt")
    resumed = fit(3, tmp_path / "b.pt")  # continues from epoch 1
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    again = fit(3, tmp_path / "c.pt")
    assert evaluate_predictor(again, train)["ade"] == pytest.approx(evaluate_predictor(full, train)["ade"], abs=1e-6)
