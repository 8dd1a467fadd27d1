"""The model families the benchmark compares, each mapping images ``[B, C, H, W]`` to ``[B, K]`` factors.

Fully supervised regressors trained end to end with MSE on the normalised factors (the paper's
"fully supervised" group): :class:`MLP`, :class:`VanillaCNN` (the repository's reference model, in the
style of disentanglement_lib), :class:`CoordConvCNN`, :class:`ResNet` (a small ResNet in plain torch —
torchvision is not usable here) and :class:`ViT` (a tiny vision transformer). The unsupervised group is
represented by :class:`BetaVAE`, whose posterior means are read out by a linear map fit on the
training labels (:class:`LinearReadout`).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor, nn

from iclr22.core.errors import ConfigError

__all__ = [
    "MODEL_FAMILIES",
    "ModelFamily",
    "MLP",
    "VanillaCNN",
    "AddCoords",
    "CoordConvCNN",
    "BasicBlock",
    "ResNet",
    "ViT",
    "BetaVAE",
    "LinearReadout",
    "MLPReadout",
    "EncoderWithReadout",
    "build_model",
    "count_parameters",
]

#: The model families (``--set models=...`` names), in report order.
ModelFamily = Literal["mlp", "cnn", "coordconv", "resnet", "vit", "betavae"]
MODEL_FAMILIES: tuple[str, ...] = get_args(ModelFamily)


def _reset_all(module: nn.Module) -> None:
    for child in module.modules():
        if child is not module and hasattr(child, "reset_parameters"):
            child.reset_parameters()


class MLP(nn.Module):
    """A fully connected regressor on the flattened image.

    Args:
        in_features: ``C · H · W``.
        num_factors: Number of outputs (factors).
        hidden: Widths of the hidden layers (ReLU after each).
    """

    def __init__(self, in_features: int, num_factors: int, hidden: tuple[int, ...] = (1024, 512, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_factors))
        self.net = nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        _reset_all(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _conv_encoder(in_channels: int, coord: bool = False) -> nn.Sequential:
    """disentanglement_lib's conv stack: four 4×4 stride-2 convs (32, 32, 64, 64), ReLU after each.

    With ``coord`` every conv also sees two coordinate channels (CoordConv, Liu et al. 2018).
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for out in (32, 32, 64, 64):
        if coord:
            layers.append(AddCoords())
        layers += [nn.Conv2d(channels + (2 if coord else 0), out, kernel_size=4, stride=2, padding=1), nn.ReLU()]
        channels = out
    return nn.Sequential(*layers)


class VanillaCNN(nn.Module):
    """The repository's reference regressor (``model.py``: VanillaCNN).

    Conv(c→32, 4, s2, p1) → Conv(32→32) → Conv(32→64) → Conv(64→64) → Conv(64→256, k4) → Linear(256→K),
    ReLU after every conv; unbounded outputs trained with MSE. Expects 64 × 64 inputs.

    Args:
        in_channels: Image channels.
        num_factors: Number of outputs.
        coord: Add CoordConv coordinate channels before every conv (used by :class:`CoordConvCNN`).
    """

    def __init__(self, in_channels: int, num_factors: int, coord: bool = False) -> None:
        super().__init__()
        self.features = _conv_encoder(in_channels, coord)
        self.head_conv = nn.Conv2d(64 + (2 if coord else 0), 256, kernel_size=4)
        self.coord = AddCoords() if coord else nn.Identity()
        self.out = nn.Linear(256, num_factors)

    def reset_parameters(self) -> None:
        _reset_all(self)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.head_conv(self.coord(self.features(x))))
        return self.out(h.flatten(1))


class AddCoords(nn.Module):
    """Append two channels holding each pixel's x and y coordinate in ``[-1, 1]`` (CoordConv)."""

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w).expand(b, 1, h, w)
        return torch.cat([x, xs, ys], dim=1)


class CoordConvCNN(VanillaCNN):
    """:class:`VanillaCNN` with coordinate channels before every convolution (Liu et al., 2018).

    Args:
        in_channels: Image channels.
        num_factors: Number of outputs.
    """

    def __init__(self, in_channels: int, num_factors: int) -> None:
        super().__init__(in_channels, num_factors, coord=True)


