"""``iclr22 run trajshap``: train three predictors, measure them with and without neighbours, and
attribute their performance to the target's past, each neighbour and a random agent (the paper's
Fig. 4-6 bars and Table 1).

Datasets:
    sim        (default) the seeded two-regime simulator; rows ``cv``, ``lstm``, ``interaction`` are the
               social regime, ``*_alone`` the regime where agents ignore each other.
    ethucy     ETH/UCY, leave-one-scene-out (``--set test_scene=eth|hotel|univ|zara1|zara2``).
    trajfiles  ``DIR/train/*.txt``, ``DIR/test/*.txt`` (optional ``DIR/val/*.txt``), rows
               ``frame agent_id x y [type]``; ``--set context_types=BALL`` makes those agents neighbours only.

The hyperparameters are :class:`~iclr22.trajshap.estimator.TrajectoryShapley`'s (the attribution) and
:class:`~iclr22.trajshap.estimator.TrajectoryPredictor`'s (the predictors); :class:`RunOptions` adds the
data and which predictors to run. Each model of ``models`` is trained and explained on every split of the
data (one per simulator regime); the rows of the regimes after the social one are added by the report.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from iclr22.core.errors import ConfigError
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.options import options_of
from iclr22.core.results import new_figure, save_figure
from iclr22.data.trajectories import load_ethucy, load_trajectory_folder
from iclr22.trajshap.estimator import ARCHITECTURES, Architecture, Attributions, TrajectoryPredictor, TrajectoryShapley
from iclr22.trajshap.scenes import SceneBatch, build_samples, hold_out, neighbourhood_warning
from iclr22.trajshap.synthetic import Regime, simulate_scenes

#: Paper, Table 1 (second-hand, see docs/methods/trajshap.md): Trajectron++ on ETH-UCY, best-of-20, metres.
PAPER_ETHUCY = {"interaction": {"ade": 0.30, "fde": 0.51, "ade_no_neighbours": 0.31, "fde_no_neighbours": 0.52}}

#: The predictors of the table, in the order they are run by default.
MODEL_NAMES = ARCHITECTURES


@dataclass
class RunOptions:
    """The run options of ``iclr22 run trajshap`` (the samples, the simulator, what is explained).

    Args:
        models: Predictors to train and analyse: cv, lstm, interaction.
        obs_len: Observed steps per sample (the paper: 8).
        pred_len: Predicted steps per sample (the paper: 12).
        radius: Neighbourhood radius in the data's unit (Trajectron++'s pedestrian radius: 3 m).
        max_neighbours: At most this many neighbours per sample, nearest first.
        test_scene: The held-out ETH/UCY scene (dataset ethucy): eth, hotel, univ, zara1 or zara2.
        context_types: Agent types that are neighbours only, never targets (dataset trajfiles).
        max_train_samples: Subsample the training samples to this many (0: all).
        shapley_samples: Test samples explained (a seeded subset); the prediction metrics use all.
        banzhaf: Also run the official code's Banzhaf estimator (the banzhaf_* metrics).
        sim_regimes: Simulator regimes: social (rows cv, lstm, interaction) and alone (rows *_alone).
        sim_train_scenes: Simulated training scenes per regime.
        sim_val_scenes: Simulated validation scenes per regime.
        sim_test_scenes: Simulated test scenes per regime.
        sim_frames: Frames per simulated scene.
    """

    models: list[Architecture] = field(default_factory=lambda: list(MODEL_NAMES))
    obs_len: int = 8
    pred_len: int = 12
    radius: float = 3.0
    max_neighbours: int = 16
    test_scene: str = "eth"
    context_types: list[str] = field(default_factory=list)
    max_train_samples: int = 0
    shapley_samples: int = 300
    banzhaf: bool = True
    sim_regimes: list[Regime] = field(default_factory=lambda: ["social", "alone"])
    sim_train_scenes: int = 60
    sim_val_scenes: int = 10
    sim_test_scenes: int = 20
    sim_frames: int = 40


@dataclass
class Split:
    """One train / validation / test split, and the test samples that are explained."""

    label: str
    suffix: str
    train: SceneBatch
    val: SceneBatch | None
    test: SceneBatch
    explained: SceneBatch


@dataclass
class Data:
    """One seed's splits and, filled by :func:`fit_and_score`, every row, attribution and timing."""

    splits: list[Split]
    notes: list[str]
    rows: dict[str, dict[str, float | None]] = field(default_factory=dict)
    attributions: dict[str, Attributions] = field(default_factory=dict)
    timings: dict[str, str] = field(default_factory=dict)


