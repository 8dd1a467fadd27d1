"""Cold Brew, the algorithm (Zheng et al., ICLR 2022), readable top to bottom.

1. :func:`fit_teacher` — train the GCN with structural embeddings (eq. 2) on the graph, loss
   ``CE(train) + η‖E‖²`` (eq. 3), selecting the epoch on validation accuracy.
2. :func:`teacher_embeddings` — the teacher's concatenated layer embeddings ``Ē`` (§3.2) become the
   regression target and the bank of candidate neighbours.
3. :func:`fit_student` — part 1 (:func:`fit_student_part1`) regresses ``Ē`` from features (MSE); part 2
   (:func:`fit_student_part2`) classifies from ``[x, α1·ẽ, α0·ê]``, ``ẽ`` being the top-K virtual
   neighbours of eq. 4.
4. The student then predicts for any node from its features alone: isolated, tail or brand-new.

:class:`iclr22.coldbrew.estimator.ColdBrew` runs the four steps behind ``fit`` / ``predict`` and holds every
hyperparameter's default; the functions here take them as required arguments. The baselines are in
:mod:`iclr22.coldbrew.baselines`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr22.core.errors import ConfigError
from iclr22.core.training import EarlyStopping, FitResult, fit_epochs
from iclr22.coldbrew.graph import GraphTensors, Rows
from iclr22.coldbrew.metrics import accuracy
from iclr22.coldbrew.model import NORMS, GCNSE, ColdBrewStudent, Norm, Part2Input

__all__ = [
    "SePenalty",
    "TrainSettings",
    "train_node_classifier",
    "fit_teacher",
    "teacher_embeddings",
    "fit_student",
    "fit_student_part1",
    "fit_student_part2",
    "cross_fitted_embeddings",
]

#: The SE regulariser of eq. 3: ``"squared"`` = ``η Σ‖E‖²_F`` (paper), ``"norm"`` = ``η Σ‖E‖_F`` (official code).
SePenalty = Literal["squared", "norm"]


@dataclass
class TrainSettings:
    """Optimiser and schedule of one full-batch training (Adam, as in the official code).

    Attributes:
        lr: Learning rate.
        weight_decay: L2 weight decay.
        max_epochs: Upper bound on epochs.
        patience: Epochs without a better validation score before stopping (``None``: never).
        checkpoint_path: Where to save/resume this training (``None``: no checkpoint).
        desc: Progress-bar label.
        fingerprint: Identifies the settings that produced ``checkpoint_path``; resuming a checkpoint saved
            under another fingerprint raises ``ConfigError`` instead of continuing someone else's training.
        verbose: Progress bar: ``None`` on a terminal only, else on / off.
    """

    lr: float
    weight_decay: float
    max_epochs: int
    patience: int | None
    checkpoint_path: str | Path | None = None
    desc: str = "train"
    fingerprint: str | None = None
    verbose: bool | None = None

    def run(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        train_epoch: Callable[[], float],
        evaluate: Callable[[], float] | None,
    ) -> FitResult:
        """:func:`iclr22.core.training.fit_epochs` under this schedule: early stopping on the maximum of
        ``evaluate``, checkpointing and the settings' fingerprint."""
        return fit_epochs(
            model,
            optimizer,
            train_epoch,
            evaluate,
            self.max_epochs,
            early_stopping=EarlyStopping(patience=self.patience, mode="max"),
            checkpoint_path=self.checkpoint_path,
            fingerprint=self.fingerprint,
            desc=self.desc,
            verbose=self.verbose,
        )


