"""The public estimator: one of the benchmark's model families trained on images to predict their factors.

:class:`FactorRegressor` is a scikit-learn regressor (``fit(X, y)`` with uint8 images ``X`` and normalised
factors ``y``, ``predict(X)``, ``clone``, ``save`` / ``load``); :func:`benchmark_family` is the plain
function beside it: train one family on every split of a :class:`~iclr22.idgbench.benchmark.Benchmark` and
score it. The training itself (losses, steps, readouts) is in :mod:`iclr22.idgbench.train`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import RegressorMixin, clone

from iclr22.core.errors import ConfigError
from iclr22.core.estimator import Estimator
from iclr22.core.validation import check_array, check_consistent_length
from iclr22.idgbench.benchmark import Benchmark, SplitData, score_split
from iclr22.idgbench.model import BetaVAE, EncoderWithReadout, LinearReadout, MLPReadout, ModelFamily, build_model
from iclr22.idgbench.splits import SPLIT_KINDS, SplitKind
from iclr22.idgbench.synthetic import ImageSource
from iclr22.idgbench.train import (
    LrSchedule,
    Readout,
    TrainingConfig,
    fit_beta_vae,
    fit_linear_readout,
    fit_mlp_readout,
    fit_regressor,
    images_to_tensor,
    predict,
)

__all__ = ["FactorRegressor", "benchmark_family", "fit_and_score", "FAMILY_EPOCHS", "FAMILY_LR"]

#: Epochs over the training images per family when ``epochs="auto"`` (the default), chosen so that the whole
#: benchmark, six families x four splits of 20,000 images, runs in under 30 minutes on a 2-core CPU. The CNN's
#: shape regression converges only after ~1,000-1,500 steps (docs/methods/idgbench.md, tuning), so the cheap MLP
#: and CNN get 5 epochs (1,565 steps at batch 64); the ResNet reached 98 % random R² at 750 steps, so it gets 2
#: (626 steps). The beta-VAE's latents hold shape only after ~1,000+ unsupervised steps (held-in R² 72 % after
#: 626 steps, 80-88 % after 1,565 depending on the seed of its sampling noise), so it gets 5.
FAMILY_EPOCHS = {"mlp": 5, "cnn": 5, "coordconv": 4, "resnet": 2, "vit": 3, "betavae": 5}
#: Peak Adam learning rate per family when ``lr="auto"`` (the default): 1e-3 (the CNN tuning) for every
#: supervised family except the ViT, which reached 89 % instead of 85 % held-in R² at 2e-3
#: (benchmarks/idgbench_family_tuning.py).
FAMILY_LR = {"mlp": 1e-3, "cnn": 1e-3, "coordconv": 1e-3, "resnet": 1e-3, "vit": 2e-3, "betavae": 1e-3}


class FactorRegressor(RegressorMixin, Estimator):
    """Train one of the benchmark's model families on images and predict their factors.

    Supervised families regress all normalised factors with MSE (Adam, a cosine or constant schedule);
    ``betavae`` trains a β-VAE without labels, then reads its frozen posterior means out with a small MLP
    or a ridge-regression map fit on the labels.

    Args:
        family: The model family: mlp, cnn (the repository's VanillaCNN), coordconv, resnet, vit or betavae (iclr22 run: one per entry of models).
        epochs: Passes over the training images ("auto": the family's budget, FAMILY_EPOCHS = mlp 5, cnn 5,
            coordconv 4, resnet 2, vit 3, betavae 5).
        batch_size: Images per Adam step.
        lr: Peak Adam learning rate of the supervised families ("auto": the family's, FAMILY_LR = 1e-3, the
            ViT 2e-3).
        lr_schedule: Supervised learning-rate schedule: cosine (decay to 0 over all steps) or constant.
        warmup: Share of the supervised steps over which the learning rate rises linearly from 0 to lr
            (0: none).
        weight_decay: Adam weight decay of the supervised families.
        vae_lr: Adam learning rate of the β-VAE (1e-3 was the best of 5e-4, 1e-3, 2e-3 in the tuning runs).
        vae_epochs: Passes of unsupervised β-VAE training (None: the same as epochs).
        beta: β of the β-VAE (weight of its KL term).
        readout: How the β-VAE's frozen posterior means are read out: mlp (10-256-256-K, MSE) or linear
            (ridge least squares).
        ridge: L2 penalty of the β-VAE's linear readout.
        seed: Seeds initialisation, batch order and the β-VAE's sampling noise.
        device: Where the model trains and predicts (cpu, cuda, cuda:N).
        verbose: Progress bars: None on a terminal only, True always, False never.
        checkpoint_dir: Folder for resumable per-epoch checkpoints (None: none).

    Attributes:
        model_: The trained module mapping float images ``[B, C, H, W]`` to ``[B, K]`` factors.
        history_: Per-epoch training logs.
        image_shape_: ``(C, H, W)`` of the training images.
        n_factors_: Number of factors ``K``.

    Example:
        >>> reg = FactorRegressor("cnn", epochs=2).fit(train_images, train_targets)
        >>> predictions = reg.predict(test_images)
    """

    _fitted_attribute = "model_"
    _not_options = ("family",)  # the experiment fits one regressor per family (--set models=...)

    def __init__(
        self,
        family: ModelFamily = "cnn",
        epochs: int | Literal["auto"] = "auto",
        batch_size: int = 64,
        lr: float | Literal["auto"] = "auto",
        lr_schedule: LrSchedule = "cosine",
        warmup: float = 0.0,
        weight_decay: float = 0.0,
        vae_lr: float = 1e-3,
        vae_epochs: int | None = None,
        beta: float = 4.0,
        readout: Readout = "mlp",
        ridge: float = 1e-3,
        seed: int = 0,
        device: str = "cpu",
        verbose: bool | None = None,
        checkpoint_dir: str | Path | None = None,
    ) -> None:
        self.family = family
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.vae_lr = vae_lr
        self.vae_epochs = vae_epochs
        self.beta = beta
        self.readout = readout
        self.ridge = ridge
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir

    # -- parameters ------------------------------------------------------------------------------------
    def training_config(self) -> TrainingConfig:
        """The optimisation settings one :meth:`fit` uses: ``"auto"`` resolved to the family's budget."""
        return TrainingConfig(
            epochs=FAMILY_EPOCHS[self.family] if self.epochs == "auto" else self.epochs,
            batch_size=self.batch_size,
            lr=FAMILY_LR[self.family] if self.lr == "auto" else self.lr,
            lr_schedule=self.lr_schedule,
            warmup=self.warmup,
            weight_decay=self.weight_decay,
            vae_lr=self.vae_lr,
            vae_epochs=self.vae_epochs,
            beta=self.beta,
            readout=self.readout,
            ridge=self.ridge,
            device=str(self.device),
        )

    def _check_params(self) -> None:
        """Types and choices (the annotations), then ranges.

        Raises:
            ConfigError: naming the parameter and what it takes.
        """
        super()._check_params()
        try:
            self.training_config().check()
        except ConfigError as exc:
            raise ConfigError(f"FactorRegressor: {exc}") from None

    def _checkpoint(self, name: str) -> Path | None:
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / f"{name}.pt"

    # -- fit / predict ---------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray) -> FactorRegressor:
        """Train on uint8 images ``X`` ``[N, H, W(, C)]`` and normalised factors ``y`` ``[N, K]``.

        Returns:
            ``self``.

        Raises:
            ConfigError: a parameter outside its choices or range.
            DataError: images or factors of the wrong shape, or NaN / inf in them.
        """
        self._check_params()
        X = check_array(X, "X", ndim=(3, 4), dtype=None)
        y = check_array(y, "y", ndim=2, dtype=None)
        check_consistent_length(X=X, y=y)
        config = self.training_config()
        torch.manual_seed(self.seed)
        image_shape = tuple(images_to_tensor(X[:1]).shape[1:])
        model = build_model(self.family, image_shape, int(y.shape[1]))
        if isinstance(model, BetaVAE):
            history = fit_beta_vae(model, X, config, self.seed, self._checkpoint(f"{self.family}-vae"), desc="beta-vae", verbose=self.verbose)
            if config.readout == "mlp":
                fitted = fit_mlp_readout(model, X, y, seed=self.seed, device=config.device)
            else:
                fitted = fit_linear_readout(model, X, y, config.ridge, device=config.device)
        else:
            history = fit_regressor(model, X, y, config, self.seed, self._checkpoint(self.family), desc=self.family, verbose=self.verbose)
            fitted = model
        self.history_ = history
        self.image_shape_ = image_shape
        self.n_factors_ = int(y.shape[1])
        self.model_ = fitted
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted normalised factors ``[N, K]`` (float64) for uint8 images ``X``."""
        self._check_is_fitted("predict")
        X = check_array(X, "X", ndim=(3, 4), dtype=None)
        return predict(self.model_, X)

    def score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """scikit-learn's regressor score, kept for its tools (``cross_val_score``, grid search): a fraction
        whose denominator is the variance of ``y`` itself, averaged over factors.

        It is *not* the benchmark's R² (in %, over the full grid's variance, so comparable across splits):
        score with :meth:`Benchmark.score <iclr22.idgbench.benchmark.Benchmark.score>`,
        :func:`~iclr22.idgbench.metrics.r_squared` or ``iclr22 idgbench evaluate`` for that.
        """
        return super().score(X, y, sample_weight=sample_weight)

    # -- persistence -----------------------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {
            "image_shape": list(self.image_shape_),
            "num_factors": self.n_factors_,
            "weights": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            "history": self.history_,
        }

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        image_shape = tuple(int(v) for v in state["image_shape"])
        num_factors = int(state["num_factors"])
        with torch.random.fork_rng(devices=[]):  # the throw-away initialisation leaves the global RNG alone
            model = build_model(self.family, image_shape, num_factors)
            if isinstance(model, BetaVAE):
                readout = MLPReadout(model.latent_dim, num_factors) if self.readout == "mlp" else LinearReadout(model.latent_dim, num_factors)
                model = EncoderWithReadout(model, readout)
        model.load_state_dict(state["weights"])
        model.to(torch.device(self.device)).eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        self.image_shape_ = image_shape
        self.n_factors_ = num_factors
        self.history_ = list(state["history"])
        self.model_ = model


def fit_and_score(regressor: FactorRegressor, data: SplitData) -> dict[str, float]:
    """Fit ``regressor`` on one split's training images and score it on its test (and held-in) images.

    Returns:
        :func:`~iclr22.idgbench.benchmark.score_split` of its predictions.
    """
    regressor.fit(data.train_images, data.train_targets)
    heldin = regressor.predict(data.heldin_images) if data.heldin_images is not None else None
    return score_split(regressor.predict(data.test_images), data, heldin)


def benchmark_family(
    family: ModelFamily = "cnn",
    source: ImageSource | str | Path = "dsprites",
    splits: Sequence[SplitKind] = SPLIT_KINDS,
    num_train: int | None = 20_000,
    num_test: int | None = 5_000,
    num_heldin: int = 0,
    seed: int = 0,
    **params: Any,
) -> dict[str, dict[str, float]]:
    """Train one model family on each split of the benchmark and score it (R² per factor, the paper's score).

    Args:
        family: The model family (see :class:`FactorRegressor`).
        source: The image source of :class:`~iclr22.idgbench.benchmark.Benchmark` (``"dsprites"``,
            ``"dsprites-rot90"``, ``"colour-shapes"``, an ImageSource or the official ``.npz``).
        splits: Which split kinds.
        num_train: Training images per split.
        num_test: Test images per split.
        num_heldin: Unseen training-cell images per split, scored as the in-distribution reference.
        seed: Seeds the splits, the sampling of images and the training.
        params: More :class:`FactorRegressor` parameters (``epochs``, ``lr``, ``device``, ...).

    Returns:
        ``{split: scores}`` (R² in %: ``r2``, ``r2_<factor>``, the modularity read-out, ...).

    Example:
        >>> benchmark_family("mlp", splits=["random", "extrapolation"], num_train=2000, epochs=2)["extrapolation"]["r2"]
    """
    bench = Benchmark(source, splits=splits, num_train=num_train, num_test=num_test, num_heldin=num_heldin, seed=seed)
    template = FactorRegressor(family, seed=seed, **params)
    return {kind: fit_and_score(clone(template), bench.data(kind)) for kind in bench.splits}
