"""GRDA — Graph-Relational Domain Adaptation (Xu et al., ICLR 2022) — and its adversarial baselines.

The domains are the nodes of a known domain graph A. An encoder E(x, u) maps an input x and the index
u of its domain to a representation e; a predictor F(e) is trained on the labelled source domains; a
graph discriminator D(e) → z is trained to reconstruct A from pairs of encodings, and the encoder is
trained to defeat it (paper, Eq. 2-4)::

    min_{E,F} max_D   L_f(E, F) − λ L_d(D, E)
    L_f = E_source[ ℓ(F(E(x, u)), y) ]
    L_d = E_{(x,u),(x',u')}[ −A_{uu'} log σ(zᵀz') − (1 − A_{uu'}) log(1 − σ(zᵀz')) ],   z = D(E(x, u))

At the equilibrium a clique graph gives classic (uniform) alignment and other graphs give graph-shaped
alignment. The same training loop runs the paper's baselines on the same E and F: source-only, DANN,
CDANN, ADDA and MDD (paper Table 1/2).

Read top to bottom: graph utilities, the GRDA losses, the domain-index pre-training, then the estimator
(:class:`AdversarialAdapter`, :class:`GRDA`) whose :meth:`~AdversarialAdapter._train_step` is one step of
the algorithm.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import fit_epochs
from iclr22.grda.model import (
    BinaryDomainDiscriminator,
    DomainClassifier,
    DomainIndexNet,
    Encoder,
    GraphDiscriminator,
    Predictor,
    init_normal_,
)

__all__ = [
    "METHODS",
    "as_adjacency",
    "adjacency_from_edges",
    "adjacency_from_similarity",
    "graph_distance_to",
    "sample_domain_subgraph",
    "graph_discriminator_loss",
    "domain_index_loss",
    "fit_domain_embedding",
    "AdversarialAdapter",
    "GRDA",
    "fit_grda",
]

#: The adaptation methods the estimator runs: GRDA and the baselines of the paper's tables.
METHODS = ("source_only", "dann", "cdann", "adda", "mdd", "grda")


# =================================================================================== the domain graph
def adjacency_from_edges(edges: Any, num_domains: int, where: str = "edges") -> np.ndarray:
    """A symmetric 0/1 adjacency ``[D, D]`` from an edge list ``[E, 2]`` of domain ids (self loops dropped).

    Raises:
        DataError: the list is not ``[E, 2]`` integers in ``0..D-1``.
    """
    edges = np.asarray(edges)
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise DataError(f"{where}: an edge list must have shape [E, 2], found {edges.shape}")
    if edges.dtype.kind == "f" and not np.all(edges == np.round(edges)):
        raise DataError(f"{where}: edge endpoints must be whole domain ids")
    edges = edges.astype(np.int64)
    if edges.size and (edges.min() < 0 or edges.max() >= num_domains):
        raise DataError(f"{where}: edge endpoint out of range 0..{num_domains - 1} (found {edges.min()}..{edges.max()})")
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
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise DataError(f"similarity: expected a square [D, D] matrix, found shape {sim.shape}")
    if not np.all(np.isfinite(sim)):
        raise DataError("similarity: holds NaN or infinite values")
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
    array = np.asarray(graph.detach().cpu().numpy() if isinstance(graph, Tensor) else graph)
    if array.ndim == 2 and array.shape[1] == 2 and array.shape[0] != 2:
        if array.dtype.kind not in "biuf":
            raise DataError(f"{where}: edge list must hold integer domain ids, found dtype {array.dtype}")
        inferred = int(array.max()) + 1 if array.size else 0
        return adjacency_from_edges(array, num_domains if num_domains is not None else inferred, where)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise DataError(f"{where}: the domain graph must be a square [D, D] adjacency matrix (or an [E, 2] edge list), found shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: adjacency must be numeric, found dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise DataError(f"{where}: adjacency holds NaN or infinite values")
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


# ==================================================================================== the GRDA losses
def sample_domain_subgraph(adjacency: np.ndarray, num_sampled: int, rng: np.random.Generator) -> np.ndarray:
    """The domains whose encodings enter one step's discriminator loss (official ``__sub_graph__``).

    With probability ½ a uniform random subset of ``num_sampled`` domains; otherwise concatenated
    random-walk chains: start at a random unvisited node and walk to random unvisited neighbours until
    stuck, then start a new chain, until ``num_sampled`` nodes are chosen. Chains keep connected pairs in
    the sample, so both terms of the balanced loss are populated on sparse graphs.
    """
    num_domains = adjacency.shape[0]
    if not 2 <= num_sampled <= num_domains:
        raise ConfigError(f"num_sampled_domains must be in 2..{num_domains}, got {num_sampled}")
    if rng.integers(0, 2) == 0:
        return rng.choice(num_domains, size=num_sampled, replace=False)
    visited = np.zeros(num_domains, dtype=bool)
    chosen: list[int] = []
    while len(chosen) < num_sampled:
        node = int(rng.choice(np.flatnonzero(~visited)))
        visited[node] = True
        chosen.append(node)
        while len(chosen) < num_sampled:
            candidates = np.flatnonzero(~visited & (adjacency[node] > 0))
            if candidates.size == 0:
                break
            node = int(rng.choice(candidates))
            visited[node] = True
            chosen.append(node)
    return np.asarray(chosen, dtype=np.int64)


def graph_discriminator_loss(z: Tensor, adjacency: Tensor, sampled: Tensor | None = None) -> Tensor:
    """L_d of the paper (Eq. 3), balanced and scaled as in the official code.

    For every pair i < j of sampled domains and every batch position b, the logit ⟨z_{i,b}, z_{j,b}⟩ is
    scored with binary cross-entropy against A_ij. The loss is the mean over connected pairs and the
    mean over unconnected pairs, averaged (so sparse graphs do not drown the edges), times the number of
    domains D. When a sample has only one kind of pair, that kind's mean is used alone (the official
    code divides by zero there).

    Args:
        z: ``[D, B, k]`` discriminator outputs, one row per domain (B encodings each).
        adjacency: ``[D, D]`` 0/1 domain graph.
        sampled: Indices of the sampled domains (all when ``None``).

    Returns:
        The scalar loss.
    """
    num_domains = adjacency.shape[0]
    if sampled is None:
        sampled = torch.arange(num_domains, device=z.device)
    zs = z[sampled]
    num = zs.shape[0]
    logits = torch.einsum("ibk,jbk->ijb", zs, zs)
    pair_i, pair_j = torch.triu_indices(num, num, offset=1, device=z.device)
    pair_logits = logits[pair_i, pair_j]  # [P, B]
    pair_labels = adjacency[sampled][:, sampled][pair_i, pair_j].to(z.dtype)  # [P]
    per_pair = F.binary_cross_entropy_with_logits(
        pair_logits, pair_labels[:, None].expand_as(pair_logits), reduction="none"
    ).mean(dim=1)
    connected = pair_labels > 0.5
    parts = [per_pair[mask].mean() for mask in (connected, ~connected) if bool(mask.any())]
    return torch.stack(parts).mean() * num_domains


def domain_index_loss(u: Tensor, adjacency: Tensor, sampled: Tensor | None = None) -> Tensor:
    """Reconstruction loss of the domain indices (official ``loss_G``): mean BCE of σ(u_iᵀu_j) vs A_ij, i < j.

    Args:
        u: ``[D, k]`` domain indices.
        adjacency: ``[D, D]`` 0/1 domain graph.
        sampled: Indices of the sampled domains (all when ``None``).
    """
    if sampled is None:
        sampled = torch.arange(adjacency.shape[0], device=u.device)
    us = u[sampled]
    pair_i, pair_j = torch.triu_indices(us.shape[0], us.shape[0], offset=1, device=u.device)
    logits = (us[pair_i] * us[pair_j]).sum(-1)
    labels = adjacency[sampled][:, sampled][pair_i, pair_j].to(u.dtype)
    return F.binary_cross_entropy_with_logits(logits, labels)


def fit_domain_embedding(
    adjacency: Any,
    dim: int = 2,
    hidden: int = 64,
    steps: int = 1000,
    lr: float = 1e-4,
    num_sampled: int | None = None,
    random_state: int = 0,
    num_threads: int | None = 1,
) -> np.ndarray:
    """Pre-train domain indices on the graph alone (how the official ``g_encode_*.pkl`` were derived).

    Trains :class:`~iclr22.grda.model.DomainIndexNet` (one-hot → ``hidden`` → ``dim``) with
    :func:`domain_index_loss` on subgraphs drawn by :func:`sample_domain_subgraph`, Adam at ``lr``.

    The default ``lr`` is the official GNet learning rate ``lr_g = 1e-4``. A 10x faster rate lets the
    unregularised dot-product loss push a few nodes far out (on the 48-state graph three states reach
    ~70x the median norm), and the encoder then extrapolates wildly for those domains.

    Returns:
        ``[D, dim]`` float32 embeddings, to pass as ``domain_embedding`` to :meth:`AdversarialAdapter.fit`.
    """
    adjacency_np = as_adjacency(adjacency, where="fit_domain_embedding")
    num_domains = adjacency_np.shape[0]
    num_sampled = num_domains if num_sampled is None else num_sampled
    generator = torch.Generator().manual_seed(int(random_state))
    rng = np.random.default_rng(random_state)
    net = DomainIndexNet(num_domains, dim, hidden)
    init_normal_(net, generator=generator)
    adjacency_t = torch.as_tensor(adjacency_np)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    with _torch_threads(num_threads):
        for _ in range(steps):
            sampled = torch.as_tensor(sample_domain_subgraph(adjacency_np, num_sampled, rng))
            loss = domain_index_loss(net.all_domains(), adjacency_t, sampled)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            return net.all_domains().numpy().astype(np.float32)


def _init_pytorch_default_(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's own ``nn.Linear`` initialisation (Kaiming-uniform weights, uniform biases), seeded."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


@contextlib.contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run with ``num_threads`` intra-op threads, then restore. GRDA's networks are small: on a shared
    2-core machine one thread is ~10x faster than two that wait on each other."""
    previous = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by −λ (the encoder's side of the min-max)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, lam: float) -> Tensor:  # type: ignore[override]
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return -ctx.lam * grad, None


def reverse_gradient(x: Tensor, lam: float) -> Tensor:
    """``x`` with its gradient scaled by −λ: a loss L(D(reverse_gradient(e, λ))) trains D to minimise L
    and the encoder to minimise −λL, in one backward pass."""
    return _ReverseGradient.apply(x, lam)


# ======================================================================================== the estimator
class _DomainBatches:
    """Every training step takes ``batch`` samples of *every* domain (official ``SeqToyDataset``).

    An epoch is ``ceil(largest domain / batch)`` steps; each domain walks through its own random
    permutation and wraps around, so small domains are revisited within an epoch.

    With ``aligned=True`` one permutation of within-domain positions is shared by all domains, so
    slot b of a step holds the k-th sample (file order) of every domain — the official code's pairing,
    in which the graph discriminator's pairs (e_{i,b}, e_{j,b}) are k-th samples of two domains.
    """

    def __init__(self, members: list[np.ndarray], batch: int, rng: np.random.Generator, aligned: bool = False) -> None:
        self.members, self.batch, self.rng, self.aligned = members, batch, rng, aligned
        self.steps_per_epoch = max(1, math.ceil(max(len(m) for m in members) / batch))

    def epoch(self) -> Iterator[np.ndarray]:
        if self.aligned:
            shared = self.rng.permutation(max(len(m) for m in self.members))
            perms = [m[shared % len(m)] for m in self.members]
        else:
            perms = [self.rng.permutation(m) for m in self.members]
        offsets = np.arange(self.batch)
        for step in range(self.steps_per_epoch):
            yield np.stack([p[(step * self.batch + offsets) % len(p)] for p in perms])


class _TrainState:
    """Optimisers, schedulers and the sampling RNG, saved together in checkpoints (``fit_epochs``'s optimizer)."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], schedulers: list[Any], rng: np.random.Generator) -> None:
        self.optimizers, self.schedulers, self.rng = optimizers, schedulers, rng

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": [s.state_dict() for s in self.schedulers],
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        for scheduler, s in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(s)
        self.rng.bit_generator.state = state["rng"]


@dataclass
class _Batch:
    x: Tensor  # [D, B, F]
    y: Tensor  # [D, B] (classes) or [D, B, m] (values)
    domain: Tensor  # [D, B]


class AdversarialAdapter:
    """Domain adaptation across many domains: GRDA or one of its baselines, scikit-learn style.

    ``fit`` learns from every domain's inputs, the labels of the source domains and the domain graph;
    ``predict`` then serves any domain of the graph. Training follows the official toy code: every step
    draws ``batch_per_domain`` samples of every domain; Adam (β = 0.9, 0.999) for E, F and D; learning
    rates halve every ``lr_half_life`` epochs; networks as in :mod:`iclr22.grda.model`.

    Args:
        method: ``"grda"`` (graph discriminator, Eq. 3), ``"dann"`` (D classifies the domain id),
            ``"cdann"`` (D conditioned on the prediction), ``"adda"`` (D separates source from target),
            ``"mdd"`` (margin disparity discrepancy with an adversarial predictor) or ``"source_only"``.
        task: ``"classification"`` (NLL on ``log(softmax + 1e-4)``) or ``"regression"`` (MSE).
        hidden: Width ``nh`` of every network (official 512).
        domain_index: ``"auto"`` (the given ``domain_embedding`` if any, else ``"pretrained"``),
            ``"given"``, ``"pretrained"`` (:func:`fit_domain_embedding` on the graph, then fixed — how the
            official embeddings were made), ``"joint"`` (learned with E, plus the graph reconstruction
            loss) or ``"onehot"`` (the one-hot domain id, no graph information in u).
        index_dim: Dimension of a pre-trained or joint domain index (official ``nt = 2``).
        disc_dim: Output dimension of the graph discriminator (official ``nd_out = 2``).
        lambda_adv: λ, weight of the adversarial term in the encoder's loss (official ``lambda_gan``).
        lr: Learning rate of E and F (official ``lr_e``).
        lr_disc: Learning rate of D (official ``lr_d``; default ``lr``).
        lr_index: Learning rate of the domain-index network, both when it is pre-trained
            (``"pretrained"``, :func:`fit_domain_embedding`) and when it is learned jointly (official
            ``lr_g`` = 1e-4).
        epochs: Training epochs (official 500).
        batch_per_domain: Samples of each domain per step (official 10).
        num_sampled_domains: Domains in each discriminator loss (official 10 of 15, 30 of 60; default
            ``max(2, round(2D/3))``).
        update: ``"paper"`` — D descends ∇L_d only (the paper's min-max); ``"official"`` — the official
            code's update order, in which D's gradient is (1 − λ)∇L_d (so D never trains at λ = 1). Only
            GRDA and DANN are affected in the official code; here ``"official"`` applies to both.
        lr_half_life: Epochs over which the learning rates halve (ExponentialLR, γ = 0.5^(1/100)).
        standardize: Standardise inputs with one global mean and std over all samples given to ``fit``
            (official preprocessing).
        mdd_lambda_src, mdd_lambda_tgt: MDD weights of the source agreement / target disagreement terms.
        device: ``"cpu"`` or ``"cuda"``.
        random_state: Seed of the initialisation and of all sampling.
        checkpoint_path: Resume from / save to this file (weights-only).
        checkpoint_every: Save every this many epochs (0: only at the end).
        verbose: Show a progress bar (also ``ICLR22_PROGRESS``).

    Attributes (after ``fit``):
        encoder_, predictor_, discriminator_, domain_index_: The trained networks.
        adjacency_: The ``[D, D]`` domain graph. source_domains_, target_domains_: Domain ids.
        domain_embedding_: ``[D, k]`` domain indices used (``None`` for joint / one-hot).
        x_mean_, x_std_: Standardisation. classes_ / n_outputs_: Label space.
        history_: Per-epoch mean losses (and ``eval`` metric when ``eval_set`` was given).
    """

    def __init__(
        self,
        method: str = "grda",
        *,
        task: str = "classification",
        hidden: int = 512,
        domain_index: str = "auto",
        index_dim: int = 2,
        disc_dim: int = 2,
        lambda_adv: float = 1.0,
        lr: float = 1e-4,
        lr_disc: float | None = None,
        lr_index: float = 1e-4,
        epochs: int = 500,
        batch_per_domain: int = 10,
        num_sampled_domains: int | None = None,
        update: str = "paper",
        lr_half_life: float = 100.0,
        init: str = "official",
        pairing: str = "random",
        num_threads: int | None = 1,
        standardize: bool = True,
        mdd_lambda_src: float = 0.5,
        mdd_lambda_tgt: float = 0.5,
        device: str = "cpu",
        random_state: int = 0,
        checkpoint_path: str | os.PathLike | None = None,
        checkpoint_every: int = 0,
        verbose: bool = False,
    ) -> None:
        self.method = method
        self.task = task
        self.hidden = hidden
        self.domain_index = domain_index
        self.index_dim = index_dim
        self.disc_dim = disc_dim
        self.lambda_adv = lambda_adv
        self.lr = lr
        self.lr_disc = lr_disc
        self.lr_index = lr_index
        self.epochs = epochs
        self.batch_per_domain = batch_per_domain
        self.num_sampled_domains = num_sampled_domains
        self.update = update
        self.lr_half_life = lr_half_life
        self.init = init
        self.pairing = pairing
        self.num_threads = num_threads
        self.standardize = standardize
        self.mdd_lambda_src = mdd_lambda_src
        self.mdd_lambda_tgt = mdd_lambda_tgt
        self.device = device
        self.random_state = random_state
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.verbose = verbose

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn convention)."""
        return {name: getattr(self, name) for name in _init_param_names()}

    def set_params(self, **params: Any) -> AdversarialAdapter:
        """Set constructor parameters (scikit-learn convention); unknown names raise ``ConfigError``."""
        known = set(_init_param_names())
        for name, value in params.items():
            if name not in known:
                raise ConfigError(f"unknown parameter {name!r}; known: {', '.join(sorted(known))}")
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        if self.task not in ("classification", "regression"):
            raise ConfigError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.domain_index not in ("auto", "given", "pretrained", "joint", "onehot"):
            raise ConfigError(f"domain_index must be auto, given, pretrained, joint or onehot, got {self.domain_index!r}")
        if self.init not in ("official", "pytorch"):
            raise ConfigError(f"init must be 'official' or 'pytorch', got {self.init!r}")
        if self.pairing not in ("random", "aligned"):
            raise ConfigError(f"pairing must be 'random' or 'aligned', got {self.pairing!r}")
        if self.update not in ("paper", "official"):
            raise ConfigError(f"update must be 'paper' or 'official', got {self.update!r}")
        for name in ("hidden", "index_dim", "disc_dim", "batch_per_domain"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.epochs < 0:
            raise ConfigError(f"epochs must be non-negative, got {self.epochs}")
        for name in ("lr", "lr_index", "lr_half_life"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lambda_adv < 0:
            raise ConfigError(f"lambda_adv must be non-negative, got {self.lambda_adv}")

    def _check_inputs(self, X: Any, domain: Any, where: str, against_fitted_graph: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(X)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.dtype.kind not in "biuf":
            raise DataError(f"{where}: X must be a numeric [N, F] array, found {x.dtype} with shape {x.shape}")
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            row = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise DataError(f"{where}: X holds NaN or infinite values (first at row {row})")
        d = np.asarray(domain)
        if d.shape != (x.shape[0],):
            raise DataError(f"{where}: domain must have one id per row of X ({x.shape[0]}), found shape {d.shape}")
        if d.dtype.kind == "f":
            if not np.all(np.isfinite(d)) or not np.all(d == np.round(d)):
                raise DataError(f"{where}: domain ids must be whole numbers")
        elif d.dtype.kind not in "iu":
            raise DataError(f"{where}: domain ids must be integers, found dtype {d.dtype}")
        d = d.astype(np.int64)
        if against_fitted_graph and hasattr(self, "adjacency_"):
            self._check_domain_ids(d, self.adjacency_.shape[0], where)
        return x, d

    @staticmethod
    def _check_domain_ids(domain: np.ndarray, num_domains: int, where: str) -> None:
        bad = (domain < 0) | (domain >= num_domains)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where}: domain id {int(domain[row])} (row {row}) has no node in the domain graph "
                f"(nodes are 0..{num_domains - 1})"
            )

    def _labels(self, y: Any, domain: np.ndarray, sources: np.ndarray | None, num_domains: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels of the source samples, and the source / target domain ids.

        Missing labels are ``NaN`` (regression) or ``NaN`` / negative ids (classification); target
        domains' labels are ignored, so they may be anything.
        """
        labels = np.asarray(y)
        if labels.shape[:1] != (domain.shape[0],):
            raise DataError(f"fit: y must have one entry per row of X ({domain.shape[0]}), found shape {labels.shape}")
        if labels.dtype.kind not in "biuf":
            raise DataError(f"fit: y must be numeric, found dtype {labels.dtype}")
        if self.task == "classification":
            if labels.ndim != 1:
                raise DataError(f"fit: classification labels must be a 1-D array of class ids, found shape {labels.shape}")
            as_float = labels.astype(np.float64)
            present = np.isfinite(as_float) & (as_float >= 0)
            if np.any(present & (as_float != np.round(as_float))):
                raise DataError("fit: classification labels must be whole class ids (use task='regression' for values)")
        else:
            as_float = labels.astype(np.float64)
            present = np.isfinite(as_float).reshape(len(as_float), -1).all(axis=1)
        domains_with_data = np.unique(domain)
        if sources is None:
            # Infer the sources: domains whose samples are all labelled.
            labelled = [d for d in domains_with_data if present[domain == d].all()]
            sources = np.asarray(labelled, dtype=np.int64)
        else:
            sources = np.unique(np.asarray(sources).reshape(-1))
            if sources.dtype.kind == "f" and not np.all(sources == np.round(sources)):
                raise DataError("fit: source_domains must be domain ids")
            sources = sources.astype(np.int64)
            self._check_domain_ids(sources, num_domains, "fit: source_domains")
        if sources.size == 0:
            raise DataError(
                "fit: no source domain — give source_domains, or labels for every sample of at least one domain "
                "(missing labels are NaN, or negative class ids)"
            )
        for d in sources:
            members = domain == d
            if not members.any():
                raise DataError(f"fit: source domain {int(d)} has no samples")
            missing = int((~present[members]).sum())
            if missing:
                labelled_targets = int(present[~np.isin(domain, sources)].sum())
                extra = f"; labels were given for {labelled_targets} target-domain samples instead" if labelled_targets else ""
                raise DataError(
                    f"fit: source domain {int(d)} has {missing} of {int(members.sum())} samples without a label "
                    f"(labels must be given for the source domains{extra})"
                )
        targets = np.setdiff1d(np.arange(num_domains), sources)
        return as_float, sources, targets

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any,
        domain: Any,
        graph: Any,
        source_domains: Sequence[int] | None = None,
        domain_embedding: Any = None,
        eval_set: tuple[Any, Any, Any] | None = None,
        eval_every: int = 20,
    ) -> AdversarialAdapter:
        """Adapt from the labelled source domains to every other domain of the graph.

        Args:
            X: ``[N, F]`` inputs of all domains (sources and targets).
            y: ``[N]`` class ids or ``[N]`` / ``[N, m]`` values; entries of target domains are ignored
                (missing labels: NaN, or a negative class id).
            domain: ``[N]`` domain id of every row, ``0..D-1``.
            graph: The domain graph: a ``[D, D]`` symmetric 0/1 adjacency, or an ``[E, 2]`` edge list
                (then every domain id must appear in ``domain`` or an edge). Build one from similarities
                with :func:`adjacency_from_similarity`.
            source_domains: Labelled domains; inferred from the labels when ``None``.
            domain_embedding: ``[D, k]`` pre-computed domain indices (e.g. the official ``g_encode``).
            eval_set: ``(X, y, domain)`` scored every ``eval_every`` epochs into ``history_`` (the
                official code's test every 20 epochs); on target domains this is a diagnostic only.
            eval_every: Epochs between evaluations.

        Returns:
            ``self``.

        Raises:
            DataError: malformed arrays, a graph that is not square / symmetric / 0-1, a domain id with
                no node, no source domain, source domains without labels.
        """
        self._check_params()
        x, domain_ids = self._check_inputs(X, domain, "fit", against_fitted_graph=False)
        is_edge_list = np.ndim(graph) == 2 and np.shape(graph)[1] == 2 and np.shape(graph)[0] != 2
        # An edge list does not say how many nodes there are: every id in ``domain`` must be one.
        adjacency = as_adjacency(graph, int(domain_ids.max()) + 1 if is_edge_list else None, "fit: graph")
        num_domains = adjacency.shape[0]
        self._check_domain_ids(domain_ids, num_domains, "fit")
        empty = np.setdiff1d(np.arange(num_domains), domain_ids)
        if empty.size:
            raise DataError(f"fit: domain(s) {empty.tolist()} of the graph have no samples; every node needs data to adapt to")
        labels, sources, targets = self._labels(y, domain_ids, source_domains, num_domains)
        if self.method in ("adda", "mdd") and targets.size == 0:
            raise DataError(f"fit: {self.method} needs at least one unlabelled target domain")

        self.adjacency_ = adjacency
        self.num_domains_ = num_domains
        self.source_domains_, self.target_domains_ = sources, targets
        self.n_features_in_ = x.shape[1]
        if self.standardize:
            self.x_mean_ = x.mean(axis=0).astype(np.float32)
            std = x.std(axis=0).astype(np.float32)
            self.x_std_ = np.where(std > 0, std, 1.0).astype(np.float32)
        else:
            self.x_mean_ = np.zeros(x.shape[1], dtype=np.float32)
            self.x_std_ = np.ones(x.shape[1], dtype=np.float32)

        source_rows = np.isin(domain_ids, sources)
        if self.task == "classification":
            self.classes_ = np.unique(labels[source_rows]).astype(np.int64)
            if self.classes_.size < 2:
                raise DataError(f"fit: the source domains hold a single class ({self.classes_.tolist()}); need at least two")
            class_of = {c: i for i, c in enumerate(self.classes_)}
            encoded = np.full(len(labels), -1, dtype=np.int64)
            encoded[source_rows] = [class_of[int(v)] for v in labels[source_rows]]
            y_train = torch.as_tensor(encoded)
            out_dim = self.classes_.size
        else:
            values = labels.reshape(len(labels), -1)
            self.n_outputs_ = values.shape[1]
            y_train = torch.as_tensor(np.nan_to_num(values, nan=0.0), dtype=torch.float32)
            out_dim = self.n_outputs_

        self.domain_embedding_ = self._resolve_domain_index(domain_embedding, adjacency)
        self._build(out_dim)

        device = torch.device(self.device)
        x_train = torch.as_tensor(self._standardized(x), device=device)
        y_train = y_train.to(device)
        domain_t = torch.as_tensor(domain_ids, device=device)
        adjacency_t = torch.as_tensor(adjacency, device=device)
        rng = np.random.default_rng(self.random_state)
        batches = _DomainBatches([np.flatnonzero(domain_ids == d) for d in range(num_domains)], self.batch_per_domain, rng, aligned=self.pairing == "aligned")
        self._source_mask = torch.zeros(num_domains, dtype=torch.bool, device=device)
        self._source_mask[torch.as_tensor(sources, device=device)] = True
        num_sampled = self.num_sampled_domains or max(2, round(2 * num_domains / 3))
        num_sampled = min(num_sampled, num_domains)

        optimizers, schedulers = self._optimizers()
        state = _TrainState(optimizers, schedulers, rng)
        eval_data = None
        if eval_set is not None:
            ex, ed = self._check_inputs(eval_set[0], eval_set[2], "fit: eval_set")
            eval_data = (ex, np.asarray(eval_set[1]), ed)

        def train_epoch(epoch: int) -> dict[str, float]:
            self._set_train(True)
            totals: dict[str, float] = {}
            for rows in batches.epoch():
                index = torch.as_tensor(rows, device=device)
                batch = _Batch(x_train[index], y_train[index], domain_t[index])
                logs = self._train_step(batch, adjacency_t, num_sampled, rng, optimizers)
                for key, value in logs.items():
                    totals[key] = totals.get(key, 0.0) + value
            for scheduler in schedulers:
                scheduler.step()
            logs = {k: v / batches.steps_per_epoch for k, v in totals.items()}
            if eval_data is not None and (epoch + 1) % eval_every == 0:
                logs["eval"] = self._metric(*eval_data)
            return logs

        previous = os.environ.get("ICLR22_PROGRESS")
        if self.verbose and previous is None:
            os.environ["ICLR22_PROGRESS"] = "1"
        try:
            with _torch_threads(self.num_threads):
                result = fit_epochs(
                    self._modules,
                    state,
                    train_epoch,
                    None,
                    self.epochs,
                    checkpoint_path=self.checkpoint_path,
                    checkpoint_every=self.checkpoint_every,
                    desc=f"{self.method}",
                    restore_best=False,
                )
        finally:
            if self.verbose and previous is None:
                os.environ.pop("ICLR22_PROGRESS", None)
        self.history_ = result.history
        self._set_train(False)
        return self

    def _resolve_domain_index(self, domain_embedding: Any, adjacency: np.ndarray) -> np.ndarray | None:
        mode = self.domain_index
        if mode == "auto":
            mode = "given" if domain_embedding is not None else "pretrained"
        self.domain_index_mode_ = mode
        if mode == "given":
            if domain_embedding is None:
                raise DataError("fit: domain_index='given' needs domain_embedding ([D, k] array)")
            embedding = np.asarray(domain_embedding, dtype=np.float32)
            if embedding.ndim != 2 or embedding.shape[0] != adjacency.shape[0]:
                raise DataError(f"fit: domain_embedding must be [D={adjacency.shape[0]}, k], found shape {embedding.shape}")
            if not np.all(np.isfinite(embedding)):
                raise DataError("fit: domain_embedding holds NaN or infinite values")
            return embedding
        if mode == "pretrained":
            return fit_domain_embedding(adjacency, self.index_dim, lr=self.lr_index, random_state=self.random_state)
        if mode == "onehot":
            return np.eye(adjacency.shape[0], dtype=np.float32)
        return None  # joint

    def _build(self, out_dim: int) -> None:
        generator = torch.Generator().manual_seed(int(self.random_state))
        num_domains, hidden = self.num_domains_, self.hidden
        fixed = None if self.domain_embedding_ is None else torch.as_tensor(self.domain_embedding_)
        index_dim = self.index_dim if fixed is None else fixed.shape[1]
        self.domain_index_ = DomainIndexNet(num_domains, index_dim, hidden, fixed=fixed)
        self.encoder_ = Encoder(self.n_features_in_, index_dim, hidden)
        self.predictor_ = Predictor(hidden, out_dim, self.task)
        cond_dim = out_dim
        self.discriminator_: nn.Module | None = {
            "grda": lambda: GraphDiscriminator(hidden, self.disc_dim),
            "dann": lambda: DomainClassifier(hidden, num_domains, relu_logits=True),
            "cdann": lambda: DomainClassifier(hidden, num_domains, cond_dim=cond_dim),
            "adda": lambda: BinaryDomainDiscriminator(hidden),
            "mdd": lambda: Predictor(hidden, out_dim, self.task),
            "source_only": lambda: None,
        }[self.method]()
        modules = {"index": self.domain_index_, "encoder": self.encoder_, "predictor": self.predictor_}
        if self.discriminator_ is not None:
            modules["discriminator"] = self.discriminator_
        self._modules = nn.ModuleDict(modules)
        # One generator, fixed order: the same random_state gives the same initial weights.
        for name in ("index", "encoder", "predictor", "discriminator"):
            if name not in self._modules:
                continue
            if self.init == "official":
                init_normal_(self._modules[name], generator=generator)
            else:
                _init_pytorch_default_(self._modules[name], generator)
        self._modules.to(torch.device(self.device))

    def _optimizers(self) -> tuple[dict[str, torch.optim.Optimizer], list[Any]]:
        gamma = 0.5 ** (1.0 / self.lr_half_life)
        optimizers: dict[str, torch.optim.Optimizer] = {
            "encoder_predictor": torch.optim.Adam(
                list(self.encoder_.parameters()) + list(self.predictor_.parameters()), lr=self.lr, betas=(0.9, 0.999)
            )
        }
        if self.discriminator_ is not None:
            optimizers["discriminator"] = torch.optim.Adam(
                self.discriminator_.parameters(), lr=self.lr_disc or self.lr, betas=(0.9, 0.999)
            )
        if self.domain_index_.learned:
            optimizers["domain_index"] = torch.optim.Adam(self.domain_index_.parameters(), lr=self.lr_index, betas=(0.9, 0.999))
        schedulers = [torch.optim.lr_scheduler.ExponentialLR(o, gamma=gamma) for o in optimizers.values()]
        return optimizers, schedulers

    def _set_train(self, mode: bool) -> None:
        self._modules.train(mode)

    # ---------------------------------------------------------------------------------- one step
    def _prediction_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        """L_f on source samples: NLL of the smoothed log-probabilities, or MSE."""
        if self.task == "classification":
            return F.nll_loss(prediction.reshape(-1, prediction.shape[-1]), target.reshape(-1))
        return F.mse_loss(prediction, target)

    def _train_step(
        self,
        batch: _Batch,
        adjacency: Tensor,
        num_sampled: int,
        rng: np.random.Generator,
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> dict[str, float]:
        """One simultaneous update of E, F (descending L_f − λL_adv) and D (descending L_adv)."""
        src = self._source_mask
        lam = float(self.lambda_adv)
        for optimizer in optimizers.values():
            optimizer.zero_grad(set_to_none=True)

        if self.method == "source_only":
            # Only the labelled domains matter: skip the forward pass of the others.
            batch = _Batch(batch.x[src], batch.y[src], batch.domain[src])
            src = torch.ones(batch.x.shape[0], dtype=torch.bool, device=src.device)

        u = self.domain_index_(batch.domain)
        e = self.encoder_(batch.x, u)  # [D, B, h]
        prediction = self.predictor_(e)
        loss_pred = self._prediction_loss(prediction[src], batch.y[src])
        loss = loss_pred
        logs = {"pred": float(loss_pred.detach())}

        if self.method == "grda":
            # D(reverse_gradient(e)): D descends L_d, the encoder descends −λ L_d (Eq. 2).
            z = self.discriminator_(reverse_gradient(e, lam))
            sampled = torch.as_tensor(sample_domain_subgraph(self.adjacency_, num_sampled, rng), device=e.device)
            loss_adv = graph_discriminator_loss(z, adjacency, sampled)
        elif self.method == "dann":
            log_p = self.discriminator_(reverse_gradient(e, lam))
            loss_adv = F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), batch.domain.reshape(-1))
        elif self.method == "cdann":
            # Conditioned on the (detached) prediction; the official code feeds σ(log-probabilities).
            cond = torch.sigmoid(prediction.detach()) if self.task == "classification" else prediction.detach()
            log_p = self.discriminator_(reverse_gradient(e, lam), cond)
            loss_adv = F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), batch.domain.reshape(-1))
        elif self.method == "mdd":
            loss_adv = self._mdd_disparity(reverse_gradient(e, lam), prediction.detach(), src)
        elif self.method == "adda":
            # Not a zero-sum game: D separates source from target encodings; the encoder makes target
            # encodings look like source ones (−log D(e_target)). D's loss is on detached encodings.
            p_detached = self.discriminator_(e.detach())
            loss_adv = -torch.log(p_detached[src] + 1e-10).mean() - torch.log(1 - p_detached[~src] + 1e-10).mean()
            p_target = self.discriminator_(e[~src])
            loss_encoder_gan = -torch.log(p_target + 1e-10).mean()
            # The encoder's GAN term must not train D: backpropagate it first, then drop D's part.
            (loss + lam * loss_encoder_gan).backward()
            for p in self.discriminator_.parameters():
                p.grad = None
            loss = loss_adv
        else:
            loss_adv = None
        if self.domain_index_.learned:
            loss_index = domain_index_loss(self.domain_index_.all_domains(), adjacency, None)
            loss = loss + loss_index
            logs["index"] = float(loss_index.detach())
        if loss_adv is not None:
            if self.method != "adda":
                loss = loss + loss_adv
            logs["adv"] = float(loss_adv.detach())
        loss.backward()
        if self.update == "official" and self.method in ("grda", "dann"):
            # Official update order: D's gradient accumulates ∇L_d from its own backward pass and −λ∇L_d
            # from the encoder's loss, which is not detached from D.
            for p in self.discriminator_.parameters():
                if p.grad is not None:
                    p.grad.mul_(1.0 - lam)
        for optimizer in optimizers.values():
            optimizer.step()
        return logs

    def _mdd_disparity(self, e: Tensor, prediction: Tensor, src: Tensor) -> Tensor:
        """MDD's adversarial loss, minimised by the adversary F' and maximised (×λ) by the encoder.

        Classification (official code): F' agrees with F's predicted class on source samples
        (NLL of argmax F) and disagrees on target samples (NLL of log(1 − softmax F')). Regression
        (no official code): F' matches F on sources (MSE) and departs from F on targets through the
        bounded term exp(−MSE), so the game cannot diverge.
        """
        adversary = self.discriminator_(e)
        ls, lt = self.mdd_lambda_src, self.mdd_lambda_tgt
        if self.task == "classification":
            pseudo = prediction.argmax(-1)
            probs = adversary.exp()  # adversary returns log(softmax + 1e-4)
            source_term = F.nll_loss(adversary[src].reshape(-1, adversary.shape[-1]), pseudo[src].reshape(-1))
            target_log = torch.log(torch.clamp(1 - probs[~src], min=0) + 1e-10)
            target_term = F.nll_loss(target_log.reshape(-1, target_log.shape[-1]), pseudo[~src].reshape(-1))
        else:
            source_term = F.mse_loss(adversary[src], prediction[src])
            target_term = torch.exp(-F.mse_loss(adversary[~src], prediction[~src]))
        return (ls * source_term + lt * target_term) / (ls + lt)

    # ----------------------------------------------------------------------------------- inference
    def _standardized(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_mean_) / self.x_std_).astype(np.float32)

    def _require_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise ConfigError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    @torch.no_grad()
    def _forward(self, X: Any, domain: Any, where: str) -> tuple[Tensor, Tensor]:
        self._require_fitted()
        x, d = self._check_inputs(X, domain, where)
        if x.shape[1] != self.n_features_in_:
            raise DataError(f"{where}: X has {x.shape[1]} features, the model was fitted on {self.n_features_in_}")
        self._set_train(False)
        device = torch.device(self.device)
        xt = torch.as_tensor(self._standardized(x), device=device)
        dt = torch.as_tensor(d, device=device)
        with _torch_threads(self.num_threads):
            e = self.encoder_(xt, self.domain_index_(dt))
            return e, self.predictor_(e)

    def transform(self, X: Any, domain: Any) -> np.ndarray:
        """The encodings e = E(x, u_domain), ``[N, hidden]``."""
        return self._forward(X, domain, "transform")[0].cpu().numpy()

    def predict(self, X: Any, domain: Any) -> np.ndarray:
        """Class labels (classification) or values (regression; ``[N]`` for one output) for any domain of the graph."""
        out = self._forward(X, domain, "predict")[1].cpu().numpy()
        if self.task == "classification":
            return self.classes_[out.argmax(-1)]
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X: Any, domain: Any) -> np.ndarray:
        """Class probabilities ``[N, C]`` (softmax of F, without the official +1e-4 smoothing)."""
        if self.task != "classification":
            raise ConfigError("predict_proba is for task='classification'")
        log_p = self._forward(X, domain, "predict_proba")[1]
        probs = (log_p.exp() - 1e-4).clamp_min(0)
        return (probs / probs.sum(-1, keepdim=True)).cpu().numpy()

    def _metric(self, X: Any, y: Any, domain: Any) -> float:
        """Mean over the target domains of per-domain accuracy (%) or per-sample summed squared error."""
        per_domain = self.score_domains(X, y, domain)
        targets = [per_domain[int(d)] for d in self.target_domains_ if int(d) in per_domain]
        return float(np.mean(targets)) if targets else float("nan")

    def score_domains(self, X: Any, y: Any, domain: Any) -> dict[int, float]:
        """Per-domain score: accuracy in percent (classification) or the mean over samples of the squared
        error summed over outputs (regression; the TPT-48 "MSE" of the paper's lab code)."""
        _, d = self._check_inputs(X, domain, "score_domains")
        prediction = self.predict(X, domain)
        truth = np.asarray(y)
        scores: dict[int, float] = {}
        for dom in np.unique(d):
            rows = d == dom
            if self.task == "classification":
                scores[int(dom)] = float((prediction[rows] == truth[rows]).mean() * 100)
            else:
                err = (prediction[rows].reshape(rows.sum(), -1) - truth[rows].reshape(rows.sum(), -1)) ** 2
                scores[int(dom)] = float(err.sum(axis=1).mean())
        return scores

    def score(self, X: Any, y: Any, domain: Any) -> float:
        """Accuracy in [0, 1] (classification) or minus the mean squared error (regression); higher is better."""
        prediction = self.predict(X, domain)
        truth = np.asarray(y)
        if self.task == "classification":
            return float((prediction == truth).mean())
        return -float(np.mean((prediction - truth.reshape(prediction.shape)) ** 2))


def _init_param_names() -> list[str]:
    import inspect

    return [p for p in inspect.signature(AdversarialAdapter.__init__).parameters if p != "self"]


class GRDA(AdversarialAdapter):
    """Graph-Relational Domain Adaptation (Xu et al., ICLR 2022): :class:`AdversarialAdapter` with ``method="grda"``.

    Example:
        >>> model = GRDA(epochs=200).fit(X, y, domain, adjacency, source_domains=[0, 3])
        >>> model.predict(X_new, domain_new)      # any domain of the graph
    """

    def __init__(self, **params: Any) -> None:
        if params.pop("method", "grda") != "grda":
            raise ConfigError("GRDA is method='grda'; use AdversarialAdapter(method=...) for the baselines")
        super().__init__("grda", **params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep)
        params.pop("method")
        return params


def fit_grda(
    X: Any,
    y: Any,
    domain: Any,
    graph: Any,
    source_domains: Sequence[int] | None = None,
    domain_embedding: Any = None,
    **params: Any,
) -> GRDA:
    """Functional entry point: ``GRDA(**params).fit(X, y, domain, graph, source_domains, domain_embedding)``."""
    return GRDA(**params).fit(X, y, domain, graph, source_domains, domain_embedding)