def train_node_classifier(
    model: nn.Module,
    forward: Callable[[Tensor], Tensor],
    y: Tensor,
    train_mask: Tensor,
    val_mask: Tensor,
    settings: TrainSettings,
    extra_loss: Callable[[], Tensor] | None = None,
) -> FitResult:
    """Full-batch cross-entropy training on ``train_mask``, keeping the epoch best on ``val_mask`` accuracy.

    Args:
        model: The module (put in train/eval mode here).
        forward: ``forward(mask)`` returns the logits of the nodes in ``mask`` (a GNN computes all ``N``
            and indexes; an MLP computes only those rows).
        y: ``[N]`` labels.
        train_mask: Nodes whose labels train.
        val_mask: Nodes whose accuracy selects the epoch (all false: the last epoch is kept).
        settings: Optimiser and schedule.
        extra_loss: A regulariser added to the loss (e.g. the SE penalty of eq. 3).
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    has_val = bool(val_mask.any())

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(forward(train_mask), y[train_mask])
        if extra_loss is not None:
            loss = loss + extra_loss()
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach())}

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            return accuracy(forward(val_mask), y[val_mask])

    return settings.run(model, optimizer, train_epoch, evaluate if has_val else None)


def fit_teacher(
    graph: GraphTensors,
    hidden_channels: int,
    num_layers: int,
    se_layers: tuple[bool, ...] | None,
    dropout: float,
    norm: Norm,
    se_reg: float,
    se_penalty: SePenalty,
    settings: TrainSettings,
) -> tuple[GCNSE, FitResult]:
    """Train the GCN+SE teacher (paper eq. 2–3): ``min CE(X^(L)_train, Y_train) + η Σ_l ‖E^(l)‖²_F``.

    Args:
        graph: The training graph (isolated nodes already stripped of their edges).
        hidden_channels: Hidden width.
        num_layers: GCN layers.
        se_layers: Which layers carry an SE (``None``: all; all ``False``: the plain GCN baseline).
        dropout: Dropout before each layer and on the logits.
        norm: Per-layer normalisation (``none``, ``pairnorm``, ``nodenorm``, ``batchnorm``).
        se_reg: ``η``.
        se_penalty: ``"squared"`` (paper, ``‖E‖²_F``) or ``"norm"`` (official code, ``‖E‖_F``).
        settings: Optimiser and schedule.
    """
    if se_penalty not in get_args(SePenalty):
        raise ConfigError(f"se_penalty must be one of {get_args(SePenalty)}, got {se_penalty!r}")
    if norm not in NORMS:
        raise ConfigError(f"norm must be one of {NORMS}, got {norm!r}")
    teacher = GCNSE(
        graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, graph.num_nodes, se_layers, dropout=dropout, norm=norm
    ).to(graph.device)
    adjacency = graph.adjacency()
    has_se = any(conv.has_se for conv in teacher.convs)
    regulariser = (lambda: se_reg * teacher.se_penalty(squared=se_penalty == "squared")) if has_se and se_reg > 0 else None
    features = graph.gnn_features()
    result = train_node_classifier(
        teacher, lambda mask: teacher(features, adjacency)[mask], graph.y, graph.train_mask, graph.val_mask, settings, regulariser
    )
    teacher.eval()
    return teacher, result


@torch.no_grad()
def teacher_embeddings(teacher: GCNSE, graph: GraphTensors) -> tuple[Tensor, Tensor]:
    """The teacher's logits and ``Ē`` (§3.2: post-norm, pre-activation output of each layer, concatenated)."""
    teacher.eval()
    logits, embeddings = teacher(graph.gnn_features(), graph.adjacency(), return_embeddings=True)
    return logits, embeddings


