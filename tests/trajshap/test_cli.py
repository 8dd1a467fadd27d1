"""`iclr22 run trajshap`: a quick run writes valid metrics; bad input is one line with exit code 2."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.core.results import read_metrics
from iclr22.trajshap.synthetic import simulate_scenes, write_scene


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_quick_run_writes_valid_metrics_and_figures(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "trajshap", "--quick", "--out", str(out), "--set", "models=cv,interaction"]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert metrics["dataset"] == "sim" and metrics["quick"] is True
    assert set(metrics["results"]) == {"cv", "interaction", "cv_alone", "interaction_alone"}
    for row in metrics["results"].values():
        for metric in ("ade", "fde", "ade_no_neighbours", "shap_past", "shap_interaction", "shap_random", "banzhaf_past"):
            assert row[metric] is not None
    cv = metrics["results"]["cv"]
    assert cv["shap_interaction"] == pytest.approx(0, abs=1e-9) and cv["ade"] == cv["ade_no_neighbours"]
    assert {"attribution_bars.png", "scene_interaction.png"} <= {p.split("/")[-1] for p in metrics["figures"]}
    assert (out / "attribution_bars.png").stat().st_size > 1000


def test_trajfiles_dataset_with_context_types(tmp_path, capsys):
    for part, seed, count in (("train", 0, 3), ("test", 1, 1)):
        for i, scene in enumerate(simulate_scenes(count, "alone", seed=seed, num_frames=24)):
            scene.agent_type = np.where(scene.agent_id == 0, "BALL", "PED")
            write_scene(scene, tmp_path / "data" / part / f"s{i}.txt")
    out = tmp_path / "run"
    args = ["run", "trajshap", "--dataset", "trajfiles", "--data-dir", str(tmp_path / "data"), "--out", str(out), "--quick", "--set", "models=cv"]
    assert main([*args, "--set", "context_types=ball"]) == 0  # matched ignoring case
    assert set(read_metrics(out / "metrics.json")["results"]) == {"cv"}
    assert "nearly empty neighbourhoods" in capsys.readouterr().err  # the alone regime: 0.33 neighbours per sample
    assert main([*args, "--set", "context_types=BAL"]) == 2  # a name that matches nothing: the files' types are listed
    assert "their types: BALL, PED" in _one_line_error(capsys)


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad"
    (bad / "train").mkdir(parents=True)
    (bad / "test").mkdir()
    (bad / "train" / "a.txt").write_text("0 1 1.0 2.0\n10 1 1.5\n")
    (bad / "test" / "b.txt").write_text("0 1 1.0 2.0\n")
    assert main(["run", "trajshap", "--dataset", "trajfiles", "--data-dir", str(bad), "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert "a.txt: line 2" in line and "columns" in line
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "estimator=kernel"]) == 2
    assert "estimator" in _one_line_error(capsys)
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "models=cv,gan"]) == 2
    assert "gan" in _one_line_error(capsys)
    assert main(["run", "trajshap", "--dataset", "ethucy", "--data-dir", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "all_data" in _one_line_error(capsys)


def test_help_lists_options_with_types_and_defaults(capsys):
    assert main(["run", "trajshap", "--help"]) == 0
    out = capsys.readouterr().out
    for line in ("epochs (int, default 40)", "num_coalitions (int, default 10)", "max_train_samples (int, default 0)", "test_scene (str, default eth)"):
        assert line in out
    assert "'exact' | 'permutation' | 'banzhaf' | 'exact_banzhaf' | 'auto'" in out


def test_bad_set_values_exit_2_naming_the_option(tmp_path, capsys):
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "epochs=abc"]) == 2
    assert "epochs" in _one_line_error(capsys)
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "models=nosuch"]) == 2
    assert "nosuch" in _one_line_error(capsys)
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "architecture=lstm"]) == 2
    assert "unknown option 'architecture'" in _one_line_error(capsys)  # the experiment sets it per model
    assert main(["run", "trajshap", "--quick", "--out", str(tmp_path / "o"), "--set", "sim_regimes=alone"]) == 2
    assert "social" in _one_line_error(capsys)
