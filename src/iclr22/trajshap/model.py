"""Trajectory predictors to analyse: constant velocity, an LSTM without interactions, and an interaction
model with one encoding per neighbour aggregated by masked attention (Trajectron++Edge-like).

Every predictor maps a :class:`~iclr22.trajshap.scenes.SceneBatch` to a :class:`Prediction`: ``K``
future trajectories (modes) per sample, with mixture weights and per-step isotropic Gaussian scales
where the model is probabilistic. Best-of-K errors (minADE / minFDE) and the mixture's negative
log-likelihood are computed from it by :func:`trajectory_errors`.

The two learned models share the same target encoder and decoder and differ only in the interaction
encoder, so a difference in their attributions is the interaction module's doing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from iclr22.trajshap.scenes import SceneBatch

__all__ = [
    "Prediction",
    "trajectory_errors",
    "ConstantVelocity",
    "HistoryEncoder",
    "EdgeEncoder",
    "NeighbourAttention",
    "MixtureDecoder",
    "LSTMPredictor",
    "InteractionPredictor",
    "LOG_PROB_MAX",
    "build_predictor",
]

#: Trajectron++ clamps the log-probability of the ground truth at 6 (``log_p_yt_xz_max``).
LOG_PROB_MAX = 6.0


@dataclass
class Prediction:
    """What a predictor returns.

    Attributes:
        modes: ``(B, K, T_pred, 2)`` predicted future positions, relative to the current position.
        log_weights: ``(B, K)`` log mixture weights (uniform when ``None``).
        log_sigma: ``(B, K, T_pred)`` log standard deviation of an isotropic Gaussian around each mode
            at each step; ``None`` for a deterministic predictor (then no NLL exists).
    """

    modes: Tensor
    log_weights: Tensor | None = None
    log_sigma: Tensor | None = None

    @staticmethod
    def of(output: Prediction | Tensor) -> Prediction:
        """Accept a plain tensor ``(B, T, 2)`` or ``(B, K, T, 2)`` from a user's predictor."""
        if isinstance(output, Prediction):
            return output
        if not isinstance(output, Tensor) or output.dim() not in (3, 4) or output.shape[-1] != 2:
            raise TypeError(f"a predictor must return a Prediction or a tensor (B, [K,] T, 2), got {getattr(output, 'shape', type(output))}")
        return Prediction(output.unsqueeze(1) if output.dim() == 3 else output)

    def log_likelihood(self, future: Tensor) -> Tensor:
        """``(B,)`` per-step mean log-density of ``future`` under the mixture, clamped at :data:`LOG_PROB_MAX`."""
        if self.log_sigma is None:
            raise ValueError("this prediction has no distribution (log_sigma is None); use a displacement metric")
        steps = future.shape[1]
        log_w = self.log_weights if self.log_weights is not None else torch.full(self.modes.shape[:2], -math.log(self.modes.shape[1]), device=future.device)
        sq = ((self.modes - future.unsqueeze(1)) ** 2).sum(-1)  # (B, K, T)
        sigma2 = torch.exp(2 * self.log_sigma)
        step_logp = -0.5 * sq / sigma2 - 2 * self.log_sigma - math.log(2 * math.pi)
        traj_logp = step_logp.sum(-1)  # (B, K)
        mixture = torch.logsumexp(torch.log_softmax(log_w, dim=-1) + traj_logp, dim=-1)
        return torch.clamp(mixture / steps, max=LOG_PROB_MAX)


def trajectory_errors(prediction: Prediction | Tensor, future: Tensor) -> dict[str, Tensor]:
    """Per-sample errors of a prediction against the ground truth.

    Returns:
        ``{"ade": (B,), "fde": (B,), "nll": (B,) or absent}``: minADE and minFDE over the K modes
        (each minimised on its own, the best-of-K protocol), and the negative log-likelihood.
    """
    prediction = Prediction.of(prediction)
    dist = torch.linalg.vector_norm(prediction.modes - future.unsqueeze(1), dim=-1)  # (B, K, T)
    errors = {"ade": dist.mean(-1).min(-1).values, "fde": dist[..., -1].min(-1).values}
    if prediction.log_sigma is not None:
        errors["nll"] = -prediction.log_likelihood(future)
    return errors


def _velocities(positions: Tensor) -> Tensor:
    """Finite differences along time, the first step's velocity set to zero (as Trajectron++'s derivative)."""
    vel = positions[..., 1:, :] - positions[..., :-1, :]
    return torch.cat([torch.zeros_like(vel[..., :1, :]), vel], dim=-2)


