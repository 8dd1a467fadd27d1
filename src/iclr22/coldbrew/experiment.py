"""The paper's experiment (Tables 2, 3 and 10): accuracy on isolated, tail and head nodes, and the FCR.

One run: row-normalise the features (the official loader's ``T.NormalizeFeatures()``; ``feature_norm``),
build the degree split (isolated nodes lose all their edges, for training and testing alike),
train GCN, GraphSAGE, MLP, GraphMLP, the GCN+SE teacher and the Cold Brew student on the same graph and
labels, select every model on validation accuracy, and report accuracy (%) on the evaluation nodes
(every labelled node outside train and validation) of each split. The FCR (eq. 5) comes from the
teacher, the MLP and label propagation.

Declared as :data:`EXPERIMENT` (:class:`iclr22.core.experiment.Experiment`): the hyperparameters are
:class:`~iclr22.coldbrew.estimator.ColdBrew`'s, the run options are :class:`RunOptions`. The rows ``gcn_se``
(the teacher) and ``coldbrew`` (the student) come from one fitted :class:`ColdBrew`. Every model is seeded
from (seed, model) alone (:func:`model_seed`), so its numbers do not depend on which other models run, in
which order or in which process: with ``n_jobs`` ≥ 2 the teacher and the student train in a second process
(a pool started and shut down inside the run) while this one trains the baselines.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from sklearn.base import clone

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.options import RUNTIME_PARAMS
from iclr22.core.seed import seed_everything
from iclr22.data.graphs import Graph, load_planetoid
from iclr22.coldbrew.baselines import fit_gcn, fit_graphmlp, fit_mlp, fit_sage, label_propagation_predict, mean_adjacency
from iclr22.coldbrew.estimator import ColdBrew
from iclr22.coldbrew.graph import GraphTensors, row_normalize, validate_graph
from iclr22.coldbrew.metrics import accuracy, feature_contribution_ratio
from iclr22.coldbrew.splits import DegreeSplit, LabelSplit, SplitRule, degree_split, label_split
from iclr22.coldbrew.synthetic import make_cold_start_graph
from iclr22.coldbrew.train import TrainSettings

__all__ = ["EXPERIMENT", "RunOptions", "MODELS", "BASELINES", "model_seed", "paper_numbers", "train_mode_accuracy", "load_planetoid_graph"]

ModelName = Literal["gcn", "sage", "mlp", "graphmlp", "gcn_se", "coldbrew"]
MODELS: tuple[str, ...] = get_args(ModelName)
BASELINES = ("gcn", "sage", "mlp", "graphmlp")
#: ColdBrew's hyperparameters (its parameters less the ones the harness sets).
HYPERPARAMETERS = tuple(name for name in ColdBrew._get_param_names() if name not in RUNTIME_PARAMS)


@dataclass
class RunOptions:
    """The run options of ``iclr22 run coldbrew`` (the hyperparameters are :class:`ColdBrew`'s).

    Args:
        models: The rows to train, in order (``coldbrew`` also gives the ``gcn_se`` row: its teacher).
        split: Degree split: ``paper`` (10/10/10 %) or ``official`` (iterated medians, Cora 534/534/286).
        split_fraction: Size of each degree split under the paper rule.
        label_split: ``first_n`` (first ``num_train`` ids train, next ``num_val`` validate), ``public`` (the dataset's masks), ``random``; ``auto`` = ``first_n`` on Cora and the synthetic graph, ``public`` elsewhere.
        num_train: Training nodes for ``first_n`` / ``random``.
        num_val: Validation nodes for ``first_n`` / ``random``.
        feature_norm: ``row`` divides each feature row by its sum (official ``T.NormalizeFeatures()``); ``none`` keeps the features as stored.
        synthetic_nodes: Nodes of the embedded synthetic graph.
        checkpoints: Keep resumable checkpoints of every model in the run's folder.
        threads: CPU threads for torch (0: torch's default). One is fastest for graphs of this size on a shared machine.
        n_jobs: Processes per run: 2 trains the teacher and the student in a second process while this one trains the baselines; 1 trains everything here. Same numbers either way.
        train_mode_samples: Dropout samples for the ``*_train_mode`` rows (the GCN and the teacher read with dropout on, as the official code reads them); 0 leaves the rows out.
        sage_dropout: GraphSAGE dropout.
        mlp_hidden: Hidden width of the MLP baseline.
        graphmlp_tau: GraphMLP temperature ``τ``.
        graphmlp_hops: GraphMLP's ``r``: the neighbourhood target is ``Â^r``.
        graphmlp_reg: Weight of GraphMLP's contrastive loss.
        graphmlp_batch: Nodes of GraphMLP's random contrastive batch per epoch.
        lp_layers: Label-propagation steps.
        lp_alpha: Label-propagation ``α`` (``None``: chosen on validation from the paper's grid {0.01, 0.1, 0.5, 0.9, 0.99}).
    """

    models: list[ModelName] = field(default_factory=lambda: list(MODELS))
    split: SplitRule = "paper"
    split_fraction: float = 0.1
    label_split: LabelSplit = "auto"
    num_train: int = 600
    num_val: int = 500
    feature_norm: Literal["row", "none"] = "row"
    synthetic_nodes: int = 2000
    checkpoints: bool = True
    threads: int = 1
    n_jobs: int = 2
    train_mode_samples: int = 10
    sage_dropout: float = 0.5
    mlp_hidden: int = 256
    graphmlp_tau: float = 1.0
    graphmlp_hops: int = 3
    graphmlp_reg: float = 10.0
    graphmlp_batch: int = 1000
    lp_layers: int = 50
    lp_alpha: float | None = None


#: ``--quick``: shrunk schedules and a small synthetic graph (seconds, not the paper's numbers).
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

#: The official code's per-dataset settings (reset_dataset_dependent_parameters), applied before --set.
DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "citeseer": {"hidden_channels": 256},
    "pubmed": {"hidden_channels": 256, "dropout": 0.5},
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


# ------------------------------------------------------------------------------------------------ data
def load_planetoid_graph(data_dir: str | Path, name: str) -> Graph:
    """Read ``<data_dir>/ind.<name>.*`` (Planetoid format, any ``name``) with the public split.

    Raises:
        DataError: a file is missing or malformed (the message names it).
    """
    return load_planetoid(data_dir, name)


@dataclass
class ColdBrewRun:
    """The data of one seed, shared by every model of the run.

    Attributes:
        graph: The graph as loaded (before feature normalisation and isolation).
        data: The training graph: normalised features, isolated nodes without edges, train / validation masks.
        split: The degree split.
        label_rule: The label split used (``auto`` resolved).
        evaluation: bool ``[N]``: the labelled nodes outside train and validation.
        subsets: Metric name -> boolean node mask (evaluation nodes of each degree split).
        cold_brew: The run's one :class:`ColdBrew` (rows ``gcn_se`` and ``coldbrew``), once built.
        background: Its fit in the second process (``n_jobs`` ≥ 2), until collected.
    """

    graph: Graph
    data: GraphTensors
    split: DegreeSplit
    label_rule: str
    evaluation: np.ndarray
    subsets: dict[str, np.ndarray]
    cold_brew: ColdBrew | None = None
    background: Future | None = None


def load_graph(ctx: RunContext, options: dict[str, Any]) -> Graph:
    """The run's graph: the seeded synthetic one, or Planetoid files from ``ctx.data_dir``."""
    if ctx.data_dir is None:
        if ctx.dataset != "synthetic":
            raise ConfigError(f"dataset '{ctx.dataset}' needs --data-dir")
        # The graph itself is fixed (seed 0) so that runs differ only in splits and initialisation.
        return make_cold_start_graph(num_nodes=options["synthetic_nodes"], seed=0)
    data_dir = ctx.require_data_dir(f"Planetoid files ind.{ctx.dataset}.{{x,tx,allx,y,ty,ally,graph,test.index}}")
    return load_planetoid_graph(data_dir, ctx.dataset)


def load(ctx: RunContext, options: dict[str, Any]) -> ColdBrewRun:
    """One seed's graph, degree split and label split; starts the teacher and student in a second process
    when ``n_jobs`` ≥ 2 and baselines run too."""
    if options["threads"] > 0:
        torch.set_num_threads(options["threads"])
    graph = load_graph(ctx, options)
    if graph.num_edges == 0:
        raise DataError(f"{ctx.data_dir or ctx.dataset}: the graph '{ctx.dataset}' has no edges; Cold Brew distils a GCN teacher "
                        "trained on the graph's neighbourhoods, and without edges there is nothing to distil (an MLP is all it can be)")
    features = row_normalize(graph.x) if options["feature_norm"] == "row" else graph.x
    split = degree_split(graph.edge_index, graph.num_nodes, options["split"], options["split_fraction"], seed=ctx.seed)
    rule = options["label_split"]
    if rule == "auto":
        rule = "first_n" if ctx.dataset in ("cora", "synthetic") or graph.train_mask is None else "public"
    train, val, evaluation = label_split(
        graph.y, rule, train_mask=graph.train_mask, val_mask=graph.val_mask,
        num_train=options["num_train"], num_val=options["num_val"], seed=ctx.seed,
    )
    # Every model trains and is evaluated on the graph whose isolated nodes lost their edges.
    data = validate_graph(features, split.edge_index, graph.y, train, val, where=f"{ctx.dataset} ({split.rule} split)")
    subsets = {
        "acc_isolated": split.isolated & evaluation,
        "acc_tail": split.tail & evaluation,
        "acc_head": split.head & evaluation,
        "acc_overall": evaluation,
    }
    run = ColdBrewRun(graph, data, split, rule, evaluation, subsets)
    models = options["models"]
    in_background = (
        options["n_jobs"] > 1
        and any(m in BASELINES for m in models)
        and any(m in ("gcn_se", "coldbrew") for m in models)
        and torch.device(ctx.device).type == "cpu"  # one accelerator is not shared between processes here
    )
    if in_background:
        # a copy, quiet (this process shows the bars), and the graph as plain tensors: the arguments are pickled
        # by the pool's thread while this process goes on (and caches the adjacency in `data`)
        estimator = clone(make_cold_brew(options, run, ctx)).set_params(verbose=False)
        arrays = (data.x, data.y, data.edge_index, data.train_mask, data.val_mask)
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))  # spawn: torch's threads and fork hang
        try:
            run.background = pool.submit(_fit_in_worker, estimator, arrays, options["threads"])
        finally:
            pool.shutdown(wait=False)  # the worker exits once the fit is done
    return run


def _fit_in_worker(estimator: ColdBrew, arrays: tuple[torch.Tensor, ...], threads: int) -> ColdBrew:
    """The teacher and the student, fitted in the run's second process."""
    if threads > 0:
        torch.set_num_threads(threads)
    x, y, edge_index, train_mask, val_mask = arrays
    return estimator.fit(x, y, edge_index=edge_index, train_mask=train_mask, val_mask=val_mask)


def _fit_cold_brew(estimator: ColdBrew, data: GraphTensors) -> ColdBrew:
    return estimator.fit(data.x, data.y, edge_index=data.edge_index, train_mask=data.train_mask, val_mask=data.val_mask)


# ---------------------------------------------------------------------------------------------- models
@dataclass
class Baseline:
    """One baseline of the run, before and after fitting (``module_``: the trained torch module)."""

    name: str
    module_: torch.nn.Module | None = None


def make_baseline(name: str):
    def factory(options: dict[str, Any], run: ColdBrewRun, ctx: RunContext) -> Baseline:
        return Baseline(name)

    return factory


def make_cold_brew(options: dict[str, Any], run: ColdBrewRun, ctx: RunContext) -> ColdBrew:
    """The run's one :class:`ColdBrew` (the ``gcn_se`` and ``coldbrew`` rows share it), seeded as ``gcn_se``."""
    if run.cold_brew is None:
        checkpoints = ctx.model_checkpoint_dir("coldbrew") if options["checkpoints"] else None
        run.cold_brew = ColdBrew(
            **{name: options[name] for name in HYPERPARAMETERS},
            seed=model_seed(ctx.seed, "gcn_se"),
            checkpoint_dir=checkpoints,
            device=ctx.device,
            verbose=ctx.verbose,
        )
    return run.cold_brew


def _baseline_logits(model: Baseline, data: GraphTensors, ctx: RunContext, options: dict[str, Any]) -> torch.Tensor:
    """Train one baseline (seeded from (seed, model) alone) and return its logits ``[N, C]`` (eval mode)."""
    name = model.name

    def settings(lr: float, epochs: int) -> TrainSettings:
        path = ctx.model_checkpoint_dir(name) / f"{name}.pt" if options["checkpoints"] else None
        return TrainSettings(lr, options["weight_decay"], epochs, options["patience"], path, f"{ctx.dataset} {name}", None, ctx.verbose)

    seed_everything(model_seed(ctx.seed, name))
    if name == "gcn":
        module, _ = fit_gcn(data, options["hidden_channels"], 2, options["dropout"], options["norm"], settings(options["lr"], options["epochs"]))
        forward = lambda: module(data.gnn_features(), data.adjacency())  # noqa: E731
    elif name == "sage":
        module, _ = fit_sage(data, options["hidden_channels"], 2, options["sage_dropout"], settings(options["lr"], options["epochs"]))
        forward = lambda: module(data.gnn_features(), mean_adjacency(data.edge_index, data.num_nodes))  # noqa: E731
    elif name == "mlp":
        module, _ = fit_mlp(
            data, options["mlp_hidden"], options["student_layers"], options["student_dropout"], settings(options["student_lr"], options["student_epochs"])
        )
        forward = lambda: module(data.x)  # noqa: E731
    elif name == "graphmlp":
        module, _ = fit_graphmlp(
            data, tau=options["graphmlp_tau"], hops=options["graphmlp_hops"], reg=options["graphmlp_reg"],
            batch_size=options["graphmlp_batch"], settings=settings(options["student_lr"], options["student_epochs"]),
        )
        forward = lambda: module(data.x)  # noqa: E731
    else:  # pragma: no cover - the table of models names only these
        raise ConfigError(f"unknown baseline {name!r}")
    model.module_ = module
    with torch.no_grad():
        return forward()


def _fitted_cold_brew(model: ColdBrew, run: ColdBrewRun, data: GraphTensors) -> ColdBrew:
    """``model`` fitted: here, or collected from the second process (the first of its two rows fits it)."""
    if not hasattr(model, "student_"):
        if run.background is not None:
            fitted, run.background = run.background.result(), None
            for name, value in vars(fitted).items():  # its learned state; the parameters stay this process's
                if name.endswith("_") and not name.startswith("_"):
                    setattr(model, name, value.to(model.device) if isinstance(value, (torch.Tensor, torch.nn.Module)) else value)
        else:
            _fit_cold_brew(model, data)
    return model


def _cold_brew_logits(name: str, model: ColdBrew, data: GraphTensors) -> torch.Tensor:
    with torch.no_grad():
        if name == "gcn_se":
            return model.teacher_(data.gnn_features(), data.adjacency())
        # features only, no graph at inference; the node ids only serve leave_self_out
        return model.student_(data.x, torch.arange(data.num_nodes, device=data.device))


def evaluate(name: str, model: Any, run: ColdBrewRun, ctx: RunContext, options: dict[str, Any]) -> dict[str, float]:
    """Fit one model and return its accuracy (%) on the evaluation nodes of each degree split."""
    data = run.data.to(ctx.device)
    if isinstance(model, Baseline):
        logits = _baseline_logits(model, data, ctx, options)
    else:
        logits = _cold_brew_logits(name, _fitted_cold_brew(model, run, data), data)
    return _scores(logits, data, run.subsets)


def _scores(logits: torch.Tensor, data: GraphTensors, subsets: dict[str, np.ndarray]) -> dict[str, float]:
    return {metric: accuracy(logits, data.y, mask) for metric, mask in subsets.items()}


# ---------------------------------------------------------------------------------------------- report
def report(ctx: RunContext, options: dict[str, Any], run: ColdBrewRun, results: dict[str, dict[str, float]], fitted: dict[str, Any]) -> Report:
    """Rows derived from the fitted models (label propagation, train-mode readings, the dataset's FCR),
    notes, the paper's numbers and the figure."""
    data, subsets, split = run.data.to(ctx.device), run.subsets, run.split
    cold_brew = fitted.get("gcn_se") or fitted.get("coldbrew")
    rows: dict[str, dict[str, float]] = {}
    if cold_brew is not None and "gcn_se" not in results:  # the teacher comes with the student
        rows["gcn_se"] = _scores(_cold_brew_logits("gcn_se", cold_brew, data), data, subsets)
    lp_scores = label_propagation_predict(data, options["lp_layers"], options["lp_alpha"])
    rows["lp"] = _scores(lp_scores, data, subsets)
    samples = options["train_mode_samples"]
    for row, module in (("gcn", getattr(fitted.get("gcn"), "module_", None)), ("gcn_se", getattr(cold_brew, "teacher_", None))):
        reading = train_mode_accuracy(module, data, subsets, samples, ctx.seed) if module is not None else {}
        if reading:
            rows[f"{row}_train_mode"] = reading
    merged = {**results, **rows}
    dataset_row = {
        "num_isolated": float(split.isolated.sum()),
        "num_tail": float(split.tail.sum()),
        "num_head": float(split.head.sum()),
        "num_eval_isolated": float(subsets["acc_isolated"].sum()),
    }
    if "gcn_se" in merged and "mlp" in merged:
        dataset_row["fcr"] = feature_contribution_ratio(merged["gcn_se"]["acc_overall"], merged["mlp"]["acc_overall"], merged["lp"]["acc_overall"])
    rows["dataset"] = dataset_row

    train, val = run.data.train_mask, run.data.val_mask
    paper = paper_numbers(ctx.dataset)
    notes = [
        f"{split.rule} degree split: {int(split.isolated.sum())} isolated / {int(split.tail.sum())} tail / "
        f"{int(split.head.sum())} head nodes of {run.graph.num_nodes}; label split '{run.label_rule}': {int(train.sum())} train, "
        f"{int(val.sum())} validation, {int(run.evaluation.sum())} evaluation nodes (accuracies, in percent, are over evaluation nodes).",
        "Every model is selected on validation accuracy" + (" (the official code selects the teacher on test accuracy)." if paper else "."),
    ]
    if any(name.endswith("_train_mode") for name in rows):
        notes.append(
            "gcn_train_mode / gcn_se_train_mode: the same GCN and teacher read in train mode (dropout "
            f"{options['dropout']} on the input and hidden layer, not on the logits; mean of {samples} dropout draws), as the official "
            "code reads its GNNs' head / tail / isolation accuracy; every other row is in eval mode."
        )
    if ctx.quick:
        notes.append("quick mode: shrunk schedules (a smoke test" + (", not the paper's numbers)" if paper else ")"))
    if cold_brew is not None:
        history = cold_brew.history_
        notes.append(
            f"teacher best epoch {history['teacher']['best_epoch']}, student part 1 best epoch "
            f"{history['student_part1']['best_epoch']}, part 2 best epoch {history['student_part2']['best_epoch']}; "
            f"learned alphas {cold_brew.student_.alphas.detach().cpu().tolist()}"
        )
    figures: list[Path] = []
    if ctx.make_figures:
        merged = {**results, **rows}
        figures.append(_plot_by_split(merged, paper, ctx.out_dir / "accuracy_by_split.png", ctx.dataset))
    return Report(figures=figures, notes=notes, paper=paper, results=rows)


def check(ctx: RunContext, options: dict[str, Any]) -> None:
    """Cross-option rules of a run."""
    if options["n_jobs"] < 1:
        raise ConfigError(f"option 'n_jobs' must be at least 1, got {options['n_jobs']}")
    if options["threads"] < 0:
        raise ConfigError(f"option 'threads' must be 0 (torch's default) or more, got {options['threads']}")


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
    # the ticks and their legend only where the paper has numbers for this dataset (not on a user's graph)
    ax.set_title(f"Cold Brew on {dataset}: accuracy by degree split" + (" (black ticks: paper)" if paper else ""))
    ax.legend(ncol=3, fontsize=8)
    return save_figure(fig, path)


EXPERIMENT = Experiment(
    estimator=ColdBrew,
    run_options=RunOptions,
    load=load,
    models={**{name: make_baseline(name) for name in BASELINES}, "gcn_se": make_cold_brew, "coldbrew": make_cold_brew},
    evaluate=evaluate,
    # no budget: ColdBrew's defaults are the settings of the paper's Cora runs, and a Cora run fits the CPU
    dataset_options=DATASET_OPTIONS,
    quick=QUICK,
    report=report,
    check=check,
)
