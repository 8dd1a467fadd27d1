"""Graph loaders: Planetoid (equal to PyG's reader), Cora-ML text graph, the generic nodes.jsonl/edges.tsv."""

from __future__ import annotations

import json
import pickle
import shutil
from collections import defaultdict

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.graphs import Graph, load_cora_ml, load_planetoid, load_text_graph

CORA_FILES = [f"ind.cora.{s}" for s in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")]


@pytest.fixture
def cora_copy(shared_data, tmp_path):
    """A writable copy of the Cora raw files in tmp_path (to corrupt them)."""
    folder = tmp_path / "planetoid"
    folder.mkdir()
    for name in CORA_FILES:
        shutil.copy(shared_data / "planetoid" / name, folder / name)
    return folder


# ------------------------------------------------------------------------------------------------ real data
@pytest.mark.shared_data
def test_cora_counts(shared_data):
    graph = load_planetoid(shared_data / "planetoid", "Cora")
    assert graph.num_nodes == 2708 and graph.x.shape == (2708, 1433) and graph.x.dtype == np.float32
    assert graph.edge_index.shape == (2, 10556) and graph.edge_index.dtype == np.int64
    assert (graph.train_mask.sum(), graph.val_mask.sum(), graph.test_mask.sum()) == (140, 500, 1000)
    assert graph.num_classes == 7
    assert not (graph.train_mask & graph.test_mask).any() and not (graph.val_mask & graph.test_mask).any()
    src, dst = graph.edge_index
    assert not (src == dst).any()  # no self-loops
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert len(pairs) == graph.num_edges and all((b, a) in pairs for a, b in pairs)  # unique, undirected


@pytest.mark.shared_data
def test_cora_equals_pyg_reader(cora_copy):
    """Our reader gives exactly what torch_geometric reads from the same raw files."""
    pyg_io = pytest.importorskip("torch_geometric.io")
    ours = load_planetoid(cora_copy, "cora")
    theirs = pyg_io.read_planetoid_data(str(cora_copy), "cora")
    np.testing.assert_array_equal(ours.x, theirs.x.numpy())
    np.testing.assert_array_equal(ours.y, theirs.y.numpy())
    np.testing.assert_array_equal(ours.edge_index, theirs.edge_index.numpy())
    for mask in ("train_mask", "val_mask", "test_mask"):
        np.testing.assert_array_equal(getattr(ours, mask), theirs[mask].numpy())
    data = ours.to_pyg()
    assert data.num_nodes == 2708 and int(data.train_mask.sum()) == 140


@pytest.mark.shared_data
def test_pubmed_missing_allx_is_named(shared_data):
    with pytest.raises(DataError, match=r"missing file\(s\) ind\.pubmed\.allx "):
        load_planetoid(shared_data / "planetoid", "pubmed")


def test_planetoid_name_must_be_a_file_stem(tmp_path):
    with pytest.raises(ConfigError, match="plain file-name stem"):
        load_planetoid(tmp_path, "../etc/cora")
    with pytest.raises(DataError, match=r"ind\.reddit\.x"):  # any name is accepted; its files must exist
        load_planetoid(tmp_path, "reddit")


@pytest.mark.shared_data
def test_cora_ml_text_and_bow(shared_data):
    graph = load_cora_ml(shared_data / "textgraph" / "cora_ml", features="bow")
    assert graph.num_nodes == 2995 and graph.x.shape == (2995, 2879)
    assert graph.num_edges == 2 * 8158  # 8416 stored entries -> 8158 undirected edges
    assert graph.num_classes == 7 and len(graph.texts) == 2995 and all(graph.texts)
    assert np.bincount(graph.y).tolist() == [354, 402, 452, 442, 857, 193, 295]
    assert graph.class_names[4] == "Neural_Networks"
    assert graph.train_mask is None
    plain = load_cora_ml(shared_data / "textgraph" / "cora_ml", features="none")
    assert plain.x.shape == (2995, 0)
    np.testing.assert_array_equal(plain.edge_index, graph.edge_index)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.shared_data
def test_truncated_planetoid_pickle(cora_copy):
    path = cora_copy / "ind.cora.x"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match=r"ind\.cora\.x.*truncated or corrupt pickle"):
        load_planetoid(cora_copy, "cora")


