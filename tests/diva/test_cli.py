"""``iclr22 run diva``: a quick run validated against the schema, real data, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.core.results import read_metrics
from iclr22.diva.experiment import inject_label_noise


def test_quick_run_on_embedded_digits_writes_valid_metrics(tmp_path, capsys):
    assert main(["run", "diva", "--quick", "--out", str(tmp_path), "--seed", "3"]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    results = metrics["results"]
    assert metrics["dataset"] == "digits" and metrics["quick"] is True
    assert {"diva", "loss_rank", "influence", "uniform", "drop_top"} <= set(results)
    for model in ("diva", "loss_rank", "influence"):
        assert 0.5 < results[model]["auroc_mislabeled"] <= 1.0
        assert 0.0 <= results[model]["f1_mislabeled"] <= 1.0
    assert results["diva"]["auroc_mislabeled"] >= 0.95  # 10% symmetric noise on digits
    for model in ("diva", "uniform", "drop_top", "drop_top_oracle"):
        assert 0.0 <= results[model]["test_error"] < 20.0  # percent
    # neither DIVA's step size nor drop_top's count may come from the noise rate or the test set
    assert any(n.startswith("Reweight:") and "chosen by leave-one-out error" in n for n in metrics["notes"])
    assert any(n.startswith("drop_top drops") and "chosen by leave-one-out error" in n for n in metrics["notes"])
    assert any("cleanlab" in note for note in metrics["notes"]) or "cleanlab" in results
    assert (tmp_path / "diva_detection.png").is_file() and (tmp_path / "report.md").is_file()


def test_features_dataset_reads_user_embeddings_and_their_clean_labels(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3.0, size=(3, 6))
    y, yt = rng.integers(0, 3, 240), rng.integers(0, 3, 90)
    x, xt = centers[y] + rng.normal(size=(240, 6)), centers[yt] + rng.normal(size=(90, 6))
    noisy, mask = inject_label_noise(y, 0.15, rng, 3)
    data = tmp_path / "data"
    data.mkdir()
    np.savez(data / "features.npz", X_train=x, y_train=noisy, X_test=xt, y_test=yt, y_train_clean=y)
    out = tmp_path / "out"
    assert main(["run", "diva", "--dataset", "features", "--data-dir", str(data), "--out", str(out), "--set", "steps=1"]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert metrics["config"]["features"] == "identity"
    assert f"{int(mask.sum())} given by y_train_clean" in metrics["notes"][0]
    assert metrics["results"]["diva"]["auroc_mislabeled"] > 0.9
    assert "leave-one-out loss (Prop. 3)" in metrics["notes"][1]

    # with a validation set in the file, the objective becomes the validation loss (Prop. 2)
    yv = rng.integers(0, 3, 60)
    np.savez(data / "features.npz", X_train=x, y_train=noisy, X_test=xt, y_test=yt, y_train_clean=y, X_val=centers[yv] + rng.normal(size=(60, 6)), y_val=yv)
    assert main(["run", "diva", "--dataset", "features", "--data-dir", str(data), "--out", str(out), "--set", "steps=1"]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert "validation loss (Prop. 2)" in metrics["notes"][1]
    assert "validation error (%) after dropping the top fraction" in (out / "report.md").read_text()
    assert metrics["results"]["diva"]["auroc_mislabeled"] > 0.9


def test_mnist_quick_on_the_shared_copy(shared_data, tmp_path):
    folder = shared_data / "images" / "mnist-t10k"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    assert main(["run", "diva", "--dataset", "mnist", "--data-dir", str(folder), "--quick", "--out", str(tmp_path)]) == 0
    results = read_metrics(tmp_path / "metrics.json")["results"]
    assert results["diva"]["auroc_mislabeled"] > 0.85
    assert results["uniform"]["test_error"] < 30.0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "noise=1.5"], "noise must lie in [0, 1)"),
        (["--set", "features=sift"], "option 'features' expects one of 'rff', 'cnn', 'pixels', 'identity'"),
        (["--set", "steps=abc"], "option 'steps' expects int"),
        (["--set", "steps=-1"], "parameter 'steps' must be a non-negative integer"),
        (["--set", "lr=fast"], "option 'lr' expects float | 'auto'"),
        (["--set", "models=nosuch"], "option 'models' expects list of ('"),
        (["--set", "bogus=1"], "unknown option 'bogus'"),
        (["--set", "reg=None"], "option 'reg' expects float | 'auto'"),
        (["--set", "train_size=5000"], "must lie in 1..1796"),
        (["--dataset", "features"], "needs --data-dir"),
        (["--dataset", "imagenet"], "does not know dataset 'imagenet'"),
    ],
)
def test_bad_cli_input_exits_2_with_one_line(tmp_path, capsys, extra, message):
    assert main(["run", "diva", "--quick", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_features_file_with_nan_is_a_data_error(tmp_path, capsys):
    x = np.ones((20, 3))
    x[4, 1] = np.nan
    np.savez(tmp_path / "features.npz", X_train=x, y_train=np.arange(20) % 2, X_test=np.ones((5, 3)), y_test=np.zeros(5, int))
    assert main(["run", "diva", "--dataset", "features", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "features.npz" in err and "X_train" in err


def test_cleanlab_row_is_filled_when_cleanlab_imports(monkeypatch):
    """cleanlab is optional: exercise the code path with a stand-in module of the same API."""
    import sys
    import types

    from iclr22.diva.experiment import cleanlab_scores

    calls = {}

    def fake_find(labels, pred_probs):
        calls["labels"] = labels
        return pred_probs[np.arange(len(labels)), labels] < 0.5

    def fake_quality(labels, pred_probs):
        return pred_probs[np.arange(len(labels)), labels]

    package = types.ModuleType("cleanlab")
    package.filter = types.SimpleNamespace(find_label_issues=fake_find)
    package.rank = types.SimpleNamespace(get_label_quality_scores=fake_quality)
    monkeypatch.setitem(sys.modules, "cleanlab", package)
    monkeypatch.setitem(sys.modules, "cleanlab.filter", package.filter)
    monkeypatch.setitem(sys.modules, "cleanlab.rank", package.rank)
    rng = np.random.default_rng(0)
    y = np.repeat([3, 7, 9], 30)  # non-contiguous labels are re-coded to 0..K-1 for cleanlab
    x = np.eye(3)[np.searchsorted([3, 7, 9], y)] * 4 + rng.normal(size=(90, 3))
    flagged, scores = cleanlab_scores(x, y, folds=3, seed=0)
    assert set(np.unique(calls["labels"])) == {0, 1, 2}
    assert flagged.shape == scores.shape == (90,) and flagged.mean() < 0.2


def test_help_lists_the_options_with_types_and_defaults(capsys):
    assert main(["run", "diva", "--help"]) == 0
    out = capsys.readouterr().out
    for line in ("lr (float | 'auto', default auto)", "steps (int, default 1)", "features ('rff' | 'cnn' | 'pixels' | 'identity', default rff)",
                 "num_features (int, default 1024)", "loss ('mse' | 'ce', default mse)"):
        assert line in out
    assert "mnist: train_size=5000, test_size=5000, num_features=2048" in out


def test_set_keys_are_the_estimators_parameter_names(tmp_path):
    """--set lr / reg / steps reach DIVA unchanged; a subset of models runs in the order asked for."""
    out = tmp_path / "o"
    assert main(["run", "diva", "--quick", "--out", str(out), "--set", "lr=1.0", "--set", "reg=0.5", "--set", "models=uniform,diva"]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert list(metrics["results"]) == ["uniform", "diva"]
    assert metrics["config"]["lr"] == 1.0 and metrics["config"]["reg"] == 0.5
    assert any(n.startswith("Reweight: lr = 1 ") for n in metrics["notes"])
    assert "lambda = 0.5 " in metrics["notes"][1]


def test_features_run_refuses_fractional_labels_as_the_verbs_do(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    np.savez(tmp_path / "features.npz", X_train=x, y_train=rng.normal(size=40), X_test=x[:5], y_test=np.zeros(5, int))
    assert main(["run", "diva", "--dataset", "features", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "y_train must hold integer class ids, got the non-whole number" in err and "(row 0)" in err


def test_features_run_report_has_no_paper_section_and_carries_the_warning(tmp_path, capsys):
    rng = np.random.default_rng(1)
    centers = rng.normal(scale=3.0, size=(3, 5))
    y = rng.integers(0, 3, 120)
    y[0] = 5  # a class with one sample
    x = np.r_[centers, [[9.0] * 5]][np.minimum(y, 3)] + rng.normal(size=(120, 5))
    np.savez(tmp_path / "features.npz", X_train=x, y_train=y, X_test=x[:20], y_test=y[:20])
    out = tmp_path / "o"
    assert main(["run", "diva", "--dataset", "features", "--data-dir", str(tmp_path), "--out", str(out), "--quiet",
                 "--set", "models=diva,uniform", "--set", "noise=0"]) == 0
    err = capsys.readouterr().err
    assert err.count("iclr22: warning: y: 1 of 4 classes have a single sample") == 1, err
    report = (out / "report.md").read_text()
    assert "single sample" in report and "Paper (" not in report and "ResNet" not in report
