"""GRDA — Graph-Relational Domain Adaptation (Xu et al., ICLR 2022): the algorithm, and its adversarial baselines.

The reason this file is longer than 500 lines: it is the whole algorithm, meant to be read top to bottom in one
place: the GRDA losses, the domain-index pre-training, the networks of one model, the
adversaries, one training step (:func:`train_step`), the training loop (:func:`train`). The public
estimators (:class:`~iclr22.grda.estimator.GRDA`, :class:`~iclr22.grda.baselines.AdversarialAdapter`)
are in :mod:`iclr22.grda.estimator`.

The domains are the nodes of a known domain graph A. An encoder E(x, u) maps an input x and the index
u of its domain to a representation e; a predictor F(e) is trained on the labelled source domains; a
graph discriminator D(e) → z is trained to reconstruct A from pairs of encodings, and the encoder is
trained to defeat it (paper, Eq. 2-4)::

    min_{E,F} max_D   L_f(E, F) − λ L_d(D, E)
    L_f = E_source[ ℓ(F(E(x, u)), y) ]
    L_d = E_{(x,u),(x',u')}[ −A_{uu'} log σ(zᵀz') − (1 − A_{uu'}) log(1 − σ(zᵀz')) ],   z = D(E(x, u))

At the equilibrium a clique graph gives classic (uniform) alignment and other graphs give graph-shaped
alignment. The same training step runs the paper's baselines on the same E and F — source-only, DANN,
CDANN, ADDA and MDD (paper Table 1/2) — each adversary being one small loss function of
:data:`ADVERSARIES`, selected by name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr22.core.device import torch_threads
from iclr22.core.errors import ConfigError
from iclr22.core.training import fit_epochs
from iclr22.grda.graph import as_adjacency
from iclr22.grda.model import (
    BinaryDomainDiscriminator,
    DomainClassifier,
    DomainIndexNet,
    Encoder,
    GraphDiscriminator,
    Predictor,
    init_normal_,
    init_pytorch_default_,
)

__all__ = [
    "METHODS",
    "Method",
    "ADVERSARIES",
    "sample_domain_subgraph",
    "graph_discriminator_loss",
    "domain_index_loss",
    "fit_domain_embedding",
    "reverse_gradient",
    "Networks",
    "build_networks",
    "StepSettings",
    "train_step",
    "train",
]

#: An adaptation method: GRDA or one of the baselines of the paper's tables.
Method = Literal["source_only", "dann", "cdann", "adda", "mdd", "grda"]
#: Every :data:`Method`, in that order.
METHODS: tuple[str, ...] = get_args(Method)


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
    seed: int = 0,
    num_threads: int | None = 1,
) -> np.ndarray:
    """Pre-train domain indices on the graph alone (how the official ``g_encode_*.pkl`` were derived).

    Trains :class:`~iclr22.grda.model.DomainIndexNet` (one-hot → ``hidden`` → ``dim``) with
    :func:`domain_index_loss` on subgraphs drawn by :func:`sample_domain_subgraph`, Adam at ``lr``.

    The default ``lr`` is the official GNet learning rate ``lr_g = 1e-4``. A 10x faster rate lets the
    unregularised dot-product loss push a few nodes far out (on the 48-state graph three states reach
    ~70x the median norm), and the encoder then extrapolates wildly for those domains.

    Returns:
        ``[D, dim]`` float32 embeddings, to pass as ``domain_embedding`` to :meth:`iclr22.grda.estimator.GRDA.fit`.
    """
    adjacency_np = as_adjacency(adjacency, where="fit_domain_embedding")
    num_domains = adjacency_np.shape[0]
    num_sampled = num_domains if num_sampled is None else num_sampled
    generator = torch.Generator().manual_seed(int(seed))
    rng = np.random.default_rng(seed)
    net = DomainIndexNet(num_domains, dim, hidden)
    init_normal_(net, generator=generator)
    adjacency_t = torch.as_tensor(adjacency_np)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    with torch_threads(num_threads):
        for _ in range(steps):
            sampled = torch.as_tensor(sample_domain_subgraph(adjacency_np, num_sampled, rng))
            loss = domain_index_loss(net.all_domains(), adjacency_t, sampled)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            return net.all_domains().numpy().astype(np.float32)




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


# ============================================================================= the networks of a model
@dataclass
class Networks:
    """E, F, D and the domain-index network of one model (``discriminator`` is ``None`` for source-only)."""

    index: DomainIndexNet
    encoder: Encoder
    predictor: Predictor
    discriminator: nn.Module | None

    def module_dict(self) -> nn.ModuleDict:
        """All networks in one ``ModuleDict`` (index, encoder, predictor[, discriminator]): saved and moved together."""
        modules: dict[str, nn.Module] = {"index": self.index, "encoder": self.encoder, "predictor": self.predictor}
        if self.discriminator is not None:
            modules["discriminator"] = self.discriminator
        return nn.ModuleDict(modules)


def build_networks(
    method: str,
    task: str,
    num_domains: int,
    in_dim: int,
    out_dim: int,
    hidden: int,
    index_dim: int,
    disc_dim: int,
    embedding: np.ndarray | None,
    init: str,
    seed: int,
) -> Networks:
    """The networks of ``method``, initialised from one generator seeded with ``seed`` in a fixed order
    (index, encoder, predictor, discriminator), so the same seed gives the same initial weights.

    Args:
        embedding: ``[D, k]`` fixed domain indices, or ``None`` to learn them (``index_dim`` wide).
        init: ``"pytorch"`` (PyTorch's default ``nn.Linear`` init) or ``"official"`` (N(0, 0.01²), zero bias).
    """
    generator = torch.Generator().manual_seed(int(seed))
    fixed = None if embedding is None else torch.as_tensor(embedding)
    index_dim = index_dim if fixed is None else fixed.shape[1]
    index = DomainIndexNet(num_domains, index_dim, hidden, fixed=fixed)
    encoder = Encoder(in_dim, index_dim, hidden)
    predictor = Predictor(hidden, out_dim, task)
    discriminator: nn.Module | None = {
        "grda": lambda: GraphDiscriminator(hidden, disc_dim),
        "dann": lambda: DomainClassifier(hidden, num_domains, relu_logits=True),
        "cdann": lambda: DomainClassifier(hidden, num_domains, cond_dim=out_dim),
        "adda": lambda: BinaryDomainDiscriminator(hidden),
        "mdd": lambda: Predictor(hidden, out_dim, task),
        "source_only": lambda: None,
    }[method]()
    nets = Networks(index, encoder, predictor, discriminator)
    for module in nets.module_dict().values():
        if init == "official":
            init_normal_(module, generator=generator)
        else:
            init_pytorch_default_(module, generator)
    return nets


def make_optimizers(
    nets: Networks, lr: float, lr_disc: float | None, lr_index: float, lr_half_life: float
) -> tuple[dict[str, torch.optim.Optimizer], list[Any]]:
    """Adam (β = 0.9, 0.999) for E and F together, for D (``lr_disc``, else ``lr``) and for a learned domain
    index (``lr_index``); every learning rate halves every ``lr_half_life`` epochs (ExponentialLR)."""
    gamma = 0.5 ** (1.0 / lr_half_life)
    optimizers: dict[str, torch.optim.Optimizer] = {
        "encoder_predictor": torch.optim.Adam(
            list(nets.encoder.parameters()) + list(nets.predictor.parameters()), lr=lr, betas=(0.9, 0.999)
        )
    }
    if nets.discriminator is not None:
        optimizers["discriminator"] = torch.optim.Adam(nets.discriminator.parameters(), lr=lr_disc or lr, betas=(0.9, 0.999))
    if nets.index.learned:
        optimizers["domain_index"] = torch.optim.Adam(nets.index.parameters(), lr=lr_index, betas=(0.9, 0.999))
    schedulers = [torch.optim.lr_scheduler.ExponentialLR(o, gamma=gamma) for o in optimizers.values()]
    return optimizers, schedulers


# ===================================================================================== the adversaries
@dataclass
class Batch:
    """One step's samples: ``batch_per_domain`` of every domain."""

    x: Tensor  # [D, B, F]
    y: Tensor  # [D, B] (classes) or [D, B, m] (values)
    domain: Tensor  # [D, B]


@dataclass
class StepSettings:
    """What one training step needs besides the networks and the batch.

    Attributes:
        method: One of :data:`METHODS`.
        task: ``"classification"`` or ``"regression"``.
        lambda_adv: λ of Eq. 2.
        update: ``"paper"`` or ``"official"`` (the official code's update order, GRDA and DANN only).
        adjacency: ``[D, D]`` 0/1 domain graph (numpy, for the subgraph sampler).
        adjacency_t: The same graph as a tensor on the training device.
        source: ``[D]`` boolean mask of the labelled domains.
        num_sampled: Domains in each graph-discriminator loss.
        mdd_lambda_src, mdd_lambda_tgt: MDD's weights.
    """

    method: str
    task: str
    lambda_adv: float
    update: str
    adjacency: np.ndarray
    adjacency_t: Tensor
    source: Tensor
    num_sampled: int
    mdd_lambda_src: float = 0.5
    mdd_lambda_tgt: float = 0.5


@dataclass
class AdversaryInputs:
    """What an adversary's loss function sees: the encodings, F's prediction, the batch, D, and the sampler's RNG."""

    e: Tensor  # [D, B, h]
    prediction: Tensor
    batch: Batch
    discriminator: nn.Module
    settings: StepSettings
    rng: np.random.Generator


@dataclass
class AdversarialLoss:
    """An adversary's losses.

    Attributes:
        loss: The adversarial loss. In a zero-sum game (GRDA, DANN, CDANN, MDD) D descends it and the
            encoder, through :func:`reverse_gradient`, descends −λ times it: it is added to L_f.
        encoder_loss: Only for a game that is not zero-sum (ADDA): the encoder's own adversarial loss,
            backpropagated (×λ, with L_f) before D's ``loss``, without training D.
    """

    loss: Tensor
    encoder_loss: Tensor | None = None


def grda_losses(a: AdversaryInputs) -> AdversarialLoss:
    """GRDA (Eq. 3): D(reverse_gradient(e)) reconstructs the graph on a sampled subgraph of domains; D descends
    L_d, the encoder descends −λ L_d (Eq. 2)."""
    s = a.settings
    z = a.discriminator(reverse_gradient(a.e, s.lambda_adv))
    sampled = torch.as_tensor(sample_domain_subgraph(s.adjacency, s.num_sampled, a.rng), device=a.e.device)
    return AdversarialLoss(graph_discriminator_loss(z, s.adjacency_t, sampled))


def dann_losses(a: AdversaryInputs) -> AdversarialLoss:
    """DANN: D classifies the domain id of each encoding (NLL), the encoder makes it fail."""
    log_p = a.discriminator(reverse_gradient(a.e, a.settings.lambda_adv))
    return AdversarialLoss(F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), a.batch.domain.reshape(-1)))