@pytest.mark.shared_data
def test_planetoid_shape_mismatch(cora_copy):
    shutil.copy(cora_copy / "ind.cora.ty", cora_copy / "ind.cora.y")  # 1000 label rows vs 140 feature rows
    with pytest.raises(DataError, match=r"ind\.cora\.y: 1000 label rows but ind\.cora\.x has 140"):
        load_planetoid(cora_copy, "cora")


@pytest.mark.shared_data
def test_planetoid_graph_id_out_of_range(cora_copy):
    (cora_copy / "ind.cora.graph").write_bytes(pickle.dumps(defaultdict(list, {0: [99999]}), protocol=2))
    with pytest.raises(DataError, match=r"ind\.cora\.graph: graph node ids hold id 99999 outside 0\.\.2707"):
        load_planetoid(cora_copy, "cora")


@pytest.mark.shared_data
def test_planetoid_forbidden_global(cora_copy):
    (cora_copy / "ind.cora.ty").write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(DataError, match=r"ind\.cora\.ty.*forbidden global 'os\.system'"):
        load_planetoid(cora_copy, "cora")


@pytest.mark.shared_data
def test_planetoid_bad_test_index(cora_copy):
    (cora_copy / "ind.cora.test.index").write_text("1708\nabc\n")
    with pytest.raises(DataError, match=r"ind\.cora\.test\.index: line 2: column node id is not a number"):
        load_planetoid(cora_copy, "cora")


@pytest.mark.shared_data
def test_planetoid_nan_features(cora_copy):
    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.full((140, 1433), np.nan))
    (cora_copy / "ind.cora.x").write_bytes(pickle.dumps(matrix, protocol=2))
    with pytest.raises(DataError, match=r"ind\.cora\.x: matrix holds .* NaN/inf"):
        load_planetoid(cora_copy, "cora")


