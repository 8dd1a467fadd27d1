"""The torch modules of Cold Brew (Zheng et al., ICLR 2022).

One concept per module, in the style of PyTorch Geometric:

* :class:`NodeNorm`, :class:`PairNorm` — the per-layer normalisations of the official teacher;
* :class:`SEGCNConv` — a GCN layer with a learnable per-node structural embedding (paper eq. 2);
* :class:`GCNSE` — the teacher: stacked :class:`SEGCNConv`, which also returns the concatenated layer
  embeddings the student imitates (paper §3.2, ``Ē``); with no SE layer it is the plain GCN baseline;
* :class:`FeatureMLP` — Linear → LayerNorm → GELU → Dropout → Linear, the block of every MLP here;
* :func:`virtual_neighbors` — top-K softmax retrieval over the teacher's embeddings (paper eq. 4);
* :class:`ColdBrewStudent` — the two-part student MLP (ξ1 regresses ``Ē``, ξ2 classifies).

The baselines' modules (GraphSAGE, GraphMLP) are in :mod:`iclr22.coldbrew.baselines`. The hyperparameters
of the teacher and the student have no defaults here: :class:`iclr22.coldbrew.estimator.ColdBrew` holds them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Norm", "Part2Input", "NORMS", "Adjacency", "normalized_adjacency", "sparse_dropout", "as_sparse_if_sparse", "NodeNorm",
    "PairNorm", "make_norm", "SEGCNConv", "GCNSE", "FeatureMLP", "virtual_neighbors", "ColdBrewStudent",
]

#: The teacher's per-layer normalisations.
Norm = Literal["none", "pairnorm", "nodenorm", "batchnorm"]
#: The input of the student's part 2: ``"code"`` = ``[x, α1·ẽ, α0·ê]``, ``"paper"`` = ``[x, ẽ]``.
Part2Input = Literal["code", "paper"]
NORMS: tuple[str, ...] = get_args(Norm)




class Adjacency(NamedTuple):
    """A sparse propagation matrix as weighted edges ``(row ← col, weight)``; ``propagate`` computes ``M h``.

    Message passing by ``index_add`` is faster on CPU than ``torch.sparse.mm`` for graphs of this size and
    differentiates with respect to ``h`` without sparse autograd.
    """

    row: Tensor
    col: Tensor
    weight: Tensor
    num_nodes: int

    def propagate(self, h: Tensor) -> Tensor:
        """``(M h)_i = Σ_j M_ij h_j``."""
        return torch.zeros(self.num_nodes, h.shape[1], dtype=h.dtype, device=h.device).index_add_(
            0, self.row, h[self.col] * self.weight[:, None]
        )

    def to_dense(self) -> Tensor:
        dense = torch.zeros(self.num_nodes, self.num_nodes, dtype=self.weight.dtype, device=self.weight.device)
        return dense.index_put_((self.row, self.col), self.weight, accumulate=True)


def normalized_adjacency(edge_index: Tensor, num_nodes: int, add_self_loops: bool = True) -> Adjacency:
    """The symmetric GCN propagation matrix ``Â = D^{-1/2} (A + I) D^{-1/2}``.

    Args:
        edge_index: ``[2, E]`` int64, both directions of every undirected edge.
        num_nodes: ``N``.
        add_self_loops: Add ``I`` before normalising (GCN); existing self loops are not doubled.

    Returns:
        An :class:`Adjacency`. A node with no edge and no self loop gets an all-zero row.
    """
    row, col = edge_index[0], edge_index[1]
    keep = row != col
    row, col = row[keep], col[keep]
    if add_self_loops:
        loops = torch.arange(num_nodes, device=edge_index.device)
        row, col = torch.cat([row, loops]), torch.cat([col, loops])
    ones = torch.ones(row.numel(), dtype=torch.float32, device=edge_index.device)
    degree = torch.zeros(num_nodes, dtype=torch.float32, device=edge_index.device).index_add_(0, row, ones)
    inv_sqrt = degree.clamp(min=1).pow(-0.5)
    return Adjacency(row, col, inv_sqrt[row] * inv_sqrt[col], num_nodes)


def sparse_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout for dense or sparse-CSR features (on a CSR tensor, only the stored values are dropped)."""
    if not training or p == 0:
        return x
    if x.layout == torch.sparse_csr:
        values = F.dropout(x.values(), p=p, training=True)
        with warnings.catch_warnings():  # the indices are x's own, so the invariant check can be skipped
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, x.shape)
    return F.dropout(x, p=p, training=True)


