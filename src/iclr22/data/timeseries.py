"""Time series: LSTNet's exchange-rate matrix, M4 Hourly, and a generic long-format CSV.

On-disk formats read here:

* **exchange_rate** (``timeseries/exchange_rate/exchange_rate.txt.gz``): gzip'd CSV, no header, one row per
  business day (7588 rows, 1990-2016), 8 columns = daily rates of AUD, GBP, CAD, CHF, CNY, JPY, NZD, SGD.
* **M4 Hourly** (``timeseries/m4_hourly/Hourly-{train,test}.csv``): CSV with a header ``"V1","V2",...``; the
  first cell of a row is the series id (``"H1"``..``"H414"``), then the values, left-aligned, trailing cells
  empty. Train series have 700..960 values; the test file holds the next 48 values of every series.
* **Generic user format**: a long-format CSV with header ``series_id,timestamp,value``; timestamps are all
  numbers (e.g. step indices, unix seconds) or all ISO-8601 dates/datetimes. Rows may come in any order;
  each series is sorted by timestamp, and a repeated timestamp within a series is an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclr22.core.errors import DataError
from iclr22.data import _checks

__all__ = [
    "MultivariateSeries",
    "SeriesCollection",
    "ForecastSplit",
    "load_exchange_rate",
    "load_m4_hourly",
    "load_series_csv",
    "EXCHANGE_RATE_CURRENCIES",
]

EXCHANGE_RATE_CURRENCIES = ("AUD", "GBP", "CAD", "CHF", "CNY", "JPY", "NZD", "SGD")
M4_HOURLY_HORIZON = 48


@dataclass
class MultivariateSeries:
    """Several aligned series sampled on one time grid.

    Attributes:
        values: float64 ``[T, D]``: row = time step, column = series.
        names: One name per column.
        freq: Sampling frequency as a pandas-style alias (``"B"`` = business day).
        name: Dataset name.
    """

    values: np.ndarray
    names: list[str]
    freq: str = ""
    name: str = "series"


@dataclass
class ForecastSplit:
    """Variable-length training series and a fixed-horizon test continuation of each (M4 style).

    Attributes:
        ids: Series ids (``"H1"``...).
        train: One float64 array per series (its history).
        test: float64 ``[n_series, horizon]``: the values that follow each training series.
        freq: Sampling frequency (``"H"``).
        name: Dataset name.
    """

    ids: list[str]
    train: list[np.ndarray]
    test: np.ndarray
    freq: str = ""
    name: str = "forecast"

    @property
    def horizon(self) -> int:
        """Forecast horizon (test length)."""
        return int(self.test.shape[1])

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class SeriesCollection:
    """Independent series of any length, as read from the generic long-format CSV.

    Attributes:
        ids: Series ids in order of first appearance in the file.
        timestamps: One sorted array per series (float64 numbers, or ``datetime64``).
        values: One float64 array per series, aligned with ``timestamps``.
        name: Dataset name.
    """

    ids: list[str]
    timestamps: list[np.ndarray]
    values: list[np.ndarray]
    name: str = "series"

    def __len__(self) -> int:
        return len(self.ids)


def load_exchange_rate(data_dir: str | Path) -> MultivariateSeries:
    """Read LSTNet's ``exchange_rate.txt.gz``.

    Args:
        data_dir: The ``exchange_rate`` folder.

    Returns:
        :class:`MultivariateSeries` with ``values`` ``[7588, 8]`` and the currency names.

    Raises:
        DataError: On a missing / corrupt gzip, a row without 8 columns, a non-numeric or NaN cell.
    """
    path = _checks.require_files(data_dir, ["exchange_rate.txt.gz"])["exchange_rate.txt.gz"]
    width = len(EXCHANGE_RATE_CURRENCIES)
    rows = []
    for line_no, line in _checks.iter_data_lines(_checks.read_text_lines(path), skip_comments=False):
        cells = line.split(",")
        if len(cells) != width:
            raise DataError(f"{path}: line {line_no}: {len(cells)} comma-separated columns, expected {width}")
        rows.append([_checks.parse_float(c, path, line_no, EXCHANGE_RATE_CURRENCIES[j]) for j, c in enumerate(cells)])
    if not rows:
        raise DataError(f"{path}: no rows (expected {width} comma-separated rates per line)")
    return MultivariateSeries(np.asarray(rows, dtype=np.float64), list(EXCHANGE_RATE_CURRENCIES), "B", "exchange_rate")


def load_m4_hourly(data_dir: str | Path) -> ForecastSplit:
    """Read the M4 competition's Hourly subset (``Hourly-train.csv`` + ``Hourly-test.csv``).

    Args:
        data_dir: The ``m4_hourly`` folder.

    Returns:
        :class:`ForecastSplit` with 414 series, train lengths 700..960 and ``test`` ``[414, 48]``.

    Raises:
        DataError: On missing files, a malformed row (non-numeric / NaN value, a gap inside a series),
            test rows not of length 48, or train and test files listing different series.
    """
    files = _checks.require_files(data_dir, ["Hourly-train.csv", "Hourly-test.csv"])
    train_ids, train = _read_m4_file(files["Hourly-train.csv"])
    test_ids, test = _read_m4_file(files["Hourly-test.csv"])
    if train_ids != test_ids:
        raise DataError(f"{files['Hourly-test.csv']}: series ids differ from {files['Hourly-train.csv'].name} (same ids in the same order expected)")
    lengths = {len(values) for values in test}
    if lengths != {M4_HOURLY_HORIZON}:
        raise DataError(f"{files['Hourly-test.csv']}: every series must have {M4_HOURLY_HORIZON} test values, found lengths {sorted(lengths)}")
    return ForecastSplit(train_ids, train, np.stack(test), "H", "m4_hourly")


def _read_m4_file(path: Path) -> tuple[list[str], list[np.ndarray]]:
    lines = _checks.read_text_lines(path)
    rows = csv.reader(io.StringIO("\n".join(lines)))
    header = next(rows, None)
    if not header or header[0] != "V1":
        raise DataError(f"{path}: line 1: expected the M4 header \"V1\",\"V2\",...")
    ids: list[str] = []
    series: list[np.ndarray] = []
    for line_no, row in enumerate(rows, start=2):
        if len(row) > len(header):
            raise DataError(f"{path}: line {line_no}: {len(row)} columns, more than the header's {len(header)}")
        cells = row[1:]
        while cells and cells[-1] == "":
            cells.pop()
        if not row or not row[0] or not cells:
            raise DataError(f"{path}: line {line_no}: expected a series id followed by values")
        values = [_checks.parse_float(c, path, line_no, f"V{j + 2}") for j, c in enumerate(cells)]
        ids.append(row[0])
        series.append(np.asarray(values, dtype=np.float64))
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate series ids")
    return ids, series


def load_series_csv(path: str | Path) -> SeriesCollection:
    """Read the generic long-format CSV ``series_id,timestamp,value``.

    Example::

        series_id,timestamp,value
        shop1,2024-01-01,12.0
        shop1,2024-01-02,15.5
        shop2,0,3.0

    (All timestamps of one file must be of one kind: numbers, or ISO dates.)

    Args:
        path: The CSV file (``.gz`` accepted).

    Returns:
        The :class:`SeriesCollection`, every series sorted by timestamp.

    Raises:
        DataError: On a missing file, a wrong header, a row without 3 columns, a non-numeric / NaN value, an
            unparseable or mixed-kind timestamp, or a timestamp repeated within a series.
    """
    path = _checks.require_file(path, "a CSV with header series_id,timestamp,value")
    lines = _checks.read_text_lines(path)
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows or [c.strip() for c in rows[0]] != ["series_id", "timestamp", "value"]:
        raise DataError(f"{path}: line 1: header must be 'series_id,timestamp,value'")
    grouped: dict[str, tuple[list, list]] = {}
    numeric_times: bool | None = None
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise DataError(f"{path}: line {line_no}: {len(row)} columns, expected 3 (series_id,timestamp,value)")
        series_id, stamp_text, value_text = (c.strip() for c in row)
        if not series_id:
            raise DataError(f"{path}: line {line_no}: empty series_id")
        stamp, is_number = _parse_timestamp(stamp_text, path, line_no)
        if numeric_times is None:
            numeric_times = is_number
        elif numeric_times != is_number:
            raise DataError(f"{path}: line {line_no}: timestamp {stamp_text!r} mixes numbers and dates in one file")
        times, values = grouped.setdefault(series_id, ([], []))
        times.append(stamp)
        values.append(_checks.parse_float(value_text, path, line_no, "value"))
    if not grouped:
        raise DataError(f"{path}: no data rows after the header")
    collection = SeriesCollection([], [], [], name=path.stem.split(".")[0])
    for series_id, (times, values) in grouped.items():
        stamps = np.asarray(times, dtype=np.float64 if numeric_times else "datetime64[s]")
        order = np.argsort(stamps, kind="stable")
        stamps, ordered_values = stamps[order], np.asarray(values, dtype=np.float64)[order]
        if stamps.size > 1 and np.any(stamps[1:] == stamps[:-1]):
            raise DataError(f"{path}: series {series_id!r} repeats timestamp {stamps[1:][stamps[1:] == stamps[:-1]][0]}")
        collection.ids.append(series_id)
        collection.timestamps.append(stamps)
        collection.values.append(ordered_values)
    return collection


def _parse_timestamp(text: str, path: Path, line_no: int) -> tuple[object, bool]:
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not np.isfinite(value):
            raise DataError(f"{path}: line {line_no}: timestamp {text!r} is not finite")
        return value, True
    try:
        return np.datetime64(text, "s"), False
    except ValueError:
        raise DataError(f"{path}: line {line_no}: timestamp {text!r} is neither a number nor an ISO-8601 date") from None
