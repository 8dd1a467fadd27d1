"""The one contract (docs/architecture.md): options schema, estimators, validation, the declared experiment.

The first half tests the core pieces on small stand-ins; the second half checks every registered method
against the contract (its experiment is declared, its estimator is a scikit-learn estimator, its options
all have a type and a meaning, ``--help`` lists them and ``--set`` validates against them).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import sklearn.base
import sklearn.exceptions

from iclr22.cli import main
from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator, NotFittedError
from iclr22.core.experiment import Experiment, RunContext, experiment_of
from iclr22.core.options import OptionSchema, docstring_args, options_of
from iclr22.core.registry import available_methods
from iclr22.core.validation import check_array, check_edge_index, check_labels, check_mask, check_weights


# ------------------------------------------------------------------------------------------- stand-ins
class Linear(Estimator):
    """A least-squares line, enough to test the contract.

    Args:
        ridge: L2 penalty.
        solver: ``"lstsq"`` or ``"normal"``.
        scale: A factor, or "auto" for 1.
        widths: Optional layer widths.
        seed: Seed.
        device: Device.
        verbose: Progress.
    """

    _fitted_attribute = "coef_"

    def __init__(
        self,
        ridge: float = 0.0,
        solver: Literal["lstsq", "normal"] = "lstsq",
        scale: float | Literal["auto"] = "auto",
        widths: tuple[int, ...] | None = None,
        seed: int | None = 0,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.ridge, self.solver, self.scale, self.widths = ridge, solver, scale, widths
        self.seed, self.device, self.verbose = seed, device, verbose

    def fit(self, X: Any, y: Any) -> "Linear":
        self._check_params()
        X = check_array(X, "X", dtype=np.float64)
        y = check_array(y, "y", ndim=1, dtype=np.float64)
        gram = X.T @ X + self.ridge * np.eye(X.shape[1])
        self.coef_ = np.linalg.solve(gram, X.T @ y)
        self.names_ = np.array([f"f{i}" for i in range(X.shape[1])])
        return self

    def predict(self, X: Any) -> np.ndarray:
        self._check_is_fitted("predict")
        return check_array(X, "X", dtype=np.float64, n_features=len(self.coef_)) @ self.coef_

    def _fitted_state(self) -> dict[str, Any]:
        return {"coef": self.coef_, "names": self.names_, "meta": {"n": len(self.coef_), "widths": (1, 2)}}

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        self.coef_, self.names_ = state["coef"], state["names"]


@dataclass
class Run:
    """Args:
        models: Which rows.
        size: Samples.
    """

    models: list[Literal["line", "zero"]] = field(default_factory=lambda: ["line", "zero"])
    size: int = 30


def _data(rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(rng_seed)
    X = rng.normal(size=(40, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


# ----------------------------------------------------------------------------------------------- options
def test_docstring_args_reads_google_style_with_continuations():
    doc = """Summary.

    Args:
        alpha: First line
            continues here.
        beta (int): Second.

    Returns:
        Nothing.
    """
    assert docstring_args(doc) == {"alpha": "First line continues here.", "beta": "Second."}


def test_options_come_from_the_signature_and_docstring_without_runtime_params():
    options = options_of(Linear)
    assert list(options) == ["ridge", "solver", "scale", "widths"]
    assert options["solver"].type_text == "'lstsq' | 'normal'" and options["solver"].default == "lstsq"
    assert options["scale"].type_text == "float | 'auto'" and options["ridge"].help == "L2 penalty."


@pytest.mark.parametrize(
    "key, text, expected",
    [("ridge", "0.5", 0.5), ("ridge", "2", 2.0), ("solver", "normal", "normal"), ("scale", "auto", "auto"), ("scale", "3", 3.0),
     ("widths", "8,4", (8, 4)), ("widths", "none", None), ("widths", "16", (16,))],
)
def test_set_values_are_read_against_the_annotation(key, text, expected):
    assert options_of(Linear)[key].validate(text) == expected


@pytest.mark.parametrize(
    "key, text, message",
    [("ridge", "abc", "option 'ridge' expects float, got 'abc'"), ("solver", "qr", "expects one of 'lstsq', 'normal'"),
     ("scale", "big", "expects float | 'auto'"), ("ridge", "true", "expects float"), ("widths", "a,b", "expects list of int | none")],
)
def test_bad_set_values_name_the_option_and_what_it_takes(key, text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        options_of(Linear)[key].validate(text)


def test_schema_layers_apply_in_order_and_unknown_keys_suggest_close_ones():
    schema = OptionSchema.build(Run, Linear, owners=["run", "estimator"], method="m")
    resolved = schema.resolve({"ridge": 1.0}, {"size": 5}, user={"ridge": "2"})
    assert resolved["ridge"] == 2.0 and resolved["size"] == 5 and resolved["solver"] == "lstsq"
    with pytest.raises(ConfigError, match="did you mean ridge"):
        schema.resolve(user={"ridgee": "1"})
    with pytest.raises(ConfigError, match="did you mean .*widths"):
        schema.resolve(user={"width": "1"})
    with pytest.raises(ConfigError, match="unknown setting"):
        schema.resolve({"nosuch": 1})
    help_text = schema.help_text({"ridge": 1.0})
    assert "ridge (float, default 1.0)" in help_text and "L2 penalty." in help_text and help_text.index("models") < help_text.index("ridge")
    assert "| `solver` | 'lstsq' &#124; 'normal' | `lstsq` |" in schema.markdown_table()


def test_an_option_without_annotation_is_a_bug_reported_by_name():
    class Bad(Estimator):
        def __init__(self, width=3) -> None:  # noqa: ANN001 - on purpose
            self.width = width

    with pytest.raises(ConfigError, match="parameter 'width' has no type annotation"):
        options_of(Bad)


# --------------------------------------------------------------------------------------------- estimator
def test_estimator_follows_scikit_learn_rules_and_round_trips(tmp_path):
    X, y = _data()
    model = Linear(ridge=0.1)
    with pytest.raises(NotFittedError, match="Linear is not fitted yet") as caught:
        model.predict(X)
    assert isinstance(caught.value, sklearn.exceptions.NotFittedError)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "unfitted")
    assert model.fit(X, y) is model
    copy = sklearn.base.clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")
    folder = model.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["estimator.json", "state.pt"]
    loaded = Linear.load(folder)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.names_.tolist() == ["f0", "f1", "f2"]


def test_parameters_are_checked_in_fit_not_in_init():
    X, y = _data()
    model = Linear(solver="qr")  # stored as given
    with pytest.raises(ConfigError, match="Linear: parameter 'solver' expects one of 'lstsq', 'normal'"):
        model.fit(X, y)
    assert Linear(widths=[4, 2]).fit(X, y).widths == (4, 2)  # converted to the annotated type


def test_load_refuses_what_it_did_not_write(tmp_path):
    with pytest.raises(DataError, match="not a saved iclr22 model"):
        Linear.load(tmp_path)
    (tmp_path / "estimator.json").write_text('{"format": "iclr22-estimator/1", "class": "os:system", "params": {}}')
    with pytest.raises(DataError, match="not an iclr22 estimator"):
        Linear.load(tmp_path)


# -------------------------------------------------------------------------------------------- validation
def test_validation_messages_name_the_argument():
    with pytest.raises(DataError, match=r"X: expected a 2-D array, got shape \(3,\)"):
        check_array([1, 2, 3])
    with pytest.raises(DataError, match=r"features: holds NaN or inf \(first at index \(1, 0\)\)"):
        check_array([[1.0], [np.nan]], "features")
    with pytest.raises(DataError, match="y: class labels must be whole numbers"):
        check_labels([0.5, 1.0], 2)
    assert check_labels(np.array([0.0, 2.0]), 2).dtype == np.int64
    with pytest.raises(DataError, match=r"edge_index: node id out of range \[0, 3\)"):
        check_edge_index([[0, 1], [1, 5]], 3)
    assert check_edge_index(np.array([[0, 1], [1, 2], [2, 0]]), 3).shape == (2, 3)
    assert check_mask([0, 2], 3).tolist() == [True, False, True]
    assert check_mask([1, 0, 0, 1], 4).tolist() == [True, False, False, True]  # 0/1 integers are a mask
    with pytest.raises(DataError, match="sample_weight: weights must be ≥ 0"):
        check_weights([1.0, -1.0], 2)


# ------------------------------------------------------------------------------------------------ harness
def _experiment(**kwargs: Any) -> Experiment:
    def load(ctx: RunContext, options: dict[str, Any]) -> Any:
        return _data(ctx.seed)

    def evaluate(name: str, model: Any, data: Any, ctx: RunContext, options: dict[str, Any]) -> dict[str, float]:
        X, y = data
        return {"mse": float(np.mean((model.fit(X, y).predict(X) - y) ** 2))}

    return Experiment(
        estimator=Linear,
        run_options=Run,
        load=load,
        models={"line": lambda o, d, ctx: Linear(ridge=o["ridge"]), "zero": lambda o, d, ctx: Linear(ridge=1e6)},
        evaluate=evaluate,
        **kwargs,
    )


def test_harness_runs_models_in_the_order_asked_and_places_device(tmp_path):
    placed = []

    def report(ctx, options, data, results, fitted):
        placed.extend((name, model.device, model.verbose) for name, model in fitted.items())
        from iclr22.core.experiment import Report

        return Report(notes=["done"])

    ctx = RunContext("m", "d", None, tmp_path, overrides={"models": "zero,line"}, device="cuda:0", verbose=False)
    result = _experiment(budget={"ridge": 0.5}, report=report).run(ctx)
    assert list(result.results) == ["zero", "line"] and result.results["line"]["mse"] < result.results["zero"]["mse"]
    assert placed == [("zero", "cuda:0", False), ("line", "cuda:0", False)]
    assert result.config["ridge"] == 0.5 and "Time per model" in result.sections
    assert ctx.options is not None and ctx.model_checkpoint_dir("line").parent == ctx.checkpoint_dir


def test_harness_checkpoints_are_keyed_by_resolved_options(tmp_path):
    experiment = _experiment()
    folders = []
    for overrides in ({"ridge": "0.5"}, {"ridge": 0.5}, {"ridge": "0.25"}):
        ctx = RunContext("m", "d", None, tmp_path, overrides=overrides)
        experiment.resolve(ctx)
        ctx.options = experiment.resolve(ctx)
        folders.append(ctx.checkpoint_dir)
    assert folders[0] == folders[1] != folders[2]


def test_harness_quick_and_dataset_layers(tmp_path):
    experiment = _experiment(budget={"ridge": 1.0}, dataset_options={"big": {"size": 100}}, quick={"size": 3})
    assert experiment.resolve(RunContext("m", "big", None, tmp_path))["size"] == 100
    assert experiment.resolve(RunContext("m", "big", None, tmp_path, quick=True))["size"] == 3
    with pytest.raises(ConfigError, match="option 'models'"):
        experiment.resolve(RunContext("m", "d", None, tmp_path, overrides={"models": "line,cubic"}))


# ------------------------------------------------------------------------------------ every real method
METHODS = sorted(available_methods())


@pytest.mark.parametrize("name", METHODS)
def test_every_method_declares_its_experiment_and_estimator(name):
    spec = available_methods()[name]
    experiment = experiment_of(spec)
    assert isinstance(experiment, Experiment), f"{name}: SPEC.entry must name its EXPERIMENT"
    assert issubclass(experiment.estimator, Estimator) and experiment.estimator.__module__ == f"iclr22.{name}.estimator"
    schema = experiment.schema(name)
    assert "models" in schema and schema["models"].owner == "run"
    undocumented = [o.name for o in schema.values() if not o.help]
    assert not undocumented, f"{name}: options without a docstring line: {undocumented}"
    assert all(o.annotation is not typing.Any for o in schema.values())


@pytest.mark.parametrize("name", METHODS)
def test_every_estimator_clones_and_refuses_to_work_unfitted(name, tmp_path):
    experiment = experiment_of(available_methods()[name])
    estimator = experiment.estimator()
    copy = sklearn.base.clone(estimator)
    assert copy.get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        estimator.save(tmp_path / "m")
    params = estimator.get_params()
    for param in ("device", "verbose"):
        assert param in params, f"{name}: the estimator has no '{param}' parameter"
    assert "random_state" not in params  # one naming: seed (a deterministic estimator, such as DIVA, has none)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_help_lists_its_options(name, capsys):
    assert main(["run", name, "--help"]) == 0
    out = capsys.readouterr().out
    schema = experiment_of(available_methods()[name]).schema(name)
    missing = [key for key in schema if f"  {key} (" not in out]
    assert not missing, f"{name} --help misses {missing}"
    assert "datasets (--dataset" in out


@pytest.mark.parametrize("name", METHODS)
def test_every_method_rejects_a_bad_set_with_exit_2(name, tmp_path, capsys):
    schema = experiment_of(available_methods()[name]).schema(name)
    int_option = next(key for key, o in schema.items() if o.annotation is int)
    assert main(["run", name, "--quick", "--out", str(tmp_path), "--set", f"{int_option}=abc"]) == 2
    assert f"option '{int_option}' expects int" in capsys.readouterr().err
    assert main(["run", name, "--quick", "--out", str(tmp_path), "--set", "models=nosuch"]) == 2


def test_report_rows_replace_empty_ones_and_resume_options_leave_the_checkpoint_key(tmp_path):
    from iclr22.core.experiment import Report

    def report(ctx, options, data, results, fitted):
        return Report(results={"derived": {"mse": 1.0}}, config={"rows": 40})

    experiment = _experiment(report=report, resume_options=("size",))
    base = _experiment()
    result = Experiment(**{**experiment.__dict__, "evaluate": lambda *a: {}}).run(RunContext("m", "d", None, tmp_path))
    assert list(result.results) == ["derived"] and result.config["rows"] == 40
    keys = []
    for exp, size in ((experiment, "5"), (experiment, "6"), (base, "5"), (base, "6")):
        ctx = RunContext("m", "d", None, tmp_path, overrides={"size": size})
        exp.run(ctx)
        keys.append(ctx.checkpoint_dir)
    assert keys[0] == keys[1] and keys[2] != keys[3]
