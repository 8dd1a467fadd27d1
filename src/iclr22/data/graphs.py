"""Node-classification graphs: Planetoid ``ind.*`` pickles, text-attributed graphs, and the generic format.

On-disk formats read here:

* **Planetoid** (``planetoid/ind.<name>.<suffix>``, Yang et al. 2016; the raw files of PyG's ``Planetoid``):
  python-2 pickles ``x``/``tx``/``allx`` (scipy CSR features of the labelled-train / test / all non-test
  rows), ``y``/``ty``/``ally`` (one-hot labels of the same rows), ``graph`` (``defaultdict`` node ->
  neighbour list) and the plain-text ``test.index`` (one test node id per line, unsorted). They are read
  through :mod:`iclr22.data.safe_pickle`, never with plain ``pickle``.
* **Text graph / generic user format** (``textgraph/cora_ml/``): ``nodes.jsonl`` with one JSON object per
  node, ``{"idx": 0, "label": 3, "label_name": "...", "text": "...", "features": [0.1, ...]}`` where
  ``idx`` runs over ``0..N-1`` (each once), ``label`` is an int (``null`` or absent = unlabelled, stored
  as ``-1``), ``text`` and ``features`` are optional (all nodes or none). ``edges.tsv`` holds one
  ``src<TAB>dst`` pair of node indices per line (blank lines and ``#`` comments skipped). Edges are
  symmetrised and de-duplicated. An optional ``label_names.json`` (a JSON list) names the classes.
* **netgan Cora-ML** ``cora_ml.npz``: a pickled dict under ``arr_0`` holding CSR parts of the adjacency
  (``adj_*``) and bag-of-words matrix (``attr_*``), ``labels`` and ``attr_text``; read through
  :func:`iclr22.data.safe_pickle.load_npz_object`, never ``allow_pickle=True``.
"""

from __future__ import annotations

import re

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks
from iclr22.data.safe_pickle import load_npz_object, load_pickle

__all__ = ["Graph", "load_planetoid", "load_text_graph", "load_cora_ml", "edge_index_from_pairs"]

#: Display names of the well-known Planetoid datasets; any other ``ind.<name>.*`` set loads the same way.
PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_NUM_VAL = 500


@dataclass
class Graph:
    """A node-classification graph held in numpy arrays.

    Attributes:
        x: Node features, float32 ``[N, F]`` (dense; ``F`` may be 0 for a text-only graph).
        edge_index: int64 ``[2, E]`` (row 0 = source, row 1 = target); undirected graphs hold both
            directions, without duplicates, sorted by target then source (PyG's Planetoid order).
        y: int64 ``[N]`` class ids ``0..C-1``; ``-1`` marks an unlabelled node.
        name: Dataset name.
        train_mask: bool ``[N]`` or ``None`` when the dataset has no standard split (same for the others).
        val_mask: bool ``[N]`` or ``None``.
        test_mask: bool ``[N]`` or ``None``.
        texts: One string per node, or ``None``.
        class_names: Names of the classes ``0..C-1`` (empty when unknown).
    """

    x: np.ndarray
    edge_index: np.ndarray
    y: np.ndarray
    name: str = "graph"
    train_mask: np.ndarray | None = None
    val_mask: np.ndarray | None = None
    test_mask: np.ndarray | None = None
    texts: list[str] | None = None
    class_names: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.y.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of directed edge entries ``E`` (an undirected edge counts twice)."""
        return int(self.edge_index.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes: ``max(len(class_names), max(y) + 1)``."""
        labelled = self.y[self.y >= 0]
        return max(len(self.class_names), int(labelled.max()) + 1 if labelled.size else 0)

    def to_pyg(self) -> Any:
        """Convert to ``torch_geometric.data.Data`` (torch and torch_geometric are imported here only).

        Returns:
            ``Data(x, edge_index, y, train_mask, val_mask, test_mask)``; the masks are omitted when ``None``.
        """
        import torch
        from torch_geometric.data import Data

        data = Data(
            x=torch.from_numpy(np.ascontiguousarray(self.x)),
            edge_index=torch.from_numpy(np.ascontiguousarray(self.edge_index)),
            y=torch.from_numpy(np.ascontiguousarray(self.y)),
        )
        for mask_name in ("train_mask", "val_mask", "test_mask"):
            mask = getattr(self, mask_name)
            if mask is not None:
                data[mask_name] = torch.from_numpy(np.ascontiguousarray(mask))
        return data


