"""``iclr22 run trajshap``: train three predictors, measure them with and without neighbours, and
attribute their performance to the target's past, each neighbour and a random agent (the paper's
Fig. 4-6 bars and Table 1).

Datasets:
    sim        (default) the seeded two-regime simulator; rows ``cv``, ``lstm``, ``interaction`` are the
               social regime, ``*_alone`` the regime where agents ignore each other.
    ethucy     ETH/UCY, leave-one-scene-out (``--set test_scene=eth|hotel|univ|zara1|zara2``).
    trajfiles  ``DIR/train/*.txt``, ``DIR/test/*.txt`` (optional ``DIR/val/*.txt``), rows
               ``frame agent_id x y [type]``; ``--set context_types=BALL`` makes those agents neighbours only.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.core.results import new_figure, save_figure
from iclr22.trajshap.attribution import METRICS, REMOVALS, Attributions, TrajectoryShapley
from iclr22.trajshap.model import ConstantVelocity, InteractionPredictor, LSTMPredictor
from iclr22.data.trajectories import load_ethucy, load_trajectory_folder
from iclr22.trajshap.scenes import SceneBatch, build_samples
from iclr22.trajshap.shapley import ESTIMATORS
from iclr22.trajshap.simulate import REGIMES, simulate_scenes
from iclr22.trajshap.train import evaluate_predictor, fit_predictor, position_scale

DEFAULTS: dict[str, Any] = {
    # samples (the paper: 8 observed, 12 predicted steps; Trajectron++ pedestrian radius 3 m)
    "obs_len": 8,
    "pred_len": 12,
    "radius": 3.0,
    "max_neighbours": 16,
    "test_scene": "eth",
    "context_types": [],
    "max_train_samples": 0,
    # predictors
    "models": ["cv", "lstm", "interaction"],
    "modes": 20,
    "hidden": 64,
    # Trajectron++ trains a fixed number of epochs; we do too and keep the best validation state
    # (patience 0 = no early stopping): the interaction model's validation error plateaus for several
    # epochs before it learns to read its neighbours, and early stopping cut it off there.
    "epochs": 40,
    "batch_size": 256,
    "lr": 2e-3,
    "patience": 0,
    "wta_weight": 1.0,
    "augment": True,
    # attribution
    "metric": "ade",
    "removal": "zero",
    "estimator": "auto",
    "max_exact_players": 12,
    "num_permutations": 64,
    "banzhaf": True,
    "banzhaf_coalitions": 10,
    "shapley_samples": 300,
    "random_agent": True,
    # simulator
    "sim_regimes": ["social", "alone"],
    "sim_train_scenes": 60,
    "sim_val_scenes": 10,
    "sim_test_scenes": 20,
    "sim_frames": 40,
}

QUICK: dict[str, Any] = {
    "epochs": 2,
    "hidden": 32,
    "modes": 6,
    "max_train_samples": 800,
    "shapley_samples": 30,
    "num_permutations": 16,
    "sim_train_scenes": 4,
    "sim_val_scenes": 2,
    "sim_test_scenes": 2,
}

CHOICES = {"metric": METRICS, "removal": REMOVALS, "estimator": ESTIMATORS}

#: Paper, Table 1 (second-hand, see docs/methods/trajshap.md): Trajectron++ on ETH-UCY, best-of-20, metres.
PAPER_ETHUCY = {"interaction": {"ade": 0.30, "fde": 0.51, "ade_no_neighbours": 0.31, "fde_no_neighbours": 0.52}}

MODEL_NAMES = ("cv", "lstm", "interaction")


def _load_splits(ctx: RunContext, cfg: dict[str, Any]) -> dict[str, tuple[SceneBatch, SceneBatch | None, SceneBatch]]:
    """``{suffix: (train, val, test)}``: one split per simulator regime, one for real data."""
    cut = dict(obs_len=cfg["obs_len"], pred_len=cfg["pred_len"], radius=cfg["radius"], max_neighbours=cfg["max_neighbours"])
    if ctx.dataset == "sim":
        regimes = list(cfg["sim_regimes"])
        unknown = [r for r in regimes if r not in REGIMES]
        if unknown or not regimes:
            raise ConfigError(f"sim_regimes must name some of {', '.join(REGIMES)}, got {regimes}")
        splits = {}
        for k, regime in enumerate(regimes):
            base = 1000 * ctx.seed + 10 * k
            make = lambda n, off: build_samples(simulate_scenes(n, regime, seed=base + off, num_frames=cfg["sim_frames"]), **cut)  # noqa: E731
            suffix = "" if regime == "social" else f"_{regime}"
            splits[suffix] = (make(cfg["sim_train_scenes"], 1), make(cfg["sim_val_scenes"], 2), make(cfg["sim_test_scenes"], 3))
        return splits
    root = ctx.require_data_dir("ETH/UCY all_data/ train/ val/" if ctx.dataset == "ethucy" else "train/*.txt and test/*.txt")
    if ctx.dataset == "ethucy":
        scenes = load_ethucy(root, cfg["test_scene"])
    elif ctx.dataset == "trajfiles":
        scenes = load_trajectory_folder(root)
        cut["context_types"] = [str(t) for t in cfg["context_types"]]
    else:
        raise ConfigError(f"trajshap does not know dataset {ctx.dataset!r}")
    train = build_samples(scenes.train, **cut)
    test = build_samples(scenes.test, **cut)
    val = build_samples(scenes.val, **cut, require_samples=False) if scenes.val else None
    if val is None or len(val) == 0:  # hold out a tenth of the training samples
        order = np.random.default_rng(ctx.seed).permutation(len(train))
        held = max(1, len(train) // 10)
        val, train = train.index(order[:held]), train.index(order[held:])
    return {"": (train, val, test)}


def _subsample(batch: SceneBatch, limit: int, seed: int) -> SceneBatch:
    if limit <= 0 or len(batch) <= limit:
        return batch
    return batch.index(np.sort(np.random.default_rng(seed).choice(len(batch), limit, replace=False)))


def _make_model(name: str, cfg: dict[str, Any], scale: float) -> torch.nn.Module:
    if name == "cv":
        return ConstantVelocity(cfg["pred_len"], cfg["modes"])
    if name == "lstm":
        return LSTMPredictor(cfg["pred_len"], cfg["modes"], cfg["hidden"], scale)
    if name == "interaction":
        return InteractionPredictor(cfg["pred_len"], cfg["modes"], cfg["hidden"], scale)
    raise ConfigError(f"unknown model {name!r} in models; choose from {', '.join(MODEL_NAMES)}")


def _explain(model: torch.nn.Module, train: SceneBatch, explained: SceneBatch, cfg: dict[str, Any], seed: int, estimator: str) -> Attributions:
    explainer = TrajectoryShapley(
        model,
        metric=cfg["metric"] if cfg["metric"] != "nll" or not isinstance(model, ConstantVelocity) else "ade",
        removal=cfg["removal"],
        estimator=estimator,
        random_agent=cfg["random_agent"],
        max_exact_players=cfg["max_exact_players"],
        num_permutations=cfg["num_permutations"],
        num_coalitions=cfg["banzhaf_coalitions"],
        seed=seed,
    )
    return explainer.fit(train).explain(explained)


def run(ctx: RunContext) -> ExperimentResult:
    cfg = ctx.config(DEFAULTS, quick=QUICK, choices=CHOICES)
    for name in cfg["models"]:
        if name not in MODEL_NAMES:
            raise ConfigError(f"unknown model {name!r} in models; choose from {', '.join(MODEL_NAMES)}")
    if cfg["shapley_samples"] < 1:
        raise ConfigError(f"shapley_samples must be at least 1, got {cfg['shapley_samples']}")
    splits = _load_splits(ctx, cfg)
    # checkpoints are named by the options that shape training, so a rerun with other options never resumes a stale model
    config_tag = hashlib.sha1(json.dumps({k: cfg[k] for k in sorted(cfg)}, default=str).encode()).hexdigest()[:10]
    results: dict[str, dict[str, float | None]] = {}
    attributions: dict[str, Attributions] = {}
    tests: dict[str, SceneBatch] = {}
    notes: list[str] = []
    timings: list[str] = []
    for suffix, (train, val, test) in splits.items():
        train = _subsample(train, cfg["max_train_samples"], ctx.seed)
        explained = _subsample(test, cfg["shapley_samples"], ctx.seed + 1)
        scale = position_scale(train)
        label = suffix.lstrip("_") or ("social" if ctx.dataset == "sim" else ctx.dataset)
        notes.append(
            f"{label}: {len(train)} training, {len(val) if val is not None else 0} validation and {len(test)} test samples "
            f"(mean {float(test.num_neighbours.float().mean()):.2f} neighbours within radius {cfg['radius']:g}); "
            f"attributions on {len(explained)} test samples."
        )
        for name in cfg["models"]:
            key = name + suffix
            torch.manual_seed(ctx.seed)
            model = _make_model(name, cfg, scale)
            started = time.perf_counter()
            if name != "cv":
                fit_predictor(
                    model,
                    train,
                    val,
                    epochs=cfg["epochs"],
                    batch_size=cfg["batch_size"],
                    lr=cfg["lr"],
                    patience=cfg["patience"],
                    augment=cfg["augment"],
                    wta_weight=cfg["wta_weight"],
                    checkpoint_path=ctx.checkpoint_dir / f"{key}-{config_tag}.pt",
                    seed=ctx.seed,
                    desc=f"train {key}",
                )
            model.eval()
            trained = time.perf_counter()
            with_nb = evaluate_predictor(model, test)
            without_nb = evaluate_predictor(model, test, without_neighbours=True)
            row: dict[str, float | None] = {
                "ade": with_nb["ade"],
                "fde": with_nb["fde"],
                "ade_no_neighbours": without_nb["ade"],
                "fde_no_neighbours": without_nb["fde"],
                "nll": with_nb.get("nll"),
            }
            shap = _explain(model, train, explained, cfg, ctx.seed, cfg["estimator"])
            summary = shap.summary()
            row.update({"shap_past": summary["past"], "shap_interaction": summary["interaction"], "shap_random": summary.get("random")})
            if cfg["banzhaf"]:
                official = _explain(model, train, explained, cfg, ctx.seed, "banzhaf").summary()
                row.update({"banzhaf_past": official["past"], "banzhaf_interaction": official["interaction"], "banzhaf_random": official.get("random")})
            results[key] = row
            attributions[key] = shap
            tests[key] = explained
            timings.append(f"{key}: train {trained - started:.0f} s, attribution {time.perf_counter() - trained:.0f} s ({shap.estimators_used})")
    metric_name = {"ade": "minADE", "fde": "minFDE", "nll": "NLL"}[cfg["metric"]]
    if cfg["metric"] == "nll" and "cv" in cfg["models"]:
        notes.append("cv has no likelihood: its attributions use minADE while the other models' use NLL.")
    notes.append(
        f"Attribution values are in {metric_name} units ({cfg['removal']} removal, {cfg['estimator']} estimator): phi > 0 means the "
        f"input lowers the error. shap_interaction is the max over a sample's real neighbours (0 without neighbours), "
        f"banzhaf_* the official code's Bernoulli(1/2) estimator with {cfg['banzhaf_coalitions']} coalitions per player."
    )
    figures: list[Path] = []
    if ctx.make_figures:
        # figure paths relative to the output folder, so report.md links work wherever it is read from
        _plot_bars(results, attributions, ctx.out_dir / "attribution_bars.png", metric_name)
        figures.append(Path("attribution_bars.png"))
        scene_key = next((k for k in ("interaction", *results) if k in attributions), None)
        if scene_key is not None:
            if _plot_scene(attributions[scene_key], tests[scene_key], ctx.out_dir / f"scene_{scene_key}.png", scene_key) is not None:
                figures.append(Path(f"scene_{scene_key}.png"))
    paper = PAPER_ETHUCY if ctx.dataset == "ethucy" else {}
    if paper:
        notes.append("Paper cells are Table 1's Trajectron++ averaged over the 5 ETH-UCY scenes (second-hand); ours is one held-out scene.")
    sections = {"Attribution (dataset means)": _attribution_table(results), "Timings": "\n".join(f"- {t}" for t in timings)}
    return ExperimentResult(results=results, paper=paper, config=cfg, figures=figures, notes=notes, sections=sections)


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
