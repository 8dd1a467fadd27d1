"""``iclr22 diva find-issues`` and ``iclr22 diva reweight`` on a user's own files (npz and csv)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.diva import DIVA

NAMES = np.array(["cat", "dog", "owl"])


@pytest.fixture(scope="module")
def blobs():
    """Three separable blobs in 12-D, 50 per class, with 8 labels moved to the next class."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3.0, size=(3, 12))
    y = np.repeat(np.arange(3), 50)
    X = centers[y] + rng.normal(size=(len(y), 12))
    flipped = np.sort(rng.choice(len(y), 8, replace=False))
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 3
    return X, noisy, y, flipped


def _write_csv(path, X, labels, label_column="label"):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"f{j}" for j in range(X.shape[1])] + [label_column])
        for row, label in zip(X, labels):
            writer.writerow([f"{v:.6f}" for v in row] + [label])
    return path


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_find_issues_on_npz_ranks_flipped_labels_first(blobs, tmp_path, capsys):
    X, noisy, clean, flipped = blobs
    np.savez(tmp_path / "f.npz", X=X, y=noisy)
    out = tmp_path / "out"
    assert main(["diva", "find-issues", "--features", str(tmp_path / "f.npz"), "--out", str(out), "--top", "5", "--quiet"]) == 0
    rows = _read(out / "label_issues.csv")
    assert list(rows[0]) == ["index", "given_label", "suggested_label", "derivative", "flagged"]
    assert len(rows) == len(noisy) and sorted(int(r["index"]) for r in rows) == list(range(len(noisy)))
    derivative = np.array([float(r["derivative"]) for r in rows])
    assert np.all(np.diff(derivative) <= 0)  # most detrimental first
    assert all((r["flagged"] == "True") == (float(r["derivative"]) >= 0.0) for r in rows)  # epsilon = 0
    top = {int(r["index"]) for r in rows[: len(flipped) + 2]}
    assert set(flipped.tolist()) <= top  # the broken labels rank at the top
    for r in rows:  # the given label is the file's; the leave-one-out suggestion recovers the clean one
        i = int(r["index"])
        assert int(r["given_label"]) == noisy[i]
        if i in flipped:
            assert int(r["suggested_label"]) == clean[i]
    summary = (out / "summary.md").read_text()
    assert "samples: 150, classes: 3" in summary and "flagged" in summary and "leave-one-out" in summary
    assert summary.count("\n| ") == 1 + 5  # header and the --top rows
    model = DIVA.load(out / "model")
    by_index = {int(r["index"]): float(r["derivative"]) for r in rows}
    np.testing.assert_allclose([by_index[i] for i in range(len(noisy))], model.derivative_, rtol=1e-4, atol=1e-6)
    assert model.steps_ == 0 and np.array_equal(model.predict(X[:3]), DIVA(steps=0).fit(X, noisy).predict(X[:3]))


def test_find_issues_on_csv_with_string_labels_validation_and_settings(blobs, tmp_path, capsys):
    X, noisy, clean, flipped = blobs
    features = _write_csv(tmp_path / "f.csv", X, NAMES[noisy], "species")
    val = _write_csv(tmp_path / "v.csv", X[::5] + 0.1, NAMES[clean[::5]], "species")
    out = tmp_path / "out"
    argv = ["diva", "find-issues", "--features", str(features), "--label-column", "species", "--val", str(val),
            "--out", str(out), "--set", "epsilon=0.05", "--set", "reg=1.0"]
    assert main(argv) == 0
    assert "flagged" in capsys.readouterr().out
    rows = _read(out / "label_issues.csv")
    assert len(rows) == len(noisy) and {r["given_label"] for r in rows} == set(NAMES)
    assert all((r["flagged"] == "True") == (float(r["derivative"]) >= 0.05) for r in rows)
    assert set(flipped.tolist()) <= {int(r["index"]) for r in rows[: len(flipped) + 4]}
    model = DIVA.load(out / "model")
    assert model.objective_ == "val" and model.reg_ == 1.0 and list(model.classes_) == list(NAMES)
    summary = (out / "summary.md").read_text()
    assert "epsilon=0.05" in summary and "objective = val" in summary


