"""Degree-based node splits for strict cold start (paper §5.1 and the official code), and label splits.

Two rules build the *isolation*, *tail* and *head* node sets:

* ``"paper"`` (§5.1): the ``fraction`` (10%) lowest-degree nodes are isolated by deleting all their
  edges; the tail is the ``fraction`` lowest non-zero-degree nodes of the remaining graph; the head the
  ``fraction`` highest-degree ones. Ties are broken at random (seeded), so every set has exactly
  ``round(fraction·N)`` nodes.
* ``"official"`` (``save_graph_analyze`` with ``use_special_split=1``): on the degree counted with a self
  loop, keep the nodes at or below the median, then at or below the median of the kept ones, four times
  in all (``'top6'``); sorted by degree, the lower half is isolated and the upper half is the tail. The
  head is the same procedure with "at or above", five times (``'bottom3'``). Ties make the sets much
  larger than 6.25% / 3.125% (Cora: 534 isolated nodes, 19.7%).

In both rules the isolated nodes lose every edge for training and testing alike (``craft_isolation_v2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from iclr22.core.errors import ConfigError, DataError

__all__ = [
    "DegreeSplit", "node_degrees", "isolate_nodes", "degree_split", "label_split", "SplitRule", "LabelSplit", "SPLIT_RULES", "LABEL_SPLITS",
]

#: The degree-split rules (module docstring).
SplitRule = Literal["paper", "official"]
#: The label-split rules (:func:`label_split`).
LabelSplit = Literal["auto", "first_n", "public", "random"]
SPLIT_RULES: tuple[str, ...] = get_args(SplitRule)
LABEL_SPLITS: tuple[str, ...] = get_args(LabelSplit)


@dataclass
class DegreeSplit:
    """The node sets of a degree split and the graph after isolation.

    Attributes:
        isolated: bool ``[N]``, nodes whose edges were all deleted (strict cold start).
        tail: bool ``[N]``, low-degree nodes that keep their edges.
        head: bool ``[N]``, high-degree nodes.
        edge_index: int64 ``[2, E']``, the input edges minus every edge touching an isolated node.
        rule: ``"paper"`` or ``"official"``.
    """

    isolated: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    edge_index: np.ndarray
    rule: str

    def summary(self) -> dict[str, int]:
        return {"isolated": int(self.isolated.sum()), "tail": int(self.tail.sum()), "head": int(self.head.sum())}


def node_degrees(edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """Number of neighbours of each node (self loops not counted); ``edge_index`` holds both directions."""
    src, dst = edge_index
    return np.bincount(src[src != dst], minlength=num_nodes).astype(np.int64)


def isolate_nodes(edge_index: np.ndarray, isolated: np.ndarray) -> np.ndarray:
    """Delete every edge (self loops excepted) with an endpoint in ``isolated`` (bool ``[N]``)."""
    src, dst = edge_index
    drop = (src != dst) & (isolated[src] | isolated[dst])
    return edge_index[:, ~drop]


def _sorted_by_degree(degrees: np.ndarray, candidates: np.ndarray, rng: np.random.Generator, descending: bool = False) -> np.ndarray:
    """``candidates`` (node ids) ordered by degree, ties in random order."""
    tie_break = rng.permutation(candidates.size)
    key = -degrees[candidates] if descending else degrees[candidates]
    return candidates[np.lexsort((tie_break, key))]


def _paper_split(edge_index: np.ndarray, num_nodes: int, fraction: float, rng: np.random.Generator) -> DegreeSplit:
    size = int(round(fraction * num_nodes))
    if size < 1:
        raise ConfigError(f"split fraction {fraction} of {num_nodes} nodes leaves no node in a split")
    if 3 * size > num_nodes:
        raise ConfigError(f"split fraction {fraction} is too large: three splits of {size} nodes exceed {num_nodes} nodes")
    all_nodes = np.arange(num_nodes)
    isolated = np.zeros(num_nodes, dtype=bool)
    isolated[_sorted_by_degree(node_degrees(edge_index, num_nodes), all_nodes, rng)[:size]] = True
    remaining = isolate_nodes(edge_index, isolated)
    degrees = node_degrees(remaining, num_nodes)

    tail = np.zeros(num_nodes, dtype=bool)
    connected = all_nodes[~isolated & (degrees > 0)]
    tail[_sorted_by_degree(degrees, connected, rng)[:size]] = True
    head = np.zeros(num_nodes, dtype=bool)
    rest = all_nodes[~isolated & ~tail]
    head[_sorted_by_degree(degrees, rest, rng, descending=True)[:size]] = True
    return DegreeSplit(isolated, tail, head, remaining, "paper")


def _iterated_median(values: np.ndarray, rounds: int, below: bool) -> np.ndarray:
    """The official ``get_partial_sorted_idx``: ``rounds`` times keep the values at/below (above) the median."""
    keep = np.arange(values.size)
    for _ in range(rounds):
        median = np.median(values[keep])
        keep = np.flatnonzero(values <= median) if below else np.flatnonzero(values >= median)
    return keep


def _official_split(edge_index: np.ndarray, num_nodes: int) -> DegreeSplit:
    degrees = node_degrees(edge_index, num_nodes) + 1  # the official code counts the self loop
    low = _iterated_median(degrees, rounds=4, below=True)  # 'top6'
    low = low[np.argsort(degrees[low], kind="stable")]
    isolated = np.zeros(num_nodes, dtype=bool)
    tail = np.zeros(num_nodes, dtype=bool)
    isolated[low[: low.size // 2]] = True
    tail[low[low.size // 2 :]] = True
    head = np.zeros(num_nodes, dtype=bool)
    head[_iterated_median(degrees, rounds=5, below=False)] = True  # 'bottom3'
    return DegreeSplit(isolated, tail, head, isolate_nodes(edge_index, isolated), "official")


def degree_split(edge_index: np.ndarray, num_nodes: int, rule: SplitRule = "paper", fraction: float = 0.1, seed: int = 0) -> DegreeSplit:
    """Build the isolation / tail / head split of a graph.

    Args:
        edge_index: int64 ``[2, E]`` with both directions of every undirected edge.
        num_nodes: ``N``.
        rule: ``"paper"`` (§5.1, ``fraction`` of the nodes each) or ``"official"`` (iterated medians).
        fraction: Size of each split under the paper rule.
        seed: Seed of the random tie-breaking (paper rule).

    Raises:
        ConfigError: unknown rule or a fraction that leaves a split empty or overlapping.
        DataError: the graph has no edge.
    """
    if rule not in SPLIT_RULES:
        raise ConfigError(f"split must be one of {SPLIT_RULES}, got {rule!r}")
    if not 0 < fraction < 1:
        raise ConfigError(f"split_fraction must be in (0, 1), got {fraction}")
    if edge_index.shape[1] == 0:
        raise DataError("the graph has no edges: a degree split (and any GNN) needs a graph")
    if rule == "paper":
        return _paper_split(edge_index, num_nodes, fraction, np.random.default_rng(seed))
    return _official_split(edge_index, num_nodes)


def label_split(
    y: np.ndarray,
    rule: LabelSplit = "auto",
    *,
    train_mask: np.ndarray | None = None,
    val_mask: np.ndarray | None = None,
    num_train: int = 600,
    num_val: int = 500,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / evaluation masks.

    Every split evaluates on *all* labelled nodes outside train and validation, as the official code
    evaluates on all non-training nodes, minus the validation nodes that select the models here.

    Args:
        y: ``[N]`` labels (``-1`` = unlabelled, never used).
        rule: ``"first_n"``: the first ``num_train`` node ids train, the next ``num_val`` validate (the
            official code's Cora split, whose Planetoid ordering puts labelled nodes first);
            ``"public"``: the dataset's own ``train_mask`` / ``val_mask``; ``"random"``: a seeded random
            ``num_train`` / ``num_val``; ``"auto"``: ``public`` when masks are given, else ``first_n``.
        train_mask: The dataset's train mask (for ``public``).
        val_mask: The dataset's validation mask (for ``public``).
        num_train: Training nodes for ``first_n`` / ``random``.
        num_val: Validation nodes for ``first_n`` / ``random``.
        seed: Seed for ``random``.

    Returns:
        ``(train, val, evaluation)`` bool masks.

    Raises:
        ConfigError: an unknown rule, ``public`` without masks, or sizes that leave nothing to evaluate.
        DataError: ``public`` masks that overlap (a node both trains and validates).
    """
    if rule not in LABEL_SPLITS:
        raise ConfigError(f"label_split must be one of {LABEL_SPLITS}, got {rule!r}")
    num_nodes = y.shape[0]
    labelled = y >= 0
    if rule == "auto":
        rule = "public" if train_mask is not None and val_mask is not None else "first_n"
    if rule == "public":
        if train_mask is None or val_mask is None:
            raise ConfigError("label_split=public needs the dataset's train and validation masks")
        from iclr22.coldbrew.graph import check_disjoint_masks  # here: graph.py imports torch, this module does not

        check_disjoint_masks(train_mask, val_mask, "the dataset's public split")
        train, val = train_mask.astype(bool) & labelled, val_mask.astype(bool) & labelled
    else:
        if num_train < 1 or num_val < 1 or num_train + num_val >= int(labelled.sum()):
            raise ConfigError(f"num_train={num_train} and num_val={num_val} must be positive and leave labelled nodes to evaluate")
        order = np.flatnonzero(labelled)
        if rule == "random":
            order = np.random.default_rng(seed).permutation(order)
        train = np.zeros(num_nodes, dtype=bool)
        val = np.zeros(num_nodes, dtype=bool)
        train[order[:num_train]] = True
        val[order[num_train : num_train + num_val]] = True
    evaluation = labelled & ~train & ~val
    if not train.any() or not val.any() or not evaluation.any():
        raise ConfigError(f"label split '{rule}' leaves an empty train, validation or evaluation set")
    return train, val, evaluation
