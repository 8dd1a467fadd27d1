"""A node-classification graph as Cold Brew trains on it: validated input, tensors, cached rows.

* :func:`validate_graph` checks a user's arrays (through :mod:`iclr22.core.validation`) and returns
  :class:`GraphTensors`: undirected, de-duplicated edges without self loops, labels with ``-1`` for
  unlabelled nodes, boolean masks;
* :func:`row_normalize` is the official loader's ``T.NormalizeFeatures()``;
* :class:`Rows` selects rows of a feature matrix by long-lived masks, as sparse CSR when it is mostly zeros.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
import torch
from torch import Tensor

from iclr22.core.errors import DataError
from iclr22.core.validation import as_numpy, check_array, check_edge_index, check_labels, check_mask
from iclr22.coldbrew.model import Adjacency, as_sparse_if_sparse, normalized_adjacency

__all__ = ["GraphTensors", "validate_graph", "check_disjoint_masks", "graph_from_pyg", "row_normalize", "Rows"]


@dataclass
class GraphTensors:
    """A validated node-classification graph as tensors (all on one device).

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

    @property
    def device(self) -> torch.device:
        return self.x.device

    def to(self, device: str | torch.device) -> "GraphTensors":
        """The same graph on ``device`` (``self`` when it is there already, caches included)."""
        device = torch.device(device)
        if self.x.device == device:
            return self
        return GraphTensors(
            self.x.to(device), self.edge_index.to(device), self.y.to(device), self.train_mask.to(device), self.val_mask.to(device), self.num_classes
        )

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


class Rows:
    """Rows of ``x`` selected by long-lived masks, cached, as sparse CSR when ``x`` is mostly zeros."""

    def __init__(self, x: Tensor) -> None:
        self.x = x
        self.sparse = x.layout == torch.strided and x.numel() > 0 and float((x != 0).float().mean()) <= 0.1
        self._cache: dict[int, tuple[Tensor, Tensor]] = {}
        # Slicing rows of a CSR matrix is ~50x faster than gathering dense rows and converting them, which
        # matters for GraphMLP's fresh random batch every epoch.
        self._csr = scipy.sparse.csr_matrix(x.detach().cpu().numpy()) if self.sparse else None

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
            return self.x[index.to(self.x.device)]
        positions = torch.nonzero(index).flatten() if index.dtype == torch.bool else index
        rows = self._csr[positions.cpu().numpy()]
        with warnings.catch_warnings():  # scipy's canonical CSR (sorted, in-range indices) is a valid torch CSR
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(rows.indptr.astype(np.int64)),
                torch.from_numpy(rows.indices.astype(np.int64)),
                torch.from_numpy(rows.data.astype(np.float32, copy=False)),
                rows.shape,
            ).to(self.x.device)


def row_normalize(x: np.ndarray) -> np.ndarray:
    """Divide every row of ``x`` by its sum (rows summing to 0 stay 0), as PyG's ``NormalizeFeatures``.

    The official Cold Brew loader applies ``T.NormalizeFeatures()`` to every dataset, so every model sees
    bag-of-words rows that sum to one. Besides matching the code, it changes training dynamics: with
    Adam at lr 0.005 the GCN and the teacher converge over hundreds of epochs instead of tens, which is
    what lets the teacher's structural embeddings shrink (eq. 3) before the epoch is chosen.
    """
    x = np.asarray(x, dtype=np.float32)
    sums = x.sum(axis=1, keepdims=True)
    return np.divide(x, sums, out=np.zeros_like(x), where=sums != 0)


