"""``iclr22 run idgbench``: every model family on the four splits of dSprites, scored by R² (in %).

Default data: the procedural dSprites renderer (offline, seeded). With ``--data-dir`` pointing at a folder
holding the official ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` the images come from the archive
instead; a folder holding the official Zenodo split files (``dsprites_<split>_<train|test>_<images|labels>.npz``)
gives the official splits.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.core.results import markdown_table, new_figure, save_figure
from iclr22.core.training import progress
from iclr22.idgbench.benchmark import Benchmark, SplitData, load_official_split, score_split
from iclr22.idgbench.model import MODEL_FAMILIES
from iclr22.idgbench.render import DSpritesArchiveImages
from iclr22.idgbench.splits import COMPOSITION_TEST_FRACTION, SPLIT_KINDS, SPLIT_RULES
from iclr22.idgbench.train import FactorRegressor, TrainingConfig

DEFAULTS = {
    "models": list(MODEL_FAMILIES),
    "splits": list(SPLIT_KINDS),
    "num_train": 20000,
    "num_test": 3000,
    "num_heldin": 1000,
    "epochs": 0,
    "batch_size": 64,
    "lr": 0.0,
    "lr_schedule": "cosine",
    "vae_lr": 1e-3,
    "vae_epochs": 0,
    "beta": 4.0,
    "readout": "mlp",
    "train_fraction": 0.3,
    "composition_test_fraction": round(COMPOSITION_TEST_FRACTION, 4),
    "split_factors": [""],
    "split_rule": "search",
    "test_ratio_per_factor": 0.0,
}
QUICK = {"models": ["cnn", "mlp"], "num_train": 600, "num_test": 400, "num_heldin": 200, "epochs": 1}

#: Epochs over the ``num_train`` images per split when ``epochs`` is 0 (the default), chosen so that the whole
#: benchmark, six families x four splits, runs in under 30 minutes on a 2-core CPU. The CNN's shape regression
#: converges only after ~1,000-1,500 steps (docs/methods/idgbench.md, tuning), so the cheap MLP and CNN get 5
#: epochs (1,565 steps at batch 64); the ResNet reached 98 % random R² at 750 steps, so it gets 2 (626 steps).
#: The beta-VAE's latents hold shape only after ~1,000+ unsupervised steps (held-in R² 72 % after 626 steps,
#: 80-88 % after 1,565 depending on the seed of its sampling noise), so it gets 5.
FAMILY_EPOCHS = {"mlp": 5, "cnn": 5, "coordconv": 4, "resnet": 2, "vit": 3, "betavae": 5}
#: Peak Adam learning rate when ``lr`` is 0 (the default): 1e-3 (the CNN tuning) for every supervised
#: family except the ViT, which reached 89 % instead of 85 % held-in R² at 2e-3 (benchmarks/idgbench_family_tuning.py).
FAMILY_LR = {"mlp": 1e-3, "cnn": 1e-3, "coordconv": 1e-3, "resnet": 1e-3, "vit": 2e-3, "betavae": 1e-3}

#: The official README leaderboard (extrapolation split, mean R² in %); these models are not trained here.
PAPER_LEADERBOARD = {"pcl": {"r2_extrapolation": 66.7}, "densenet121": {"r2_extrapolation": 64.4}}

DATASETS = ("dsprites", "dsprites-rot90", "colour-shapes")
OFFICIAL_ARCHIVE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


def _check_config(config: dict) -> None:
    unknown = [m for m in config["models"] if m not in MODEL_FAMILIES]
    if unknown or not config["models"]:
        raise ConfigError(f"models: unknown {unknown or '(none given)'}; known: {', '.join(MODEL_FAMILIES)}")
    bad = [s for s in config["splits"] if s not in SPLIT_KINDS]
    if bad or not config["splits"]:
        raise ConfigError(f"splits: unknown {bad or '(none given)'}; known: {', '.join(SPLIT_KINDS)}")
    for key in ("num_train", "num_test", "batch_size"):
        if config[key] < 1:
            raise ConfigError(f"option '{key}' must be a positive integer, got {config[key]}")
    if config["lr"] < 0:
        raise ConfigError(f"option 'lr' must be >= 0 (0: each family's peak learning rate, {FAMILY_LR}), got {config['lr']}")
    if config["epochs"] < 0:
        raise ConfigError(f"option 'epochs' must be >= 0 (0: each family's budget, {FAMILY_EPOCHS}), got {config['epochs']}")
    if config["num_heldin"] < 0:
        raise ConfigError(f"option 'num_heldin' must be >= 0, got {config['num_heldin']}")
    if not 0.0 <= config["test_ratio_per_factor"] < 1.0:
        raise ConfigError(f"option 'test_ratio_per_factor' must lie in [0, 1) (0: the dataset's), got {config['test_ratio_per_factor']}")
    if config["test_ratio_per_factor"] and config["split_rule"] != "supplementary":
        raise ConfigError("option 'test_ratio_per_factor' applies to split_rule=supplementary only; add --set split_rule=supplementary")
    if config["vae_epochs"] < 0:
        raise ConfigError(f"option 'vae_epochs' must be >= 0 (0: same as epochs), got {config['vae_epochs']}")


def _official_split_dir(data_dir: Path | None) -> Path | None:
    if data_dir is not None and (data_dir / "dsprites_random_train_labels.npz").is_file():
        return data_dir
    return None


def _benchmark(ctx: RunContext, config: dict) -> Benchmark:
    source: object = ctx.dataset
    official_splits = ctx.dataset == "dsprites" and _official_split_dir(ctx.data_dir) is not None
    if ctx.dataset.startswith("dsprites") and ctx.data_dir is not None and not official_splits:
        if not (ctx.data_dir / OFFICIAL_ARCHIVE).is_file():
            files = "" if ctx.dataset != "dsprites" else " nor the official split files (dsprites_<split>_<train|test>_<images|labels>.npz)"
            raise DataError(
                f"{ctx.data_dir}: holds neither the official dSprites archive ({OFFICIAL_ARCHIVE}){files}; "
                "omit --data-dir to render dSprites procedurally"
            )
        source = DSpritesArchiveImages(ctx.data_dir / OFFICIAL_ARCHIVE, quarter_turn=ctx.dataset == "dsprites-rot90")
    return Benchmark(
        source,
        splits=config["splits"],
        num_train=config["num_train"],
        num_test=config["num_test"],
        num_heldin=config["num_heldin"],
        split_factors=[f for f in config["split_factors"] if f] or None,
        train_fraction=config["train_fraction"],
        composition_test_fraction=config["composition_test_fraction"],
        seed=ctx.seed,
        split_rule=config["split_rule"],
        test_ratio_per_factor=config["test_ratio_per_factor"] or None,
    )


def _official_data(data_dir: Path, kind: str, config: dict, seed: int) -> SplitData:
    official = load_official_split(data_dir, "dsprites", kind)
    rng = np.random.default_rng(seed)
    train = rng.permutation(len(official.train_classes))[: config["num_train"]]
    test = rng.permutation(len(official.test_classes))[: config["num_test"]]
    space = official.split.space
    return SplitData(official.split, official.train_images[train], space.normalize(official.train_classes[train]), official.test_images[test], official.test_classes[test])


def run(ctx: RunContext) -> ExperimentResult:
    config = ctx.config(DEFAULTS, quick=QUICK, choices={"lr_schedule": ["cosine", "constant"], "readout": ["mlp", "linear"], "split_rule": list(SPLIT_RULES)})
    _check_config(config)
    if ctx.dataset not in DATASETS:
        raise ConfigError(f"idgbench knows datasets {', '.join(DATASETS)}, got '{ctx.dataset}'")
    if not ctx.dataset.startswith("dsprites") and ctx.data_dir is not None:
        raise ConfigError(f"dataset '{ctx.dataset}' is generated procedurally and takes no --data-dir")
    bench = _benchmark(ctx, config)
    official_dir = _official_split_dir(ctx.data_dir) if ctx.dataset == "dsprites" else None
    paper = PAPER_LEADERBOARD if ctx.dataset.startswith("dsprites") else {}
    space = bench.space
    trainings = {family: _training_config(family, config, ctx.device) for family in config["models"]}
    # checkpoints are kept per (dataset, data folder, options, each family's resolved training): a rerun with
    # other options never resumes them, and a rerun with the same ones resumes every finished epoch
    run_identity = {"dataset": ctx.dataset, "data_dir": str(ctx.data_dir), **config, "training": {f: vars(t) for f, t in trainings.items()}}
    config_key = hashlib.sha1(json.dumps(run_identity, sort_keys=True).encode()).hexdigest()[:10]

    results: dict[str, dict[str, float]] = {m: {} for m in config["models"]}
    timings: dict[str, float] = {m: 0.0 for m in config["models"]}
    only_scores: dict[tuple[str, str], dict[str, float]] = {}
    split_descriptions = []
    for kind in config["splits"]:
        data = _official_data(official_dir, kind, config, ctx.seed) if official_dir else bench.data(kind)
        split_descriptions.append(f"- {data.split.describe()} (here: {len(data.train_images)} train / {len(data.test_images)} test images)")
        for family in progress(config["models"], desc=f"{kind} split", total=len(config["models"])):
            started = time.perf_counter()
            regressor = FactorRegressor(family, trainings[family], seed=ctx.seed, checkpoint_dir=ctx.checkpoint_dir / config_key / kind)
            regressor.fit(data.train_images, data.train_targets)
            heldin = regressor.predict(data.heldin_images) if data.heldin_images is not None else None
            split_scores = score_split(regressor.predict(data.test_images), data, heldin)
            timings[family] += time.perf_counter() - started
            row = results[family]
            row[f"r2_{kind}"] = 100.0 * split_scores["rsquared"]
            for name in space.metric_names:
                row[f"r2_{kind}_{name}"] = 100.0 * split_scores[f"rsquared_{name}"]
            for key in ("heldin", "ood_factor", "other_factors", "ood_factor_heldin", "other_factors_heldin"):
                if f"rsquared_{key}" in split_scores:
                    row[f"r2_{kind}_{key}"] = 100.0 * split_scores[f"rsquared_{key}"]
            for key, value in split_scores.items():
                if key.startswith("rsquared_only_"):
                    # the factor x factor table goes into the results (and docs/results.md) for the ranking
                    # split, extrapolation, only; the other splits' tables are in report.md
                    target = row if kind == "extrapolation" else only_scores.setdefault((family, kind), {})
                    target[f"r2_{kind}_{key[len('rsquared_'):]}"] = 100.0 * value
    for family in config["models"]:
        results[family]["train_seconds"] = timings[family]

    figures = []
    if ctx.make_figures:
        splits = [bench.split(k) for k in config["splits"]] if not official_dir else []
        if splits:
            figures.append(_plot_splits(splits, ctx.out_dir / "splits.png"))
        figures.append(_plot_r2_bars(results, config["splits"], ctx.out_dir / "r2_per_split.png"))
        if "extrapolation" in config["splits"]:
            figures.append(_plot_factor_heatmap(results, "extrapolation", space.metric_names, ctx.out_dir / "r2_extrapolation_per_factor.png"))

    per_factor = {
        f"{family} / {kind}": {name: results[family][f"r2_{kind}_{name}"] for name in space.metric_names}
        for kind in config["splits"]
        for family in config["models"]
    }
    sections = {
        "Splits (IDGB-style, generated here)" if not official_dir else "Splits (official files)": "\n".join(split_descriptions),
        "R² per factor (%)": markdown_table(per_factor),
    }

    def only_table(family: str, kind: str) -> dict[str, float]:
        return only_scores.get((family, kind)) or results[family]

    collapse = {
        f"{family} / {kind}, only {ood} OOD": {name: only_table(family, kind)[f"r2_{kind}_only_{ood}_ood_{name}"] for name in space.metric_names}
        for kind in config["splits"]
        for family in config["models"]
        for ood in space.metric_names
        if f"r2_{kind}_only_{ood}_ood_{ood}" in only_table(family, kind)
    }
    if collapse:
        sections["R² per factor (%) on test images where exactly one factor is out of distribution"] = markdown_table(collapse)
    if paper:
        sections["Paper leaderboard (dSprites, extrapolation, R² %)"] = (
            markdown_table(paper) + "\n\nThose models (PCL, DenseNet121 trained on the full 221k-image split) are not trained here."
        )
    source_note = (
        "official split files"
        if official_dir
        else ("official dSprites archive" if ctx.data_dir else f"procedural {ctx.dataset} renderer (seeded)")
    )
    notes = [
        f"images: {source_note}; {config['num_train']} train / {config['num_test']} test images per split drawn uniformly from the split's cells",
        "epochs (peak lr) per family: "
        + ", ".join(f"{f} {(t.vae_epochs or t.epochs) if f == 'betavae' else t.epochs} ({t.vae_lr if f == 'betavae' else t.lr:g})" for f, t in trainings.items())
        + f" (batch {config['batch_size']}); the beta-VAE's readout: {config['readout']}",
        "R² uses the variance of each factor over the full factor grid (official evaluator), so values can be negative",
    ]
    if paper:
        notes.append("paper numbers are the README leaderboard's best models (PCL, DenseNet121), not models trained here")
    return ExperimentResult(results=results, paper=paper, config=config, figures=figures, notes=notes, sections=sections)


def _training_config(family: str, config: dict, device: str) -> TrainingConfig:
    """One family's optimisation settings: the shared options, its epoch budget and peak learning rate."""
    epochs = config["epochs"] or FAMILY_EPOCHS[family]
    return TrainingConfig(
        epochs=epochs,
        batch_size=config["batch_size"],
        lr=config["lr"] or FAMILY_LR[family],
        lr_schedule=config["lr_schedule"],
        vae_lr=config["vae_lr"],
        vae_epochs=config["vae_epochs"] or None,
        beta=config["beta"],
        readout=config["readout"],
        device=device,
    )


