"""Pedestrian / agent trajectories: ETH/UCY text files, trajectory folders, and fixed-length windows.

On-disk formats read here:

* **Trajectory text file** (ETH/UCY as exported by Social-GAN / Trajectron++, and the generic user format):
  one row per (frame, agent), whitespace- or tab-separated ``frame agent_id x y [type]``. ``frame`` and
  ``agent_id`` must be whole numbers (``1.0`` is accepted, as the ETH/UCY files write ids that way); ``x``
  and ``y`` are finite positions (metres in ETH/UCY); the optional fifth column is an agent type string
  (e.g. ``pedestrian``, or ``BALL`` for an agent that is context only). All rows of a file have the same
  number of columns, an (agent, frame) pair occurs at most once, and a file spans at least two frames.
  Frames lie on a regular grid (:func:`frame_grid`); ETH/UCY frames step by 10 (= 0.4 s, 2.5 Hz).
* **ETH/UCY folder** (``trajectories/ethucy/``): ``all_data/<stem>.txt``, ``train/<stem>_train.txt``,
  ``val/<stem>_val.txt`` for the stems ``biwi_eth, biwi_hotel, crowds_zara01, crowds_zara02, crowds_zara03,
  students001, students003, uni_examples``.
* **Generic trajectory folder**: ``DIR/train/*.txt`` and ``DIR/test/*.txt`` (and optionally ``DIR/val/*.txt``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks

__all__ = [
    "TrajectoryTable",
    "TrajectorySplits",
    "TrajectoryWindow",
    "read_trajectory_file",
    "load_ethucy",
    "load_trajectory_folder",
    "to_windows",
    "frame_grid",
    "ETHUCY_SCENES",
    "ETHUCY_STEMS",
]

ETHUCY_STEMS = (
    "biwi_eth",
    "biwi_hotel",
    "crowds_zara01",
    "crowds_zara02",
    "crowds_zara03",
    "students001",
    "students003",
    "uni_examples",
)
#: Leave-one-scene-out: the ``all_data`` files that form each test scene (Trajectron++ layout).
ETHUCY_SCENES = {
    "eth": ("biwi_eth",),
    "hotel": ("biwi_hotel",),
    "univ": ("students001", "students003"),
    "zara1": ("crowds_zara01",),
    "zara2": ("crowds_zara02",),
}


@dataclass
class TrajectoryTable:
    """The rows of one trajectory file.

    Attributes:
        frame: int64 ``[n]`` frame number of each row.
        agent_id: int64 ``[n]`` agent id.
        x: float64 ``[n]`` position.
        y: float64 ``[n]`` position.
        agent_type: str ``[n]`` agent type, or ``None`` when the file has 4 columns.
        source: The file the rows came from.
        line: int64 ``[n]`` the 1-based file line of each row (``None`` for tables built in memory), so
            later checks can name the offending line.
    """

    frame: np.ndarray
    agent_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    agent_type: np.ndarray | None = None
    source: str = ""
    line: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def num_agents(self) -> int:
        """Number of distinct agents."""
        return int(np.unique(self.agent_id).size)

    @property
    def num_frames(self) -> int:
        """Number of distinct frames."""
        return int(np.unique(self.frame).size)

    def where(self, row: int) -> str:
        """``"file: line N"`` (or ``"file: data row N"`` for an in-memory table) for error messages."""
        if self.line is not None:
            return f"{self.source}: line {int(self.line[row])}"
        return f"{self.source}: data row {row + 1}"

    def agents_of_type(self, types: Iterable[str]) -> np.ndarray:
        """Sorted ids of the agents whose type (5th column) is one of ``types``, ignoring case; none for a
        4-column file.

        Used for context agents (a ball, a car) that may be neighbours but are never prediction targets. Case is
        ignored because a type column holds labels: ``ball`` and ``BALL`` in one data set are a typo, not two kinds.
        """
        wanted = [str(t).lower() for t in types]
        if self.agent_type is None or not wanted:
            return np.zeros(0, dtype=np.int64)
        return np.unique(self.agent_id[np.isin(np.char.lower(self.agent_type.astype(str)), wanted)])


@dataclass
class TrajectorySplits:
    """Train / val / test lists of trajectory tables (one table per file).

    Attributes:
        train: Tables used for training.
        val: Tables used for validation (may be empty).
        test: Tables used for testing.
        name: Split name (``"ethucy-eth"``).
    """

    train: list[TrajectoryTable] = field(default_factory=list)
    val: list[TrajectoryTable] = field(default_factory=list)
    test: list[TrajectoryTable] = field(default_factory=list)
    name: str = "trajectories"


@dataclass
class TrajectoryWindow:
    """One prediction problem: a target agent's past and future, and its neighbours' pasts.

    Attributes:
        agent_id: The target agent.
        first_frame: Frame of ``past[0]``.
        past: float64 ``[obs_len, 2]`` observed positions.
        future: float64 ``[pred_len, 2]`` positions to predict.
        neighbour_ids: int64 ``[K]`` other agents seen during the observed frames (sorted).
        neighbour_past: float64 ``[K, obs_len, 2]``; NaN where a neighbour is absent at that frame.
        source: The file of the table.
    """

    agent_id: int
    first_frame: int
    past: np.ndarray
    future: np.ndarray
    neighbour_ids: np.ndarray
    neighbour_past: np.ndarray
    source: str = ""


def read_trajectory_file(path: str | Path) -> TrajectoryTable:
    """Read one ``frame agent_id x y [type]`` file.

    Args:
        path: The text file (``.gz`` accepted).

    Returns:
        :class:`TrajectoryTable` with the rows in file order.

    Raises:
        DataError: Naming the file and line: on a missing file, a row without 4 or 5 columns (or a column
            count that differs from the first row), a non-integral frame or agent id, a non-numeric / NaN /
            inf value, a repeated (agent, frame) pair (both lines named), no rows at all, or a file whose
            rows all share one frame (no trajectory can be cut from it).
    """
    path = _checks.require_file(path, "a trajectory file with rows 'frame agent_id x y [type]'")
    width = None
    numbers: list[tuple[float, ...]] = []
    line_numbers: list[int] = []
    types: list[str] = []
    for line_no, line in _checks.iter_data_lines(_checks.read_text_lines(path)):
        cells = line.split()
        if width is None:
            if len(cells) not in (4, 5):
                raise DataError(f"{path}: line {line_no}: {len(cells)} columns, expected 4 (frame agent_id x y) or 5 (+ type)")
            width = len(cells)
        elif len(cells) != width:
            raise DataError(f"{path}: line {line_no}: {len(cells)} columns, expected {width} like the first row")
        numbers.append(_row_numbers(cells, path, line_no))
        line_numbers.append(line_no)
        if width == 5:
            types.append(cells[4])
    if not numbers:
        raise DataError(f"{path}: no rows (expected 'frame agent_id x y [type]' lines)")
    table = np.asarray(numbers, dtype=np.float64)
    finite = np.isfinite(table)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        name = ("frame", "agent_id", "x", "y")[column]
        raise DataError(f"{path}: line {line_numbers[row]}: column {name} is {table[row, column]} (NaN/inf values are not allowed)")
    lines = np.asarray(line_numbers, dtype=np.int64)
    frame, agent = _whole(table[:, 0], path, lines, "frame"), _whole(table[:, 1], path, lines, "agent_id")
    _check_unique_pairs(frame, agent, path, lines)
    if np.unique(frame).size < 2:
        raise DataError(f"{path}: line {lines[0]}: every row is in the single frame {frame[0]}; a trajectory file needs at least two frames")
    agent_type = np.asarray(types, dtype=str) if width == 5 else None
    return TrajectoryTable(frame, agent, table[:, 2].copy(), table[:, 3].copy(), agent_type, str(path), lines)


def _row_numbers(cells: list[str], path: Path, line_no: int) -> tuple[float, ...]:
    try:
        return (float(cells[0]), float(cells[1]), float(cells[2]), float(cells[3]))
    except ValueError:
        names = ("frame", "agent_id", "x", "y")
        return tuple(_checks.parse_float(cells[j], path, line_no, names[j], allow_nonfinite=True) for j in range(4))


def _whole(values: np.ndarray, path: Path, lines: np.ndarray, what: str) -> np.ndarray:
    bad = np.nonzero(values != np.round(values))[0]
    if bad.size:
        raise DataError(f"{path}: line {lines[bad[0]]}: {what} must be whole numbers, found {values[bad[0]]}")
    return values.astype(np.int64)


def _check_unique_pairs(frame: np.ndarray, agent: np.ndarray, path: Path, lines: np.ndarray) -> None:
    # sorted by (agent, frame, line): a repeat sits right after its first occurrence
    order = np.lexsort((lines, frame, agent))
    repeat = (np.diff(agent[order]) == 0) & (np.diff(frame[order]) == 0)
    if repeat.any():
        k = int(np.flatnonzero(repeat)[0])
        first, second = order[k], order[k + 1]
        raise DataError(
            f"{path}: line {lines[second]}: duplicate row, agent {agent[first]} appears twice in frame {frame[first]} "
            f"(first at line {lines[first]})"
        )


# ----------------------------------------------------------------------------------------------- ETH/UCY
def load_ethucy(data_dir: str | Path, test_scene: str) -> TrajectorySplits:
    """Leave-one-scene-out ETH/UCY split, as laid out in the Trajectron++ repository.

    test = the scene's ``all_data`` file(s) (``univ`` = students001 + students003); train / val = every
    ``train/*_train.txt`` / ``val/*_val.txt`` file except the scene's own (``univ`` keeps uni_examples and
    crowds_zara03; ``zara1``/``zara2`` keep crowds_zara03).

    Args:
        data_dir: The ``ethucy`` folder.
        test_scene: ``"eth"``, ``"hotel"``, ``"univ"``, ``"zara1"`` or ``"zara2"``.

    Returns:
        :class:`TrajectorySplits` with one table per file.

    Raises:
        ConfigError: On an unknown scene.
        DataError: On a missing or malformed file.
    """
    if test_scene not in ETHUCY_SCENES:
        raise ConfigError(f"unknown ETH/UCY scene {test_scene!r} (expected one of {', '.join(ETHUCY_SCENES)})")
    root = _checks.require_dir(data_dir, ["all_data/", "train/", "val/"])
    held_out = ETHUCY_SCENES[test_scene]
    kept = [stem for stem in ETHUCY_STEMS if stem not in held_out]
    test_files = _checks.require_files(root / "all_data", [f"{stem}.txt" for stem in held_out])
    train_files = _checks.require_files(root / "train", [f"{stem}_train.txt" for stem in kept])
    val_files = _checks.require_files(root / "val", [f"{stem}_val.txt" for stem in kept])
    return TrajectorySplits(
        train=[read_trajectory_file(p) for p in train_files.values()],
        val=[read_trajectory_file(p) for p in val_files.values()],
        test=[read_trajectory_file(p) for p in test_files.values()],
        name=f"ethucy-{test_scene}",
    )


def load_trajectory_folder(data_dir: str | Path) -> TrajectorySplits:
    """Read the generic folder layout ``DIR/train/*.txt``, ``DIR/test/*.txt`` (and optional ``DIR/val/*.txt``).

    Args:
        data_dir: The folder.

    Returns:
        :class:`TrajectorySplits` (files in name order).

    Raises:
        DataError: If ``train/`` or ``test/`` is missing or holds no ``.txt`` file, or a file is malformed.
    """
    root = _checks.require_dir(data_dir, ["train/*.txt", "test/*.txt", "val/*.txt (optional)"])
    splits = {}
    for split in ("train", "val", "test"):
        folder = root / split
        files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
        if not files and split != "val":
            raise DataError(f"{folder}: no .txt trajectory files (expected {split}/*.txt with rows 'frame agent_id x y')")
        splits[split] = [read_trajectory_file(p) for p in files]
    return TrajectorySplits(**splits, name=root.name)


# ------------------------------------------------------------------------------------------------ windows
def to_windows(
    table: TrajectoryTable, obs_len: int = 8, pred_len: int = 12, frame_step: int | None = None
) -> Iterator[TrajectoryWindow]:
    """Cut a table into per-agent prediction windows (sliding by one frame step).

    A window exists for agent ``a`` at every start frame ``t`` where ``a`` has a position at each of the
    ``obs_len + pred_len`` frames ``t, t + step, ...``. Its neighbours are the other agents with at least
    one position among the ``obs_len`` observed frames; their pasts hold NaN at observed frames where they
    are absent.

    Args:
        table: One scene's rows.
        obs_len: Observed steps (8 = 3.2 s for ETH/UCY).
        pred_len: Predicted steps (12 = 4.8 s).
        frame_step: Frame increment of one step; ``None`` = inferred by :func:`frame_grid` (10 for ETH/UCY).

    Yields:
        :class:`TrajectoryWindow` objects, ordered by agent id then start frame.

    Raises:
        ConfigError: If ``obs_len``/``pred_len``/``frame_step`` are not positive.
        DataError: If some frame is not on the ``frame_step`` grid.
    """
    if obs_len < 1 or pred_len < 1 or (frame_step is not None and frame_step < 1):
        raise ConfigError(f"obs_len, pred_len and frame_step must be positive, got {obs_len}, {pred_len}, {frame_step}")
    if len(table) == 0:
        return
    time_index, _ = frame_grid(table, frame_step)
    positions = np.stack([table.x, table.y], axis=1)
    by_time = np.argsort(time_index, kind="stable")
    sorted_times = time_index[by_time]
    length = obs_len + pred_len
    by_agent = np.lexsort((time_index, table.agent_id))
    agent_starts = np.flatnonzero(np.r_[True, np.diff(table.agent_id[by_agent]) != 0])
    for rows in np.split(by_agent, agent_starts[1:]):
        times = time_index[rows]
        if times.size < length:
            continue
        for i in np.flatnonzero(times[length - 1 :] - times[: times.size - length + 1] == length - 1):
            agent = int(table.agent_id[rows[0]])
            t0 = int(times[i])
            ids, past = _neighbour_pasts(table, positions, by_time, sorted_times, t0, obs_len, agent)
            yield TrajectoryWindow(
                agent_id=agent,
                first_frame=int(table.frame[rows[i]]),
                past=positions[rows[i : i + obs_len]].copy(),
                future=positions[rows[i + obs_len : i + length]].copy(),
                neighbour_ids=ids,
                neighbour_past=past,
                source=table.source,
            )


def frame_grid(table: TrajectoryTable, frame_step: int | None = None) -> tuple[np.ndarray, int]:
    """Time step index of every row: ``(frame - first frame) / frame_step``.

    Args:
        table: The rows.
        frame_step: Frame increment of one time step; ``None`` = the smallest gap between two consecutive
            rows of one agent (an agent's track is sampled at the recording's rate), or the smallest gap
            between distinct frames when no agent has two rows. Any step works (ETH/UCY: 10).

    Returns:
        ``(time_index int64 [n], frame_step)``.

    Raises:
        ConfigError: If ``frame_step`` is not positive.
        DataError: If a frame is off the grid (e.g. one agent sampled every 10 frames and another every 4),
            naming the file and line of the first such row.
    """
    if frame_step is not None and frame_step < 1:
        raise ConfigError(f"frame_step must be positive, got {frame_step}")
    if len(table) == 0:
        return np.zeros(0, dtype=np.int64), frame_step or 1
    step = frame_step or _infer_step(table)
    offset = table.frame - table.frame.min()
    off_grid = np.flatnonzero(offset % step)
    if off_grid.size:
        row = int(off_grid[0])
        raise DataError(f"{table.where(row) if table.line is not None else table.source}: frame {int(table.frame[row])} is not on the {step}-frame grid (first frame {int(table.frame.min())})")
    return offset // step, int(step)


def _infer_step(table: TrajectoryTable) -> int:
    order = np.lexsort((table.frame, table.agent_id))
    gaps = np.diff(table.frame[order])[np.diff(table.agent_id[order]) == 0]
    gaps = gaps[gaps > 0]
    if not gaps.size:
        gaps = np.diff(np.unique(table.frame))
    return int(gaps.min()) if gaps.size else 1


def _neighbour_pasts(
    table: TrajectoryTable,
    positions: np.ndarray,
    by_time: np.ndarray,
    sorted_times: np.ndarray,
    t0: int,
    obs_len: int,
    agent: int,
) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.searchsorted(sorted_times, [t0, t0 + obs_len])
    others = table.agent_id[by_time[lo:hi]] != agent
    rows, times = by_time[lo:hi][others], sorted_times[lo:hi][others]
    ids, slot = np.unique(table.agent_id[rows], return_inverse=True)
    past = np.full((ids.size, obs_len, 2), np.nan)
    past[slot.reshape(-1), times - t0] = positions[rows]
    return ids.astype(np.int64), past