def fit_student(
    x: Tensor,
    y: Tensor,
    target_embeddings: Tensor,
    train_mask: Tensor,
    val_mask: Tensor,
    part1_mask: Tensor,
    bank: Tensor,
    num_classes: int,
    hidden_channels: int,
    num_layers: int,
    dropout: float,
    top_k: int,
    part2_input: Part2Input,
    part1_settings: TrainSettings,
    part2_settings: TrainSettings,
    alpha_init: float,
    *,
    bank_node_ids: Tensor | None = None,
    leave_self_out: bool,
) -> tuple[ColdBrewStudent, FitResult, FitResult]:
    """Train the Cold Brew student MLP (paper §3.3–3.5): :func:`fit_student_part1`, then :func:`fit_student_part2`.

    Part 1: ``min_ξ1 MSE(ξ1(x_i), Ē_i)`` over ``part1_mask``, keeping the epoch with the lowest MSE on
    ``val_mask & part1_mask`` (on ``part1_mask`` when that is empty). Part 2: ``min_ξ2,α CE(ξ2([x, α1·ẽ, α0·ê]), y)`` over
    ``train_mask`` with ``ξ1`` frozen, ``ẽ`` from eq. 4 over ``bank``, keeping the epoch best on
    validation accuracy.

    Args:
        x: ``[N, d]`` features.
        y: ``[N]`` labels.
        target_embeddings: ``[N, D]`` teacher ``Ē`` (regression target).
        train_mask: Labelled training nodes (part 2).
        val_mask: Validation nodes.
        part1_mask: Nodes whose ``Ē`` part 1 regresses (paper: non-isolated; code: training nodes).
        bank: ``[M, D]`` teacher embeddings searched for virtual neighbours.
        num_classes: ``C``.
        hidden_channels: Hidden width of both parts.
        num_layers: Linear layers per part.
        dropout: MLP dropout.
        top_k: ``K`` of eq. 4.
        part2_input: ``"code"`` (``[x, α1·ẽ, α0·ê]``) or ``"paper"`` (``[x, ẽ]``).
        part1_settings: Schedule of part 1.
        part2_settings: Schedule of part 2.
        alpha_init: Initial ``α0``, ``α1`` (the official code starts them at 1e-4).
        bank_node_ids: ``[M]`` the node id (row of ``x``) of each bank row; needed by ``leave_self_out``.
        leave_self_out: A node never retrieves its own bank row as a virtual neighbour, in training and in
            validation alike (official code: it may).
    """
    student = ColdBrewStudent(
        x.shape[1], target_embeddings.shape[1], num_classes, hidden_channels, num_layers, dropout,
        top_k=top_k, part2_input=part2_input, alpha_init=alpha_init, leave_self_out=leave_self_out,
    ).to(x.device)
    student.set_bank(bank, bank_node_ids)
    part1_result = fit_student_part1(student, x, target_embeddings, val_mask, part1_mask, part1_settings)
    part2_result = fit_student_part2(student, x, y, train_mask, val_mask, part2_settings)
    return student, part1_result, part2_result