class ConstantVelocity(nn.Module):
    """Extrapolate the last observed velocity; ``modes > 1`` fans the heading out over Gaussian quantiles.

    The best-of-K version is the sampling constant-velocity model of Schöller et al. (2020), made
    deterministic so that Shapley values are not disturbed by sampling noise.

    Args:
        pred_len: Predicted steps.
        modes: Number of predicted trajectories.
        angle_std: Standard deviation (radians) of the heading fan when ``modes > 1``.
    """

    def __init__(self, pred_len: int = 12, modes: int = 1, angle_std: float = 0.25) -> None:
        super().__init__()
        self.pred_len, self.modes, self.angle_std = pred_len, modes, angle_std
        if modes > 1:
            quantiles = (torch.arange(modes, dtype=torch.float32) + 0.5) / modes
            angles = math.sqrt(2.0) * torch.erfinv(2 * quantiles - 1) * angle_std
        else:
            angles = torch.zeros(1)
        self.register_buffer("angles", angles)

    def reset_parameters(self) -> None:  # no parameters
        pass

    def forward(self, batch: SceneBatch) -> Prediction:
        velocity = batch.past[:, -1] - batch.past[:, -2]  # (B, 2)
        cos, sin = torch.cos(self.angles), torch.sin(self.angles)
        rotated = torch.stack([cos * velocity[:, :1] - sin * velocity[:, 1:], sin * velocity[:, :1] + cos * velocity[:, 1:]], dim=-1)
        steps = torch.arange(1, self.pred_len + 1, dtype=velocity.dtype, device=velocity.device)
        return Prediction(rotated.unsqueeze(2) * steps.view(1, 1, -1, 1))


class HistoryEncoder(nn.Module):
    """LSTM over the target's observed states (position and velocity, scaled), the node-history encoder
    of Trajectron++.

    Args:
        hidden: LSTM width.
        scale: Positions are divided by this (a typical per-step displacement), so any unit works.
    """

    def __init__(self, hidden: int = 64, scale: float = 1.0) -> None:
        super().__init__()
        self.embed = nn.Linear(4, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embed.reset_parameters()
        self.lstm.reset_parameters()

    def forward(self, past: Tensor) -> Tensor:
        """``past (B, T, 2)`` → ``(B, hidden)``."""
        state = torch.cat([past, _velocities(past)], dim=-1) / self.scale
        _, (h, _) = self.lstm(torch.relu(self.embed(state)))
        return h[-1]


class EdgeEncoder(nn.Module):
    """One LSTM encoding per (target, neighbour) edge: at each step it reads the target's state, the
    neighbour's state and their offset — Trajectron++Edge's late fusion (one edge per neighbour
    instead of one edge for the sum of all neighbours of a type).

    Args:
        hidden: LSTM width.
        scale: Position scale (as in :class:`HistoryEncoder`).
    """

    def __init__(self, hidden: int = 64, scale: float = 1.0) -> None:
        super().__init__()
        self.embed = nn.Linear(10, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embed.reset_parameters()
        self.lstm.reset_parameters()

    def forward(self, past: Tensor, neighbours: Tensor) -> Tensor:
        """``past (B, T, 2)``, ``neighbours (B, N, T, 2)`` → ``(B, N, hidden)``."""
        batch, count, steps, _ = neighbours.shape
        target = past.unsqueeze(1).expand(batch, count, steps, 2)
        state = torch.cat([target, _velocities(target), neighbours, _velocities(neighbours), neighbours - target], dim=-1) / self.scale
        _, (h, _) = self.lstm(torch.relu(self.embed(state.reshape(batch * count, steps, -1))))
        return h[-1].view(batch, count, -1)


class NeighbourAttention(nn.Module):
    """Masked dot-product attention of the target over its edge encodings, with one learned dummy
    neighbour that is always present (so the output is defined when every edge is cut).

    A neighbour with mask 0 gets no attention weight at all: cutting its edge removes it from the
    model, which is the paper's ``zero`` removal ("a zero trajectory with mask 1" would still be seen).

    Args:
        hidden: Width of the target encoding, the edge encodings and the output.
    """

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dummy = nn.Parameter(torch.zeros(1, 1, hidden))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.query, self.key, self.value):
            layer.reset_parameters()
        nn.init.normal_(self.dummy, std=0.1)

    def forward(self, target: Tensor, edges: Tensor, mask: Tensor) -> Tensor:
        """``target (B, H)``, ``edges (B, N, H)``, ``mask (B, N)`` → ``(B, H)``."""
        edges = torch.cat([self.dummy.expand(edges.shape[0], 1, -1), edges], dim=1)
        present = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1) > 0
        scores = (self.key(edges) @ self.query(target).unsqueeze(-1)).squeeze(-1) / math.sqrt(edges.shape[-1])
        weights = torch.softmax(scores.masked_fill(~present, float("-inf")), dim=-1)
        return (weights.unsqueeze(-1) * self.value(edges)).sum(1)


