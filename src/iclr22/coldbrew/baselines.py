"""The paper's baselines (Table 3): GCN, GraphSAGE, MLP, GraphMLP and label propagation.

Each ``fit_*`` trains one baseline full-batch under a :class:`~iclr22.coldbrew.train.TrainSettings`, with the
same selection on validation accuracy as the Cold Brew teacher and student; the experiment
(:mod:`iclr22.coldbrew.experiment`) seeds each one from (seed, model) alone. The GCN is the teacher's
network without structural embeddings (:func:`fit_gcn`). Their modules live here too:

* :func:`mean_adjacency`, :class:`SAGEConv`, :class:`SAGE` — GraphSAGE with mean aggregation;
* :func:`neighbor_contrastive_loss`, :class:`GraphMLP` — GraphMLP (Hu et al. 2021).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr22.core.errors import ConfigError
from iclr22.coldbrew.graph import GraphTensors, Rows
from iclr22.coldbrew.metrics import accuracy
from iclr22.coldbrew.model import GCNSE, Adjacency, FeatureMLP, Norm, _matmul, sparse_dropout
from iclr22.core.training import FitResult
from iclr22.coldbrew.train import TrainSettings, fit_teacher, train_node_classifier

__all__ = [
    "mean_adjacency",
    "SAGEConv",
    "SAGE",
    "neighbor_contrastive_loss",
    "GraphMLP",
    "fit_gcn",
    "fit_mlp",
    "fit_sage",
    "fit_graphmlp",
    "label_propagation_predict",
    "LP_ALPHA_GRID",
]


# ------------------------------------------------------------------------------------------------ modules
def mean_adjacency(edge_index: Tensor, num_nodes: int) -> Adjacency:
    """Row-normalised adjacency ``D^{-1} A`` (no self loops): ``propagate`` averages the neighbours."""
    row, col = edge_index[0], edge_index[1]
    keep = row != col
    row, col = row[keep], col[keep]
    degree = torch.zeros(num_nodes, dtype=torch.float32, device=edge_index.device).index_add_(
        0, row, torch.ones(row.numel(), dtype=torch.float32, device=edge_index.device)
    )
    return Adjacency(row, col, 1.0 / degree.clamp(min=1)[row], num_nodes)


class SAGEConv(nn.Module):
    """GraphSAGE layer with mean aggregation (Hamilton et al. 2017), as PyG's ``SAGEConv``:
    ``x'_i = W_1 · mean_{j∈N(i)} x_j + W_2 x_i + b``.

    The mean is taken after the linear map (``mean(x) W = mean(x W)``), so sparse features stay sparse.

    Args:
        in_channels: Input width.
        out_channels: Output width.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.lin_neighbors = nn.Linear(in_channels, out_channels, bias=True)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        self.lin_neighbors.reset_parameters()
        self.lin_root.reset_parameters()

    def forward(self, x: Tensor, mean_adj: Adjacency) -> Tensor:
        """``x``: dense or sparse-CSR ``[N, in]``; ``mean_adj`` from :func:`mean_adjacency`."""
        neighbors = mean_adj.propagate(_matmul(x, self.lin_neighbors.weight.T))
        return neighbors + self.lin_neighbors.bias + _matmul(x, self.lin_root.weight.T)


