"""``iclr22 run idgbench``: every model family on the four splits of dSprites, scored by R² (in %).

Default data: the procedural dSprites renderer (offline, seeded). With ``--data-dir`` pointing at a folder
holding the official ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` the images come from the archive
instead; a folder holding the official Zenodo split files (``dsprites_<split>_<train|test>_<images|labels>.npz``)
gives the official splits.

One model of the harness is one family (:class:`~iclr22.idgbench.estimator.FactorRegressor`); it is trained
afresh on each split (a clone per split), and its row holds every split's scores.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.results import markdown_table, new_figure, save_figure
from iclr22.core.training import progress
from iclr22.idgbench.benchmark import Benchmark, SplitData, load_official_split
from iclr22.idgbench.estimator import FactorRegressor, fit_and_score
from iclr22.idgbench.model import MODEL_FAMILIES, ModelFamily
from iclr22.idgbench.splits import COMPOSITION_TEST_FRACTION, SPLIT_KINDS, SplitKind, SplitRule
from iclr22.idgbench.synthetic import DSpritesArchiveImages

__all__ = ["EXPERIMENT", "RunOptions", "figures_from_records", "split_row"]

#: The official README leaderboard (extrapolation split, mean R² in %); these models are not trained here.
PAPER_LEADERBOARD = {"pcl": {"r2_extrapolation": 66.7}, "densenet121": {"r2_extrapolation": 64.4}}

OFFICIAL_ARCHIVE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


@dataclass
class RunOptions:
    """The benchmark run: which families, which splits, how many images.

    Args:
        models: Model families to train, in report order (mlp, cnn, coordconv, resnet, vit, betavae).
        splits: Split kinds to run.
        num_train: Training images drawn uniformly from each split's training cells.
        num_test: Test images drawn uniformly from each split's test cells.
        num_heldin: Unseen training-cell images per split, scored as the in-distribution reference (0: none).
        train_fraction: Share of the grid that is train in the random, interpolation and extrapolation splits.
        composition_test_fraction: Share of the grid in the composition split's test corner (20/49, the paper's Figure 2).
        split_factors: Factors held out by composition, interpolation and extrapolation (None: the dataset's).
        split_rule: How the splits are made: search (30 % train searched per factor) or supplementary (the paper's supplementary split code).
        test_ratio_per_factor: The supplementary rule's per-factor test share (None: the dataset's; split_rule=supplementary only).
    """

    models: list[ModelFamily] = field(default_factory=lambda: list(MODEL_FAMILIES))
    splits: list[SplitKind] = field(default_factory=lambda: list(SPLIT_KINDS))
    num_train: int = 20000
    num_test: int = 3000
    num_heldin: int = 1000
    train_fraction: float = 0.3
    composition_test_fraction: float = round(COMPOSITION_TEST_FRACTION, 4)
    split_factors: list[str] | None = None
    split_rule: SplitRule = "search"
    test_ratio_per_factor: float | None = None


@dataclass
class BenchmarkData:
    """One seed's data: the benchmark (its splits), each split's images, and what the report needs.

    Attributes:
        bench: The benchmark (splits drawn from ``ctx.seed``).
        splits: ``{kind: SplitData}`` in the order of the ``splits`` option.
        official: Whether the splits come from the official Zenodo files.
        only_scores: ``{(family, kind): {metric: value}}``: the single-OOD tables of the splits other than
            extrapolation (report.md only), filled by :func:`evaluate`.
    """

    bench: Benchmark
    splits: dict[str, SplitData]
    official: bool
    only_scores: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)


def check(ctx: RunContext, options: dict[str, Any]) -> None:
    """Cross-option rules and ranges, before any image is drawn; the estimator checks its own parameters."""
    if not options["splits"]:
        raise ConfigError(f"option 'splits': none given; choose from {', '.join(SPLIT_KINDS)}")
    for key in ("num_train", "num_test"):
        if options[key] < 1:
            raise ConfigError(f"option '{key}' must be a positive integer, got {options[key]}")
    if options["num_heldin"] < 0:
        raise ConfigError(f"option 'num_heldin' must be >= 0, got {options['num_heldin']}")
    ratio = options["test_ratio_per_factor"]
    if ratio is not None and not 0.0 < ratio < 1.0:
        raise ConfigError(f"option 'test_ratio_per_factor' must lie in (0, 1) (None: the dataset's), got {ratio}")
    if ratio is not None and options["split_rule"] != "supplementary":
        raise ConfigError("option 'test_ratio_per_factor' applies to split_rule=supplementary only; add --set split_rule=supplementary")
    if not ctx.dataset.startswith("dsprites") and ctx.data_dir is not None:
        raise ConfigError(f"dataset '{ctx.dataset}' is generated procedurally and takes no --data-dir")
    for family in options["models"]:
        _regressor(family, options, ctx)._check_params()


def _official_split_dir(data_dir: Path | None) -> Path | None:
    if data_dir is not None and (data_dir / "dsprites_random_train_labels.npz").is_file():
        return data_dir
    return None


def _benchmark(ctx: RunContext, options: dict[str, Any]) -> Benchmark:
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
        splits=options["splits"],
        num_train=options["num_train"],
        num_test=options["num_test"],
        num_heldin=options["num_heldin"],
        split_factors=options["split_factors"] or None,
        train_fraction=options["train_fraction"],
        composition_test_fraction=options["composition_test_fraction"],
        seed=ctx.seed,
        split_rule=options["split_rule"],
        test_ratio_per_factor=options["test_ratio_per_factor"],
    )


def _official_data(data_dir: Path, kind: str, options: dict[str, Any], seed: int) -> SplitData:
    official = load_official_split(data_dir, "dsprites", kind)
    rng = np.random.default_rng(seed)
    train = rng.permutation(len(official.train_classes))[: options["num_train"]]
    test = rng.permutation(len(official.test_classes))[: options["num_test"]]
    space = official.split.space
    return SplitData(official.split, official.train_images[train], space.normalize(official.train_classes[train]), official.test_images[test], official.test_classes[test])


def load(ctx: RunContext, options: dict[str, Any]) -> BenchmarkData:
    """Draw the splits of this seed and render (or read) their images."""
    bench = _benchmark(ctx, options)
    official_dir = _official_split_dir(ctx.data_dir) if ctx.dataset == "dsprites" else None
    splits = {kind: _official_data(official_dir, kind, options, ctx.seed) if official_dir else bench.data(kind) for kind in options["splits"]}
    return BenchmarkData(bench, splits, official_dir is not None)


def _regressor(family: str, options: dict[str, Any], ctx: RunContext) -> FactorRegressor:
    """One family's estimator with the run's hyperparameters (``family`` itself comes from ``models``)."""
    params = {name: options[name] for name in FactorRegressor().get_params() if name in options and name != "family"}
    return FactorRegressor(family=family, **params, seed=ctx.seed, device=ctx.device, verbose=ctx.verbose)


def _factory(family: str):
    def make(options: dict[str, Any], data: BenchmarkData, ctx: RunContext) -> FactorRegressor:
        return _regressor(family, options, ctx).set_params(checkpoint_dir=str(ctx.model_checkpoint_dir(family)))

    return make


def evaluate(family: str, model: FactorRegressor, data: BenchmarkData, ctx: RunContext, options: dict[str, Any]) -> dict[str, float]:
    """Train a clone of ``model`` on each split and score it: one row of R² (in %) over all splits."""
    space = data.bench.space
    row: dict[str, float] = {}
    started = time.perf_counter()
    for kind in progress(options["splits"], desc=family, total=len(options["splits"]), verbose=ctx.verbose):
        regressor = clone(model)
        if model.checkpoint_dir is not None:  # one folder per split: each split trains its own model
            regressor.set_params(checkpoint_dir=str(Path(model.checkpoint_dir) / kind))
        split_scores = fit_and_score(regressor, data.splits[kind])  # R² in %, as in the row
        row[f"r2_{kind}"] = split_scores["r2"]
        for name in space.metric_names:
            row[f"r2_{kind}_{name}"] = split_scores[f"r2_{name}"]
        for key in ("heldin", "ood_factor", "other_factors", "ood_factor_heldin", "other_factors_heldin"):
            if f"r2_{key}" in split_scores:
                row[f"r2_{kind}_{key}"] = split_scores[f"r2_{key}"]
        for key, value in split_scores.items():
            if key.startswith("r2_only_"):
                # the factor x factor table goes into the results (and docs/results.md) for the ranking
                # split, extrapolation, only; the other splits' tables are in report.md
                target = row if kind == "extrapolation" else data.only_scores.setdefault((family, kind), {})
                target[f"r2_{kind}_{key[len('r2_'):]}"] = value
    row["train_seconds"] = time.perf_counter() - started
    return row


def report(ctx: RunContext, options: dict[str, Any], data: BenchmarkData, results: dict, fitted: dict[str, FactorRegressor]) -> Report:
    """Figures, the per-factor tables, the split descriptions and the paper's leaderboard."""
    space = data.bench.space
    paper = PAPER_LEADERBOARD if ctx.dataset.startswith("dsprites") else {}
    figures = []
    if ctx.make_figures:
        if not data.official:
            figures.append(_plot_splits([data.bench.split(k) for k in options["splits"]], ctx.out_dir / "splits.png"))
        figures.append(_plot_r2_bars(results, options["splits"], ctx.out_dir / "r2_per_split.png"))
        if "extrapolation" in options["splits"]:
            figures.append(_plot_factor_heatmap(results, "extrapolation", space.metric_names, ctx.out_dir / "r2_extrapolation_per_factor.png"))

    split_descriptions = [
        f"- {split.split.describe()} (here: {len(split.train_images)} train / {len(split.test_images)} test images)" for split in data.splits.values()
    ]
    per_factor = {
        f"{family} / {kind}": {name: results[family][f"r2_{kind}_{name}"] for name in space.metric_names}
        for kind in options["splits"]
        for family in options["models"]
    }
    sections = {
        "Splits (IDGB-style, generated here)" if not data.official else "Splits (official files)": "\n".join(split_descriptions),
        "R² per factor (%)": markdown_table(per_factor),
    }

    def only_table(family: str, kind: str) -> dict[str, float]:
        return data.only_scores.get((family, kind)) or results[family]

    collapse = {
        f"{family} / {kind}, only {ood} OOD": {name: only_table(family, kind)[f"r2_{kind}_only_{ood}_ood_{name}"] for name in space.metric_names}
        for kind in options["splits"]
        for family in options["models"]
        for ood in space.metric_names
        if f"r2_{kind}_only_{ood}_ood_{ood}" in only_table(family, kind)
    }
    if collapse:
        sections["R² per factor (%) on test images where exactly one factor is out of distribution"] = markdown_table(collapse)
    if paper:
        sections["Paper leaderboard (dSprites, extrapolation, R² %)"] = (
            markdown_table(paper) + "\n\nThose models (PCL, DenseNet121 trained on the full 221k-image split) are not trained here."
        )
    source_note = "official split files" if data.official else ("official dSprites archive" if ctx.data_dir else f"procedural {ctx.dataset} renderer (seeded)")
    trainings = {family: model.training_config() for family, model in fitted.items()}
    notes = [
        f"images: {source_note}; {options['num_train']} train / {options['num_test']} test images per split drawn uniformly from the split's cells",
        "epochs (peak lr) per family: "
        + ", ".join(f"{f} {(t.vae_epochs or t.epochs) if f == 'betavae' else t.epochs} ({t.vae_lr if f == 'betavae' else t.lr:g})" for f, t in trainings.items())
        + f" (batch {options['batch_size']}); the beta-VAE's readout: {options['readout']}",
        "R² uses the variance of each factor over the full factor grid (official evaluator), so values can be negative",
    ]
    if paper:
        notes.append("paper numbers are the README leaderboard's best models (PCL, DenseNet121), not models trained here")
    # the same mean R² seen per split (one row per split, one column per family): the benchmark's finding is an
    # order between splits of one model, and these rows let `iclr22 demo` compare two of them (Demo compares rows)
    per_split = {split_row(kind): {f"r2_{family}": results[family][f"r2_{kind}"] for family in options["models"]} for kind in options["splits"]}
    return Report(figures=figures, notes=notes, sections=sections, paper=paper, results=per_split)


def split_row(kind: str) -> str:
    """The name of the derived results row holding every family's mean R² (%) on one split (``"random split"``)."""
    return f"{kind} split"


EXPERIMENT = Experiment(
    estimator=FactorRegressor,
    run_options=RunOptions,
    load=load,
    models={family: _factory(family) for family in MODEL_FAMILIES},
    evaluate=evaluate,
    # no budget layer: the estimator's defaults are the benchmark's CPU budget already (epochs="auto" and
    # lr="auto" give each family its tuned number of epochs and peak learning rate, FAMILY_EPOCHS / FAMILY_LR)
    quick={"models": ["cnn", "mlp"], "num_train": 600, "num_test": 400, "num_heldin": 200, "epochs": 1},
    report=report,
    check=check,
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
            "split_factors": [f for f in record["config"].get("split_factors") or [] if f] or None,
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
