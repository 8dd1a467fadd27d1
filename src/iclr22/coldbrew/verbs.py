"""Cold Brew's task verbs: ``iclr22 coldbrew fit`` on a user's graph and ``iclr22 coldbrew predict`` for cold nodes.

``fit`` reads a graph folder (the generic ``nodes.jsonl`` + ``edges.tsv`` layout of ``docs/data.md``, or
Planetoid ``ind.<name>.*`` files with ``--name``), trains :class:`~iclr22.coldbrew.estimator.ColdBrew` and
saves it as a model folder with a ``summary.md`` and ``verb.json`` (class names, feature normalisation).
``predict`` reads features only (no edges: brand-new or isolated nodes) and writes one CSV row per node.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.verbs import (
    Verb,
    add_estimator_options,
    estimator_settings,
    is_number,
    read_matrix,
    require_out,
    write_csv,
    write_summary,
)

__all__ = ["VERBS", "stratified_split"]

_SIDECAR = "verb.json"


# ------------------------------------------------------------------------------------------- splits
def stratified_split(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified train / validation masks over the labelled nodes (``y >= 0``).

    For each class (in id order) its labelled nodes are permuted by ``numpy.random.default_rng(seed)``
    (one generator, classes drawn in turn); the first ``round(val_fraction * n_c)`` go to validation, at
    least one when the class has two or more nodes and never all of them; the rest train.
    """
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train = np.zeros(y.shape[0], dtype=bool)
    val = np.zeros(y.shape[0], dtype=bool)
    for c in np.unique(y[y >= 0]):
        nodes = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(val_fraction * nodes.size))
        if val_fraction > 0 and nodes.size >= 2:
            n_val = min(max(n_val, 1), nodes.size - 1)
        else:
            n_val = min(n_val, nodes.size - 1)
        val[nodes[:n_val]] = True
        train[nodes[n_val:]] = True
    return train, val


def _read_node_ids(path: str, num_nodes: int, what: str) -> np.ndarray:
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{file}: {what} file not found")
    ids = []
    for line_no, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            ids.append(int(line))
        except ValueError:
            raise DataError(f"{file}: line {line_no}: not a node id ({line!r})") from None
    ids_array = np.asarray(ids, dtype=np.int64)
    bad = ids_array[(ids_array < 0) | (ids_array >= num_nodes)]
    if bad.size:
        raise DataError(f"{file}: node id {int(bad[0])} does not exist (the graph has nodes 0..{num_nodes - 1})")
    mask = np.zeros(num_nodes, dtype=bool)
    mask[ids_array] = True
    return mask


def _masks(args: argparse.Namespace, graph: Any) -> tuple[np.ndarray, np.ndarray, str]:
    labelled = graph.y >= 0
    if args.train_nodes or args.val_nodes:
        if not (args.train_nodes and args.val_nodes):
            raise ConfigError("--train-nodes and --val-nodes go together (or give neither for the --val-fraction split)")
        train = _read_node_ids(args.train_nodes, graph.num_nodes, "train nodes")
        val = _read_node_ids(args.val_nodes, graph.num_nodes, "validation nodes")
        rule = f"given: {args.train_nodes}, {args.val_nodes}"
    elif graph.train_mask is not None and graph.val_mask is not None:
        train, val = graph.train_mask.astype(bool), graph.val_mask.astype(bool)
        rule = "the dataset's own train / validation masks"
    else:
        train, val = stratified_split(graph.y, args.val_fraction, args.seed)
        rule = f"seeded stratified split of the labelled nodes (val_fraction={args.val_fraction:g}, seed={args.seed})"
    from iclr22.coldbrew.graph import check_disjoint_masks

    where = f"{args.train_nodes}, {args.val_nodes}" if args.train_nodes else args.graph
    check_disjoint_masks(train, val, where)  # the same refusal as ColdBrew.fit's
    for mask, name in ((train, "training"), (val, "validation")):
        unlabelled = np.flatnonzero(mask & ~labelled)
        if unlabelled.size:
            raise DataError(f"{unlabelled.size} {name} node(s) have no label (e.g. node {int(unlabelled[0])})")
    if not train.any():
        raise DataError("no labelled training node: give labels in nodes.jsonl (label null = unlabelled)")
    return train, val, rule


# ---------------------------------------------------------------------------------------------- fit
def _load_graph(args: argparse.Namespace) -> Any:
    folder = Path(args.graph).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: graph folder not found")
    if args.name:
        from iclr22.coldbrew.experiment import load_planetoid_graph

        graph = load_planetoid_graph(folder, args.name)
    else:
        from iclr22.data.graphs import load_text_graph

        graph = load_text_graph(folder)
    if graph.x.shape[1] == 0:
        raise DataError(f"{folder}: the nodes have no 'features'; Cold Brew needs a feature vector on every node")
    if graph.num_edges == 0:
        where = folder / f"ind.{args.name}.graph" if args.name else folder / "edges.tsv"
        raise DataError(f"{where}: the graph has no edges; Cold Brew distils a GCN teacher trained on the graph's "
                        "neighbourhoods, and without edges there is nothing to distil (an MLP is all it can be)")
    return graph


