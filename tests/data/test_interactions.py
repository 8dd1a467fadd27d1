"""Interaction logs: MovieLens 100K (read in place, never copied) and the generic CSV."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.core.errors import DataError
from iclr22.data.interactions import Interactions, load_interactions_csv, load_movielens_100k


@pytest.mark.shared_data
def test_movielens_100k(shared_data):
    data = load_movielens_100k(shared_data / "recsys" / "ml-100k")
    assert len(data) == 100_000 and data.n_users == 943 and data.n_items == 1682
    assert data.user.min() == 0 and data.user.max() == 942 and data.item.max() == 1681
    assert data.user_ids[data.user[0]] == 196 and data.item_ids[data.item[0]] == 242
    assert data.rating[0] == 3 and set(np.unique(data.rating)) == {1, 2, 3, 4, 5}
    assert data.timestamp[0] == 881250949
    assert data.timestamp.min() == 874724710 and data.timestamp.max() == 893286638  # 1997-09-20 .. 1998-04-22


def _write_udata(tmp_path, text):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\t2\t3\t100\n1\t2\t3\n", r"line 2: 3 tab-separated columns, expected 4"),
        ("1\t2\t3\t100\n1\tx\t3\t5\n", r"line 2: column item_id is not a number"),
        ("1\t2\t9\t100\n", r"line 1: rating 9 outside 1\.\.5"),
        ("1\t2\t3\tnan\n", r"line 1: column timestamp is 'nan'"),
        ("", r"no ratings"),
    ],
)
def test_movielens_bad_rows(tmp_path, text, message):
    folder = _write_udata(tmp_path, text)
    with pytest.raises(DataError, match=r"u\.data: " + message):
        load_movielens_100k(folder)


def test_movielens_missing_file(tmp_path):
    (tmp_path / "ml").mkdir()
    with pytest.raises(DataError, match=r"ml: missing file\(s\) u\.data"):
        load_movielens_100k(tmp_path / "ml")


def test_generic_interactions(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp\nbob,b,20\nalice,a,10\nbob,a,30\n")
    data = load_interactions_csv(path)
    assert isinstance(data, Interactions) and len(data) == 3 and data.rating is None
    assert data.user_ids.tolist() == ["alice", "bob"] and data.item_ids.tolist() == ["a", "b"]
    assert data.user.tolist() == [1, 0, 1] and data.item.tolist() == [1, 0, 0]
    assert data.timestamp.tolist() == [20, 10, 30]


def test_generic_interactions_integer_ids_and_rating(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp,rating\n10,7,1,4.5\n2,7,2,1\n")
    data = load_interactions_csv(path)
    assert data.user_ids.dtype == np.int64 and data.user_ids.tolist() == [2, 10]
    assert data.rating.tolist() == [4.5, 1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user,item\n1,2\n", r"line 1: header must be"),
        ("user,item,timestamp\n1,2\n", r"line 2: 2 columns, expected 3"),
        ("user,item,timestamp\n1,2,soon\n", r"line 2: column timestamp is not a number"),
        ("user,item,timestamp\n1,2,1.5\n", r"line 2: column timestamp must be an integer"),
        ("user,item,timestamp\n,2,1\n", r"line 2: empty user or item id"),
        ("user,item,timestamp,rating\n1,2,1,NaN\n", r"line 2: column rating is 'NaN'"),
        ("user,item,timestamp\n", r"no interactions"),
    ],
)
def test_generic_interactions_bad_input(tmp_path, text, message):
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"log\.csv: " + message):
        load_interactions_csv(path)


# ------------------------------------------------------------------------------------- RIM's time split
from iclr22.data.interactions import load_movielens, time_split  # noqa: E402


@pytest.mark.shared_data
def test_movielens_folder_reads_u_data_and_the_time_split(shared_data):
    data = load_movielens(shared_data / "recsys" / "ml-100k")
    assert len(data) == 100_000
    split = time_split(data)
    assert len(split.data) < len(data) and split.offset == split.horizon > 0
    assert len(split.test_users) > 400 and len(split.val_users) > 400
    assert not set(split.test_users) & set(split.val_users)
    assert split.target(split.test_users, split.test_start).sum() > 1000


def test_movielens_ratings_csv(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,10,3,50\n")
    data = load_movielens(tmp_path)
    assert len(data) == 2 and data.user_ids.tolist() == [1, 2] and data.rating.tolist() == [4.5, 3.0]
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.5,soon\n")
    with pytest.raises(DataError, match=r"ratings\.csv: line 2: column timestamp"):
        load_movielens(tmp_path)
    (tmp_path / "ratings.csv").unlink()
    with pytest.raises(DataError, match=r"neither u\.data .* nor ratings\.csv"):
        load_movielens(tmp_path)


def _log(users, items, times):
    from iclr22.data.interactions import _build

    return _build(np.asarray(users), np.asarray(items), np.asarray(times, dtype=np.int64), None, "log")


def test_time_split_follows_the_recipe_with_string_ids_unsorted_times_and_ties():
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for u in range(40):
        n = 2 + u % 7
        stamps = rng.integers(0, 1000, n)
        stamps[-1] = stamps[0]  # a tie inside every user
        users += [f"user-{u}"] * n
        items += [f"item-{i}" for i in rng.integers(0, 15, n)]
        times += stamps.tolist()
    order = rng.permutation(len(users))  # unsorted file
    data = _log(np.array(users)[order], np.array(items)[order], np.array(times)[order])
    split = time_split(data, seed=3)
    kept_per_user = np.bincount(split.data.user, minlength=data.n_users)
    all_per_user = np.bincount(data.user, minlength=data.n_users)
    assert (kept_per_user == all_per_user - np.ceil(all_per_user / 2) + 1).all()  # rank / n >= 0.5
    assert (np.diff(split.data.timestamp) >= 0).all()
    assert np.isinf(split.test_start[split.val_users]).all() and np.isinf(split.val_start[split.test_users]).all()
    train = split.train_mask
    assert (split.data.timestamp[train] < split.test_start[split.data.user[train]]).all()
    assert split.data.user_ids.dtype.kind == "U"
    again = time_split(data, seed=3)
    assert np.array_equal(again.data.item, split.data.item)  # the tie order is seeded


def test_time_split_refuses_what_cannot_be_split():
    with pytest.raises(DataError, match="at least 2 users"):
        time_split(_log(["a"], ["x"], [1]))
    with pytest.raises(DataError, match="share one timestamp"):
        time_split(_log(["a", "a", "b", "b"], ["x", "y", "x", "y"], [5, 5, 7, 7]))
    # each user's second event is on an item no one had before: the test window holds no known item
    with pytest.raises(DataError, match="empty test window"):
        time_split(_log(["a", "a", "b", "b", "c", "c", "d", "d"], ["x", "p", "x", "q", "x", "r", "x", "s"], [0, 10] * 4))


def test_validation_split_never_reads_a_test_window():
    rng = np.random.default_rng(5)
    users = np.repeat(np.arange(60), 12)
    times = rng.integers(0, 10_000, len(users))
    data = _log(users, rng.integers(0, 20, len(users)), times)
    split = time_split(data)
    val = split.validation()
    assert not set(val.test_users) & set(split.test_users) and not set(val.val_users) & set(val.test_users)
    assert set(val.test_users) | set(val.val_users) <= set(split.val_users)
    b = np.isfinite(split.test_start[val.data.user]) & ~np.isin(val.data.user, val.test_users)
    assert (val.data.timestamp[b] < split.test_start[val.data.user[b]]).all()  # group B: history only
    assert val.target(val.test_users, val.test_start).any()