def edge_index_from_pairs(
    src: np.ndarray, dst: np.ndarray, num_nodes: int, *, symmetrize: bool = True, remove_self_loops: bool = False
) -> np.ndarray:
    """Build a duplicate-free ``[2, E]`` int64 edge index sorted by (target, source), as PyG's Planetoid.

    Args:
        src: Source node ids (already range-checked).
        dst: Target node ids.
        num_nodes: ``N``, used to sort the edges.
        symmetrize: Add the reverse of every edge.
        remove_self_loops: Drop ``i -> i`` entries.

    Returns:
        int64 array ``[2, E]`` sorted by target then source.
    """
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    if symmetrize:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    if remove_self_loops:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    keys = np.unique(dst * num_nodes + src)
    return np.stack([keys % num_nodes, keys // num_nodes]).astype(np.int64)


# --------------------------------------------------------------------------------------------- Planetoid
def load_planetoid(data_dir: str | Path, name: str = "cora") -> Graph:
    """Read the Planetoid ``ind.<name>.*`` files with PyG's standard ("public") split.

    The result equals ``torch_geometric.datasets.Planetoid(root, name)``: features ``[allx; tx]`` with the
    test rows put back at their ``test.index`` positions, labels = argmax of the one-hot rows, self-loops
    removed and edges made undirected and unique; train = the first ``len(y)`` nodes, val = the next 500,
    test = ``test.index``. Test ids missing from ``tx`` (CiteSeer's isolated nodes) are padded with zero
    feature rows (label 0), exactly as PyG does. Any dataset in this format loads, not only the three
    well-known ones.

    Args:
        data_dir: Folder holding ``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``.
        name: The ``<name>`` of the files: ``"cora"``, ``"citeseer"``, ``"pubmed"`` or any other
            (case-insensitive).

    Returns:
        The :class:`Graph` (Cora: 2708 nodes, 10556 edge entries, masks 140/500/1000).

    Raises:
        DataError: If a file is missing (e.g. ``ind.pubmed.allx`` in the shared copy), corrupt, or the files
            disagree in shape.
        ConfigError: If ``name`` is not a plain file-name stem (``[A-Za-z0-9_-]+``).
    """
    key = name.lower()
    if not re.fullmatch(r"[a-z0-9_-]+", key):
        raise ConfigError(f"Planetoid dataset name {name!r} must be a plain file-name stem like 'cora'")
    files = _checks.require_files(data_dir, [f"ind.{key}.{suffix}" for suffix in _PLANETOID_SUFFIXES])
    path = {suffix: files[f"ind.{key}.{suffix}"] for suffix in _PLANETOID_SUFFIXES}

    x, tx, allx = (_dense_matrix(load_pickle(path[s]), path[s]) for s in ("x", "tx", "allx"))
    y, ty, ally = (_dense_matrix(load_pickle(path[s]), path[s]) for s in ("y", "ty", "ally"))
    test_index = _read_test_index(path["test.index"])
    _check_planetoid_shapes(path, x, tx, allx, y, ty, ally, test_index)

    sorted_test = np.sort(test_index)
    span = int(sorted_test[-1] - sorted_test[0] + 1)
    if span != tx.shape[0]:  # test ids absent from tx (CiteSeer's isolated nodes): zero rows, as PyG does
        if tx.shape[0] != test_index.size:
            raise DataError(f"{path['tx']}: {tx.shape[0]} rows but test.index lists {test_index.size} ids")
        tx_full = np.zeros((span, tx.shape[1]), dtype=tx.dtype)
        ty_full = np.zeros((span, ty.shape[1]), dtype=ty.dtype)
        tx_full[sorted_test - sorted_test[0]] = tx
        ty_full[sorted_test - sorted_test[0]] = ty
        tx, ty = tx_full, ty_full

    features = np.concatenate([allx, tx]).astype(np.float32)
    labels = np.concatenate([ally, ty]).argmax(axis=1).astype(np.int64)
    _checks.check_ids_in_range(test_index, features.shape[0], path["test.index"], "test node ids")
    features[test_index] = features[sorted_test]
    labels[test_index] = labels[sorted_test]
    num_nodes = features.shape[0]

    edge_index = _planetoid_edges(load_pickle(path["graph"]), num_nodes, path["graph"])
    train_mask = _mask(num_nodes, np.arange(y.shape[0]))
    # PyG's public split: the 500 nodes after the training rows (fewer in a graph too small for 500)
    val_mask = _mask(num_nodes, np.arange(y.shape[0], min(y.shape[0] + _NUM_VAL, allx.shape[0])))
    test_mask = _mask(num_nodes, test_index)
    return Graph(
        x=features,
        edge_index=edge_index,
        y=labels,
        name=PLANETOID_NAMES.get(key, key),
        train_mask=train_mask,
        val_mask=val_mask,
        test_mask=test_mask,
    )


def _dense_matrix(obj: Any, path: Path) -> np.ndarray:
    """A finite dense float array from a pickled numpy array or (possibly python-2 era) scipy matrix."""
    import scipy.sparse as sp

    if sp.issparse(obj):
        state = getattr(obj, "__dict__", {})
        try:
            if {"data", "indices", "indptr"} <= state.keys():
                shape = tuple(int(n) for n in state.get("_shape", state.get("shape")))
                matrix = sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=shape)
            else:
                matrix = sp.csr_matrix(obj)
            dense = matrix.toarray()
        except Exception as exc:  # noqa: BLE001 - malformed sparse parts
            raise DataError(f"{path}: malformed sparse matrix ({exc})") from None
    elif isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
        dense = obj
    else:
        raise DataError(f"{path}: expected a numeric matrix, found {type(obj).__name__}")
    if dense.ndim != 2:
        raise DataError(f"{path}: expected a 2-D matrix, found shape {dense.shape}")
    dense = dense.astype(np.float64, copy=False)
    _checks.check_finite(dense, path, "matrix")
    return dense


def _read_test_index(path: Path) -> np.ndarray:
    lines = _checks.read_text_lines(path)
    ids = [_checks.parse_int(line.strip(), path, no, "node id") for no, line in _checks.iter_data_lines(lines)]
    if not ids:
        raise DataError(f"{path}: no test node ids (expected one integer per line)")
    ids_array = np.asarray(ids, dtype=np.int64)
    if np.unique(ids_array).size != ids_array.size:
        raise DataError(f"{path}: duplicate test node ids")
    return ids_array


def _check_planetoid_shapes(
    path: dict[str, Path], x: np.ndarray, tx: np.ndarray, allx: np.ndarray,
    y: np.ndarray, ty: np.ndarray, ally: np.ndarray, test_index: np.ndarray,
) -> None:
    for features, labels, a, b in ((x, y, "x", "y"), (tx, ty, "tx", "ty"), (allx, ally, "allx", "ally")):
        if features.shape[0] != labels.shape[0]:
            raise DataError(
                f"{path[b]}: {labels.shape[0]} label rows but {path[a].name} has {features.shape[0]} feature rows"
            )
    for other, features in (("tx", tx), ("allx", allx)):
        if features.shape[1] != x.shape[1]:
            raise DataError(f"{path[other]}: {features.shape[1]} feature columns but x has {x.shape[1]}")
    for other, labels in (("ty", ty), ("ally", ally)):
        if labels.shape[1] != y.shape[1]:
            raise DataError(f"{path[other]}: {labels.shape[1]} classes but y has {y.shape[1]}")
    if tx.shape[0] > test_index.size:
        raise DataError(f"{path['test.index']}: {test_index.size} test ids but tx has {tx.shape[0]} rows")
    if y.shape[0] >= allx.shape[0]:
        raise DataError(f"{path['allx']}: {allx.shape[0]} rows, too few for {y.shape[0]} train nodes and a validation set")


def _planetoid_edges(graph: Any, num_nodes: int, path: Path) -> np.ndarray:
    if not isinstance(graph, dict):
        raise DataError(f"{path}: expected a dict {{node: [neighbours]}}, found {type(graph).__name__}")
    src: list[int] = []
    dst: list[int] = []
    for node, neighbours in graph.items():
        if not isinstance(node, (int, np.integer)) or not isinstance(neighbours, (list, tuple, np.ndarray)):
            raise DataError(f"{path}: expected int node ids mapped to neighbour lists, found {node!r}")
        src.extend([int(node)] * len(neighbours))
        dst.extend(neighbours)
    src_arr, dst_arr = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    _checks.check_ids_in_range(np.concatenate([src_arr, dst_arr]), num_nodes, path, "graph node ids")
    return edge_index_from_pairs(src_arr, dst_arr, num_nodes, symmetrize=True, remove_self_loops=True)


def _mask(num_nodes: int, index: np.ndarray) -> np.ndarray:
    mask = np.zeros(num_nodes, dtype=bool)
    mask[index] = True
    return mask


# ------------------------------------------------------------------------------ text graph / generic format
def load_text_graph(
    data_dir: str | Path,
    *,
    name: str | None = None,
    nodes_file: str = "nodes.jsonl",
    edges_file: str = "edges.tsv",
) -> Graph:
    """Read the generic graph format: ``nodes.jsonl`` + ``edges.tsv`` (+ optional ``label_names.json``).

    Args:
        data_dir: Folder holding the files.
        name: Dataset name (default: the folder name).
        nodes_file: Name of the node file.
        edges_file: Name of the edge file.

    Returns:
        A :class:`Graph` with ``x`` from the ``features`` fields (``[N, 0]`` when there are none), ``texts``
        from the ``text`` fields, symmetrised unique edges (self-loops kept if present) and no masks.

    Raises:
        DataError: On a missing file, malformed JSON, ids that are not exactly ``0..N-1``, features of
            unequal length or non-finite, edge lines without exactly two integer columns, or edge ids out of
            range.
    """
    files = _checks.require_files(data_dir, [nodes_file, edges_file])
    nodes = _read_nodes(files[nodes_file])
    num_nodes = len(nodes["labels"])
    edge_index = _read_edges(files[edges_file], num_nodes)
    class_names = _class_names(Path(data_dir), nodes)
    return Graph(
        x=nodes["features"],
        edge_index=edge_index,
        y=nodes["labels"],
        name=name or _checks.as_path(data_dir).name,
        texts=nodes["texts"],
        class_names=class_names,
    )


def load_cora_ml(data_dir: str | Path, features: str = "bow") -> Graph:
    """Read netgan's Cora-ML with its raw abstracts (``textgraph/cora_ml/``).

    Text, labels and edges come from the pickle-free ``nodes.jsonl``/``edges.tsv``; with
    ``features="bow"`` the 2,879-column bag-of-words matrix is read from ``cora_ml.npz`` through the
    restricted unpickler and checked against ``nodes.jsonl`` (same node count and labels).

    Args:
        data_dir: The ``cora_ml`` folder.
        features: ``"bow"`` (``x`` = BoW values as stored, float32 ``[2995, 2879]``) or ``"none"``
            (``x`` is ``[N, 0]``; use ``texts``).

    Returns:
        The :class:`Graph` (2,995 nodes, 16,316 edge entries = 8,158 undirected edges, 7 classes).

    Raises:
        DataError: On missing/corrupt files or when the npz disagrees with ``nodes.jsonl``.
        ConfigError: On an unknown ``features`` value.
    """
    if features not in ("bow", "none"):
        raise ConfigError(f"features must be 'bow' or 'none', got {features!r}")
    graph = load_text_graph(data_dir, name="cora_ml")
    if features == "bow":
        npz_path = _checks.require_files(data_dir, ["nodes.jsonl", "edges.tsv", "cora_ml.npz"])["cora_ml.npz"]
        bow, labels = _read_netgan_npz(npz_path)
        if bow.shape[0] != graph.num_nodes or not np.array_equal(labels, graph.y):
            raise DataError(f"{npz_path}: {bow.shape[0]} nodes / labels differ from nodes.jsonl ({graph.num_nodes} nodes)")
        graph.x = bow
    return graph


def _read_netgan_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import scipy.sparse as sp

    archive = load_npz_object(path, "arr_0")
    content = archive.item() if archive.shape == () else None
    needed = ("attr_data", "attr_indices", "attr_indptr", "attr_shape", "labels")
    if not isinstance(content, dict) or not all(k in content for k in needed):
        raise DataError(f"{path}: arr_0 must be a dict with keys {', '.join(needed)}")
    try:
        shape = tuple(int(n) for n in content["attr_shape"])
        bow = sp.csr_matrix((content["attr_data"], content["attr_indices"], content["attr_indptr"]), shape=shape)
        dense = bow.toarray().astype(np.float32)
    except Exception as exc:  # noqa: BLE001 - malformed CSR parts
        raise DataError(f"{path}: malformed attr_* sparse matrix ({exc})") from None
    _checks.check_finite(dense, path, "attr matrix")
    return dense, np.asarray(content["labels"], dtype=np.int64)


def _read_nodes(path: Path) -> dict[str, Any]:
    records: dict[int, dict[str, Any]] = {}
    for line_no, line in _checks.iter_data_lines(_checks.read_text_lines(path), skip_comments=False):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {line_no}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("idx"), int) or isinstance(record["idx"], bool):
            raise DataError(f"{path}: line {line_no}: expected a JSON object with an integer 'idx'")
        if record["idx"] in records:
            raise DataError(f"{path}: line {line_no}: duplicate idx {record['idx']}")
        records[record["idx"]] = {**record, "_line": line_no}
    num_nodes = len(records)
    if num_nodes == 0:
        raise DataError(f"{path}: no nodes (expected one JSON object per line)")
    if min(records) != 0 or max(records) != num_nodes - 1:
        raise DataError(f"{path}: node idx values must be exactly 0..{num_nodes - 1}, found {min(records)}..{max(records)}")
    ordered = [records[i] for i in range(num_nodes)]
    return {
        "labels": _node_labels(ordered, path),
        "texts": _node_texts(ordered, path),
        "features": _node_features(ordered, path),
        "label_names": {r["label"]: r["label_name"] for r in ordered if isinstance(r.get("label_name"), str) and isinstance(r.get("label"), int)},
    }


