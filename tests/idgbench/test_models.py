"""The model families, their training loops, the β-VAE readout and resuming from checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.benchmark import Benchmark
from iclr22.idgbench.model import MODEL_FAMILIES, BetaVAE, LinearReadout, MLPReadout, build_model
from iclr22.idgbench.estimator import FactorRegressor
from iclr22.idgbench.train import fit_linear_readout, fit_mlp_readout, fit_regressor, predict, scheduled_lr


def training(family: str = "mlp", **params):
    """The resolved optimisation settings of a FactorRegressor with these parameters."""
    return FactorRegressor(family, **params).training_config()


@pytest.mark.parametrize("family", MODEL_FAMILIES)
def test_every_family_maps_images_to_one_value_per_factor(family):
    torch.manual_seed(0)
    model = build_model(family, (1, 64, 64), 5)
    out = model(torch.rand(3, 1, 64, 64))
    assert out.shape == ((3, 10) if family == "betavae" else (3, 5))  # the bare β-VAE returns μ (10-d)
    assert torch.isfinite(out).all()
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_beta_vae_loss_is_reconstruction_plus_beta_kl():
    torch.manual_seed(0)
    vae = BetaVAE(1, latent_dim=4, beta=3.0)
    x = (torch.rand(5, 1, 64, 64) > 0.8).float()
    torch.manual_seed(1)
    loss, reconstruction, kl = vae.loss(x)
    assert loss.item() == pytest.approx(reconstruction.item() + 3.0 * kl.item(), rel=1e-5)
    assert kl.item() >= 0


def test_linear_readout_recovers_a_linear_map_exactly():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, size=(200, 4, 4)).astype(np.uint8)
    weights = rng.normal(size=(16, 3))
    targets = images.reshape(200, 16) @ weights + 0.25
    model = fit_linear_readout(torch.nn.Flatten(), images, targets, ridge=1e-9)
    np.testing.assert_allclose(predict(model, images), targets, atol=1e-3)


def test_fit_resumes_from_a_checkpoint_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, size=(96, 8, 8)).astype(np.uint8)
    targets = rng.random((96, 2)).astype(np.float32)

    config = training("mlp", epochs=3, batch_size=16)
    straight = build_model("mlp", (1, 8, 8), 2)
    initial = {k: v.clone() for k, v in straight.state_dict().items()}
    fit_regressor(straight, images, targets, config, seed=3)

    # the same run, interrupted after its first epoch (a checkpoint is written every epoch)
    import iclr22.idgbench.train as train_module

    interrupted = build_model("mlp", (1, 8, 8), 2)
    interrupted.load_state_dict(initial)
    real_fit_epochs = train_module.fit_epochs

    def stop_after_one_epoch(model, optimizer, train_epoch, evaluate, max_epochs, **kwargs):
        def one_epoch_then_interrupt(epoch):
            if epoch == 1:
                raise KeyboardInterrupt
            return train_epoch(epoch)

        return real_fit_epochs(model, optimizer, one_epoch_then_interrupt, evaluate, max_epochs, **kwargs)

    train_module.fit_epochs = stop_after_one_epoch
    try:
        with pytest.raises(KeyboardInterrupt):
            fit_regressor(interrupted, images, targets, config, seed=3, checkpoint_path=tmp_path / "ckpt.pt")
    finally:
        train_module.fit_epochs = real_fit_epochs
    torch.manual_seed(123)  # the resumed run restores every RNG from the checkpoint
    resumed = build_model("mlp", (1, 8, 8), 2)
    history = fit_regressor(resumed, images, targets, config, seed=3, checkpoint_path=tmp_path / "ckpt.pt")
    assert len(history) == 3
    for a, b in zip(straight.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b)


def test_cnn_learns_position_and_beats_the_mean_predictor():
    """An easy case: on the random split a briefly trained CNN predicts the object's position well."""
    bench = Benchmark("dsprites", splits=("random",), num_train=1500, num_test=300, seed=0)
    data = bench.data("random")
    torch.manual_seed(0)
    reg = FactorRegressor("cnn", epochs=3, batch_size=32, seed=0).fit(data.train_images, data.train_targets)
    scores = bench.score(reg.model_, "random")
    assert scores["r2_x_position"] > 50 and scores["r2_y_position"] > 50  # in %
    assert scores["r2"] > 0.0  # the mean predictor scores about 0
    assert reg.history_[-1]["loss"] < reg.history_[0]["loss"]


def test_model_with_wrong_output_size_is_a_data_error():
    bench = Benchmark("dsprites", splits=("random",), num_train=20, num_test=20)
    three_outputs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3))
    with pytest.raises(DataError, match=r"expected \[20, 5\] \(one value per factor\)"):
        bench.score(three_outputs, "random")
    with pytest.raises(DataError, match="one value per factor"):
        fit_regressor(three_outputs, bench.data("random").train_images, bench.data("random").train_targets, training(epochs=1))


def test_bad_training_inputs():
    unfitted = FactorRegressor("densenet")  # __init__ only stores; fit checks
    with pytest.raises(ConfigError, match="parameter 'family' expects one of 'mlp', 'cnn'.*got 'densenet'"):
        unfitted.fit(np.zeros((4, 64, 64), np.uint8), np.zeros((4, 5)))
    with pytest.raises(DataError, match="X has 4, y has 3"):
        FactorRegressor("mlp").fit(np.zeros((4, 8, 8), np.uint8), np.zeros((3, 5)))
    with pytest.raises(DataError, match="y: expected a 2-D array"):
        FactorRegressor("mlp").fit(np.zeros((4, 8, 8), np.uint8), np.zeros(4))
    with pytest.raises(DataError, match="targets has 3"):
        fit_regressor(build_model("mlp", (1, 8, 8), 5), np.zeros((4, 8, 8), np.uint8), np.zeros((3, 5)), training(epochs=1))
    with pytest.raises(ConfigError, match="64 x 64"):
        build_model("cnn", (1, 32, 32), 5)


