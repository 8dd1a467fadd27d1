"""Trajectory files → prediction samples (target past, neighbours' pasts, target future).

A *scene* is one recording: rows ``frame agent_id x y [type]``. A *sample* is one target agent at one
current frame ``t``: its ``obs_len`` observed positions ending at ``t``, its ``pred_len`` future positions,
and the observed positions of every other agent present at ``t`` within ``radius`` of it (its
neighbours). This is how Trajectron++ builds its scene graphs for pedestrians (edges at the current
time step, attention radius 3 m) and how Makansi et al. define the players of their attribution.

Everything is expressed relative to the target's current position, so a model is translation-invariant
and "zeroing" the target's past (the paper's ``zero`` removal) means "it stood still at its current
position", as zeroing Trajectron++'s standardised state does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import DataError

__all__ = [
    "Tracks",
    "SceneBatch",
    "read_tracks",
    "read_track_folder",
    "build_samples",
    "ETHUCY_SCENES",
    "ethucy_split_files",
]

#: Leave-one-scene-out composition of ETH/UCY (the Trajectron++ / Social-GAN protocol): the test files of each split.
ETHUCY_SCENES: dict[str, tuple[str, ...]] = {
    "eth": ("biwi_eth",),
    "hotel": ("biwi_hotel",),
    "univ": ("students001", "students003"),
    "zara1": ("crowds_zara01",),
    "zara2": ("crowds_zara02",),
}


@dataclass
class Tracks:
    """The rows of one scene file, on a regular frame grid.

    Attributes:
        name: The file (or simulated scene) it came from, for messages.
        frame: ``(R,)`` frame index of each row, already divided by the frame step (0, 1, 2, ...).
        agent: ``(R,)`` agent id of each row (ids as in the file).
        xy: ``(R, 2)`` positions.
        context_agents: Agents that may be neighbours but never prediction targets (e.g. a ball).
        frame_step: The step between consecutive frames in the file's units.
    """

    name: str
    frame: np.ndarray
    agent: np.ndarray
    xy: np.ndarray
    context_agents: frozenset[int] = frozenset()
    frame_step: float = 1.0


def _fail(path: Path | str, line_no: int, message: str) -> DataError:
    return DataError(f"{path}: line {line_no}: {message}")


def read_tracks(path: str | Path, context_types: Iterable[str] = ()) -> Tracks:
    """Read one whitespace-separated ``frame agent_id x y [type]`` file.

    Any frame step and any units are accepted; the frame step is the smallest gap between two
    consecutive frames of one agent, and every frame must lie on that grid.

    Args:
        path: The text file.
        context_types: Agent types (5th column) that are neighbours only, never targets.

    Raises:
        DataError: naming the file and line, for fewer than 4 columns, non-numeric or non-finite
            values, duplicate ``(frame, agent)`` rows, frames off the grid, or a file with a single frame.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: trajectory file not found (expected rows 'frame agent_id x y [type]')")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 text (byte offset {exc.start})") from None
    context = {str(t) for t in context_types}
    frames: list[float] = []
    agents: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    line_of_row: list[int] = []
    context_agents: set[int] = set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        cells = line.split()
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) < 4:
            raise _fail(path, line_no, f"expected 4 or 5 columns 'frame agent_id x y [type]', got {len(cells)}: {line.strip()[:60]!r}")
        values = []
        for cell, column in zip(cells[:4], ("frame", "agent_id", "x", "y")):
            try:
                value = float(cell)
            except ValueError:
                raise _fail(path, line_no, f"column {column} is not a number: {cell[:40]!r}") from None
            if not np.isfinite(value):
                raise _fail(path, line_no, f"column {column} is {cell!r} (NaN/inf are not allowed)")
            values.append(value)
        if not float(values[1]).is_integer():
            raise _fail(path, line_no, f"agent_id must be an integer, got {cells[1]!r}")
        frames.append(values[0])
        agents.append(int(values[1]))
        xs.append(values[2])
        ys.append(values[3])
        line_of_row.append(line_no)
        if len(cells) >= 5 and cells[4] in context:
            context_agents.add(int(values[1]))
    if not frames:
        raise DataError(f"{path}: no trajectory rows (expected rows 'frame agent_id x y [type]')")
    frame = np.asarray(frames, dtype=np.float64)
    agent = np.asarray(agents, dtype=np.int64)
    lines = np.asarray(line_of_row)

    order = np.lexsort((frame, agent))
    same = (agent[order][1:] == agent[order][:-1]) & (frame[order][1:] == frame[order][:-1])
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = lines[order][k], lines[order][k + 1]
        raise _fail(path, int(second), f"duplicate row for frame {frame[order][k]:g}, agent {agent[order][k]} (first at line {first})")
    unique_frames = np.unique(frame)
    if unique_frames.size < 2:
        raise _fail(path, int(lines[0]), f"the scene has a single frame ({unique_frames[0]:g}); trajectories need consecutive frames")
    gaps = np.diff(frame[order])[~np.diff(agent[order]).astype(bool)]
    gaps = gaps[gaps > 0]
    step = float(gaps.min()) if gaps.size else float(np.diff(unique_frames).min())
    grid = (frame - unique_frames[0]) / step
    off = np.abs(grid - np.round(grid)) > 1e-6
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise _fail(path, int(lines[k]), f"frame {frame[k]:g} is not on the file's frame grid (start {unique_frames[0]:g}, step {step:g})")
    return Tracks(
        name=str(path),
        frame=np.round(grid).astype(np.int64),
        agent=agent,
        xy=np.stack([xs, ys], axis=1).astype(np.float64),
        context_agents=frozenset(context_agents),
        frame_step=step,
    )


