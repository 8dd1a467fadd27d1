"""The paper's experiment (Tables 2, 3 and 10): accuracy on isolated, tail and head nodes, and the FCR.

One run: row-normalise the features (the official loader's ``T.NormalizeFeatures()``; ``feature_norm``),
build the degree split (isolated nodes lose all their edges, for training and testing alike),
train GCN, GraphSAGE, MLP, GraphMLP, the GCN+SE teacher and the Cold Brew student on the same graph and
labels, select every model on validation accuracy, and report accuracy (%) on the evaluation nodes
(every labelled node outside train and validation) of each split. The FCR (eq. 5) comes from the
teacher, the MLP and label propagation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.coldbrew.datasets import load_planetoid_graph, make_cold_start_graph, row_normalize
from iclr22.coldbrew.model import NORMS, mean_adjacency
from iclr22.coldbrew.splits import LABEL_SPLITS, SPLIT_RULES, degree_split, label_split
from iclr22.coldbrew.train import (
    ColdBrew,
    TrainSettings,
    accuracy,
    feature_contribution_ratio,
    fit_graphmlp,
    fit_mlp,
    fit_sage,
    fit_teacher,
    label_propagation_predict,
    validate_graph,
)

MODELS = ("gcn", "sage", "mlp", "graphmlp", "gcn_se", "coldbrew")

DEFAULTS: dict[str, Any] = {
    # splits
    "split": "paper",  # "paper" (10% / 10% / 10%) or "official" (iterated medians)
    "split_fraction": 0.1,
    "label_split": "auto",  # auto: first_n on cora and synthetic (official code), public masks elsewhere
    "num_train": 600,
    "num_val": 500,
    # features: "row" divides each row by its sum (the official loader's T.NormalizeFeatures()); "none" keeps them
    "feature_norm": "row",
    # teacher and GCN baseline
    "hidden": 64,
    "norm": "none",
    "dropout": 0.6,
    "se_reg": 0.1,
    "se_penalty": "squared",
    "lr": 0.005,
    "weight_decay": 5e-4,
    "epochs": 1500,
    "patience": 300,
    # student
    "student_hidden": 256,
    "student_layers": 2,
    "student_dropout": 0.5,
    "student_lr": 0.005,
    "student_epochs": 1500,
    "top_k": 3,
    "part2_input": "code",
    "part1_nodes": "non_isolated",
    "neighbor_pool": "all",
    # baselines
    "sage_dropout": 0.5,
    "mlp_hidden": 256,
    "graphmlp_tau": 1.0,
    "graphmlp_hops": 3,
    "graphmlp_reg": 10.0,
    "graphmlp_batch": 1000,
    "lp_layers": 50,
    "lp_alpha": None,  # None: chosen on validation from the paper's grid {0.01, 0.1, 0.5, 0.9, 0.99}
    "models": list(MODELS),
    # embedded synthetic graph
    "synthetic_nodes": 2000,
    "checkpoints": True,
    # CPU threads for torch (0: torch's default). One thread is fastest for graphs of this size on a
    # shared machine: with two threads and a busy second core, every kernel waits for its partner.
    "threads": 1,
}

QUICK: dict[str, Any] = {
    "epochs": 50,
    "student_epochs": 50,
    "patience": 25,
    "synthetic_nodes": 500,
    "num_train": 150,
    "num_val": 100,
    "lp_layers": 10,
    "graphmlp_batch": 300,
}

CHOICES = {
    "split": SPLIT_RULES,
    "feature_norm": ("row", "none"),
    "label_split": LABEL_SPLITS,
    "norm": NORMS,
    "se_penalty": ("squared", "norm"),
    "part2_input": ("code", "paper"),
    "part1_nodes": ("non_isolated", "train"),
    "neighbor_pool": ("all", "non_isolated", "train"),
}

# The official code's per-dataset settings (reset_dataset_dependent_parameters), applied before --set.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "citeseer": {"hidden": 256},
    "pubmed": {"hidden": 256, "dropout": 0.5},
}

# Paper Table 3 / Table 10 (accuracy %) and Table 2 (FCR %), columns Cora, Citeseer, Pubmed.
_PAPER_COLUMNS = ("cora", "citeseer", "pubmed")
_PAPER_ROWS = {
    "gcn": {"acc_isolated": (58.02, 47.09, 71.50), "acc_tail": (84.54, 56.51, 74.95), "acc_head": (88.68, 80.37, 85.79), "acc_overall": (84.89, 70.38, 78.18)},
    "sage": {"acc_isolated": (66.02, 51.46, 69.87), "acc_tail": (82.82, 52.77, 73.07), "acc_head": (87.75, 74.81, 86.94), "acc_overall": (80.90, 66.21, 76.73)},
    "mlp": {"acc_isolated": (68.40, 53.26, 65.84), "acc_tail": (70.76, 54.85, 67.21), "acc_head": (74.33, 72.00, 89.00), "acc_overall": (69.02, 56.59, 73.51)},
    "graphmlp": {"acc_isolated": (65.00, 52.82, 71.22), "acc_tail": (70.09, 55.56, 71.45), "acc_head": (72.45, 69.83, 89.00), "acc_overall": (71.87, 68.22, 82.03)},
    "gcn_se": {"acc_isolated": (58.37, 47.78, 73.85), "acc_tail": (84.66, 56.32, 75.33), "acc_head": (89.39, 80.76, 87.83), "acc_overall": (86.96, 72.44, 79.03)},
    "coldbrew": {"acc_isolated": (69.62, 53.17, 72.33), "acc_tail": (71.80, 54.88, 72.54), "acc_head": (74.53, 72.33, 90.33), "acc_overall": (72.36, 67.54, 82.00)},
    "lp": {"acc_overall": (78.18, 45.00, 67.8)},
    "dataset": {"fcr": (32.86, 63.39, 76.91)},
}


def paper_numbers(dataset: str) -> dict[str, dict[str, float]]:
    """The paper's cells for ``dataset`` (empty for datasets outside its tables)."""
    if dataset not in _PAPER_COLUMNS:
        return {}
    column = _PAPER_COLUMNS.index(dataset)
    return {model: {metric: values[column] for metric, values in row.items()} for model, row in _PAPER_ROWS.items()}


