"""Cold Brew, the algorithm (Zheng et al., ICLR 2022), readable top to bottom.

1. :func:`fit_teacher` — train the GCN with structural embeddings (eq. 2) on the graph, loss
   ``CE(train) + η‖E‖²`` (eq. 3), selecting the epoch on validation accuracy.
2. The teacher's concatenated layer embeddings ``Ē`` (§3.2) become the regression target and the bank of
   candidate neighbours.
3. :func:`fit_student` — part 1 regresses ``Ē`` from features (MSE); part 2 classifies from
   ``[x, α1·ẽ, α0·ê]``, ``ẽ`` being the top-K virtual neighbours of eq. 4.
4. The student then predicts for any node from its features alone: isolated, tail or brand-new.

:class:`ColdBrew` wraps the four steps behind ``fit`` / ``predict``. Baselines (GCN, GraphSAGE, MLP,
GraphMLP, label propagation) and the feature contribution ratio (eq. 5) live here too, because the
experiment trains them the same way.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import EarlyStopping, FitResult, fit_epochs, load_checkpoint, save_checkpoint
from iclr22.coldbrew.model import (
    NORMS,
    GCNSE,
    SAGE,
    Adjacency,
    as_sparse_if_sparse,
    ColdBrewStudent,
    FeatureMLP,
    GraphMLP,
    neighbor_contrastive_loss,
    mean_adjacency,
    normalized_adjacency,
    virtual_neighbors,
)

__all__ = [
    "GraphTensors",
    "validate_graph",
    "TrainSettings",
    "train_node_classifier",
    "fit_teacher",
    "teacher_embeddings",
    "fit_student",
    "fit_student_part1",
    "fit_student_part2",
    "cross_fitted_embeddings",
    "fit_mlp",
    "fit_sage",
    "fit_graphmlp",
    "label_propagation_predict",
    "feature_contribution_ratio",
    "accuracy",
    "ColdBrew",
]


# ----------------------------------------------------------------------------------------------- input
@dataclass
class GraphTensors:
    """A validated node-classification graph as tensors.

    Attributes:
        x: float32 ``[N, d]``.
        edge_index: int64 ``[2, E]``, undirected (both directions), no duplicates, no self loops.
        y: int64 ``[N]``, ``-1`` for unlabelled nodes.
        train_mask: bool ``[N]``.
        val_mask: bool ``[N]`` (may be all false).
        num_classes: ``C``.
    """

    x: Tensor
    edge_index: Tensor
    y: Tensor
    train_mask: Tensor
    val_mask: Tensor
    num_classes: int

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])

    def adjacency(self) -> Adjacency:
        """``Â = D^{-1/2}(A+I)D^{-1/2}`` of this graph (computed once)."""
        if "_adjacency" not in self.__dict__:
            self.__dict__["_adjacency"] = normalized_adjacency(self.edge_index, self.num_nodes)
        return self.__dict__["_adjacency"]

    def gnn_features(self) -> Tensor:
        """``x``, as sparse CSR when it is mostly zeros (computed once)."""
        if "_gnn_features" not in self.__dict__:
            self.__dict__["_gnn_features"] = as_sparse_if_sparse(self.x)
        return self.__dict__["_gnn_features"]

    def degrees(self) -> Tensor:
        return torch.bincount(self.edge_index[0], minlength=self.num_nodes)


class _Rows:
    """Rows of ``x`` selected by long-lived masks, cached, as sparse CSR when ``x`` is mostly zeros."""

    def __init__(self, x: Tensor) -> None:
        self.x = x
        self.sparse = x.layout == torch.strided and x.numel() > 0 and float((x != 0).float().mean()) <= 0.1
        self._cache: dict[int, tuple[Tensor, Tensor]] = {}
        # Slicing rows of a CSR matrix is ~50x faster than gathering dense rows and converting them, which
        # matters for GraphMLP's fresh random batch every epoch.
        self._csr = scipy.sparse.csr_matrix(x.numpy()) if self.sparse else None

    def __call__(self, index: Tensor) -> Tensor:
        key = id(index)
        if key in self._cache and self._cache[key][0] is index:
            return self._cache[key][1]
        rows = self.fresh(index)
        self._cache[key] = (index, rows)
        return rows

    def fresh(self, index: Tensor) -> Tensor:
        """Rows for a one-off index (not cached): a sparse CSR tensor when ``x`` is sparse, else dense rows."""
        if self._csr is None:
            return self.x[index]
        positions = torch.nonzero(index).flatten() if index.dtype == torch.bool else index
        rows = self._csr[positions.numpy()]
        with warnings.catch_warnings():  # scipy's canonical CSR (sorted, in-range indices) is a valid torch CSR
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(rows.indptr.astype(np.int64)),
                torch.from_numpy(rows.indices.astype(np.int64)),
                torch.from_numpy(rows.data.astype(np.float32, copy=False)),
                rows.shape,
            )


def _as_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot read
        raise DataError(f"{name}: cannot be read as an array ({exc})") from None


def _check_mask(mask: Any, name: str, num_nodes: int) -> np.ndarray:
    array = _as_numpy(mask, name)
    if array.ndim != 1 or array.shape[0] != num_nodes:
        raise DataError(f"{name}: expected a boolean mask of length {num_nodes} (one entry per node), got shape {tuple(array.shape)}")
    if array.dtype != bool:
        if array.dtype.kind not in "biu" or not np.isin(array, (0, 1)).all():
            raise DataError(f"{name}: expected a boolean mask, got dtype {array.dtype}")
        array = array.astype(bool)
    return array


def validate_graph(
    x: Any,
    edge_index: Any,
    y: Any,
    train_mask: Any,
    val_mask: Any = None,
    num_classes: int | None = None,
    where: str = "graph",
) -> GraphTensors:
    """Check a user's graph and return it as :class:`GraphTensors`.

    Edges are made undirected and de-duplicated and self loops dropped (the GCN adds its own).

    Args:
        x: ``[N, d]`` finite features.
        edge_index: ``[2, E]`` integer node ids in ``0..N-1``; at least one edge.
        y: ``[N]`` integer labels in ``0..C-1``, or ``-1`` for unlabelled nodes.
        train_mask: ``[N]`` booleans; every training node must be labelled.
        val_mask: ``[N]`` booleans or ``None`` (no validation: the last epoch is kept).
        num_classes: ``C``; default ``max(y) + 1``.
        where: Name of the input for error messages (a file or dataset name).

    Raises:
        DataError: naming the array and what is wrong (NaN features, an edge naming a node that does not
            exist, a graph with no edge, labels out of range, masks of the wrong length, ...).
    """
    x_np = _as_numpy(x, f"{where}: x")
    if x_np.ndim != 2 or x_np.shape[0] == 0 or x_np.shape[1] == 0:
        raise DataError(f"{where}: x must be a non-empty 2-D feature matrix [num_nodes, num_features], got shape {tuple(x_np.shape)}")
    if x_np.dtype.kind not in "biuf":
        raise DataError(f"{where}: x must be numeric, got dtype {x_np.dtype}")
    x_np = x_np.astype(np.float32)
    if not np.isfinite(x_np).all():
        bad_row = int(np.argwhere(~np.isfinite(x_np))[0, 0])
        raise DataError(f"{where}: x holds {int((~np.isfinite(x_np)).sum())} NaN/inf value(s) (first in row {bad_row}); features must be finite")
    num_nodes = x_np.shape[0]

    edges = _as_numpy(edge_index, f"{where}: edge_index")
    if edges.ndim != 2 or edges.shape[0] != 2:
        raise DataError(f"{where}: edge_index must have shape [2, num_edges], got {tuple(edges.shape)}")
    if edges.dtype.kind not in "iu":
        if edges.dtype.kind != "f" or not np.isfinite(edges).all() or not (edges == np.round(edges)).all():
            raise DataError(f"{where}: edge_index must hold integer node ids, got dtype {edges.dtype}")
    edges = edges.astype(np.int64)
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        bad = int(edges.min()) if edges.min() < 0 else int(edges.max())
        raise DataError(f"{where}: edge_index names node {bad}, which does not exist (x has {num_nodes} nodes, ids 0..{num_nodes - 1})")
    edges = edges[:, edges[0] != edges[1]]
    if edges.shape[1] == 0:
        raise DataError(f"{where}: the graph has no edges (self loops aside); Cold Brew's teacher needs a graph to distil")
    keys = np.unique(np.concatenate([edges[0] * num_nodes + edges[1], edges[1] * num_nodes + edges[0]]))
    edges = np.stack([keys // num_nodes, keys % num_nodes])

    labels = _as_numpy(y, f"{where}: y")
    if labels.ndim != 1 or labels.shape[0] != num_nodes:
        raise DataError(f"{where}: y must have one label per node ({num_nodes}), got shape {tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.isfinite(labels).all() or not (labels == np.round(labels)).all():
            raise DataError(f"{where}: y must hold integer class ids (-1 for unlabelled), got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if num_classes < 2:
        raise DataError(f"{where}: y must hold at least 2 classes, found {num_classes}")
    if labels.min() < -1 or labels.max() >= num_classes:
        bad = int(labels.min()) if labels.min() < -1 else int(labels.max())
        raise DataError(f"{where}: label {bad} is out of range (expected 0..{num_classes - 1}, or -1 for unlabelled)")

    train = _check_mask(train_mask, f"{where}: train_mask", num_nodes)
    val = _check_mask(val_mask, f"{where}: val_mask", num_nodes) if val_mask is not None else np.zeros(num_nodes, dtype=bool)
    if not train.any():
        raise DataError(f"{where}: train_mask selects no node")
    if (labels[train] < 0).any():
        raise DataError(f"{where}: {int((labels[train] < 0).sum())} training node(s) are unlabelled (y = -1)")
    if (labels[val] < 0).any():
        raise DataError(f"{where}: {int((labels[val] < 0).sum())} validation node(s) are unlabelled (y = -1)")
    return GraphTensors(
        x=torch.from_numpy(x_np),
        edge_index=torch.from_numpy(edges.astype(np.int64)),
        y=torch.from_numpy(labels),
        train_mask=torch.from_numpy(train),
        val_mask=torch.from_numpy(val),
        num_classes=int(num_classes),
    )


def _from_pyg(data: Any, train_mask: Any = None, val_mask: Any = None, num_classes: int | None = None) -> GraphTensors:
    for attribute in ("x", "edge_index", "y"):
        if getattr(data, attribute, None) is None:
            raise DataError(f"graph: the Data object has no '{attribute}'")
    train = train_mask if train_mask is not None else getattr(data, "train_mask", None)
    if train is None:
        raise DataError("graph: no train_mask (pass train_mask= or set data.train_mask)")
    val = val_mask if val_mask is not None else getattr(data, "val_mask", None)
    y = data.y.reshape(-1) if isinstance(data.y, Tensor) and data.y.dim() == 2 and data.y.shape[1] == 1 else data.y
    return validate_graph(data.x, data.edge_index, y, train, val, num_classes)


def accuracy(logits_or_pred: Tensor, y: Tensor, mask: Tensor | np.ndarray | None = None) -> float:
    """Accuracy in percent over ``mask`` (NaN when the mask is empty)."""
    pred = logits_or_pred.argmax(-1) if logits_or_pred.dim() == 2 else logits_or_pred
    if mask is not None:
        mask = torch.as_tensor(mask, dtype=torch.bool)
        pred, y = pred[mask], y[mask]
    if y.numel() == 0:
        return math.nan
    return float((pred == y).float().mean() * 100)


# -------------------------------------------------------------------------------------------- training
@dataclass
class TrainSettings:
    """Optimiser and schedule of one full-batch training (Adam, as in the official code).

    Attributes:
        lr: Learning rate (official code: 0.005 for every model).
        weight_decay: L2 weight decay (5e-4).
        max_epochs: Upper bound on epochs (official: 1500).
        patience: Epochs without a better validation score before stopping (``None``: never).
        checkpoint_path: Where to save/resume this training (``None``: no checkpoint).
        desc: Progress-bar label.
        fingerprint: Identifies the settings that produced ``checkpoint_path``; resuming a checkpoint saved
            under another fingerprint raises ``ConfigError`` instead of continuing someone else's training.
    """

    lr: float = 0.005
    weight_decay: float = 5e-4
    max_epochs: int = 1500
    patience: int | None = 300
    checkpoint_path: str | Path | None = None
    desc: str = "train"
    fingerprint: str | None = None

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
    hidden_channels: int = 64,
    num_layers: int = 2,
    se_layers: tuple[bool, ...] | None = None,
    dropout: float = 0.6,
    norm: str = "pairnorm",
    se_reg: float = 0.1,
    se_penalty: str = "squared",
    settings: TrainSettings | None = None,
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
    if se_penalty not in ("squared", "norm"):
        raise ConfigError(f"se_penalty must be 'squared' or 'norm', got {se_penalty!r}")
    if norm not in NORMS:
        raise ConfigError(f"norm must be one of {NORMS}, got {norm!r}")
    settings = settings or TrainSettings(desc="teacher")
    teacher = GCNSE(graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, graph.num_nodes, se_layers, dropout, norm)
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
    hidden_channels: int = 256,
    num_layers: int = 2,
    dropout: float = 0.5,
    top_k: int = 3,
    part2_input: str = "code",
    part1_settings: TrainSettings | None = None,
    part2_settings: TrainSettings | None = None,
    alpha_init: float = 1e-4,
    bank_node_ids: Tensor | None = None,
    leave_self_out: bool = False,
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
        alpha_init: Initial ``α0``, ``α1`` (official code 1e-4).
        bank_node_ids: ``[M]`` the node id (row of ``x``) of each bank row; needed by ``leave_self_out``.
        leave_self_out: A node never retrieves its own bank row as a virtual neighbour, in training and in
            validation alike (official code: it may).
    """
    student = ColdBrewStudent(
        x.shape[1], target_embeddings.shape[1], num_classes, hidden_channels, num_layers, dropout, top_k, part2_input, alpha_init,
        leave_self_out,
    )
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
    settings: TrainSettings | None = None,
) -> FitResult:
    """Student part 1: train ``student.part1`` (``ξ1``) to regress the teacher's ``Ē`` from features alone (MSE).

    Trains on ``part1_mask`` and keeps the epoch with the lowest MSE on ``val_mask & part1_mask`` (on
    ``part1_mask`` when that is empty).
    """
    settings = settings or TrainSettings(desc="student part 1")
    monitor = val_mask & part1_mask if bool((val_mask & part1_mask).any()) else part1_mask
    optimizer = torch.optim.Adam(student.part1.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    rows = _Rows(x)
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
    settings: TrainSettings | None = None,
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
    settings = settings or TrainSettings(desc="student part 1 fold")
    train_index = train_mask.nonzero().squeeze(1)
    generator = torch.Generator().manual_seed(int(seed))
    fold_of = torch.empty(train_index.numel(), dtype=torch.long)
    fold_of[torch.randperm(train_index.numel(), generator=generator)] = torch.arange(train_index.numel()) % folds
    e_hat = target_embeddings.new_zeros(train_index.numel(), target_embeddings.shape[1])
    for fold in range(folds):
        held_out = torch.zeros_like(train_mask)
        held_out[train_index[fold_of == fold]] = True
        fold_student = copy.deepcopy(student)  # same architecture, fresh part-1 weights
        fold_student.part1.reset_parameters()
        fold_settings = TrainSettings(
            settings.lr, settings.weight_decay, settings.max_epochs, settings.patience,
            None if settings.checkpoint_path is None else Path(settings.checkpoint_path).with_name(f"{Path(settings.checkpoint_path).stem}_fold{fold}.pt"),
            f"{settings.desc} {fold + 1}/{folds}", settings.fingerprint,
        )
        fit_student_part1(fold_student, x, target_embeddings, val_mask, part1_mask & ~held_out, fold_settings)
        fold_student.eval()
        with torch.no_grad():
            e_hat[fold_of == fold] = fold_student.embed(_Rows(x).fresh(held_out))
    return e_hat


def fit_student_part2(
    student: ColdBrewStudent,
    x: Tensor,
    y: Tensor,
    train_mask: Tensor,
    val_mask: Tensor,
    settings: TrainSettings | None = None,
    train_e_hat: Tensor | None = None,
) -> FitResult:
    """Student part 2: train ``ξ2`` and ``α`` with cross-entropy on ``train_mask`` from ``[x, α1·ẽ, α0·ê]``
    (or ``[x, ẽ]``), ``ξ1`` frozen, keeping the epoch best on validation accuracy.

    The rows of ``x`` are the graph's nodes: under ``student.leave_self_out`` each training and validation
    node's own bank row is left out of its virtual neighbours. ``train_e_hat`` (``[num_train, D]``, e.g. from
    :func:`cross_fitted_embeddings`) replaces ``ξ1(x)`` on the training nodes."""
    settings = settings or TrainSettings(desc="student part 2")
    rows = _Rows(x)

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


def fit_mlp(
    graph: GraphTensors, hidden_channels: int = 256, num_layers: int = 2, dropout: float = 0.5, settings: TrainSettings | None = None
) -> tuple[FeatureMLP, FitResult]:
    """The simple MLP baseline: the student's part-2 network on ``x`` alone."""
    model = FeatureMLP(graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, dropout)
    rows = _Rows(graph.x)
    result = train_node_classifier(
        model, lambda mask: model(rows(mask)), graph.y, graph.train_mask, graph.val_mask, settings or TrainSettings(desc="mlp")
    )
    model.eval()
    return model, result


def fit_sage(
    graph: GraphTensors, hidden_channels: int = 64, num_layers: int = 2, dropout: float = 0.5, settings: TrainSettings | None = None
) -> tuple[SAGE, FitResult]:
    """The GraphSAGE baseline (mean aggregation), trained full-batch."""
    model = SAGE(graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, dropout)
    features, mean_adj = graph.gnn_features(), mean_adjacency(graph.edge_index, graph.num_nodes)
    result = train_node_classifier(
        model, lambda mask: model(features, mean_adj)[mask], graph.y, graph.train_mask, graph.val_mask, settings or TrainSettings(desc="sage")
    )
    model.eval()
    return model, result


def _adjacency_power(graph: GraphTensors, hops: int) -> Tensor:
    """Dense ``Â^r`` (with self loops), GraphMLP's neighbourhood target."""
    adjacency = graph.adjacency().to_dense()
    power = adjacency
    for _ in range(hops - 1):
        power = power @ adjacency
    return power


def fit_graphmlp(
    graph: GraphTensors,
    hidden_channels: int = 256,
    dropout: float = 0.6,
    tau: float = 1.0,
    hops: int = 3,
    reg: float = 10.0,
    batch_size: int = 1000,
    settings: TrainSettings | None = None,
) -> tuple[GraphMLP, FitResult]:
    """The GraphMLP baseline: ``CE(train) + reg · NContrast`` (Hu et al. 2021, eq. 4).

    The contrastive term is computed each epoch on a random batch of ``batch_size`` nodes against
    ``Â^r`` restricted to the batch. Defaults are the official Cold Brew code's GraphMLP setting
    (``reg`` 10, ``τ`` 1, ``r`` 3). ``Â^r`` is dense (``N²`` floats): meant for graphs up to ~20k nodes.
    """
    settings = settings or TrainSettings(desc="graphmlp")
    if graph.num_nodes > 30_000:
        raise ConfigError(
            f"GraphMLP builds a dense N×N neighbourhood matrix; {graph.num_nodes} nodes is too many "
            "(leave it out with --set models=gcn,sage,mlp,gcn_se,coldbrew)"
        )
    model = GraphMLP(graph.x.shape[1], graph.num_classes, hidden_channels, dropout)
    target = _adjacency_power(graph, hops)
    batch = min(batch_size, graph.num_nodes)
    rows = _Rows(graph.x)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        optimizer.zero_grad()
        nodes = torch.randperm(graph.num_nodes)[:batch]
        train_logits = model(rows(graph.train_mask))
        _, z = model(rows.fresh(nodes), return_embedding=True)
        loss = F.cross_entropy(train_logits, graph.y[graph.train_mask])
        contrast = neighbor_contrastive_loss(z, target.index_select(0, nodes).index_select(1, nodes), tau)
        loss = loss + reg * contrast
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach())}

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            return accuracy(model(rows(graph.val_mask)), graph.y[graph.val_mask])

    result = settings.run(model, optimizer, train_epoch, evaluate if bool(graph.val_mask.any()) else None)
    model.eval()
    return model, result