def read_track_folder(folder: str | Path, context_types: Iterable[str] = (), pattern: str = "*.txt") -> list[Tracks]:
    """Every ``*.txt`` file of a folder, sorted by name.

    Raises:
        DataError: the folder is missing or holds no matching file.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (expected {pattern} trajectory files 'frame agent_id x y [type]')")
    files = sorted(folder.glob(pattern))
    if not files:
        raise DataError(f"{folder}: no {pattern} trajectory files")
    return [read_tracks(f, context_types) for f in files]


def ethucy_split_files(root: str | Path, test_scene: str) -> dict[str, list[Path]]:
    """The files of one ETH/UCY leave-one-scene-out split, laid out as ``all_data/ train/ val/``.

    Test = the scene's ``all_data`` file(s); train / val = every other file's ``*_train`` / ``*_val``.

    Raises:
        DataError: an unknown scene or a missing file.
    """
    root = Path(root)
    if test_scene not in ETHUCY_SCENES:
        raise DataError(f"unknown ETH/UCY test scene {test_scene!r}; known: {', '.join(ETHUCY_SCENES)}")
    for sub in ("all_data", "train", "val"):
        if not (root / sub).is_dir():
            raise DataError(f"{root}: missing folder '{sub}/' (expected the ETH/UCY layout all_data/ train/ val/)")
    held_out = ETHUCY_SCENES[test_scene]
    test = [root / "all_data" / f"{name}.txt" for name in held_out]
    train = [p for p in sorted((root / "train").glob("*_train.txt")) if p.name[: -len("_train.txt")] not in held_out]
    val = [p for p in sorted((root / "val").glob("*_val.txt")) if p.name[: -len("_val.txt")] not in held_out]
    for path in test:
        if not path.is_file():
            raise DataError(f"{path}: test file of scene {test_scene!r} not found")
    if not train:
        raise DataError(f"{root / 'train'}: no *_train.txt files for the scenes other than {test_scene!r}")
    return {"train": train, "val": val, "test": test}


@dataclass
class SceneBatch:
    """A batch of prediction samples, all coordinates relative to each target's current position.

    Attributes:
        past: ``(B, T_obs, 2)`` the target's observed positions; the last one is ``(0, 0)``.
        neighbours: ``(B, N, T_obs, 2)`` neighbours' observed positions (padded with zeros).
        neighbour_mask: ``(B, N)`` 1 for a real neighbour (an edge in the interaction graph), 0 for padding.
        future: ``(B, T_pred, 2)`` ground-truth future, or ``None`` at inference.
        origin: ``(B, 2)`` the target's absolute current position (for drawing; models never see it).
        scene: ``(B,)`` index of the scene each sample comes from.
        frame: ``(B,)`` current frame of each sample.
        context: Anything else the predictor takes (a map crop, ...), passed through unchanged and
            never a player, as in the official code (the map of nuScenes is not a player).
    """

    past: torch.Tensor
    neighbours: torch.Tensor
    neighbour_mask: torch.Tensor
    future: torch.Tensor | None = None
    origin: torch.Tensor | None = None
    scene: torch.Tensor | None = None
    frame: torch.Tensor | None = None
    context: Any = None
    scene_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.past.shape[0])

    @property
    def num_neighbours(self) -> torch.Tensor:
        """``(B,)`` real neighbours of each sample."""
        return self.neighbour_mask.sum(dim=1).long()

    def index(self, idx: torch.Tensor | np.ndarray | Sequence[int] | slice) -> SceneBatch:
        """The samples at ``idx`` (neighbour padding trimmed to the largest count kept)."""
        if not isinstance(idx, slice):
            idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        mask = self.neighbour_mask[idx]
        columns = torch.nonzero(mask.sum(dim=0) > 0)
        keep = int(columns.max().item()) + 1 if columns.numel() else 0
        pick = lambda t: None if t is None else t[idx]  # noqa: E731
        context = self.context
        if isinstance(context, torch.Tensor) and context.shape[:1] == self.past.shape[:1]:
            context = context[idx]
        return SceneBatch(
            past=self.past[idx],
            neighbours=self.neighbours[idx][:, :keep],
            neighbour_mask=mask[:, :keep],
            future=pick(self.future),
            origin=pick(self.origin),
            scene=pick(self.scene),
            frame=pick(self.frame),
            context=context,
            scene_names=self.scene_names,
        )

    def without_neighbours(self) -> SceneBatch:
        """Every edge cut: the test-time ablation of the paper's Table 1 ("without neighbours")."""
        return replace(self, neighbours=self.neighbours[:, :0], neighbour_mask=self.neighbour_mask[:, :0])

    def to(self, device: torch.device | str) -> SceneBatch:
        move = lambda t: t.to(device) if isinstance(t, torch.Tensor) else t  # noqa: E731
        return SceneBatch(*(move(getattr(self, f)) for f in ("past", "neighbours", "neighbour_mask", "future", "origin", "scene", "frame", "context")), scene_names=self.scene_names)

    @staticmethod
    def concat(batches: Sequence[SceneBatch]) -> SceneBatch:
        """Stack batches, padding neighbours to the largest count."""
        if not batches:
            raise DataError("no samples to concatenate")
        width = max(b.neighbours.shape[1] for b in batches)
        names: list[str] = []
        offsets = []
        for b in batches:
            offsets.append(len(names))
            names.extend(b.scene_names)

        def pad(b: SceneBatch) -> tuple[torch.Tensor, torch.Tensor]:
            extra = width - b.neighbours.shape[1]
            nb = torch.nn.functional.pad(b.neighbours, (0, 0, 0, 0, 0, extra))
            return nb, torch.nn.functional.pad(b.neighbour_mask, (0, extra))

        padded = [pad(b) for b in batches]
        cat = lambda ts: None if any(t is None for t in ts) else torch.cat(ts)  # noqa: E731
        scenes = None
        if all(b.scene is not None for b in batches):
            scenes = torch.cat([b.scene + off for b, off in zip(batches, offsets)])
        return SceneBatch(
            past=torch.cat([b.past for b in batches]),
            neighbours=torch.cat([p[0] for p in padded]),
            neighbour_mask=torch.cat([p[1] for p in padded]),
            future=cat([b.future for b in batches]),
            origin=cat([b.origin for b in batches]),
            scene=scenes,
            frame=cat([b.frame for b in batches]),
            scene_names=names,
        )