def test_reweight_writes_weights_in_file_order_and_down_weights_flipped(blobs, tmp_path):
    X, noisy, clean, flipped = blobs
    features = _write_csv(tmp_path / "f.csv", X, NAMES[noisy])
    out = tmp_path / "out"
    assert main(["diva", "reweight", "--features", str(features), "--out", str(out), "--quiet"]) == 0
    rows = _read(out / "weights.csv")
    assert list(rows[0]) == ["index", "given_label", "weight", "derivative"]
    assert [int(r["index"]) for r in rows] == list(range(len(noisy)))
    assert [r["given_label"] for r in rows] == list(NAMES[noisy])
    weights = np.array([float(r["weight"]) for r in rows])
    assert np.all(weights >= 0) and np.all(weights[flipped] < 1.0)
    assert np.all(np.sort(weights)[: len(flipped)] <= weights[flipped].max())  # flipped ones are the lowest
    model = DIVA.load(out / "model")
    np.testing.assert_allclose(weights, model.weights_, rtol=1e-4)
    assert model.steps_ >= 1 and "weights: min" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    "case, expected",
    [
        ("no_label_column", "no label column 'label'"),
        ("float_labels", "labels must be classes"),
        ("missing_file", "nosuch.npz: features file not found"),
        ("bad_set", "option 'steps' expects int, got 'abc'"),
        ("npz_names", "expected arrays 'X' and 'y'"),
        ("bad_cell", "line 3, column 'f1': not a number"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(blobs, tmp_path, capsys, case, expected):
    X, noisy, _, _ = blobs
    features = tmp_path / "f.npz"
    np.savez(features, X=X, y=noisy)
    extra: list[str] = []
    if case == "no_label_column":
        features = _write_csv(tmp_path / "f.csv", X, noisy, "target")
    elif case == "float_labels":
        np.savez(features, X=X, y=noisy + 0.5)
    elif case == "missing_file":
        features = tmp_path / "nosuch.npz"
    elif case == "bad_set":
        extra = ["--set", "steps=abc"]
    elif case == "npz_names":
        np.savez(features, features=X, labels=noisy)
    elif case == "bad_cell":
        features = tmp_path / "f.csv"
        features.write_text("f0,f1,label\n1,2,a\n3,x,b\n")
    assert main(["diva", "find-issues", "--features", str(features), "--out", str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iclr22: error:") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "label_issues.csv").exists()


def test_diva_help_lists_the_verbs(capsys):
    assert main(["diva", "--help"]) == 0
    out = capsys.readouterr().out
    assert "find-issues" in out and "reweight" in out
    assert main(["diva", "find-issues", "--help"]) == 0
    assert "label_issues.csv" in capsys.readouterr().out


# ------------------------------------------------------------------------- warnings, labels, units
def test_single_sample_classes_warn_on_one_stderr_line_and_in_the_summary(blobs, tmp_path, capsys):
    """A class with one sample: the leave-one-out model never sees it, so its sample is flagged whatever its label."""
    X, noisy, _, _ = blobs
    labels = noisy.astype(np.float64)  # whole-number floats are classes...
    labels[[0, 1]] = [7.0, 9.0]  # ...two of them with one sample each
    np.savez(tmp_path / "f.npz", X=X, y=labels)
    out = tmp_path / "out"
    assert main(["diva", "find-issues", "--features", str(tmp_path / "f.npz"), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("iclr22: warning: y: 2 of 5 classes have a single sample (e.g. 7, 9)"), err
    assert "**Warning:** y: 2 of 5 classes have a single sample" in (out / "summary.md").read_text()
    flagged = {int(r["index"]): r["flagged"] for r in _read(out / "label_issues.csv")}
    assert flagged[0] == flagged[1] == "True"


def test_no_warning_on_ordinary_labels_or_with_a_validation_set(blobs, recwarn):
    X, noisy, clean, _ = blobs
    DIVA(steps=0).fit(X, noisy)
    labels = noisy.copy()
    labels[0] = 7
    DIVA(steps=0).fit(X[10:], labels[10:], X_val=X[:10], y_val=clean[:10] if 7 not in clean[:10] else None)
    assert not [w for w in recwarn if "single sample" in str(w.message)]


def test_api_refuses_fractional_float_labels_and_warns_on_single_classes(blobs):
    from iclr22.core.errors import DataError

    X, noisy, _, _ = blobs
    with pytest.raises(DataError, match=r"y: labels must be classes, got the non-whole number 0.5 \(row 0\)"):
        DIVA(steps=0).fit(X, noisy + 0.5)
    model = DIVA(steps=0).fit(X, noisy.astype(np.float64))  # whole numbers: the same classes as the integers
    np.testing.assert_array_equal(model.derivative_, DIVA(steps=0).fit(X, noisy).derivative_)
    with pytest.warns(UserWarning, match="most classes are single: are the labels a numeric target"):
        DIVA(steps=0).fit(X[:20], np.arange(20) // 2 * (np.arange(20) % 2 + 1))


def test_score_is_accuracy_in_percent_and_loo_predict_is_the_model_without_the_sample(blobs):
    X, noisy, clean, flipped = blobs
    model = DIVA(steps=0, reg=1.0).fit(X, noisy)
    assert model.score(X, clean) == pytest.approx(100.0 * float((model.predict(X) == clean).mean()))
    assert 90.0 < model.score(X, clean) <= 100.0
    suggested = model.loo_predict(X, noisy)
    for i in (0, int(flipped[0]), 77):  # brute force: refit without sample i at the same lambda
        keep = np.arange(len(noisy)) != i
        alone = DIVA(steps=0, reg=1.0).fit(X[keep], noisy[keep])
        np.testing.assert_allclose(model.loo_decision_function(X, noisy)[i], alone.decision_function(X[i : i + 1])[0], atol=1e-8)
        assert suggested[i] == alone.predict(X[i : i + 1])[0]
    assert np.array_equal(suggested[flipped], clean[flipped])
    from iclr22.core.errors import DataError

    with pytest.raises(DataError, match="training set the model was fitted on"):
        model.loo_predict(X[:10], noisy[:10])
