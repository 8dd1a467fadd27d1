"""User-item interaction logs: MovieLens 100K and a generic CSV.

On-disk formats read here:

* **MovieLens 100K** (``recsys/ml-100k/u.data``): TAB-separated ``user_id item_id rating unix_timestamp``,
  no header, 100,000 rows (943 users, 1,682 items, ratings 1..5). Every rating is treated as one implicit
  event; the rating is kept too. MovieLens data may not be redistributed: read it from its folder, never
  copy it into a repository, package or test fixture.
* **Generic user format**: a CSV with header ``user,item,timestamp`` and an optional fourth column
  ``rating``; ``user``/``item`` are any raw ids (strings or integers), ``timestamp`` an integer (for example
  unix seconds).

Raw ids are re-indexed to ``0..n-1`` in sorted order of the raw ids; the raw ids are kept in ``user_ids`` /
``item_ids`` so that ``user_ids[user[i]]`` is the raw id of event ``i``. Events keep the file's order.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclr22.core.errors import DataError
from iclr22.data import _checks

__all__ = ["Interactions", "load_movielens_100k", "load_interactions_csv"]


@dataclass
class Interactions:
    """A log of (user, item, timestamp) events with dense ids.

    Attributes:
        user: int64 ``[n]`` user index ``0..n_users-1`` of every event.
        item: int64 ``[n]`` item index ``0..n_items-1``.
        timestamp: int64 ``[n]`` event time (unix seconds for MovieLens).
        user_ids: Raw user id of every user index (``user_ids[user]`` gives the raw ids).
        item_ids: Raw item id of every item index.
        rating: float64 ``[n]`` explicit rating, or ``None``.
        name: Dataset name.
    """

    user: np.ndarray
    item: np.ndarray
    timestamp: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    rating: np.ndarray | None = None
    name: str = "interactions"

    @property
    def n_users(self) -> int:
        """Number of distinct users."""
        return int(self.user_ids.shape[0])

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return int(self.item_ids.shape[0])

    def __len__(self) -> int:
        return int(self.user.shape[0])


def load_movielens_100k(data_dir: str | Path) -> Interactions:
    """Read MovieLens 100K's ``u.data``.

    Args:
        data_dir: The ``ml-100k`` folder.

    Returns:
        :class:`Interactions` with 100,000 events, 943 users, 1,682 items and ratings 1..5.

    Raises:
        DataError: On a missing file, a row without 4 tab-separated columns, a non-integer cell or a rating
            outside 1..5.
    """
    path = _checks.require_files(data_dir, ["u.data"])["u.data"]
    lines = _checks.read_text_lines(path, encoding="latin-1")
    table = np.empty((len(lines), 4), dtype=np.int64)
    count = 0
    for line_no, line in _checks.iter_data_lines(lines, skip_comments=False):
        cells = line.split("\t")
        if len(cells) != 4:
            raise DataError(f"{path}: line {line_no}: {len(cells)} tab-separated columns, expected 4 (user item rating timestamp)")
        for j, column in enumerate(("user_id", "item_id", "rating", "timestamp")):
            table[count, j] = _checks.parse_int(cells[j].strip(), path, line_no, column)
        if not 1 <= table[count, 2] <= 5:
            raise DataError(f"{path}: line {line_no}: rating {table[count, 2]} outside 1..5")
        count += 1
    if count == 0:
        raise DataError(f"{path}: no ratings (expected 'user<TAB>item<TAB>rating<TAB>timestamp' lines)")
    table = table[:count]
    return _build(table[:, 0], table[:, 1], table[:, 3], table[:, 2].astype(np.float64), "ml-100k")


def load_interactions_csv(path: str | Path) -> Interactions:
    """Read the generic interaction CSV (header ``user,item,timestamp[,rating]``).

    Example::

        user,item,timestamp
        alice,book-17,1700000000
        bob,book-3,1700000100

    Args:
        path: The CSV file (``.gz`` accepted).

    Returns:
        :class:`Interactions`; raw ids are integers when every id in a column is one, else strings.

    Raises:
        DataError: On a missing file, a wrong header, a row with the wrong number of columns, an empty id, a
            non-integer timestamp, or a non-numeric / NaN rating.
    """
    path = _checks.require_file(path, "a CSV with header user,item,timestamp[,rating]")
    rows = list(csv.reader(io.StringIO("\n".join(_checks.read_text_lines(path)))))
    header = [c.strip() for c in rows[0]] if rows else []
    if header not in (["user", "item", "timestamp"], ["user", "item", "timestamp", "rating"]):
        raise DataError(f"{path}: line 1: header must be 'user,item,timestamp' or 'user,item,timestamp,rating'")
    users, items, times, ratings = [], [], [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{path}: line {line_no}: {len(row)} columns, expected {len(header)}")
        user, item = row[0].strip(), row[1].strip()
        if not user or not item:
            raise DataError(f"{path}: line {line_no}: empty user or item id")
        users.append(user)
        items.append(item)
        times.append(_checks.parse_int(row[2].strip(), path, line_no, "timestamp"))
        if len(header) == 4:
            ratings.append(_checks.parse_float(row[3].strip(), path, line_no, "rating"))
    if not users:
        raise DataError(f"{path}: no interactions after the header")
    rating = np.asarray(ratings, dtype=np.float64) if ratings else None
    return _build(_raw_ids(users), _raw_ids(items), np.asarray(times, dtype=np.int64), rating, path.stem.split(".")[0])


def _raw_ids(values: list[str]) -> np.ndarray:
    try:
        return np.asarray([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.asarray(values, dtype=str)


def _build(raw_users: np.ndarray, raw_items: np.ndarray, times: np.ndarray, rating: np.ndarray | None, name: str) -> Interactions:
    user_ids, user = np.unique(raw_users, return_inverse=True)
    item_ids, item = np.unique(raw_items, return_inverse=True)
    return Interactions(
        user=user.astype(np.int64).reshape(-1),
        item=item.astype(np.int64).reshape(-1),
        timestamp=np.asarray(times, dtype=np.int64),
        user_ids=user_ids,
        item_ids=item_ids,
        rating=rating,
        name=name,
    )