def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graph", required=True, metavar="DIR",
                        help="graph folder: nodes.jsonl + edges.tsv (docs/data.md), or Planetoid ind.<name>.* files with --name")
    parser.add_argument("--name", metavar="NAME", help="read the Planetoid files ind.NAME.* in DIR (e.g. cora) with their public split")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder to write (created)")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of each class's labelled nodes held out for validation (default 0.2; seeded by --seed)")
    parser.add_argument("--train-nodes", metavar="FILE", help="node ids to train on, one per line (with --val-nodes)")
    parser.add_argument("--val-nodes", metavar="FILE", help="node ids to validate on, one per line (with --train-nodes)")
    parser.add_argument("--feature-norm", choices=("none", "row"), default="none",
                        help="row: divide each feature row by its sum (bag-of-words, as the paper's loader); "
                             "predict applies the same (default none)")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    from iclr22.coldbrew.estimator import ColdBrew
    from iclr22.coldbrew.graph import row_normalize

    settings = estimator_settings(ColdBrew, args)
    out = require_out(args.out, "model folder to write")
    graph = _load_graph(args)
    train, val, rule = _masks(args, graph)
    x = row_normalize(graph.x) if args.feature_norm == "row" else graph.x
    num_classes = graph.num_classes
    model = ColdBrew(**settings).fit(x, graph.y, edge_index=graph.edge_index, train_mask=train, val_mask=val, num_classes=num_classes)
    model.save(out)
    class_names = [str(n) for n in graph.class_names][:num_classes] if len(graph.class_names) >= num_classes else []
    (out / _SIDECAR).write_text(json.dumps({
        "class_names": class_names,
        "feature_norm": args.feature_norm,
        "n_features": int(x.shape[1]),
        "graph": str(Path(args.graph).expanduser()),
    }, indent=2) + "\n", encoding="utf-8")

    degrees = np.bincount(graph.edge_index.reshape(-1), minlength=graph.num_nodes) if graph.num_edges else np.zeros(graph.num_nodes, int)
    isolated = int((degrees == 0).sum())
    teacher_acc = float(model.history_["teacher"]["val_acc"])
    student_acc = float("nan")
    if val.any():
        student_acc = 100.0 * float((model.predict(x[val]) == graph.y[val]).mean())
    names = class_names or [str(c) for c in range(num_classes)]
    chosen = {k: v for k, v in settings.items() if k != "verbose"}
    lines = [
        f"- graph: {args.graph}" + (f" (Planetoid {args.name})" if args.name else ""),
        f"- nodes: {graph.num_nodes}, edges: {graph.num_edges // 2} undirected, isolated nodes: {isolated}, features: {x.shape[1]}",
        f"- classes: {num_classes} ({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})",
        f"- labelled nodes: {int((graph.y >= 0).sum())}; train: {int(train.sum())}, validation: {int(val.sum())}",
        f"- split: {rule}",
        f"- validation accuracy, teacher (GCN with structural embeddings, with the graph): {teacher_acc:.1f}%",
        f"- validation accuracy, student (features only, as for a cold node): {student_acc:.1f}%",
        "",
        "## Settings",
        "",
        "- given: " + (", ".join(f"{k}={v}" for k, v in sorted(chosen.items())) or "the defaults"),
        f"- feature_norm: {args.feature_norm}",
        "",
        "Predict for new nodes from their features alone: "
        f"`iclr22 coldbrew predict --model {out} --features new.csv --out predictions.csv`; "
        "in Python `iclr22.coldbrew.ColdBrew.load(path)` (its class ids; names in verb.json).",
    ]
    write_summary(out / "summary.md", "Cold Brew model", lines)
    if not getattr(args, "quiet", False):
        print(f"student validation accuracy {student_acc:.1f}% (teacher {teacher_acc:.1f}%); wrote {out}")
    return 0


