"""``iclr22 transencoder fit`` / ``score`` on small generated pair files, and ``iclr22 run transencoder --dataset tsv``
without gold scores (the tiny model of conftest.py keeps every fit to seconds)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.transencoder import make_sts_sample

TINY = ["--set", "cycles=1", "--set", "bi_epochs=1", "--set", "bi_batch_size=8", "--set", "cross_batch_size=8", "--set", "eval_steps=0"]


def _sentence(text: str) -> str:
    return text.lower().replace(".", " .")  # the tiny model's vocabulary is lower-case words


def _write_pairs_tsv(path: Path, n: int, seed: int, extra_score: bool = False) -> None:
    pairs = make_sts_sample(n, seed=seed)
    header = "sentence1\tsentence2" + ("\tscore" if extra_score else "")
    rows = [f"{_sentence(a)}\t{_sentence(b)}" + (f"\t{s}" if extra_score else "") for a, b, s in zip(pairs.sentence1, pairs.sentence2, pairs.scores)]
    path.write_text("\n".join([header, *rows, rows[0]]) + "\n", encoding="utf-8")  # one exact repeat


def _write_dev_csv(path: Path, n: int, seed: int) -> None:
    pairs = make_sts_sample(n, seed=seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "score", "sentence2", "sentence1"])  # any column order, an extra column
        for i, (a, b, s) in enumerate(zip(pairs.sentence1, pairs.sentence2, pairs.scores)):
            writer.writerow([f"p{i}", s, _sentence(b), _sentence(a) + ", then"])  # a comma inside a quoted cell


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def fitted(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("transencoder_verbs")
    _write_pairs_tsv(root / "train.tsv", 24, seed=1, extra_score=True)
    _write_dev_csv(root / "dev.csv", 16, seed=2)
    code = main(["transencoder", "fit", "--pairs", str(root / "train.tsv"), "--dev", str(root / "dev.csv"), "--out", str(root / "model"),
                 "--set", f"bi_model={tiny_model}", *TINY, "--quiet"])
    assert code == 0
    return root


def test_fit_writes_sentence_transformers_folders_the_estimator_and_a_summary(fitted):
    from sentence_transformers import CrossEncoder, SentenceTransformer

    from iclr22.transencoder import TransEncoder

    model_dir = fitted / "model"
    estimator = TransEncoder.load(model_dir)
    pairs = [("a man is running .", "a guy is jogging ."), ("a dog is sleeping .", "a cook is making noodles .")]
    bi = SentenceTransformer(str(model_dir / "bi0"), device="cpu")
    a, b = bi.encode([p[0] for p in pairs]), bi.encode([p[1] for p in pairs])
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(cosine, estimator.predict(pairs, encoder="bi"), atol=1e-5)
    cross = CrossEncoder(str(model_dir / "cross0"), device="cpu")
    np.testing.assert_allclose(cross.predict(pairs), estimator.predict(pairs, encoder="cross"), atol=1e-5)  # the same sigmoid
    assert not (model_dir / "checkpoints").exists()  # removed after a finished fit
    assert json.loads((model_dir / "estimator.json").read_text())["params"]["checkpoint_dir"] is None
    summary = (model_dir / "summary.md").read_text()
    for text in ("24 pairs (1 exact repeats dropped); no labels used", "16 gold-scored pairs", str(model_dir / "bi0"),
                 str(model_dir / "cross0"), "Spearman x 100 per phase", "| start (pretrained) |", "cycles=1"):
        assert text in summary, text
    assert "paper" not in summary.lower()


def test_score_writes_both_scores_per_pair_and_compares_a_gold_column(fitted, tmp_path, capsys):
    from iclr22.transencoder import TransEncoder

    out = tmp_path / "scores.csv"
    assert main(["transencoder", "score", "--model", str(fitted / "model"), "--pairs", str(fitted / "dev.csv"), "--out", str(out)]) == 0
    rows = _read(out)
    assert list(rows[0]) == ["sentence1", "sentence2", "bi_score", "cross_score"] and len(rows) == 16
    assert rows[0]["sentence1"].endswith(", then")  # the CSV's own column order and quoting survive
    bi = np.array([float(r["bi_score"]) for r in rows])
    cross = np.array([float(r["cross_score"]) for r in rows])
    assert ((-1 <= bi) & (bi <= 1)).all() and ((0 < cross) & (cross < 1)).all()
    expected = TransEncoder.load(fitted / "model").predict([(r["sentence1"], r["sentence2"]) for r in rows], encoder="cross")
    np.testing.assert_allclose(cross, expected, rtol=1e-5, atol=1e-6)
    printed = capsys.readouterr().out
    assert "cosine of the two embeddings, -1..1" in printed and "Spearman x 100 against the file's score column: bi_score" in printed


def test_score_one_encoder_only(fitted, tmp_path):
    out = tmp_path / "bi.csv"
    assert main(["transencoder", "score", "--model", str(fitted / "model"), "--pairs", str(fitted / "train.tsv"), "--out", str(out),
                 "--encoder", "bi", "--quiet"]) == 0
    rows = _read(out)
    assert list(rows[0]) == ["sentence1", "sentence2", "bi_score"] and len(rows) == 25  # every row of the file, repeats too


def test_fit_without_dev_warns_on_one_line_and_keeps_checkpoints_when_asked(tiny_model, tmp_path, capsys):
    _write_pairs_tsv(tmp_path / "pairs.tsv", 12, seed=3)
    out = tmp_path / "model"
    assert main(["transencoder", "fit", "--pairs", str(tmp_path / "pairs.tsv"), "--out", str(out), "--set", f"bi_model={tiny_model}",
                 *TINY, "--keep-checkpoints", "--quiet"]) == 0
    err = capsys.readouterr().err
    warning_lines = [line for line in err.splitlines() if "warning" in line.lower()]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("iclr22: warning: no --dev pairs with gold scores")
    assert (out / "checkpoints" / "cycle1" / "bi0").is_dir() and (out / "bi0").is_dir()
    assert "dev: none, so the last cycle's models are kept" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no_sentence2", "header must be"),
        ("dev_without_scores", "gold scores needed"),
        ("bad_cycles", "cycles must be at least 1"),
        ("unknown_option", "cycle"),
        ("score_not_a_model", "not a model folder"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, case, message):
    _write_pairs_tsv(tmp_path / "pairs.tsv", 4, seed=4)
    argv = ["transencoder", "fit", "--pairs", str(tmp_path / "pairs.tsv"), "--out", str(tmp_path / "m")]
    if case == "no_sentence2":
        (tmp_path / "pairs.tsv").write_text("sentence1\ttext\na\tb\n", encoding="utf-8")
    elif case == "dev_without_scores":
        _write_pairs_tsv(tmp_path / "dev.tsv", 4, seed=5)
        argv += ["--dev", str(tmp_path / "dev.tsv")]
    elif case == "bad_cycles":
        argv += ["--set", "cycles=0"]
    elif case == "unknown_option":
        argv += ["--set", "cycle=2"]
    else:
        argv = ["transencoder", "score", "--model", str(tmp_path), "--pairs", str(tmp_path / "pairs.tsv"), "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()  # nothing was trained


def test_run_on_a_tsv_folder_without_gold_scores_says_where_the_models_are(tiny_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    from iclr22.core.results import read_metrics

    data = tmp_path / "data"
    data.mkdir()
    _write_pairs_tsv(data / "train.tsv", 12, seed=6)
    _write_pairs_tsv(data / "test.tsv", 6, seed=7)  # no score column: more unlabelled pairs, never scored
    out = tmp_path / "out"
    assert main(["run", "transencoder", "--dataset", "tsv", "--data-dir", str(data), "--out", str(out),
                 "--set", f"bi_model={tiny_model}", *TINY]) == 0
    metrics = read_metrics(out / "metrics.json")
    assert all(value is None for row in metrics["results"].values() for key, value in row.items() if key.startswith("spearman"))
    assert any(note.startswith("unlabelled pairs learnt from: 18 (transductive") for note in metrics["notes"])
    assert any("no gold scores" in note for note in metrics["notes"])
    bi_path = Path(metrics["config"]["bi_encoder_paths"][0])
    assert bi_path.parts[-2:] == ("cycle1", "bi0") and SentenceTransformer(str(bi_path), device="cpu") is not None
    report = (out / "report.md").read_text()
    assert str(bi_path) in report and "target" not in report and "paper" not in report.split("## Config")[0].lower()


def test_summary_says_plainly_when_a_trained_model_ranks_dev_below_the_start(tmp_path):
    from types import SimpleNamespace

    from iclr22.transencoder.verbs import _fit_summary

    history = [{"cycle": 1, "kind": "cross", "model": 0, "dev": -52.3, "test": None},
               {"cycle": 1, "kind": "bi", "model": 0, "dev": 80.5, "test": None}]
    result = SimpleNamespace(history=history, start=[{"dev": 76.8, "test": None}], selected={"bi": [1], "cross": [1]})
    model = SimpleNamespace(result_=result, bi_encoders_=[None], bi_model="minilm", second_model="mpnet", cycles=1, cross_epochs=1, bi_epochs=1)
    args = SimpleNamespace(pairs="pairs.tsv", dev="dev.tsv")
    lines, verdicts = _fit_summary(args, model, ["p"] * 30, 0, ["d"] * 15, tmp_path / "m", 7.0, {})
    assert verdicts == ["on your dev pairs the cross-encoder (-52.30) ranks below the pretrained minilm it started from (76.80, "
                        "Spearman x 100): the pretrained model may serve you better"]
    text = "\n".join(lines)
    assert "| cycle 1 | 80.50 (kept) | -52.30 (kept) |" in text and "**On your dev pairs the cross-encoder" in text