def cdann_losses(a: AdversaryInputs) -> AdversarialLoss:
    """CDANN: DANN with D conditioned on the (detached) prediction; the official code feeds σ(log-probabilities)."""
    s = a.settings
    cond = torch.sigmoid(a.prediction.detach()) if s.task == "classification" else a.prediction.detach()
    log_p = a.discriminator(reverse_gradient(a.e, s.lambda_adv), cond)
    return AdversarialLoss(F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), a.batch.domain.reshape(-1)))


def mdd_losses(a: AdversaryInputs) -> AdversarialLoss:
    """MDD's adversarial loss, minimised by the adversary F' and maximised (×λ) by the encoder.

    Classification (official code): F' agrees with F's predicted class on source samples
    (NLL of argmax F) and disagrees on target samples (NLL of log(1 − softmax F')). Regression
    (no official code): F' matches F on sources (MSE) and departs from F on targets through the
    bounded term exp(−MSE), so the game cannot diverge.
    """
    s = a.settings
    src, prediction = s.source, a.prediction.detach()
    adversary = a.discriminator(reverse_gradient(a.e, s.lambda_adv))
    ls, lt = s.mdd_lambda_src, s.mdd_lambda_tgt
    if s.task == "classification":
        pseudo = prediction.argmax(-1)
        probs = adversary.exp()  # adversary returns log(softmax + 1e-4)
        source_term = F.nll_loss(adversary[src].reshape(-1, adversary.shape[-1]), pseudo[src].reshape(-1))
        target_log = torch.log(torch.clamp(1 - probs[~src], min=0) + 1e-10)
        target_term = F.nll_loss(target_log.reshape(-1, target_log.shape[-1]), pseudo[~src].reshape(-1))
    else:
        source_term = F.mse_loss(adversary[src], prediction[src])
        target_term = torch.exp(-F.mse_loss(adversary[~src], prediction[~src]))
    return AdversarialLoss((ls * source_term + lt * target_term) / (ls + lt))


