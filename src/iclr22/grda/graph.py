"""The domain graph of GRDA: build it, check it, measure distances on it.

GRDA's input besides the data is a graph whose nodes are the domains (e.g. US states and their borders).
:func:`as_adjacency` accepts a ``[D, D]`` 0/1 symmetric matrix or an ``[E, 2]`` edge list;
:func:`adjacency_from_similarity` builds one from any domain similarity (the maintainers' advice for new
data); :func:`graph_distance_to` gives the "level" of a target domain (paper, Table 2);
:func:`graph_warnings` says when the graph leaves GRDA nothing to adapt with (:class:`DomainGraphWarning`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.validation import as_numpy, check_array, check_edge_index

__all__ = [
    "DomainGraphWarning", "adjacency_from_edges", "adjacency_from_similarity", "as_adjacency", "graph_distance_to", "graph_warnings",
]


class DomainGraphWarning(UserWarning):
    """The data leave GRDA nothing to adapt with (a domain graph without edges, no target domain)."""


def graph_warnings(adjacency: Any, source_domains: Sequence[int]) -> list[str]:
    """Why GRDA cannot adapt on this graph, one sentence per reason (empty when nothing is wrong).

    GRDA aligns a domain with its neighbours in the graph: without edges there is no relation to exploit, and
    whatever it scores on the targets is not the method's doing. Without a target domain there is nothing to
    adapt to.
    """
    adjacency = np.asarray(adjacency)
    reasons = []
    if not np.triu(adjacency, 1).any():
        reasons.append("the domain graph has no edges: GRDA adapts a domain through its neighbours in the graph and "
                       "no domain has any, so its numbers say nothing about graph-relational adaptation")
    if np.setdiff1d(np.arange(adjacency.shape[0]), np.asarray(source_domains)).size == 0:
        reasons.append("every domain is a labelled source: there is no target domain to adapt to")
    return reasons


def adjacency_from_edges(edges: Any, num_domains: int, where: str = "edges") -> np.ndarray:
    """A symmetric 0/1 adjacency ``[D, D]`` from an edge list ``[E, 2]`` of domain ids (self loops dropped).

    Raises:
        DataError: the list is not ``[E, 2]`` integers in ``0..D-1``.
    """
    edges = as_numpy(edges, where)
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise DataError(f"{where}: an edge list must have shape [E, 2], found {edges.shape}")
    if edges.dtype.kind == "f":
        if not np.all(edges == np.round(edges)):
            raise DataError(f"{where}: edge endpoints must be whole domain ids")
        edges = edges.astype(np.int64)
    edges = check_edge_index(edges.T, num_domains, where).T
    adjacency = np.zeros((num_domains, num_domains), dtype=np.int64)
    adjacency[edges[:, 0], edges[:, 1]] = 1
    adjacency[edges[:, 1], edges[:, 0]] = 1
    np.fill_diagonal(adjacency, 0)
    return adjacency


def adjacency_from_similarity(similarity: Any, threshold: float | None = None, k: int | None = None) -> np.ndarray:
    """Build a domain graph from a domain-similarity matrix (the maintainers' advice for new data).

    Give ``threshold`` (connect i and j when ``S_ij >= threshold``) or ``k`` (connect each domain to its
    ``k`` most similar others, then symmetrise). The diagonal is ignored.

    Args:
        similarity: ``[D, D]`` similarities (larger = more alike), e.g. a negated distance between
            domain coordinates or the cosine similarity of per-domain feature means.
        threshold: Edge when similarity ≥ threshold.
        k: Edges to each domain's ``k`` nearest neighbours.

    Returns:
        The symmetric 0/1 ``int64`` adjacency.

    Raises:
        DataError: a non-square or non-finite matrix. ConfigError: neither or both of ``threshold``/``k``.
    """
    sim = check_array(similarity, "similarity", ndim=2, dtype=np.float64, min_rows=0)
    if sim.shape[0] != sim.shape[1]:
        raise DataError(f"similarity: expected a square [D, D] matrix, found shape {sim.shape}")
    if (threshold is None) == (k is None):
        raise ConfigError("adjacency_from_similarity: give exactly one of threshold= or k=")
    num_domains = sim.shape[0]
    off_diagonal = ~np.eye(num_domains, dtype=bool)
    if threshold is not None:
        adjacency = (sim >= threshold) & off_diagonal
    else:
        if not 1 <= int(k) < num_domains:
            raise ConfigError(f"adjacency_from_similarity: k must be in 1..{num_domains - 1}, got {k}")
        masked = np.where(off_diagonal, sim, -np.inf)
        nearest = np.argsort(-masked, axis=1, kind="stable")[:, : int(k)]
        adjacency = np.zeros((num_domains, num_domains), dtype=bool)
        adjacency[np.repeat(np.arange(num_domains), int(k)), nearest.reshape(-1)] = True
    adjacency = adjacency | adjacency.T
    return adjacency.astype(np.int64)


def as_adjacency(graph: Any, num_domains: int | None = None, where: str = "graph") -> np.ndarray:
    """Check and normalise a domain graph: a ``[D, D]`` 0/1 symmetric matrix or an ``[E, 2]`` edge list.

    An ``[E, 2]`` array with ``E != 2`` is read as an edge list over ``num_domains`` nodes (default: the
    largest id + 1). A weighted or similarity matrix is refused with a pointer to
    :func:`adjacency_from_similarity`. Self loops are dropped.

    Raises:
        DataError: not square, not symmetric, not 0/1, non-finite, or a node count other than ``num_domains``.
    """
    if graph is None:
        raise DataError(f"{where}: a domain graph is required (an adjacency matrix [D, D] or an edge list [E, 2])")
    array = as_numpy(graph, where)
    if array.ndim == 2 and array.shape[1] == 2 and array.shape[0] != 2:
        if array.dtype.kind not in "biuf":
            raise DataError(f"{where}: edge list must hold integer domain ids, found dtype {array.dtype}")
        inferred = int(array.max()) + 1 if array.size else 0
        return adjacency_from_edges(array, num_domains if num_domains is not None else inferred, where)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise DataError(f"{where}: the domain graph must be a square [D, D] adjacency matrix (or an [E, 2] edge list), found shape {array.shape}")
    array = check_array(array, where, ndim=2, dtype=None, min_rows=0)  # numeric, no NaN / inf
    if not np.array_equal(array, array.T):
        bad = np.argwhere(array != array.T)[0]
        raise DataError(
            f"{where}: the domain graph must be symmetric (undirected); A[{bad[0]}, {bad[1]}] = {array[bad[0], bad[1]]} "
            f"but A[{bad[1]}, {bad[0]}] = {array[bad[1], bad[0]]}"
        )
    if not np.isin(array, (0, 1)).all():
        raise DataError(f"{where}: adjacency must hold only 0/1; threshold a similarity matrix with adjacency_from_similarity()")
    if num_domains is not None and array.shape[0] != num_domains:
        raise DataError(f"{where}: the graph has {array.shape[0]} nodes but {num_domains} domains were expected")
    adjacency = array.astype(np.int64)
    np.fill_diagonal(adjacency, 0)
    return adjacency


def graph_distance_to(adjacency: np.ndarray, nodes: Sequence[int]) -> np.ndarray:
    """Hop distance of every node to the nearest of ``nodes`` (BFS; ``-1`` when unreachable).

    The "level" of a target domain in the paper's Table 2 is its distance to the nearest source domain.
    """
    adjacency = np.asarray(adjacency)
    distance = np.full(adjacency.shape[0], -1, dtype=np.int64)
    frontier = list(dict.fromkeys(int(n) for n in nodes))
    distance[frontier] = 0
    while frontier:
        nxt = []
        for node in frontier:
            for neighbour in np.flatnonzero(adjacency[node]):
                if distance[neighbour] < 0:
                    distance[neighbour] = distance[node] + 1
                    nxt.append(int(neighbour))
        frontier = nxt
    return distance
