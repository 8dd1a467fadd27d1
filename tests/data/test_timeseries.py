"""Time-series loaders: exchange_rate, M4 Hourly and the generic long CSV."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from iclr22.core.errors import DataError
from iclr22.data.timeseries import load_exchange_rate, load_m4_hourly, load_series_csv


@pytest.mark.shared_data
def test_exchange_rate(shared_data):
    data = load_exchange_rate(shared_data / "timeseries" / "exchange_rate")
    assert data.values.shape == (7588, 8) and data.values.dtype == np.float64
    assert data.names == ["AUD", "GBP", "CAD", "CHF", "CNY", "JPY", "NZD", "SGD"]
    np.testing.assert_allclose(data.values[0], [0.7855, 1.611, 0.861698, 0.634196, 0.211242, 0.006838, 0.593, 0.525486])


@pytest.mark.shared_data
def test_m4_hourly(shared_data):
    data = load_m4_hourly(shared_data / "timeseries" / "m4_hourly")
    assert len(data) == 414 and data.test.shape == (414, 48) and data.horizon == 48
    lengths = [len(s) for s in data.train]
    assert min(lengths) == 700 and max(lengths) == 960 and int(np.median(lengths)) == 960
    assert data.ids[0] == "H1" and data.ids[-1] == "H414"
    assert data.train[0][:2].tolist() == [605.0, 586.0] and data.test[0, :2].tolist() == [619.0, 565.0]
    assert np.isfinite(data.test).all()


def _exchange_folder(tmp_path, text):
    folder = tmp_path / "exchange_rate"
    folder.mkdir()
    (folder / "exchange_rate.txt.gz").write_bytes(gzip.compress(text.encode()))
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3,4,5,6,7,8\n1,2,3\n", r"line 2: 3 comma-separated columns, expected 8"),
        ("1,2,3,4,5,6,7,x\n", r"line 1: column SGD is not a number: 'x'"),
        ("1,2,nan,4,5,6,7,8\n", r"line 1: column CAD is 'nan'"),
    ],
)
def test_exchange_rate_bad_rows(tmp_path, text, message):
    folder = _exchange_folder(tmp_path, text)
    with pytest.raises(DataError, match=r"exchange_rate\.txt\.gz: " + message):
        load_exchange_rate(folder)


@pytest.mark.shared_data
def test_exchange_rate_truncated_gzip(shared_data, tmp_path):
    folder = tmp_path / "exchange_rate"
    folder.mkdir()
    raw = (shared_data / "timeseries" / "exchange_rate" / "exchange_rate.txt.gz").read_bytes()
    (folder / "exchange_rate.txt.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"exchange_rate\.txt\.gz: truncated or corrupt gzip"):
        load_exchange_rate(folder)


def test_exchange_rate_missing(tmp_path):
    with pytest.raises(DataError, match=r"nothere: dataset folder not found \(expected a folder holding exchange_rate\.txt\.gz\)"):
        load_exchange_rate(tmp_path / "nothere")


def _m4_folder(tmp_path, train, test):
    folder = tmp_path / "m4"
    folder.mkdir(parents=True)
    (folder / "Hourly-train.csv").write_text(train)
    (folder / "Hourly-test.csv").write_text(test)
    return folder


HEADER = ",".join(f'"V{i}"' for i in range(1, 50)) + "\n"
TEST_ROW = '"H1",' + ",".join(['"1"'] * 48) + "\n"


def test_m4_small_valid_and_bad(tmp_path):
    folder = _m4_folder(tmp_path, HEADER + '"H1","1","2","3","",""\n', HEADER + TEST_ROW)
    data = load_m4_hourly(folder)
    assert data.train[0].tolist() == [1.0, 2.0, 3.0] and data.test.shape == (1, 48)

    folder = _m4_folder(tmp_path / "a", HEADER + '"H1","1","oops"\n', HEADER + TEST_ROW)
    with pytest.raises(DataError, match=r"Hourly-train\.csv: line 2: column V3 is not a number"):
        load_m4_hourly(folder)
    folder = _m4_folder(tmp_path / "b", HEADER + '"H2","1"\n', HEADER + TEST_ROW)
    with pytest.raises(DataError, match=r"Hourly-test\.csv: series ids differ from Hourly-train\.csv"):
        load_m4_hourly(folder)
    folder = _m4_folder(tmp_path / "c", HEADER + '"H1","1"\n', HEADER + '"H1","1","2"\n')
    with pytest.raises(DataError, match=r"Hourly-test\.csv: every series must have 48 test values"):
        load_m4_hourly(folder)
    folder = _m4_folder(tmp_path / "d", HEADER + '"H1","1","","3"\n', HEADER + TEST_ROW)
    with pytest.raises(DataError, match=r"Hourly-train\.csv: line 2: column V3 is not a number: ''"):
        load_m4_hourly(folder)


@pytest.mark.shared_data
def test_m4_missing_test_file(shared_data, tmp_path):
    folder = tmp_path / "m4"
    folder.mkdir()
    shutil.copy(shared_data / "timeseries" / "m4_hourly" / "Hourly-test.csv", folder)
    with pytest.raises(DataError, match=r"m4: missing file\(s\) Hourly-train\.csv"):
        load_m4_hourly(folder)


def test_series_csv(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("series_id,timestamp,value\nb,2,20\na,1,1.5\nb,1,10\na,0,0.5\n")
    data = load_series_csv(path)
    assert data.ids == ["b", "a"]
    assert data.timestamps[0].tolist() == [1.0, 2.0] and data.values[0].tolist() == [10.0, 20.0]
    assert data.values[1].tolist() == [0.5, 1.5]
    path.write_text("series_id,timestamp,value\ns,2024-01-02,2\ns,2024-01-01,1\n")
    dated = load_series_csv(path)
    assert dated.timestamps[0].dtype.kind == "M" and dated.values[0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,t,v\n", r"line 1: header must be 'series_id,timestamp,value'"),
        ("series_id,timestamp,value\na,1\n", r"line 2: 2 columns, expected 3"),
        ("series_id,timestamp,value\na,1,x\n", r"line 2: column value is not a number"),
        ("series_id,timestamp,value\na,1,inf\n", r"line 2: column value is 'inf'"),
        ("series_id,timestamp,value\na,yesterday,1\n", r"line 2: timestamp 'yesterday' is neither a number nor an ISO-8601 date"),
        ("series_id,timestamp,value\na,1,1\na,2024-01-01,1\n", r"line 3: timestamp '2024-01-01' mixes numbers and dates"),
        ("series_id,timestamp,value\na,1,1\na,1,2\n", r"series 'a' repeats timestamp 1\.0"),
    ],
)
def test_series_csv_bad_input(tmp_path, text, message):
    path = tmp_path / "series.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"series\.csv: " + message):
        load_series_csv(path)