def figures_from_records(record_paths, out_dir: str | Path) -> list[Path]:
    """The benchmark's figures for several recorded runs together (e.g. the per-family reproductions).

    ``iclr22 reproduce idgbench`` records one JSON per model family (each fits the shared CPU lock); this
    merges their ``results`` and draws ``splits.png``, ``r2_per_split.png`` and
    ``r2_extrapolation_per_factor.png`` for all families at once::

        python -c "import glob; from iclr22.idgbench.experiment import figures_from_records; \
            figures_from_records(sorted(glob.glob('docs/results/idgbench/dsprites-rot90-*.json')), 'docs/results/idgbench')"

    Raises:
        DataError: a record that is not an idgbench run, or records on different datasets.
    """
    results: dict[str, dict[str, float]] = {}
    datasets, splits, split_options = set(), None, {}
    for path in record_paths:
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a readable results record ({exc})") from None
        if record.get("method") != "idgbench":
            raise DataError(f"{path}: not an idgbench record (method {record.get('method')!r})")
        datasets.add(record["dataset"])
        splits = splits or record["config"]["splits"]
        # draw the splits the record was made with (records from before an option existed use its default)
        split_options = split_options or {
            "split_factors": [f for f in record["config"].get("split_factors", []) if f] or None,
            "train_fraction": record["config"].get("train_fraction", 0.3),
            "composition_test_fraction": record["config"].get("composition_test_fraction", COMPOSITION_TEST_FRACTION),
            "split_rule": record["config"].get("split_rule", "search"),
            "test_ratio_per_factor": record["config"].get("test_ratio_per_factor") or None,
        }
        results.update(record["results"])
    if len(datasets) != 1:
        raise DataError(f"records come from {len(datasets)} datasets {sorted(datasets)}; give the records of one")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bench = Benchmark(datasets.pop(), splits=splits, **split_options)
    order = [m for m in MODEL_FAMILIES if m in results]
    results = {m: results[m] for m in order}
    figures = [_plot_splits([bench.split(k) for k in splits], out / "splits.png"), _plot_r2_bars(results, splits, out / "r2_per_split.png")]
    if "extrapolation" in splits:
        figures.append(_plot_factor_heatmap(results, "extrapolation", bench.space.metric_names, out / "r2_extrapolation_per_factor.png"))
    return figures