def validate_graph(
    x: Any,
    edge_index: Any,
    y: Any,
    train_mask: Any,
    val_mask: Any = None,
    num_classes: int | None = None,
    where: str = "graph",
) -> GraphTensors:
    """Check a user's graph and return it as :class:`GraphTensors` (on the CPU).

    Edges are made undirected and de-duplicated and self loops dropped (the GCN adds its own).

    Args:
        x: ``[N, d]`` finite features.
        edge_index: ``[2, E]`` (or ``[E, 2]``) integer node ids in ``0..N-1``; at least one edge.
        y: ``[N]`` integer labels in ``0..C-1``, or ``-1`` for unlabelled nodes.
        train_mask: ``[N]`` booleans (or node indices); every training node must be labelled.
        val_mask: ``[N]`` booleans, node indices or ``None`` (no validation: the last epoch is kept); no node
            in both masks.
        num_classes: ``C``; default ``max(y) + 1``.
        where: Name of the input for error messages (a file or dataset name).

    Raises:
        DataError: naming the array and what is wrong (NaN features, an edge naming a node that does not
            exist, a graph with no edge, labels out of range, masks of the wrong length, overlapping train and
            validation masks, ...).
    """
    x_np = check_array(x, f"{where}: x", ndim=2, dtype=None)
    if x_np.shape[1] == 0:
        raise DataError(f"{where}: x must be a non-empty 2-D feature matrix [num_nodes, num_features], got shape {tuple(x_np.shape)}")
    x_np = x_np.astype(np.float32)  # a copy: the graph never shares memory with the caller's array
    check_array(x_np, f"{where}: x", ndim=2, dtype=None)  # NaN / inf, once in float32
    num_nodes = x_np.shape[0]

    edges = check_edge_index(edge_index, num_nodes, f"{where}: edge_index")
    edges = edges[:, edges[0] != edges[1]]
    if edges.shape[1] == 0:
        raise DataError(f"{where}: the graph has no edges (self loops aside); Cold Brew distils a GCN teacher trained on the "
                        "graph's neighbourhoods, and without edges there is nothing to distil (an MLP is all it can be)")
    keys = np.unique(np.concatenate([edges[0] * num_nodes + edges[1], edges[1] * num_nodes + edges[0]]))
    edges = np.stack([keys // num_nodes, keys % num_nodes])

    labels = check_labels(y, num_nodes, f"{where}: y", allow_missing=True)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if num_classes < 2:
        raise DataError(f"{where}: y must hold at least 2 classes, found {num_classes}")
    if labels.max() >= num_classes:
        raise DataError(f"{where}: label {int(labels.max())} is out of range (expected 0..{num_classes - 1}, or -1 for unlabelled)")

    train = check_mask(train_mask, num_nodes, f"{where}: train_mask")
    val = check_mask(val_mask, num_nodes, f"{where}: val_mask") if val_mask is not None else np.zeros(num_nodes, dtype=bool)
    if not train.any():
        raise DataError(f"{where}: train_mask selects no node")
    if (labels[train] < 0).any():
        raise DataError(f"{where}: {int((labels[train] < 0).sum())} training node(s) are unlabelled (y = -1)")
    if (labels[val] < 0).any():
        raise DataError(f"{where}: {int((labels[val] < 0).sum())} validation node(s) are unlabelled (y = -1)")
    check_disjoint_masks(train, val, where)
    return GraphTensors(
        x=torch.from_numpy(x_np),
        edge_index=torch.from_numpy(edges.astype(np.int64)),
        y=torch.from_numpy(labels),
        train_mask=torch.from_numpy(train),
        val_mask=torch.from_numpy(val),
        num_classes=int(num_classes),
    )


def check_disjoint_masks(train: np.ndarray, val: np.ndarray, where: str = "graph") -> None:
    """Refuse a node that is both a training and a validation node.

    Every stage of Cold Brew (teacher, student part 1 and part 2) and every baseline keeps the epoch that is
    best on the validation nodes; a validation node that also trains makes that choice favour memorising it,
    so the chosen model is not the one that generalises best. The CLI verbs refuse it the same way.

    Raises:
        DataError: naming how many nodes overlap and the first few.
    """
    both = np.flatnonzero(np.asarray(train, dtype=bool) & np.asarray(val, dtype=bool))
    if both.size:
        raise DataError(
            f"{where}: the train and validation masks overlap on {both.size} node(s) (e.g. {', '.join(map(str, both[:5]))}); "
            "each stage keeps the epoch best on the validation nodes, which means nothing on nodes it trains on: "
            "make them disjoint (or train without validation nodes: the last epoch is then kept)"
        )


def graph_from_pyg(data: Any, train_mask: Any = None, val_mask: Any = None, num_classes: int | None = None) -> GraphTensors:
    """:func:`validate_graph` of a ``torch_geometric.data.Data`` (masks from the object unless given)."""
    for attribute in ("x", "edge_index", "y"):
        if getattr(data, attribute, None) is None:
            raise DataError(f"graph: the Data object has no '{attribute}'")
    train = train_mask if train_mask is not None else getattr(data, "train_mask", None)
    if train is None:
        raise DataError("graph: no train_mask (pass train_mask= or set data.train_mask)")
    val = val_mask if val_mask is not None else getattr(data, "val_mask", None)
    y = as_numpy(data.y, "graph: y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return validate_graph(data.x, data.edge_index, y, train, val, num_classes)
