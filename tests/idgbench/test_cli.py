"""``iclr22 run idgbench``: the quick run end to end, and one-line errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.core.results import read_metrics

SPLITS = ("random", "composition", "interpolation", "extrapolation")
FACTORS = ("shape", "scale", "orientation", "x_position", "y_position")


def test_quick_run_writes_valid_metrics_and_figures(tmp_path):
    assert main(["run", "idgbench", "--quick", "--out", str(tmp_path)]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert set(metrics["results"]) == {"cnn", "mlp"} | {f"{split} split" for split in SPLITS}
    for split in SPLITS:  # the derived rows: each family's mean R² on one split (what iclr22 demo compares)
        assert metrics["results"][f"{split} split"] == {f"r2_{m}": metrics["results"][m][f"r2_{split}"] for m in ("cnn", "mlp")}
    for row in (metrics["results"][m] for m in ("cnn", "mlp")):
        for split in SPLITS:
            assert row[f"r2_{split}"] is not None
            assert row[f"r2_{split}"] == pytest.approx(np.mean([row[f"r2_{split}_{f}"] for f in FACTORS]))
        assert row["r2_extrapolation_ood_factor"] is not None and row["r2_random_heldin"] is not None
        # the factor x factor table: in the results for extrapolation only, the interpolation one in report.md
        assert "r2_extrapolation_only_scale_ood_scale" in row
        assert not any(key.startswith("r2_interpolation_only_") for key in row)
    assert metrics["paper"]["pcl"]["r2_extrapolation"] == 66.7
    for figure in metrics["figures"]:
        assert (tmp_path / figure).stat().st_size > 1000
    assert {"splits.png", "r2_per_split.png", "r2_extrapolation_per_factor.png"} <= set(metrics["figures"])
    report = (tmp_path / "report.md").read_text()
    assert "extrapolation:" in report and "cnn / interpolation, only scale OOD" in report
    assert any("epochs (peak lr) per family: cnn 1 (0.001), mlp 1 (0.001)" in note for note in metrics["notes"])


def test_each_family_gets_its_own_epoch_budget_unless_epochs_is_set(tmp_path):
    from iclr22.core.experiment import RunContext
    from iclr22.idgbench.estimator import FAMILY_EPOCHS, FAMILY_LR
    from iclr22.idgbench.experiment import EXPERIMENT

    def trainings(**overrides):
        ctx = RunContext("idgbench", "dsprites-rot90", None, tmp_path, overrides=overrides)
        options = EXPERIMENT.resolve(ctx)  # the run's defaults: no --quick, no --set
        return {f: EXPERIMENT.models[f](options, None, ctx).training_config() for f in FAMILY_EPOCHS}

    default = trainings()
    assert {f: t.epochs for f, t in default.items()} == FAMILY_EPOCHS
    assert {f: t.lr for f, t in default.items()} == FAMILY_LR and FAMILY_LR["vit"] == 2e-3
    assert default["betavae"].readout == "mlp" and default["betavae"].vae_lr == 1e-3
    assert {t.epochs for t in trainings(epochs="2").values()} == {2}
    assert {t.lr for t in trainings(lr="3e-4").values()} == {3e-4}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "models=cnn,densenet"], "option 'models' expects list of ('mlp'"),
        (["--set", "models=nosuch"], "option 'models' expects list of ('"),
        (["--set", "splits=diagonal"], "option 'splits' expects list of ('random' | 'composition'"),
        (["--set", "num_train=abc"], "option 'num_train' expects int, got 'abc'"),
        (["--set", "epochs=abc"], "option 'epochs' expects int | 'auto', got 'abc'"),
        (["--set", "family=vit"], "unknown option 'family'"),
        (["--set", "vae_epochs=0"], "vae_epochs must be positive"),
        (["--set", "split_factors=colour"], "unknown factor 'colour'"),
        (["--set", "num_train=0"], "num_train"),
        (["--set", "epochs=-1"], "epochs"),
        (["--set", "lr=-0.1"], "lr"),
        (["--set", "readout=forest"], "option 'readout' expects one of 'mlp', 'linear', got 'forest'"),
        (["--set", "split_rule=zenodo"], "option 'split_rule' expects one of 'search', 'supplementary'"),
        (["--set", "test_ratio_per_factor=0.3"], "applies to split_rule=supplementary only"),
        (["--set", "split_rule=supplementary", "--set", "test_ratio_per_factor=1.5"], "test_ratio_per_factor"),
        (["--dataset", "mpi3d"], "does not know dataset 'mpi3d'"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["run", "idgbench", "--quick", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_data_dir_without_dsprites_files_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    assert main(["run", "idgbench", "--quick", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "neither the official dSprites archive" in err


def test_official_split_files_are_read_and_validated(tmp_path):
    from iclr22.core.errors import DataError
    from iclr22.idgbench.benchmark import load_official_split
    from iclr22.idgbench.synthetic import FactorSpace
    from iclr22.idgbench import benchmark as bench_module

    tiny = FactorSpace("dsprites", ("shape", "scale"), (2, 3))
    cells = tiny.cells()
    train, test = cells[cells[:, 1] < 2], cells[cells[:, 1] == 2]
    for mode, labels in (("train", train), ("test", test)):
        np.savez(tmp_path / f"dsprites_extrapolation_{mode}_labels.npz", labels)
        np.savez(tmp_path / f"dsprites_extrapolation_{mode}_images.npz", np.zeros((len(labels), 1, 64, 64), np.uint8))
    original = bench_module.OFFICIAL_SPACES["dsprites"]
    bench_module.OFFICIAL_SPACES["dsprites"] = tiny
    try:
        official = load_official_split(tmp_path, "dsprites", "extrapolation")
        assert official.train_images.shape == (4, 64, 64) and official.split.num_test == 2
        np.savez(tmp_path / "dsprites_extrapolation_test_labels.npz", test[:1])  # one cell now in neither set
        np.savez(tmp_path / "dsprites_extrapolation_test_images.npz", np.zeros((1, 1, 64, 64), np.uint8))
        with pytest.raises(DataError, match="in neither train nor test"):
            load_official_split(tmp_path, "dsprites", "extrapolation")
    finally:
        bench_module.OFFICIAL_SPACES["dsprites"] = original
    with pytest.raises(DataError, match="not found"):
        load_official_split(tmp_path, "dsprites", "random")


def test_figures_from_per_family_records(tmp_path):
    import json

    from iclr22.core.errors import DataError
    from iclr22.idgbench.experiment import figures_from_records

    row = {f"r2_{s}": 50.0 for s in SPLITS} | {f"r2_extrapolation_{f}": 10.0 for f in FACTORS}
    paths = []
    for family in ("mlp", "cnn"):
        record = {"method": "idgbench", "dataset": "dsprites-rot90", "config": {"splits": list(SPLITS)}, "results": {family: row}}
        paths.append(tmp_path / f"{family}.json")
        paths[-1].write_text(json.dumps(record))
    figures = figures_from_records(paths, tmp_path / "figs")
    assert [p.name for p in figures] == ["splits.png", "r2_per_split.png", "r2_extrapolation_per_factor.png"]
    assert all(p.stat().st_size > 1000 for p in figures)
    other = json.loads(paths[0].read_text()) | {"dataset": "dsprites"}
    paths[0].write_text(json.dumps(other))
    with pytest.raises(DataError, match="2 datasets"):
        figures_from_records(paths, tmp_path / "figs")


def test_help_lists_the_options_with_types_and_defaults(capsys):
    assert main(["run", "idgbench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "num_train (int, default 20000)" in out
    assert "epochs (int | 'auto', default auto)" in out and "Passes over the training images" in out
    assert "readout ('mlp' | 'linear', default mlp)" in out
    assert "splits (list of ('random' | 'composition' | 'interpolation' | 'extrapolation')" in out
    assert "--quick sets (on dsprites): models=['cnn', 'mlp']" in out


def test_spec_entry_is_the_declared_experiment():
    from iclr22.core.experiment import Experiment
    from iclr22.core.registry import get_method, load_entry

    spec = get_method("idgbench")
    assert spec.entry == "iclr22.idgbench.experiment:EXPERIMENT"
    assert isinstance(load_entry(spec), Experiment)
