"""``iclr22 grda fit`` and ``iclr22 grda predict`` on a user's own domains (a tiny spiral written as a DG .npz)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.grda import GRDA
from iclr22.grda.synthetic import make_spiral_domains

FAST = ["--set", "epochs=2", "--set", "hidden=8", "--quiet"]


@pytest.fixture(scope="module")
def spiral():
    return make_spiral_domains(num_domains=5, points_per_domain=20, seed=0)


def _write(path, data, **changes):
    arrays = {"data": data.x, "label": data.y, "domain": data.domain, "A": data.adjacency, "src_domain": data.source_domains}
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_then_predict_writes_model_summary_and_predictions(spiral, tmp_path):
    data_file = _write(tmp_path / "dg.npz", spiral)
    model_dir = tmp_path / "model"
    assert main(["grda", "fit", "--data", str(data_file), "--out", str(model_dir), *FAST]) == 0
    summary = (model_dir / "summary.md").read_text()
    assert "domains: 5" in summary and "sources (labelled): 0 1" in summary and "pairing=random" in summary
    assert "| 4 | target | 20 |" in summary and "epochs=2" in summary
    model = GRDA.load(model_dir)
    assert model.epochs == 2 and model.pairing == "random" and model.source_domains_.tolist() == [0, 1]

    out = tmp_path / "pred" / "predictions.csv"
    assert main(["grda", "predict", "--model", str(model_dir), "--data", str(data_file), "--out", str(out), "--per-domain", "--quiet"]) == 0
    rows = _read(out)
    assert len(rows) == len(spiral.x)
    assert list(rows[0]) == ["index", "domain", "predicted_label", "p_0", "p_1"]
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    assert [int(r["domain"]) for r in rows] == spiral.domain.tolist()
    probs = np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])
    assert np.allclose(probs.sum(1), 1.0, atol=1e-4)
    assert [int(r["predicted_label"]) for r in rows] == probs.argmax(1).tolist()
    text = (tmp_path / "pred" / "predictions_summary.md").read_text()
    assert "## Per domain" in text and "| 3 | target | 20 |" in text and "% (20 labelled)" in text


def test_target_labels_are_not_used(spiral, tmp_path):
    flipped = np.where(np.isin(spiral.domain, spiral.source_domains), spiral.y, 1 - spiral.y)
    fits = []
    for name, labels in (("a", spiral.y), ("b", flipped)):
        assert main(["grda", "fit", "--data", str(_write(tmp_path / f"{name}.npz", spiral, label=labels)), "--out", str(tmp_path / name), *FAST]) == 0
        fits.append(GRDA.load(tmp_path / name).predict_proba(spiral.x, spiral.domain))
    assert np.allclose(fits[0], fits[1])


def test_unknown_labels_and_no_src_domain_infer_sources(spiral, tmp_path):
    labels = np.where(spiral.domain < 3, spiral.y, -1)
    data_file = _write(tmp_path / "d.npz", spiral, label=labels, src_domain=None)
    assert main(["grda", "fit", "--data", str(data_file), "--out", str(tmp_path / "m"), *FAST]) == 0
    assert GRDA.load(tmp_path / "m").source_domains_.tolist() == [0, 1, 2]


def test_graph_without_edges_warns(spiral, tmp_path, capsys):
    data_file = _write(tmp_path / "d.npz", spiral, A=np.zeros_like(spiral.adjacency))
    assert main(["grda", "fit", "--data", str(data_file), "--out", str(tmp_path / "m"), *FAST]) == 0
    assert "no edges" in capsys.readouterr().err
    assert "**Warning:** the domain graph has no edges" in (tmp_path / "m" / "summary.md").read_text()


@pytest.mark.parametrize(
    "change, extra, expected",
    [
        ({"A": None}, [], "A"),
        ({"domain": "outside"}, [], "domain ids"),
        ({}, ["--set", "epochs=abc"], "epochs"),
        ({}, ["--set", "epoch=3"], "did you mean epochs"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(spiral, tmp_path, capsys, change, extra, expected):
    if change.get("domain") == "outside":
        domain = spiral.domain.copy()
        domain[7] = spiral.num_domains
        change = {"domain": domain}
    data_file = _write(tmp_path / "d.npz", spiral, **change)
    assert main(["grda", "fit", "--data", str(data_file), "--out", str(tmp_path / "m"), *FAST, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("iclr22: error:") and "\n" not in err and expected in err


def test_predict_refuses_a_domain_outside_the_graph(spiral, tmp_path, capsys):
    data_file = _write(tmp_path / "d.npz", spiral)
    assert main(["grda", "fit", "--data", str(data_file), "--out", str(tmp_path / "m"), *FAST]) == 0
    domain = spiral.domain.copy()
    domain[0] = 9
    np.savez(tmp_path / "new.npz", data=spiral.x, domain=domain)
    assert main(["grda", "predict", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "new.npz"), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "domain id 9" in err and "\n" not in err


# ------------------------------------------------------------------------------------- CSV / TSV input
def _write_table(path, data, labelled=None, delimiter=","):
    """The spiral as a user's table: x1, x2, domain, label (empty where unknown), rows in file order."""
    labelled = data.source_domains if labelled is None else labelled
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["x1", "x2", "domain", "label"])
        for x, d, y in zip(data.x.tolist(), data.domain.tolist(), data.y.tolist()):
            writer.writerow([*x, d, y if d in labelled else ""])
    return path


