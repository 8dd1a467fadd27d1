"""The shared core: config merging, seeding, early stopping, checkpoints, results and the registry."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from iclr22.core.config import parse_overrides
from iclr22.core.options import OptionSchema, options_of, parse_value
from iclr22.core.errors import ConfigError, DataError, Iclr22Error, MissingExtraError
from iclr22.core.registry import DatasetSpec, MethodSpec, available_methods, load_entry
from iclr22.core.results import aggregate_runs, clean_table, metrics_schema, validate_metrics, versions
from iclr22.core.seed import rng_state, seed_everything, set_rng_state
from iclr22.core.training import EarlyStopping, fit_epochs, load_checkpoint, save_checkpoint


# --- config -----------------------------------------------------------------------------------
def test_parse_overrides_keeps_text_and_parse_value_reads_it():
    parsed = parse_overrides(["lr=0.01", "epochs=5", "flag=true", "models=cnn,mlp", "name=official", "x=None", "t=(1, 2)"])
    assert parsed == {"lr": "0.01", "epochs": "5", "flag": "true", "models": "cnn,mlp", "name": "official", "x": "None", "t": "(1, 2)"}
    values = {k: parse_value(v) for k, v in parsed.items()}
    assert values == {"lr": 0.01, "epochs": 5, "flag": True, "models": ["cnn", "mlp"], "name": "official", "x": None, "t": (1, 2)}


@dataclass
class _Options:
    """Args:
        lr: Learning rate.
        epochs: Epochs.
        models: Rows.
        flag: A switch.
    """

    lr: float = 0.1
    epochs: int = 10
    models: list[str] = field(default_factory=lambda: ["a"])
    flag: bool = False


def test_schema_converts_set_values_to_the_option_types():
    schema = OptionSchema(options_of(_Options, owner="run"))
    config = schema.resolve(user={"lr": 1, "epochs": "3", "models": "b", "flag": "yes"})
    assert config == {"lr": 1.0, "epochs": 3, "models": ["b"], "flag": True}
    assert isinstance(config["lr"], float) and isinstance(config["epochs"], int)


@pytest.mark.parametrize("overrides", [{"nope": 1}, {"epochs": 2.5}, {"flag": "maybe"}, {"lr": "fast"}, {"epochs": "true"}])
def test_schema_rejects_bad_options(overrides):
    with pytest.raises(ConfigError):
        OptionSchema(options_of(_Options, owner="run")).resolve(user=overrides)


# --- seeding ----------------------------------------------------------------------------------
def test_seed_everything_repeats_numbers():
    seed_everything(7)
    first = (np.random.rand(), torch.rand(3))
    seed_everything(7)
    second = (np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and torch.equal(first[1], second[1])


def test_rng_state_round_trips_through_weights_only_checkpoint(tmp_path):
    seed_everything(1)
    save_checkpoint(tmp_path / "rng.pt", {"rng": rng_state()})
    expected = (np.random.rand(), torch.rand(2), random.random())
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    numpy_value, torch_value, python_value = np.random.rand(), torch.rand(2), random.random()
    assert numpy_value == expected[0] and torch.equal(torch_value, expected[1]) and python_value == expected[2]


# --- early stopping and checkpoints -----------------------------------------------------------
def test_early_stopping_keeps_best_and_stops_after_patience():
    stopper = EarlyStopping(patience=2, mode="max")
    for value, state in [(0.5, {"w": 1}), (0.7, {"w": 2}), (0.6, {"w": 3}), (0.65, {"w": 4})]:
        stopped = stopper.step(value, state)
    assert stopped and stopper.best_value == 0.7 and stopper.best_state == {"w": 2} and stopper.best_step == 1
    assert not EarlyStopping(patience=None).step(float("nan"))


def test_load_checkpoint_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(DataError, match="evil.pt"):
        load_checkpoint(path)
    truncated = tmp_path / "trunc.pt"
    save_checkpoint(truncated, {"w": torch.ones(100)})
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(DataError, match="trunc.pt"):
        load_checkpoint(truncated)
    with pytest.raises(DataError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def _regression_problem():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 5, generator=generator)
    targets = inputs @ torch.randn(5, 1, generator=generator) + 0.1 * torch.randn(64, 1, generator=generator)
    return inputs, targets


def _train(max_epochs, checkpoint_path=None, stop_after=None):
    inputs, targets = _regression_problem()
    seed_everything(0)
    model = torch.nn.Linear(5, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    epochs_seen = []

    def train_epoch(epoch):
        if stop_after is not None and epoch >= stop_after:
            raise KeyboardInterrupt  # simulate a kill in the middle of training
        epochs_seen.append(epoch)
        permutation = torch.randperm(64)  # uses the global RNG, which a resume must restore
        for batch in permutation.split(16):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
        return {"loss": loss.item()}

    def evaluate():
        with torch.no_grad():
            return -float(torch.nn.functional.mse_loss(model(inputs), targets))

    result = fit_epochs(model, optimizer, train_epoch, evaluate, max_epochs, checkpoint_path=checkpoint_path, checkpoint_every=1)
    return model, result, epochs_seen


def test_fit_epochs_resume_gives_the_same_model(tmp_path):
    reference, ref_result, _ = _train(12)
    path = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        _train(12, checkpoint_path=path, stop_after=5)
    resumed, result, epochs_seen = _train(12, checkpoint_path=path)
    assert result.resumed_from == 5 and epochs_seen == list(range(5, 12))
    assert result.best_value == pytest.approx(ref_result.best_value)
    for a, b in zip(reference.parameters(), resumed.parameters()):
        assert torch.allclose(a, b)


def test_fit_epochs_restores_best_state():
    model, result, _ = _train(12)
    with torch.no_grad():
        inputs, targets = _regression_problem()
        assert -float(torch.nn.functional.mse_loss(model(inputs), targets)) == pytest.approx(result.best_value)


def test_fit_epochs_reports_divergence():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(DataError, match="diverged at epoch 0"):
        fit_epochs(model, None, lambda epoch: {"loss": float("nan")}, None, 3)


# --- results ----------------------------------------------------------------------------------
def _metrics(**changes):
    metrics = {
        "method": "m", "dataset": "d", "seed": 0, "runs": 1, "quick": False, "wall_seconds": 1.0,
        "results": {"a": {"acc": 1.0}}, "paper": {}, "config": {}, "versions": versions(),
    }
    metrics.update(changes)
    return metrics


def test_schema_accepts_valid_and_rejects_invalid_metrics():
    validate_metrics(_metrics())
    for bad in (_metrics(seed=-1), _metrics(results={"a": {"acc": "high"}}), _metrics(runs=0), {"method": "m"}):
        with pytest.raises(Iclr22Error, match="schema"):
            validate_metrics(bad)
    assert metrics_schema()["required"][:3] == ["method", "dataset", "seed"]


def test_clean_table_turns_nan_into_null_with_a_note():
    notes = []
    table = clean_table({"a": {"x": np.float32(1.5), "y": float("inf"), "z": None}}, notes)
    assert table == {"a": {"x": 1.5, "y": None, "z": None}} and len(notes) == 1
    json.dumps(table, allow_nan=False)


def test_aggregate_runs_mean_and_population_std():
    merged = aggregate_runs([{"a": {"x": 1.0}}, {"a": {"x": 3.0}}, {"a": {"x": None}}])
    assert merged == {"a": {"x": 2.0, "x_std": 1.0}}


# --- registry ---------------------------------------------------------------------------------
def test_missing_optional_dependency_names_the_extra():
    spec = MethodSpec("needy", "p", "iclr22_missing_dependency_xyz.module:run", (DatasetSpec("d"),), extra="graphs")
    with pytest.raises(MissingExtraError, match=r"pip install 'iclr22\[graphs\]'"):
        load_entry(spec)


def test_listing_methods_imports_no_heavy_dependency():
    code = (
        "import sys; from iclr22.core.registry import available_methods; available_methods();"
        "heavy = [m for m in ('torch', 'torch_geometric', 'transformers', 'sentence_transformers', 'gluonts', 'shap') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"reading the registry imported {result.stdout.strip()}"


def test_every_registered_method_has_a_valid_spec():
    for name, spec in available_methods().items():
        assert spec.name == name and spec.datasets and spec.default_dataset.embedded
        assert spec.entry.startswith(f"iclr22.{name}.")
        assert spec.headline[0] and spec.headline[1]


def test_tables_with_many_metrics_are_printed_one_metric_per_row():
    from iclr22.core.results import WIDE_TABLE_METRICS, format_table

    many = {"a": {f"r2_factor{i}": float(i) for i in range(WIDE_TABLE_METRICS + 1)}, "b": {"r2_factor0": 5.0}}
    lines = format_table(many, {"b": {"r2_factor0": 6.0}}).splitlines()
    assert lines[0].split() == ["metric", "a", "b"]
    assert len(lines) == 2 + WIDE_TABLE_METRICS + 1
    assert lines[2].split() == ["r2_factor0", "0", "5.00", "(6.00)"]
    few = format_table({"a": {"x": 1.0}}).splitlines()
    assert few[0].split() == ["model", "x"]


def test_fit_epochs_refuses_a_checkpoint_from_other_settings(tmp_path):
    model = torch.nn.Linear(1, 1)
    path = tmp_path / "ckpt.pt"
    fit_epochs(model, None, lambda epoch: {}, None, 2, checkpoint_path=path, fingerprint="lr=0.1")
    with pytest.raises(ConfigError, match="other settings"):
        fit_epochs(model, None, lambda epoch: {}, None, 3, checkpoint_path=path, fingerprint="lr=0.2")
    assert fit_epochs(model, None, lambda epoch: {}, None, 3, checkpoint_path=path, fingerprint="lr=0.1").resumed_from == 2


def test_checkpoint_dir_depends_on_settings(tmp_path):
    from iclr22.core.experiment import RunContext

    base = RunContext("m", "d", None, tmp_path, seed=1)
    assert base.checkpoint_dir == RunContext("m", "d", None, tmp_path, seed=1).checkpoint_dir
    assert base.checkpoint_dir != RunContext("m", "d", None, tmp_path, seed=1, overrides={"lr": 0.2}).checkpoint_dir
    assert base.checkpoint_dir != RunContext("m", "d", None, tmp_path, seed=1, quick=True).checkpoint_dir


def test_checkpoint_dir_depends_on_the_method_code(tmp_path, monkeypatch):
    import iclr22.core.experiment as experiment

    context = experiment.RunContext("diva", "digits", None, tmp_path, seed=0)
    before = context.checkpoint_dir
    assert experiment.code_fingerprint("diva") != experiment.code_fingerprint("grda")
    # An edited method (here: a stand-in fingerprint) must not resume the old code's checkpoints.
    monkeypatch.setattr(experiment, "code_fingerprint", lambda method: "edited")
    assert context.checkpoint_dir != before


def test_every_public_name_of_every_method_resolves():
    import importlib

    for name in available_methods():
        package = importlib.import_module(f"iclr22.{name}")
        for public in dir(package):
            assert getattr(package, public) is not None, f"iclr22.{name}.{public}"
        with pytest.raises(AttributeError, match="no attribute"):
            package.no_such_name  # noqa: B018


def test_progress_in_a_log_is_plain_lines_and_quiet_when_asked(capsys, monkeypatch):
    import iclr22.core.training as training

    monkeypatch.delenv("ICLR22_PROGRESS", raising=False)
    monkeypatch.setattr(training, "LOG_INTERVAL", 0.0)
    assert list(training.progress(range(3), desc="fit")) == [0, 1, 2]
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("[fit] 1/3 (33%)") and lines[-1].startswith("[fit] 3/3 (100%)") and "\r" not in "".join(lines)
    assert list(training.progress(range(3), desc="fit", verbose=False)) == [0, 1, 2]
    monkeypatch.setenv("ICLR22_PROGRESS", "0")
    list(training.progress(range(3), desc="fit"))
    assert capsys.readouterr().err == ""


def test_run_experiment_gives_the_next_run_the_process_thread_count_back(monkeypatch, tmp_path):
    from iclr22.core.registry import DatasetSpec, MethodSpec
    import torch

    import iclr22.core.experiment as experiment

    before = torch.get_num_threads()
    monkeypatch.setattr(experiment, "load_entry", lambda spec: torch.set_num_threads(before + 1) or (_ for _ in ()).throw(RuntimeError("stop")))
    spec = MethodSpec(name="m", paper="", entry="x:y", datasets=(DatasetSpec("d"),))
    with pytest.raises(RuntimeError, match="stop"):
        experiment.run_experiment(spec, out_dir=tmp_path)
    assert torch.get_num_threads() == before
