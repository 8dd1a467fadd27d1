"""TransEncoder follows the toolkit's estimator contract; the CLI's option schema comes from its ``__init__``."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.base
import sklearn.exceptions

from iclr22.cli import main
from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import NotFittedError
from iclr22.core.results import read_metrics
from iclr22.transencoder.estimator import TransEncoder, self_distill
from iclr22.transencoder.synthetic import make_sts_sample
from iclr22.transencoder.train import DistillResult

FAST = dict(cycles=1, bi_epochs=1, cross_batch_size=8, bi_batch_size=8, eval_steps=0, label_batch_size=32)


@pytest.fixture(scope="module")
def fitted(tiny_model):
    te = TransEncoder(str(tiny_model), **FAST)
    assert te.fit(make_sts_sample(12, 1), dev=make_sts_sample(10, 2)) is te  # fit returns self
    return te


def test_clone_gives_equal_params(tiny_model):
    te = TransEncoder(str(tiny_model), mode="mutual", second_model="x", cross_models=("a", "b"), **FAST)
    copy = sklearn.base.clone(te)
    assert copy is not te and copy.get_params() == te.get_params()


@pytest.mark.parametrize("call", ["predict", "encode", "score", "save"])
def test_use_before_fit_raises_not_fitted(call, tmp_path):
    te = TransEncoder()
    args = {"predict": ([("a b", "c d")],), "encode": (["a b"],), "score": (make_sts_sample(4, 1),), "save": (tmp_path / "m",)}[call]
    with pytest.raises(NotFittedError) as info:
        getattr(te, call)(*args)
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)


def test_a_bad_literal_or_range_is_a_config_error_in_fit_not_in_init(tiny_model):
    te = TransEncoder(str(tiny_model), mode="both", **FAST)  # __init__ only stores
    with pytest.raises(ConfigError, match="mode"):
        te.fit(make_sts_sample(8, 1))
    with pytest.raises(ConfigError, match="cycles must be at least 1"):
        TransEncoder(str(tiny_model), **{**FAST, "cycles": 0}).fit(make_sts_sample(8, 1))
    with pytest.raises(ConfigError, match="two different pretrained models"):
        TransEncoder(str(tiny_model), mode="mutual", second_model=str(tiny_model), **FAST).fit(make_sts_sample(8, 1))


def test_save_and_load_predict_identically(fitted, tmp_path):
    pairs = make_sts_sample(9, 5)
    folder = fitted.save(tmp_path / "m")
    assert (folder / "estimator.json").is_file() and (folder / "state.pt").is_file()
    assert (folder / "bi0" / "modules.json").is_file() and (folder / "cross0" / "config.json").is_file()
    loaded = TransEncoder.load(folder)
    assert loaded.get_params() == fitted.get_params()
    for encoder in ("bi", "cross"):
        assert np.array_equal(loaded.predict(pairs, encoder=encoder), fitted.predict(pairs, encoder=encoder))
    assert np.array_equal(loaded.encode(["a man is running ."]), fitted.encode(["a man is running ."]))
    assert loaded.result_.history == fitted.result_.history and loaded.result_.selected == fitted.result_.selected


def test_predict_takes_rows_of_two_sentences_and_score_is_spearman(fitted):
    pairs = make_sts_sample(10, 6)
    rows = list(zip(pairs.sentence1, pairs.sentence2))
    assert np.array_equal(fitted.predict(rows), fitted.predict(pairs))
    assert np.array_equal(fitted.predict(rows, encoder="cross"), fitted.cross_encoder_.score(pairs.sentence1, pairs.sentence2, 32))
    assert fitted.score(pairs) == pytest.approx(fitted.score(rows, pairs.scores))
    with pytest.raises(DataError, match="X: expected SentencePairs or rows of two sentences"):
        fitted.predict(np.zeros((3, 3)))


def test_self_distill_returns_the_fit_record(tiny_model):
    result = self_distill(make_sts_sample(12, 1), str(tiny_model), **FAST)
    assert isinstance(result, DistillResult) and [h["kind"] for h in result.history] == ["cross", "bi"]


def test_run_help_lists_options_with_types_and_defaults(capsys):
    assert main(["run", "transencoder", "--help"]) == 0
    out = capsys.readouterr().out
    assert "cycles (int, default 3)" in out and "mode ('self' | 'mutual', default self)" in out
    assert "max_train_pairs (int, default 0)" in out and "stop_after_phases" in out


@pytest.mark.parametrize(("item", "message"), [("cycles=abc", "cycles"), ("models=nosuch", "models"), ("mode=both", "mode")])
def test_bad_set_values_exit_2_naming_the_option(item, message, tmp_path, capsys):
    assert main(["run", "transencoder", "--quick", "--out", str(tmp_path / "o"), "--set", item]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_stop_after_phases_stops_and_the_command_without_it_resumes(tiny_model, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "transencoder", "--quick", "--out", str(out), "--set", f"bi_model={tiny_model}", "--set", "synthetic_pairs=24",
            "--set", "max_train_pairs=12", "--set", "bi_batch_size=8", "--set", "cross_batch_size=8", "--set", "eval_steps=0",
            "--set", "stop_after_phases=2"]
    assert main(args) == 2  # start evaluation and cycle 1's cross phase, then a one-line stop
    assert "cycle1-bi is next" in capsys.readouterr().err
    assert main(args[:-2]) == 0  # the switch is not part of the checkpoint key: without it the run continues
    metrics = read_metrics(out / "metrics.json")
    assert {"start_bi", "bi", "cross"} <= set(metrics["results"])
    assert any(note.startswith("resumed: 2 of 3 phases") for note in metrics["notes"])
    assert metrics["config"]["unlabelled_pairs"] > 0  # a fact of the run, kept beside the options