def _plot_splits(splits, path: Path) -> Path:
    """One column per split, train cells black and test cells red, in the plane of the last two split factors.

    The two rows fix the first split factor at its smallest and largest value (dSprites: the x/y-position
    plane at the smallest and the largest scale); the colour averages over all remaining factors.
    """
    space = splits[0].space
    factors = next((s.split_factors for s in splits if len(s.split_factors) >= 3), ("scale", "x-position", "y-position"))
    row_k, x_k, y_k = (space.factor_index(f) for f in (factors[0], factors[-2], factors[-1]))
    fig, axes = new_figure(2, len(splits), figsize=(3.0 * len(splits), 6.0), squeeze=False)
    for col, split in enumerate(splits):
        grid = split.train_mask.reshape(space.sizes)
        for row, fixed in enumerate((0, space.sizes[row_k] - 1)):
            plane = np.take(grid, fixed, axis=row_k)
            kept = [i for i in range(space.num_factors) if i != row_k]
            share = plane.mean(axis=tuple(j for j, i in enumerate(kept) if i not in (x_k, y_k)))
            if kept.index(x_k) > kept.index(y_k):
                share = share.T
            rgb = np.stack([1.0 - share, np.zeros_like(share), np.zeros_like(share)], axis=-1)  # train black, test red
            ax = axes[row][col]
            ax.imshow(np.transpose(rgb, (1, 0, 2)), origin="lower", interpolation="nearest", aspect="auto")
            ax.set_title(f"{split.kind}\n{space.names[row_k]} = {fixed}", fontsize=9)
            ax.set_xlabel(space.names[x_k])
            ax.set_ylabel(space.names[y_k])
    return save_figure(fig, path)