def adda_losses(a: AdversaryInputs) -> AdversarialLoss:
    """ADDA — not a zero-sum game: D separates source from target encodings (on detached encodings); the
    encoder makes target encodings look like source ones (non-saturating −log D(e_target))."""
    src = a.settings.source
    p_detached = a.discriminator(a.e.detach())
    loss_d = -torch.log(p_detached[src] + 1e-10).mean() - torch.log(1 - p_detached[~src] + 1e-10).mean()
    p_target = a.discriminator(a.e[~src])
    return AdversarialLoss(loss_d, encoder_loss=-torch.log(p_target + 1e-10).mean())


#: Each method's adversary, by name (``None``: source-only, no adversary).
ADVERSARIES: dict[str, Callable[[AdversaryInputs], AdversarialLoss] | None] = {
    "source_only": None,
    "dann": dann_losses,
    "cdann": cdann_losses,
    "adda": adda_losses,
    "mdd": mdd_losses,
    "grda": grda_losses,
}

#: The methods whose official code has the update order that ``update="official"`` reproduces.
OFFICIAL_UPDATE_METHODS = ("grda", "dann")


# ========================================================================================== one step
def prediction_loss(prediction: Tensor, target: Tensor, task: str) -> Tensor:
    """L_f on source samples: NLL of the smoothed log-probabilities (classification), or MSE (regression)."""
    if task == "classification":
        return F.nll_loss(prediction.reshape(-1, prediction.shape[-1]), target.reshape(-1))
    return F.mse_loss(prediction, target)


