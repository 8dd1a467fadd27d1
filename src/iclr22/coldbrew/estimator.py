"""The public Cold Brew estimator and its plain functional entry point.

:class:`ColdBrew` (scikit-learn contract, :class:`iclr22.core.estimator.Estimator`) runs the algorithm of
:mod:`iclr22.coldbrew.train` behind ``fit`` / ``predict``; its ``__init__`` is the single source of every
hyperparameter (name, type, default, meaning) for the Python API and for ``iclr22 run coldbrew --set``.
:func:`cold_brew` is the same in one call.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from torch import Tensor

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.core.seed import seed_everything
from iclr22.core.validation import as_numpy, check_array
from iclr22.coldbrew.graph import GraphTensors, graph_from_pyg, validate_graph
from iclr22.coldbrew.model import ColdBrewStudent, Norm, Part2Input, as_sparse_if_sparse
from iclr22.coldbrew.train import SePenalty, TrainSettings, fit_student, fit_teacher, teacher_embeddings

__all__ = ["ColdBrew", "cold_brew"]

Part1Nodes = Literal["non_isolated", "train"]
NeighborPool = Literal["all", "non_isolated", "train"]


class ColdBrew(ClassifierMixin, Estimator):
    """Cold Brew: a GCN+SE teacher distilled into an MLP that predicts from node features alone.

    ``fit`` trains the teacher on your graph (paper eq. 2–3), then the student (eq. 4 and §3.3–3.5).
    ``predict`` / ``predict_proba`` / ``transform`` / ``score`` (accuracy in percent) then need only
    features: nodes with no edges at all (strict cold start), nodes whose edges are few or wrong, or nodes
    that did not exist at training time.
    ``save`` / ``load`` keep the student and its neighbour bank (a folder: ``estimator.json`` and a
    weights-only ``state.pt``), which serve inference with no graph and no teacher.

    Args:
        hidden_channels: Teacher (and GCN / GraphSAGE baseline) hidden width (official Cora setting: 64).
        num_layers: Teacher GCN layers.
        se_layers: Which teacher layers carry a structural embedding (``None``: all).
        norm: Teacher (and GCN baseline) normalisation: ``none`` (what the official Cora code runs),
            ``pairnorm`` (paper Table 7), ``nodenorm``, ``batchnorm``.
        dropout: Teacher (and GCN baseline) dropout.
        se_reg: ``η`` of eq. 3.
        se_penalty: ``"squared"`` (paper eq. 3) or ``"norm"`` (official code: unsquared Frobenius norm).
        lr: Teacher (and GCN / GraphSAGE baseline) Adam learning rate.
        weight_decay: Adam weight decay of every model.
        epochs: Maximum teacher (and GCN / GraphSAGE baseline) epochs.
        patience: Early-stopping patience on validation, in epochs, of every model (``None``: run all epochs, keep the best).
        student_hidden_channels: Hidden width of the student MLPs (and of the MLP baseline).
        student_layers: Linear layers per student MLP (and of the MLP baseline).
        student_dropout: Student (and MLP baseline) dropout (README Cora command: 0.5).
        student_lr: Student (and MLP / GraphMLP baseline) Adam learning rate.
        student_epochs: Maximum epochs of each student part (and of the MLP / GraphMLP baselines).
        top_k: ``K`` virtual neighbours (eq. 4).
        part2_input: ``"code"`` (``[x, α1·ẽ, α0·ê]``) or ``"paper"`` (``[x, ẽ]``).
        alpha_init: Initial value of the learnable ``α0``, ``α1`` of the ``"code"`` input. 1 was chosen on Cora
            validation nodes (``benchmarks/coldbrew_student_search.py``); the official code starts them at 1e-4.
        part1_nodes: Nodes part 1 regresses: ``"non_isolated"`` (paper) or ``"train"`` (official code).
        neighbor_pool: Bank of virtual neighbours: ``"all"`` nodes (paper/code), ``"non_isolated"`` or ``"train"``.
        leave_self_out: A node never retrieves its own teacher embedding as a virtual neighbour. This holds in
            part 2's training and validation, and in ``predict(..., node_ids=...)``, as a brand-new node cannot;
            the official code does not exclude it.
        seed: Seed set before training (``None``: leave the RNGs alone).
        checkpoint_dir: Folder for resumable checkpoints of each training stage (``None``: none).
        device: Where the teacher, the student and every tensor live (``cpu``, ``cuda``, ``cuda:N``).
        verbose: Progress bars: ``None`` on a terminal only, ``True`` always, ``False`` never.

    Attributes (after ``fit``):
        teacher_: The trained :class:`~iclr22.coldbrew.model.GCNSE` (not saved: inference needs none).
        student_: The trained :class:`~iclr22.coldbrew.model.ColdBrewStudent` (holds its neighbour bank).
        classes_: ``[0, 1, ..., C-1]``.
        num_classes_: ``C``.
        n_features_in_: ``d``.
        teacher_embeddings_: ``[N, D]`` teacher ``Ē`` of the training graph.
        history_: Best epochs and validation scores of each stage (accuracy in percent, part 1's MSE).

    Example:
        >>> model = ColdBrew(top_k=3).fit(X, y, edge_index=edge_index, train_mask=train, val_mask=val)
        >>> model.predict(new_node_features)  # no edges needed
    """

    _fitted_attribute = "student_"

    def __init__(
        self,
        hidden_channels: int = 64,
        num_layers: int = 2,
        se_layers: tuple[bool, ...] | None = None,
        norm: Norm = "none",
        dropout: float = 0.6,
        se_reg: float = 0.1,
        se_penalty: SePenalty = "squared",
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
        part2_input: Part2Input = "code",
        alpha_init: float = 1.0,
        part1_nodes: Part1Nodes = "non_isolated",
        neighbor_pool: NeighborPool = "all",
        leave_self_out: bool = False,
        seed: int | None = 0,
        checkpoint_dir: str | Path | None = None,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.hidden_channels, self.num_layers, self.se_layers = hidden_channels, num_layers, se_layers
        self.norm, self.dropout, self.se_reg, self.se_penalty = norm, dropout, se_reg, se_penalty
        self.lr, self.weight_decay, self.epochs, self.patience = lr, weight_decay, epochs, patience
        self.student_hidden_channels, self.student_layers = student_hidden_channels, student_layers
        self.student_dropout, self.student_lr, self.student_epochs = student_dropout, student_lr, student_epochs
        self.top_k, self.part2_input, self.part1_nodes, self.neighbor_pool = top_k, part2_input, part1_nodes, neighbor_pool
        self.alpha_init, self.leave_self_out = alpha_init, leave_self_out
        self.seed, self.checkpoint_dir, self.device, self.verbose = seed, checkpoint_dir, device, verbose

    # -- parameters ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()  # types and the Literal choices
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
        if self.se_layers is not None and len(self.se_layers) != self.num_layers:
            raise ConfigError(f"ColdBrew: se_layers names {len(self.se_layers)} layers but num_layers is {self.num_layers}")

    def _settings(self, stage: str, lr: float, epochs: int) -> TrainSettings:
        path = Path(self.checkpoint_dir) / f"{stage}.pt" if self.checkpoint_dir is not None else None
        # a folder the user reuses with other settings (another alpha_init, K, seed...) must not resume their
        # training; where the checkpoints go and how progress shows do not change the numbers
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in ("checkpoint_dir", "device", "verbose")}
        fingerprint = hashlib.sha256(json.dumps([stage, params], sort_keys=True, default=str).encode()).hexdigest()[:16]
        return TrainSettings(lr, self.weight_decay, epochs, self.patience, path, stage.replace("_", " "), fingerprint, self.verbose)

    # -- fitting ------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        edge_index: Any = None,
        train_mask: Any = None,
        val_mask: Any = None,
        num_classes: int | None = None,
    ) -> "ColdBrew":
        """Train teacher and student on one graph.

        Pass the arrays (``X`` ``[N, d]`` features, ``y`` ``[N]`` labels with ``-1`` for unlabelled nodes,
        ``edge_index`` ``[2, E]``, boolean ``train_mask`` and optional ``val_mask``), or a
        ``torch_geometric.data.Data`` as ``X`` (with ``x``, ``edge_index``, ``y``, ``train_mask``, optional
        ``val_mask``). Nodes with no edge in this graph are the "isolated" ones that part 1 skips under
        ``part1_nodes="non_isolated"``.

        Returns:
            ``self``, fitted.

        Raises:
            DataError: on invalid input (see :func:`~iclr22.coldbrew.graph.validate_graph`).
            ConfigError: on invalid parameters.
        """
        self._check_params()
        if hasattr(X, "edge_index") and hasattr(X, "x"):
            graph = graph_from_pyg(X, train_mask, val_mask, num_classes)
        else:
            if y is None or edge_index is None or train_mask is None:
                raise DataError("ColdBrew.fit: pass X, y, edge_index and train_mask (or a PyG Data object as X)")
            graph = validate_graph(X, edge_index, y, train_mask, val_mask, num_classes)
        return self._fit_graph(graph.to(self.device))

    def _fit_graph(self, graph: GraphTensors) -> "ColdBrew":
        if self.seed is not None:
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
        student, part1_result, part2_result = fit_student(
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
            bank_node_ids=pool.nonzero().squeeze(1),
            leave_self_out=bool(self.leave_self_out),
        )
        self.teacher_embeddings_ = embeddings
        self.num_classes_ = graph.num_classes
        self.classes_ = np.arange(graph.num_classes)
        self.n_features_in_ = int(graph.x.shape[1])
        self.history_ = {
            "teacher": {"best_epoch": teacher_result.best_epoch, "val_acc": teacher_result.best_value, "epochs": teacher_result.epochs_run},
            "student_part1": {"best_epoch": part1_result.best_epoch, "val_mse": -part1_result.best_value, "epochs": part1_result.epochs_run},
            "student_part2": {"best_epoch": part2_result.best_epoch, "val_acc": part2_result.best_value, "epochs": part2_result.epochs_run},
        }
        self.student_ = student  # last: its presence means "fitted"
        return self

    # -- inference ----------------------------------------------------------------------------------
    def _features(self, X: Any, action: str) -> Tensor:
        self._check_is_fitted(action)
        array = check_array(X, "X", ndim=(1, 2), dtype=np.float32, min_rows=0, n_features=self.n_features_in_)
        if array.ndim == 1:
            array = array[None, :]
        return torch.from_numpy(array).to(self.device)

    def _node_ids(self, node_ids: Any, num_rows: int) -> Tensor | None:
        if node_ids is None:
            return None
        ids = as_numpy(node_ids, "node_ids").reshape(-1)
        if ids.shape[0] != num_rows or ids.dtype.kind not in "iu":
            raise DataError(f"node_ids: expected {num_rows} integer node ids (one per row of X, -1 for a new node), got {ids.shape[0]} of dtype {ids.dtype}")
        return torch.from_numpy(ids.astype(np.int64)).to(self.device)

    @torch.no_grad()
    def predict_proba(self, X: Any, batch_size: int = 65536, node_ids: Any = None) -> np.ndarray:
        """Class probabilities ``[M, C]`` from node features alone (the student, eval mode).

        ``node_ids``: when the rows of ``X`` are nodes of the training graph, their ids (−1 for a new
        node), so that under ``leave_self_out`` no node retrieves its own teacher embedding. Without it
        every row is treated as a new node.
        """
        features = self._features(X, "predict")
        ids = self._node_ids(node_ids, features.shape[0])
        self.student_.eval()
        # Bag-of-words features go through the first layers as sparse CSR, several times faster.
        chunks = [
            torch.softmax(
                self.student_(as_sparse_if_sparse(features[i : i + batch_size]), None if ids is None else ids[i : i + batch_size]), dim=-1
            )
            for i in range(0, features.shape[0], batch_size)
        ]
        return torch.cat(chunks).cpu().numpy() if chunks else np.zeros((0, self.num_classes_), dtype=np.float32)

    def predict(self, X: Any, node_ids: Any = None) -> np.ndarray:
        """Predicted class ids ``[M]`` from node features alone (``node_ids`` as in :meth:`predict_proba`)."""
        return self.predict_proba(X, node_ids=node_ids).argmax(axis=1)

    def score(self, X: Any, y: Any, sample_weight: Any = None, node_ids: Any = None) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``, **in percent** (0–100).

        Percent is the unit of the paper's tables, of ``iclr22 run coldbrew``'s report and of the ``fit``
        verb's summary, so the API says the same number (scikit-learn's default ``score`` is a fraction;
        model selection such as ``GridSearchCV`` only compares scores, so the scale changes no choice).
        ``node_ids`` as in :meth:`predict_proba`.
        """
        from sklearn.metrics import accuracy_score

        labels = as_numpy(y, "y").reshape(-1)
        return 100.0 * float(accuracy_score(labels, self.predict(X, node_ids=node_ids), sample_weight=sample_weight))

    @torch.no_grad()
    def transform(self, X: Any) -> np.ndarray:
        """The student's estimate ``ê = ξ1(x)`` of the teacher embedding ``Ē`` (``[M, D]``)."""
        features = self._features(X, "transform")
        self.student_.eval()
        return self.student_.embed(as_sparse_if_sparse(features)).cpu().numpy()

    @torch.no_grad()
    def virtual_neighbor_embeddings(self, X: Any, node_ids: Any = None) -> np.ndarray:
        """``ẽ`` of eq. 4 for these nodes: the softmax-weighted top-K teacher embeddings (``[M, D]``)."""
        features = self._features(X, "look up virtual neighbours")
        ids = self._node_ids(node_ids, features.shape[0])
        self.student_.eval()
        return self.student_.neighbors(self.student_.embed(as_sparse_if_sparse(features)), ids).cpu().numpy()

    # -- persistence (the folder format of iclr22.core.estimator) ---------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        """The student with its neighbour bank: enough to predict (the teacher is not saved)."""
        return {
            "num_classes": self.num_classes_,
            "n_features_in": self.n_features_in_,
            "embedding_dim": int(self.student_.bank.shape[1]),
            "student": {name: value.detach().cpu() for name, value in self.student_.state_dict().items()},
            "history": getattr(self, "history_", {}),
        }

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        student_state = state["student"]
        student = ColdBrewStudent(
            int(state["n_features_in"]),
            int(state["embedding_dim"]),
            int(state["num_classes"]),
            self.student_hidden_channels,
            self.student_layers,
            self.student_dropout,
            top_k=self.top_k,
            part2_input=self.part2_input,
            alpha_init=self.alpha_init,
            leave_self_out=self.leave_self_out,
        )
        student.bank = torch.zeros_like(student_state["bank"])
        student.bank_node_ids = torch.zeros_like(student_state["bank_node_ids"])
        try:
            student.load_state_dict(student_state)
        except RuntimeError as exc:
            raise DataError(f"{folder}: student weights do not match the saved shapes ({str(exc).splitlines()[0]})") from None
        self.num_classes_ = int(state["num_classes"])
        self.classes_ = np.arange(self.num_classes_)
        self.n_features_in_ = int(state["n_features_in"])
        self.history_ = state.get("history", {})
        self.student_ = student.to(self.device).eval()


def cold_brew(
    X: Any,
    y: Any,
    edge_index: Any,
    train_mask: Any,
    val_mask: Any = None,
    *,
    num_classes: int | None = None,
    **params: Any,
) -> ColdBrew:
    """Fit Cold Brew on a graph in one call; the result predicts for any node from its features alone.

    Args:
        X: ``[N, d]`` node features.
        y: ``[N]`` integer labels, ``-1`` for unlabelled nodes.
        edge_index: ``[2, E]`` edges (either or both directions).
        train_mask: ``[N]`` booleans: the labelled training nodes.
        val_mask: ``[N]`` booleans selecting each stage's epoch (``None``: the last epoch is kept).
        num_classes: ``C`` (default ``max(y) + 1``).
        **params: :class:`ColdBrew` parameters (``top_k``, ``alpha_init``, ``device``, ...).

    Returns:
        The fitted :class:`ColdBrew`: ``cold_brew(...).predict(X_new)`` labels brand-new or isolated nodes.

    Example:
        >>> model = cold_brew(X, y, edge_index, train_mask, val_mask, epochs=300)
        >>> model.predict(X_cold)
    """
    return ColdBrew(**params).fit(X, y, edge_index=edge_index, train_mask=train_mask, val_mask=val_mask, num_classes=num_classes)