# ------------------------------------------------------------------------------------------ predict
def _read_with_ids(path: str, id_column: str) -> tuple[np.ndarray, list[str]]:
    from iclr22.core.validation import check_array

    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{file}: features file not found")
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt"):
        raise DataError(f"{file}: --id-column needs a .csv or .tsv with a header row, not {suffix!r}")
    with file.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ",") if row]
    if not rows:
        raise DataError(f"{file}: empty file")
    header = [cell.strip() for cell in rows[0]]
    if id_column not in header:
        raise DataError(f"{file}: no id column {id_column!r} in the header (columns: {', '.join(header[:10])})")
    at = header.index(id_column)
    ids, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{file}: line {line} has {len(row)} columns, the header has {len(header)}")
        ids.append(row[at].strip())
        try:
            values.append([float(cell) for i, cell in enumerate(row) if i != at])
        except ValueError:
            bad = next(i for i, cell in enumerate(row) if i != at and not is_number(cell))
            raise DataError(f"{file}: line {line}, column {header[bad]!r}: not a number ({row[bad]!r})") from None
    array = np.asarray(values, dtype=np.float64).reshape(len(values), len(header) - 1)
    return check_array(array, str(file), dtype=np.float32, min_rows=0), ids


def _add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL", help="a folder written by `iclr22 coldbrew fit`")
    parser.add_argument("--features", required=True, metavar="FILE",
                        help="features of the nodes to label, one row per node (.csv/.tsv, header optional, or .npy/.npz); no edges")
    parser.add_argument("--id-column", metavar="NAME", help="a .csv/.tsv column holding your node ids (kept in the output, not a feature)")
    parser.add_argument("--out", required=True, metavar="CSV", help="predictions CSV to write")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")


def _predict(args: argparse.Namespace) -> int:
    from iclr22.coldbrew.estimator import ColdBrew
    from iclr22.coldbrew.graph import row_normalize
    from iclr22.core.device import get_device

    folder = Path(args.model).expanduser()
    model = ColdBrew.load(folder, device=str(get_device(args.device)))
    meta: dict[str, Any] = {}
    if (folder / _SIDECAR).is_file():
        try:
            meta = json.loads((folder / _SIDECAR).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{folder / _SIDECAR}: invalid JSON ({exc.msg})") from None
    if args.id_column:
        x, ids = _read_with_ids(args.features, args.id_column)
    else:
        x = read_matrix(args.features, "features")
        ids = None
    if x.ndim != 2 or x.shape[1] != model.n_features_in_:
        width = x.shape[1] if x.ndim == 2 else 1
        raise DataError(f"{args.features}: {width} feature columns, but the model was trained on {model.n_features_in_} features")
    if meta.get("feature_norm") == "row":
        x = row_normalize(x)
    proba = model.predict_proba(x)
    names = meta.get("class_names") or [str(c) for c in range(model.num_classes_)]
    predicted = proba.argmax(axis=1)
    header = [args.id_column or "row", "predicted_label", *(f"p_{name}" for name in names)]
    keys = ids if ids is not None else range(len(predicted))
    write_csv(args.out, header, ([key, names[p], *map(float, row)] for key, p, row in zip(keys, predicted, proba)))
    if not getattr(args, "quiet", False):
        print(f"predicted {len(predicted)} nodes from their features alone; wrote {args.out}")
    return 0


_FIT_DESCRIPTION = """\
Trains Cold Brew on your graph: a GCN teacher with structural embeddings, distilled into an MLP student
that labels a node from its features alone (plus virtual neighbours retrieved among the teacher's embeddings).

input:  --graph DIR   nodes.jsonl ({"idx": 0, "label": 1 or null, "label_name": "...", "features": [...]})
                      + edges.tsv (src<TAB>dst per line) + optional label_names.json; or, with --name NAME,
                      Planetoid ind.NAME.* files (their public train / validation masks)
split:  --train-nodes / --val-nodes FILE (node ids), else the Planetoid masks, else per class a seeded
        share --val-fraction (default 0.2) of the labelled nodes validates and the rest trains;
        unlabelled nodes are in the graph but never supervised

writes the folder --out MODEL:
  estimator.json, state.pt   the fitted ColdBrew (iclr22.coldbrew.ColdBrew.load)
  verb.json                  class names and feature normalisation (read by predict)
  summary.md                 nodes, edges, isolated nodes, classes, validation accuracy of teacher and student
"""

_PREDICT_DESCRIPTION = """\
Labels nodes from their features alone (cold nodes: no edges needed) with a model from `iclr22 coldbrew fit`.

input:  --features FILE  one row per node, the training features' width (.csv/.tsv, header optional; .npy/.npz)
writes: --out CSV        row (or your --id-column), predicted_label (the class names when the graph named
                         them), and p_<class> for every class (probabilities summing to 1)
"""

VERBS = (
    Verb("fit", "train Cold Brew on your graph (nodes.jsonl + edges.tsv, or Planetoid) and save the model", _add_fit, _fit, _FIT_DESCRIPTION,
         estimator="iclr22.coldbrew.estimator:ColdBrew"),
    Verb("predict", "label new or isolated nodes from their features alone (predictions.csv)", _add_predict, _predict, _PREDICT_DESCRIPTION),
)
