"""Sentence-pair loaders: STS-B, STS12-16 and the generic TSV."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.sentence_pairs import SentencePairs, load_pairs_tsv, load_sts_year, load_stsb


@pytest.mark.shared_data
def test_stsb_splits(shared_data):
    folder = shared_data / "sts" / "stsb"
    sizes = {split: len(load_stsb(folder, split)) for split in ("train", "dev", "test")}
    assert sizes == {"train": 5749, "dev": 1500, "test": 1379}
    test = load_stsb(folder, "test")
    assert test.scores.min() >= 0 and test.scores.max() <= 5 and test.scores.dtype == np.float64
    train = load_stsb(folder, "train")
    assert train.sentence1[0] == "A plane is taking off." and train.sentence2[0] == "An air plane is taking off."
    assert train.scores[0] == 5.0 and train.scores[1] == 3.8


@pytest.mark.shared_data
def test_sts_years(shared_data):
    folder = shared_data / "sts" / "sts12-16"
    gold = {year: len(load_sts_year(folder, year)) for year in (2012, 2013, 2014, 2015, 2016, "2012_to_2016")}
    assert gold == {2012: 3108, 2013: 1500, 2014: 3750, 2015: 3000, 2016: 1186, "2012_to_2016": 12544}
    everything = load_sts_year(folder, "2015", labeled_only=False)
    assert len(everything) == 8500 and int(np.isnan(everything.scores).sum()) == 5500
    assert not np.isnan(load_sts_year(folder, 2015).scores).any()


def test_unknown_split_and_year(tmp_path):
    with pytest.raises(ConfigError, match="unknown STS-B split 'val'"):
        load_stsb(tmp_path, "val")
    with pytest.raises(ConfigError, match="unknown STS year 2011"):
        load_sts_year(tmp_path, 2011)


def _stsb_folder(tmp_path, test_text):
    folder = tmp_path / "stsb"
    folder.mkdir()
    for name in ("sts-train.csv", "sts-dev.csv"):
        (folder / name).write_text("")
    (folder / "sts-test.csv").write_text(test_text)
    return folder


ROW = "main-captions\tMSRvid\t2012test\t0001\t{score}\tA plane.\tAn air plane.\n"


def test_stsb_bad_rows(tmp_path):
    folder = _stsb_folder(tmp_path, ROW.format(score="5.0") + "a\tb\tc\td\n")
    with pytest.raises(DataError, match=r"sts-test\.csv: line 2: 4 tab-separated fields, expected 7 or 9"):
        load_stsb(folder, "test")
    (folder / "sts-test.csv").write_text(ROW.format(score="high"))
    with pytest.raises(DataError, match=r"sts-test\.csv: line 1: column score is not a number: 'high'"):
        load_stsb(folder, "test")
    (folder / "sts-test.csv").write_text(ROW.format(score="nan"))
    with pytest.raises(DataError, match=r"sts-test\.csv: line 1: column score is 'nan'"):
        load_stsb(folder, "test")
    (folder / "sts-test.csv").write_text(ROW.format(score="7.5"))
    with pytest.raises(DataError, match=r"sts-test\.csv: line 1: score 7\.5 outside the STS range 0\.\.5"):
        load_stsb(folder, "test")


def test_stsb_quotes_are_kept(tmp_path):
    folder = _stsb_folder(tmp_path, ROW.replace("A plane.", '"A plane," he said.').format(score="1"))
    pairs = load_stsb(folder, "test")
    assert pairs.sentence1 == ['"A plane," he said.']


def test_stsb_missing_file(tmp_path):
    folder = tmp_path / "stsb"
    folder.mkdir()
    (folder / "sts-test.csv").write_text(ROW.format(score="1"))
    with pytest.raises(DataError, match=r"stsb: missing file\(s\) sts-train\.csv, sts-dev\.csv"):
        load_stsb(folder, "test")


@pytest.mark.shared_data
def test_sts_year_wrong_columns(shared_data, tmp_path):
    shutil.copy(shared_data / "sts" / "sts12-16" / "2013.test.tsv", tmp_path / "2013.test.tsv")
    with open(tmp_path / "2013.test.tsv", "a", encoding="utf-8") as handle:
        handle.write("3.0\tonly one sentence\n")
    with pytest.raises(DataError, match=r"2013\.test\.tsv: line 1501: 2 tab-separated fields, expected 3"):
        load_sts_year(tmp_path, 2013)


def test_sts_year_invalid_utf8(tmp_path):
    (tmp_path / "2014.test.tsv").write_bytes(b"1.0\tabc\t\xff\xfe\n")
    with pytest.raises(DataError, match=r"2014\.test\.tsv: not valid utf-8"):
        load_sts_year(tmp_path, 2014)


def test_generic_pairs(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("sentence1\tsentence2\tscore\nA b.\tC d.\t0.5\n\nE f.\tG h.\t-1\n")
    pairs = load_pairs_tsv(path)
    assert isinstance(pairs, SentencePairs) and len(pairs) == 2
    assert pairs.sentence2 == ["C d.", "G h."] and pairs.scores.tolist() == [0.5, -1.0]
    path.write_text("sentence1\tsentence2\nA b.\tC d.\n")
    assert load_pairs_tsv(path).scores is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s1\ts2\nA\tB\n", r"line 1: header must be"),
        ("sentence1\tsentence2\tscore\nA\tB\n", r"line 2: 2 tab-separated fields, expected 3"),
        ("sentence1\tsentence2\tscore\nA\tB\tx\n", r"line 2: column score is not a number"),
        ("sentence1\tsentence2\tscore\nA\tB\tinf\n", r"line 2: column score is 'inf'"),
        ("sentence1\tsentence2\n\tB\n", r"line 2: empty sentence"),
        ("sentence1\tsentence2\n", r"no sentence pairs"),
    ],
)
def test_generic_pairs_bad_input(tmp_path, text, message):
    path = tmp_path / "mine.tsv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"mine\.tsv: " + message):
        load_pairs_tsv(path)


def test_generic_pairs_missing(tmp_path):
    with pytest.raises(DataError, match=r"gone\.tsv: file not found \(expected a TSV with header"):
        load_pairs_tsv(tmp_path / "gone.tsv")


def test_pairs_by_column_name_in_a_tsv_or_a_csv(tmp_path):
    from iclr22.data.sentence_pairs import load_pairs

    tsv = tmp_path / "mine.tsv"
    tsv.write_text("\ufeffid\tSentence2\tsentence1\tscore\n1\tC d.\tA \"b\".\t0.5\n2\tG h.\tE f.\t\n", encoding="utf-8")
    pairs = load_pairs(tsv, ignore_scores=True)  # an empty score is no matter when scores are not read
    assert pairs.sentence1 == ['A "b".', "E f."] and pairs.sentence2 == ["C d.", "G h."] and pairs.scores is None
    with pytest.raises(DataError, match=r"mine\.tsv: line 3: column score is"):
        load_pairs(tsv)
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text('sentence1,sentence2,score\n"A, b.",C d.,4\n"E ""f"".","G\nh.",1\n', encoding="utf-8")
    pairs = load_pairs(csv_path, require_scores=True)
    assert pairs.sentence1 == ["A, b.", 'E "f".'] and pairs.sentence2 == ["C d.", "G\nh."] and pairs.scores.tolist() == [4.0, 1.0]
    assert pairs.name == "mine"
    csv_path.write_text("sentence1,sentence2\nA,B,C\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"mine\.csv: line 2: 3 comma-separated fields, expected 2"):
        load_pairs(csv_path)
    csv_path.write_text("sentence1,sentence1,sentence2\nA,B,C\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column 'sentence1' appears twice"):
        load_pairs(csv_path)
