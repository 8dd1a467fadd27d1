"""``iclr22 idgbench evaluate / fit / predict`` on a user's own images: a tiny square-on-a-canvas dataset as .npz."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.idgbench import FactorRegressor
from iclr22.idgbench.metrics import r_squared
from iclr22.idgbench.userdata import FactorLevels

FAST = ["--models", "mlp", "--set", "epochs=1", "--set", "batch_size=16", "--quiet"]
X_LEVELS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])  # the user's own units
SIZES = np.array([2.0, 3.0, 4.0])


def squares(xs=X_LEVELS, ys=X_LEVELS, sizes=SIZES, canvas=16):
    """Every combination once: a white square of side ``size`` whose corner moves with x and y; a constant colour."""
    rows = list(itertools.product(range(len(xs)), range(len(ys)), range(len(sizes))))
    images = np.zeros((len(rows), canvas, canvas), dtype=np.uint8)
    for n, (i, j, k) in enumerate(rows):
        side = int(sizes[k])
        images[n, 2 * j : 2 * j + side, 2 * i : 2 * i + side] = 255
    factors = np.array([[xs[i], ys[j], sizes[k], 7.0] for i, j, k in rows])
    return images, factors


def _write(path, images, factors, names=("x", "y", "size", "colour"), **extra):
    arrays = {"images": images, "factors": factors, **extra}
    if names is not None:
        arrays["factor_names"] = np.array(names)
    np.savez(path, **arrays)
    return path


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    images, factors = squares()
    data = _write(folder / "squares.npz", images, factors)
    out = folder / "eval"
    code = main(["idgbench", "evaluate", "--data", str(data), "--out", str(out), *FAST])
    return code, images, factors, out


def test_evaluate_writes_scores_assignments_models_and_summary(evaluated, capsys):
    code, images, factors, out = evaluated
    assert code == 0
    rows = _read(out / "scores.csv")
    assert list(rows[0]) == ["model", "split", "factor", "r2_test", "r2_heldin", "r2_alone_ood", "r2_others_alone_ood", "n_train", "n_heldin", "n_test"]
    splits = ["random", "composition", "interpolation", "extrapolation"]
    assert [(r["split"], r["factor"]) for r in rows] == [(s, f) for s in splits for f in ("x", "y", "size", "mean")]  # colour dropped
    for split in splits:
        block = [r for r in rows if r["split"] == split]
        assert float(block[-1]["r2_test"]) == pytest.approx(np.mean([float(r["r2_test"]) for r in block[:-1]]), abs=1e-3)
    extrapolation = {r["factor"]: r for r in rows if r["split"] == "extrapolation"}
    assert extrapolation["mean"]["r2_alone_ood"] != "" and all(r["r2_alone_ood"] == "" for r in rows if r["split"] == "random")

    roles = _read(out / "assignments.csv")
    assert len(roles) == len(images) and list(roles[0]) == ["index", *splits]
    for split in splits:
        counts = {role: sum(r[split] == role for r in roles) for role in ("train", "heldin", "test")}
        first = next(r for r in rows if r["split"] == split)
        assert counts == {"train": int(first["n_train"]), "heldin": int(first["n_heldin"]), "test": int(first["n_test"])}
    summary = (out / "summary.md").read_text()
    assert "**Warning:** factor 'colour' takes one value only (7); it is not regressed." in summary
    assert "| extrapolation |" in summary and "x (6 levels: 0, 0.2, 0.4, 0.6, 0.8, 1)" in summary
    assert "paper" not in summary.lower()
    assert "**Warning:** mlp trains 2 steps on the random split (1 epoch of 29 images): too few" in summary  # and --set epochs=


def test_evaluate_extrapolation_holds_out_the_top_levels_and_scores_match_the_saved_model(evaluated):
    _, images, factors, out = evaluated
    roles = np.array([r["extrapolation"] for r in _read(out / "assignments.csv")])
    levels = FactorLevels.load(out / "models" / "mlp-extrapolation")
    assert levels.names == ("x", "y", "size")
    train_max = factors[roles == "train"][:, :3].max(axis=0)
    test = factors[roles == "test"][:, :3]
    assert ((test > train_max).any(axis=1)).all()  # every test image has some factor beyond the trained levels
    assert set(np.unique(roles)) == {"train", "heldin", "test"}

    model = FactorRegressor.load(out / "models" / "mlp-extrapolation")
    targets = levels.space.normalize(levels.classes(factors[roles == "test"][:, :3]))
    expected = r_squared(model.predict(images[roles == "test"]), targets, levels.space)
    row = {r["factor"]: float(r["r2_test"]) for r in _read(out / "scores.csv") if r["split"] == "extrapolation"}
    assert [row["x"], row["y"], row["size"]] == pytest.approx(expected.tolist(), rel=1e-4, abs=1e-3)


def test_fit_then_predict_in_the_users_units(tmp_path):
    images, factors = squares()
    data = _write(tmp_path / "squares.npz", images, factors)
    model = tmp_path / "model"
    assert main(["idgbench", "fit", "--data", str(data), "--out", str(model), "--family", "mlp", "--set", "epochs=1", "--quiet"]) == 0
    assert json.loads((model / "factors.json").read_text())["levels"][2] == [2.0, 3.0, 4.0]
    assert "R² (%) on the training images" in (model / "summary.md").read_text()

    out = tmp_path / "pred" / "predictions.csv"
    assert main(["idgbench", "predict", "--model", str(model), "--images", str(data), "--out", str(out), "--quiet"]) == 0
    rows = _read(out)
    assert list(rows[0]) == ["index", "x", "y", "size", "x_normalised", "y_normalised", "size_normalised"]
    assert [int(r["index"]) for r in rows] == list(range(len(images)))
    sizes = np.array([float(r["size"]) for r in rows])
    assert sizes.min() >= 2.0 and sizes.max() <= 4.0  # in the user's units, clipped to the levels' range
    raw = np.array([float(r["size_normalised"]) for r in rows])
    np.testing.assert_allclose(sizes, np.interp(raw * 2, [0, 1, 2], SIZES), rtol=1e-4, atol=1e-4)
    assert "| x | y | size | mean |" in (tmp_path / "pred" / "predictions_summary.md").read_text()

    np.save(tmp_path / "new.npy", images[:5])
    assert main(["idgbench", "predict", "--model", str(model), "--images", str(tmp_path / "new.npy"), "--out", str(tmp_path / "p2.csv"), "--quiet"]) == 0
    assert len(_read(tmp_path / "p2.csv")) == 5


def test_one_split_factor_leaves_composition_out_with_a_warning(tmp_path, capsys):
    images, factors = squares(ys=np.array([0.0, 1.0]), sizes=np.array([2.0, 3.0]))  # only x has 3+ levels
    data = _write(tmp_path / "d.npz", images, factors)
    assert main(["idgbench", "evaluate", "--data", str(data), "--out", str(tmp_path / "e"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "iclr22: warning: left out the composition split(s)" in err
    assert {r["split"] for r in _read(tmp_path / "e" / "scores.csv")} == {"random", "interpolation", "extrapolation"}


def test_images_spread_unevenly_over_the_grid_warn_about_the_share(tmp_path, capsys):
    images, factors = squares()
    copies = np.where(factors[:, 0] >= 0.8, 5, 1)  # the two largest x five times over: most images are on the test side
    data = _write(tmp_path / "d.npz", np.repeat(images, copies, axis=0), np.repeat(factors, copies, axis=0))
    code = main(["idgbench", "evaluate", "--data", str(data), "--out", str(tmp_path / "e"), "--splits", "extrapolation", *FAST])
    assert code == 0
    assert "of your images on the training side" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, args, message",
    [
        ({"drop": "factors"}, [], "no 'factors' array"),
        ({}, ["--models", "cnn"], "expects 64 x 64 images, got 16 x 16"),
        ({}, ["--models", "densenet"], "--models: unknown ['densenet']"),
        ({}, ["--split-factors", "depth"], "unknown factor 'depth'"),
        ({}, ["--splits", "diagonal"], "--splits: unknown ['diagonal']"),
        ({"images": "channel-first"}, [], "look channel-first"),
        ({"images": "float255"}, [], "float pixels must lie in [0, 1]"),
        ({"factors": "nan"}, [], "values are NaN/inf"),
        ({}, ["--set", "epochs=zero"], "option 'epochs'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, change, args, message):
    images, factors = squares()
    arrays = {"images": images, "factors": factors}
    if change.get("images") == "channel-first":
        arrays["images"] = np.repeat(images[:, None], 3, axis=1)
    elif change.get("images") == "float255":
        arrays["images"] = images.astype(np.float32)
    if change.get("factors") == "nan":
        arrays["factors"] = factors.copy()
        arrays["factors"][3, 1] = np.nan
    if change.get("drop"):
        del arrays[change["drop"]]
    np.savez(tmp_path / "d.npz", **arrays, factor_names=np.array(["x", "y", "size", "colour"]))
    cli = ["idgbench", "evaluate", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "e"), *FAST, *args]
    assert main(cli) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("iclr22: error:") and message in err[-1]
    assert not (tmp_path / "e" / "scores.csv").exists()


def test_predict_refuses_other_image_sizes_and_unknown_levels(tmp_path, capsys):
    images, factors = squares()
    data = _write(tmp_path / "d.npz", images, factors)
    model = tmp_path / "m"
    assert main(["idgbench", "fit", "--data", str(data), "--out", str(model), "--family", "mlp", "--set", "epochs=1", "--quiet"]) == 0
    np.save(tmp_path / "big.npy", np.zeros((2, 32, 32), np.uint8))
    assert main(["idgbench", "predict", "--model", str(model), "--images", str(tmp_path / "big.npy"), "--out", str(tmp_path / "p.csv")]) == 2
    assert "the model was trained on 16 x 16" in capsys.readouterr().err
    odd = factors.copy()
    odd[0, 2] = 2.5  # not a level of size
    _write(tmp_path / "odd.npz", images, odd)
    assert main(["idgbench", "predict", "--model", str(model), "--images", str(tmp_path / "odd.npz"), "--out", str(tmp_path / "p.csv")]) == 2
    assert "row 0: factor 'size' is 2.5, not one of its 3 levels [2, 3, 4]" in capsys.readouterr().err


def test_help_lists_the_verbs(capsys):
    assert main(["idgbench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "evaluate" in out and "fit" in out and "predict" in out
