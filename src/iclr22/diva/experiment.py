"""DIVA's experiments on CPU-sized data: mislabelled-sample detection (Fig. 3) and Reweight (Table 1).

One run, for one seed:

1. Load the dataset and split it into a training and a test set (seeded); embed both with a fixed feature
   map standing in for the paper's frozen ImageNet ResNet, which cannot be had offline: random Fourier
   features of the pixels (``rff``), or a small CNN pre-trained on a third, disjoint and cleanly labelled
   split and frozen (``cnn``); ``features`` data are used as given.
2. Flip ``noise`` of the training labels to a different class, uniformly (seeded), unless the data bring
   their own ``y_train_clean``.
3. Detection: the LOO dataset derivative at ``alpha = 1`` ranks the training samples (AUROC against the
   noise mask) and flags ``dL/dalpha_i >= epsilon`` (F1). Baselines: the squared training loss of the
   same ridge model (``loss_rank``), its self-influence (Koh & Liang, 2017; ``influence``) and cleanlab's
   confident learning (``cleanlab``, when installed).
4. Reweight: test error of the ridge with uniform weights (``uniform``), after dropping the top-ranked
   samples (``drop_top``) and after DIVA Reweight (``diva``). What the paper leaves open is chosen on the
   training set alone, by the same rule for both: the leave-one-out classification error against the
   (noisy) labels picks DIVA's step size (one step by default, see DEFAULTS) and drop_top's number of
   dropped samples.
   ``drop_top_oracle`` drops exactly as many samples as were flipped (it is told the noise rate).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.core.results import new_figure, save_figure
from iclr22.diva.model import RandomFourierFeatures, WeightedRidgeSystem
from iclr22.diva.train import DIVA, loo_error

DEFAULTS: dict[str, Any] = {
    "noise": 0.1,  # fraction of training labels flipped to another class
    "features": "rff",  # rff | cnn | pixels | identity
    "num_features": 1024,  # random Fourier features
    "train_size": 1000,  # 0: all training rows the dataset offers
    "test_size": 0,  # 0: all remaining / all test rows
    "reg": None,  # ridge lambda; None: chosen by leave-one-out
    # DIVA Reweight steps (with lr=auto: at most this many, the count chosen by LOO error). One step: the paper
    # notes that the objective is an unbiased estimate of the test loss only at the first step (docs/methods/diva.md).
    "steps": 1,
    "lr": "auto",  # Reweight step size in units of the largest first-step derivative; auto: from lr_grid by LOO error
    "lr_grid": [0.5, 1.0, 2.0],
    "loss": "mse",  # mse (LQF) | ce
    "epsilon": 0.0,  # detrimental threshold for F1
    "drop_fraction": None,  # drop_top baseline: fraction of samples dropped; None: from drop_grid by LOO error
    "drop_grid": [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3],
    "cleanlab_folds": 5,
    "backbone_size": 3000,  # features=cnn: images (disjoint from train/test, clean labels) to pre-train on
    "backbone_epochs": 6,
    "backbone_dim": 128,
}

#: Per-dataset sizes: the full runs, and the ``--quick`` shrinkage.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"train_size": 1000, "num_features": 1024, "backbone_size": 500},
    "mnist": {"train_size": 5000, "test_size": 5000, "num_features": 2048},
    "cifar10": {"train_size": 5000, "test_size": 5000, "num_features": 2048},
    "features": {"features": "identity", "train_size": 0},
}
QUICK: dict[str, dict[str, Any]] = {
    "digits": {"train_size": 500, "num_features": 256, "backbone_size": 400, "backbone_epochs": 3},
    "mnist": {"train_size": 1000, "test_size": 1000, "num_features": 512, "backbone_size": 1000, "backbone_epochs": 2},
    "cifar10": {"train_size": 1000, "test_size": 1000, "num_features": 512, "backbone_size": 1000, "backbone_epochs": 2},
    "features": {},
}
CHOICES = {"features": ["rff", "cnn", "pixels", "identity"], "loss": ["mse", "ce"]}

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


def embed(data: dict[str, Any], config: dict[str, Any], seed: int, checkpoint_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """The fixed feature map ("backbone") applied to the training and test sets.

    ``identity``: the data as given; ``pixels``: the flattened pixels in [0, 1]; ``rff``: random Fourier
    features of them; ``cnn``: the penultimate features of :class:`~iclr22.diva.backbone.SmallConvNet`
    pre-trained on the disjoint, cleanly labelled backbone split and frozen (the paper's setting in small).
    """
    x_train, x_test = data["x_train"], data["x_test"]
    if config["features"] == "identity":
        return x_train, x_test, f"the given {x_train.shape[1]}-d features"
    if config["features"] == "cnn":
        from iclr22.diva.backbone import extract_features, pretrain_backbone

        num_classes = int(max(data["y_backbone"].max(), data["y_train"].max(), data["y_test"].max())) + 1
        name = f"backbone-n{len(data['y_backbone'])}-e{config['backbone_epochs']}-d{config['backbone_dim']}.pt"
        net = pretrain_backbone(
            data["x_backbone"], data["y_backbone"], num_classes, epochs=int(config["backbone_epochs"]),
            feature_dim=int(config["backbone_dim"]), seed=seed, checkpoint_path=checkpoint_dir / name if checkpoint_dir else None,
        )
        f_train, f_test = extract_features(net, x_train), extract_features(net, x_test)
        with torch.no_grad():
            from iclr22.diva.backbone import as_image_batch

            own_error = 100.0 * float((net(as_image_batch(x_test)).argmax(1).numpy() != data["y_test"]).mean())
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
    feature_map = RandomFourierFeatures(z_train.shape[1], int(config["num_features"]), bandwidth, generator)
    with torch.no_grad():
        f_train = feature_map(torch.as_tensor(z_train)).numpy()
        f_test = feature_map(torch.as_tensor(z_test)).numpy()
    return f_train, f_test, f"{config['num_features']} random Fourier features (bandwidth {bandwidth:.3g}, the median distance) of the pixels scaled to [0, 1]"


# ------------------------------------------------------------------------------------------- baselines
def ridge_scores(features: np.ndarray, labels: np.ndarray, classes: np.ndarray, reg: float) -> tuple[np.ndarray, np.ndarray]:
    """Loss-ranking and self-influence scores of the uniformly weighted ridge (the model DIVA linearises).

    ``loss_i = ||y_i - w^T z_i||^2`` (training loss) and Koh & Liang's self-influence
    ``grad l_i^T H^{-1} grad l_i``, which for the ridge is ``2 z_i^T C z_i ||r_i||^2``.
    """
    z = torch.as_tensor(np.c_[features, np.ones(len(features))], dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(classes, labels)), len(classes)).double()
    system = WeightedRidgeSystem(z, torch.ones(len(z), dtype=torch.float64), reg)
    residual_sq = ((y - system.fitted(y)) ** 2).sum(1)
    return residual_sq.numpy(), (2.0 * system.leverage() * residual_sq).numpy()


def cleanlab_scores(features: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """cleanlab's confident learning on cross-validated logistic-regression probabilities, or ``None``.

    Returns ``(flagged_mask, score)``, score = 1 - self-confidence (higher = more suspicious).
    """
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    _, codes = np.unique(labels, return_inverse=True)  # cleanlab wants labels 0..K-1
    classifier = LogisticRegression(max_iter=500)
    pred_probs = cross_val_predict(classifier, features, codes, cv=folds, method="predict_proba")
    flagged = cleanlab_find(codes, pred_probs)
    return np.asarray(flagged, dtype=bool), 1.0 - get_label_quality_scores(codes, pred_probs)


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
    """Test error in percent."""
    return 100.0 * (1.0 - model.score(features, labels))


def ridge_test_error(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, like: DIVA, test_features: np.ndarray, test_labels: np.ndarray) -> float:
    """Test error (percent) of the weighted ridge with ``like``'s lambda and classes, refit on ``weights``."""
    design = lambda x: torch.as_tensor(np.c_[x, np.ones(len(x))], dtype=torch.float64)  # noqa: E731
    targets = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(like.classes_, labels)), len(like.classes_)).double()
    coef = WeightedRidgeSystem(design(features), torch.as_tensor(weights, dtype=torch.float64), like.reg_).coef(targets)
    predicted = like.classes_[(design(test_features) @ coef).argmax(1).numpy()]
    return 100.0 * float((predicted != test_labels).mean())


