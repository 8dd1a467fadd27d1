"""``iclr22 rim fit``, ``target`` and ``recommend`` on a user's events.csv (string ids, unsorted rows, ties)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from iclr22.cli import main
from iclr22.rim import RIM
from iclr22.rim.synthetic import simulate_events

FAST = ["--set", "epochs=1", "--set", "hidden=8", "--set", "num_decays=6", "--quiet"]


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    data = simulate_events(num_users=50, num_items=25, days=60, seed=4)
    order = np.random.default_rng(0).permutation(len(data))
    path = tmp_path_factory.mktemp("log") / "events.csv"
    with path.open("w") as handle:
        handle.write("user,item,timestamp\n")
        for j in order:
            handle.write(f"cust-{data.user_ids[data.user[j]]},sku-{data.item_ids[data.item[j]]},{data.timestamp[j]}\n")
        handle.write(f"cust-u0,sku-i0,{data.timestamp.max()}\n")  # a tie with the last event, a repeated pair
    return path


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_target_recommend(events, tmp_path):
    model_dir = tmp_path / "model"
    assert main(["rim", "fit", "--events", str(events), "--out", str(model_dir), *FAST]) == 0
    summary = (model_dir / "summary.md").read_text()
    assert "## Most active users now" in summary and "horizon" in summary and "epochs=1" in summary
    model = RIM.load(model_dir)
    assert model.epochs == 1 and str(model.user_ids_[0]).startswith("cust-")

    audience = tmp_path / "audience.csv"
    assert main(["rim", "target", "--model", str(model_dir), "--items", "sku-i1,sku-i2", "--per-item", "3", "--out", str(audience), "--quiet"]) == 0
    rows = _read(audience)
    assert list(rows[0]) == ["item", "user", "rank", "score", "intensity", "p_item"]
    assert len(rows) == 6 and {r["item"] for r in rows} == {"sku-i1", "sku-i2"}
    for r in rows:
        assert float(r["score"]) == pytest.approx(float(r["intensity"]) * float(r["p_item"]), rel=1e-4)
    assert (tmp_path / "audience_summary.md").is_file()

    items_file = tmp_path / "items.txt"
    items_file.write_text("item\nsku-i1\nsku-i2\nsku-i3\n")
    capped = tmp_path / "capped.csv"
    assert main(["rim", "target", "--model", str(model_dir), "--items", str(items_file), "--per-item", "4", "--user-cap", "1",
                 "--out", str(capped), "--quiet"]) == 0
    users = [r["user"] for r in _read(capped)]
    assert len(users) == len(set(users)) == 12

    recs = tmp_path / "recs.csv"
    assert main(["rim", "recommend", "--model", str(model_dir), "--k", "2", "--item-cap", "3", "--out", str(recs), "--quiet"]) == 0
    rows = _read(recs)
    assert list(rows[0])[:3] == ["user", "item", "rank"]
    assert max(np.unique([r["item"] for r in rows], return_counts=True)[1]) <= 3


def test_bad_input_exits_2_with_one_line(events, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,timestamp\na,x,yesterday\n")
    assert main(["rim", "fit", "--events", str(bad), "--out", str(tmp_path / "m"), *FAST]) == 2
    assert "line 2: column timestamp is not a number" in capsys.readouterr().err
    assert main(["rim", "fit", "--events", str(events), "--out", str(tmp_path / "m"), "--set", "intensity=magic", "--quiet"]) == 2
    assert "intensity" in capsys.readouterr().err
    model_dir = tmp_path / "model"
    assert main(["rim", "fit", "--events", str(events), "--out", str(model_dir), *FAST]) == 0
    assert main(["rim", "target", "--model", str(model_dir), "--items", "sku-nope", "--out", str(tmp_path / "a.csv"), "--quiet"]) == 2
    assert "unknown item id(s) sku-nope" in capsys.readouterr().err
    assert main(["rim", "recommend", "--model", str(model_dir), "--k", "0", "--out", str(tmp_path / "r.csv"), "--quiet"]) == 2


def test_mostly_single_event_users_warn_on_one_line(tmp_path, capsys):
    path = tmp_path / "events.csv"
    rows = [f"u{k},i{k % 5},{100 * k}" for k in range(30)] + ["u0,i1,5000", "u1,i2,6000"]
    path.write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
    assert main(["rim", "fit", "--events", str(path), "--out", str(tmp_path / "m"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "iclr22: warning: 28 of 30 users have one event" in err