class SAGE(nn.Module):
    """GraphSAGE baseline: ``L`` mean-aggregating :class:`SAGEConv` layers with ReLU and dropout.

    Args:
        in_channels: Feature width.
        hidden_channels: Hidden width.
        out_channels: Number of classes.
        num_layers: Number of layers.
        dropout: Dropout before every layer.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(SAGEConv(widths[i], widths[i + 1]) for i in range(num_layers))
        self.dropout = dropout

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x: Tensor, mean_adj: Adjacency) -> Tensor:
        for i, conv in enumerate(self.convs):
            x = sparse_dropout(x, self.dropout, self.training)
            x = conv(x, mean_adj)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x


def neighbor_contrastive_loss(z: Tensor, target: Tensor, tau: float) -> Tensor:
    """GraphMLP's neighbour-contrastive loss on a batch (Hu et al. 2021, eq. 3).

    ``ℓ_i = −log( Σ_{j≠i} γ_ij exp(cos(z_i, z_j)/τ) / Σ_{k≠i} exp(cos(z_i, z_k)/τ) )``, averaged over the
    nodes with at least one positive, where ``γ`` is the ``r``-th power of the normalised adjacency
    restricted to the batch.

    Args:
        z: ``[B, h]`` batch embeddings.
        target: ``[B, B]`` dense ``γ`` of the batch.
        tau: Temperature ``τ``.
    """
    z = F.normalize(z, dim=1)
    similarity = torch.exp(z @ z.T / tau)
    similarity = similarity * (1 - torch.eye(z.shape[0], device=z.device))
    numerator = (target * similarity).sum(dim=1)
    denominator = similarity.sum(dim=1)
    has_positive = numerator > 0
    if not bool(has_positive.any()):
        return z.sum() * 0.0
    return -torch.log(numerator[has_positive] / denominator[has_positive]).mean()


class GraphMLP(nn.Module):
    """GraphMLP baseline (Hu et al. 2021), as re-implemented in the Cold Brew code.

    ``x → MLP(d → 256 → 256) = z`` feeds both a linear classifier and the neighbour-contrastive loss
    (:func:`neighbor_contrastive_loss`), so the graph shapes the embedding during training only; at
    inference the model needs features alone.

    Args:
        in_channels: Feature width.
        out_channels: Number of classes.
        hidden_channels: Width of ``z`` (256 in the GraphMLP paper).
        dropout: Dropout (0.6 in the GraphMLP paper).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 256, dropout: float = 0.6) -> None:
        super().__init__()
        self.encoder = FeatureMLP(in_channels, hidden_channels, hidden_channels, num_layers=2, dropout=dropout)
        self.classifier = nn.Linear(hidden_channels, out_channels)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.classifier.reset_parameters()

    def forward(self, x: Tensor, return_embedding: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        z = self.encoder(x)
        logits = self.classifier(z)
        return (logits, z) if return_embedding else logits


# --------------------------------------------------------------------------------------------- training
def fit_gcn(graph: GraphTensors, hidden_channels: int, num_layers: int, dropout: float, norm: Norm, settings: TrainSettings) -> tuple[GCNSE, FitResult]:
    """The GCN baseline: the teacher's network (:func:`~iclr22.coldbrew.train.fit_teacher`) with no
    structural embedding, so eq. 3's regulariser is zero."""
    return fit_teacher(graph, hidden_channels, num_layers, (False,) * num_layers, dropout, norm, 0.0, "squared", settings)


def fit_mlp(graph: GraphTensors, hidden_channels: int, num_layers: int, dropout: float, settings: TrainSettings) -> tuple[FeatureMLP, FitResult]:
    """The simple MLP baseline: the student's part-2 network on ``x`` alone."""
    model = FeatureMLP(graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, dropout).to(graph.device)
    rows = Rows(graph.x)
    result = train_node_classifier(
        model, lambda mask: model(rows(mask)), graph.y, graph.train_mask, graph.val_mask, settings
    )
    model.eval()
    return model, result


def fit_sage(graph: GraphTensors, hidden_channels: int, num_layers: int, dropout: float, settings: TrainSettings) -> tuple[SAGE, FitResult]:
    """The GraphSAGE baseline (mean aggregation), trained full-batch."""
    model = SAGE(graph.x.shape[1], hidden_channels, graph.num_classes, num_layers, dropout).to(graph.device)
    features, mean_adj = graph.gnn_features(), mean_adjacency(graph.edge_index, graph.num_nodes)
    result = train_node_classifier(
        model, lambda mask: model(features, mean_adj)[mask], graph.y, graph.train_mask, graph.val_mask, settings
    )
    model.eval()
    return model, result


def _adjacency_power(graph: GraphTensors, hops: int) -> Tensor:
    """Dense ``Â^r`` (with self loops), GraphMLP's neighbourhood target."""
    adjacency = graph.adjacency().to_dense()
    power = adjacency
    for _ in range(hops - 1):
        power = power @ adjacency
    return power


def fit_graphmlp(
    graph: GraphTensors,
    *,
    tau: float,
    hops: int,
    reg: float,
    batch_size: int,
    settings: TrainSettings,
    hidden_channels: int = 256,
    dropout: float = 0.6,
) -> tuple[GraphMLP, FitResult]:
    """The GraphMLP baseline: ``CE(train) + reg · NContrast`` (Hu et al. 2021, eq. 4).

    The contrastive term is computed each epoch on a random batch of ``batch_size`` nodes against
    ``Â^r`` restricted to the batch (the experiment's defaults are the official Cold Brew code's setting:
    ``reg`` 10, ``τ`` 1, ``r`` 3). ``hidden_channels`` 256 and ``dropout`` 0.6 are the GraphMLP paper's.
    ``Â^r`` is dense (``N²`` floats): meant for graphs up to ~20k nodes.
    """
    if graph.num_nodes > 30_000:
        raise ConfigError(
            f"GraphMLP builds a dense N×N neighbourhood matrix; {graph.num_nodes} nodes is too many "
            "(leave it out with --set models=gcn,sage,mlp,gcn_se,coldbrew)"
        )
    model = GraphMLP(graph.x.shape[1], graph.num_classes, hidden_channels, dropout).to(graph.device)
    target = _adjacency_power(graph, hops)
    batch = min(batch_size, graph.num_nodes)
    rows = Rows(graph.x)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        optimizer.zero_grad()
        nodes = torch.randperm(graph.num_nodes)[:batch].to(graph.device)  # drawn by the CPU generator, on any device
        train_logits = model(rows(graph.train_mask))
        _, z = model(rows.fresh(nodes), return_embedding=True)
        loss = F.cross_entropy(train_logits, graph.y[graph.train_mask])
        contrast = neighbor_contrastive_loss(z, target.index_select(0, nodes).index_select(1, nodes), tau)
        loss = loss + reg * contrast
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach())}

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            return accuracy(model(rows(graph.val_mask)), graph.y[graph.val_mask])

    result = settings.run(model, optimizer, train_epoch, evaluate if bool(graph.val_mask.any()) else None)
    model.eval()
    return model, result


