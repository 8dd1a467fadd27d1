"""``iclr22 run transencoder``: quick runs validated against the schema, user TSVs, and one-line input errors."""

from __future__ import annotations

import pytest

from iclr22.cli import main
from iclr22.core.results import read_metrics

# a tiny, fast run of the whole experiment on the tiny model
TINY = ["--set", "cycles=2", "--set", "synthetic_pairs=36", "--set", "max_train_pairs=24", "--set", "bi_batch_size=8",
        "--set", "cross_batch_size=8", "--set", "eval_steps=0"]


def test_quick_synthetic_run_writes_the_issue_keys_and_a_curve(tiny_model, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "transencoder", "--quick", "--out", str(out), "--set", f"bi_model={tiny_model}", *TINY]) == 0
    metrics = read_metrics(out / "metrics.json")  # validated against metrics_schema.json
    results = metrics["results"]
    assert metrics["dataset"] == "synthetic" and metrics["quick"] is True
    assert {"start_bi", "bi", "cross", "bi_cycle1", "cross_cycle1", "bi_cycle2", "cross_cycle2"} <= set(results)
    for model in ("start_bi", "bi", "cross"):
        assert set(results[model]) >= {"spearman_test", "spearman_dev"}
    assert results["bi"]["cycle"] in (1.0, 2.0)
    assert (out / "transencoder_cycles_self.png").is_file()
    assert any("selected cycle" in note for note in metrics["notes"])


def test_mutual_mode_writes_mutual_and_ensemble_rows(tiny_model, tiny_model_b, tmp_path):
    out = tmp_path / "out"
    args = ["run", "transencoder", "--quick", "--out", str(out), "--set", "mode=mutual", "--set", f"bi_model={tiny_model}",
            "--set", f"second_model={tiny_model_b}", *TINY, "--set", "cycles=1"]
    assert main(args) == 0
    results = read_metrics(out / "metrics.json")["results"]
    assert {"start_bi", "start_bi_b", "bi_mutual", "cross_mutual", "bi_mutual_b", "cross_mutual_b",
            "bi_mutual_ensemble", "cross_mutual_ensemble"} <= set(results)
    assert (out / "transencoder_cycles_mutual.png").is_file()


def _write(path, text):
    path.write_text(text, encoding="utf-8")


def _user_folder(tmp_path, test_text=None, train_text=None):
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "train.tsv", train_text or "sentence1\tsentence2\na man is running .\ta guy is jogging .\n"
           "a dog is sleeping .\ta cat is dancing .\na kid is swimming .\ta child is swimming .\n")
    _write(data / "test.tsv", test_text or "sentence1\tsentence2\tscore\na man is eating an apple .\ta guy is biting into an apple .\t4.8\n"
           "a girl is reading a book .\ta dog is running on the beach .\t0.2\na chef is cooking pasta .\ta cook is making noodles .\t4.0\n")
    return data


def test_user_tsv_folder_runs(tiny_model, tmp_path):
    data = _user_folder(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "transencoder", "--dataset", "tsv", "--data-dir", str(data), "--out", str(out), "--quick",
                 "--set", f"bi_model={tiny_model}", *TINY]) == 0
    metrics = read_metrics(out / "metrics.json")
    # transductive: 3 train + 3 test pairs, scores unused
    assert any(note.startswith("unlabelled pairs learnt from: 6 (transductive") for note in metrics["notes"])
    assert metrics["results"]["bi"]["spearman_dev"] is None  # no dev.tsv: the last cycle is kept


@pytest.mark.parametrize(
    ("test_text", "message"),
    [
        ("a man .\ta guy .\t4.0\n", "header must be"),
        ("sentence1\tsentence2\tscore\na man .\ta guy .\t7.5\n", "outside the declared range 0..5"),
        ("sentence1\tsentence2\tscore\na man .\t \t3.0\n", "empty sentence"),
    ],
)
def test_bad_user_tsv_is_a_one_line_data_error(tiny_model, tmp_path, capsys, test_text, message):
    data = _user_folder(tmp_path, test_text=test_text)
    code = main(["run", "transencoder", "--dataset", "tsv", "--data-dir", str(data), "--out", str(tmp_path / "o"), "--quick",
                 "--set", f"bi_model={tiny_model}"])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_model_folder_is_a_config_error(tmp_path, capsys):
    code = main(["run", "transencoder", "--quick", "--out", str(tmp_path / "o"), "--set", f"bi_model={tmp_path / 'no-model'}"])
    assert code == 2
    assert "model folder not found" in capsys.readouterr().err


def test_quick_run_on_real_stsb_with_minilm(shared_data, tmp_path):
    out = tmp_path / "out"
    args = ["run", "transencoder", "--dataset", "stsb", "--data-dir", str(shared_data / "sts" / "stsb"), "--quick", "--out", str(out),
            "--set", "max_train_pairs=16", "--set", "max_dev_pairs=40", "--set", "max_test_pairs=40", "--set", "eval_steps=0"]
    assert main(args) == 0
    results = read_metrics(out / "metrics.json")["results"]
    assert results["start_bi"]["spearman_test"] > 70  # the untouched MiniLM already ranks STS-B pairs well
