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