def as_sparse_if_sparse(x: Tensor, max_density: float = 0.1) -> Tensor:
    """``x`` as sparse CSR when at most ``max_density`` of it is non-zero (bag-of-words features), else ``x``."""
    if x.layout != torch.strided or x.numel() == 0:
        return x
    if float((x != 0).float().mean()) <= max_density:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": the ops used here are stable
            warnings.simplefilter("ignore", UserWarning)
            return x.to_sparse_csr()
    return x


class NodeNorm(nn.Module):
    """Per-node standardisation ``(h - mean(h)) / std(h)`` over the feature axis (Zhou et al. 2020, type "n").

    Args:
        eps: Added to the variance.
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def reset_parameters(self) -> None:
        """No parameters."""

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=1, keepdim=True)
        std = (x.var(dim=1, unbiased=False, keepdim=True) + self.eps).sqrt()
        return (x - mean) / std


class PairNorm(nn.Module):
    """PairNorm (Zhao & Akoglu 2020) with scale 1: centre the columns, then divide by the mean row norm.

    Args:
        eps: Added under the square root.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def reset_parameters(self) -> None:
        """No parameters."""

    def forward(self, x: Tensor) -> Tensor:
        x = x - x.mean(dim=0)
        return x / (self.eps + x.pow(2).sum(dim=1).mean()).sqrt()


def make_norm(name: str, dim: int) -> nn.Module:
    """The normalisation called ``name`` (one of ``none``, ``pairnorm``, ``nodenorm``, ``batchnorm``)."""
    if name == "none":
        return nn.Identity()
    if name == "pairnorm":
        return PairNorm()
    if name == "nodenorm":
        return NodeNorm()
    if name == "batchnorm":
        return nn.BatchNorm1d(dim)
    raise ValueError(f"unknown norm {name!r}; expected one of {NORMS}")


