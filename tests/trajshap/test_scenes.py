"""Trajectory files → samples: parsing errors name file and line; samples are cut the paper's way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclr22.core.errors import DataError
from iclr22.trajshap.scenes import build_samples, ethucy_split_files, read_tracks
from iclr22.trajshap.simulate import simulate_scenes, write_scene


def _write(tmp_path, text: str, name: str = "scene.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("0 1 1.0 2.0\n10 1 1.5\n", 2, "columns"),
        ("0 1 1.0 2.0\n10 1 1.5 abc\n", 2, "not a number"),
        ("0 1 1.0 2.0\n0 2 3.0 4.0\n", 1, "single frame"),
        ("0 1 1.0 2.0\n10 1 1.5 2.0\n10 1 1.6 2.1\n", 3, "duplicate"),
        ("0 1 1.0 2.0\n10 1 nan 2.0\n", 2, "NaN"),
        ("0 1 1.0 2.0\n10 1 1.0 2.0\n0 2 1.0 2.0\n4 2 1.0 2.0\n", 2, "grid"),
    ],
)
def test_bad_files_raise_data_error_naming_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        read_tracks(path)
    assert f"{path}: line {line}:" in str(info.value)


def test_samples_are_relative_windows_with_neighbours_in_the_radius(tmp_path):
    rows = []
    for f in range(25):  # agent 1 walks along x, agent 2 walks 1 m beside it, agent 3 is 10 m away, 4 is a ball
        rows += [f"{f * 10} 1 {0.5 * f} 0.0 PED", f"{f * 10} 2 {0.5 * f} 1.0 PED", f"{f * 10} 3 {0.5 * f} 10.0 PED", f"{f * 10} 4 {0.5 * f} -1.0 BALL"]
    tracks = read_tracks(_write(tmp_path, "\n".join(rows) + "\n"), context_types=["BALL"])
    assert tracks.frame_step == 10 and tracks.context_agents == {4}
    batch = build_samples([tracks], obs_len=8, pred_len=12, radius=3.0)
    assert len(batch) == 3 * 6  # agents 1-3 are targets at 6 current frames each; the ball never is
    first = batch.index([0])
    np.testing.assert_allclose(first.past[0, -1], [0.0, 0.0])
    np.testing.assert_allclose(first.past[0, 0], [-3.5, 0.0])
    np.testing.assert_allclose(first.future[0, -1], [6.0, 0.0])
    assert int(first.num_neighbours[0]) == 2  # agent 2 (1 m) and the ball (1 m); agent 3 is 10 m away
    np.testing.assert_allclose(sorted(first.neighbours[0, :, -1, 1].tolist()), [-1.0, 1.0])


def test_late_neighbours_are_padded_with_their_first_position(tmp_path):
    rows = [f"{f} 1 {float(f)} 0.0" for f in range(20)] + [f"{f} 2 {float(f)} 1.0" for f in range(4, 8)]
    batch = build_samples([read_tracks(_write(tmp_path, "\n".join(rows), "b.txt"))], obs_len=8, pred_len=12)
    track = batch.neighbours[0, 0]
    np.testing.assert_allclose(track[:5, 0], [-3.0] * 5)  # frames 0-4 take the first seen position (frame 4)
    np.testing.assert_allclose(track[-1], [0.0, 1.0])


def test_simulated_scenes_round_trip_through_the_file_format(tmp_path):
    scene = simulate_scenes(1, "social", seed=0, num_frames=30)[0]
    back = read_tracks(write_scene(scene, tmp_path / "sim.txt"))
    np.testing.assert_allclose(back.xy[np.lexsort((back.agent, back.frame))], scene.xy[np.lexsort((scene.agent, scene.frame))], atol=1e-3)
    again = simulate_scenes(1, "social", seed=0, num_frames=30)[0]
    np.testing.assert_array_equal(again.xy, scene.xy)  # seeded


def test_too_short_tracks_are_a_data_error(tmp_path):
    path = _write(tmp_path, "".join(f"{f} 1 {f}.0 0.0\n" for f in range(5)))
    with pytest.raises(DataError, match="consecutive frames"):
        build_samples([read_tracks(path)])


def test_ethucy_leave_one_scene_out(shared_data):
    root = shared_data / "trajectories" / "ethucy"
    files = ethucy_split_files(root, "univ")
    assert [p.name for p in files["test"]] == ["students001.txt", "students003.txt"]
    assert not any("students" in p.name for p in files["train"] + files["val"])
    assert any("uni_examples" in p.name for p in files["train"])
    test = build_samples([read_tracks(p) for p in ethucy_split_files(root, "eth")["test"]])
    assert len(test) > 300 and torch.all(test.past[:, -1] == 0)
    with pytest.raises(DataError, match="unknown ETH/UCY test scene"):
        ethucy_split_files(root, "paris")
