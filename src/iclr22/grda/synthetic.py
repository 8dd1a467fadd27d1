"""A seeded generator of DG-N-like data: domains along a half circle, linked by a random angle graph.

Modelled on the description of DG-15 / DG-60 in the GRDA paper (Section 5.1): domain d sits at angle
θ_d on a half circle; its class-0 points lie in a unit disc around r(cos θ_d, sin θ_d) and its class-1
points around the opposite point, so the decision boundary turns with θ_d and a classifier fitted on
a few neighbouring domains fails on distant ones. Domains i and j are linked with probability
cos(θ_i − θ_j) when that cosine is at least ``min_similarity`` (never otherwise). The first 40 % of
domains by angle are the labelled sources, so adaptation is extrapolation along the graph, as in DG-15.
"""

from __future__ import annotations

import numpy as np

from iclr22.core.errors import ConfigError
from iclr22.data.domains import DomainDataset

__all__ = ["make_spiral_domains"]


def _disc_points(center: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points of N(center, I) kept within distance 1 of ``center``."""
    points = np.empty((0, 2))
    while len(points) < count:
        draws = rng.standard_normal((4 * count, 2))
        points = np.concatenate([points, draws[(draws**2).sum(1) <= 1.0]])
    return points[:count] + center


def make_spiral_domains(
    num_domains: int = 15,
    points_per_domain: int = 100,
    radius: float = 1.5,
    max_angle: float = np.pi,
    min_similarity: float = 0.5,
    source_fraction: float = 0.4,
    seed: int = 0,
) -> DomainDataset:
    """Generate a DG-N-like dataset (``x`` ``[D·n, 2]``, binary ``y``, ``domain``, ``adjacency``, sources).

    Args:
        num_domains: Number of domains D (nodes).
        points_per_domain: Points per domain (half of each class).
        radius: Distance of the class centres from the origin.
        max_angle: Domain angles are uniform in ``[0, max_angle]``.
        min_similarity: No edge between domains whose angle cosine is below this.
        source_fraction: Fraction of domains, smallest angles first, that are labelled sources.
        seed: Seed of everything.

    Returns:
        A :class:`~iclr22.data.domains.DomainDataset`; ``domain_embedding`` is ``None`` (the model
        pre-trains indices on the graph) and ``name`` is ``"spiral"``. The angles are in
        ``domain_names`` as text for plotting (``"θ=0.42"``).
    """
    if num_domains < 3 or points_per_domain < 2:
        raise ConfigError("make_spiral_domains needs at least 3 domains and 2 points per domain")
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0.0, max_angle, num_domains))
    xs, ys, ds = [], [], []
    half = points_per_domain // 2
    for d, theta in enumerate(angles):
        center = radius * np.array([np.cos(theta), np.sin(theta)])
        xs += [_disc_points(center, half, rng), _disc_points(-center, points_per_domain - half, rng)]
        ys += [np.zeros(half, dtype=np.int64), np.ones(points_per_domain - half, dtype=np.int64)]
        ds.append(np.full(points_per_domain, d, dtype=np.int64))
    similarity = np.cos(angles[:, None] - angles[None, :])
    linked = (similarity >= min_similarity) & (rng.random((num_domains, num_domains)) < similarity)
    adjacency = np.triu(linked, 1)
    # Consecutive domains are always linked so that the graph is connected.
    adjacency[np.arange(num_domains - 1), np.arange(1, num_domains)] = True
    adjacency = (adjacency | adjacency.T).astype(np.int64)
    num_sources = max(1, int(round(source_fraction * num_domains)))
    return DomainDataset(
        x=np.concatenate(xs).astype(np.float32),
        y=np.concatenate(ys),
        domain=np.concatenate(ds),
        adjacency=adjacency,
        domain_embedding=None,
        source_domains=np.arange(num_sources, dtype=np.int64),
        name="spiral",
        domain_names=[f"θ={a:.2f}" for a in angles],
        domain_angle=np.asarray(angles, dtype=np.float64),
    )
