"""A seeded crowd simulator with two regimes, the embedded dataset of ``iclr22 run trajshap``.

* ``"alone"``: pedestrians walk with smoothly wandering headings and ignore each other — the situation
  the paper finds on ETH/UCY, where a good model should attribute nothing to neighbours.
* ``"social"``: groups of a leader and followers. A leader makes sudden turns; each follower copies the
  leader's velocity ``lag`` steps later, and everybody steps away from anyone closer than a comfort
  distance (collision avoidance). A follower's next steps are written in its leader's last observed
  steps, so a model that reads its neighbours predicts it better — and its attribution should show it.
  By default 6 of a scene's 10 agents are followers (3 groups of a leader and 2 followers): the regime
  stands for data where interaction is the rule, as in the paper's basketball games. One lone walker is
  mixed in, and the followers' side-by-side partners repeat what the follower's own past already says,
  so not every neighbour matters.

Units are metres and 0.4 s per frame (ETH/UCY's 2.5 Hz); frames are numbered in steps of 10 like the
ETH/UCY files, and :func:`write_scene` writes the same ``frame agent_id x y`` text format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import numpy as np

from iclr22.core.errors import ConfigError
from iclr22.data.trajectories import TrajectoryTable

__all__ = ["simulate_scene", "simulate_scenes", "write_scene", "REGIMES", "Regime"]

Regime = Literal["alone", "social"]
REGIMES: tuple[str, ...] = get_args(Regime)
DT = 0.4


def _heading_walk(rng: np.random.Generator, steps: int, turn_std: float) -> np.ndarray:
    """Smoothly wandering heading changes per step (an Ornstein-Uhlenbeck turn rate)."""
    rate = np.zeros(steps)
    for t in range(1, steps):
        rate[t] = 0.8 * rate[t - 1] + rng.normal(0, turn_std)
    return rate


#: Frame numbers step by this, as in the ETH/UCY files (one step = 0.4 s).
FRAME_STEP = 10


def simulate_scene(rng: np.random.Generator, regime: Regime, num_frames: int = 40, groups: int = 3, followers: int = 2, loners: int = 1, lag: int = 5, name: str = "sim") -> TrajectoryTable:
    """Simulate one scene.

    Args:
        rng: Random generator.
        regime: ``"alone"`` or ``"social"``.
        num_frames: Frames of the scene.
        groups: Leader groups (``"social"``); in ``"alone"`` every agent is a lone walker and the scene has
            the same number of agents.
        followers: Followers per leader.
        loners: Lone walkers.
        lag: Steps after which a follower copies its leader's velocity.
        name: Name recorded as the table's ``source``.

    Returns:
        A :class:`~iclr22.data.trajectories.TrajectoryTable` with frames ``0, 10, 20, ...``.
    """
    if regime not in REGIMES:
        raise ConfigError(f"unknown simulator regime {regime!r}; choose one of {', '.join(REGIMES)}")
    burn_in = lag + 2
    steps = num_frames + burn_in
    count = groups * (1 + followers) + loners
    leader_of = np.full(count, -1)
    if regime == "social":
        for g in range(groups):
            head = g * (1 + followers)
            leader_of[head + 1 : head + 1 + followers] = head
    speed = rng.uniform(0.9, 1.3, count) * DT
    heading = rng.uniform(0, 2 * np.pi, count)
    pos = np.zeros((steps, count, 2))
    vel = np.zeros((steps, count, 2))
    pos[0] = rng.uniform(-6, 6, (count, 2))
    for agent in range(count):
        if leader_of[agent] >= 0:  # followers start behind their leader, side by side
            lead = leader_of[agent]
            heading[agent] = heading[lead]
            speed[agent] = speed[lead]
            side = rng.uniform(-0.8, 0.8)
            ahead = np.array([np.cos(heading[lead]), np.sin(heading[lead])])
            normal = np.array([-ahead[1], ahead[0]])
            pos[0, agent] = pos[0, lead] - (lag * speed[lead] + 0.3) * ahead + side * normal  # on the leader's path
    turn = np.stack([_heading_walk(rng, steps, 0.06) for _ in range(count)], axis=1)
    if regime == "social":  # leaders make sudden turns, which their followers repeat `lag` steps later
        for g in range(groups):
            head = g * (1 + followers)
            for t in range(steps):
                if rng.random() < 0.15:
                    turn[t : t + 3, head] += rng.choice([-1, 1]) * rng.uniform(0.3, 0.6)
    for t in range(steps):
        if t > 0:
            heading = heading + turn[t]
        own = np.stack([np.cos(heading), np.sin(heading)], axis=1) * speed[:, None]
        for agent in range(count):
            lead = leader_of[agent]
            if lead >= 0 and t >= lag:
                own[agent] = vel[t - lag, lead]
        if regime == "social":  # collision avoidance: step away from anyone closer than 0.8 m
            offset = pos[t][:, None, :] - pos[t][None, :, :]
            dist = np.linalg.norm(offset, axis=-1) + np.eye(count)
            push = np.where((dist < 0.8)[..., None], offset / dist[..., None] * (0.8 - dist)[..., None], 0.0).sum(1)
            own = own + 0.5 * push
        vel[t] = own + rng.normal(0, 0.01, (count, 2))
        if t + 1 < steps:
            pos[t + 1] = pos[t] + vel[t]
    pos = pos[burn_in:]
    frames = np.repeat(np.arange(num_frames, dtype=np.int64) * FRAME_STEP, count)
    agents = np.tile(np.arange(count, dtype=np.int64), num_frames)
    xy = pos.reshape(-1, 2)
    return TrajectoryTable(frame=frames, agent_id=agents, x=xy[:, 0].copy(), y=xy[:, 1].copy(), source=name)


def simulate_scenes(num_scenes: int, regime: Regime, seed: int = 0, **kwargs) -> list[TrajectoryTable]:
    """``num_scenes`` independent scenes of one regime, seeded."""
    rng = np.random.default_rng(seed)
    return [simulate_scene(rng, regime, name=f"sim-{regime}-{seed}-{i}", **kwargs) for i in range(num_scenes)]


def write_scene(table: TrajectoryTable, path: str | Path) -> Path:
    """Write a table as a tab-separated ``frame agent_id x y`` file (the ETH/UCY layout), with a 5th ``type``
    column when the table has agent types."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((table.agent_id, table.frame))
    kind = (lambda i: f"\t{table.agent_type[i]}") if table.agent_type is not None else (lambda i: "")  # noqa: E731
    lines = [f"{int(table.frame[i])}\t{int(table.agent_id[i])}\t{table.x[i]:.3f}\t{table.y[i]:.3f}{kind(i)}" for i in order]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
