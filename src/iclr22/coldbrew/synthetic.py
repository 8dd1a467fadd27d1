"""The embedded dataset of Cold Brew: a seeded synthetic graph in the setting of the paper.

:func:`make_cold_start_graph` generates, from a seed, a graph whose degrees follow a power law (so a long
tail of nodes has one or two neighbours) and whose bag-of-words features are correlated with the labels,
but noisily, so that neighbourhoods help and nodes that lose them suffer.
"""

from __future__ import annotations

import numpy as np

from iclr22.data.graphs import Graph, edge_index_from_pairs

__all__ = ["make_cold_start_graph"]


def make_cold_start_graph(
    num_nodes: int = 2000,
    num_classes: int = 5,
    num_features: int = 500,
    average_degree: float = 4.0,
    homophily: float = 0.85,
    power_law_exponent: float = 2.5,
    words_per_node: int = 20,
    topic_strength: float = 0.15,
    seed: int = 0,
) -> Graph:
    """A seeded synthetic citation-like graph with power-law degrees and label-correlated features.

    Degrees: a Chung–Lu graph whose node weights follow a Pareto law with exponent
    ``power_law_exponent``; each edge links a weight-proportional source to a weight-proportional target
    of the same class with probability ``homophily``, of any class otherwise.

    Features: each node draws ``≈ words_per_node`` words from a mixture of its class topic (weight
    ``topic_strength``) and a background distribution shared by all classes; the feature is word presence
    (binary, like Cora's). A low ``topic_strength`` makes features weak on their own.

    Returns:
        A :class:`~iclr22.data.graphs.Graph` with no masks (name ``"synthetic"``).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_nodes)

    weights = (1.0 - rng.random(num_nodes)) ** (-1.0 / (power_law_exponent - 1.0))
    weights = np.minimum(weights, np.sqrt(num_nodes) * 4)
    num_edges = int(num_nodes * average_degree / 2)
    probabilities = weights / weights.sum()
    src = rng.choice(num_nodes, size=num_edges, p=probabilities)
    dst = rng.choice(num_nodes, size=num_edges, p=probabilities)
    same_class = rng.random(num_edges) < homophily
    by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    class_probabilities = [weights[nodes] / weights[nodes].sum() for nodes in by_class]
    for c, nodes in enumerate(by_class):
        pick = same_class & (labels[src] == c)
        dst[pick] = rng.choice(nodes, size=int(pick.sum()), p=class_probabilities[c])
    edge_index = edge_index_from_pairs(src, dst, num_nodes, symmetrize=True, remove_self_loops=True)

    background = rng.dirichlet(np.full(num_features, 0.5))
    topics = rng.dirichlet(np.full(num_features, 0.05), size=num_classes)
    word_distribution = topic_strength * topics[labels] + (1 - topic_strength) * background
    counts = rng.poisson(words_per_node, size=num_nodes).clip(min=3)
    x = np.zeros((num_nodes, num_features), dtype=np.float32)
    for node in range(num_nodes):
        words = rng.choice(num_features, size=counts[node], p=word_distribution[node])
        x[node, words] = 1.0
    return Graph(x=x, edge_index=edge_index, y=labels.astype(np.int64), name="synthetic", class_names=[f"class{c}" for c in range(num_classes)])
