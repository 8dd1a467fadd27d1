"""``iclr22 run rim`` end to end: --quick on the simulator (validated against the schema, with the figure), the csv
layout on a user's folder, MovieLens from ../shared/data, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.core.results import read_metrics
from iclr22.rim.synthetic import simulate_events

REQUIRED = {"random", "pop", "item2item", "bpr", "als", "gru", "hawkes", "hawkes_poisson", "rim", "rim_constrained"}
METRICS = {"itemrec_prec", "userrec_prec", "itemrec_recall", "userrec_recall", "coverage"}


def test_quick_run_on_the_simulator(tmp_path: Path) -> None:
    assert main(["run", "rim", "--quick", "--out", str(tmp_path)]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert metrics["dataset"] == "synthetic" and REQUIRED <= set(metrics["results"])
    for row in metrics["results"].values():
        assert METRICS <= set(row) and all(0 <= row[m] <= 100 for m in METRICS)
    assert metrics["config"]["k_itemrec"] >= 1 and metrics["config"]["test_users"] > 0
    assert any(f.endswith("_precision.png") for f in metrics["figures"])
    assert all((tmp_path / f).is_file() for f in metrics["figures"])


def test_csv_dataset_reads_the_users_folder(tmp_path: Path) -> None:
    data = simulate_events(num_users=80, num_items=30, days=60, seed=1)
    folder = tmp_path / "mine"
    folder.mkdir()
    lines = [f"{data.user_ids[u]},{data.item_ids[i]},{t}" for u, i, t in zip(data.user, data.item, data.timestamp)]
    (folder / "events.csv").write_text("user,item,timestamp\n" + "\n".join(lines) + "\n")
    assert main(["run", "rim", "--dataset", "csv", "--data-dir", str(folder), "--quick", "--out", str(tmp_path / "out"),
                 "--set", "models=pop,rim"]) == 0
    assert set(read_metrics(tmp_path / "out" / "metrics.json")["results"]) == {"pop", "rim"}


def test_csv_dataset_errors(tmp_path: Path, capsys) -> None:
    (tmp_path / "events.csv").write_text("user,item,timestamp\na,x,1\nb,y,1\n")
    assert main(["run", "rim", "--dataset", "csv", "--data-dir", str(tmp_path), "--quick", "--out", str(tmp_path / "o")]) == 2
    assert "share one timestamp" in capsys.readouterr().err
    (tmp_path / "events.csv").unlink()
    assert main(["run", "rim", "--dataset", "csv", "--data-dir", str(tmp_path), "--quick", "--out", str(tmp_path / "o")]) == 2
    assert "events.csv" in capsys.readouterr().err


@pytest.mark.shared_data
def test_quick_run_on_movielens(tmp_path: Path, shared_data: Path) -> None:
    assert main(["run", "rim", "--dataset", "movielens", "--data-dir", str(shared_data / "recsys" / "ml-100k"), "--quick",
                 "--out", str(tmp_path), "--set", "models=pop,gru,rim"]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert metrics["config"]["test_users"] > 400 and metrics["config"]["k_itemrec"] == int(np.ceil(0.01 * metrics["config"]["test_items"]))
    assert "Official README figure readings" in (tmp_path / "report.md").read_text()


def test_validation_run_scores_validation_users_only(tmp_path: Path) -> None:
    assert main(["run", "rim", "--quick", "--out", str(tmp_path), "--set", "evaluate_on=validation",
                 "--set", "models=gru,rim,rim_ema,rim_user_pop"]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert set(metrics["results"]) == {"gru", "rim", "rim_ema", "rim_user_pop"}
    assert "VALIDATION run" in (tmp_path / "report.md").read_text()
