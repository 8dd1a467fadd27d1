"""Trajectory tables → prediction samples (target past, neighbours' pasts, target future).

Files are read by :mod:`iclr22.data.trajectories` (``read_trajectory_file``, ``load_ethucy``,
``load_trajectory_folder``): one :class:`~iclr22.data.trajectories.TrajectoryTable` per scene, rows
``frame agent_id x y [type]``. A *sample* is one target agent at one current frame ``t``: its ``obs_len``
observed positions ending at ``t``, its ``pred_len`` future positions, and the observed positions of every
other agent present at ``t`` within ``radius`` of it (its neighbours). This is how Trajectron++ builds its
scene graphs for pedestrians (edges at the current time step, attention radius 3 m) and how Makansi et al.
define the players of their attribution.

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
from iclr22.data.trajectories import TrajectoryTable, frame_grid

__all__ = ["SceneBatch", "build_samples", "hold_out", "neighbourhood_warning", "check_context_types"]


@dataclass
class SceneBatch:
    """A batch of prediction samples, all coordinates relative to each target's current position.

    Attributes:
        past: ``(B, T_obs, 2)`` the target's observed positions; the last one is ``(0, 0)``.
        neighbours: ``(B, N, T_obs, 2)`` neighbours' observed positions (padded with zeros).
        neighbour_mask: ``(B, N)`` 1 for a real neighbour (an edge in the interaction graph), 0 for padding.
        future: ``(B, T_pred, 2)`` ground-truth future, or ``None`` at inference.
        origin: ``(B, 2)`` the target's absolute current position (for drawing; models never see it).
        scene: ``(B,)`` index of the scene each sample comes from (into ``scene_names``).
        frame: ``(B,)`` the file's frame number of each sample's current (last observed) position.
        context: Anything else the predictor takes (a map crop, ...), passed through unchanged and
            never a player, as in the official code (the map of nuScenes is not a player).
        scene_names: The source file of each scene.
        agent: ``(B,)`` the target's agent id in its file.
        neighbour_ids: ``(B, N)`` each neighbour's agent id in the file (-1 for padding), in the order of
            ``neighbours``, so that an attribution can be traced back to the agent it belongs to.
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
    agent: torch.Tensor | None = None
    neighbour_ids: torch.Tensor | None = None

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
            agent=pick(self.agent),
            neighbour_ids=None if self.neighbour_ids is None else self.neighbour_ids[idx][:, :keep],
        )

    def without_neighbours(self) -> SceneBatch:
        """Every edge cut: the test-time ablation of the paper's Table 1 ("without neighbours")."""
        ids = None if self.neighbour_ids is None else self.neighbour_ids[:, :0]
        return replace(self, neighbours=self.neighbours[:, :0], neighbour_mask=self.neighbour_mask[:, :0], neighbour_ids=ids)

    def to(self, device: torch.device | str) -> SceneBatch:
        move = lambda t: t.to(device) if isinstance(t, torch.Tensor) else t  # noqa: E731
        fields = ("past", "neighbours", "neighbour_mask", "future", "origin", "scene", "frame", "context")
        return SceneBatch(*(move(getattr(self, f)) for f in fields), scene_names=self.scene_names,
                          agent=self.agent, neighbour_ids=self.neighbour_ids)  # ids stay on the CPU

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

        def pad(b: SceneBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
            extra = width - b.neighbours.shape[1]
            nb = torch.nn.functional.pad(b.neighbours, (0, 0, 0, 0, 0, extra))
            ids = None if b.neighbour_ids is None else torch.nn.functional.pad(b.neighbour_ids, (0, extra), value=-1)
            return nb, torch.nn.functional.pad(b.neighbour_mask, (0, extra)), ids

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
            agent=cat([b.agent for b in batches]),
            neighbour_ids=cat([p[2] for p in padded]),
        )


