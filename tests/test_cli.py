"""The CLI contract: list, run, reproduce, demo; one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import iclr22.methods
from iclr22.cli import main
from iclr22.core.results import read_metrics


@pytest.fixture
def fake_registry(monkeypatch):
    monkeypatch.setattr(iclr22.methods, "BUILTIN_SPECS", ("_fake_method:SPEC",))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_list_shows_method_paper_and_datasets(fake_registry, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fake" in out and "Fake et al." in out and "toy*" in out and "folder+" in out and "+ = a layout for your own files" in out


def test_run_writes_valid_metrics_report_and_figure(fake_registry, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "fake", "--out", str(out), "--quick", "--seed", "3", "--set", "lr=0.5"]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert metrics["method"] == "fake" and metrics["dataset"] == "toy" and metrics["seed"] == 3
    assert metrics["quick"] is True and metrics["runs"] == 1
    assert metrics["config"] == {"models": ["ours", "baseline"], "size": 10, "epochs": 2, "lr": 0.5, "mode": "a"}
    assert metrics["results"]["ours"]["broken"] is None  # NaN is never written silently...
    assert any("broken" in note for note in metrics["notes"])  # ...it is reported
    assert metrics["paper"]["ours"]["acc"] == 81.0
    assert (out / "curve.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "(81.00)" in report and "![curve](curve.png)" in report
    assert "ours" in capsys.readouterr().out  # the table is printed


def test_runs_average_over_seeds_with_std(fake_registry, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", "fake", "--out", str(out), "--runs", "3", "--seed", "5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    single = []
    for seed in (5, 6, 7):
        assert main(["run", "fake", "--out", str(tmp_path / f"s{seed}"), "--seed", str(seed)]) == 0
        single.append(json.loads((tmp_path / f"s{seed}" / "metrics.json").read_text())["results"]["ours"]["acc"])
    mean = sum(single) / 3
    std = (sum((v - mean) ** 2 for v in single) / 3) ** 0.5
    assert metrics["results"]["ours"]["acc"] == pytest.approx(mean)
    assert metrics["results"]["ours"]["acc_std"] == pytest.approx(std)


def test_same_seed_same_numbers(fake_registry, tmp_path):
    for name in ("a", "b"):
        assert main(["run", "fake", "--out", str(tmp_path / name), "--seed", "11"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["results"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["results"]
    assert a == b


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "nosuch"], "unknown method 'nosuch'"),
        (["run", "fake", "--dataset", "nosuch"], "does not know dataset 'nosuch'"),
        (["run", "fake", "--set", "nosuch=1"], "unknown option 'nosuch'"),
        (["run", "fake", "--set", "epochs=abc"], "option 'epochs' expects int, got 'abc'"),
        (["run", "fake", "--set", "mode=c"], "option 'mode' expects one of 'a', 'b', got 'c'"),
        (["run", "fake", "--set", "lr=fast"], "option 'lr' expects float | 'auto'"),
        (["run", "fake", "--set", "epoch=3"], "did you mean epochs"),
        (["run", "fake", "--set", "models=ours,nosuch"], "option 'models' expects list of ('ours' | 'baseline')"),
        (["run", "fake", "--set", "novalue"], "expects key=value"),
        (["run", "fake", "--runs", "0"], "--runs must be at least 1"),
        (["run", "fake", "--data-dir", "/no/such/folder"], "/no/such/folder"),
        (["run", "fake", "--device", "cuda:7"], "cuda:7"),
    ],
)
def test_bad_input_is_one_line_exit_2(fake_registry, tmp_path, capsys, argv, expected):
    argv = argv + ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert expected in _one_line_error(capsys)


def test_missing_file_in_data_dir_names_the_file(fake_registry, tmp_path, capsys):
    (tmp_path / "data").mkdir()
    assert main(["run", "fake", "--dataset", "folder", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o")]) == 2
    assert "values.txt" in _one_line_error(capsys)


def test_dataset_folder_is_read_from_data_dir(fake_registry, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "values.txt").write_text("90\n92\n")
    assert main(["run", "fake", "--dataset", "folder", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o")]) == 0
    assert read_metrics(tmp_path / "o" / "metrics.json")["results"]["ours"]["acc"] == pytest.approx(91.0)


def test_data_root_default_subdir(fake_registry, tmp_path, monkeypatch):
    (tmp_path / "root" / "fakedata").mkdir(parents=True)
    (tmp_path / "root" / "fakedata" / "values.txt").write_text("50\n")
    monkeypatch.setenv("ICLR22_DATA_ROOT", str(tmp_path / "root"))
    assert main(["run", "fake", "--dataset", "folder", "--out", str(tmp_path / "o")]) == 0


def test_argparse_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2
    assert _one_line_error(capsys).startswith("iclr22")


def test_debug_shows_traceback(fake_registry, tmp_path):
    from iclr22.core.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "run", "nosuch"])


def test_reproduce_records_and_renders_results(fake_registry, tmp_path, capsys):
    data_root = tmp_path / "root"
    data_root.mkdir()
    docs = tmp_path / "docs"
    assert main(["reproduce", "fake", "--data-root", str(data_root), "--out", str(tmp_path / "r"), "--docs", str(docs)]) == 0
    record = json.loads((docs / "results" / "fake" / "toy.json").read_text())
    assert record["command"] == "iclr22 run fake --dataset toy --runs 2" and record["runs"] == 2
    text = (docs / "results.md").read_text()
    assert "## fake" in text and "iclr22 run fake --dataset toy --runs 2" in text and "(81.00)" in text
    assert "## coldbrew" in text  # every planned method has a section


def test_reproduce_label_picks_one_of_several_records_on_a_dataset(fake_registry, tmp_path, capsys):
    data_root = tmp_path / "root"
    data_root.mkdir()
    docs = tmp_path / "docs"
    common = ["--data-root", str(data_root), "--out", str(tmp_path / "r"), "--docs", str(docs)]
    assert main(["reproduce", "fake", "--label", "toy-b", *common]) == 0
    assert sorted(p.name for p in (docs / "results" / "fake").iterdir()) == ["toy-b.json"]
    record = json.loads((docs / "results" / "fake" / "toy-b.json").read_text())
    assert record["command"] == "iclr22 run fake --dataset toy --runs 1 --set mode=b"
    capsys.readouterr()
    # --dataset keeps its meaning: every record on that dataset
    assert main(["reproduce", "fake", "--dataset", "toy", *common]) == 0
    assert sorted(p.name for p in (docs / "results" / "fake").iterdir()) == ["toy-b.json", "toy.json"]


def test_reproduce_with_no_matching_label_is_a_one_line_error(fake_registry, tmp_path, capsys):
    data_root = tmp_path / "root"
    data_root.mkdir()
    assert main(["reproduce", "fake", "--label", "nosuch", "--data-root", str(data_root), "--docs", str(tmp_path / "d")]) == 2
    line = _one_line_error(capsys)
    assert "nosuch" in line and "fake:toy-b" in line


def test_demo_prints_summary_table_with_a_verdict(fake_registry, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    summary = out[out.rindex("paper's baseline") - 30 :]
    row = next(line for line in summary.splitlines() if line.startswith("fake "))
    metrics = read_metrics(tmp_path / "runs" / "demo" / "fake" / "metrics.json")
    ours, theirs = metrics["results"]["ours"]["acc"], metrics["results"]["baseline"]["acc"]
    assert ("won" if ours > theirs else "lost") in row.split() and f"{ours:.2f}" in row and f"{theirs:.2f}" in row
    assert "== iclr22 run fake --quick --set lr=0.3" in out and "ours beats the baseline" in out
    assert metrics["config"]["lr"] == 0.3
    assert row in (tmp_path / "runs" / "demo" / "summary.md").read_text()


def test_demo_of_one_method_and_unknown_method(fake_registry, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "fake"]) == 0
    capsys.readouterr()
    assert main(["demo", "nosuch"]) == 2
    assert "nosuch" in _one_line_error(capsys)


def test_demo_verdict_reads_direction_and_tolerance():
    from iclr22.core.registry import Demo

    demo = Demo(model="m", baseline="b", metric="err", claim="", higher_is_better=False, tolerance=0.5)
    assert demo.verdict({"m": {"err": 1.0}, "b": {"err": 2.0}})[2] == "won"
    assert demo.verdict({"m": {"err": 2.0}, "b": {"err": 1.0}})[2] == "lost"
    assert demo.verdict({"m": {"err": 1.2}, "b": {"err": 1.0}})[2] == "level"
    assert demo.verdict({"m": {"err": 1.2}})[2] == "missing"
    assert Demo("m", "b", "acc", "", dataset="d", runs=3, overrides={"k": 1}).command("x") == "iclr22 run x --dataset d --quick --runs 3 --set k=1"


def test_console_script_runs_as_module():
    result = subprocess.run([sys.executable, "-m", "iclr22", "list"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_runs_keep_each_seed_and_report_paired_differences(fake_registry, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", "fake", "--out", str(out), "--runs", "3", "--seed", "5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [run["seed"] for run in metrics["per_run"]] == [5, 6, 7]
    ours = [run["results"]["ours"]["acc"] for run in metrics["per_run"]]
    base = [run["results"]["baseline"]["acc"] for run in metrics["per_run"]]
    for seed, value in zip((5, 6, 7), ours):  # each entry is that seed's single run, not a re-draw
        assert main(["run", "fake", "--out", str(tmp_path / f"s{seed}"), "--seed", str(seed)]) == 0
        assert json.loads((tmp_path / f"s{seed}" / "metrics.json").read_text())["results"]["ours"]["acc"] == value
    assert metrics["results"]["ours"]["acc"] == pytest.approx(sum(ours) / 3)
    diffs = [a - b for a, b in zip(ours, base)]
    mean = sum(diffs) / 3
    sd = (sum((d - mean) ** 2 for d in diffs) / 2) ** 0.5
    half = 4.302652729911275 * sd / 3**0.5  # t(0.975, 2 degrees of freedom)
    report = (out / "report.md").read_text()
    assert "## Seed by seed: acc" in report
    section = report.split("## Seed by seed: acc", 1)[1]
    row = next(line for line in section.splitlines() if line.startswith("| baseline |"))
    assert row == f"| baseline | {mean:.2f} | {mean - half:.2f} .. {mean + half:.2f} | {sum(d > 0 for d in diffs)} of 3 |"
    single = json.loads((tmp_path / "s5" / "metrics.json").read_text())
    assert "per_run" not in single and "Seed by seed" not in (tmp_path / "s5" / "report.md").read_text()


def test_paired_differences_respect_the_metric_direction():
    from iclr22.core.results import paired_differences

    per_run = [{"seed": s, "results": {"ours": {"mse": m}, "base": {"mse": b}, "other": {"mse": None}}}
               for s, (m, b) in enumerate([(1.0, 2.0), (1.5, 1.0), (0.5, 2.5)])]
    lower = paired_differences(per_run, "ours", "mse", higher_is_better=False)
    assert set(lower) == {"base"}  # a model without the metric is not compared
    assert lower["base"]["wins"] == 2 and lower["base"]["n"] == 3
    assert lower["base"]["mean"] == pytest.approx((-1.0 + 0.5 - 2.0) / 3)
    assert lower["base"]["low"] < lower["base"]["mean"] < lower["base"]["high"]
    assert paired_differences(per_run, "ours", "mse", higher_is_better=True)["base"]["wins"] == 1


def test_report_compares_the_dataset_metrics_seed_by_seed(tmp_path):
    from iclr22.core.results import write_report

    per_run = [{"seed": s, "results": {"ours": {"acc": 50.0, "mse": m}, "base": {"acc": 60.0, "mse": b}}}
               for s, (m, b) in enumerate([(1.0, 2.0), (1.5, 1.0), (0.5, 2.5)])]
    metrics = {"method": "m", "dataset": "d", "seed": 0, "runs": 3, "quick": False, "wall_seconds": 1.0,
               "results": {"ours": {"acc": 50.0}, "base": {"acc": 60.0}}, "paper": {}, "config": {},
               "versions": {"iclr22": "0", "torch": "0", "python": "3"}, "per_run": per_run,
               "headline": {"model": "ours", "metric": "acc", "higher_is_better": True}}
    text = write_report(tmp_path / "r.md", metrics, paired=[("mse", False)]).read_text()
    assert "## Seed by seed: mse" in text and "## Seed by seed: acc" not in text
    assert "| base | -0.8333 | " in text and "| 2 of 3 |" in text  # lower MSE wins: seeds 0 and 2
    default = write_report(tmp_path / "d.md", metrics).read_text()
    assert "## Seed by seed: acc" in default and "| 0 of 3 |" in default


def test_tpt48_pairs_on_metrics_the_experiment_writes():
    from iclr22.core.registry import get_method
    from iclr22.grda.experiment import PAPER_TPT48

    paired = get_method("grda").dataset("tpt48").paired
    assert paired and all(metric in PAPER_TPT48["grda"] and not higher for metric, higher in paired)


def test_task_verbs_fit_and_predict_on_user_files(fake_registry, tmp_path, capsys):
    values = tmp_path / "values.csv"
    values.write_text("x,target\n1,2\n3,4\n")
    assert main(["fake", "fit", "--values", str(values), "--out", str(tmp_path / "model"), "--set", "mode=b"]) == 0
    assert (tmp_path / "model" / "estimator.json").is_file() and "mean: 4.000" in (tmp_path / "model" / "summary.md").read_text()
    assert main(["fake", "predict", "--model", str(tmp_path / "model"), "--values", str(values), "--out", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().splitlines() == ["index,prediction", "0,4", "1,4"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["fake", "fit", "--values", "VALUES", "--out", "M", "--set", "mode=c"], "option 'mode' expects one of 'a', 'b'"),
        (["fake", "fit", "--values", "VALUES", "--out", "M", "--set", "mod=a"], "did you mean mode"),
        (["fake", "fit", "--values", "nosuch.csv", "--out", "M"], "nosuch.csv: values file not found"),
        (["fake", "predict", "--model", "nosuch", "--values", "VALUES", "--out", "p.csv"], "not a saved iclr22 model"),
        (["fake", "nosuchverb"], "invalid choice: 'nosuchverb'"),
    ],
)
def test_task_verb_errors_are_one_line_exit_2(fake_registry, tmp_path, capsys, argv, expected):
    values = tmp_path / "values.csv"
    values.write_text("1,2\n3,x\n" if "VALUES" in argv and "predict" in argv else "1,2\n3,4\n")
    argv = [str(values) if a == "VALUES" else (str(tmp_path / a) if a in ("M", "p.csv", "nosuch") else a) for a in argv]
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_method_help_lists_verbs_and_datasets(fake_registry, capsys):
    assert main(["fake", "--help"]) == 0
    out = capsys.readouterr().out
    assert "fit" in out and "predict" in out and "toy*" in out
    assert "folder (your own files)" in out


def test_verb_help_lists_the_estimator_options_with_the_verb_defaults(fake_registry, capsys):
    assert main(["fake", "fit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "epochs (int, default 2)" in out and "lr (float" in out and "mode (" in out


def test_toolkit_warnings_show_as_one_line_others_keep_their_form(capsys):
    import warnings

    import iclr22.cli
    from iclr22.cli import _one_line_warnings

    with pytest.warns(UserWarning, match="from elsewhere"):  # the other one goes to Python's own hook
        with _one_line_warnings():
            warnings.warn_explicit("from the toolkit,\n  over two lines", UserWarning, iclr22.cli.__file__, 1)
            warnings.warn_explicit("from elsewhere", UserWarning, "/elsewhere/module.py", 2)
    assert capsys.readouterr().err == "iclr22: warning: from the toolkit, over two lines\n"


def test_report_links_figures_relative_to_itself_when_out_is_relative(fake_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "fake", "--out", "runs/rel", "--quick"]) == 0
    assert "![curve](curve.png)" in (tmp_path / "runs" / "rel" / "report.md").read_text()
