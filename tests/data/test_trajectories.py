"""Trajectory loaders: ETH/UCY leave-one-scene-out, generic folders, and window extraction."""

from __future__ import annotations

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.trajectories import (
    ETHUCY_STEMS,
    TrajectoryTable,
    frame_grid,
    load_ethucy,
    load_trajectory_folder,
    read_trajectory_file,
    to_windows,
)

# rows / frames / pedestrians of every all_data file, from ethucy/SOURCE.md
ALL_DATA = {
    "biwi_eth": (5492, 876, 360),
    "biwi_hotel": (6543, 1168, 389),
    "crowds_zara01": (5153, 872, 148),
    "crowds_zara02": (9722, 1052, 204),
    "crowds_zara03": (5005, 754, 137),
    "students001": (21813, 444, 415),
    "students003": (17953, 541, 434),
    "uni_examples": (2747, 734, 118),
}


@pytest.mark.shared_data
def test_all_data_counts(shared_data):
    for stem, (rows, frames, agents) in ALL_DATA.items():
        table = read_trajectory_file(shared_data / "trajectories" / "ethucy" / "all_data" / f"{stem}.txt")
        assert (len(table), table.num_frames, table.num_agents) == (rows, frames, agents), stem
        assert table.agent_type is None and np.isfinite(table.x).all()


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("scene", "test_stems"),
    [("eth", ["biwi_eth"]), ("hotel", ["biwi_hotel"]), ("univ", ["students001", "students003"]),
     ("zara1", ["crowds_zara01"]), ("zara2", ["crowds_zara02"])],
)
def test_leave_one_scene_out(shared_data, scene, test_stems):
    split = load_ethucy(shared_data / "trajectories" / "ethucy", scene)
    assert [len(t) for t in split.test] == [ALL_DATA[s][0] for s in test_stems]
    train_stems = [s for s in ETHUCY_STEMS if s not in test_stems]
    assert [t.source.rsplit("/", 1)[-1] for t in split.train] == [f"{s}_train.txt" for s in train_stems]
    assert [t.source.rsplit("/", 1)[-1] for t in split.val] == [f"{s}_val.txt" for s in train_stems]
    # train + val of every kept file = its all_data rows
    assert sum(len(t) for t in split.train) + sum(len(t) for t in split.val) == sum(ALL_DATA[s][0] for s in train_stems)
    if scene in ("univ", "zara1", "zara2"):
        assert "crowds_zara03_train.txt" in [t.source.rsplit("/", 1)[-1] for t in split.train]


def test_unknown_scene(tmp_path):
    with pytest.raises(ConfigError, match="unknown ETH/UCY scene 'lab'"):
        load_ethucy(tmp_path, "lab")


@pytest.mark.shared_data
def test_windows_on_real_scene(shared_data):
    table = read_trajectory_file(shared_data / "trajectories" / "ethucy" / "all_data" / "biwi_eth.txt")
    windows = list(to_windows(table))
    assert len(windows) > 300
    first = windows[0]
    assert first.past.shape == (8, 2) and first.future.shape == (12, 2)
    assert first.neighbour_past.shape == (first.neighbour_ids.size, 8, 2)
    assert first.agent_id not in first.neighbour_ids
    # the window's positions are exactly the table rows at consecutive frames (step 10)
    rows = np.flatnonzero(table.agent_id == first.agent_id)
    frames = table.frame[rows]
    start = np.flatnonzero(frames == first.first_frame)[0]
    expected = np.stack([table.x[rows], table.y[rows]], axis=1)[start : start + 20]
    np.testing.assert_array_equal(np.concatenate([first.past, first.future]), expected)
    np.testing.assert_array_equal(np.diff(frames[start : start + 20]), np.full(19, 10))


def _table(rows):
    array = np.asarray(rows, dtype=float)
    return TrajectoryTable(array[:, 0].astype(np.int64), array[:, 1].astype(np.int64), array[:, 2], array[:, 3], source="mem")


def test_windows_synthetic_neighbours_and_gaps():
    rows = [(f, 1, f, 0.0) for f in range(0, 50, 10)]  # agent 1 at frames 0..40 (5 steps)
    rows += [(f, 2, f, 1.0) for f in (10, 30)]  # agent 2 present at 2 of the observed frames
    rows += [(f, 3, 0.0, f) for f in range(0, 40, 10)]  # agent 3 has only 4 steps: never a target
    windows = list(to_windows(_table(rows), obs_len=3, pred_len=2))
    assert [(w.agent_id, w.first_frame) for w in windows] == [(1, 0)]
    window = windows[0]
    np.testing.assert_array_equal(window.past[:, 0], [0, 10, 20])
    np.testing.assert_array_equal(window.future[:, 0], [30, 40])
    assert window.neighbour_ids.tolist() == [2, 3]
    assert np.isnan(window.neighbour_past[0, 0]).all() and window.neighbour_past[0, 1].tolist() == [10, 1]
    assert np.isnan(window.neighbour_past[0, 2]).all()
    np.testing.assert_array_equal(window.neighbour_past[1, :, 1], [0, 10, 20])
    # a gap in agent 1's frames removes every window that spans it
    gapped = [r for r in rows if not (r[1] == 1 and r[0] == 20)]
    assert list(to_windows(_table(gapped), obs_len=3, pred_len=2)) == []


def test_windows_off_grid_frame_and_bad_lengths():
    table = _table([(0, 1, 0, 0), (10, 1, 0, 0), (15, 1, 0, 0)])
    with pytest.raises(DataError, match=r"mem: frame 15 is not on the 10-frame grid"):
        list(to_windows(table, frame_step=10))
    with pytest.raises(ConfigError):
        list(to_windows(table, obs_len=0))