def label_propagation_predict(graph: GraphTensors, num_layers: int = 50, alpha: float | None = 0.5) -> Tensor:
    """Label propagation from the training labels (features ignored): ``Y ← α Â Y + (1−α) Y0``, clamped to [0, 1].

    Uses PyG's :class:`~torch_geometric.nn.models.LabelPropagation` (symmetric normalisation), the LP of
    the paper's FCR (Table 9: Cora 50 propagations). With ``alpha=None`` the paper's Appendix-B grid
    ``{0.01, 0.1, 0.5, 0.9, 0.99}`` is searched on validation accuracy. Returns ``[N, C]`` scores.
    """
    from torch_geometric.nn.models import LabelPropagation

    y = graph.y.clamp(min=0)
    if alpha is not None:
        return LabelPropagation(num_layers=num_layers, alpha=alpha)(y, graph.edge_index, mask=graph.train_mask)
    best_scores, best_accuracy = None, -1.0
    for candidate in LP_ALPHA_GRID:
        scores = LabelPropagation(num_layers=num_layers, alpha=candidate)(y, graph.edge_index, mask=graph.train_mask)
        value = accuracy(scores, graph.y, graph.val_mask) if bool(graph.val_mask.any()) else 0.0
        if value > best_accuracy:
            best_scores, best_accuracy = scores, value
    return best_scores