def fit_student_part1(
    student: ColdBrewStudent,
    x: Tensor,
    target_embeddings: Tensor,
    val_mask: Tensor,
    part1_mask: Tensor,
    settings: TrainSettings,
) -> FitResult:
    """Student part 1: train ``student.part1`` (``ξ1``) to regress the teacher's ``Ē`` from features alone (MSE).

    Trains on ``part1_mask`` and keeps the epoch with the lowest MSE on ``val_mask & part1_mask`` (on
    ``part1_mask`` when that is empty).
    """
    monitor = val_mask & part1_mask if bool((val_mask & part1_mask).any()) else part1_mask
    optimizer = torch.optim.Adam(student.part1.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    rows = Rows(x)
    target_fit = target_embeddings[part1_mask]

    def part1_epoch(epoch: int) -> dict[str, float]:
        student.train()
        optimizer.zero_grad()
        loss = F.mse_loss(student.embed(rows(part1_mask)), target_fit)
        loss.backward()
        optimizer.step()
        return {"mse": float(loss.detach())}

    def part1_val() -> float:
        student.eval()
        with torch.no_grad():
            return -float(F.mse_loss(student.embed(rows(monitor)), target_embeddings[monitor]))

    return settings.run(student, optimizer, part1_epoch, part1_val)


def cross_fitted_embeddings(
    student: ColdBrewStudent,
    x: Tensor,
    target_embeddings: Tensor,
    train_mask: Tensor,
    val_mask: Tensor,
    part1_mask: Tensor,
    folds: int,
    settings: TrainSettings,
    seed: int = 0,
) -> Tensor:
    """``ê`` of the training nodes from part-1 models that did not regress them (cross-fitting, ``folds`` ≥ 2).

    The training nodes are split at random into ``folds`` groups; for each group a fresh copy of
    ``student.part1`` is trained exactly as :func:`fit_student_part1` trains it, on ``part1_mask`` minus the
    group, and predicts (eval mode) the group's ``ê``: out-of-sample, as a cold node's ``ê`` is, instead of
    ``ξ1``'s in-sample fit of its own training nodes. (Not the default: on Cora validation nodes part 2 did
    worse with it, see ``benchmarks/coldbrew_student_search.py`` and docs/methods/coldbrew.md.)

    Returns:
        ``[num_train, D]``, rows in the order of ``train_mask.nonzero()``.
    """
    if folds < 2:
        raise ConfigError(f"cross-fitting needs at least 2 folds, got {folds}")
    train_index = train_mask.nonzero().squeeze(1)
    generator = torch.Generator().manual_seed(int(seed))
    fold_of = torch.empty(train_index.numel(), dtype=torch.long)
    fold_of[torch.randperm(train_index.numel(), generator=generator)] = torch.arange(train_index.numel()) % folds
    fold_of = fold_of.to(train_index.device)
    e_hat = target_embeddings.new_zeros(train_index.numel(), target_embeddings.shape[1])
    for fold in range(folds):
        held_out = torch.zeros_like(train_mask)
        held_out[train_index[fold_of == fold]] = True
        fold_student = copy.deepcopy(student)  # same architecture, fresh part-1 weights
        fold_student.part1.reset_parameters()
        fold_settings = TrainSettings(
            settings.lr, settings.weight_decay, settings.max_epochs, settings.patience,
            None if settings.checkpoint_path is None else Path(settings.checkpoint_path).with_name(f"{Path(settings.checkpoint_path).stem}_fold{fold}.pt"),
            f"{settings.desc} {fold + 1}/{folds}", settings.fingerprint, settings.verbose,
        )
        fit_student_part1(fold_student, x, target_embeddings, val_mask, part1_mask & ~held_out, fold_settings)
        fold_student.eval()
        with torch.no_grad():
            e_hat[fold_of == fold] = fold_student.embed(Rows(x).fresh(held_out))
    return e_hat


def fit_student_part2(
    student: ColdBrewStudent,
    x: Tensor,
    y: Tensor,
    train_mask: Tensor,
    val_mask: Tensor,
    settings: TrainSettings,
    train_e_hat: Tensor | None = None,
) -> FitResult:
    """Student part 2: train ``ξ2`` and ``α`` with cross-entropy on ``train_mask`` from ``[x, α1·ẽ, α0·ê]``
    (or ``[x, ẽ]``), ``ξ1`` frozen, keeping the epoch best on validation accuracy.

    The rows of ``x`` are the graph's nodes: under ``student.leave_self_out`` each training and validation
    node's own bank row is left out of its virtual neighbours. ``train_e_hat`` (``[num_train, D]``, e.g. from
    :func:`cross_fitted_embeddings`) replaces ``ξ1(x)`` on the training nodes."""
    rows = Rows(x)

    def node_ids(mask: Tensor) -> Tensor:  # the graph ids of a mask's rows (what leave-self-out excludes)
        return mask.nonzero().squeeze(1)

    # Part 2: classify from [x, α1·ẽ, α0·ê]; ξ1 stays frozen (its output is detached in part2_features).
    for parameter in student.part1.parameters():
        parameter.requires_grad_(False)
    # ξ1 is frozen and has no dropout in eval mode, so the validation nodes' ê and ẽ are the same at every
    # evaluation: computed once (the training nodes' ê still changes, with ξ1's dropout, at every step).
    cached_val = bool(val_mask.any())
    if cached_val:
        student.eval()
        val_rows = rows(val_mask)
        with torch.no_grad():
            val_e_hat = student.embed(val_rows)
            val_e_tilde = student.neighbors(val_e_hat, node_ids(val_mask))

    if train_e_hat is not None:
        if train_e_hat.shape[0] != int(train_mask.sum()):
            raise ValueError(f"train_e_hat has {train_e_hat.shape[0]} rows for {int(train_mask.sum())} training nodes")
        train_rows = rows(train_mask)
        train_e_tilde = student.neighbors(train_e_hat, node_ids(train_mask))

    def part2_forward(mask: Tensor) -> Tensor:
        if cached_val and mask is val_mask and not student.training:
            return student.classify(val_rows, val_e_hat, val_e_tilde)
        if train_e_hat is not None and mask is train_mask:
            return student.classify(train_rows, train_e_hat, train_e_tilde)
        return student(rows(mask), node_ids(mask))

    # Adam skips parameters without gradients, so only ξ2 and α move.
    result = train_node_classifier(student, part2_forward, y, train_mask, val_mask, settings)
    for parameter in student.part1.parameters():
        parameter.requires_grad_(True)
    student.eval()
    return result
