"""The embedded default data, rendered from known factors: the factor grid and the procedural renderers.

The benchmark lives on a discrete *factor grid*: every combination of factor values is one image.
:class:`FactorSpace` describes the grid (names, sizes, the flat index of a cell, labels normalised to
``[0, 1]`` as ``index / (size - 1)`` like the official loader) and :class:`DSpritesRenderer` draws the
image of any cell on demand, so a split of the 737,280-cell dSprites grid never needs the 3 GB array.

dSprites specification followed by the renderer (dSprites README and its notebook's metadata):
shapes square / ellipse / heart, scale ``0.5:0.1:1.0``, orientation ``linspace(0, 2π, 40)`` (both ends
included, so values 0 and 39 are the same rotation), ``posX = posY = linspace(0, 1, 32)``, binary
64 × 64 images, flat index ``= classes · [245760, 40960, 1024, 32, 1]`` (posY fastest; the constant
colour factor of the official archive has size 1 and is dropped from the labels).

Pixel geometry, measured on the 320 real frames in ``shared/data/images/dsprites`` (see the method page):
pixel ``(row, col)`` has its centre at ``(row, col)``; an object at ``posX = posY = 0`` is centred at
``(15.5, 15.5)`` and one at ``1`` at ``(47.5, 47.5)``; at scale 1 the square has side 20 px, the ellipse
semi-axes 13 × 7 px (major axis horizontal at orientation 0), the heart is 20 px wide and 17 px tall
(lobes up). A pixel is on when its centre lies inside the shape. The heart polygon of the original
LÖVE script is not published, so hearts match the real ones in size and area, not pixel for pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from iclr22.core.errors import ConfigError, DataError

__all__ = [
    "FactorSpace",
    "DSPRITES",
    "DSPRITES_ROT90",
    "ImageSource",
    "DSpritesRenderer",
    "DSpritesArchiveImages",
    "COLOUR_SHAPES",
    "ColourShapesRenderer",
    "grid_variance",
]


@dataclass(frozen=True)
class FactorSpace:
    """A discrete grid of generative factors.

    Args:
        name: Dataset name (``"dsprites"``).
        names: Factor names in label-column order.
        sizes: Number of values of each factor.
    """

    name: str
    names: tuple[str, ...]
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.sizes) or not self.names:
            raise ConfigError(f"factor space '{self.name}': {len(self.names)} names for {len(self.sizes)} sizes")
        if any(int(s) < 2 for s in self.sizes):
            raise ConfigError(f"factor space '{self.name}': every factor needs at least 2 values, got sizes {self.sizes}")

    @property
    def num_factors(self) -> int:
        return len(self.sizes)

    @property
    def num_cells(self) -> int:
        """Size of the full Cartesian grid (737,280 for dSprites)."""
        return int(np.prod(self.sizes, dtype=np.int64))

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Factor names usable in metric keys (``x-position`` -> ``x_position``)."""
        return tuple(n.replace("-", "_").replace(" ", "_") for n in self.names)

    def factor_index(self, factor: str | int) -> int:
        """Column of a factor given by name (either spelling) or position."""
        if isinstance(factor, (int, np.integer)):
            if not 0 <= int(factor) < self.num_factors:
                raise ConfigError(f"factor {factor} out of range for '{self.name}' ({self.num_factors} factors)")
            return int(factor)
        for i, (name, metric) in enumerate(zip(self.names, self.metric_names)):
            if factor in (name, metric):
                return i
        raise ConfigError(f"unknown factor '{factor}' for '{self.name}'; factors: {', '.join(self.names)}")

    def cells(self, flat_index: np.ndarray | None = None) -> np.ndarray:
        """Factor classes ``[N, K]`` (int64) of the given flat indices, or of the whole grid."""
        if flat_index is None:
            flat_index = np.arange(self.num_cells)
        flat_index = np.asarray(flat_index, dtype=np.int64)
        if flat_index.size and (flat_index.min() < 0 or flat_index.max() >= self.num_cells):
            raise DataError(f"cell index outside 0..{self.num_cells - 1} for '{self.name}'")
        return np.stack(np.unravel_index(flat_index, self.sizes), axis=1).astype(np.int64)

    def flat_index(self, classes: np.ndarray) -> np.ndarray:
        """Flat index of each row of factor classes ``[N, K]`` (row-major, last factor fastest)."""
        classes = self.check_classes(classes)
        return np.ravel_multi_index(tuple(classes.T), self.sizes).astype(np.int64)

    def check_classes(self, classes: np.ndarray, where: str = "factor classes") -> np.ndarray:
        """``classes`` as int64 ``[N, K]``; :class:`DataError` when a value is off the grid."""
        classes = np.asarray(classes)
        if classes.ndim != 2 or classes.shape[1] != self.num_factors:
            raise DataError(f"{where}: expected shape [N, {self.num_factors}] for '{self.name}', got {classes.shape}")
        if classes.dtype.kind == "f":
            if not np.all(np.isfinite(classes)) or not np.all(classes == np.round(classes)):
                raise DataError(f"{where}: factor classes must be integer indices")
        classes = classes.astype(np.int64)
        for k, (name, size) in enumerate(zip(self.names, self.sizes)):
            column = classes[:, k]
            if column.size and (column.min() < 0 or column.max() >= size):
                bad = int(column[(column < 0) | (column >= size)][0])
                raise DataError(f"{where}: factor '{name}' has value {bad}, outside 0..{size - 1}")
        return classes

    def normalize(self, classes: np.ndarray) -> np.ndarray:
        """Labels in ``[0, 1]``: ``classes / (size - 1)`` per factor (the official loader's normalisation)."""
        return (np.asarray(classes, dtype=np.float64) / (np.asarray(self.sizes, dtype=np.float64) - 1.0)).astype(np.float32)

    @cached_property
    def variance(self) -> np.ndarray:
        """Variance of each normalised factor over the full grid (the R² denominator)."""
        return grid_variance(self.sizes)


