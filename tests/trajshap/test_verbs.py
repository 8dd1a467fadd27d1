"""``iclr22 trajshap fit`` and ``iclr22 trajshap explain`` on a user's own trajectory files (small simulated
scenes written with agent ids 100+ and a type column in which one agent is the BALL)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.data.trajectories import read_trajectory_file
from iclr22.trajshap import TrajectoryShapley
from iclr22.trajshap.synthetic import simulate_scenes, write_scene

FAST = ["--set", "epochs=1", "--set", "hidden=8", "--set", "modes=2", "--set", "pred_len=4", "--quiet"]


def _write_folder(root, scale=1.0, types=True, train=3, test=1):
    for part, seed, count in (("train", 0, train), ("test", 1, test)):
        for i, scene in enumerate(simulate_scenes(count, "social", seed=seed, num_frames=16)):
            if types:
                scene.agent_type = np.where(scene.agent_id == 1, "BALL", "PED")  # a follower: close to its leader
            scene.x, scene.y = scene.x * scale, scene.y * scale
            scene.agent_id = scene.agent_id + 100
            write_scene(scene, root / part / f"game{i}.txt")
    return root


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """One explain run that trains (the ball a context agent, named in lower case), read back."""
    root = tmp_path_factory.mktemp("trajshap-verbs")
    data = _write_folder(root / "data")
    out = root / "out"
    assert main(["trajshap", "explain", "--data", str(data), "--out", str(out), "--set", "context_types=ball", *FAST]) == 0
    return data, out


def test_explain_rows_name_the_files_agents_and_real_neighbours(explained):
    data, out = explained
    rows = _read(out / "attributions.csv")
    assert list(rows[0]) == ["sample", "scene", "frame", "agent_id", "feature", "neighbour_id", "neighbour_type", "distance", "shapley_value", "stderr"]
    table = read_trajectory_file(data / "test" / "game0.txt")
    position = {(int(f), int(a)): np.array([x, y]) for f, a, x, y in zip(table.frame, table.agent_id, table.x, table.y)}
    kinds = dict(zip(table.agent_id.tolist(), table.agent_type.tolist()))
    samples = {}
    for row in rows:
        assert row["scene"] == "test/game0.txt"
        frame, agent = int(row["frame"]), int(row["agent_id"])
        assert (frame, agent) in position and kinds[agent] == "PED"  # a real agent of the file; the ball is never a target
        samples.setdefault(row["sample"], []).append(row["feature"])
        if row["feature"] == "neighbour":
            other = int(row["neighbour_id"])
            assert other != agent and (frame, other) in position  # present in the file at that frame
            distance = np.linalg.norm(position[(frame, other)] - position[(frame, agent)])
            assert distance <= 3.0 and float(row["distance"]) == pytest.approx(distance, abs=2e-3)
            assert row["neighbour_type"] == kinds[other]
        else:
            assert row["neighbour_id"] == "" and row["distance"] == ""
    assert all(f[0] == "past" and f[-1] == "random" and f.count("past") == 1 for f in samples.values())
    assert any(r["neighbour_type"] == "BALL" for r in rows)  # the ball is a neighbour
    per_sample = _read(out / "samples.csv")
    assert len(per_sample) == len(samples)
    for row in per_sample:  # efficiency: the values add up to the error the inputs remove
        values = [float(r["shapley_value"]) for r in rows if r["sample"] == row["sample"]]
        assert sum(values) == pytest.approx(float(row["error_without_inputs"]) - float(row["error"]), abs=1e-4)
        assert int(row["neighbours"]) == sum(1 for r in rows if r["sample"] == row["sample"] and r["feature"] == "neighbour")
    neighbours = _read(out / "neighbours.csv")
    assert {int(r["neighbour_id"]) for r in neighbours} == {int(r["neighbour_id"]) for r in rows if r["feature"] == "neighbour"}
    summary = (out / "summary.md").read_text()
    assert "Mean Shapley value" in summary and "| BALL |" in summary and "paper" not in summary.lower()
    assert TrajectoryShapley.load(out / "model").predictor.pred_len_ == 4


def test_explain_with_a_saved_model_reproduces_the_values(explained, tmp_path):
    data, out = explained
    again = tmp_path / "again"
    assert main(["trajshap", "explain", "--model", str(out / "model"), "--data", str(data), "--out", str(again), "--quiet"]) == 0
    first, second = _read(out / "attributions.csv"), _read(again / "attributions.csv")
    assert [r["neighbour_id"] for r in first] == [r["neighbour_id"] for r in second]
    np.testing.assert_allclose([float(r["shapley_value"]) for r in second], [float(r["shapley_value"]) for r in first], atol=1e-5)
    assert not (again / "model").exists()
    # a single file works too, and the predictor's training options cannot change a trained model
    one = tmp_path / "one"
    assert main(["trajshap", "explain", "--model", str(out / "model"), "--data", str(data / "test" / "game0.txt"), "--out", str(one), "--quiet"]) == 0
    assert _read(one / "attributions.csv")[0]["scene"] == "game0.txt"
    assert main(["trajshap", "explain", "--model", str(out / "model"), "--data", str(data), "--out", str(one), "--set", "epochs=3"]) == 2


def test_fit_saves_a_model_that_explain_reads(tmp_path):
    data = _write_folder(tmp_path / "data", types=False, train=2)
    assert main(["trajshap", "fit", "--data", str(data), "--out", str(tmp_path / "model"), "--predictor", "lstm", *FAST]) == 0
    summary = (tmp_path / "model" / "summary.md").read_text()
    assert "predictor: lstm" in summary and "validation minADE" in summary
    model = TrajectoryShapley.load(tmp_path / "model")
    assert model.predictor.architecture == "lstm"
    assert main(["trajshap", "explain", "--model", str(tmp_path / "model"), "--data", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    rows = _read(tmp_path / "out" / "attributions.csv")
    neighbour_values = [float(r["shapley_value"]) for r in rows if r["feature"] == "neighbour"]
    assert neighbour_values and np.allclose(neighbour_values, 0.0)  # an LSTM never reads its neighbours
    assert all(r["neighbour_type"] == "" for r in rows)  # 4-column files have no types


def _error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_context_type_that_matches_nothing_is_an_error_naming_the_types(tmp_path, capsys):
    data = _write_folder(tmp_path / "data", train=1)
    assert main(["trajshap", "fit", "--data", str(data), "--out", str(tmp_path / "m"), "--set", "context_types=balls", *FAST]) == 2
    line = _error_line(capsys)
    assert "'balls'" in line and "BALL, PED" in line
    plain = _write_folder(tmp_path / "plain", types=False, train=1)
    assert main(["trajshap", "explain", "--data", str(plain), "--out", str(tmp_path / "o"), "--set", "context_types=BALL", *FAST]) == 2
    assert "no type column" in _error_line(capsys)
    assert main(["trajshap", "explain", "--data", str(data), "--out", str(tmp_path / "o"), "--set", "radius=x"]) == 2
    assert "radius" in _error_line(capsys)


def test_a_nearly_empty_neighbourhood_warns_on_stderr_and_in_the_summary(tmp_path, capsys):
    data = _write_folder(tmp_path / "feet", scale=3.28, train=2)  # the same scenes in feet: radius 3 is now 0.9 m
    assert main(["trajshap", "explain", "--data", str(data), "--out", str(tmp_path / "o"), *FAST]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings and all(line.startswith("iclr22: warning: nearly empty neighbourhoods") for line in warnings)
    assert "within radius=3" in warnings[0] and "coordinate unit" in warnings[0] and "--set radius=" in warnings[0]
    assert "**Warning:** nearly empty neighbourhoods" in (tmp_path / "o" / "summary.md").read_text()


def test_run_on_trajfiles_warns_in_the_report_and_on_stderr(tmp_path, capsys):
    data = _write_folder(tmp_path / "feet", scale=3.28, train=2)
    out = tmp_path / "run"
    assert main(["run", "trajshap", "--dataset", "trajfiles", "--data-dir", str(data), "--out", str(out), "--quick", "--set", "models=cv",
                 "--set", "pred_len=4", "--quiet"]) == 0
    assert "iclr22: warning: nearly empty neighbourhoods" in capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert "**Warning:** nearly empty neighbourhoods" in report
    assert "paper" not in report.lower() and "your files' coordinate unit" in report
