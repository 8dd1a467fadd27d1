"""Trajectory tables → samples: samples are cut the paper's way; file errors surface with file and line.

The file reader itself is :mod:`iclr22.data.trajectories` (tested in tests/data/test_trajectories.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.core.errors import DataError
from iclr22.data.trajectories import load_ethucy, read_trajectory_file
from iclr22.trajshap.scenes import build_samples
from iclr22.trajshap.synthetic import simulate_scenes, write_scene


def _write(tmp_path, text: str, name: str = "scene.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_samples_are_relative_windows_with_neighbours_in_the_radius(tmp_path):
    rows = []
    for f in range(25):  # agent 1 walks along x, agent 2 walks 1 m beside it, agent 3 is 10 m away, 4 is a ball
        rows += [f"{f * 10} 1 {0.5 * f} 0.0 PED", f"{f * 10} 2 {0.5 * f} 1.0 PED", f"{f * 10} 3 {0.5 * f} 10.0 PED", f"{f * 10} 4 {0.5 * f} -1.0 BALL"]
    table = read_trajectory_file(_write(tmp_path, "\n".join(rows) + "\n"))
    batch = build_samples([table], obs_len=8, pred_len=12, radius=3.0, context_types=["BALL"])
    assert len(batch) == 3 * 6  # agents 1-3 are targets at 6 current frames each; the ball never is
    first = batch.index([0])
    np.testing.assert_allclose(first.past[0, -1], [0.0, 0.0])
    np.testing.assert_allclose(first.past[0, 0], [-3.5, 0.0])
    np.testing.assert_allclose(first.future[0, -1], [6.0, 0.0])
    assert int(first.num_neighbours[0]) == 2  # agent 2 (1 m) and the ball (1 m); agent 3 is 10 m away
    np.testing.assert_allclose(sorted(first.neighbours[0, :, -1, 1].tolist()), [-1.0, 1.0])
    assert len(build_samples([table], obs_len=8, pred_len=12)) == 4 * 6  # without context types the ball is a target too


def test_late_neighbours_are_padded_with_their_first_position(tmp_path):
    rows = [f"{f} 1 {float(f)} 0.0" for f in range(20)] + [f"{f} 2 {float(f)} 1.0" for f in range(4, 8)]
    batch = build_samples([read_trajectory_file(_write(tmp_path, "\n".join(rows), "b.txt"))], obs_len=8, pred_len=12)
    track = batch.neighbours[0, 0]
    np.testing.assert_allclose(track[:5, 0], [-3.0] * 5)  # frames 0-4 take the first seen position (frame 4)
    np.testing.assert_allclose(track[-1], [0.0, 1.0])


def test_simulated_scenes_round_trip_through_the_file_format(tmp_path):
    scene = simulate_scenes(1, "social", seed=0, num_frames=30)[0]
    back = read_trajectory_file(write_scene(scene, tmp_path / "sim.txt"))
    xy = lambda t: np.stack([t.x, t.y], 1)[np.lexsort((t.agent_id, t.frame))]  # noqa: E731
    np.testing.assert_allclose(xy(back), xy(scene), atol=1e-3)
    np.testing.assert_array_equal(np.unique(back.frame), np.arange(30) * 10)  # the ETH/UCY frame step
    again = simulate_scenes(1, "social", seed=0, num_frames=30)[0]
    np.testing.assert_array_equal(xy(again), xy(scene))  # seeded
    # the samples of the written file are those of the simulated scene
    assert torch.allclose(build_samples([back]).past, build_samples([scene]).past, atol=2e-3)


def test_social_regime_followers_repeat_their_leader():
    """Followers copy their leader's velocity ``lag`` steps later: the interaction the attribution must find."""
    scene = simulate_scenes(1, "social", seed=0, num_frames=30, groups=1, followers=1, loners=0, lag=5)[0]
    pos = {a: np.stack([scene.x, scene.y], 1)[scene.agent_id == a] for a in (0, 1)}
    leader, follower = np.diff(pos[0], axis=0), np.diff(pos[1], axis=0)
    np.testing.assert_allclose(follower[5:], leader[:-5], atol=0.1)  # up to noise and collision avoidance
    alone = simulate_scenes(1, "alone", seed=0, num_frames=30, groups=1, followers=1, loners=0)[0]
    steps = [np.diff(np.stack([alone.x, alone.y], 1)[alone.agent_id == a], axis=0) for a in (0, 1)]
    assert np.abs(steps[1][5:] - steps[0][:-5]).mean() > 0.1  # in the alone regime nobody follows


