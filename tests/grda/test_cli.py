"""``iclr22 run grda`` end to end: --quick runs validated against the schema, real-data loaders, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.core.errors import ConfigError, DataError
from iclr22.core.results import read_metrics
from iclr22.grda.experiment import tpt48_task_sources, tpt48_windows
from iclr22.grda.graph import graph_distance_to

MODELS = {"source_only", "dann", "adda", "cdann", "mdd", "grda", "grda_official"}


def test_quick_run_on_the_embedded_spiral(tmp_path: Path) -> None:
    assert main(["run", "grda", "--quick", "--out", str(tmp_path), "--runs", "2"]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert metrics["dataset"] == "spiral" and metrics["runs"] == 2
    assert MODELS <= set(metrics["results"])
    for row in metrics["results"].values():
        assert 0 <= row["acc_target"] <= 100 and "acc_target_std" in row
    assert (tmp_path / "report.md").is_file()
    assert any(f.endswith("domain_accuracy.png") for f in metrics["figures"])
    assert all((tmp_path / f).is_file() for f in metrics["figures"])


def test_quick_run_on_dg15_has_the_paper_cells(tmp_path: Path, shared_data: Path) -> None:
    code = main(["run", "grda", "--dataset", "dg15", "--data-dir", str(shared_data / "grda" / "dg15"),
                 "--quick", "--out", str(tmp_path), "--set", "models=source_only,grda"])
    assert code == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert metrics["paper"]["grda"]["acc_target"] == pytest.approx(84.44)
    assert sorted(metrics["config"]["source_domains_used"]) == [0, 3, 4, 8, 12, 14]


def test_any_dgN_file_works(tmp_path: Path, shared_data: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(shared_data / "grda" / "dg15" / "dg15.npz", data_dir / "dg7.npz")
    out = tmp_path / "out"
    assert main(["run", "grda", "--dataset", "dg7", "--data-dir", str(data_dir), "--quick", "--out", str(out),
                 "--set", "models=grda"]) == 0
    assert read_metrics(out / "metrics.json")["dataset"] == "dg7"


def test_quick_run_on_tpt48(tmp_path: Path, shared_data: Path) -> None:
    code = main(["run", "grda", "--dataset", "tpt48", "--data-dir", str(shared_data / "grda" / "tpt48"), "--quick",
                 "--out", str(tmp_path), "--set", "models=source_only,grda"])
    assert code == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    row = metrics["results"]["grda"]
    for key in ("mse_target_ew", "mse_target_ns", "mse_ew_level1", "mse_ew_level3", "mse_ns_level2"):
        assert row[key] is not None and row[key] > 0
    assert metrics["paper"]["grda"]["mse_target_ns"] == pytest.approx(1.165)
    assert sum(f.endswith("_mse_map.png") for f in metrics["figures"]) == 2


@pytest.mark.parametrize(("task", "counts"), [("E->W", [8, 7, 9]), ("N->S", [10, 6, 8])])
def test_tpt48_source_lists_give_the_papers_level_counts(shared_data: Path, task: str, counts: list[int]) -> None:
    from iclr22.data.domains import load_tpt48

    data = load_tpt48(shared_data / "grda" / "tpt48")
    sources = tpt48_task_sources(data, task)
    assert len(sources) == 24
    targets = np.setdiff1d(np.arange(data.num_states), sources)
    level = graph_distance_to(data.adjacency, sources)[targets]
    # Table 2's "Average of 8 Level-1 / 7 Level-2 / 9 Level-3 domains" (E->W) and 10 / 6 / 8 (N->S).
    assert [int((level == 1).sum()), int((level == 2).sum()), int((level >= 3).sum())] == counts


def test_pretrained_domain_index_has_no_outlier_states_on_the_48_state_graph(shared_data: Path) -> None:
    """The API's default domain_index="pretrained" (and the experiment, which shares its lr) keeps every
    state's index near the others: at lr 1e-3 three states reach ~70x the median norm and the encoder
    extrapolates wildly there (E->W source-only MSE ~135 on ID/UT/WY)."""
    from iclr22.data.domains import load_tpt48
    from iclr22.grda import GRDA
    from iclr22.grda.experiment import EXPERIMENT
    from iclr22.grda.train import fit_domain_embedding

    data = load_tpt48(shared_data / "grda" / "tpt48")
    domain = np.arange(data.num_states).repeat(2)
    x = np.random.default_rng(0).normal(size=(len(domain), 3))
    y = np.where(domain < 24, x[:, 0], np.nan)
    model = GRDA(task="regression", hidden=8, epochs=0, domain_index="pretrained").fit(x, y, domain, data.adjacency)
    norms = np.linalg.norm(model.domain_embedding_, axis=1)
    assert norms.max() < 10 * np.median(norms)
    assert EXPERIMENT.schema("grda").resolve(*EXPERIMENT.settings_for("tpt48", False))["lr_index"] == model.lr_index
    # The failure this guards against: the same pre-training at lr 1e-3.
    outlying = np.linalg.norm(fit_domain_embedding(data.adjacency, 2, lr=1e-3, seed=0), axis=1)
    assert outlying.max() > 30 * np.median(outlying)


def test_tpt48_validation_scores_only_the_held_out_sources(tmp_path: Path, shared_data: Path, capsys) -> None:
    """holdout_sources=k (the label-free choice of lambda) hides the k sources nearest the targets and
    scores only them: no target state's MSE is computed."""
    from iclr22.data.domains import load_tpt48
    from iclr22.grda.experiment import tpt48_holdout_sources

    data = load_tpt48(shared_data / "grda" / "tpt48")
    hidden = tpt48_holdout_sources(data, "N->S", 8)
    kept = np.setdiff1d(tpt48_task_sources(data, "N->S"), hidden)
    assert len(hidden) == 8 and data.lat_norm[hidden].max() <= data.lat_norm[kept].min()
    west = tpt48_holdout_sources(data, "E->W", 8)
    assert data.lon_norm[west].max() <= data.lon_norm[np.setdiff1d(tpt48_task_sources(data, "E->W"), west)].min()

    args = ["run", "grda", "--dataset", "tpt48", "--data-dir", str(shared_data / "grda" / "tpt48"), "--quick",
            "--out", str(tmp_path), "--set", "models=grda", "--set", "tasks=NS"]
    assert main(args + ["--set", "holdout_sources=8"]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    assert [k for k in metrics["results"]["grda"] if not k.endswith("_std")] == ["mse_holdout_ns"]
    assert metrics["figures"] == [] and metrics["paper"] == {}
    assert main(args + ["--set", "holdout_sources=24"]) == 2
    assert "holdout_sources" in capsys.readouterr().err
    assert main(["run", "grda", "--quick", "--out", str(tmp_path / "spiral"), "--set", "holdout_sources=8"]) == 2
    assert "only for --dataset tpt48" in capsys.readouterr().err


def test_tpt48_windows_follow_the_protocol() -> None:
    temps = np.arange(3 * 144, dtype=np.float64).reshape(3, 144)
    w = tpt48_windows(temps, np.array([0]), seq_len=6, group_len=12)
    # Source: 133 sliding windows; each target: 12 year-aligned windows with unknown outputs.
    assert np.bincount(w["domain_train"]).tolist() == [133, 12, 12]
    assert np.isnan(w["y_train"][w["domain_train"] == 1]).all()
    assert np.bincount(w["domain_test"]).tolist() == [12, 12, 12]
    first_target = w["x_test"][w["domain_test"] == 1][1] * w["std"] + w["mean"]
    np.testing.assert_allclose(first_target, temps[1, 12:18])
    np.testing.assert_allclose(w["y_test"][w["domain_test"] == 1][1] * w["std"] + w["mean"], temps[1, 18:24])



def test_tpt48_per_state_standardisation_reads_only_input_months() -> None:
    """Each state is standardised by its own Jan-Jun months (the year-aligned inputs), sources and targets
    alike, so a target's held-out output months never enter its statistics."""
    rng = np.random.default_rng(0)
    temps = rng.normal(50, 10, size=(3, 144)) + np.array([[0.0], [20.0], [-15.0]])
    w = tpt48_windows(temps, np.array([0]), seq_len=6, group_len=12, standardize="per_state")
    for state in range(3):
        inputs = w["x_test"][w["domain_test"] == state]
        np.testing.assert_allclose([inputs.mean(), inputs.std()], [0.0, 1.0], atol=1e-5)
    changed = temps.copy()
    changed[1, 18:24] += 100.0  # a target's output months of year 2
    again = tpt48_windows(changed, np.array([0]), seq_len=6, group_len=12, standardize="per_state")
    np.testing.assert_allclose(again["x_train"], w["x_train"])
    with pytest.raises(ConfigError, match="tpt48_standardize"):
        tpt48_windows(temps, np.array([0]), standardize="per_window")
    flat = temps.copy()
    flat[2] = 60.0  # a state whose input months never vary cannot be standardised by its own std
    with pytest.raises(DataError, match="state row 2"):
        tpt48_windows(flat, np.array([0]), standardize="per_state")

def _write_dg(path: Path, **changes) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "data": rng.normal(size=(40, 2)),
        "label": np.tile([0, 1], 20),
        "domain": np.repeat(np.arange(4), 10),
        "A": np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]),
        "src_domain": np.array([0]),
    }
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"A": np.zeros((4, 3), dtype=int)}, "square"),
        ({"A": np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])}, "symmetric"),
        ({"domain": np.repeat(np.arange(4), 10) + (np.arange(40) == 39) * 5}, "domain"),
        ({"src_domain": None}, "no source domains"),
    ],
)
def test_bad_dg_files_exit_2_with_one_line(tmp_path: Path, capsys, changes: dict, message: str) -> None:
    _write_dg(tmp_path / "dgbad.npz", **changes)
    code = main(["run", "grda", "--dataset", "dgbad", "--data-dir", str(tmp_path), "--quick", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err


def test_bad_options_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["run", "grda", "--quick", "--out", str(tmp_path), "--set", "update=sometimes"]) == 2
    assert main(["run", "grda", "--quick", "--out", str(tmp_path), "--set", "models=grda,nope"]) == 2
    assert main(["run", "grda", "--dataset", "dg99", "--data-dir", str(tmp_path), "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "dg99.npz" in err[2]


def test_per_model_adversarial_weight(tmp_path: Path, capsys, monkeypatch) -> None:
    """lambda_adv_<model> sets one model's λ; the others keep lambda_adv; bad values and models exit 2."""
    from iclr22.grda import GRDA

    used: dict[str, float] = {}
    real_fit = GRDA.fit

    def recording(self, *args, **kwargs):
        used["grda_official" if self.update == "official" else self._method] = self.lambda_adv
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(GRDA, "fit", recording)
    args = ["run", "grda", "--quick", "--out", str(tmp_path), "--set", "models=dann,mdd,grda_official"]
    assert main(args + ["--set", "lambda_adv=0.3", "--set", "lambda_adv_dann=0.02", "--set", "lambda_adv_grda_official=0"]) == 0
    assert used == {"dann": 0.02, "mdd": 0.3, "grda_official": 0.0}
    config = read_metrics(tmp_path / "metrics.json")["config"]
    assert config["lambda_adv_dann"] == 0.02 and config["lambda_adv_mdd"] == 0.3 and config["lambda_adv_cdann"] == 0.3

    capsys.readouterr()
    for bad in ("lambda_adv_dann=-0.1", "lambda_adv_mdd=abc", "lambda_adv_resnet=0.1", "lambda_adv_source_only=0.1"):
        assert main(args + ["--set", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and bad.split("=")[0] in err


def test_per_model_weight_precedence() -> None:
    """Per-model key > lambda_adv given on the command line > dataset per-model default > lambda_adv."""
    from iclr22.grda.experiment import ADVERSARIAL_MODELS, EXPERIMENT, TPT48_OPTIONS, _resolve_lambdas

    base = EXPERIMENT.schema("grda").resolve(*EXPERIMENT.settings_for("tpt48", False))
    cfg = dict(base)
    _resolve_lambdas(cfg, {})
    assert cfg["lambda_adv_grda"] == cfg["lambda_adv"]
    assert all(cfg[f"lambda_adv_{m}"] == TPT48_OPTIONS[f"lambda_adv_{m}"] for m in ADVERSARIAL_MODELS if f"lambda_adv_{m}" in TPT48_OPTIONS)
    assert cfg["lambda_adv_dann"] == 0.1 != cfg["lambda_adv"]
    cfg = {**base, "lambda_adv": 0.5, "lambda_adv_adda": 0.07}
    _resolve_lambdas(cfg, {"lambda_adv": 0.5, "lambda_adv_adda": 0.07})
    assert {cfg[f"lambda_adv_{m}"] for m in ADVERSARIAL_MODELS if m != "adda"} == {0.5} and cfg["lambda_adv_adda"] == 0.07


def test_user_data_without_edges_warns_once_and_the_report_has_no_paper_wording(tmp_path: Path, capsys) -> None:
    _write_dg(tmp_path / "mine.npz", A=np.zeros((4, 4), dtype=int))
    out = tmp_path / "o"
    assert main(["run", "grda", "--dataset", "mine", "--data-dir", str(tmp_path), "--quick", "--runs", "2", "--out", str(out),
                 "--set", "models=source_only,grda"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == ["iclr22: warning: mine: the domain graph has no edges: GRDA adapts a domain through its neighbours "
                        "in the graph and no domain has any, so its numbers say nothing about graph-relational adaptation"]
    metrics = read_metrics(out / "metrics.json")
    assert not any(metrics["paper"].values())
    assert metrics["notes"][0].startswith("**Warning:** the domain graph has no edges")
    notes = " ".join(metrics["notes"])
    assert "grda_random_pairing" in notes and "paper" not in notes.lower()
    assert "official" not in notes.replace("grda_official", "")  # the row's name, but no "official code" wording
    assert "**Warning:** the domain graph has no edges" in (out / "report.md").read_text()