class MixtureDecoder(nn.Module):
    """MLP from an encoding to ``K`` future trajectories (integrated velocities), their mixture weights
    and per-step isotropic scales.

    Args:
        in_features: Encoding width.
        hidden: MLP width.
        pred_len: Predicted steps.
        modes: Number of mixture components (trajectories).
        scale: Position scale; outputs are multiplied back by it.
    """

    def __init__(self, in_features: int, hidden: int = 128, pred_len: int = 12, modes: int = 20, scale: float = 1.0) -> None:
        super().__init__()
        self.pred_len, self.modes = pred_len, modes
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.trajectory = nn.Linear(hidden, modes * pred_len * 2)
        self.log_sigma = nn.Linear(hidden, modes * pred_len)
        self.logits = nn.Linear(hidden, modes)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def forward(self, encoding: Tensor) -> Prediction:
        h = self.mlp(encoding)
        batch = encoding.shape[0]
        steps = self.trajectory(h).view(batch, self.modes, self.pred_len, 2)
        modes = torch.cumsum(steps, dim=2) * self.scale
        log_sigma = self.log_sigma(h).view(batch, self.modes, self.pred_len).clamp(-6.0, 4.0) + torch.log(self.scale)
        return Prediction(modes, torch.log_softmax(self.logits(h), dim=-1), log_sigma)


class LSTMPredictor(nn.Module):
    """Encoder–decoder on the target's past only (no interactions): neighbours cannot matter.

    Args:
        pred_len: Predicted steps.
        modes: Mixture components (K of best-of-K).
        hidden: Encoder width.
        scale: Position scale of the data (see :func:`~iclr22.trajshap.train.position_scale`).
    """

    def __init__(self, pred_len: int = 12, modes: int = 20, hidden: int = 64, scale: float = 1.0) -> None:
        super().__init__()
        self.history = HistoryEncoder(hidden, scale)
        self.decoder = MixtureDecoder(hidden, 2 * hidden, pred_len, modes, scale)

    def reset_parameters(self) -> None:
        self.history.reset_parameters()
        self.decoder.reset_parameters()

    def forward(self, batch: SceneBatch) -> Prediction:
        return self.decoder(self.history(batch.past))


class InteractionPredictor(nn.Module):
    """The LSTM predictor plus per-neighbour edge encodings fused by masked attention
    (Trajectron++Edge-like: separate edges to existing neighbours and a dummy agent).

    Args:
        pred_len: Predicted steps.
        modes: Mixture components.
        hidden: Encoder width.
        scale: Position scale of the data.
    """

    def __init__(self, pred_len: int = 12, modes: int = 20, hidden: int = 64, scale: float = 1.0) -> None:
        super().__init__()
        self.history = HistoryEncoder(hidden, scale)
        self.edges = EdgeEncoder(hidden, scale)
        self.attention = NeighbourAttention(hidden)
        self.decoder = MixtureDecoder(2 * hidden, 2 * hidden, pred_len, modes, scale)

    def reset_parameters(self) -> None:
        for module in (self.history, self.edges, self.attention, self.decoder):
            module.reset_parameters()

    def forward(self, batch: SceneBatch) -> Prediction:
        target = self.history(batch.past)
        if batch.neighbours.shape[1] == 0:
            social = self.attention(target, target.new_zeros(target.shape[0], 0, target.shape[1]), batch.neighbour_mask)
        else:
            social = self.attention(target, self.edges(batch.past, batch.neighbours), batch.neighbour_mask)
        return self.decoder(torch.cat([target, social], dim=-1))


def build_predictor(architecture: str, pred_len: int, modes: int, hidden: int, scale: float) -> nn.Module:
    """A fresh predictor: ``"cv"`` (:class:`ConstantVelocity`), ``"lstm"`` or ``"interaction"``."""
    if architecture == "cv":
        return ConstantVelocity(pred_len, modes)
    if architecture == "lstm":
        return LSTMPredictor(pred_len, modes, hidden, scale)
    if architecture == "interaction":
        return InteractionPredictor(pred_len, modes, hidden, scale)
    raise ValueError(f"unknown predictor architecture {architecture!r}; choose cv, lstm or interaction")
