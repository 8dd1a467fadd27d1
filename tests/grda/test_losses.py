"""GRDA's equations against brute-force versions written like the official code's loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.grda.graph import adjacency_from_edges, adjacency_from_similarity, as_adjacency, graph_distance_to
from iclr22.grda.train import domain_index_loss, graph_discriminator_loss, reverse_gradient, sample_domain_subgraph


def _random_graph(num: int, seed: int, p: float = 0.35) -> np.ndarray:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((num, num)) < p, 1)
    return (upper | upper.T).astype(np.int64)


def _bce(logit: float, label: float) -> float:
    return -(label * math.log(1 / (1 + math.exp(-logit))) + (1 - label) * math.log(1 - 1 / (1 + math.exp(-logit))))


def _loop_graph_loss(z: np.ndarray, adjacency: np.ndarray, sampled: list[int]) -> float:
    """Official ``GDA.__loss_D__``: per pair i<j a batch-mean BCE, balanced over (un)connected pairs, × D."""
    connected, unconnected = [], []
    for a in range(len(sampled)):
        for b in range(a + 1, len(sampled)):
            vi, vj = sampled[a], sampled[b]
            pair = np.mean([_bce(float(z[vi, n] @ z[vj, n]), adjacency[vi, vj]) for n in range(z.shape[1])])
            (connected if adjacency[vi, vj] else unconnected).append(pair)
    return 0.5 * (np.mean(connected) + np.mean(unconnected)) * adjacency.shape[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_discriminator_loss_matches_the_official_loop(seed: int) -> None:
    adjacency = _random_graph(9, seed)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(9, 4, 2))
    sampled = list(rng.choice(9, size=6, replace=False))
    expected = _loop_graph_loss(z, adjacency, sampled)
    got = graph_discriminator_loss(torch.tensor(z), torch.tensor(adjacency), torch.tensor(sampled))
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_graph_discriminator_loss_with_one_kind_of_pair_uses_that_kind() -> None:
    clique = np.ones((4, 4), dtype=np.int64) - np.eye(4, dtype=np.int64)
    z = torch.zeros(4, 3, 2)  # every logit 0 → BCE = ln 2
    loss = graph_discriminator_loss(z, torch.tensor(clique))
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(math.log(2) * 4)


def test_graph_discriminator_loss_is_low_when_z_encodes_the_graph() -> None:
    # Two cliques {0,1,2} and {3,4,5}: z = ±10·(1, 0) makes every pair's logit right.
    adjacency = np.zeros((6, 6), dtype=np.int64)
    adjacency[:3, :3] = adjacency[3:, 3:] = 1
    np.fill_diagonal(adjacency, 0)
    z = torch.zeros(6, 2, 2)
    z[:3, :, 0], z[3:, :, 0] = 10.0, -10.0
    good = graph_discriminator_loss(z, torch.tensor(adjacency))
    bad = graph_discriminator_loss(torch.zeros_like(z), torch.tensor(adjacency))
    assert good.item() < 1e-3 < bad.item()


def test_domain_index_loss_matches_the_official_loop() -> None:
    adjacency = _random_graph(7, 3)
    u = np.random.default_rng(0).normal(size=(7, 2))
    expected = np.mean([_bce(float(u[i] @ u[j]), adjacency[i, j]) for i in range(7) for j in range(i + 1, 7)])
    got = domain_index_loss(torch.tensor(u), torch.tensor(adjacency))
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_sample_domain_subgraph_draws_distinct_nodes_and_walks_along_edges() -> None:
    adjacency = _random_graph(15, 4, p=0.3)
    rng = np.random.default_rng(0)
    walked_edges = 0
    for _ in range(200):
        sampled = sample_domain_subgraph(adjacency, 10, rng)
        assert len(sampled) == 10 and len(set(sampled.tolist())) == 10
        assert sampled.min() >= 0 and sampled.max() < 15
        walked_edges += sum(adjacency[a, b] for a, b in zip(sampled[:-1], sampled[1:]))
    # Half of the draws are random walks, so consecutive sampled nodes are adjacent far more often
    # than the graph density (0.3) would give by chance.
    assert walked_edges / (200 * 9) > 0.45
    with pytest.raises(ConfigError):
        sample_domain_subgraph(adjacency, 16, rng)


def test_reverse_gradient_scales_by_minus_lambda() -> None:
    x = torch.randn(5, requires_grad=True)
    (reverse_gradient(x, 0.5) * torch.arange(5.0)).sum().backward()
    assert torch.allclose(x.grad, -0.5 * torch.arange(5.0))


def test_graph_utilities() -> None:
    edges = np.array([[0, 1], [1, 2], [2, 2]])
    adjacency = adjacency_from_edges(edges, 4)
    assert adjacency.tolist() == [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert graph_distance_to(adjacency, [0]).tolist() == [0, 1, 2, -1]
    sim = -np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
    assert adjacency_from_similarity(sim, threshold=-1.0).sum() == 8  # the 4 chain edges, both ways
    assert (adjacency_from_similarity(sim, k=1) == adjacency_from_similarity(sim, threshold=-1.0)).all()
    assert as_adjacency(edges, num_domains=4).sum() == 4


@pytest.mark.parametrize(
    "graph, message",
    [
        (np.zeros((3, 4)), "square"),
        (np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]]), "symmetric"),
        (np.array([[0, 0.5], [0.5, 0]]), "0/1"),
        (np.array([[0, np.nan], [np.nan, 0]]), "NaN"),
    ],
)
def test_bad_graphs_are_refused(graph: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        as_adjacency(graph)