class BasicBlock(nn.Module):
    """The ResNet basic block: two 3×3 convs with batch norm and an identity (or 1×1) shortcut.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the first conv (and of the shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))

    def reset_parameters(self) -> None:
        _reset_all(self)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet (one basic block per stage, ResNet-10 layout) for regression.

    Args:
        in_channels: Image channels.
        num_factors: Number of outputs.
        widths: Channels of the four stages; stages 2–4 halve the resolution.
    """

    def __init__(self, in_channels: int, num_factors: int, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        # A stride-2 stem keeps the CPU cost close to the VanillaCNN's on 64 × 64 inputs.
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, channels = [], widths[0]
        for i, width in enumerate(widths):
            blocks.append(BasicBlock(channels, width, stride=1 if i == 0 else 2))
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(channels, num_factors)

    def reset_parameters(self) -> None:
        _reset_all(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.stem(x))
        return self.out(h.mean(dim=(2, 3)))


class ViT(nn.Module):
    """A tiny vision transformer: patch tokens, learned positions, pre-norm encoder, mean pooling.

    Args:
        image_size: Height = width of the input.
        in_channels: Image channels.
        num_factors: Number of outputs.
        patch_size: Side of a patch (``image_size`` must be a multiple); a power of 2 with ``stem="conv"``.
        dim: Token width.
        depth: Transformer layers.
        heads: Attention heads.
        mlp_ratio: Width of the feed-forward layer relative to ``dim``.
        stem: How tokens are made. ``"patch"``: one linear map per non-overlapping patch (the original ViT).
            ``"conv"``: a stack of 3×3 stride-2 convolutions with batch norm and ReLU down to the patch grid,
            then a 1×1 convolution (Xiao et al., 2021, "Early convolutions help transformers see better"),
            the same number of tokens.
    """

    def __init__(
        self,
        image_size: int,
        in_channels: int,
        num_factors: int,
        patch_size: int = 8,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: int = 2,
        stem: str = "conv",
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ConfigError(f"ViT: image size {image_size} is not a multiple of patch size {patch_size}")
        if stem not in ("patch", "conv"):
            raise ConfigError(f"ViT: stem must be 'patch' or 'conv', got {stem!r}")
        num_patches = (image_size // patch_size) ** 2
        if stem == "patch":
            self.patchify: nn.Module = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        else:
            if patch_size & (patch_size - 1):
                raise ConfigError(f"ViT: a conv stem needs a power-of-2 patch size, got {patch_size}")
            layers: list[nn.Module] = []
            channels, width = in_channels, max(dim // patch_size * 2, 8)
            for _ in range(patch_size.bit_length() - 1):  # log2(patch_size) halvings
                layers += [nn.Conv2d(channels, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                channels, width = width, min(width * 2, dim)
            layers.append(nn.Conv2d(channels, dim, kernel_size=1))
            self.patchify = nn.Sequential(*layers)
        self.position = nn.Parameter(torch.zeros(1, num_patches, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim * mlp_ratio, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, num_factors)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_all(self)
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.patchify(x).flatten(2).transpose(1, 2) + self.position
        return self.out(self.norm(self.encoder(tokens)).mean(dim=1))


class BetaVAE(nn.Module):
    """β-VAE (Higgins et al., 2017) with disentanglement_lib's conv encoder and deconv decoder.

    Encoder: the four-conv stack → Linear(1024→256) → (μ, log σ²) of ``latent_dim`` Gaussians.
    Decoder: Linear(latent→256) → Linear(256→1024) → four 4×4 stride-2 transposed convs (64, 32, 32, C)
    giving Bernoulli logits. Loss (:meth:`loss`): ``BCE(x, x̂) + β · KL(q(z|x) ‖ N(0, I))`` per image.

    Args:
        in_channels: Image channels.
        latent_dim: Size of ``z``.
        beta: Weight of the KL term.
    """

    def __init__(self, in_channels: int, latent_dim: int = 10, beta: float = 4.0) -> None:
        super().__init__()
        self.latent_dim, self.beta = latent_dim, float(beta)
        self.encoder = nn.Sequential(_conv_encoder(in_channels), nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU())
        self.to_stats = nn.Linear(256, 2 * latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 64 * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 64, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, in_channels, 4, 2, 1),
        )

    def reset_parameters(self) -> None:
        _reset_all(self)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance."""
        mean, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar

    def forward(self, x: Tensor) -> Tensor:
        """The representation used downstream: the posterior mean."""
        return self.encode(x)[0]

    def loss(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Negative β-ELBO per image, with its reconstruction and KL parts (batch means)."""
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        logits = self.decoder(z)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        return reconstruction + self.beta * kl, reconstruction, kl


class LinearReadout(nn.Module):
    """An affine map from a representation to the factors, ``ŷ = W h + b``.

    Args:
        in_features: Representation size.
        num_factors: Number of outputs.
    """

    def __init__(self, in_features: int, num_factors: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, num_factors)

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def forward(self, h: Tensor) -> Tensor:
        return self.linear(h)


class MLPReadout(MLP):
    """A non-linear readout from a representation to the factors: ReLU MLP, linear output.

    The same network as :class:`MLP` (whose flatten is the identity on a ``(N, d)`` representation), with
    a smaller default width for a readout.

    Args:
        in_features: Representation size.
        num_factors: Number of outputs.
        hidden: Widths of the hidden layers.
    """

    def __init__(self, in_features: int, num_factors: int, hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__(in_features, num_factors, hidden)


class EncoderWithReadout(nn.Module):
    """A frozen representation followed by a readout: ``readout(encoder(x))``.

    Args:
        encoder: Maps images to representations (e.g. a trained :class:`BetaVAE`, whose forward is μ).
        readout: Maps representations to factors.
    """

    def __init__(self, encoder: nn.Module, readout: nn.Module) -> None:
        super().__init__()
        self.encoder, self.readout = encoder, readout

    def forward(self, x: Tensor) -> Tensor:
        return self.readout(self.encoder(x))


def build_model(name: str, image_shape: tuple[int, int, int], num_factors: int) -> nn.Module:
    """A fresh model of one of :data:`MODEL_FAMILIES` for images ``(C, H, W)``.

    ``betavae`` returns the bare :class:`BetaVAE`; its readout is fit after unsupervised training
    (see :func:`iclr22.idgbench.train.fit_mlp_readout` and :func:`~iclr22.idgbench.train.fit_linear_readout`).
    """
    channels, height, width = image_shape
    if name == "mlp":
        return MLP(channels * height * width, num_factors)
    if name in ("cnn", "coordconv", "betavae") and (height, width) != (64, 64):
        raise ConfigError(f"model '{name}' (disentanglement_lib layout) expects 64 x 64 images, got {height} x {width}")
    if name == "cnn":
        return VanillaCNN(channels, num_factors)
    if name == "coordconv":
        return CoordConvCNN(channels, num_factors)
    if name == "resnet":
        return ResNet(channels, num_factors)
    if name == "vit":
        if height != width:
            raise ConfigError(f"model 'vit' expects square images, got {height} x {width}")
        return ViT(height, channels, num_factors)
    if name == "betavae":
        return BetaVAE(channels)
    raise ConfigError(f"unknown model '{name}'; known: {', '.join(MODEL_FAMILIES)}")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


