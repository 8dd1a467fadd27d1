"""``iclr22 coldbrew fit`` / ``predict`` on a small generated graph in the generic layout."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.coldbrew.synthetic import make_cold_start_graph
from iclr22.coldbrew.verbs import stratified_split

FAST = ["--set", "epochs=60", "--set", "student_epochs=60", "--set", "patience=None", "--set", "hidden_channels=32",
        "--set", "student_hidden_channels=64", "--quiet"]
HELD_OUT = 40  # the last nodes: unlabelled in nodes.jsonl, predicted as cold nodes


def _write_graph(folder, num_nodes=200, names=True):
    graph = make_cold_start_graph(num_nodes=num_nodes, num_classes=3, num_features=60, topic_strength=0.6, seed=1)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "nodes.jsonl").open("w") as handle:
        for i in range(num_nodes):
            label = int(graph.y[i]) if i < num_nodes - HELD_OUT else None
            record = {"idx": i, "label": label, "features": graph.x[i].tolist()}
            if names and label is not None:
                record["label_name"] = ["alpha", "beta", "gamma"][label]
            handle.write(json.dumps(record) + "\n")
    src, dst = graph.edge_index
    keep = src < dst
    (folder / "edges.tsv").write_text("".join(f"{s}\t{d}\n" for s, d in zip(src[keep], dst[keep])))
    return graph


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("coldbrew_verbs")
    graph = _write_graph(root / "graph")
    assert main(["coldbrew", "fit", "--graph", str(root / "graph"), "--out", str(root / "model"), *FAST]) == 0
    return root, graph


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_writes_model_summary_and_names(fitted):
    from iclr22.coldbrew import ColdBrew

    root, graph = fitted
    model = ColdBrew.load(root / "model")
    assert model.n_features_in_ == 60 and model.num_classes_ == 3
    summary = (root / "model" / "summary.md").read_text()
    for text in ("nodes: 200", "isolated nodes:", "classes: 3 (alpha, beta, gamma)", "teacher", "student", "epochs=60"):
        assert text in summary
    assert json.loads((root / "model" / "verb.json").read_text())["class_names"] == ["alpha", "beta", "gamma"]


def test_predict_cold_nodes_csv(fitted, tmp_path):
    root, graph = fitted
    x_new = graph.x[-HELD_OUT:]
    features = tmp_path / "new.csv"
    np.savetxt(features, x_new, delimiter=",", header=",".join(f"f{j}" for j in range(60)), comments="")
    out = tmp_path / "predictions.csv"
    assert main(["coldbrew", "predict", "--model", str(root / "model"), "--features", str(features), "--out", str(out)]) == 0
    rows = _read(out)
    assert len(rows) == HELD_OUT
    assert list(rows[0]) == ["row", "predicted_label", "p_alpha", "p_beta", "p_gamma"]
    probs = np.array([[float(r[f"p_{n}"]) for n in ("alpha", "beta", "gamma")] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    names = np.array(["alpha", "beta", "gamma"])
    accuracy = float((np.array([r["predicted_label"] for r in rows]) == names[graph.y[-HELD_OUT:]]).mean())
    assert accuracy > 0.6, accuracy  # chance is 1/3


def test_predict_npy_and_id_column(fitted, tmp_path):
    root, graph = fitted
    np.save(tmp_path / "new.npy", graph.x[:5])
    assert main(["coldbrew", "predict", "--model", str(root / "model"), "--features", str(tmp_path / "new.npy"), "--out", str(tmp_path / "a.csv")]) == 0
    assert [r["row"] for r in _read(tmp_path / "a.csv")] == ["0", "1", "2", "3", "4"]
    lines = ["node," + ",".join(f"f{j}" for j in range(60))] + [f"item-{i}," + ",".join(map(str, graph.x[i])) for i in range(3)]
    (tmp_path / "ids.csv").write_text("\n".join(lines) + "\n")
    assert main(["coldbrew", "predict", "--model", str(root / "model"), "--features", str(tmp_path / "ids.csv"),
                 "--id-column", "node", "--out", str(tmp_path / "b.csv")]) == 0
    rows = _read(tmp_path / "b.csv")
    assert [r["node"] for r in rows] == ["item-0", "item-1", "item-2"]
    assert [r["predicted_label"] for r in rows] == [r["predicted_label"] for r in _read(tmp_path / "a.csv")[:3]]


def test_stratified_split_is_seeded_disjoint_and_covers_every_class():
    y = np.array([0] * 10 + [1] * 5 + [2] * 2 + [-1] * 3)
    train, val = stratified_split(y, 0.2, seed=3)
    assert not (train & val).any() and not (train | val)[y < 0].any() and (train | val)[y >= 0].all()
    assert [int(val[y == c].sum()) for c in range(3)] == [2, 1, 1]
    again = stratified_split(y, 0.2, seed=3)
    assert (again[0] == train).all() and (again[1] == val).all()


@pytest.mark.parametrize("case, expected", [
    ("no_edges", "edges.tsv"),
    ("empty_edges", "edges.tsv: the graph has no edges; Cold Brew distils a GCN teacher"),
    ("unknown_node", "edge endpoints"),
    ("bad_set", "top_k"),
    ("overlap", "the train and validation masks overlap on 1 node(s) (e.g. 3)"),
    ("wrong_width", "7 feature columns, but the model was trained on 60"),
])
def test_bad_inputs_exit_2_with_one_line(fitted, tmp_path, capsys, case, expected):
    root, _ = fitted
    graph_dir = tmp_path / "g"
    _write_graph(graph_dir, num_nodes=60)
    argv = ["coldbrew", "fit", "--graph", str(graph_dir), "--out", str(tmp_path / "m"), *FAST]
    if case == "no_edges":
        (graph_dir / "edges.tsv").unlink()
    elif case == "empty_edges":
        (graph_dir / "edges.tsv").write_text("")
    elif case == "unknown_node":
        with (graph_dir / "edges.tsv").open("a") as handle:
            handle.write("0\t999\n")
    elif case == "bad_set":
        argv += ["--set", "top_k=abc"]
    elif case == "overlap":
        (tmp_path / "train.txt").write_text("0\n1\n2\n3\n")
        (tmp_path / "val.txt").write_text("3\n4\n")
        argv += ["--train-nodes", str(tmp_path / "train.txt"), "--val-nodes", str(tmp_path / "val.txt")]
    elif case == "wrong_width":
        np.savetxt(tmp_path / "narrow.csv", np.ones((2, 7)), delimiter=",")
        argv = ["coldbrew", "predict", "--model", str(root / "model"), "--features", str(tmp_path / "narrow.csv"), "--out", str(tmp_path / "p.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "m").exists()
