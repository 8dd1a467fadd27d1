"""GRDA and AdversarialAdapter follow the toolkit's estimator contract; ``iclr22 run grda`` its option schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone

from iclr22.cli import main
from iclr22.core.errors import ConfigError
from iclr22.core.estimator import NotFittedError
from iclr22.grda import GRDA, AdversarialAdapter, fit_grda, make_spiral_domains

SMALL = {"hidden": 8, "epochs": 2, "batch_per_domain": 10}


@pytest.fixture(scope="module")
def spiral():
    data = make_spiral_domains(num_domains=6, points_per_domain=20, seed=0)
    return data, np.where(np.isin(data.domain, data.source_domains), data.y, -1)


def _regression_data():
    rng = np.random.default_rng(0)
    domain = np.repeat(np.arange(4), 10)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = x @ np.array([[1.0, 0.0], [0.5, 1.0], [-1.0, 0.2]]) + domain[:, None] * 0.1
    y[domain >= 2] = np.nan
    return x, y, domain, np.array([[0, 1], [1, 2], [2, 3]])


ESTIMATORS = [
    pytest.param(lambda: GRDA(**SMALL, seed=1), id="GRDA"),
    pytest.param(lambda: AdversarialAdapter("dann", **SMALL, seed=1), id="AdversarialAdapter-dann"),
    pytest.param(lambda: AdversarialAdapter("mdd", **SMALL, init="official", lr_disc=None), id="AdversarialAdapter-mdd"),
]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_clone_gives_equal_params(make) -> None:
    model = make()
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert copy.get_params() == model.get_params()
    if isinstance(model, AdversarialAdapter):
        assert copy.get_params()["method"] == model.method
        assert set(copy.get_params()) == {"method", *GRDA().get_params()}


@pytest.mark.parametrize("make", ESTIMATORS)
def test_unfitted_calls_raise_not_fitted(make, spiral, tmp_path: Path) -> None:
    data, _ = spiral
    model = make()
    for call in (
        lambda: model.predict(data.x, data.domain),
        lambda: model.predict_proba(data.x, data.domain),
        lambda: model.transform(data.x, data.domain),
        lambda: model.score_domains(data.x, data.y, data.domain),
        lambda: model.save(tmp_path / "m"),
    ):
        with pytest.raises(NotFittedError) as caught:
            call()
        assert isinstance(caught.value, sklearn.exceptions.NotFittedError)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("make", ESTIMATORS)
def test_fit_returns_self_and_a_saved_model_predicts_identically(make, spiral, tmp_path: Path) -> None:
    data, y = spiral
    model = make()
    assert model.fit(data.x, y, data.domain, data.adjacency, data.source_domains) is model
    folder = model.save(tmp_path / "m")
    assert (folder / "estimator.json").is_file() and (folder / "state.pt").is_file()
    loaded = type(model).load(folder)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(data.x, data.domain), model.predict_proba(data.x, data.domain))
    np.testing.assert_array_equal(loaded.transform(data.x, data.domain), model.transform(data.x, data.domain))
    np.testing.assert_array_equal(loaded.predict(data.x, data.domain), model.predict(data.x, data.domain))
    assert loaded.history_ == model.history_ and list(loaded.target_domains_) == list(model.target_domains_)


def test_regression_with_a_learned_index_round_trips(tmp_path: Path) -> None:
    x, y, domain, edges = _regression_data()
    model = fit_grda(x, y, domain, edges, task="regression", domain_index="joint", **SMALL)
    assert isinstance(model, GRDA) and model.n_outputs_ == 2
    loaded = GRDA.load(model.save(tmp_path / "reg"))
    np.testing.assert_array_equal(loaded.predict(x, domain), model.predict(x, domain))
    adda = AdversarialAdapter("adda", task="regression", domain_index="onehot", **SMALL).fit(x, y, domain, edges)
    np.testing.assert_array_equal(AdversarialAdapter.load(adda.save(tmp_path / "adda")).predict(x, domain), adda.predict(x, domain))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: GRDA(init="nope"), "init"),
        (lambda: GRDA(update="sometimes"), "update"),
        (lambda: GRDA(task="ranking"), "task"),
        (lambda: GRDA(hidden="wide"), "hidden"),
        (lambda: AdversarialAdapter("nosuch"), "method"),
        (lambda: AdversarialAdapter("dann", pairing="sorted"), "pairing"),
        (lambda: GRDA(hidden=0), "hidden"),
        (lambda: AdversarialAdapter("dann", lambda_adv=-1.0), "lambda_adv"),
    ],
)
def test_bad_parameters_raise_config_error_in_fit_not_init(make, name: str, spiral) -> None:
    data, y = spiral
    model = make()  # __init__ only stores
    with pytest.raises(ConfigError, match=name):
        model.fit(data.x, y, data.domain, data.adjacency, data.source_domains)


def test_working_settings_are_the_defaults() -> None:
    """The estimator's defaults are the settings that learn (the experiment needs no override for them)."""
    from iclr22.grda.experiment import BUDGET, EXPERIMENT

    model = GRDA()
    assert (model.init, model.lr_disc, model.update) == ("pytorch", 1e-3, "paper")
    resolved = EXPERIMENT.schema("grda").resolve(*EXPERIMENT.settings_for("dg15", False))
    assert (resolved["init"], resolved["lr_disc"], resolved["lr_index"]) == (model.init, model.lr_disc, model.lr_index)
    assert set(BUDGET) == {"hidden", "epochs"}


def test_help_lists_the_options_with_types_and_defaults(capsys) -> None:
    assert main(["run", "grda", "--help"]) == 0
    out = capsys.readouterr().out
    assert "run options" in out and "lambda_adv_dann (float | none, default None)" in out
    assert "lr_index (float, default 0.0001)" in out
    assert "hidden (int, default 64)" in out  # the experiment's CPU budget, shown as the effective default
    assert "update ('paper' | 'official', default paper)" in out
    assert "holdout_sources (int, default 0)" in out


@pytest.mark.parametrize(("setting", "name"), [("epochs=abc", "epochs"), ("batch_per_domain=1.5", "batch_per_domain"), ("models=nosuch", "models")])
def test_bad_set_values_exit_2_naming_the_option(setting: str, name: str, tmp_path: Path, capsys) -> None:
    assert main(["run", "grda", "--quick", "--out", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert name in err and len(err.strip().splitlines()) == 1