def build_samples(
    scenes: Sequence[Tracks],
    obs_len: int = 8,
    pred_len: int = 12,
    radius: float = 3.0,
    max_neighbours: int = 32,
    stride: int = 1,
    require_samples: bool = True,
) -> SceneBatch:
    """Cut every scene into (target, current frame) samples.

    A target needs all ``obs_len + pred_len`` consecutive frames. Its neighbours are the other agents
    present at the current frame within ``radius`` (the nearest ``max_neighbours`` of them); a neighbour
    that appeared less than ``obs_len`` frames ago is padded backwards with its first position (so it
    "stood there"), which Trajectron++ does with zeros in its standardised state.

    Args:
        scenes: Parsed scene files.
        obs_len: Observed steps including the current one (the paper: 8).
        pred_len: Predicted steps (the paper: 12).
        radius: Neighbourhood radius in the files' units (Trajectron++ pedestrians: 3 m).
        max_neighbours: Keep at most this many nearest neighbours.
        stride: Use every ``stride``-th current frame.
        require_samples: Raise when no sample can be built.

    Raises:
        DataError: when ``require_samples`` and no agent of any scene has ``obs_len + pred_len`` frames.
    """
    window = obs_len + pred_len
    pasts, futures, nbs, masks, origins, scene_ids, frames = [], [], [], [], [], [], []
    for scene_index, tracks in enumerate(scenes):
        agent_ids, agent_col = np.unique(tracks.agent, return_inverse=True)
        num_frames = int(tracks.frame.max()) + 1
        grid = np.full((num_frames, agent_ids.size, 2), np.nan)
        grid[tracks.frame, agent_col] = tracks.xy
        present = ~np.isnan(grid[..., 0])
        # Frames each agent has been present for in a row, ending at each frame.
        run = np.zeros(present.shape, dtype=np.int64)
        run[0] = present[0]
        for f in range(1, num_frames):
            run[f] = np.where(present[f], run[f - 1] + 1, 0)
        is_target_agent = ~np.isin(agent_ids, list(tracks.context_agents))
        for t in range(obs_len - 1, num_frames - pred_len, stride):
            end = t + pred_len
            targets = np.flatnonzero((run[end] >= window) & is_target_agent)
            if targets.size == 0:
                continue
            here = np.flatnonzero(present[t])
            history = grid[t - obs_len + 1 : t + 1]  # (T_obs, A, 2)
            for a in targets:
                current = grid[t, a]
                others = here[here != a]
                dist = np.linalg.norm(grid[t, others] - current, axis=1)
                close = others[dist <= radius]
                close = close[np.argsort(dist[dist <= radius], kind="stable")][:max_neighbours]
                nb = history[:, close].transpose(1, 0, 2).copy()  # (n, T_obs, 2)
                for j in range(nb.shape[0]):
                    missing = np.isnan(nb[j, :, 0])
                    if missing.any():
                        nb[j, missing] = nb[j, np.flatnonzero(~missing)[0]]
                pasts.append(history[:, a] - current)
                futures.append(grid[t + 1 : end + 1, a] - current)
                nbs.append(nb - current)
                origins.append(current)
                scene_ids.append(scene_index)
                frames.append(t)
    if not pasts:
        if require_samples:
            names = ", ".join(Path(s.name).name for s in scenes[:5])
            raise DataError(f"{names}: no agent has {window} consecutive frames (obs_len={obs_len} + pred_len={pred_len}); nothing to predict")
        width = 0
    width = max((n.shape[0] for n in nbs), default=0)
    count = len(pasts)
    neighbours = np.zeros((count, width, obs_len, 2), dtype=np.float32)
    mask = np.zeros((count, width), dtype=np.float32)
    for i, nb in enumerate(nbs):
        neighbours[i, : nb.shape[0]] = nb
        mask[i, : nb.shape[0]] = 1.0
    as_tensor = lambda xs, shape: torch.as_tensor(np.asarray(xs, dtype=np.float32).reshape(shape))  # noqa: E731
    return SceneBatch(
        past=as_tensor(pasts, (count, obs_len, 2)),
        neighbours=torch.from_numpy(neighbours),
        neighbour_mask=torch.from_numpy(mask),
        future=as_tensor(futures, (count, pred_len, 2)),
        origin=as_tensor(origins, (count, 2)),
        scene=torch.as_tensor(np.asarray(scene_ids, dtype=np.int64)),
        frame=torch.as_tensor(np.asarray(frames, dtype=np.int64)),
        scene_names=[s.name for s in scenes],
    )
