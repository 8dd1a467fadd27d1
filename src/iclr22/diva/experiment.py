"""DIVA's experiments on CPU-sized data: mislabelled-sample detection (Fig. 3) and Reweight (Table 1).

One run, for one seed (``EXPERIMENT``, run by the core harness):

1. ``load``: split the dataset into a training and a test set (seeded); embed both with a fixed feature
   map standing in for the paper's frozen ImageNet ResNet, which cannot be had offline: random Fourier
   features of the pixels (``rff``), or a small CNN pre-trained on a third, disjoint and cleanly labelled
   split and frozen (``cnn``); ``features`` data are used as given. Then flip ``noise`` of the training
   labels to a different class, uniformly (seeded), unless the data bring their own ``y_train_clean``.
2. ``diva``: the LOO dataset derivative at ``alpha = 1`` ranks the training samples (AUROC against the
   noise mask) and flags ``dL/dalpha_i >= epsilon`` (F1); DIVA Reweight gives its test error. Every
   other row but ``cleanlab`` uses the same DIVA fit (one per seed): its lambda, classes and derivative.
3. Detection baselines (``baselines.py``): the squared training loss of the same ridge model
   (``loss_rank``), its self-influence (Koh & Liang, 2017; ``influence``) and cleanlab's confident
   learning (``cleanlab``, when installed).
4. Reweight baselines: test error of the ridge with uniform weights (``uniform``) and after dropping the
   top-ranked samples (``drop_top``). What the paper leaves open is chosen on the training set alone, by
   the same rule for both: the leave-one-out classification error against the (noisy) labels picks
   DIVA's step size (one step by default, see :class:`~iclr22.diva.estimator.DIVA`) and drop_top's number
   of dropped samples. ``drop_top_oracle`` drops exactly as many samples as were flipped (it is told the
   noise rate).

The DIVA estimator's parameters are the hyperparameters (``--set reg=0.5``, ``--set lr=1.0``);
:class:`RunOptions` holds the experiment's own options. ``iclr22 run diva --help`` lists both.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.options import options_of
from iclr22.core.results import new_figure, save_figure
from iclr22.diva.baselines import DropSelection, cleanlab_scores, kept_after_dropping, ridge_scores, ridge_test_error, select_drop_count
from iclr22.diva.estimator import DIVA
from iclr22.diva.model import RandomFourierFeatures

#: The rows of the table, in order; every one but ``cleanlab`` reads the seed's one DIVA fit.
ModelName = Literal["diva", "loss_rank", "influence", "cleanlab", "uniform", "drop_top", "drop_top_oracle"]
MODELS: tuple[str, ...] = get_args(ModelName)


@dataclass
class RunOptions:
    """The options of ``iclr22 run diva`` besides the DIVA estimator's parameters.

    Args:
        models: Rows to run, in order: diva, loss_rank, influence, cleanlab, uniform, drop_top, drop_top_oracle.
        noise: Fraction of training labels flipped to another class (ignored when the data bring y_train_clean).
        features: The fixed feature map: random Fourier features of the pixels (rff), the penultimate features of a small CNN pre-trained on a disjoint clean split and frozen (cnn), the pixels scaled to [0, 1] (pixels), or the data as given (identity).
        num_features: Number of random Fourier features (features=rff).
        train_size: Training samples (0: all the dataset offers).
        test_size: Test samples (0: all remaining images, or all test rows).
        drop_fraction: Fraction of the training set that drop_top drops (None: chosen from drop_grid by leave-one-out error).
        drop_grid: Candidate fractions for drop_top.
        cleanlab_folds: Cross-validation folds for cleanlab's probabilities.
        backbone_size: Images (disjoint from train and test, clean labels) the CNN is pre-trained on (features=cnn).
        backbone_epochs: Epochs of the CNN pre-training (Adam, lr 1e-3, batch 64; checkpointed every epoch).
        backbone_dim: Width of the CNN's penultimate layer, the features handed to DIVA.
    """

    models: list[ModelName] = field(default_factory=lambda: list(MODELS))
    noise: float = 0.1
    features: Literal["rff", "cnn", "pixels", "identity"] = "rff"
    num_features: int = 1024
    train_size: int = 1000
    test_size: int = 0
    drop_fraction: float | None = None
    drop_grid: list[float] = field(default_factory=lambda: [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3])
    cleanlab_folds: int = 5
    backbone_size: int = 3000
    backbone_epochs: int = 6
    backbone_dim: int = 128


#: Per-dataset sizes of the full runs (applied after the defaults of RunOptions and DIVA).
DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "digits": {"backbone_size": 500},  # 1,797 images in all: train 1,000, backbone 500, test the rest
    "mnist": {"train_size": 5000, "test_size": 5000, "num_features": 2048},
    "cifar10": {"train_size": 5000, "test_size": 5000, "num_features": 2048},
    "features": {"features": "identity", "train_size": 0},  # the user's embeddings, all of them
}
#: ``--quick``: a smoke test in seconds, per dataset (the core's ``quick`` is one mapping for all; see
#: :attr:`Experiment.quick` as a function of the dataset).
QUICK: dict[str, dict[str, Any]] = {
    "digits": {"train_size": 500, "num_features": 256, "backbone_size": 400, "backbone_epochs": 3},
    "mnist": {"train_size": 1000, "test_size": 1000, "num_features": 512, "backbone_size": 1000, "backbone_epochs": 2},
    "cifar10": {"train_size": 1000, "test_size": 1000, "num_features": 512, "backbone_size": 1000, "backbone_epochs": 2},
    "features": {},
}

#: Fig. 3 (right) of the paper, 20% label noise, ResNet-34 ImageNet features (submission version).
PAPER_DETECTION = {
    "Cub200": (0.87, 0.98),
    "Aircrafts": (0.68, 0.90),
    "MIT Indoor-67": (0.86, 0.98),
    "Stanford Cars": (0.75, 0.93),
    "Caltech-256": (0.92, 0.99),
    "Oxford Flowers": (0.83, 0.97),
}


# ------------------------------------------------------------------------------------------------ data
def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(n)[:size]) if 0 < size < n else np.arange(n)


def load_splits(ctx: RunContext, config: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The run's data: ``x_train, y_train, x_test, y_test`` (images scaled to [0, 1], or embeddings),
    ``y_train_clean`` (or ``None``), and for ``features=cnn`` a disjoint ``x_backbone, y_backbone``."""
    from iclr22.data import images

    train_size, test_size = int(config["train_size"]), int(config["test_size"])
    backbone_size = int(config["backbone_size"]) if config["features"] == "cnn" else 0
    if backbone_size < 0 or (config["features"] == "cnn" and backbone_size == 0):
        raise ConfigError(f"backbone_size must be positive with features=cnn, got {backbone_size}")
    if ctx.dataset in ("digits", "mnist"):
        if ctx.dataset == "digits":
            data, scale = images.load_digits(ctx.data_dir), 16.0
        else:
            data, scale = images.load_mnist(ctx.require_data_dir("t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"), "test"), 255.0
        n, needed = len(data), backbone_size + train_size
        if train_size <= 0 or needed >= n:
            raise ConfigError(f"train_size (+ backbone_size) must lie in 1..{n - 1} for {ctx.dataset} ({n} images), got {train_size} + {backbone_size}")
        order = rng.permutation(n)
        backbone, train, rest = order[:backbone_size], order[backbone_size:needed], order[needed:]
        test = rest[:test_size] if test_size > 0 else rest
        x, y = data.images.astype(np.float32) / scale, data.labels
        return {
            "x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test],
            "x_backbone": x[backbone], "y_backbone": y[backbone], "y_train_clean": None, "kind": "images",
        }
    if ctx.dataset == "cifar10":
        folder = ctx.require_data_dir("cifar10_train_1000per_class.tar.gz and cifar10_test_full.tar.gz")
        if train_size <= 0:
            raise ConfigError(f"train_size must be positive for cifar10, got {train_size}")
        train_set = images.load_cifar10_jpeg(folder, "train", limit_per_class=-(-(train_size + backbone_size) // 10))
        test_set = images.load_cifar10_jpeg(folder, "test", limit_per_class=-(-test_size // 10) if test_size > 0 else None)
        if backbone_size + train_size > len(train_set):
            raise ConfigError(f"train_size + backbone_size must be at most {len(train_set)} for cifar10, got {train_size} + {backbone_size}")
        order = rng.permutation(len(train_set))
        backbone, train = order[:backbone_size], order[backbone_size : backbone_size + train_size]
        test = _subsample(len(test_set), test_size, rng)
        x, x_test = train_set.images.astype(np.float32) / 255.0, test_set.images[test].astype(np.float32) / 255.0
        return {
            "x_train": x[train], "y_train": train_set.labels[train], "x_test": x_test, "y_test": test_set.labels[test],
            "x_backbone": x[backbone], "y_backbone": train_set.labels[backbone], "y_train_clean": None, "kind": "images",
        }
    if ctx.dataset == "features":
        if config["features"] == "cnn":
            raise ConfigError("features=cnn needs images; the 'features' dataset holds embeddings (use identity, pixels or rff)")
        folder = ctx.require_data_dir("features.npz with X_train, y_train, X_test, y_test")
        splits = images.load_features_npz(Path(folder) / "features.npz")
        train = _subsample(len(splits.y_train), train_size, rng)
        test = _subsample(len(splits.y_test), test_size, rng)
        clean = splits.y_train_clean[train] if splits.y_train_clean is not None else None
        return {
            "x_train": splits.X_train.astype(np.float64)[train],
            "y_train": splits.y_train[train],
            "x_test": splits.X_test.astype(np.float64)[test],
            "y_test": splits.y_test[test],
            "y_train_clean": clean,
            "x_val": splits.X_val.astype(np.float64) if splits.X_val is not None else None,
            "y_val": splits.y_val,
            "kind": "embeddings",
        }
    raise ConfigError(f"diva does not know dataset '{ctx.dataset}'")


def inject_label_noise(labels: np.ndarray, rate: float, rng: np.random.Generator, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric label noise: ``round(rate * N)`` samples (chosen uniformly) get a uniformly drawn *other* class.

    Returns:
        ``(noisy_labels, mislabelled_mask)``.
    """
    if not 0.0 <= rate < 1.0:
        raise ConfigError(f"noise must lie in [0, 1), got {rate}")
    classes = np.unique(labels) if num_classes is None else np.arange(num_classes)
    if len(classes) < 2:
        raise DataError("label noise needs at least two classes")
    noisy = labels.copy()
    flipped = rng.permutation(len(labels))[: int(round(rate * len(labels)))]
    for i in flipped:
        others = classes[classes != labels[i]]
        noisy[i] = others[rng.integers(len(others))]
    return noisy, noisy != labels


def embed(
    data: dict[str, Any],
    config: dict[str, Any],
    seed: int,
    checkpoint_dir: Path | None = None,
    device: str = "cpu",
    verbose: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """The fixed feature map ("backbone") applied to the training and test sets, computed on ``device``.

    ``identity``: the data as given; ``pixels``: the flattened pixels in [0, 1]; ``rff``: random Fourier
    features of them; ``cnn``: the penultimate features of :class:`~iclr22.diva.backbone.SmallConvNet`
    pre-trained on the disjoint, cleanly labelled backbone split and frozen (the paper's setting in small;
    checkpointed as ``checkpoint_dir/backbone.pt``, a folder keyed by the run's options).
    """
    x_train, x_test = data["x_train"], data["x_test"]
    if config["features"] == "identity":
        return x_train, x_test, f"the given {x_train.shape[1]}-d features"
    if config["features"] == "cnn":
        from iclr22.diva.backbone import extract_features, pretrain_backbone

        num_classes = int(max(data["y_backbone"].max(), data["y_train"].max(), data["y_test"].max())) + 1
        net = pretrain_backbone(
            data["x_backbone"], data["y_backbone"], num_classes, epochs=int(config["backbone_epochs"]),
            feature_dim=int(config["backbone_dim"]), seed=seed, checkpoint_path=checkpoint_dir / "backbone.pt" if checkpoint_dir else None,
            device=device, verbose=verbose,
        )
        f_train, f_test = extract_features(net, x_train), extract_features(net, x_test)
        with torch.no_grad():
            from iclr22.diva.backbone import as_image_batch

            own_error = 100.0 * float((net(as_image_batch(x_test).to(device)).argmax(1).cpu().numpy() != data["y_test"]).mean())
        return f_train, f_test, (
            f"{config['backbone_dim']}-d penultimate features of a small CNN pre-trained for {config['backbone_epochs']} epochs on "
            f"{len(data['y_backbone'])} other, cleanly labelled images and frozen (its own softmax head: {own_error:.2f}% test error)"
        )
    z_train, z_test = x_train.reshape(len(x_train), -1).astype(np.float64), x_test.reshape(len(x_test), -1).astype(np.float64)
    if config["features"] == "pixels":
        return z_train, z_test, f"{z_train.shape[1]} pixels scaled to [0, 1]"
    # Pixels keep one global scale: per-pixel standardisation inflates the near-constant border pixels of
    # MNIST into noise (uniform-weight test error 9.5% instead of 5.8% at N = 5,000).
    generator = torch.Generator().manual_seed(seed)
    sample = torch.as_tensor(z_train[torch.randperm(len(z_train), generator=generator)[:1000].numpy()])
    bandwidth = float(torch.pdist(sample).median())
    # drawn on the CPU from the seed, then applied on the device
    feature_map = RandomFourierFeatures(z_train.shape[1], int(config["num_features"]), bandwidth, generator).to(device)
    with torch.no_grad():
        f_train = feature_map(torch.as_tensor(z_train, device=device)).cpu().numpy()
        f_test = feature_map(torch.as_tensor(z_test, device=device)).cpu().numpy()
    return f_train, f_test, f"{config['num_features']} random Fourier features (bandwidth {bandwidth:.3g}, the median distance) of the pixels scaled to [0, 1]"



# ----------------------------------------------------------------------------------------- metrics
def f1_score(flagged: np.ndarray, truth: np.ndarray) -> float:
    """F1 of a flagged set against the true mislabelled mask (0 when both are empty-overlap)."""
    true_positive = float((flagged & truth).sum())
    denominator = float(flagged.sum() + truth.sum())
    return 2.0 * true_positive / denominator if denominator else 0.0


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argsort(-scores, kind="stable")[:k]] = True
    return mask


def test_error(model: DIVA, features: np.ndarray, labels: np.ndarray) -> float:
    """Test error in percent (``DIVA.score`` is accuracy in percent)."""
    return 100.0 - model.score(features, labels)


# ------------------------------------------------------------------------------------------- one seed
@dataclass
class SeedData:
    """One seed's data, and what the rows share: the one DIVA fit and what is derived from it."""

    x_train: np.ndarray
    y_train: np.ndarray  # the (noisy) labels DIVA sees
    x_test: np.ndarray
    y_test: np.ndarray
    mislabelled: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    notes: list[str]
    started: float
    diva: DIVA | None = None
    fit_seconds: float = 0.0
    drop: DropSelection | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # detection scores per row
    ridge: tuple[np.ndarray, np.ndarray] | None = None  # loss_rank and influence scores
    cleanlab_missing: bool = False

    @property
    def have_noise(self) -> bool:
        return bool(0 < self.mislabelled.sum() < len(self.mislabelled))


def check_options(ctx: RunContext, options: dict[str, Any]) -> None:
    """Ranges of the run options, and the estimator's own check, before any data are loaded."""
    for key in ("num_features", "cleanlab_folds"):
        if options[key] < 1:
            raise ConfigError(f"option '{key}' must be positive, got {options[key]}")
    if not options["drop_grid"] or not all(0 < v < 1 for v in options["drop_grid"]):
        raise ConfigError(f"option 'drop_grid' must hold fractions in (0, 1), got {options['drop_grid']}")
    if options["drop_fraction"] is not None and not 0 <= options["drop_fraction"] < 1:
        raise ConfigError(f"option 'drop_fraction' must lie in [0, 1), got {options['drop_fraction']}")
    make_diva(options, None, ctx)._check_params()


def load(ctx: RunContext, options: dict[str, Any]) -> SeedData:
    """Split, embed and add label noise, in that order (the seed's one generator)."""
    started = time.perf_counter()
    rng = np.random.default_rng(ctx.seed)
    data = load_splits(ctx, options, rng)
    x_train, x_test, feature_note = embed(data, options, ctx.seed, ctx.checkpoint_dir, ctx.device, ctx.verbose)
    y_true = data["y_train"]
    if data["y_train_clean"] is not None:
        y_train, mislabelled = y_true, y_true != data["y_train_clean"]
        noise_note = f"mislabelled samples: {int(mislabelled.sum())} given by y_train_clean"
    else:
        y_train, mislabelled = inject_label_noise(y_true, float(options["noise"]), rng, int(max(y_true.max(), data["y_test"].max())) + 1)
        noise_note = f"{int(mislabelled.sum())} of {len(y_train)} training labels flipped to another class ({options['noise']:.0%} symmetric noise)"
    x_val, y_val = data.get("x_val"), data.get("y_val")
    if x_val is not None and options["features"] != "identity":
        x_val, y_val = None, None  # the feature map is fitted to train/test only; keep the LOO objective
    return SeedData(x_train, y_train, x_test, data["y_test"], mislabelled, x_val, y_val, [f"features: {feature_note}; {noise_note}"], started)


def make_diva(options: dict[str, Any], data: SeedData | None, ctx: RunContext) -> DIVA:
    """The seed's one DIVA estimator (every row but cleanlab reads its fit)."""
    if data is not None and data.diva is not None:
        return data.diva
    model = DIVA(**{name: options[name] for name in options_of(DIVA) if name in options})
    if data is not None:
        data.diva = model
    return model


def make_cleanlab(options: dict[str, Any], data: SeedData, ctx: RunContext) -> None:
    """cleanlab needs no model object of ours: :func:`~iclr22.diva.baselines.cleanlab_scores` builds its own."""
    return None


def fitted_diva(data: SeedData) -> DIVA:
    """The seed's DIVA, fitted once: lambda by LOO, derivative of L_LOO (or L_val) at alpha = 1, Reweight."""
    assert data.diva is not None
    if not data.diva.__sklearn_is_fitted__():
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:  # to the report as well as to the user
            warnings.simplefilter("always", UserWarning)
            data.diva.fit(data.x_train, data.y_train, X_val=data.x_val, y_val=data.y_val)
        for warning in caught:
            data.notes.append(f"warning: {warning.message}")
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        data.fit_seconds = time.perf_counter() - started
    return data.diva


def _detection(name: str, scores: np.ndarray, flagged: np.ndarray, data: SeedData) -> dict[str, float | None]:
    from sklearn.metrics import roc_auc_score

    data.scores[name] = scores
    auroc = float(roc_auc_score(data.mislabelled, scores)) if data.have_noise else None
    return {"auroc_mislabeled": auroc, "f1_mislabeled": f1_score(flagged, data.mislabelled) if data.have_noise else None}


def evaluate(name: str, model: Any, data: SeedData, ctx: RunContext, options: dict[str, Any]) -> dict[str, float | None]:
    """One row: detection (AUROC, F1 against the noise mask) and/or test error (percent)."""
    if name == "cleanlab":
        found = cleanlab_scores(data.x_train, data.y_train, int(options["cleanlab_folds"]), ctx.seed)
        if found is None:
            data.cleanlab_missing = True
            return {"auroc_mislabeled": None, "f1_mislabeled": None}
        return _detection(name, found[1], found[0], data)
    diva = fitted_diva(data)
    derivative = diva.derivative_
    budget = int((derivative >= diva.epsilon).sum())  # loss_rank and influence flag as many as DIVA
    if name == "diva":
        row = _detection(name, derivative, derivative >= diva.epsilon, data)
        row["test_error"] = test_error(diva, data.x_test, data.y_test)
        return row
    if name in ("loss_rank", "influence"):
        if data.ridge is None:
            data.ridge = ridge_scores(data.x_train, data.y_train, diva.classes_, diva.reg_, diva.device)
        scores = data.ridge[0] if name == "loss_rank" else data.ridge[1]
        return _detection(name, scores, top_k_mask(scores, budget), data)
    if name == "uniform":
        weights = np.ones(len(data.y_train))
    else:
        if data.drop is None:
            data.drop = select_drop_count(diva, data.x_train, data.y_train, options["drop_grid"], options["drop_fraction"], data.x_val, data.y_val)
        count = data.drop.count if name == "drop_top" else int(data.mislabelled.sum())
        weights = kept_after_dropping(data.drop.ranking, count)
    return {"test_error": ridge_test_error(data.x_train, data.y_train, weights, diva, data.x_test, data.y_test)}


# ------------------------------------------------------------------------------------------ the report
def report(ctx: RunContext, options: dict[str, Any], data: SeedData, results: Mapping[str, Any], fitted: Mapping[str, Any]) -> Report:
    """Notes on the fit, the detection-and-reweighting section, the paper's detection numbers, the figure."""
    notes = list(data.notes)
    sections: dict[str, str] = {}
    diva = data.diva if data.diva is not None and data.diva.__sklearn_is_fitted__() else None
    if diva is not None:
        derivative, weights, mislabelled = diva.derivative_, diva.weights_, data.mislabelled
        flagged = derivative >= diva.epsilon
        budget = int(flagged.sum())
        judge = "validation" if diva.objective_ == "val" else "leave-one-out"
        notes += [
            f"objective: {'the validation loss (Prop. 2)' if diva.objective_ == 'val' else 'the leave-one-out loss (Prop. 3)'}; "
            f"lambda = {diva.reg_:.4g} chosen by leave-one-out; DIVA fit (lambda search, derivative, Reweight and its step-size choice) took {data.fit_seconds:.2f} s",
            f"diva flags {budget} samples at epsilon = {diva.epsilon:g}; loss_rank and influence are scored at the same budget (their top {budget})",
            f"Reweight: lr = {diva.lr_:g} (x the largest first-step derivative, {1.0 / diva.step_scale_:.3g}), {diva.steps_} step(s)"
            + (f", chosen by {judge} error from lr_grid" + (f" x 1..{options['steps']} steps" if int(options["steps"]) > 1 else "") if diva.lr == "auto" else ""),
        ]
        lines = [
            f"- flagged at epsilon = {diva.epsilon:g}: {budget} samples, of which {int((flagged & mislabelled).sum())} mislabelled "
            f"(of {int(mislabelled.sum())} mislabelled in all)",
            f"- mean weight after Reweight: mislabelled {weights[mislabelled].mean() if mislabelled.any() else float('nan'):.3f}, "
            f"clean {weights[~mislabelled].mean() if (~mislabelled).any() else float('nan'):.3f}; "
            f"{int((weights == 0).sum())} samples reached weight 0",
            f"- LOO loss per Reweight step: {', '.join(f'{v:.1f}' for v in diva.loss_history_)}",
            f"- {judge} error (%) of the Reweight candidates: "
            + (", ".join(f"lr {eta:g} / {step} step(s): {err:.2f}" for (eta, step), err in diva.selection_errors_.items()) or "(fixed lr)"),
        ]
        if data.drop is not None:
            notes.append(
                f"drop_top drops the {data.drop.count} samples with the largest derivative (fraction {data.drop.fraction:g}"
                + (", chosen by leave-one-out error" if options["drop_fraction"] is None else "")
                + f") and refits with uniform weights; drop_top_oracle drops {int(mislabelled.sum())} (the number of flipped labels)"
            )
            lines.append(f"- {judge} error (%) after dropping the top fraction: " + ", ".join(f"{f:g}: {e:.2f}" for f, e in data.drop.errors.items()))
        sections["Detection and reweighting"] = "\n".join(lines)
    if data.cleanlab_missing:
        notes.append("cleanlab is not installed: its row is empty (pip install cleanlab)")
    if ctx.dataset != "features":  # the paper's experiment in small; a user's embeddings get no paper wording
        sections["Paper (Fig. 3 right, 20% noise, ResNet-34 ImageNet features; other datasets)"] = "| dataset | F1 (eps = 0) | AUC |\n|---|---|---|\n" + "\n".join(
            f"| {name} | {f1:.2f} | {auc:.2f} |" for name, (f1, auc) in PAPER_DETECTION.items()
        )
    if not data.have_noise:
        notes.append("no mislabelled samples (or only mislabelled ones): detection metrics are null")

    figures = []
    if ctx.make_figures and data.have_noise and diva is not None:
        figures.append(_detection_figure(ctx, diva, data, results))
    notes.append(f"run took {time.perf_counter() - data.started:.1f} s")
    return Report(figures=figures, notes=notes, sections=sections)


def _detection_figure(ctx: RunContext, diva: DIVA, data: SeedData, results: Mapping[str, Any]) -> Path:
    from sklearn.metrics import roc_curve

    derivative, weights, mislabelled = diva.derivative_, diva.weights_, data.mislabelled
    fig, axes = new_figure(1, 3, figsize=(14, 4))
    bins = np.linspace(derivative.min(), derivative.max(), 60)
    axes[0].hist(derivative[~mislabelled], bins=bins, alpha=0.6, label="clean")
    axes[0].hist(derivative[mislabelled], bins=bins, alpha=0.6, label="mislabelled")
    axes[0].axvline(diva.epsilon, color="k", linestyle="--", linewidth=1)
    axes[0].set(title="dL_LOO / dalpha_i at alpha = 1", xlabel="dataset derivative", ylabel="samples")
    axes[0].legend()
    for name, scores in data.scores.items():
        fpr, tpr, _ = roc_curve(mislabelled, scores)
        axes[1].plot(fpr, tpr, label=f"{name} ({results[name]['auroc_mislabeled']:.3f})")
    axes[1].plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    axes[1].set(title="mislabelled-sample detection (ROC)", xlabel="false positive rate", ylabel="true positive rate")
    axes[1].legend(fontsize=8)
    wbins = np.linspace(0, max(weights.max(), 1.0), 40)
    axes[2].hist(weights[~mislabelled], bins=wbins, alpha=0.6, label="clean")
    axes[2].hist(weights[mislabelled], bins=wbins, alpha=0.6, label="mislabelled")
    axes[2].set(title=f"weights after {diva.steps_} Reweight step(s), lr {diva.lr_:g}", xlabel="alpha", ylabel="samples")
    axes[2].legend()
    return save_figure(fig, ctx.out_dir / "diva_detection.png")


# ------------------------------------------------------------------------------------------ declaration
EXPERIMENT = Experiment(
    estimator=DIVA,
    run_options=RunOptions,
    load=load,
    models={name: make_cleanlab if name == "cleanlab" else make_diva for name in MODELS},
    evaluate=evaluate,
    dataset_options=DATASET_OPTIONS,
    quick=lambda dataset: QUICK.get(dataset, QUICK["digits"]),
    report=report,
    check=check_options,
)