LP_ALPHA_GRID = (0.01, 0.1, 0.5, 0.9, 0.99)


def feature_contribution_ratio(z_gnn: float, z_mlp: float, z_lp: float) -> float:
    """Feature contribution ratio, paper eq. 5, in percent.

    With ``δ_MLP = z_GNN − z_MLP`` and ``δ_LP = z_GNN − z_LP``: if ``z_MLP ≤ z_GNN``,
    ``FCR = δ_LP / (δ_MLP + δ_LP)``; otherwise ``FCR = 1 + |δ_MLP| / (|δ_MLP| + δ_LP)``. A high FCR says
    the labels are explained mostly by node features (an MLP student can do well), a low one that the
    neighbourhood matters. NaN when the denominators vanish.
    """
    delta_mlp, delta_lp = z_gnn - z_mlp, z_gnn - z_lp
    if z_mlp <= z_gnn:
        denominator = delta_mlp + delta_lp
        return math.nan if denominator == 0 else 100.0 * delta_lp / denominator
    denominator = abs(delta_mlp) + delta_lp
    return math.nan if denominator == 0 else 100.0 * (1.0 + abs(delta_mlp) / denominator)


# --------------------------------------------------------------------------------------- the estimator
class ColdBrew:
    """Cold Brew: a GCN+SE teacher distilled into an MLP that predicts from node features alone.

    ``fit`` trains the teacher on your graph (paper eq. 2–3), then the student (eq. 4 and §3.3–3.5).
    ``predict`` / ``predict_proba`` / ``transform`` then need only features: nodes with no edges at all
    (strict cold start), nodes whose edges are few or wrong, or nodes that did not exist at training time.
    ``save`` / ``load`` keep the student and its neighbour bank in a weights-only file that serves
    inference with no graph and no teacher.

    Args:
        hidden_channels: Teacher hidden width (official Cora setting: 64).
        num_layers: Teacher GCN layers.
        se_layers: Which teacher layers carry a structural embedding (``None``: all).
        norm: Teacher normalisation: ``none`` (what the official Cora code runs), ``pairnorm`` (paper Table 7),
            ``nodenorm``, ``batchnorm``.
        dropout: Teacher dropout.
        se_reg: ``η`` of eq. 3.
        se_penalty: ``"squared"`` (paper eq. 3) or ``"norm"`` (official code: unsquared Frobenius norm).
        lr: Teacher Adam learning rate.
        weight_decay: Adam weight decay of every model.
        epochs: Maximum teacher epochs.
        patience: Early-stopping patience on validation (``None``: run all epochs, keep the best).
        student_hidden_channels: Hidden width of the student MLPs.
        student_layers: Linear layers per student MLP.
        student_dropout: Student dropout (README Cora command: 0.5).
        student_lr: Student Adam learning rate.
        student_epochs: Maximum epochs of each student part.
        top_k: ``K`` virtual neighbours (eq. 4).
        part2_input: ``"code"`` (``[x, α1·ẽ, α0·ê]``) or ``"paper"`` (``[x, ẽ]``).
        alpha_init: Initial value of the learnable ``α0``, ``α1`` of the ``"code"`` input. 1 was chosen on Cora
            validation nodes (``benchmarks/coldbrew_student_search.py``); the official code starts them at 1e-4.
        part1_nodes: Nodes part 1 regresses: ``"non_isolated"`` (paper) or ``"train"`` (official code).
        neighbor_pool: Bank of virtual neighbours: ``"all"`` nodes (paper/code), ``"non_isolated"`` or ``"train"``.
        leave_self_out: A node of the training graph never retrieves its own teacher embedding as a virtual
            neighbour (in part 2's training and validation, and in ``predict(..., node_ids=...)``), as a
            brand-new node cannot; the official code does not exclude it.
        seed: Seed set before training (``None``: leave the RNGs alone).
        checkpoint_dir: Folder for resumable checkpoints of each training stage (``None``: none).

    Attributes (after ``fit``):
        teacher_: The trained :class:`GCNSE`.
        student_: The trained :class:`ColdBrewStudent` (holds its neighbour bank).
        num_classes_: ``C``.
        n_features_in_: ``d``.
        teacher_embeddings_: ``[N, D]`` teacher ``Ē`` of the training graph.
        history_: Best epochs and validation scores of each stage.

    Example:
        >>> model = ColdBrew(top_k=3).fit(x=x, edge_index=edge_index, y=y, train_mask=train, val_mask=val)
        >>> model.predict(new_node_features)  # no edges needed
    """

    def __init__(
        self,
        hidden_channels: int = 64,
        num_layers: int = 2,
        se_layers: tuple[bool, ...] | None = None,
        norm: str = "none",
        dropout: float = 0.6,
        se_reg: float = 0.1,
        se_penalty: str = "squared",
        lr: float = 0.005,
        weight_decay: float = 5e-4,
        epochs: int = 1500,
        patience: int | None = 300,
        student_hidden_channels: int = 256,
        student_layers: int = 2,
        student_dropout: float = 0.5,
        student_lr: float = 0.005,
        student_epochs: int = 1500,
        top_k: int = 3,
        part2_input: str = "code",
        alpha_init: float = 1.0,
        part1_nodes: str = "non_isolated",
        neighbor_pool: str = "all",
        leave_self_out: bool = False,
        seed: int | None = 0,
        checkpoint_dir: str | Path | None = None,
    ) -> None:
        self.hidden_channels, self.num_layers, self.se_layers = hidden_channels, num_layers, se_layers
        self.norm, self.dropout, self.se_reg, self.se_penalty = norm, dropout, se_reg, se_penalty
        self.lr, self.weight_decay, self.epochs, self.patience = lr, weight_decay, epochs, patience
        self.student_hidden_channels, self.student_layers = student_hidden_channels, student_layers
        self.student_dropout, self.student_lr, self.student_epochs = student_dropout, student_lr, student_epochs
        self.top_k, self.part2_input, self.part1_nodes, self.neighbor_pool = top_k, part2_input, part1_nodes, neighbor_pool
        self.alpha_init, self.leave_self_out = alpha_init, leave_self_out
        self.seed, self.checkpoint_dir = seed, checkpoint_dir

    # -- parameters ---------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (scikit-learn convention)."""
        names = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        return {name: getattr(self, name) for name in names}

    def _check_params(self) -> None:
        choices = {
            "norm": NORMS,
            "se_penalty": ("squared", "norm"),
            "part2_input": ("code", "paper"),
            "part1_nodes": ("non_isolated", "train"),
            "neighbor_pool": ("all", "non_isolated", "train"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"ColdBrew: {name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("hidden_channels", "num_layers", "epochs", "student_hidden_channels", "student_layers", "student_epochs", "top_k"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"ColdBrew: {name} must be at least 1, got {getattr(self, name)}")
        for name in ("dropout", "student_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"ColdBrew: {name} must be in [0, 1), got {getattr(self, name)}")
        if not math.isfinite(self.alpha_init):
            raise ConfigError(f"ColdBrew: alpha_init must be a finite number, got {self.alpha_init}")
        if self.se_reg < 0 or self.lr <= 0 or self.student_lr <= 0:
            raise ConfigError("ColdBrew: se_reg must be ≥ 0 and learning rates > 0")

    def _settings(self, stage: str, lr: float, epochs: int) -> TrainSettings:
        path = Path(self.checkpoint_dir) / f"{stage}.pt" if self.checkpoint_dir is not None else None
        # a folder reused with other settings (another alpha_init, K, seed...) must not resume their training
        params = {name: value for name, value in self.get_params().items() if name != "checkpoint_dir"}
        fingerprint = hashlib.sha256(json.dumps([stage, params], sort_keys=True, default=str).encode()).hexdigest()[:16]
        return TrainSettings(lr, self.weight_decay, epochs, self.patience, path, stage.replace("_", " "), fingerprint)

    # -- fitting ------------------------------------------------------------------------------------
    def fit(
        self,
        data: Any = None,
        *,
        x: Any = None,
        edge_index: Any = None,
        y: Any = None,
        train_mask: Any = None,
        val_mask: Any = None,
        num_classes: int | None = None,
    ) -> "ColdBrew":
        """Train teacher and student on one graph.

        Pass either a ``torch_geometric.data.Data`` (``x``, ``edge_index``, ``y``, ``train_mask``, optional
        ``val_mask``) or the arrays themselves. Nodes with no edge in this graph are the "isolated" ones
        that part 1 skips under ``part1_nodes="non_isolated"``.

        Raises:
            DataError: on invalid input (see :func:`validate_graph`).
            ConfigError: on invalid parameters.
        """
        self._check_params()
        if data is not None:
            graph = _from_pyg(data, train_mask, val_mask, num_classes)
        else:
            if x is None or edge_index is None or y is None or train_mask is None:
                raise DataError("ColdBrew.fit: pass a PyG Data object or x, edge_index, y and train_mask")
            graph = validate_graph(x, edge_index, y, train_mask, val_mask, num_classes)
        return self._fit_graph(graph)

    def _fit_graph(self, graph: GraphTensors) -> "ColdBrew":
        if self.seed is not None:
            from iclr22.core.seed import seed_everything

            seed_everything(self.seed)
        self.teacher_, teacher_result = fit_teacher(
            graph,
            self.hidden_channels,
            self.num_layers,
            self.se_layers,
            self.dropout,
            self.norm,
            self.se_reg,
            self.se_penalty,
            self._settings("teacher", self.lr, self.epochs),
        )
        _, embeddings = teacher_embeddings(self.teacher_, graph)
        connected = graph.degrees() > 0
        part1_mask = connected if self.part1_nodes == "non_isolated" else graph.train_mask
        if not bool(part1_mask.any()):
            part1_mask = graph.train_mask
        pool = {"all": torch.ones_like(connected), "non_isolated": connected, "train": graph.train_mask}[self.neighbor_pool]
        self.student_, part1_result, part2_result = fit_student(
            graph.x,
            graph.y,
            embeddings,
            graph.train_mask,
            graph.val_mask,
            part1_mask,
            embeddings[pool],
            graph.num_classes,
            self.student_hidden_channels,
            self.student_layers,
            self.student_dropout,
            self.top_k,
            self.part2_input,
            self._settings("student_part1", self.student_lr, self.student_epochs),
            self._settings("student_part2", self.student_lr, self.student_epochs),
            self.alpha_init,
            pool.nonzero().squeeze(1),
            bool(self.leave_self_out),
        )
        self.teacher_embeddings_ = embeddings
        self.num_classes_ = graph.num_classes
        self.n_features_in_ = int(graph.x.shape[1])
        self.history_ = {
            "teacher": {"best_epoch": teacher_result.best_epoch, "val_acc": teacher_result.best_value, "epochs": teacher_result.epochs_run},
            "student_part1": {"best_epoch": part1_result.best_epoch, "val_mse": -part1_result.best_value, "epochs": part1_result.epochs_run},
            "student_part2": {"best_epoch": part2_result.best_epoch, "val_acc": part2_result.best_value, "epochs": part2_result.epochs_run},
        }
        return self

    # -- inference ----------------------------------------------------------------------------------
    def _features(self, x: Any) -> Tensor:
        if not hasattr(self, "student_"):
            raise ConfigError("ColdBrew: call fit (or load) before predicting")
        array = _as_numpy(x, "x")
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != self.n_features_in_:
            raise DataError(f"x: expected features of shape [num_nodes, {self.n_features_in_}], got {tuple(array.shape)}")
        if array.dtype.kind not in "biuf":
            raise DataError(f"x: features must be numeric, got dtype {array.dtype}")
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise DataError(f"x: features hold NaN/inf (first in row {int(np.argwhere(~np.isfinite(array))[0, 0])})")
        return torch.from_numpy(array)

    def _node_ids(self, node_ids: Any, num_rows: int) -> Tensor | None:
        if node_ids is None:
            return None
        ids = _as_numpy(node_ids, "node_ids").reshape(-1)
        if ids.shape[0] != num_rows or ids.dtype.kind not in "iu":
            raise DataError(f"node_ids: expected {num_rows} integer node ids (one per row of x, -1 for a new node), got {ids.shape[0]} of dtype {ids.dtype}")
        return torch.from_numpy(ids.astype(np.int64))

    @torch.no_grad()
    def predict_proba(self, x: Any, batch_size: int = 65536, node_ids: Any = None) -> np.ndarray:
        """Class probabilities ``[M, C]`` from node features alone (the student, eval mode).

        ``node_ids``: when the rows of ``x`` are nodes of the training graph, their ids (−1 for a new
        node), so that under ``leave_self_out`` no node retrieves its own teacher embedding. Without it
        every row is treated as a new node.
        """
        features = self._features(x)
        ids = self._node_ids(node_ids, features.shape[0])
        self.student_.eval()
        # Bag-of-words features go through the first layers as sparse CSR, several times faster.
        chunks = [
            torch.softmax(
                self.student_(as_sparse_if_sparse(features[i : i + batch_size]), None if ids is None else ids[i : i + batch_size]), dim=-1
            )
            for i in range(0, features.shape[0], batch_size)
        ]
        return torch.cat(chunks).numpy() if chunks else np.zeros((0, self.num_classes_), dtype=np.float32)

    def predict(self, x: Any, node_ids: Any = None) -> np.ndarray:
        """Predicted class ids ``[M]`` from node features alone (``node_ids`` as in :meth:`predict_proba`)."""
        return self.predict_proba(x, node_ids=node_ids).argmax(axis=1)

    @torch.no_grad()
    def transform(self, x: Any) -> np.ndarray:
        """The student's estimate ``ê = ξ1(x)`` of the teacher embedding ``Ē`` (``[M, D]``)."""
        features = self._features(x)
        self.student_.eval()
        return self.student_.embed(as_sparse_if_sparse(features)).numpy()

    @torch.no_grad()
    def virtual_neighbor_embeddings(self, x: Any, node_ids: Any = None) -> np.ndarray:
        """``ẽ`` of eq. 4 for these nodes: the softmax-weighted top-K teacher embeddings (``[M, D]``)."""
        features = self._features(x)
        ids = self._node_ids(node_ids, features.shape[0])
        self.student_.eval()
        return self.student_.neighbors(self.student_.embed(as_sparse_if_sparse(features)), ids).numpy()

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the student (with its neighbour bank) and the parameters to a weights-only file.

        The teacher is not saved: inference needs none. Read it back with :meth:`load`.
        """
        if not hasattr(self, "student_"):
            raise ConfigError("ColdBrew: nothing to save, call fit first")
        params = {k: (list(v) if isinstance(v, tuple) else (str(v) if isinstance(v, Path) else v)) for k, v in self.get_params().items()}
        state = {
            "format": "iclr22.coldbrew/1",
            "params": params,
            "num_classes": self.num_classes_,
            "n_features_in": self.n_features_in_,
            "embedding_dim": int(self.student_.bank.shape[1]),
            "student": self.student_.state_dict(),
        }
        return save_checkpoint(path, state)

    @classmethod
    def load(cls, path: str | Path) -> "ColdBrew":
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``: the file cannot run code).

        Raises:
            DataError: the file is missing, unreadable, or not a Cold Brew model.
        """
        state = load_checkpoint(path)
        if not isinstance(state, Mapping) or state.get("format") != "iclr22.coldbrew/1":
            raise DataError(f"{path}: not a Cold Brew model saved by ColdBrew.save")
        params = dict(state["params"])
        if params.get("se_layers") is not None:
            params["se_layers"] = tuple(params["se_layers"])
        model = cls(**params)
        student_state = state["student"]
        model.student_ = ColdBrewStudent(
            int(state["n_features_in"]),
            int(state["embedding_dim"]),
            int(state["num_classes"]),
            model.student_hidden_channels,
            model.student_layers,
            model.student_dropout,
            model.top_k,
            model.part2_input,
            model.alpha_init,
            model.leave_self_out,
        )
        model.student_.bank = torch.zeros_like(student_state["bank"])
        if "bank_node_ids" in student_state:
            model.student_.bank_node_ids = torch.zeros_like(student_state["bank_node_ids"])
        else:  # a file written before the bank carried node ids: nothing can be left out
            student_state = {**student_state, "bank_node_ids": torch.zeros(0, dtype=torch.long)}
        try:
            model.student_.load_state_dict(student_state)
        except RuntimeError as exc:
            raise DataError(f"{path}: student weights do not match the saved shapes ({str(exc).splitlines()[0]})") from None
        model.student_.eval()
        model.num_classes_ = int(state["num_classes"])
        model.n_features_in_ = int(state["n_features_in"])
        return model

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k].default}
        return f"ColdBrew({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