def test_planetoid_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: dataset folder not found \(expected a folder holding ind\.cora\.x"):
        load_planetoid(tmp_path / "nowhere", "cora")


# -------------------------------------------------------------------------------------------- generic format
def _write_graph(folder, nodes, edges):
    folder.mkdir(exist_ok=True)
    (folder / "nodes.jsonl").write_text("\n".join(json.dumps(n) if isinstance(n, dict) else n for n in nodes) + "\n")
    (folder / "edges.tsv").write_text(edges)


def test_generic_graph_with_features(tmp_path):
    nodes = [
        {"idx": 1, "label": 1, "label_name": "b", "features": [0.0, 1.0], "text": "second"},
        {"idx": 0, "label": 0, "label_name": "a", "features": [1.0, 0.0], "text": "first"},
        {"idx": 2, "label": None, "features": [0.5, 0.5], "text": "third"},
    ]
    _write_graph(tmp_path / "g", nodes, "# comment\n0\t1\n1\t0\n2\t1\n")
    graph = load_text_graph(tmp_path / "g")
    assert isinstance(graph, Graph) and graph.name == "g"
    np.testing.assert_array_equal(graph.x, [[1, 0], [0, 1], [0.5, 0.5]])
    np.testing.assert_array_equal(graph.y, [0, 1, -1])
    assert graph.texts == ["first", "second", "third"]
    assert graph.class_names == ["a", "b"] and graph.num_classes == 2
    np.testing.assert_array_equal(graph.edge_index, [[1, 0, 2, 1], [0, 1, 1, 2]])  # sorted by target


@pytest.mark.parametrize(
    ("nodes", "edges", "message"),
    [
        (['{"idx": 0, "label": 0}', '{"idx": 1, "label": '], "0\t1\n", r"nodes\.jsonl: line 2: invalid JSON"),
        ([{"idx": 0}, {"idx": 2}], "0\t1\n", r"nodes\.jsonl: node idx values must be exactly 0\.\.1"),
        ([{"idx": 0, "features": [1.0]}, {"idx": 1, "features": [1.0, 2.0]}], "0\t1\n", r"nodes\.jsonl: line 2: 2 features, expected 1"),
        ([{"idx": 0, "features": [float("nan")]}, {"idx": 1, "features": [1.0]}], "0\t1\n", r"nodes\.jsonl: node features holds 1 NaN"),
        ([{"idx": 0, "label": "x"}, {"idx": 1}], "0\t1\n", r"nodes\.jsonl: line 1: label must be a non-negative integer"),
        ([{"idx": 0}, {"idx": 1}], "0\t1\n1\t0\t7\n", r"edges\.tsv: line 2: expected 2 columns"),
        ([{"idx": 0}, {"idx": 1}], "0\t1\n1\tb\n", r"edges\.tsv: line 2: column dst is not a number"),
        ([{"idx": 0}, {"idx": 1}], "0\t5\n", r"edges\.tsv: edge endpoints hold id 5 outside 0\.\.1"),
    ],
)
def test_generic_graph_bad_input(tmp_path, nodes, edges, message):
    _write_graph(tmp_path / "g", nodes, edges)
    with pytest.raises(DataError, match=message):
        load_text_graph(tmp_path / "g")


def test_generic_graph_missing_edges_file(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "nodes.jsonl").write_text('{"idx": 0}\n')
    with pytest.raises(DataError, match=r"missing file\(s\) edges\.tsv \(this folder must hold nodes\.jsonl, edges\.tsv\)"):
        load_text_graph(tmp_path / "g")


@pytest.mark.shared_data
def test_cora_ml_truncated_npz(shared_data, tmp_path):
    folder = tmp_path / "cora_ml"
    folder.mkdir()
    for name in ("nodes.jsonl", "edges.tsv", "label_names.json"):
        shutil.copy(shared_data / "textgraph" / "cora_ml" / name, folder / name)
    (folder / "cora_ml.npz").write_bytes((shared_data / "textgraph" / "cora_ml" / "cora_ml.npz").read_bytes()[:100000])
    with pytest.raises(DataError, match=r"cora_ml\.npz.*truncated or corrupt"):
        load_cora_ml(folder, features="bow")


def _write_planetoid(folder, name, parts):
    import scipy.sparse as sp

    folder.mkdir(parents=True, exist_ok=True)
    for suffix, value in parts.items():
        path = folder / f"ind.{name}.{suffix}"
        if suffix == "test.index":
            path.write_text("".join(f"{i}\n" for i in value))
        else:
            value = sp.csr_matrix(value) if suffix in ("x", "tx", "allx") else value
            path.write_bytes(pickle.dumps(value, protocol=2))


def test_citeseer_style_padding_matches_pyg(tmp_path):
    """CiteSeer has test ids absent from tx: they become zero rows (label 0), exactly as in PyG."""
    pyg_io = pytest.importorskip("torch_geometric.io")
    rng = np.random.default_rng(0)
    n_all, n_features, n_classes = 505, 4, 3
    one_hot = lambda labels: np.eye(n_classes)[labels]  # noqa: E731
    ally_labels = rng.integers(0, n_classes, n_all)
    allx = rng.random((n_all, n_features))
    test_ids = [508, 505, 507]  # 506 is missing: padded
    graph = defaultdict(list, {0: [1, 506], 1: [0], 505: [507, 505], 506: [0], 507: [505], 508: []})
    _write_planetoid(
        tmp_path,
        "citeseer",
        {
            "x": allx[:3], "y": one_hot(ally_labels[:3]), "allx": allx, "ally": one_hot(ally_labels),
            "tx": rng.random((3, n_features)) + 1, "ty": one_hot([2, 1, 2]), "graph": graph, "test.index": test_ids,
        },
    )
    ours = load_planetoid(tmp_path, "CiteSeer")
    theirs = pyg_io.read_planetoid_data(str(tmp_path), "citeseer")
    assert ours.num_nodes == 509 and not ours.x[506].any()
    np.testing.assert_allclose(ours.x, theirs.x.numpy())
    np.testing.assert_array_equal(ours.y, theirs.y.numpy())
    np.testing.assert_array_equal(ours.edge_index, theirs.edge_index.numpy())
    np.testing.assert_array_equal(ours.test_mask, theirs.test_mask.numpy())
    assert ours.test_mask.sum() == 3 and ours.train_mask.sum() == 3 and ours.val_mask.sum() == 500