def label_propagation_predict(graph: GraphTensors, num_layers: int, alpha: float | None) -> Tensor:
    """Label propagation from the training labels (features ignored): ``Y ← α Â Y + (1−α) Y0``, clamped to [0, 1].

    Uses PyG's :class:`~torch_geometric.nn.models.LabelPropagation` (symmetric normalisation), the LP of
    the paper's FCR (Table 9: Cora 50 propagations). With ``alpha=None`` the paper's Appendix-B grid
    ``{0.01, 0.1, 0.5, 0.9, 0.99}`` is searched on validation accuracy. Returns ``[N, C]`` scores.
    """
    from torch_geometric.nn.models import LabelPropagation

    y = graph.y.clamp(min=0)
    if alpha is not None:
        return LabelPropagation(num_layers=num_layers, alpha=alpha)(y, graph.edge_index, mask=graph.train_mask)
    best_scores, best_accuracy = None, -1.0
    for candidate in LP_ALPHA_GRID:
        scores = LabelPropagation(num_layers=num_layers, alpha=candidate)(y, graph.edge_index, mask=graph.train_mask)
        value = accuracy(scores, graph.y, graph.val_mask) if bool(graph.val_mask.any()) else 0.0
        if value > best_accuracy:
            best_scores, best_accuracy = scores, value
    return best_scores


LP_ALPHA_GRID = (0.01, 0.1, 0.5, 0.9, 0.99)