def check(ctx: RunContext, options: dict[str, Any]) -> None:
    """Rules across options, before any data is read."""
    for name, lowest in (("obs_len", 2), ("pred_len", 1), ("max_neighbours", 0), ("max_train_samples", 0), ("shapley_samples", 1)):
        if options[name] < lowest:
            raise ConfigError(f"option '{name}' must be at least {lowest}, got {options[name]}")
    if ctx.dataset == "sim":
        if "social" not in options["sim_regimes"]:
            raise ConfigError(f"sim_regimes must include 'social' (its rows are cv, lstm, interaction; the alone regime's are *_alone), got {options['sim_regimes']}")
        for name in ("sim_train_scenes", "sim_val_scenes", "sim_test_scenes", "sim_frames"):
            if options[name] < 1:
                raise ConfigError(f"option '{name}' must be at least 1, got {options[name]}")


def _splits(ctx: RunContext, options: dict[str, Any]) -> list[tuple[str, str, SceneBatch, SceneBatch | None, SceneBatch, str | None]]:
    """``(label, suffix, train, val, test, warning)``: one split per simulator regime, one for real data; ``warning``
    about the test samples' neighbourhood, or ``None``."""
    cut = dict(obs_len=options["obs_len"], pred_len=options["pred_len"], radius=options["radius"], max_neighbours=options["max_neighbours"])
    if ctx.dataset == "sim":
        splits = []
        for k, regime in enumerate(dict.fromkeys(options["sim_regimes"])):
            base = 1000 * ctx.seed + 10 * k
            make = lambda n, off: build_samples(simulate_scenes(n, regime, seed=base + off, num_frames=options["sim_frames"]), **cut)  # noqa: E731
            suffix = "" if regime == "social" else f"_{regime}"
            # no neighbourhood warning: the alone regime is sparse on purpose (its walkers ignore each other)
            splits.append((regime, suffix, make(options["sim_train_scenes"], 1), make(options["sim_val_scenes"], 2), make(options["sim_test_scenes"], 3), None))
        return splits
    root = ctx.require_data_dir("ETH/UCY all_data/ train/ val/" if ctx.dataset == "ethucy" else "train/*.txt and test/*.txt")
    if ctx.dataset == "ethucy":
        scenes = load_ethucy(root, options["test_scene"])
    elif ctx.dataset == "trajfiles":
        scenes = load_trajectory_folder(root)
        cut["context_types"] = [str(t) for t in options["context_types"]]
    else:
        raise ConfigError(f"trajshap does not know dataset {ctx.dataset!r}")
    train = build_samples(scenes.train, **cut)
    test = build_samples(scenes.test, **cut)
    val = build_samples(scenes.val, **cut, require_samples=False) if scenes.val else None
    if val is None or len(val) == 0:  # hold out a tenth of the training samples
        train, val = hold_out(train, ctx.seed)
    # on the user's files a nearly empty neighbourhood is most often a radius in the wrong unit
    warning = neighbourhood_warning(test, options["radius"], scenes.test) if ctx.dataset == "trajfiles" else None
    return [(ctx.dataset, "", train, val, test, warning)]


def _subsample(batch: SceneBatch, limit: int, seed: int) -> SceneBatch:
    if limit <= 0 or len(batch) <= limit:
        return batch
    return batch.index(np.sort(np.random.default_rng(seed).choice(len(batch), limit, replace=False)))


def load_data(ctx: RunContext, options: dict[str, Any]) -> Data:
    """The splits of one seed, the training samples subsampled and the explained test samples drawn."""
    splits, notes = [], []
    for label, suffix, train, val, test, warning in _splits(ctx, options):
        train = _subsample(train, options["max_train_samples"], ctx.seed)
        explained = _subsample(test, options["shapley_samples"], ctx.seed + 1)
        notes.append(
            f"{label}: {len(train)} training, {len(val) if val is not None else 0} validation and {len(test)} test samples "
            f"(mean {float(test.num_neighbours.float().mean()):.2f} neighbours within radius {options['radius']:g}); "
            f"attributions on {len(explained)} test samples."
        )
        if warning is not None:
            notes.append(f"**Warning:** {warning}.")
            warnings.warn(warning, UserWarning, stacklevel=1)
        splits.append(Split(label, suffix, train, val, test, explained))
    return Data(splits, notes)


_PREDICTOR_OPTIONS = [name for name in options_of(TrajectoryPredictor) if name != "architecture"]
_SHAPLEY_OPTIONS = [name for name in options_of(TrajectoryShapley) if name != "predictor"]


def _predictor(architecture: str):
    def make(options: dict[str, Any], data: Data, ctx: RunContext) -> TrajectoryPredictor:
        return TrajectoryPredictor(architecture, **{k: options[k] for k in _PREDICTOR_OPTIONS}, seed=ctx.seed)

    return make