def train_step(
    nets: Networks, batch: Batch, s: StepSettings, rng: np.random.Generator, optimizers: dict[str, torch.optim.Optimizer]
) -> dict[str, float]:
    """One simultaneous update of E, F (descending L_f − λL_adv), D (descending L_adv) and a learned domain index."""
    src = s.source
    lam = float(s.lambda_adv)
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    adversary = ADVERSARIES[s.method]
    if adversary is None:
        # Source-only: only the labelled domains matter, skip the forward pass of the others.
        batch = Batch(batch.x[src], batch.y[src], batch.domain[src])
        src = torch.ones(batch.x.shape[0], dtype=torch.bool, device=src.device)

    u = nets.index(batch.domain)
    e = nets.encoder(batch.x, u)  # [D, B, h]
    prediction = nets.predictor(e)
    loss_pred = prediction_loss(prediction[src], batch.y[src], s.task)
    loss = loss_pred
    logs = {"pred": float(loss_pred.detach())}

    adv = None if adversary is None else adversary(AdversaryInputs(e, prediction, batch, nets.discriminator, s, rng))
    if adv is not None and adv.encoder_loss is not None:
        # The encoder's own term must not train D: backpropagate it first, then drop D's part.
        (loss + lam * adv.encoder_loss).backward()
        for p in nets.discriminator.parameters():
            p.grad = None
        loss = adv.loss
    if nets.index.learned:
        loss_index = domain_index_loss(nets.index.all_domains(), s.adjacency_t, None)
        loss = loss + loss_index
        logs["index"] = float(loss_index.detach())
    if adv is not None:
        if adv.encoder_loss is None:
            loss = loss + adv.loss
        logs["adv"] = float(adv.loss.detach())
    loss.backward()
    if s.update == "official" and s.method in OFFICIAL_UPDATE_METHODS:
        # Official update order: D's gradient accumulates ∇L_d from its own backward pass and −λ∇L_d
        # from the encoder's loss, which is not detached from D.
        for p in nets.discriminator.parameters():
            if p.grad is not None:
                p.grad.mul_(1.0 - lam)
    for optimizer in optimizers.values():
        optimizer.step()
    return logs