def check_context_types(scenes: Sequence[TrajectoryTable], context_types: Iterable[str]) -> list[str]:
    """The context types as given, after checking that each names an agent type of ``scenes``.

    Types are matched ignoring case (``ball`` finds ``BALL``): a file's type column holds labels, and a type
    that differs from another only in case would be a typo, not a second kind of agent.

    Raises:
        DataError: a type that no agent of any of ``scenes`` has (the message lists the types the files
            have), or context types for files without a type column.
    """
    wanted = [str(t) for t in context_types]
    if not wanted or not scenes:
        return wanted
    typed = [s for s in scenes if s.agent_type is not None]
    names = ", ".join(Path(s.source).name for s in scenes[:3]) + (f" and {len(scenes) - 3} more" if len(scenes) > 3 else "")
    if not typed:
        raise DataError(f"context_types={','.join(wanted)}: the files ({names}) have no type column (rows 'frame agent_id x y'); "
                        "add a 5th column with each agent's type, or leave context_types empty")
    present = sorted({str(t) for s in typed for t in np.unique(s.agent_type)})
    lowered = {t.lower() for t in present}
    missing = [t for t in wanted if t.lower() not in lowered]
    if missing:
        raise DataError(f"context_types: {', '.join(repr(t) for t in missing)} is no agent type of {names} "
                        f"(matched ignoring case); their types: {', '.join(present)}")
    return wanted


def build_samples(
    scenes: Sequence[TrajectoryTable],
    obs_len: int = 8,
    pred_len: int = 12,
    radius: float = 3.0,
    max_neighbours: int = 32,
    stride: int = 1,
    require_samples: bool = True,
    context_types: Iterable[str] = (),
) -> SceneBatch:
    """Cut every scene into (target, current frame) samples.

    A target needs all ``obs_len + pred_len`` consecutive frames. Its neighbours are the other agents
    present at the current frame within ``radius`` (the nearest ``max_neighbours`` of them); a neighbour
    that appeared less than ``obs_len`` frames ago is padded backwards with its first position (so it
    "stood there"), which Trajectron++ does with zeros in its standardised state. Each sample keeps its
    file, its frame number, the target's agent id and every neighbour's agent id.

    Args:
        scenes: One table per scene (:func:`iclr22.data.trajectories.read_trajectory_file`); frames must lie
            on a regular grid (:func:`iclr22.data.trajectories.frame_grid`), any step.
        obs_len: Observed steps including the current one (the paper: 8).
        pred_len: Predicted steps (the paper: 12).
        radius: Neighbourhood radius in the files' units (Trajectron++ pedestrians: 3 m).
        max_neighbours: Keep at most this many nearest neighbours.
        stride: Use every ``stride``-th current frame.
        require_samples: Raise when no sample can be built.
        context_types: Agent types (5th column, matched ignoring case) that are neighbours only, never
            targets (e.g. a ball); each must be the type of some agent in ``scenes``.

    Raises:
        DataError: when a scene's frames are off its frame grid (naming file and line), when a context type
            matches no agent (:func:`check_context_types`), or when ``require_samples`` and no agent of any
            scene has ``obs_len + pred_len`` frames.
    """
    window = obs_len + pred_len
    pasts, futures, nbs, origins, scene_ids, frames = [], [], [], [], [], []
    agents, neighbour_ids = [], []
    context_types = check_context_types(scenes, context_types)
    for scene_index, table in enumerate(scenes):
        time_index, step = frame_grid(table)
        first_frame = int(table.frame.min())
        agent_ids, agent_col = np.unique(table.agent_id, return_inverse=True)
        num_frames = int(time_index.max()) + 1
        grid = np.full((num_frames, agent_ids.size, 2), np.nan)
        grid[time_index, agent_col] = np.stack([table.x, table.y], axis=1)
        present = ~np.isnan(grid[..., 0])
        # Frames each agent has been present for in a row, ending at each frame.
        run = np.zeros(present.shape, dtype=np.int64)
        run[0] = present[0]
        for f in range(1, num_frames):
            run[f] = np.where(present[f], run[f - 1] + 1, 0)
        is_target_agent = ~np.isin(agent_ids, table.agents_of_type(context_types))
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
                order = np.argsort(dist, kind="stable")
                close = others[order][dist[order] <= radius][:max_neighbours]
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
                frames.append(first_frame + t * step)
                agents.append(agent_ids[a])
                neighbour_ids.append(agent_ids[close])
    if not pasts:
        if require_samples:
            names = ", ".join(Path(s.source).name for s in scenes[:5])
            raise DataError(f"{names}: no agent has {window} consecutive frames (obs_len={obs_len} + pred_len={pred_len}); nothing to predict")
    width = max((n.shape[0] for n in nbs), default=0)
    count = len(pasts)
    neighbours = np.zeros((count, width, obs_len, 2), dtype=np.float32)
    mask = np.zeros((count, width), dtype=np.float32)
    ids = np.full((count, width), -1, dtype=np.int64)
    for i, nb in enumerate(nbs):
        neighbours[i, : nb.shape[0]] = nb
        mask[i, : nb.shape[0]] = 1.0
        ids[i, : nb.shape[0]] = neighbour_ids[i]
    as_tensor = lambda xs, shape: torch.as_tensor(np.asarray(xs, dtype=np.float32).reshape(shape))  # noqa: E731
    as_ints = lambda xs: torch.as_tensor(np.asarray(xs, dtype=np.int64))  # noqa: E731
    return SceneBatch(
        past=as_tensor(pasts, (count, obs_len, 2)),
        neighbours=torch.from_numpy(neighbours),
        neighbour_mask=torch.from_numpy(mask),
        future=as_tensor(futures, (count, pred_len, 2)),
        origin=as_tensor(origins, (count, 2)),
        scene=as_ints(scene_ids),
        frame=as_ints(frames),
        scene_names=[s.source for s in scenes],
        agent=as_ints(agents),
        neighbour_ids=torch.from_numpy(ids),
    )