def _explain(predictor: TrajectoryPredictor, split: Split, options: dict[str, Any], seed: int, estimator: str) -> Attributions:
    params = {k: options[k] for k in _SHAPLEY_OPTIONS}
    if params["metric"] == "nll" and predictor.architecture == "cv":  # no likelihood: minADE instead
        params["metric"] = "ade"
    explainer = TrajectoryShapley(predictor, **{**params, "estimator": estimator}, seed=seed, device=predictor.device, verbose=predictor.verbose)
    return explainer.fit(split.train).explain(split.explained)


def fit_and_score(name: str, model: TrajectoryPredictor, data: Data, ctx: RunContext, options: dict[str, Any]) -> dict[str, float | None]:
    """Train ``model`` on every split, score it with and without neighbours, and explain it; returns the
    row of the first (social / real-data) split, the others' rows go to ``data.rows``."""
    for k, split in enumerate(data.splits):
        key = name + split.suffix
        predictor = model if k == 0 else clone(model)
        predictor.set_params(checkpoint_dir=str(ctx.model_checkpoint_dir(name) / split.label))
        started = time.perf_counter()
        predictor.fit(split.train, X_val=split.val)
        trained = time.perf_counter()
        with_nb = predictor.evaluate(split.test)
        without_nb = predictor.evaluate(split.test, without_neighbours=True)
        row: dict[str, float | None] = {
            "ade": with_nb["ade"],
            "fde": with_nb["fde"],
            "ade_no_neighbours": without_nb["ade"],
            "fde_no_neighbours": without_nb["fde"],
            "nll": with_nb.get("nll"),
        }
        shap = _explain(predictor, split, options, ctx.seed, options["estimator"])
        summary = shap.summary()
        row.update({"shap_past": summary["past"], "shap_interaction": summary["interaction"], "shap_random": summary.get("random")})
        if options["banzhaf"]:
            official = _explain(predictor, split, options, ctx.seed, "banzhaf").summary()
            row.update({"banzhaf_past": official["past"], "banzhaf_interaction": official["interaction"], "banzhaf_random": official.get("random")})
        data.rows[key] = row
        data.attributions[key] = shap
        data.timings[key] = f"{key}: train {trained - started:.0f} s, attribution {time.perf_counter() - trained:.0f} s ({shap.estimators_used})"
    return data.rows[name]  # check() makes the first row the social regime's (suffix "")


def report(ctx: RunContext, options: dict[str, Any], data: Data, results: dict[str, dict[str, float | None]], fitted: dict[str, Any]) -> Report:
    """The other regimes' rows, the notes, the attribution table and the figures."""
    order = [name + split.suffix for split in data.splits for name in options["models"]]
    table = {key: data.rows[key] for key in order}
    attributions = {key: data.attributions[key] for key in order}
    explained = {name + split.suffix: split.explained for split in data.splits for name in options["models"]}
    notes = list(data.notes)
    metric_name = {"ade": "minADE", "fde": "minFDE", "nll": "NLL"}[options["metric"]]
    if options["metric"] == "nll" and "cv" in options["models"]:
        notes.append("cv has no likelihood: its attributions use minADE while the other models' use NLL.")
    coordinates = "your files' coordinate unit" if ctx.dataset == "trajfiles" else "metres"
    notes.append(
        f"Units: ade, fde and their *_no_neighbours are in {coordinates} (best of {options['modes']} predicted trajectories); "
        f"nll in nats per predicted step. Every attribution (shap_*, banzhaf_*) is the drop in {metric_name} "
        f"({'nats per step' if options['metric'] == 'nll' else coordinates}) that the input brings "
        f"({options['removal']} removal, {options['estimator']} estimator): phi > 0 means the input lowers the error. "
        f"shap_interaction is the max over a sample's real neighbours (0 without neighbours); banzhaf_* are Banzhaf values "
        f"from {options['num_coalitions']} random coalitions per player (each other input present with probability 1/2), "
        f"a second estimator beside the Shapley values."
    )
    figures: list[Path] = []
    if ctx.make_figures:
        # figure paths relative to the output folder, so report.md links work wherever it is read from
        _plot_bars(table, attributions, ctx.out_dir / "attribution_bars.png", metric_name)
        figures.append(Path("attribution_bars.png"))
        scene_key = next((k for k in ("interaction", *table) if k in attributions), None)
        if scene_key is not None:
            if _plot_scene(attributions[scene_key], explained[scene_key], ctx.out_dir / f"scene_{scene_key}.png", scene_key) is not None:
                figures.append(Path(f"scene_{scene_key}.png"))
    paper = PAPER_ETHUCY if ctx.dataset == "ethucy" else {}
    if paper:
        notes.append("Paper cells are Table 1's Trajectron++ averaged over the 5 ETH-UCY scenes (second-hand); ours is one held-out scene.")
    sections = {"Attribution (dataset means)": _attribution_table(table), "Timings": "\n".join(f"- {data.timings[k]}" for k in order)}
    extra = {key: row for key, row in table.items() if key not in results}
    return Report(figures=figures, notes=notes, sections=sections, paper=paper, results=extra)