# ====================================================================================== the training
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


def train(
    nets: Networks,
    settings: StepSettings,
    x: Tensor,
    y: Tensor,
    domain_ids: np.ndarray,
    *,
    epochs: int,
    batch_per_domain: int,
    pairing: str,
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: list[Any],
    seed: int,
    evaluate: Callable[[], float] | None = None,
    eval_every: int = 20,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    num_threads: int | None = 1,
    verbose: bool | None = None,
) -> list[dict[str, float]]:
    """Train ``nets`` for ``epochs`` epochs of :func:`train_step` (official toy schedule); return the history.

    Args:
        x, y: Training inputs ``[N, F]`` (standardised) and targets on the training device; target-domain
            entries of ``y`` are placeholders, never read.
        domain_ids: ``[N]`` domain of every row (numpy).
        pairing: ``"random"`` (each domain's own permutation) or ``"aligned"`` (the official shared index).
        seed: Seed of the batch and subgraph sampling (one numpy generator for both).
        evaluate: Scored every ``eval_every`` epochs into the history as ``eval``.
        checkpoint_path: Resume from / save to this file (weights-only), every ``checkpoint_every`` epochs.
        verbose: Progress bar (``None``: on a terminal only).
    """
    device = x.device
    domain_t = torch.as_tensor(domain_ids, device=device)
    rng = np.random.default_rng(seed)
    num_domains = settings.adjacency.shape[0]
    batches = _DomainBatches([np.flatnonzero(domain_ids == d) for d in range(num_domains)], batch_per_domain, rng, aligned=pairing == "aligned")
    modules = nets.module_dict()

    def train_epoch(epoch: int) -> dict[str, float]:
        modules.train(True)
        totals: dict[str, float] = {}
        for rows in batches.epoch():
            index = torch.as_tensor(rows, device=device)
            logs = train_step(nets, Batch(x[index], y[index], domain_t[index]), settings, rng, optimizers)
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value
        for scheduler in schedulers:
            scheduler.step()
        logs = {k: v / batches.steps_per_epoch for k, v in totals.items()}
        if evaluate is not None and (epoch + 1) % eval_every == 0:
            logs["eval"] = evaluate()
        return logs

    with torch_threads(num_threads):
        result = fit_epochs(
            modules,
            _TrainState(optimizers, schedulers, rng),
            train_epoch,
            None,
            epochs,
            checkpoint_path=checkpoint_path,
            checkpoint_every=checkpoint_every,
            desc=settings.method,
            restore_best=False,
            verbose=verbose,
        )
    modules.train(False)
    return result.history