def test_read_trajectory_file_with_types(tmp_path):
    path = tmp_path / "scene.txt"
    path.write_text("0 1.0 0.5 0.5 pedestrian\n10 2.0 1.0 1.0 bicycle\n")
    table = read_trajectory_file(path)
    assert table.agent_id.tolist() == [1, 2] and table.agent_type.tolist() == ["pedestrian", "bicycle"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0\t1\t0.1\t0.2\n10\t1\t0.1\n", r"line 2: 3 columns, expected 4 like the first row"),
        ("0\t1\t0.1\n", r"line 1: 3 columns, expected 4 \(frame agent_id x y\) or 5"),
        ("0\t1\tabc\t0.2\n", r"line 1: column x is not a number: 'abc'"),
        ("0\t1\t0.1\t0.2\n10\t1\tnan\t0.2\n", r"line 2: column x is nan \(NaN/inf values are not allowed\)"),
        ("0\t1.5\t0.1\t0.2\n", r"line 1: agent_id must be whole numbers, found 1\.5"),
        ("0\t1\t0.1\t0.2\n0\t1\t0.3\t0.2\n", r"line 2: duplicate row, agent 1 appears twice in frame 0 \(first at line 1\)"),
        ("\n# nothing\n", r"no rows"),
    ],
)
def test_read_trajectory_file_bad(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=r"bad\.txt: " + message):
        read_trajectory_file(path)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("0 1 1.0 2.0\n10 1 1.5\n", 2, "columns"),
        ("0 1 1.0 2.0\n10 1 1.5 abc\n", 2, "not a number"),
        ("0 1 1.0 2.0\n0 2 3.0 4.0\n", 1, "single frame"),
        ("# header\n0 1 1.0 2.0\n10 1 1.5 2.0\n\n10 1 1.6 2.1\n", 5, r"duplicate row.*\(first at line 3\)"),
        ("0 1 1.0 2.0\n10 1 nan 2.0\n", 2, "NaN"),
        ("0 1 1.0 2.0\n10.5 1 1.0 2.0\n", 2, "frame must be whole numbers"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, text, line, message):
    """The issue's bad inputs (3 columns, non-numeric coordinates, one frame, duplicate (frame, agent) rows)."""
    path = tmp_path / "scene.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        read_trajectory_file(path)
    assert f"{path}: line {line}:" in str(info.value)


def test_frame_grid_infers_the_step_of_each_agents_track(tmp_path):
    path = tmp_path / "scene.txt"
    # 6 frames per step; agent 2 skips a step (a gap in its track), so the smallest gap of one agent is 6
    path.write_text("100 1 0 0\n106 1 1 0\n112 1 2 0\n100 2 0 1\n112 2 2 1\n")
    table = read_trajectory_file(path)
    index, step = frame_grid(table)
    assert step == 6 and index.tolist() == [0, 1, 2, 0, 2]
    assert frame_grid(table, frame_step=2)[0].tolist() == [0, 3, 6, 0, 6]
    # agent 1 sampled every 10 frames and agent 2 every 4: step 4, frame 10 is off the grid (file line 2)
    path.write_text("0 1 1.0 2.0\n10 1 1.0 2.0\n0 2 1.0 2.0\n4 2 1.0 2.0\n")
    with pytest.raises(DataError, match=r"scene\.txt: line 2: frame 10 is not on the 4-frame grid"):
        frame_grid(read_trajectory_file(path))
    with pytest.raises(ConfigError):
        frame_grid(table, frame_step=0)


def test_agents_of_type_picks_context_agents(tmp_path):
    path = tmp_path / "game.txt"
    path.write_text("0 1 0 0 PLAYER\n0 7 1 1 BALL\n10 1 1 0 PLAYER\n10 7 2 2 BALL\n")
    table = read_trajectory_file(path)
    assert table.agents_of_type(["BALL"]).tolist() == [7] and table.agents_of_type(["ball"]).tolist() == [7]  # ignoring case
    assert table.agents_of_type([]).tolist() == [] and table.agents_of_type(["CAR"]).tolist() == []
    assert table.line.tolist() == [1, 2, 3, 4]
    path.write_text("0 1 0 0\n10 1 1 0\n")  # no type column: no agent is a context agent
    assert read_trajectory_file(path).agents_of_type(["BALL"]).tolist() == []


def test_trajectory_folder(tmp_path):
    for split in ("train", "test"):
        (tmp_path / "d" / split).mkdir(parents=True)
        (tmp_path / "d" / split / "a.txt").write_text("0 1 0 0\n10 1 1 1\n")
    splits = load_trajectory_folder(tmp_path / "d")
    assert len(splits.train) == 1 and len(splits.test) == 1 and splits.val == []
    (tmp_path / "d" / "test" / "a.txt").unlink()
    with pytest.raises(DataError, match=r"test: no \.txt trajectory files"):
        load_trajectory_folder(tmp_path / "d")


@pytest.mark.shared_data
def test_ethucy_missing_file(shared_data, tmp_path):
    import shutil

    shutil.copytree(shared_data / "trajectories" / "ethucy", tmp_path / "ethucy", ignore=shutil.ignore_patterns("students*"))
    with pytest.raises(DataError, match=r"all_data: missing file\(s\) students001\.txt, students003\.txt"):
        load_ethucy(tmp_path / "ethucy", "univ")
    with pytest.raises(DataError, match=r"train: missing file\(s\) students001_train\.txt"):
        load_ethucy(tmp_path / "ethucy", "eth")