def hold_out(train: SceneBatch, seed: int, parts: int = 10) -> tuple[SceneBatch, SceneBatch]:
    """``(train, validation)``: a seeded one in ``parts`` of the samples (at least one) held out for
    validation, for data that come without a validation split."""
    order = np.random.default_rng(seed).permutation(len(train))
    held = max(1, len(train) // parts)
    return train.index(order[held:]), train.index(order[:held])


def neighbourhood_warning(batch: SceneBatch, radius: float, scenes: Sequence[TrajectoryTable]) -> str | None:
    """The warning for samples whose neighbourhood is nearly empty (fewer than one neighbour per sample on
    average), or ``None``.

    A sample without neighbours attributes nothing to interaction by definition, so on such data a small
    interaction attribution says more about ``radius`` than about the predictor. The message gives the mean,
    the radius and its unit assumption, and the radii at which the samples would have one and two neighbours
    on average (from every other agent of the sample's frame in ``scenes``, the tables ``batch`` was built from).
    """
    if len(batch) == 0:
        return None
    mean = float(batch.num_neighbours.float().mean())
    if mean >= 1:
        return None
    alone = float((batch.num_neighbours == 0).float().mean())
    text = (f"nearly empty neighbourhoods: {mean:.2f} neighbours per sample on average within radius={radius:g} "
            f"({alone:.0%} of the samples have none, so their interaction attribution is 0 by definition); "
            f"radius is in your files' coordinate unit and the default 3 suits pedestrians in metres")
    distances = np.sort(_distances_to_others(batch, scenes))
    reach = [distances[k * len(batch) - 1] for k in (1, 2) if k * len(batch) <= distances.size]
    if reach:
        text += (f". One neighbour per sample on average needs radius {reach[0]:.3g}"
                 + (f", two need {reach[1]:.3g}" if len(reach) > 1 else "")
                 + f": set --set radius=R in your unit (e.g. radius={_round_up(reach[-1]):g})")
    else:
        text += ". Even with no radius at all the samples would have fewer than one neighbour: check that each file holds one scene with all its agents"
    return text


def _distances_to_others(batch: SceneBatch, scenes: Sequence[TrajectoryTable]) -> np.ndarray:
    """Every distance from a sample's target to another agent present at the sample's frame, pooled."""
    out = []
    scene_of, frame_of, agent_of = (t.numpy() for t in (batch.scene, batch.frame, batch.agent))
    for index in np.unique(scene_of):
        table = scenes[int(index)]
        xy = np.stack([table.x, table.y], axis=1)
        by_frame = np.argsort(table.frame, kind="stable")
        sorted_frames = table.frame[by_frame]
        for frame in np.unique(frame_of[scene_of == index]):
            lo, hi = np.searchsorted(sorted_frames, [frame, frame + 1])
            rows = by_frame[lo:hi]
            for agent in agent_of[(scene_of == index) & (frame_of == frame)]:
                own = rows[table.agent_id[rows] == agent]
                others = rows[table.agent_id[rows] != agent]
                out.append(np.linalg.norm(xy[others] - xy[own[0]], axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def _round_up(value: float) -> float:
    """``value`` rounded up to two significant digits (a radius to suggest)."""
    if value <= 0:
        return value
    scale = 10 ** (np.floor(np.log10(value)) - 1)
    return float(np.ceil(value / scale) * scale)