def test_bad_scene_files_stop_sample_building_with_file_and_line(tmp_path):
    # one agent sampled every 10 frames, another every 4: the frame grid (step 4) does not hold frame 10
    path = _write(tmp_path, "0 1 1.0 2.0\n10 1 1.0 2.0\n0 2 1.0 2.0\n4 2 1.0 2.0\n")
    with pytest.raises(DataError, match="grid") as info:
        build_samples([read_trajectory_file(path)])
    assert f"{path}: line 2:" in str(info.value)


def test_too_short_tracks_are_a_data_error(tmp_path):
    path = _write(tmp_path, "".join(f"{f} 1 {f}.0 0.0\n" for f in range(5)))
    with pytest.raises(DataError, match="consecutive frames"):
        build_samples([read_trajectory_file(path)])


def test_ethucy_leave_one_scene_out(shared_data):
    test = build_samples(load_ethucy(shared_data / "trajectories" / "ethucy", "eth").test)
    assert len(test) == 364 and torch.all(test.past[:, -1] == 0)
    assert test.scene_names[0].endswith("all_data/biwi_eth.txt")


def test_samples_keep_file_frames_agent_ids_and_neighbour_ids(tmp_path):
    rows = []
    for f in range(22):  # agents 7 and 8 walk 1 m apart, 5 (a ball) 1 m on the other side, frames step by 10 from 100
        rows += [f"{100 + f * 10} 7 {0.5 * f} 0.0 PED", f"{100 + f * 10} 8 {0.5 * f} 1.0 PED", f"{100 + f * 10} 5 {0.5 * f} -1.5 Ball"]
    table = read_trajectory_file(_write(tmp_path, "\n".join(rows) + "\n"))
    batch = build_samples([table], obs_len=8, pred_len=12, radius=3.0, context_types=["BALL"])  # matched ignoring case
    assert sorted(set(batch.agent.tolist())) == [7, 8]  # the ball is never a target
    assert batch.frame.tolist()[:2] == [170, 170] and batch.frame.max() == 190  # the file's frame numbers
    first = int(np.flatnonzero(batch.agent.numpy() == 7)[0])
    assert batch.neighbour_ids[first].tolist() == [8, 5]  # nearest first, ids of the file
    assert batch.index([first]).neighbour_ids.tolist() == [[8, 5]]
    assert batch.without_neighbours().neighbour_ids.shape == (len(batch), 0)
    with pytest.raises(DataError, match="their types: Ball, PED"):
        build_samples([table], context_types=["ballz"])


def test_neighbourhood_warning_gives_mean_radius_and_radii_to_try(tmp_path):
    from iclr22.trajshap.scenes import neighbourhood_warning

    rows = [f"{f} {a} {0.1 * f} {4.0 * a} " for f in range(20) for a in range(3)]  # agents 4 units apart
    table = read_trajectory_file(_write(tmp_path, "\n".join(rows) + "\n"))
    batch = build_samples([table], radius=3.0)
    text = neighbourhood_warning(batch, 3.0, [table])
    assert "0.00 neighbours per sample on average within radius=3" in text and "needs radius 4" in text
    assert neighbourhood_warning(build_samples([table], radius=5.0), 5.0, [table]) is None  # 1.33 neighbours