EXPERIMENT = Experiment(
    estimator=TrajectoryShapley,
    run_options=RunOptions,
    load=load_data,
    models={name: _predictor(name) for name in MODEL_NAMES},
    evaluate=fit_and_score,
    # no budget: the estimators' defaults are the settings of the records (40 epochs, 300 explained samples)
    quick={
        "epochs": 2,
        "hidden": 32,
        "modes": 6,
        "max_train_samples": 800,
        "shapley_samples": 30,
        "num_permutations": 16,
        "sim_train_scenes": 4,
        "sim_val_scenes": 2,
        "sim_test_scenes": 2,
    },
    report=report,
    extra_options=[TrajectoryPredictor],
    check=check,
)


def _attribution_table(results: dict[str, dict[str, float | None]]) -> str:
    lines = [
        "| model | phi past | phi interaction | phi random | interaction / past | ADE | ADE without neighbours |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        past, inter, rand = row.get("shap_past"), row.get("shap_interaction"), row.get("shap_random")
        ratio = f"{inter / past:.1%}" if past and inter is not None and abs(past) > 1e-12 else "—"
        fmt = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
        lines.append(f"| {key} | {fmt(past)} | {fmt(inter)} | {fmt(rand)} | {ratio} | {fmt(row['ade'])} | {fmt(row['ade_no_neighbours'])} |")
    return "\n".join(lines)


def _plot_bars(results: dict[str, dict[str, float | None]], attributions: dict[str, Attributions], path: Path, unit: str) -> Path:
    """The paper's bar plot: mean phi of past / interaction / random per model, with standard errors."""
    keys = list(attributions)
    fig, ax = new_figure(figsize=(max(5, 1.4 * len(keys) + 2), 3.6))
    width = 0.26
    for j, (part, colour) in enumerate((("past", "tab:blue"), ("interaction", "tab:orange"), ("random", "tab:gray"))):
        means, errs = [], []
        for key in keys:
            values = getattr(attributions[key], part)
            values = values[np.isfinite(values)]
            means.append(values.mean() if values.size else 0.0)
            errs.append(values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0)
        ax.bar(np.arange(len(keys)) + (j - 1) * width, means, width, yerr=errs, label=part, color=colour, capsize=2)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(np.arange(len(keys)), keys, rotation=20)
    ax.set_ylabel(f"mean Shapley value ({unit} gained)")
    ax.set_title("What the predictors use")
    ax.legend(frameon=False)
    return save_figure(fig, path)


def _plot_scene(attr: Attributions, batch: SceneBatch, path: Path, key: str) -> Path | None:
    """One scene: the target's past and future, and each neighbour's last steps drawn as an arrow whose
    width shows its Shapley value (the paper's local attribution figure)."""
    counts = batch.num_neighbours.numpy()
    if counts.max() == 0:
        return None
    i = int(np.argmax(np.where(counts > 0, attr.interaction, -np.inf)))
    fig, ax = new_figure(figsize=(5, 5))
    past, future = batch.past[i].numpy(), batch.future[i].numpy()
    ax.plot(past[:, 0], past[:, 1], "o-", color="tab:red", ms=3, label=f"target past (phi={attr.past[i]:.3f})")
    future = np.concatenate([past[-1:], future])
    ax.plot(future[:, 0], future[:, 1], "--", color="tab:red", alpha=0.6, label="target future")
    values = attr.neighbour_values(i)
    biggest = max(np.abs(values).max(), 1e-9)
    real = np.flatnonzero(batch.neighbour_mask[i].numpy() > 0)
    for value, j in zip(values, real):
        track = batch.neighbours[i, j].numpy()
        colour = "tab:green" if value >= 0 else "tab:purple"
        ax.plot(track[:, 0], track[:, 1], "-", color=colour, alpha=0.5, lw=1)
        start, end = track[-4], track[-1]  # its motion over the last observed steps
        if np.linalg.norm(end - start) < 1e-6:
            ax.plot(*end, "o", color=colour, ms=3 + 6 * abs(value) / biggest)
        else:
            style = "-|>,head_width=0.25,head_length=0.5"
            ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle=style, color=colour, lw=0.5 + 5 * abs(value) / biggest, mutation_scale=12))
        ax.text(end[0], end[1], f"{value:+.3f}", fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{key}: neighbour Shapley values (green helps)")
    ax.legend(fontsize=7, frameon=False, loc="best")
    return save_figure(fig, path)