def _write_edges(path, adjacency, header=True, delimiter=","):
    rows, cols = np.nonzero(np.triu(adjacency, 1))
    lines = [f"src{delimiter}dst"] if header else []
    path.write_text("\n".join(lines + [f"{i}{delimiter}{j}" for i, j in zip(rows, cols)]) + "\n")
    return path


def test_csv_fit_then_csv_predict(spiral, tmp_path):
    samples = _write_table(tmp_path / "samples.csv", spiral)
    edges = _write_edges(tmp_path / "edges.csv", spiral.adjacency)
    model_dir = tmp_path / "model"
    assert main(["grda", "fit", "--data", str(samples), "--graph", str(edges), "--out", str(model_dir), *FAST]) == 0
    model = GRDA.load(model_dir)
    assert model.source_domains_.tolist() == [0, 1]  # the domains whose labels are all given
    assert np.array_equal(model.adjacency_, spiral.adjacency)
    summary = (model_dir / "summary.md").read_text()
    assert f"graph: {edges}" in summary and "| 4 | target | 20 |" in summary

    # New samples: a table with the true labels of every domain (scored, never used to predict).
    new = _write_table(tmp_path / "new.csv", spiral, labelled=range(spiral.num_domains))
    out = tmp_path / "predictions.csv"
    assert main(["grda", "predict", "--model", str(model_dir), "--data", str(new), "--out", str(out), "--per-domain", "--quiet"]) == 0
    rows = _read(out)
    assert len(rows) == len(spiral.x) and list(rows[0]) == ["index", "domain", "predicted_label", "p_0", "p_1"]
    assert [int(r["domain"]) for r in rows] == spiral.domain.tolist()
    predicted = np.array([int(r["predicted_label"]) for r in rows])
    assert np.array_equal(predicted, model.predict(spiral.x, spiral.domain))
    text = (tmp_path / "predictions_summary.md").read_text()
    accuracy = model.score(spiral.x, spiral.y, spiral.domain)  # percent, the summary's unit
    assert f"all {accuracy:.1f}% ({len(spiral.x)} labelled)" in text


@pytest.mark.parametrize("graph_layout", ["edges.tsv without header", "adjacency.csv"])
def test_graph_files_edge_list_or_adjacency(spiral, tmp_path, graph_layout):
    samples = _write_table(tmp_path / "samples.tsv", spiral, delimiter="\t")
    if graph_layout.startswith("edges"):
        graph = _write_edges(tmp_path / "edges.tsv", spiral.adjacency, header=False, delimiter="\t")
    else:
        graph = tmp_path / "adjacency.csv"
        np.savetxt(graph, spiral.adjacency, fmt="%d", delimiter=",")
    assert main(["grda", "fit", "--data", str(samples), "--graph", str(graph), "--out", str(tmp_path / "m"), *FAST]) == 0
    assert np.array_equal(GRDA.load(tmp_path / "m").adjacency_, spiral.adjacency)


def test_csv_graph_without_edges_warns_once(spiral, tmp_path, capsys):
    samples = _write_table(tmp_path / "samples.csv", spiral)
    (tmp_path / "edges.csv").write_text("src,dst\n")  # a header only: no edges
    assert main(["grda", "fit", "--data", str(samples), "--graph", str(tmp_path / "edges.csv"), "--out", str(tmp_path / "m"), *FAST]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iclr22: warning: the domain graph has no edges")
    assert "**Warning:** the domain graph has no edges" in (tmp_path / "m" / "summary.md").read_text()


@pytest.mark.parametrize(
    "table, graph, expected",
    [
        ("x1,x2,domain,label\n0.1,0.2,0,1\n0.3,abc,1,\n", "0,1\n", "line 3: column x2 is not a number"),
        ("x1,x2,dom,label\n0.1,0.2,0,1\n", "0,1\n", "no 'domain' column"),
        ("x1,x2,domain,label\n0.1,0.2,0,1\n0.3,0.4,1,0.5\n", "0,1\n", "column label must be an integer"),
        ("x1,x2,domain,label\n0.1,0.2,0,1\n0.3,0.4,1,\n", "0,7\n", "id 7 outside 0..1"),
        ("x1,x2,domain,label\n0.1,0.2,0,1\n0.3,0.4,1,\n", "0,1,0\n1,0,0\n0,0,0\n", "3 nodes, expected 2"),
        ("x1,x2,domain,label\n0.1,0.2,0,1\n0.3,0.4,1,\n", None, "needs --graph"),
    ],
)
def test_bad_tables_exit_2_with_one_line(tmp_path, capsys, table, graph, expected):
    (tmp_path / "s.csv").write_text(table)
    extra = []
    if graph is not None:
        (tmp_path / "g.csv").write_text(graph)
        extra = ["--graph", str(tmp_path / "g.csv")]
    assert main(["grda", "fit", "--data", str(tmp_path / "s.csv"), *extra, "--out", str(tmp_path / "m"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("iclr22: error:") and "\n" not in err and expected in err, err


def test_graph_option_is_for_tables_only(spiral, tmp_path, capsys):
    data_file = _write(tmp_path / "d.npz", spiral)
    edges = _write_edges(tmp_path / "edges.csv", spiral.adjacency)
    assert main(["grda", "fit", "--data", str(data_file), "--graph", str(edges), "--out", str(tmp_path / "m"), *FAST]) == 2
    assert "holds its domain graph as A" in capsys.readouterr().err
