"""Cold Brew on the toolkit's one contract: scikit-learn estimator, folder save/load, the schema of options
read from ``ColdBrew.__init__``, and ``iclr22 run coldbrew --help`` / ``--set`` checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.base import clone

from iclr22.cli import main
from iclr22.core.errors import ConfigError
from iclr22.core.estimator import NotFittedError
from iclr22.coldbrew import ColdBrew, cold_brew
from iclr22.coldbrew.splits import degree_split, label_split
from iclr22.coldbrew.synthetic import make_cold_start_graph

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "iclr22" / "coldbrew"
TINY = dict(epochs=3, student_epochs=3, patience=None, hidden_channels=8, student_hidden_channels=16, seed=0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny():
    graph = make_cold_start_graph(num_nodes=150, num_features=40, seed=2)
    split = degree_split(graph.edge_index, graph.num_nodes, "paper", 0.1, seed=0)
    train, val, _ = label_split(graph.y, "first_n", num_train=40, num_val=30)
    return graph.x, graph.y, split.edge_index, train, val


def test_clone_gives_equal_params_and_an_unfitted_copy(tiny) -> None:
    model = ColdBrew(top_k=5, alpha_init=0.25, se_layers=(True, False), norm="pairnorm")
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    X, y, edge_index, train, val = tiny
    model.set_params(**TINY).fit(X, y, edge_index=edge_index, train_mask=train, val_mask=val)
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "student_")


@pytest.mark.parametrize("call", ["predict", "predict_proba", "transform", "virtual_neighbor_embeddings", "save"])
def test_fitted_only_calls_before_fit_raise_not_fitted(call: str, tmp_path: Path) -> None:
    model = ColdBrew()
    argument = tmp_path / "m" if call == "save" else np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(NotFittedError) as caught:
        getattr(model, call)(argument)
    assert isinstance(caught.value, sklearn.exceptions.NotFittedError)
    assert not (tmp_path / "m").exists()


def test_fit_returns_self_and_a_loaded_model_predicts_identically(tiny, tmp_path: Path) -> None:
    X, y, edge_index, train, val = tiny
    model = ColdBrew(**TINY)
    assert model.fit(X, y, edge_index=edge_index, train_mask=train, val_mask=val) is model
    folder = model.save(tmp_path / "model")
    loaded = ColdBrew.load(folder)
    assert type(loaded) is ColdBrew and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.score(X[val], y[val]) == model.score(X[val], y[val])
    # accuracy in percent, the unit of the paper's tables, the run's report and the fit verb's summary
    assert model.score(X[val], y[val]) == pytest.approx(100.0 * float((model.predict(X[val]) == y[val]).mean()))


@pytest.mark.parametrize(
    "param, value",
    [("norm", "layernorm"), ("se_penalty", "cubed"), ("part2_input", "both"), ("part1_nodes", "all"), ("neighbor_pool", "val"), ("top_k", 0)],
)
def test_bad_parameter_raises_config_error_in_fit_not_in_init(param: str, value, tiny) -> None:
    model = ColdBrew(**{param: value})  # __init__ only stores
    assert getattr(model, param) == value
    X, y, edge_index, train, val = tiny
    with pytest.raises(ConfigError, match=param):
        model.fit(X, y, edge_index=edge_index, train_mask=train, val_mask=val)


def test_cold_brew_function_is_the_estimator_in_one_call(tiny) -> None:
    X, y, edge_index, train, val = tiny
    fitted = cold_brew(X, y, edge_index, train, val, **TINY)
    reference = ColdBrew(**TINY).fit(X, y, edge_index=edge_index, train_mask=train, val_mask=val)
    assert isinstance(fitted, ColdBrew)
    np.testing.assert_array_equal(fitted.predict_proba(X), reference.predict_proba(X))


def test_run_help_lists_options_with_types_and_defaults(capsys) -> None:
    assert main(["run", "coldbrew", "--help"]) == 0
    out = capsys.readouterr().out
    assert "hidden_channels (int, default 64)" in out
    assert "alpha_init (float, default 1.0)" in out
    assert "norm ('none' | 'pairnorm' | 'nodenorm' | 'batchnorm', default none)" in out
    assert "n_jobs (int, default 2)" in out and "models (list of ('gcn' | 'sage'" in out
    assert "citeseer: hidden_channels=256" in out  # the per-dataset settings


@pytest.mark.parametrize(
    "setting, named",
    [("num_train=abc", "num_train"), ("top_k=abc", "top_k"), ("models=nosuch", "nosuch"), ("hidden=32", "unknown option 'hidden'"), ("norm=sideways", "norm")],
)
def test_bad_set_exits_2_naming_the_option(setting: str, named: str, capsys) -> None:
    assert main(["run", "coldbrew", "--quick", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_file_roles_sizes_and_no_hidden_global_state() -> None:
    names = {p.name for p in PACKAGE.glob("*.py")}
    assert {"model.py", "train.py", "estimator.py", "baselines.py", "synthetic.py", "experiment.py"} <= names
    assert not names & {"datasets.py", "simulate.py", "render.py"}
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 500:
            assert "longer than 500 lines" in text.split('"""')[1], path.name
        assert not re.search(r"os\.environ\[[^]]*\]\s*=", text), path.name
    assert "ProcessPoolExecutor(" not in "".join(
        line for line in (PACKAGE / "experiment.py").read_text(encoding="utf-8").splitlines() if not line.startswith((" ", "\t"))
    )  # no module-level pool