def test_heldin_images_are_unseen_training_cells_and_modularity_keys():
    from iclr22.idgbench.benchmark import score_split

    bench = Benchmark("dsprites", splits=("extrapolation",), num_train=100, num_test=60, num_heldin=40, seed=0)
    data = bench.data("extrapolation")
    space = bench.space
    train_flat = space.flat_index(np.rint(data.train_targets * (np.array(space.sizes) - 1)).astype(int))
    heldin_flat = space.flat_index(data.heldin_classes)
    assert data.split.train_mask[heldin_flat].all() and not set(train_flat) & set(heldin_flat)
    perfect = score_split(data.test_targets.astype(np.float64), data, data.heldin_targets.astype(np.float64))
    for key in ("r2", "r2_heldin", "r2_ood_factor", "r2_other_factors", "r2_other_factors_heldin"):
        assert perfect[key] == pytest.approx(100.0)
    # a model that predicts the OOD factors at the edge of the training range: only the OOD factor collapses
    clipped = data.test_targets.astype(np.float64).copy()
    ood = data.split.out_of_distribution(data.test_classes)
    for k, name in enumerate(space.names):
        if name in data.split.held_out_values:
            edge = (min(data.split.held_out_values[name]) - 1) / (space.sizes[k] - 1)
            clipped[ood[:, k], k] = edge
    scores = score_split(clipped, data, data.heldin_targets.astype(np.float64))
    assert scores["r2_other_factors"] == pytest.approx(100.0) and scores["r2_ood_factor"] < 90
    # the single-OOD matrix: on the images where only factor k is out of distribution, k collapses, the rest do not
    for k, name in enumerate(space.metric_names):
        key = f"r2_only_{name}_ood_{name}"
        if key in scores:
            assert scores[key] < 90
            others = [scores[f"r2_only_{name}_ood_{other}"] for other in space.metric_names if other != name]
            assert others == pytest.approx([100.0] * len(others))
    assert any(key.startswith("r2_only_") for key in scores)


def test_mlp_readout_reads_a_non_linear_code_that_a_linear_readout_cannot():
    # a factor stored as the magnitude of one representation unit (|h|): no linear map recovers it
    rng = np.random.default_rng(0)
    codes = rng.uniform(-1, 1, size=(2000, 1, 2)).astype(np.float32)
    targets = np.abs(codes.reshape(-1, 2)[:, :1])
    encoder = torch.nn.Flatten()
    mlp = fit_mlp_readout(encoder, codes, targets, epochs=40)
    linear = fit_linear_readout(encoder, codes, targets)
    r2 = lambda model: 1 - np.mean((predict(model, codes) - targets) ** 2) / targets.var()  # noqa: E731
    assert r2(mlp) > 0.95 and r2(linear) < 0.1


def test_beta_vae_regressor_uses_the_configured_readout():
    rng = np.random.default_rng(0)
    images = (rng.random((64, 64, 64)) > 0.9).astype(np.uint8)
    targets = rng.random((64, 5)).astype(np.float32)
    for readout, kind in (("mlp", MLPReadout), ("linear", LinearReadout)):
        reg = FactorRegressor("betavae", epochs=1, batch_size=32, readout=readout).fit(images, targets)
        assert isinstance(reg.model_.readout, kind)
        assert reg.predict(images).shape == (64, 5)
    with pytest.raises(ConfigError, match="readout"):
        training(readout="forest").check()


def test_learning_rate_warms_up_linearly_then_decays_to_zero():
    config = training(lr=1e-3, warmup=0.1)
    rates = [scheduled_lr(config, step, 100) for step in range(100)]
    np.testing.assert_allclose(rates[:10], 1e-3 * np.arange(1, 11) / 10)  # warm-up reaches the peak at step 9
    assert rates[10] == pytest.approx(1e-3) and all(a >= b for a, b in zip(rates[10:], rates[11:])) and rates[-1] < 1e-5
    assert scheduled_lr(training(lr=1e-3), 0, 100) == pytest.approx(1e-3)  # no warm-up: cosine from the peak
    assert scheduled_lr(training(lr=1e-3, lr_schedule="constant", warmup=0.5), 80, 100) == 1e-3
    with pytest.raises(ConfigError, match="warmup"):
        training(warmup=1.0).check()


def test_vit_conv_stem_makes_the_same_token_grid_as_patches():
    from iclr22.idgbench.model import ViT

    torch.manual_seed(0)
    x = torch.rand(2, 1, 64, 64)
    for stem in ("patch", "conv"):
        vit = ViT(64, 1, 5, patch_size=8, stem=stem)
        assert vit.patchify(x).shape == (2, 64, 8, 8) and vit(x).shape == (2, 5)
    with pytest.raises(ConfigError, match="power-of-2"):
        ViT(48, 1, 5, patch_size=6, stem="conv")
    with pytest.raises(ConfigError, match="stem"):
        ViT(64, 1, 5, stem="hybrid")