def grid_variance(sizes: Sequence[int]) -> np.ndarray:
    """Variance of ``i / (n - 1)``, ``i = 0..n-1``, for each factor size ``n``: ``(n + 1) / (12 (n - 1))``.

    Over the full Cartesian grid every value of a factor occurs equally often, so this equals the
    variance of the factor's column over all grid cells, which is what the official evaluator divides by.
    """
    n = np.asarray(sizes, dtype=np.float64)
    return (n + 1.0) / (12.0 * (n - 1.0))


#: The benchmark's dSprites factors (the official loader's order; colour dropped).
DSPRITES = FactorSpace("dsprites", ("shape", "scale", "orientation", "x-position", "y-position"), (3, 6, 40, 32, 32))

#: dSprites with the orientation restricted to its first 10 values (0 to 9 · 2π/39 ≈ 83°), so that every label
#: has a distinct image: on the full grid a square at orientation k and at k + 10 differ by only 2.3°
#: (90° symmetry, 40 values over 360° with both ends included) and an ellipse at k and k + 20 by 4.6°, which
#: caps the orientation R² any model can reach. This is the ``dsprites_rot90`` dataset (``SpriteDatasetRot90``)
#: of the paper's supplementary code, which refuses plain dSprites "without controlling for injectivity".
#: 184,320 cells; the images are those of the full grid's cells with orientation 0..9.
DSPRITES_ROT90 = FactorSpace("dsprites-rot90", DSPRITES.names, (3, 6, 10, 32, 32))


class ImageSource(Protocol):
    """Anything that gives the image of grid cells: ``images(classes) -> uint8 [N, H, W] or [N, H, W, C]``."""

    space: FactorSpace

    def images(self, classes: np.ndarray) -> np.ndarray: ...


