"""The paper's experiment (Tables 2, 3 and 10): accuracy on isolated, tail and head nodes, and the FCR.

One run: row-normalise the features (the official loader's ``T.NormalizeFeatures()``; ``feature_norm``),
build the degree split (isolated nodes lose all their edges, for training and testing alike),
train GCN, GraphSAGE, MLP, GraphMLP, the GCN+SE teacher and the Cold Brew student on the same graph and
labels, select every model on validation accuracy, and report accuracy (%) on the evaluation nodes
(every labelled node outside train and validation) of each split. The FCR (eq. 5) comes from the
teacher, the MLP and label propagation.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError
from iclr22.core.experiment import ExperimentResult, RunContext
from iclr22.core.seed import seed_everything
from iclr22.coldbrew.datasets import load_planetoid_graph, make_cold_start_graph, row_normalize
from iclr22.coldbrew.model import NORMS, mean_adjacency
from iclr22.coldbrew.splits import LABEL_SPLITS, SPLIT_RULES, degree_split, label_split
from iclr22.coldbrew.train import (
    ColdBrew,
    GraphTensors,
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
BASELINES = ("gcn", "sage", "mlp", "graphmlp")

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
    # initial α0, α1 of [x, α1·ẽ, α0·ê]: 1 chosen on Cora validation nodes (benchmarks/coldbrew_student_search.py);
    # the official code's 1e-4 lets part 2 fit the 600 labels from x before the distilled blocks count
    "student_alpha_init": 1.0,
    "part1_nodes": "non_isolated",
    "neighbor_pool": "all",
    # true: a node never retrieves its own teacher embedding as a virtual neighbour (training, validation and
    # evaluation nodes alike); false (paper eq. 4, official code) kept: leave-self-out did not win on Cora
    # validation nodes (benchmarks/coldbrew_student_search.py)
    "leave_self_out": False,
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
    # Processes per run: 2 trains the baselines (GCN, GraphSAGE, MLP, GraphMLP) in a second process while
    # this one trains the teacher and the student; 1 trains everything here. Same numbers either way.
    "workers": 2,
    # Dropout samples for the *_train_mode rows (the GNNs measured with dropout on, as the official code
    # measures its GNNs' head / tail / isolation accuracy); 0 leaves the rows out.
    "train_mode_samples": 10,
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
    numbers = {model: {metric: values[column] for metric, values in row.items()} for model, row in _PAPER_ROWS.items()}
    # The train-mode readings of our GCN and teacher sit beside the paper's GCN and teacher rows, which the
    # official code measures in train mode (see train_mode_accuracy).
    numbers["gcn_train_mode"], numbers["gcn_se_train_mode"] = dict(numbers["gcn"]), dict(numbers["gcn_se"])
    return numbers


def model_seed(seed: int, model: str) -> int:
    """The seed of one model in run ``seed``: from the pair alone, so a model's numbers do not depend on
    which other models the run trains, nor on the order or the process they train in."""
    return int(np.random.SeedSequence([seed, MODELS.index(model)]).generate_state(1)[0])


def train_mode_accuracy(model: torch.nn.Module, data: GraphTensors, subsets: dict[str, Any], samples: int, seed: int) -> dict[str, float]:
    """A GCN's accuracy on each subset with dropout on (train mode), averaged over ``samples`` dropout draws.

    The official code computes its GNNs' head / tail / isolation accuracy inside the training step, after
    ``model.train()``, while it scores every MLP in eval mode; this reads our model the same way, except that
    the final dropout on the logits is left out (the last layer's output is read before it). Empty when
    ``samples`` is 0. The global RNG is left as it was.
    """
    if samples <= 0:
        return {}
    num_classes = data.num_classes
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        model.train()
        draws = [model(data.gnn_features(), data.adjacency(), return_embeddings=True)[1][:, -num_classes:] for _ in range(samples)]
        model.eval()
    return {metric: float(np.mean([accuracy(draw, data.y, mask) for draw in draws])) for metric, mask in subsets.items()}


@dataclass
class _BaselineJob:
    names: list[str]
    data: GraphTensors
    config: dict[str, Any]
    subsets: dict[str, Any]  # metric name -> boolean node mask
    checkpoints: Path | None
    dataset: str
    seed: int


def _train_baselines(job: _BaselineJob) -> dict[str, tuple[np.ndarray, dict[str, float], float]]:
    """Train the baselines of one run; per model: logits ``[N, C]``, train-mode accuracies (GCN), seconds.

    Runs in this process or in the worker process of :func:`_worker_pool`.
    """
    config, data = job.config, job.data
    if config["threads"] > 0:
        torch.set_num_threads(config["threads"])

    def settings(name: str, lr: float, epochs: int) -> TrainSettings:
        path = Path(job.checkpoints) / f"{name}.pt" if job.checkpoints is not None else None
        return TrainSettings(lr, config["weight_decay"], epochs, config["patience"], path, f"{job.dataset} {name}")

    out: dict[str, tuple[np.ndarray, dict[str, float], float]] = {}
    for name in job.names:
        started = time.perf_counter()
        seed_everything(model_seed(job.seed, name))
        train_mode: dict[str, float] = {}
        if name == "gcn":
            model, _ = fit_teacher(
                data, config["hidden"], 2, (False, False), config["dropout"], config["norm"],
                settings=settings("gcn", config["lr"], config["epochs"]),
            )
            with torch.no_grad():
                logits = model(data.gnn_features(), data.adjacency())
            train_mode = train_mode_accuracy(model, data, job.subsets, config["train_mode_samples"], job.seed)
        elif name == "sage":
            model, _ = fit_sage(data, config["hidden"], 2, config["sage_dropout"], settings("sage", config["lr"], config["epochs"]))
            with torch.no_grad():
                logits = model(data.gnn_features(), mean_adjacency(data.edge_index, data.num_nodes))
        elif name == "mlp":
            model, _ = fit_mlp(
                data, config["mlp_hidden"], config["student_layers"], config["student_dropout"],
                settings("mlp", config["student_lr"], config["student_epochs"]),
            )
            with torch.no_grad():
                logits = model(data.x)
        elif name == "graphmlp":
            model, _ = fit_graphmlp(
                data, tau=config["graphmlp_tau"], hops=config["graphmlp_hops"], reg=config["graphmlp_reg"],
                batch_size=config["graphmlp_batch"], settings=settings("graphmlp", config["student_lr"], config["student_epochs"]),
            )
            with torch.no_grad():
                logits = model(data.x)
        else:
            raise ConfigError(f"unknown baseline {name!r}")
        out[name] = (logits.numpy(), train_mode, time.perf_counter() - started)
    return out


_POOL: ProcessPoolExecutor | None = None


def _quiet_worker() -> None:
    # The main process shows the teacher's and student's bars (the longer half of a run); two processes
    # drawing bars on one terminal line would garble both.
    os.environ["ICLR22_PROGRESS"] = "0"


def _worker_pool() -> ProcessPoolExecutor:
    """One worker process, started on first use and kept for the following runs (seeds) of this process.

    ``spawn`` rather than ``fork``: a forked child of a process that has already used torch's thread pool
    can hang.
    """
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker)
    return _POOL


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
    job = _BaselineJob(
        names=[m for m in BASELINES if m in config["models"]], data=data, config=config, subsets=subsets,
        checkpoints=checkpoints, dataset=ctx.dataset, seed=ctx.seed,
    )
    # The baselines and the teacher/student are independent; each model is seeded from (seed, model) alone,
    # so running them in two processes gives the same numbers as running them one after the other here.
    in_background = config["workers"] > 1 and job.names and "gcn_se" in config["models"]
    pending = _worker_pool().submit(_train_baselines, job) if in_background else None
    trained = _train_baselines(job) if not in_background else None

    logits: dict[str, torch.Tensor] = {}
    train_mode: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    cold_brew = None
    if "gcn_se" in config["models"]:
        started = time.perf_counter()
        seed_everything(model_seed(ctx.seed, "gcn_se"))
        cold_brew = ColdBrew(
            hidden_channels=config["hidden"], num_layers=2, norm=config["norm"], dropout=config["dropout"],
            se_reg=config["se_reg"], se_penalty=config["se_penalty"], lr=config["lr"], weight_decay=config["weight_decay"],
            epochs=config["epochs"], patience=config["patience"], student_hidden_channels=config["student_hidden"],
            student_layers=config["student_layers"], student_dropout=config["student_dropout"], student_lr=config["student_lr"],
            student_epochs=config["student_epochs"], top_k=config["top_k"], part2_input=config["part2_input"],
            alpha_init=config["student_alpha_init"],
            part1_nodes=config["part1_nodes"], neighbor_pool=config["neighbor_pool"], leave_self_out=config["leave_self_out"],
            seed=None, checkpoint_dir=checkpoints,
        )
        cold_brew.fit(x=data.x, edge_index=data.edge_index, y=data.y, train_mask=data.train_mask, val_mask=data.val_mask)
        with torch.no_grad():
            logits["gcn_se"] = cold_brew.teacher_(data.gnn_features(), data.adjacency())
            # features only, no graph at inference; the node ids only serve leave_self_out
            logits["coldbrew"] = cold_brew.student_(data.x, torch.arange(data.num_nodes))
        train_mode["gcn_se"] = train_mode_accuracy(cold_brew.teacher_, data, subsets, config["train_mode_samples"], ctx.seed)
        seconds["gcn_se + coldbrew"] = time.perf_counter() - started
    lp_scores = label_propagation_predict(data, config["lp_layers"], config["lp_alpha"])
    if pending is not None:
        trained = pending.result()
    assert trained is not None
    for name, (model_logits, model_train_mode, model_seconds) in trained.items():
        logits[name] = torch.from_numpy(model_logits)
        if model_train_mode:
            train_mode[name] = model_train_mode
        seconds[name] = model_seconds
    logits = {name: logits[name] for name in MODELS if name in logits and name in config["models"]}

    results: dict[str, dict[str, float]] = {}
    for name, model_logits in logits.items():
        results[name] = {metric: accuracy(model_logits, data.y, mask) for metric, mask in subsets.items()}
    results["lp"] = {metric: accuracy(lp_scores, data.y, mask) for metric, mask in subsets.items()}
    for name in ("gcn", "gcn_se"):
        if train_mode.get(name):
            results[f"{name}_train_mode"] = train_mode[name]
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
    if any(name.endswith("_train_mode") for name in results):
        notes.append(
            "gcn_train_mode / gcn_se_train_mode: the same GCN and teacher read in train mode (dropout "
            f"{config['dropout']} on the input and hidden layer, not on the logits; mean of {config['train_mode_samples']} dropout draws), as the official "
            "code reads its GNNs' head / tail / isolation accuracy; every other row is in eval mode."
        )
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
