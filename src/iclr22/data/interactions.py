"""User-item interaction logs: MovieLens 100K and a generic CSV.

On-disk formats read here:

* **MovieLens 100K** (``recsys/ml-100k/u.data``): TAB-separated ``user_id item_id rating unix_timestamp``,
  no header, 100,000 rows (943 users, 1,682 items, ratings 1..5). Every rating is treated as one implicit
  event; the rating is kept too. MovieLens data may not be redistributed: read it from its folder, never
  copy it into a repository, package or test fixture.
* **Generic user format**: a CSV with header ``user,item,timestamp`` and an optional fourth column
  ``rating``; ``user``/``item`` are any raw ids (strings or integers), ``timestamp`` an integer (for example
  unix seconds).

* **MovieLens ``ratings.csv``** (ML-20M / ML-25M / ml-latest layout): header ``userId,movieId,rating,timestamp``.
  :func:`load_movielens` reads ``u.data`` or ``ratings.csv``, whichever the folder holds.

Raw ids are re-indexed to ``0..n-1`` in sorted order of the raw ids; the raw ids are kept in ``user_ids`` /
``item_ids`` so that ``user_ids[user[i]]`` is the raw id of event ``i``. Events keep the file's order.

:func:`time_split` is the RIM paper's ML-1M protocol (official ``prepare_ml_1m_data`` + ``create_user_splits``):
keep the second half of each user's events, split users 50/50, and give the test half a window of one
"horizon" starting a median user-span after each user's first event (see its docstring).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclr22.core.errors import DataError
from iclr22.data import _checks

__all__ = ["Interactions", "TimeSplit", "load_movielens_100k", "load_movielens", "load_interactions_csv", "time_split", "subset"]


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


def load_movielens(data_dir: str | Path) -> Interactions:
    """Read a MovieLens folder: ``u.data`` (ML-100K) or ``ratings.csv`` (``userId,movieId,rating,timestamp``).

    Raises:
        DataError: neither file is there, or a row is malformed (named by file and line).
    """
    folder = _checks.as_path(data_dir)
    if (folder / "u.data").is_file():
        return load_movielens_100k(folder)
    if not (folder / "ratings.csv").is_file():
        if not folder.is_dir():
            raise DataError(f"{folder}: data folder not found (expected a MovieLens folder with u.data or ratings.csv)")
        raise DataError(f"{folder}: holds neither u.data (ML-100K) nor ratings.csv (userId,movieId,rating,timestamp)")
    path = folder / "ratings.csv"
    rows = list(csv.reader(io.StringIO("\n".join(_checks.read_text_lines(path)))))
    header = [c.strip() for c in rows[0]] if rows else []
    if header[:4] != ["userId", "movieId", "rating", "timestamp"]:
        raise DataError(f"{path}: line 1: header must start with 'userId,movieId,rating,timestamp'")
    table = np.empty((len(rows) - 1, 3), dtype=np.int64)
    ratings = np.empty(len(rows) - 1, dtype=np.float64)
    count = 0
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 4:
            raise DataError(f"{path}: line {line_no}: {len(row)} columns, expected 4 (userId,movieId,rating,timestamp)")
        table[count, 0] = _checks.parse_int(row[0].strip(), path, line_no, "userId")
        table[count, 1] = _checks.parse_int(row[1].strip(), path, line_no, "movieId")
        ratings[count] = _checks.parse_float(row[2].strip(), path, line_no, "rating")
        table[count, 2] = _checks.parse_int(row[3].strip(), path, line_no, "timestamp")
        count += 1
    if count == 0:
        raise DataError(f"{path}: no ratings after the header")
    return _build(table[:count, 0], table[:count, 1], table[:count, 2], ratings[:count], folder.name or "movielens")


def subset(data: Interactions, keep: np.ndarray) -> Interactions:
    """The events where ``keep`` is true (a mask or indices); ids and raw-id tables are unchanged."""
    return Interactions(data.user[keep], data.item[keep], data.timestamp[keep], data.user_ids, data.item_ids,
                        None if data.rating is None else data.rating[keep], data.name)


@dataclass
class TimeSplit:
    """The RIM paper's time split of an event log (:func:`time_split`). Times are in the log's unit.

    Attributes:
        data: The kept events (the second half of each user's), sorted by time (ties in a seeded random order).
        test_users: Users of the test half (group B) with at least one event before their test start.
        test_start: ``[n_users]`` test start of every user: ``Tmin_u + offset`` for group B, ``inf`` for group A.
        val_users: Users of group A with at least one event before their validation start.
        val_start: ``[n_users]`` validation start: ``Tmin_u + offset`` for group A, ``inf`` for group B.
        horizon: Length of the test and validation windows.
        offset: The median over users of ``Tmax_u - Tmin_u`` (the test start after a user's first event).
        test_items: Items with at least one training event (the columns of the test matrix).
    """

    data: Interactions
    test_users: np.ndarray
    test_start: np.ndarray
    val_users: np.ndarray
    val_start: np.ndarray
    horizon: float
    offset: float
    test_items: np.ndarray

    @property
    def train_mask(self) -> np.ndarray:
        """Events before their user's test start (group A: all): what every model trains on."""
        return self.data.timestamp < self.test_start[self.data.user]

    def window_mask(self, start: np.ndarray) -> np.ndarray:
        """Events inside their user's window ``[start_u, start_u + horizon)``."""
        t, s = self.data.timestamp, start[self.data.user]
        return (t >= s) & (t < s + self.horizon)

    def validation(self, seed: int = 0) -> "TimeSplit":
        """The same protocol moved onto the validation users, for choosing settings without the test windows.

        Group A is split at random (``seed``) into A1, whose windows play the validation role (e.g. for
        Hawkes–Poisson), and A2, whose windows play the test role. Group B keeps only its events before its test
        start, as training events: nothing at or after a test start is ever read.
        """
        rng = np.random.default_rng(seed + 999)
        group_a = np.flatnonzero(np.isfinite(self.val_start))
        shuffled = rng.permutation(group_a)
        a1, a2 = np.sort(shuffled[: len(shuffled) // 2]), shuffled[len(shuffled) // 2:]
        keep = self.data.timestamp < self.test_start[self.data.user]  # drops group B's test windows and later
        data = subset(self.data, keep)
        test_start = np.where(np.isfinite(self.test_start), self.test_start, np.inf)
        test_start[a2] = self.val_start[a2]
        val_start = np.full_like(self.val_start, np.inf)
        val_start[a1] = self.val_start[a1]
        history = np.bincount(data.user[data.timestamp < test_start[data.user]], minlength=data.n_users)
        test_users = np.sort(a2[history[a2] > 0])
        val_users = np.sort(a1[history[a1] > 0])
        test_items = np.unique(data.item[data.timestamp < test_start[data.user]])
        return TimeSplit(data, test_users, test_start, val_users, val_start, self.horizon, self.offset, test_items)

    def target(self, users: np.ndarray, start: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """``[len(users), len(items)]`` 0/1 matrix: the user engaged the item inside their window."""
        items = self.test_items if items is None else items
        row = np.full(self.data.n_users, -1)
        row[users] = np.arange(len(users))
        col = np.full(self.data.n_items, -1)
        col[items] = np.arange(len(items))
        mask = self.window_mask(start)
        r, c = row[self.data.user[mask]], col[self.data.item[mask]]
        keep = (r >= 0) & (c >= 0)
        target = np.zeros((len(users), len(items)), dtype=np.float32)
        target[r[keep], c[keep]] = 1.0
        return target


def time_split(data: Interactions, seed: int = 0) -> TimeSplit:
    """The RIM paper's ML-1M split (official ``prepare_ml_1m_data`` + ``create_user_splits``), for any log.

    1. Shuffle the events (``seed``), then stable-sort by time: tied timestamps keep a seeded random order.
    2. Keep the second half of each user's events (within-user rank ``r`` of ``n``, kept when ``r / n >= 0.5``).
    3. Split users 50/50 at random (seed ``seed + 888``) into group A (training, validation) and B (test).
    4. ``offset`` = ``horizon`` = the median over users of ``Tmax_u - Tmin_u`` of the kept events.
    5. Test: group-B users in ``[Tmin_u + offset, Tmin_u + offset + horizon)``; training = every event before its
       user's test start (group A: all of them). Validation: group-A users at the same relative time.
    6. Test users need at least one event before their start; test items at least one training event.

    Raises:
        DataError: fewer than 2 users, a zero median span (every user's events at one time), no test user
            with history, or an empty test window (no test user has an event in it).
    """
    if data.n_users < 2 or len(data) < 2:
        raise DataError(f"{data.name}: {data.n_users} user(s) and {len(data)} event(s); the time split needs at least 2 users with events")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    order = order[np.argsort(data.timestamp[order], kind="stable")]
    sorted_data = subset(data, order)
    user = sorted_data.user
    by_user = np.argsort(user, kind="stable")
    counts = np.bincount(user, minlength=data.n_users)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(user), dtype=np.int64)
    rank[by_user] = np.arange(len(user)) - first[user[by_user]] + 1
    kept = subset(sorted_data, rank / counts[user] >= 0.5)
    present = np.unique(kept.user)
    t = kept.timestamp.astype(np.float64)
    tmin = np.full(data.n_users, np.inf)
    tmax = np.full(data.n_users, -np.inf)
    np.minimum.at(tmin, kept.user, t)
    np.maximum.at(tmax, kept.user, t)
    offset = float(np.median((tmax - tmin)[present]))
    if offset <= 0:
        raise DataError(f"{data.name}: the median user's events all share one timestamp, so the test window would be empty; "
                        "the time split needs users whose events span some time")
    shuffled = np.random.default_rng(seed + 888).permutation(present)
    group_b = np.zeros(data.n_users, dtype=bool)
    group_b[shuffled[: len(shuffled) // 2]] = True
    group_a = np.isin(np.arange(data.n_users), present) & ~group_b
    test_start = np.where(group_b, tmin + offset, np.inf)
    val_start = np.where(group_a, tmin + offset, np.inf)
    before_test = t < test_start[kept.user]
    before_val = t < val_start[kept.user]
    history = np.bincount(kept.user[before_test & group_b[kept.user]], minlength=data.n_users)
    test_users = np.flatnonzero(group_b & (history > 0))
    val_history = np.bincount(kept.user[before_val & group_a[kept.user]], minlength=data.n_users)
    val_users = np.flatnonzero(group_a & (val_history > 0))
    test_items = np.unique(kept.item[before_test])
    split = TimeSplit(kept, test_users, test_start, val_users, val_start, offset, offset, test_items)
    if len(test_users) == 0:
        raise DataError(f"{data.name}: no test user has an event before their test start")
    if not split.target(test_users, test_start).any():
        raise DataError(f"{data.name}: empty test window: no test user has an event on a known item in "
                        f"[first event + {offset:g}, + {offset:g}) (too few events per user, or all at one time)")
    return split


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
