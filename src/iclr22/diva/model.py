"""The linearised model of DIVA and its closed forms (Dukler et al., ICLR 2022, Sec. 3).

DIVA linearises a network around its pre-trained weights and trains the linear part with a *weighted*
ridge (least-squares, LQF) loss. Everything the method needs is then a closed-form, differentiable
function of the sample weights ``alpha``:

* :class:`WeightedRidgeSystem` — the solution of Eq. (5)/(6), ``w_alpha = C_alpha Z^T D_alpha Y`` with
  ``C_alpha = (Z^T D_alpha Z + lambda I)^{-1}``, in primal form (a ``d x d`` Cholesky factor) or dual
  form (an ``N x N`` LU factor of ``lambda I + K D_alpha``, ``K = Z Z^T``) for wide features.
* :func:`loo_predictions` — Prop. 3: the leave-one-out prediction of every training sample without
  retraining, in the numerically stable form ``(yhat_i - alpha_i P_ii y_i) / (1 - alpha_i P_ii)``.
* :func:`paper_loo_predictions` — the same quantity through the paper's Eq. (13) with the corrected
  weighted hat matrix ``R_alpha = sqrt(D) Z C_alpha Z^T sqrt(D)`` (reference, ``O(N^2)`` memory).
* :class:`LinearizedNetwork` — Eq. (4) for a small torch network: features ``z_i = grad_w f(x_i)``
  (empirical-NTK features, computed with ``torch.func``) and ``f_lin = f_{w0} + J (w - w0)``.
* :class:`RandomFourierFeatures` — a fixed random feature map for users without a pre-trained backbone.

All functions take and return ``torch`` tensors and are differentiable with respect to ``alpha`` (use
float64 where exactness matters; the tests check 1e-8 agreement with brute force in float64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from iclr22.core.errors import ConfigError, DataError

__all__ = [
    "one_hot",
    "WeightedRidgeSystem",
    "loo_predictions",
    "paper_loo_predictions",
    "brute_force_loo_predictions",
    "LinearizedNetwork",
    "ntk_features",
    "RandomFourierFeatures",
]

FORMS = ("auto", "primal", "dual")


def one_hot(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """One-hot targets ``Y`` (``[N, C]``) of the LQF least-squares loss."""
    return torch.nn.functional.one_hot(labels.long(), num_classes).to(dtype)


class WeightedRidgeSystem:
    """The weighted ridge problem of Eq. (5)/(6) for one weight vector, factorised once.

    ``w_alpha = argmin_w sum_i alpha_i ||w^T z_i - y_i||^2 + lambda ||w||^2 = C_alpha Z^T D_alpha Y``.

    Args:
        features: ``Z``, ``[N, d]``.
        weights: ``alpha``, ``[N]``, non-negative (zeros allowed: DIVA Extend's pool samples).
        reg: ``lambda > 0``.
        form: ``"primal"`` factorises ``Z^T D Z + lambda I`` (``d x d``; memory ``O(N d + d^2)``),
            ``"dual"`` factorises ``lambda I + K D`` with ``K = Z Z^T`` (``N x N``; for ``d > N``),
            ``"auto"`` picks the smaller.

    Every method is differentiable with respect to ``weights`` (and ``features``).
    """

    def __init__(self, features: Tensor, weights: Tensor, reg: float, form: str = "auto") -> None:
        if form not in FORMS:
            raise ConfigError(f"form must be one of {FORMS}, got {form!r}")
        if not reg > 0:
            raise ConfigError(f"the ridge regularisation lambda must be > 0, got {reg}")
        n, d = features.shape
        self.features, self.weights, self.reg = features, weights, float(reg)
        self.form = ("primal" if d <= n else "dual") if form == "auto" else form
        eye = torch.eye(d if self.form == "primal" else n, dtype=features.dtype, device=features.device)
        if self.form == "primal":
            gram = features.T @ (weights[:, None] * features)
            self._cholesky = torch.linalg.cholesky(gram + self.reg * eye)
        else:
            self.kernel = features @ features.T
            # lambda I + K D: its inverse carries every dual quantity (push-through identity).
            self._lu = torch.linalg.lu_factor(self.reg * eye + self.kernel * weights[None, :])

    def _solve_dual(self, rhs: Tensor) -> Tensor:
        """``(lambda I + K D)^{-1} rhs``."""
        return torch.linalg.lu_solve(*self._lu, rhs)

    def apply_covariance(self, matrix: Tensor) -> Tensor:
        """``C_alpha @ matrix`` for a ``[d, k]`` matrix.

        Dual form: ``C = (I - Z^T D (lambda I + K D)^{-1} Z) / lambda`` (Woodbury, valid for ``alpha_i = 0``).
        """
        if self.form == "primal":
            return torch.cholesky_solve(matrix, self._cholesky)
        z_m = self.features @ matrix
        return (matrix - self.features.T @ (self.weights[:, None] * self._solve_dual(z_m))) / self.reg

    def coef(self, targets: Tensor) -> Tensor:
        """``w_alpha`` (``[d, C]``), Eq. (6)."""
        if self.form == "primal":
            return self.apply_covariance(self.features.T @ (self.weights[:, None] * targets))
        return self.features.T @ (self.weights[:, None] * self._solve_dual(targets))

    def fitted(self, targets: Tensor) -> Tensor:
        """``yhat = Z w_alpha = P D_alpha Y`` (``[N, C]``)."""
        if self.form == "primal":
            return self.features @ self.coef(targets)
        return self.kernel @ (self.weights[:, None] * self._solve_dual(targets))

    def leverage(self) -> Tensor:
        """``P_ii = z_i^T C_alpha z_i`` (``[N]``), the diagonal of ``P = Z C_alpha Z^T``.

        Primal: row sums of ``Z * (C Z^T)^T`` (never the ``N x N`` matrix). Dual:
        ``P = K (D K + lambda I)^{-1}``, so ``P^T = (lambda I + K D)^{-1} K``.
        """
        if self.form == "primal":
            return (self.features * torch.cholesky_solve(self.features.T, self._cholesky).T).sum(1)
        return torch.diagonal(self._solve_dual(self.kernel))

    def cross_projection(self, query: Tensor, train_rows: Tensor) -> Tensor:
        """``Z C_alpha Z_q^T M`` for query features ``Z_q`` (``[M, d]``) and ``M = train_rows`` (``[M, k]``)."""
        return self.features @ self.apply_covariance(query.T @ train_rows)


def loo_predictions(features: Tensor, targets: Tensor, weights: Tensor, reg: float, form: str = "auto") -> Tensor:
    """Leave-one-out predictions ``f_{-i}(z_i)`` of the weighted ridge model, Prop. 3.

    ``f_{-i}(z_i) = (yhat_i - alpha_i P_ii y_i) / (1 - alpha_i P_ii)`` with ``P = Z C_alpha Z^T`` and
    ``yhat = P D_alpha Y``: the paper's Eq. (13) rewritten so that it stays defined at ``alpha_i = 0``
    (then it equals ``z_i^T w_alpha``, the model that never saw sample ``i``). Cost ``O(N d^2)`` in
    primal form, ``O(N^3)`` in dual form; memory ``O(N d + d^2)`` resp. ``O(N^2)``.

    Args:
        features: ``Z`` ``[N, d]``.
        targets: ``Y`` ``[N, C]`` (one-hot, or ``Y - f_{w0}(X)`` for a linearised network, Eq. 4).
        weights: ``alpha`` ``[N]``.
        reg: ``lambda``.
        form: ``"auto"``, ``"primal"`` or ``"dual"`` (see :class:`WeightedRidgeSystem`).

    Returns:
        ``[N, C]``; differentiable with respect to ``weights``.
    """
    system = WeightedRidgeSystem(features, weights, reg, form)
    scaled_leverage = (weights * system.leverage())[:, None]
    return (system.fitted(targets) - scaled_leverage * targets) / (1.0 - scaled_leverage)


def paper_loo_predictions(features: Tensor, targets: Tensor, weights: Tensor, reg: float) -> Tensor:
    """Prop. 3 exactly as the paper's Eq. (13), with the corrected weighted hat matrix.

    ``f_{-i}(z_i) = [R sqrt(D) Y - diag(R) sqrt(D) Y]_i / (sqrt(alpha_i) - sqrt(alpha_i) R_ii)`` with
    ``R_alpha = sqrt(D) Z C_alpha Z^T sqrt(D)`` (``N x N``). The paper prints
    ``R_alpha = Z^T sqrt(D) (Z^T D Z + lambda I)^{-1} sqrt(D) Z``, which is not even conformable.
    Needs every ``alpha_i > 0`` and ``O(N^2)`` memory: use :func:`loo_predictions` in practice.
    """
    if bool((weights <= 0).any()):
        raise DataError("the paper's Eq. (13) divides by sqrt(alpha_i): every weight must be > 0 (use loo_predictions)")
    system = WeightedRidgeSystem(features, weights, reg, "primal")
    root = weights.sqrt()
    projection = features @ system.apply_covariance(features.T)
    hat = root[:, None] * projection * root[None, :]
    diag = torch.diagonal(hat)
    numerator = hat @ (root[:, None] * targets) - diag[:, None] * (root[:, None] * targets)
    return numerator / (root - root * diag)[:, None]


def brute_force_loo_predictions(features: Tensor, targets: Tensor, weights: Tensor, reg: float) -> Tensor:
    """``N`` refits, each without one sample: the definition that :func:`loo_predictions` short-cuts."""
    n = features.shape[0]
    rows = []
    for i in range(n):
        keep = torch.arange(n, device=features.device) != i
        coef = WeightedRidgeSystem(features[keep], weights[keep], reg, "primal").coef(targets[keep])
        rows.append(features[i] @ coef)
    return torch.stack(rows)


def _select_parameters(network: nn.Module, names: Sequence[str] | None) -> dict[str, Tensor]:
    params = dict(network.named_parameters())
    if names is None:
        return {k: v.detach() for k, v in params.items() if v.requires_grad}
    chosen = {}
    for name in names:
        matches = {k: v.detach() for k, v in params.items() if k == name or k.startswith(name + ".")}
        if not matches:
            raise ConfigError(f"no parameter of the network is named {name!r}; it has: {', '.join(params)}")
        chosen.update(matches)
    return chosen


def ntk_features(network: nn.Module, inputs: Tensor, params: Sequence[str] | None = None, batch_size: int = 256) -> Tensor:
    """Empirical-NTK features ``z_i = grad_w sum_c f_c(x_i; w0)`` of a torch network (``[N, p]``).

    DIVA linearises the network around its weights ``w0`` (Eq. 4); the features of the linearised model
    are the Jacobian rows. A ``C``-output network has a ``C x p`` Jacobian per sample; the paper's closed
    forms need one feature vector shared by the ``C`` outputs, so we take the Jacobian of the summed
    outputs (the "pseudo-NTK", whose kernel ``z_i^T z_j`` approximates the trace of the full eNTK). For
    the last layer alone it reduces to the penultimate features (repeated per class, plus the bias),
    which is the paper's setting.

    Args:
        network: The pre-trained network, put in ``eval`` mode by the caller.
        inputs: A batch of inputs ``[N, ...]``.
        params: Names (or module prefixes, e.g. ``"head"``) of the parameters to linearise; default all.
        batch_size: Samples per ``vmap(jacrev)`` call (memory ``batch_size x p``).
    """
    from torch.func import functional_call, jacrev, vmap

    chosen = _select_parameters(network, params)
    frozen = {k: v.detach() for k, v in network.named_parameters() if k not in chosen}
    buffers = dict(network.named_buffers())

    def summed_output(theta: dict[str, Tensor], x: Tensor) -> Tensor:
        out = functional_call(network, {**frozen, **theta, **buffers}, (x.unsqueeze(0),))
        return out.sum()

    per_sample = vmap(jacrev(summed_output), in_dims=(None, 0))
    blocks = []
    for start in range(0, inputs.shape[0], batch_size):
        grads = per_sample(chosen, inputs[start : start + batch_size])
        blocks.append(torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1))
    return torch.cat(blocks)


class LinearizedNetwork(nn.Module):
    """A network linearised around its current weights, Eq. (4): ``f_lin(x) = f_{w0}(x) + z(x)^T W``.

    ``z(x)`` are the empirical-NTK features of :func:`ntk_features`; ``W`` (``[p, C]``, zero until set)
    is what DIVA's weighted ridge learns on the targets ``Y - f_{w0}(X)``.

    Args:
        network: The pre-trained network (kept frozen; its outputs are ``f_{w0}``).
        params: Which parameters to linearise (names or module prefixes); default all.
        num_outputs: ``C``; inferred from a forward pass when ``None``.
        batch_size: Samples per Jacobian batch.
    """

    def __init__(self, network: nn.Module, params: Sequence[str] | None = None, num_outputs: int | None = None, batch_size: int = 256) -> None:
        super().__init__()
        self.network = network.eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        self.params = list(params) if params is not None else None
        self.batch_size = batch_size
        num_params = sum(v.numel() for v in _select_parameters(network, self.params).values())
        self.num_features = num_params
        self.num_outputs = num_outputs
        self.register_buffer("delta", torch.zeros(num_params, num_outputs or 0))

    def reset_parameters(self) -> None:
        """Back to ``f_lin = f_{w0}``."""
        self.delta.zero_()

    @torch.no_grad()
    def initial_outputs(self, inputs: Tensor) -> Tensor:
        """``f_{w0}(x)``: the frozen network's outputs."""
        return self.network(inputs)

    def features(self, inputs: Tensor) -> Tensor:
        """``z(x)`` (``[N, p]``)."""
        # jacrev needs gradients on the chosen parameters even though the module is frozen.
        return ntk_features(self.network, inputs, self.params, self.batch_size).detach()

    def set_linear_weights(self, delta: Tensor) -> None:
        """Install the learned ``W`` (``[p, C]``)."""
        if delta.shape[0] != self.num_features:
            raise DataError(f"delta has {delta.shape[0]} rows, the linearised network has {self.num_features} features")
        self.delta = delta.detach().to(self.delta.dtype if self.delta.numel() else delta.dtype)

    def forward(self, inputs: Tensor) -> Tensor:
        f0 = self.initial_outputs(inputs)
        if self.delta.numel() == 0:
            return f0
        return f0 + self.features(inputs).to(self.delta.dtype) @ self.delta


class RandomFourierFeatures(nn.Module):
    """A fixed random feature map ``sqrt(2/D) cos(x W / sigma + b)`` (Rahimi & Recht, 2007).

    Stands in for a frozen pre-trained backbone when none is available: the linear model on these features
    approximates an RBF-kernel ridge regression with bandwidth ``sigma``.

    Args:
        in_features: Input width.
        out_features: ``D``, the number of random features.
        bandwidth: ``sigma`` (e.g. the median pairwise distance of the inputs).
        generator: Seeds the draw (same generator state, same features).
    """

    def __init__(self, in_features: int, out_features: int, bandwidth: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if bandwidth <= 0 or not math.isfinite(bandwidth):
            raise ConfigError(f"bandwidth must be a positive number, got {bandwidth}")
        self.in_features, self.out_features, self.bandwidth = in_features, out_features, float(bandwidth)
        self.register_buffer("projection", torch.empty(in_features, out_features, dtype=torch.float64))
        self.register_buffer("phase", torch.empty(out_features, dtype=torch.float64))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.projection.normal_(generator=generator)
        self.phase.uniform_(0.0, 2 * math.pi, generator=generator)

    def forward(self, inputs: Tensor) -> Tensor:
        angles = inputs.to(self.projection.dtype) @ self.projection / self.bandwidth + self.phase
        return math.sqrt(2.0 / self.out_features) * torch.cos(angles)
