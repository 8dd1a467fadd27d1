"""The networks of GRDA (Xu et al., ICLR 2022) and of its adversarial baselines.

Every network is a plain stack of ``nn.Linear`` layers with ReLU, sized and initialised as in the
official code (``Wang-ML-Lab/GRDA``, ``model/modules.py``, toy configs with ``no_bn=True``): hidden width
``nh = 512``, weights drawn from N(0, 0.01²), biases zero.

* :class:`DomainIndexNet` — the domain index u of each domain (the paper's "domain index", the code's
  ``GNet``): fixed node embeddings of the domain graph, or a small MLP on the one-hot domain id.
* :class:`Encoder` — E(x, u) → e (Section 3 of the paper).
* :class:`Predictor` — F(e) → ŷ; log-probabilities for classification, values for regression.
* :class:`GraphDiscriminator` — D(e) → z, whose inner products ⟨z_i, z_j⟩ reconstruct the domain graph
  (Eq. 3 of the paper).
* :class:`DomainClassifier`, :class:`BinaryDomainDiscriminator` — the discriminators of the DANN / CDANN and
  ADDA baselines. MDD's adversary is a second :class:`Predictor`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "init_normal_",
    "init_pytorch_default_",
    "mlp",
    "DomainIndexNet",
    "Encoder",
    "Predictor",
    "GraphDiscriminator",
    "DomainClassifier",
    "BinaryDomainDiscriminator",
]

#: Standard deviation of the N(0, std²) weight initialisation of the official code.
INIT_STD = 0.01


def init_normal_(module: nn.Module, std: float = INIT_STD, generator: torch.Generator | None = None) -> None:
    """Initialise every ``nn.Linear`` inside ``module``: weights N(0, std²), biases 0 (official ``__init_weight__``)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, mean=0.0, std=std, generator=generator)
            nn.init.zeros_(layer.bias)