def _node_labels(records: list[dict[str, Any]], path: Path) -> np.ndarray:
    labels = np.full(len(records), -1, dtype=np.int64)
    for i, record in enumerate(records):
        label = record.get("label")
        if label is None:
            continue
        if not isinstance(label, int) or isinstance(label, bool) or label < 0:
            raise DataError(f"{path}: line {record['_line']}: label must be a non-negative integer or null, got {label!r}")
        labels[i] = label
    return labels


def _node_texts(records: list[dict[str, Any]], path: Path) -> list[str] | None:
    has_text = ["text" in r for r in records]
    if not any(has_text):
        return None
    for record in records:
        if not isinstance(record.get("text"), str):
            raise DataError(f"{path}: line {record['_line']}: 'text' must be a string on every node (or on none)")
    return [r["text"] for r in records]


def _node_features(records: list[dict[str, Any]], path: Path) -> np.ndarray:
    if not any("features" in r for r in records):
        return np.zeros((len(records), 0), dtype=np.float32)
    width = None
    rows = []
    for record in records:
        values = record.get("features")
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise DataError(f"{path}: line {record['_line']}: 'features' must be a list of numbers on every node (or on none)")
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise DataError(f"{path}: line {record['_line']}: {len(values)} features, expected {width} like the first node")
        rows.append(values)
    features = np.asarray(rows, dtype=np.float32)
    _checks.check_finite(features, path, "node features")
    return features