class DSpritesRenderer:
    """Procedural dSprites: the image of any factor combination, rendered on demand.

    Args:
        chunk_size: Images rendered per vectorised batch (memory ≈ ``chunk_size × 16 KB`` of floats).
        quarter_turn: Use the :data:`DSPRITES_ROT90` grid (orientations 0..9 only) instead of :data:`DSPRITES`.

    Example:
        >>> renderer = DSpritesRenderer()
        >>> cells = DSPRITES.cells(np.array([0, 1234, 737279]))
        >>> renderer.images(cells).shape
        (3, 64, 64)
    """

    image_size = 64
    #: Real values of each factor (dSprites metadata).
    shape_names = ("square", "ellipse", "heart")
    scales = np.round(np.linspace(0.5, 1.0, 6), 10)
    orientations = np.linspace(0.0, 2.0 * math.pi, 40)
    positions = np.linspace(0.0, 1.0, 32)
    # Pixel geometry at scale 1 (measured on the real frames, see the module docstring).
    square_half_side = 10.0
    ellipse_semi_axes = (13.0, 7.0)
    heart_size = (20.0, 17.0)
    position_offset, position_span = 15.5, 32.0

    def __init__(self, chunk_size: int = 2048, quarter_turn: bool = False) -> None:
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be positive, got {chunk_size}")
        # orientation index k is the angle 2πk/39 on both grids; the quarter-turn grid only stops at k = 9
        self.space = DSPRITES_ROT90 if quarter_turn else DSPRITES
        self.chunk_size = int(chunk_size)

    def images(self, classes: np.ndarray) -> np.ndarray:
        """Render grid cells.

        Args:
            classes: int ``[N, 5]`` factor classes (shape, scale, orientation, posX, posY).

        Returns:
            uint8 ``[N, 64, 64]`` binary images (0/1), like the official archive's ``imgs``.
        """
        classes = self.space.check_classes(classes)
        out = np.empty((len(classes), self.image_size, self.image_size), dtype=np.uint8)
        for start in range(0, len(classes), self.chunk_size):
            out[start : start + self.chunk_size] = self._render_chunk(classes[start : start + self.chunk_size])
        return out

    def render(self, shape: int, scale: float, orientation: float, pos_x: float, pos_y: float) -> np.ndarray:
        """One image from real-valued latents (shape 0/1/2; any scale, angle in radians, positions in [0, 1])."""
        return self._draw(np.array([shape]), np.array([scale]), np.array([orientation]), np.array([pos_x]), np.array([pos_y]))[0]

    def _render_chunk(self, classes: np.ndarray) -> np.ndarray:
        return self._draw(
            classes[:, 0],
            self.scales[classes[:, 1]],
            self.orientations[classes[:, 2]],
            self.positions[classes[:, 3]],
            self.positions[classes[:, 4]],
        )

    def _draw(self, shape: np.ndarray, scale: np.ndarray, angle: np.ndarray, pos_x: np.ndarray, pos_y: np.ndarray) -> np.ndarray:
        import torch

        n, size = len(shape), self.image_size
        window = self._window
        centre_x = self.position_offset + self.position_span * np.asarray(pos_x, dtype=np.float64)
        centre_y = self.position_offset + self.position_span * np.asarray(pos_y, dtype=np.float64)
        # Every shape fits in a window of 32 x 32 pixels around its centre, so testing only those pixels
        # would suffice; the scatter back into the canvas costs more than it saves (measured in
        # benchmarks/idgbench_render.py), so by default the window is the whole canvas.
        left = np.clip(np.floor(centre_x).astype(np.int64) - window // 2 + 1, 0, size - window)
        top = np.clip(np.floor(centre_y).astype(np.int64) - window // 2 + 1, 0, size - window)
        offsets = torch.arange(window, dtype=torch.float32)
        cols = torch.as_tensor(left, dtype=torch.float32).view(-1, 1, 1) + offsets.view(1, 1, -1)
        rows = torch.as_tensor(top, dtype=torch.float32).view(-1, 1, 1) + offsets.view(1, -1, 1)

        def column(values: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(values, dtype=np.float32)).view(-1, 1, 1)

        # Offsets of each pixel centre from the object centre, then into the shape's own frame:
        # undo the rotation (counter-clockwise on screen) and the scale.
        dx, dy = cols - column(centre_x), rows - column(centre_y)
        cos, sin, scale_t = torch.cos(column(angle)), torch.sin(column(angle)), column(scale)
        u = (dx * cos - dy * sin) / scale_t
        v = (dx * sin + dy * cos) / scale_t

        inside = torch.zeros((n, window, window), dtype=torch.bool)
        eps = 1e-4  # pixel centres on an edge count as inside, as the real frames show
        shape = np.asarray(shape)
        for shape_id in np.unique(shape):
            rows_of = torch.as_tensor(np.flatnonzero(shape == shape_id))
            su, sv = u[rows_of], v[rows_of]
            if shape_id == 0:
                hit = torch.maximum(su.abs(), sv.abs()) <= self.square_half_side + eps
            elif shape_id == 1:
                a, b = self.ellipse_semi_axes
                hit = (su / a) ** 2 + (sv / b) ** 2 <= 1.0 + eps
            elif shape_id == 2:
                hit = _inside_heart(su, sv, *self.heart_size)
            else:
                raise DataError(f"shape {shape_id} is not a dSprites shape (0 square, 1 ellipse, 2 heart)")
            inside[rows_of] = hit

        if window == size:
            return inside.to(torch.uint8).numpy()
        out = torch.zeros((n, size, size), dtype=torch.uint8)
        batch = torch.arange(n).view(-1, 1, 1)
        out[batch, rows.long(), cols.long()] = inside.to(torch.uint8)
        return out.numpy()

    _window = 64


def _inside_heart(u, v, width: float, height: float):
    """The classic heart: a diamond with two discs on its upper edges, stretched to ``width × height``.

    In unit coordinates the diamond is ``|a| + |b| <= 1`` and the discs (radius ``1/√2``) sit at
    ``(±1/2, -1/2)``, i.e. on the midpoints of the two upper edges; the figure's bounding box is
    ``(1 + √2) × (3/2 + 1/√2)``. Its centre is moved to the origin so that the position factor places the
    bounding-box centre, as in the real frames.
    """
    radius = 1.0 / math.sqrt(2.0)
    unit_width, unit_height = 1.0 + 2.0 * radius, 1.5 + radius
    top, bottom = -(0.5 + radius), 1.0
    a = u * (unit_width / width)
    b = v * (unit_height / height) + (top + bottom) / 2.0
    diamond = a.abs() + b.abs() <= 1.0
    discs = ((a.abs() - 0.5) ** 2 + (b + 0.5) ** 2) <= radius**2
    return diamond | discs


class DSpritesArchiveImages:
    """Images of grid cells taken from the official dSprites archive, for users who have it.

    Args:
        path: ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` or the folder holding it.
        quarter_turn: Serve the :data:`DSPRITES_ROT90` grid (orientations 0..9) from the archive.

    The archive's order is the grid's order (colour has one value), so cell ``i`` is ``imgs[i]``.
    """

    def __init__(self, path, quarter_turn: bool = False) -> None:
        from iclr22.data.images import load_dsprites_npz

        archive = load_dsprites_npz(path)
        if len(archive) != DSPRITES.num_cells:
            raise DataError(f"{path}: holds {len(archive)} images, expected the full dSprites grid of {DSPRITES.num_cells}")
        expected = DSPRITES.cells(np.arange(0, DSPRITES.num_cells, 9973))
        if not np.array_equal(archive.latents_classes[:: 9973, 1:], expected):
            raise DataError(f"{path}: latents_classes do not follow the dSprites row-major order (posY fastest)")
        self.space = DSPRITES_ROT90 if quarter_turn else DSPRITES
        self._imgs = archive.imgs

    def images(self, classes: np.ndarray) -> np.ndarray:
        # a quarter-turn cell is the full-grid cell with the same classes (orientation 0..9 of 0..39)
        return np.asarray(self._imgs[DSPRITES.flat_index(self.space.check_classes(classes))], dtype=np.uint8)


#: A colour dataset on Shapes3D's factor grid (10 floor hues, 10 wall hues, 10 object hues, 8 scales,
#: 4 shapes, 15 orientations = 480,000 cells), drawn in 2-D by :class:`ColourShapesRenderer`.
COLOUR_SHAPES = FactorSpace(
    "colour-shapes", ("floor-hue", "wall-hue", "object-hue", "scale", "shape", "orientation"), (10, 10, 10, 8, 4, 15)
)


class ColourShapesRenderer:
    """A procedural colour dataset in the spirit of Shapes3D, on Shapes3D's factor grid, drawn in 2-D.

    A 64 × 64 RGB image: a wall (top 40 rows) and a floor (bottom 24 rows), each of one of 10 hues; on the
    floor line a centred object of one of 10 hues, 4 shapes (square, upright rectangle, disc, capsule —
    the 2-D outlines of Shapes3D's cube, cylinder, sphere and capsule), 8 scales ``linspace(0.75, 1.25)``
    and 15 in-plane orientations ``linspace(-30°, 30°)``. Hues are ``linspace(0, 0.9, 10)`` at full
    saturation and value, like Shapes3D's (the object at value 0.8 so that it never vanishes on a
    background of its own hue). This is *not* Shapes3D (no 3-D scene, no lighting); it is a
    second, colourful factor grid for the benchmark that needs no download.

    Args:
        chunk_size: Images rendered per vectorised batch.
    """

    image_size = 64
    wall_rows = 40
    hues = np.linspace(0.0, 0.9, 10)
    scales = np.linspace(0.75, 1.25, 8)
    orientations = np.deg2rad(np.linspace(-30.0, 30.0, 15))
    shape_names = ("square", "rectangle", "disc", "capsule")
    base_half_size = 10.0  # half side of the square at scale 1, in pixels
    object_value = 0.8

    def __init__(self, chunk_size: int = 1024) -> None:
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be positive, got {chunk_size}")
        self.space = COLOUR_SHAPES
        self.chunk_size = int(chunk_size)

    @staticmethod
    def hue_to_rgb(hue: np.ndarray) -> np.ndarray:
        """HSV ``(hue, 1, 1)`` → RGB in ``[0, 1]``, shape ``[..., 3]``."""
        hue = np.asarray(hue, dtype=np.float64)[..., None]
        channel = np.abs(np.mod(hue * 6.0 + np.array([0.0, 4.0, 2.0]), 6.0) - 3.0) - 1.0
        return np.clip(channel, 0.0, 1.0)

    def images(self, classes: np.ndarray) -> np.ndarray:
        """Render grid cells: int ``[N, 6]`` classes → uint8 RGB ``[N, 64, 64, 3]``."""
        classes = self.space.check_classes(classes)
        out = np.empty((len(classes), self.image_size, self.image_size, 3), dtype=np.uint8)
        for start in range(0, len(classes), self.chunk_size):
            out[start : start + self.chunk_size] = self._render_chunk(classes[start : start + self.chunk_size])
        return out

    def _render_chunk(self, classes: np.ndarray) -> np.ndarray:
        size = self.image_size
        n = len(classes)
        floor, wall, colour = (self.hue_to_rgb(self.hues[classes[:, k]]) for k in range(3))
        scale = self.scales[classes[:, 3]][:, None, None]
        shape = classes[:, 4][:, None, None]
        angle = self.orientations[classes[:, 5]][:, None, None]
        rows, cols = np.mgrid[:size, :size].astype(np.float64)
        half = self.base_half_size * scale
        # the object stands on the floor line, centred horizontally; rotate about its centre
        dx = cols[None] - (size - 1) / 2.0
        dy = rows[None] - (self.wall_rows - half)
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        square = np.maximum(np.abs(u), np.abs(v)) <= half
        rectangle = (np.abs(u) <= 0.6 * half) & (np.abs(v) <= half)
        disc = u**2 + v**2 <= half**2
        straight = np.clip(np.abs(v), None, 0.45 * half)
        capsule = u**2 + (np.abs(v) - straight) ** 2 <= (0.55 * half) ** 2
        inside = np.select([shape == 0, shape == 1, shape == 2], [square, rectangle, disc], default=capsule)
        background = np.where((rows[None, :, :, None] < self.wall_rows), wall[:, None, None, :], floor[:, None, None, :])
        # the object is drawn slightly darker, so it stays visible on a wall or floor of its own hue
        image = np.where(inside[..., None], self.object_value * colour[:, None, None, :], background)
        return np.round(image * 255.0).astype(np.uint8).reshape(n, size, size, 3)