def init_pytorch_default_(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """PyTorch's own ``nn.Linear`` initialisation (Kaiming-uniform weights, uniform biases), seeded."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    """``Linear → ReLU → … → Linear`` through ``sizes`` (ReLU after the last layer only if asked)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DomainIndexNet(nn.Module):
    """The domain index u_d of every domain d (``GNet`` in the official code).

    Two modes:

    * ``fixed`` embeddings (the official default, ``use_g_encode=True``): u_d is row d of a given
      ``[D, k]`` matrix, e.g. node embeddings pre-trained on the domain graph
      (:func:`iclr22.grda.train.fit_domain_embedding`). Nothing is learned.
    * learned: u_d = W₂ ReLU(W₁ onehot(d)) with ``hidden`` units, trained jointly with the reconstruction
      loss of the domain graph (:func:`iclr22.grda.train.domain_index_loss`).

    Args:
        num_domains: Number of domains ``D`` (nodes of the domain graph).
        dim: Dimension ``k`` of the domain index (``nt = 2`` in the toy configs).
        hidden: Hidden width of the learned MLP.
        fixed: ``[D, k]`` embeddings to use as they are; ``None`` to learn them.
    """

    def __init__(self, num_domains: int, dim: int = 2, hidden: int = 512, fixed: Tensor | None = None) -> None:
        super().__init__()
        self.num_domains, self.dim, self.hidden = num_domains, dim, hidden
        if fixed is not None:
            if fixed.shape != (num_domains, dim):
                raise ValueError(f"fixed domain embeddings have shape {tuple(fixed.shape)}, expected ({num_domains}, {dim})")
            self.register_buffer("embedding", fixed.detach().float().clone())
            self.net = None
        else:
            self.embedding = None
            self.net = mlp([num_domains, hidden, dim])
        self.reset_parameters()

    @property
    def learned(self) -> bool:
        return self.net is not None

    def reset_parameters(self) -> None:
        if self.net is not None:
            init_normal_(self.net)

    def forward(self, domain: Tensor) -> Tensor:
        """Domain ids (any shape, int64) → their indices (same shape + ``[k]``)."""
        if self.net is None:
            return self.embedding[domain]
        one_hot = F.one_hot(domain, self.num_domains).float()
        return self.net(one_hot)

    def all_domains(self) -> Tensor:
        """``[D, k]``: the index of every domain."""
        device = self.embedding.device if self.embedding is not None else self.net[0].weight.device
        return self(torch.arange(self.num_domains, device=device))


class Encoder(nn.Module):
    """E(x, u): the input and its domain index, each through its own layers, then a joint MLP.

    Official ``FeatureNet``: x → fc(in→nh) → ReLU; u → fc(k→nh) → ReLU → fc(nh→nh) → ReLU;
    concatenation (2·nh) → 3 × [fc(2nh→2nh) → ReLU] → fc(2nh→nh).

    Args:
        in_dim: Dimension of x.
        index_dim: Dimension of the domain index u.
        hidden: ``nh``, the width of the representation e.
    """

    def __init__(self, in_dim: int, index_dim: int, hidden: int = 512) -> None:
        super().__init__()
        self.in_dim, self.index_dim, self.hidden = in_dim, index_dim, hidden
        self.input_branch = mlp([in_dim, hidden], final_activation=True)
        self.index_branch = mlp([index_dim, hidden, hidden], final_activation=True)
        self.joint = mlp([2 * hidden, 2 * hidden, 2 * hidden, 2 * hidden, hidden])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_normal_(self)

    def forward(self, x: Tensor, u: Tensor) -> Tensor:
        return self.joint(torch.cat([self.input_branch(x), self.index_branch(u)], dim=-1))


class Predictor(nn.Module):
    """F(e): 2 × [fc(nh→nh) → ReLU] → fc(nh→out) (official ``PredNet``).

    For classification the output is ``log(softmax + 1e-4)`` as in the official code (a smoothed
    log-probability, fed to the NLL loss); for regression it is the predicted values.

    Args:
        hidden: ``nh``.
        out_dim: Number of classes, or of regression outputs.
        task: ``"classification"`` or ``"regression"``.
    """

    def __init__(self, hidden: int, out_dim: int, task: str = "classification") -> None:
        super().__init__()
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.hidden, self.out_dim, self.task = hidden, out_dim, task
        self.net = mlp([hidden, hidden, hidden, out_dim])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_normal_(self)

    def forward(self, e: Tensor) -> Tensor:
        out = self.net(e)
        if self.task == "classification":
            return torch.log(torch.softmax(out, dim=-1) + 1e-4)
        return out


class GraphDiscriminator(nn.Module):
    """D(e) → z: 5 × [fc(nh→nh) → ReLU] → fc(nh→out) (official ``GraphDNet``, no BatchNorm).

    The pair score σ(zᵢᵀzⱼ) is the probability that the domains of the two encodings are adjacent
    in the domain graph (Eq. 3).

    Args:
        hidden: ``nh``.
        out_dim: Dimension of z (``nd_out = 2`` in the toy configs).
    """

    def __init__(self, hidden: int, out_dim: int = 2) -> None:
        super().__init__()
        self.hidden, self.out_dim = hidden, out_dim
        self.net = mlp([hidden] * 6 + [out_dim])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_normal_(self)

    def forward(self, e: Tensor) -> Tensor:
        return self.net(e)


class DomainClassifier(nn.Module):
    """The D of DANN and CDANN: classify which of the D domains an encoding comes from.

    Official ``ClassDiscNet`` / ``CondClassDiscNet``: fc(nh→nh) → ReLU, then (CDANN only) concatenation
    with an MLP of the predictor's output, then 3 × [fc → ReLU] → fc(nh→D) → log-softmax. The official
    DANN variant applies a ReLU to the logits before the log-softmax; it is kept (``relu_logits``) so the
    baseline matches the code the paper's numbers came from.

    Args:
        hidden: ``nh``.
        num_domains: Number of classes of the discriminator (all domains).
        cond_dim: Dimension of the conditioning vector (CDANN); ``0`` for none (DANN).
        relu_logits: Apply ReLU to the logits (official DANN discriminator).
    """

    def __init__(self, hidden: int, num_domains: int, cond_dim: int = 0, relu_logits: bool = False) -> None:
        super().__init__()
        self.hidden, self.num_domains, self.cond_dim, self.relu_logits = hidden, num_domains, cond_dim, relu_logits
        self.first = mlp([hidden, hidden], final_activation=True)
        self.cond = mlp([cond_dim, hidden, hidden], final_activation=True) if cond_dim else None
        mid = 2 * hidden if cond_dim else hidden
        self.rest = mlp([mid, hidden, hidden, hidden, hidden, num_domains])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_normal_(self)

    def forward(self, e: Tensor, cond: Tensor | None = None) -> Tensor:
        """Log-probabilities over domains, ``[..., D]``."""
        h = self.first(e)
        if self.cond is not None:
            if cond is None:
                raise ValueError("this DomainClassifier is conditional: pass cond")
            h = torch.cat([h, self.cond(cond)], dim=-1)
        logits = self.rest(h)
        if self.relu_logits:
            logits = F.relu(logits)
        return torch.log_softmax(logits, dim=-1)


class BinaryDomainDiscriminator(nn.Module):
    """The D of ADDA: probability that an encoding comes from a source domain.

    Official ``DiscNet`` for ADDA: 5 × [fc(nh→nh) → ReLU] → fc(nh→1) → sigmoid.

    Args:
        hidden: ``nh``.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.net = mlp([hidden] * 6 + [1])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_normal_(self)

    def forward(self, e: Tensor) -> Tensor:
        return torch.sigmoid(self.net(e)).squeeze(-1)