def _read_edges(path: Path, num_nodes: int) -> np.ndarray:
    src: list[int] = []
    dst: list[int] = []
    for line_no, line in _checks.iter_data_lines(_checks.read_text_lines(path)):
        cells = line.split()
        if len(cells) != 2:
            raise DataError(f"{path}: line {line_no}: expected 2 columns 'src<TAB>dst', found {len(cells)}")
        src.append(_checks.parse_int(cells[0], path, line_no, "src"))
        dst.append(_checks.parse_int(cells[1], path, line_no, "dst"))
    src_arr, dst_arr = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    _checks.check_ids_in_range(np.concatenate([src_arr, dst_arr]), num_nodes, path, "edge endpoints")
    return edge_index_from_pairs(src_arr, dst_arr, num_nodes, symmetrize=True)


def _class_names(data_dir: Path, nodes: dict[str, Any]) -> list[str]:
    names_file = data_dir / "label_names.json"
    if names_file.is_file():
        try:
            names = json.loads(names_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{names_file}: invalid JSON ({exc})") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError(f"{names_file}: expected a JSON list of class names")
        labels = nodes["labels"]
        if labels.max() >= len(names):
            raise DataError(f"{names_file}: {len(names)} names but labels go up to {int(labels.max())}")
        return names
    by_id = nodes["label_names"]
    if by_id and set(by_id) == set(range(len(by_id))):
        return [by_id[i] for i in range(len(by_id))]
    return []