class SEGCNConv(nn.Module):
    """GCN layer with a structural embedding, paper eq. 2: ``X' = Â (X W + E) + b``.

    ``E ∈ R^{N×d_out}`` is a free parameter per node, initialised with a standard normal as in the
    official code. It lets the teacher store what the graph says about a node beyond its features; the
    teacher's loss keeps it small (eq. 3, :meth:`GCNSE.se_penalty`). With ``num_nodes=None`` the layer is a
    plain GCN layer (``E = 0``).

    Args:
        in_channels: Input width ``d_in``.
        out_channels: Output width ``d_out``.
        num_nodes: ``N`` when the layer has a structural embedding, else ``None``.
        bias: Add a learnable bias after propagation.
    """

    def __init__(self, in_channels: int, out_channels: int, num_nodes: int | None = None, bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.num_nodes = in_channels, out_channels, num_nodes
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.structural_embedding = nn.Parameter(torch.empty(num_nodes, out_channels)) if num_nodes else None
        self.reset_parameters()

    @property
    def has_se(self) -> bool:
        return self.structural_embedding is not None

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.structural_embedding is not None:
            nn.init.normal_(self.structural_embedding, std=1.0)

    def forward(self, x: Tensor, adjacency: Adjacency) -> Tensor:
        """Args:
            x: ``[N, d_in]`` node features, dense or sparse CSR (all ``N`` nodes of the graph the SE was made for).
            adjacency: ``Â`` from :func:`normalized_adjacency`.
        """
        h = _matmul(x, self.weight)
        if self.structural_embedding is not None:
            if h.shape[0] != self.structural_embedding.shape[0]:
                raise ValueError(
                    f"SEGCNConv has a structural embedding for {self.structural_embedding.shape[0]} nodes "
                    f"but got {h.shape[0]}; the SE teacher is transductive (one graph)"
                )
            h = h + self.structural_embedding
        out = adjacency.propagate(h)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, se={'N=' + str(self.num_nodes) if self.has_se else 'no'}"


class GCNSE(nn.Module):
    """The Cold Brew teacher: a GCN whose layers may carry a structural embedding (paper §3.1, eq. 2).

    Layer ``l``: dropout → :class:`SEGCNConv` → norm → ReLU (no ReLU after the last layer), and a final
    dropout on the logits, as in the official ``TricksComb`` with no residual connection.
    ``forward(..., return_embeddings=True)`` also returns ``Ē``: the post-norm, pre-activation output of
    every layer, concatenated (width ``hidden·(L−1) + C``), which is what the student regresses.

    Args:
        in_channels: Feature width ``d``.
        hidden_channels: Width of the hidden layers.
        out_channels: Number of classes ``C``.
        num_layers: ``L`` ≥ 1.
        num_nodes: ``N``, needed when any layer has an SE.
        se_layers: Which layers carry an SE, e.g. ``(True, True)``; ``None`` = every layer. All ``False``
            gives the plain GCN baseline.
        dropout: Dropout probability before every layer and on the logits.
        norm: ``"none"``, ``"pairnorm"``, ``"nodenorm"`` or ``"batchnorm"``.

    ``dropout`` and ``norm`` are keyword-only and required: their default is the estimator's.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        num_nodes: int | None = None,
        se_layers: Sequence[bool] | None = None,
        *,
        dropout: float,
        norm: Norm,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        se_layers = tuple(se_layers) if se_layers is not None else (True,) * num_layers
        if len(se_layers) != num_layers:
            raise ValueError(f"se_layers names {len(se_layers)} layers but num_layers is {num_layers}")
        if any(se_layers) and not num_nodes:
            raise ValueError("a structural embedding needs num_nodes")
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            SEGCNConv(widths[i], widths[i + 1], num_nodes if se_layers[i] else None) for i in range(num_layers)
        )
        self.norms = nn.ModuleList(make_norm(norm, widths[i + 1]) for i in range(num_layers))
        self.dropout = dropout
        self.embedding_dim = sum(widths[1:])

    def reset_parameters(self) -> None:
        for module in (*self.convs, *self.norms):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor, adjacency: Adjacency, return_embeddings: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Logits ``[N, C]`` (and ``Ē`` ``[N, embedding_dim]`` when ``return_embeddings``).

        ``x`` may be sparse CSR (see :func:`as_sparse_if_sparse`), which makes the first layer much faster
        on bag-of-words features.
        """
        layer_outputs = []
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = sparse_dropout(x, self.dropout, self.training)
            x = norm(conv(x, adjacency))
            layer_outputs.append(x)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        logits = F.dropout(x, p=self.dropout, training=self.training)
        if return_embeddings:
            return logits, torch.cat(layer_outputs, dim=-1)
        return logits

    def se_penalty(self, squared: bool = True) -> Tensor:
        """The SE regulariser of eq. 3 summed over layers: ``Σ_l ‖E^(l)‖²_F`` (paper) or ``Σ_l ‖E^(l)‖_F`` (code)."""
        total = self.convs[0].weight.new_zeros(())
        for conv in self.convs:
            if conv.structural_embedding is not None:
                norm = conv.structural_embedding.norm()
                total = total + (norm.pow(2) if squared else norm)
        return total


def _matmul(x: Tensor, weight: Tensor) -> Tensor:
    """``x @ weight`` for dense or sparse-CSR ``x``."""
    return torch.sparse.mm(x, weight) if x.layout == torch.sparse_csr else x @ weight

class FeatureMLP(nn.Module):
    """``Linear → LayerNorm → GELU → Dropout`` per hidden layer, then ``Linear`` (the official ``getMLP``).

    Args:
        in_channels: Input width.
        hidden_channels: Width of every hidden layer.
        out_channels: Output width.
        num_layers: Number of linear layers (≥ 1; 2 is the paper's ``2layer``).
        dropout: Dropout after each hidden activation.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        layers: list[nn.Module] = []
        for i in range(num_layers - 1):
            layers += [nn.Linear(widths[i], widths[i + 1]), nn.LayerNorm(widths[i + 1]), nn.GELU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(widths[-2], widths[-1]))
        self.net = nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        for layer in self.net:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """``x`` is dense or sparse CSR ``[M, in_channels]``."""
        return self.forward_parts(x)

    def forward_parts(self, *parts: Tensor) -> Tensor:
        """The MLP applied to ``torch.cat(parts, dim=1)`` without building the concatenation.

        The first layer is split by input columns, ``W [a, b] = W_a a + W_b b``, so that a sparse part (bag-of-
        words features) is multiplied sparsely next to dense parts (embeddings).
        """
        first, rest = self.net[0], self.net[1:]
        out, start = first.bias, 0
        for part in parts:
            weight = first.weight[:, start : start + part.shape[1]]
            out = out + _matmul(part, weight.T)
            start += part.shape[1]
        if start != first.in_features:
            raise ValueError(f"FeatureMLP expects {first.in_features} input columns, got {start}")
        return rest(out)


def virtual_neighbors(query: Tensor, bank: Tensor, k: int, chunk_size: int = 4096, exclude: Tensor | None = None) -> Tensor:
    """Paper eq. 4: ``ẽ_i = softmax(Θ_K(ê_i Ēᵀ)) Ē``.

    For each query row ``ê_i`` the dot products with every row of the bank ``Ē`` are computed, all but
    the ``K`` largest are set to −∞ (``Θ_K``), and the softmax over the survivors weights a sum of those
    ``K`` bank rows. No gradient flows through the lookup (as in the official code).

    Args:
        query: ``[M, D]`` student embeddings ``ê``.
        bank: ``[N, D]`` teacher embeddings ``Ē`` (the candidate neighbours).
        k: ``K`` (clipped to ``N``, or to ``N − 1`` when rows are excluded).
        chunk_size: Queries per block, which bounds memory at ``chunk_size × N`` scores.
        exclude: ``[M]`` int64, the bank row each query may not retrieve (its own row: leave-self-out), or −1
            for none. ``None``: every row is a candidate for every query.

    Returns:
        ``[M, D]`` virtual-neighbour summaries ``ẽ``.
    """
    excluding = exclude is not None and bool((exclude >= 0).any())
    k = max(1, min(int(k), bank.shape[0] - (1 if excluding else 0)))
    query, bank = query.detach(), bank.detach()
    out = []
    for start in range(0, query.shape[0], chunk_size):
        scores = query[start : start + chunk_size] @ bank.T
        if excluding:
            rows = exclude[start : start + chunk_size]
            has_row = rows >= 0
            scores[has_row.nonzero().squeeze(1), rows[has_row]] = float("-inf")
        top_scores, top_index = scores.topk(k, dim=1)
        weights = torch.softmax(top_scores, dim=1)
        out.append(torch.einsum("mk,mkd->md", weights, bank[top_index]))
    return torch.cat(out) if out else query.new_zeros((0, bank.shape[1]))


class ColdBrewStudent(nn.Module):
    """The Cold Brew student MLP (paper §3.3–3.5), which needs only a node's features.

    * part 1, ``ξ1``: :class:`FeatureMLP` ``x → ê``, trained to regress the teacher's ``Ē`` (MSE);
    * virtual neighbours: ``ẽ`` from :func:`virtual_neighbors` over a bank of teacher embeddings;
    * part 2, ``ξ2``: :class:`FeatureMLP` on ``[x, α1·ẽ, α0·ê]`` (official code; learnable ``α``, initialised at
      ``alpha_init``) or on ``[x, ẽ]`` (paper) with ``part2_input="paper"``.

    The bank may carry the graph node id of each row (``set_bank(bank, node_ids)``). With ``leave_self_out``
    a query that names its node (``forward(x, node_ids)``) never retrieves its own row: a node is not its
    own virtual neighbour, so a training node sees what a brand-new node (absent from the bank) sees, not
    its own graph-aware teacher embedding. Queries without node ids (new nodes) search the whole bank.

    Args:
        in_channels: Feature width ``d``.
        embedding_dim: Width of ``Ē`` (the teacher's :attr:`GCNSE.embedding_dim`).
        out_channels: Number of classes.
        hidden_channels: Hidden width of both MLPs.
        num_layers: Linear layers per MLP.
        dropout: MLP dropout.
        top_k: ``K`` of eq. 4.
        part2_input: ``"code"`` for ``[x, α1·ẽ, α0·ê]`` or ``"paper"`` for ``[x, ẽ]``.
        alpha_init: Initial value of ``α0`` and ``α1``.
        leave_self_out: Exclude a query node's own bank row from its virtual neighbours (needs node ids).

    Every hyperparameter is required (``top_k`` onwards keyword-only): their defaults are the estimator's.
    """

    def __init__(
        self,
        in_channels: int,
        embedding_dim: int,
        out_channels: int,
        hidden_channels: int,
        num_layers: int,
        dropout: float,
        *,
        top_k: int,
        part2_input: Part2Input,
        alpha_init: float,
        leave_self_out: bool,
    ) -> None:
        super().__init__()
        if part2_input not in get_args(Part2Input):
            raise ValueError(f"part2_input must be one of {get_args(Part2Input)}, got {part2_input!r}")
        self.top_k, self.part2_input, self.alpha_init = top_k, part2_input, alpha_init
        self.leave_self_out = bool(leave_self_out)
        self.part1 = FeatureMLP(in_channels, hidden_channels, embedding_dim, num_layers, dropout)
        part2_in = in_channels + (2 if part2_input == "code" else 1) * embedding_dim
        self.part2 = FeatureMLP(part2_in, hidden_channels, out_channels, num_layers, dropout)
        # alphas[0] scales ê, alphas[1] scales ẽ, as in the official SEMLP.
        self.alphas = nn.Parameter(torch.full((2,), float(alpha_init)))
        self.register_buffer("bank", torch.zeros(0, embedding_dim))
        # graph node id of each bank row (empty: unknown, nothing can be left out)
        self.register_buffer("bank_node_ids", torch.zeros(0, dtype=torch.long))

    def reset_parameters(self) -> None:
        self.part1.reset_parameters()
        self.part2.reset_parameters()
        with torch.no_grad():
            self.alphas.fill_(self.alpha_init)

    def set_bank(self, bank: Tensor, node_ids: Tensor | None = None) -> None:
        """Store the teacher embeddings searched for virtual neighbours (eq. 4) and, optionally, the graph
        node id of each row (needed by ``leave_self_out``)."""
        self.bank = bank.detach().clone()
        if node_ids is None:
            self.bank_node_ids = torch.zeros(0, dtype=torch.long, device=bank.device)
        else:
            node_ids = torch.as_tensor(node_ids, dtype=torch.long, device=bank.device).reshape(-1)
            if node_ids.numel() != bank.shape[0]:
                raise ValueError(f"set_bank: {node_ids.numel()} node ids for {bank.shape[0]} bank rows")
            self.bank_node_ids = node_ids.clone()

    def excluded_rows(self, node_ids: Tensor | None) -> Tensor | None:
        """The bank row of each query node (−1 where it has none, or where its id is −1: a new node), or
        ``None`` when nothing is left out."""
        if not self.leave_self_out or node_ids is None or self.bank_node_ids.numel() == 0:
            return None
        node_ids = torch.as_tensor(node_ids, dtype=torch.long, device=self.bank.device).reshape(-1)
        # bank_node_ids are distinct, so each query has at most one own row: find it by binary search
        sorted_ids, order = self.bank_node_ids.sort()
        position = torch.searchsorted(sorted_ids, node_ids).clamp(max=sorted_ids.numel() - 1)
        found = sorted_ids[position] == node_ids
        return torch.where(found, order[position], torch.full_like(node_ids, -1))

    def embed(self, x: Tensor) -> Tensor:
        """``ê = ξ1(x)``."""
        return self.part1(x)

    def neighbors(self, e_hat: Tensor, node_ids: Tensor | None = None) -> Tensor:
        """``ẽ`` of eq. 4 for given ``ê`` (leaving each query's own row out under ``leave_self_out``)."""
        if self.bank.shape[0] == 0:
            raise RuntimeError("ColdBrewStudent has an empty neighbour bank; call set_bank first")
        return virtual_neighbors(e_hat, self.bank, self.top_k, exclude=self.excluded_rows(node_ids))

    def part2_inputs(self, x: Tensor, node_ids: Tensor | None = None) -> tuple[Tensor, ...]:
        """The input of ``ξ2`` as its blocks: ``(x, α1·ẽ, α0·ê)`` or ``(x, ẽ)``; ``ξ1`` is frozen here (detached).

        ``node_ids``: the graph node id of each row of ``x`` when the rows are nodes of the bank's graph
        (``None`` for new nodes)."""
        e_hat = self.part1(x).detach()
        return self._blocks(x, e_hat, self.neighbors(e_hat, node_ids))

    def _blocks(self, x: Tensor, e_hat: Tensor, e_tilde: Tensor) -> tuple[Tensor, ...]:
        if self.part2_input == "paper":
            return (x, e_tilde)
        return (x, self.alphas[1] * e_tilde, self.alphas[0] * e_hat)

    def classify(self, x: Tensor, e_hat: Tensor, e_tilde: Tensor) -> Tensor:
        """``ξ2`` on given ``ê`` and ``ẽ`` (for callers that computed them once, e.g. with ``ξ1`` frozen)."""
        return self.part2.forward_parts(*self._blocks(x, e_hat, e_tilde))

    def forward(self, x: Tensor, node_ids: Tensor | None = None) -> Tensor:
        """Class logits from features alone (dense or sparse-CSR ``x``); ``node_ids`` as in :meth:`part2_inputs`."""
        return self.part2.forward_parts(*self.part2_inputs(x, node_ids))