def _plot_r2_bars(results, kinds, path: Path) -> Path:
    fig, ax = new_figure(figsize=(1.8 + 1.6 * len(kinds), 3.6))
    models = list(results)
    width = 0.8 / max(len(models), 1)
    positions = np.arange(len(kinds))
    for i, model in enumerate(models):
        values = [results[model][f"r2_{k}"] for k in kinds]
        ax.bar(positions + (i - (len(models) - 1) / 2) * width, values, width, label=model)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(positions)
    ax.set_xticklabels(kinds)
    ax.set_ylabel("R² (%)")
    ax.set_ylim(min(-10.0, min(results[m][f"r2_{k}"] for m in models for k in kinds) - 5), 105)
    ax.legend(fontsize=8, ncol=min(3, len(models)))
    return save_figure(fig, path)


def _plot_factor_heatmap(results, kind: str, factor_names, path: Path) -> Path:
    models = list(results)
    values = np.array([[results[m][f"r2_{kind}_{f}"] for f in factor_names] for m in models])
    fig, ax = new_figure(figsize=(1.2 * len(factor_names) + 2, 0.5 * len(models) + 1.5))
    image = ax.imshow(np.clip(values, -100, 100), cmap="RdYlGn", vmin=-100, vmax=100, aspect="auto")
    for i in range(len(models)):
        for j in range(len(factor_names)):
            ax.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(factor_names)))
    ax.set_xticklabels(factor_names, rotation=30, ha="right")
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels(models)
    ax.set_title(f"R² (%) per factor, {kind} split")
    fig.colorbar(image, ax=ax)
    return save_figure(fig, path)