# ------------------------------------------------------------------------------------------------ run
def run(ctx: RunContext) -> ExperimentResult:
    from sklearn.metrics import roc_auc_score, roc_curve

    dataset_defaults = DATASET_DEFAULTS.get(ctx.dataset, {})
    config = ctx.config({**DEFAULTS, **dataset_defaults}, quick=QUICK.get(ctx.dataset, {}), choices=CHOICES)
    for key in ("steps", "num_features", "cleanlab_folds"):
        if config[key] < (0 if key == "steps" else 1):
            raise ConfigError(f"option '{key}' must be positive, got {config[key]}")
    lr: float | str = config["lr"]
    if lr != "auto":
        try:
            lr = float(lr)
        except ValueError as exc:
            raise ConfigError(f"option 'lr' must be a number or 'auto', got {config['lr']!r}") from exc
    drop_grid = [float(v) for v in config["drop_grid"]]
    if not drop_grid or not all(0 < v < 1 for v in drop_grid):
        raise ConfigError(f"option 'drop_grid' must hold fractions in (0, 1), got {config['drop_grid']}")
    rng = np.random.default_rng(ctx.seed)
    started = time.perf_counter()

    data = load_splits(ctx, config, rng)
    x_train, x_test, feature_note = embed(data, config, ctx.seed, ctx.checkpoint_dir)
    y_true = data["y_train"]
    if data["y_train_clean"] is not None:
        y_train, mislabelled = y_true, y_true != data["y_train_clean"]
        noise_note = f"mislabelled samples: {int(mislabelled.sum())} given by y_train_clean"
    else:
        y_train, mislabelled = inject_label_noise(y_true, float(config["noise"]), rng, int(max(y_true.max(), data["y_test"].max())) + 1)
        noise_note = f"{int(mislabelled.sum())} of {len(y_train)} training labels flipped to another class ({config['noise']:.0%} symmetric noise)"
    have_noise = 0 < mislabelled.sum() < len(mislabelled)

    # DIVA: lambda by LOO, derivative of L_LOO at alpha = 1, then Reweight.
    diva = DIVA(
        reg=config["reg"] if config["reg"] is not None else "auto", steps=int(config["steps"]), lr=lr,
        lr_grid=[float(v) for v in config["lr_grid"]], loss=config["loss"], epsilon=float(config["epsilon"]),
    )
    fit_started = time.perf_counter()
    x_val, y_val = data.get("x_val"), data.get("y_val")
    if x_val is not None and config["features"] != "identity":
        x_val, y_val = None, None  # the feature map is fitted to train/test only; keep the LOO objective
    diva.fit(x_train, y_train, X_val=x_val, y_val=y_val)
    fit_seconds = time.perf_counter() - fit_started
    derivative = diva.derivative_
    flagged = derivative >= diva.epsilon
    budget = int(flagged.sum())

    # drop_top: drop the k samples with the largest derivative and refit with uniform weights; k is chosen
    # like DIVA's step size, by the leave-one-out error on the training set (a dropped sample is predicted
    # by the model without it) or the validation error. drop_top_oracle is told the number of flipped labels.
    ranking = np.argsort(-derivative, kind="stable")

    def kept_after_dropping(count: int) -> np.ndarray:
        kept = np.ones(len(y_train))
        kept[ranking[:count]] = 0.0
        return kept

    if config["drop_fraction"] is not None:
        drop_counts = {float(config["drop_fraction"]): int(round(float(config["drop_fraction"]) * len(y_train)))}
    else:
        drop_counts = {fraction: int(round(fraction * len(y_train))) for fraction in drop_grid}
    def selection_error(kept: np.ndarray) -> float:
        """The rule that chose DIVA's step size: validation error when DIVA used a validation set, else LOO error."""
        if diva.objective_ == "val":
            refit = DIVA(reg=diva.reg_, steps=0).fit(x_train, y_train, sample_weight=kept)
            return 100.0 * (1.0 - refit.score(x_val, y_val))
        return loo_error(x_train, y_train, kept, reg=diva.reg_)

    drop_errors = {fraction: selection_error(kept_after_dropping(count)) for fraction, count in drop_counts.items()}
    drop_fraction = min(drop_errors, key=drop_errors.__getitem__)
    n_drop = drop_counts[drop_fraction]
    n_oracle = int(mislabelled.sum())

    loss_scores, influence_scores = ridge_scores(x_train, y_train, diva.classes_, diva.reg_)
    detection = {"diva": derivative, "loss_rank": loss_scores, "influence": influence_scores}
    flagged_sets = {"diva": flagged, "loss_rank": top_k_mask(loss_scores, budget), "influence": top_k_mask(influence_scores, budget)}
    notes = [
        f"features: {feature_note}; {noise_note}",
        f"objective: {'the validation loss (Prop. 2)' if diva.objective_ == 'val' else 'the leave-one-out loss (Prop. 3)'}; "
        f"lambda = {diva.reg_:.4g} chosen by leave-one-out; DIVA fit (lambda search, derivative, Reweight and its step-size choice) took {fit_seconds:.2f} s",
        f"diva flags {budget} samples at epsilon = {diva.epsilon:g}; loss_rank and influence are scored at the same budget (their top {budget})",
        f"Reweight: lr = {diva.lr_:g} (x the largest first-step derivative, {1.0 / diva.step_scale_:.3g}), {diva.steps_} step(s)"
        + (f", chosen by {'validation' if diva.objective_ == 'val' else 'leave-one-out'} error from lr_grid"
           + (f" x 1..{config['steps']} steps" if int(config["steps"]) > 1 else "") if lr == "auto" else ""),
        f"drop_top drops the {n_drop} samples with the largest derivative (fraction {drop_fraction:g}"
        + (", chosen by leave-one-out error" if config["drop_fraction"] is None else "")
        + f") and refits with uniform weights; drop_top_oracle drops {n_oracle} (the number of flipped labels)",
    ]
    cleanlab = cleanlab_scores(x_train, y_train, int(config["cleanlab_folds"]), ctx.seed)
    if cleanlab is None:
        notes.append("cleanlab is not installed: its row is skipped (pip install cleanlab)")
    else:
        flagged_sets["cleanlab"], detection["cleanlab"] = cleanlab

    results: dict[str, dict[str, float | None]] = {}
    for name, scores in detection.items():
        auroc = float(roc_auc_score(mislabelled, scores)) if have_noise else None
        results[name] = {"auroc_mislabeled": auroc, "f1_mislabeled": f1_score(flagged_sets[name], mislabelled) if have_noise else None}
    results["diva"]["test_error"] = test_error(diva, x_test, data["y_test"])
    results["uniform"] = {"test_error": ridge_test_error(x_train, y_train, np.ones(len(y_train)), diva, x_test, data["y_test"])}
    results["drop_top"] = {"test_error": ridge_test_error(x_train, y_train, kept_after_dropping(n_drop), diva, x_test, data["y_test"])}
    results["drop_top_oracle"] = {"test_error": ridge_test_error(x_train, y_train, kept_after_dropping(n_oracle), diva, x_test, data["y_test"])}
    if not have_noise:
        notes.append("no mislabelled samples (or only mislabelled ones): detection metrics are null")

    weights = diva.weights_
    sections = {
        "Detection and reweighting": "\n".join(
            [
                f"- flagged at epsilon = {diva.epsilon:g}: {budget} samples, of which {int((flagged & mislabelled).sum())} mislabelled "
                f"(of {int(mislabelled.sum())} mislabelled in all)",
                f"- mean weight after Reweight: mislabelled {weights[mislabelled].mean() if mislabelled.any() else float('nan'):.3f}, "
                f"clean {weights[~mislabelled].mean() if (~mislabelled).any() else float('nan'):.3f}; "
                f"{int((weights == 0).sum())} samples reached weight 0",
                f"- LOO loss per Reweight step: {', '.join(f'{v:.1f}' for v in diva.loss_history_)}",
                f"- {'validation' if diva.objective_ == 'val' else 'leave-one-out'} error (%) of the Reweight candidates: "
                + (", ".join(f"lr {eta:g} / {step} step(s): {err:.2f}" for (eta, step), err in diva.selection_errors_.items()) or "(fixed lr)"),
                f"- {'validation' if diva.objective_ == 'val' else 'leave-one-out'} error (%) after dropping the top fraction: " + ", ".join(f"{f:g}: {e:.2f}" for f, e in drop_errors.items()),
            ]
        ),
        "Paper (Fig. 3 right, 20% noise, ResNet-34 ImageNet features; other datasets)": "| dataset | F1 (eps = 0) | AUC |\n|---|---|---|\n"
        + "\n".join(f"| {name} | {f1:.2f} | {auc:.2f} |" for name, (f1, auc) in PAPER_DETECTION.items()),
    }

    figures = []
    if ctx.make_figures and have_noise:
        fig, axes = new_figure(1, 3, figsize=(14, 4))
        bins = np.linspace(derivative.min(), derivative.max(), 60)
        axes[0].hist(derivative[~mislabelled], bins=bins, alpha=0.6, label="clean")
        axes[0].hist(derivative[mislabelled], bins=bins, alpha=0.6, label="mislabelled")
        axes[0].axvline(diva.epsilon, color="k", linestyle="--", linewidth=1)
        axes[0].set(title="dL_LOO / dalpha_i at alpha = 1", xlabel="dataset derivative", ylabel="samples")
        axes[0].legend()
        for name, scores in detection.items():
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
        figures.append(save_figure(fig, ctx.out_dir / "diva_detection.png"))

    notes.append(f"run took {time.perf_counter() - started:.1f} s")
    return ExperimentResult(results=results, paper={}, config=config, figures=figures, notes=notes, sections=sections)