def load_graph(ctx: RunContext, config: dict[str, Any]):
    """The run's graph: the seeded synthetic one, or Planetoid files from ``ctx.data_dir``."""
    if ctx.data_dir is None:
        if ctx.dataset != "synthetic":
            raise ConfigError(f"dataset '{ctx.dataset}' needs --data-dir")
        # The graph itself is fixed (seed 0) so that runs differ only in splits and initialisation.
        return make_cold_start_graph(num_nodes=config["synthetic_nodes"], seed=0)
    data_dir = ctx.require_data_dir(f"Planetoid files ind.{ctx.dataset}.{{x,tx,allx,y,ty,ally,graph,test.index}}")
    return load_planetoid_graph(data_dir, ctx.dataset)


def run(ctx: RunContext) -> ExperimentResult:
    """One seed of the Cold Brew experiment on ``ctx.dataset``."""
    defaults = {**DEFAULTS, **DATASET_DEFAULTS.get(ctx.dataset, {})}
    config = ctx.config(defaults, quick=QUICK, choices=CHOICES)
    unknown = [m for m in config["models"] if m not in MODELS]
    if unknown:
        raise ConfigError(f"option 'models' names unknown model(s) {unknown}; known: {list(MODELS)}")
    if "coldbrew" in config["models"] and "gcn_se" not in config["models"]:
        config["models"] = [*config["models"], "gcn_se"]  # the teacher comes with the student

    if config["threads"] > 0:
        torch.set_num_threads(config["threads"])
    graph = load_graph(ctx, config)
    features = row_normalize(graph.x) if config["feature_norm"] == "row" else graph.x
    split = degree_split(graph.edge_index, graph.num_nodes, config["split"], config["split_fraction"], seed=ctx.seed)
    rule = config["label_split"]
    if rule == "auto":
        rule = "first_n" if ctx.dataset in ("cora", "synthetic") or graph.train_mask is None else "public"
    train, val, evaluation = label_split(
        graph.y, rule, train_mask=graph.train_mask, val_mask=graph.val_mask,
        num_train=config["num_train"], num_val=config["num_val"], seed=ctx.seed,
    )
    # Every model trains and is evaluated on the graph whose isolated nodes lost their edges.
    data = validate_graph(features, split.edge_index, graph.y, train, val, where=f"{ctx.dataset} ({split.rule} split)")
    subsets = {
        "acc_isolated": split.isolated & evaluation,
        "acc_tail": split.tail & evaluation,
        "acc_head": split.head & evaluation,
        "acc_overall": evaluation,
    }

    checkpoints = ctx.checkpoint_dir if config["checkpoints"] else None

    def settings(name: str, lr: float, epochs: int) -> TrainSettings:
        path = Path(checkpoints) / f"{name}.pt" if checkpoints is not None else None
        return TrainSettings(lr, config["weight_decay"], epochs, config["patience"], path, f"{ctx.dataset} {name}")

    logits: dict[str, torch.Tensor] = {}
    seconds: dict[str, float] = {}
    cold_brew = None
    for name in [m for m in MODELS if m in config["models"]]:
        started = time.perf_counter()
        if name == "gcn":
            model, _ = fit_teacher(
                data, config["hidden"], 2, (False, False), config["dropout"], config["norm"],
                settings=settings("gcn", config["lr"], config["epochs"]),
            )
            with torch.no_grad():
                logits[name] = model(data.gnn_features(), data.adjacency())
        elif name == "sage":
            model, _ = fit_sage(data, config["hidden"], 2, config["sage_dropout"], settings("sage", config["lr"], config["epochs"]))
            with torch.no_grad():
                logits[name] = model(data.gnn_features(), mean_adjacency(data.edge_index, data.num_nodes))
        elif name == "mlp":
            model, _ = fit_mlp(
                data, config["mlp_hidden"], config["student_layers"], config["student_dropout"],
                settings("mlp", config["student_lr"], config["student_epochs"]),
            )
            with torch.no_grad():
                logits[name] = model(data.x)
        elif name == "graphmlp":
            model, _ = fit_graphmlp(
                data, tau=config["graphmlp_tau"], hops=config["graphmlp_hops"], reg=config["graphmlp_reg"],
                batch_size=config["graphmlp_batch"], settings=settings("graphmlp", config["student_lr"], config["student_epochs"]),
            )
            with torch.no_grad():
                logits[name] = model(data.x)
        elif name == "gcn_se":
            cold_brew = ColdBrew(
                hidden_channels=config["hidden"], num_layers=2, norm=config["norm"], dropout=config["dropout"],
                se_reg=config["se_reg"], se_penalty=config["se_penalty"], lr=config["lr"], weight_decay=config["weight_decay"],
                epochs=config["epochs"], patience=config["patience"], student_hidden_channels=config["student_hidden"],
                student_layers=config["student_layers"], student_dropout=config["student_dropout"], student_lr=config["student_lr"],
                student_epochs=config["student_epochs"], top_k=config["top_k"], part2_input=config["part2_input"],
                part1_nodes=config["part1_nodes"], neighbor_pool=config["neighbor_pool"], seed=None, checkpoint_dir=checkpoints,
            )
            cold_brew.fit(x=data.x, edge_index=data.edge_index, y=data.y, train_mask=data.train_mask, val_mask=data.val_mask)
            with torch.no_grad():
                logits["gcn_se"] = cold_brew.teacher_(data.gnn_features(), data.adjacency())
        elif name == "coldbrew":
            assert cold_brew is not None
            with torch.no_grad():
                logits["coldbrew"] = cold_brew.student_(data.x)  # features only: no graph at inference
        seconds[name] = time.perf_counter() - started

    results: dict[str, dict[str, float]] = {}
    for name, model_logits in logits.items():
        results[name] = {metric: accuracy(model_logits, data.y, mask) for metric, mask in subsets.items()}
    lp_scores = label_propagation_predict(data, config["lp_layers"], config["lp_alpha"])
    results["lp"] = {metric: accuracy(lp_scores, data.y, mask) for metric, mask in subsets.items()}
    dataset_row = {
        "num_isolated": float(split.isolated.sum()),
        "num_tail": float(split.tail.sum()),
        "num_head": float(split.head.sum()),
        "num_eval_isolated": float(subsets["acc_isolated"].sum()),
    }
    if "gcn_se" in results and "mlp" in results:
        dataset_row["fcr"] = feature_contribution_ratio(
            results["gcn_se"]["acc_overall"], results["mlp"]["acc_overall"], results["lp"]["acc_overall"]
        )
    results["dataset"] = dataset_row

    notes = [
        f"{split.rule} degree split: {int(split.isolated.sum())} isolated / {int(split.tail.sum())} tail / "
        f"{int(split.head.sum())} head nodes of {graph.num_nodes}; label split '{rule}': {int(train.sum())} train, "
        f"{int(val.sum())} validation, {int(evaluation.sum())} evaluation nodes (accuracies are over evaluation nodes).",
        "Every model is selected on validation accuracy (the official code selects the teacher on test accuracy).",
    ]
    if ctx.quick:
        notes.append("quick mode: shrunk schedules, not the paper's numbers")
    if cold_brew is not None:
        history = cold_brew.history_
        notes.append(
            f"teacher best epoch {history['teacher']['best_epoch']}, student part 1 best epoch "
            f"{history['student_part1']['best_epoch']}, part 2 best epoch {history['student_part2']['best_epoch']}; "
            f"learned alphas {cold_brew.student_.alphas.detach().tolist()}"
        )

    figures: list[Path] = []
    if ctx.make_figures:
        figures.append(_plot_by_split(results, paper_numbers(ctx.dataset), ctx.out_dir / "accuracy_by_split.png", ctx.dataset))
    timing = "\n".join(f"- {name}: {value:.1f} s" for name, value in seconds.items())
    return ExperimentResult(
        results=results,
        paper=paper_numbers(ctx.dataset),
        config=config,
        figures=figures,
        notes=notes,
        sections={"Training time of the first run (CPU)": timing},
    )


def _plot_by_split(results: dict[str, dict[str, float]], paper: dict[str, dict[str, float]], path: Path, dataset: str) -> Path:
    from iclr22.core.results import new_figure, save_figure

    metrics = ("acc_isolated", "acc_tail", "acc_head", "acc_overall")
    models = [m for m in MODELS if m in results]
    fig, ax = new_figure(figsize=(8, 3.8))
    width = 0.8 / max(len(models), 1)
    positions = np.arange(len(metrics))
    for i, model in enumerate(models):
        values = [results[model].get(metric, np.nan) for metric in metrics]
        ax.bar(positions + i * width, values, width, label=model)
        for j, metric in enumerate(metrics):
            reference = paper.get(model, {}).get(metric)
            if reference is not None:
                ax.plot(positions[j] + i * width, reference, "k_", markersize=8)
    ax.set_xticks(positions + width * (len(models) - 1) / 2, [m.removeprefix("acc_") for m in metrics])
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Cold Brew on {dataset}: accuracy by degree split (black ticks: paper)")
    ax.legend(ncol=3, fontsize=8)
    return save_figure(fig, path)
