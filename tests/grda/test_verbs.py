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
