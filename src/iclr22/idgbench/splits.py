"""The benchmark's four kinds of train/test split of a factor grid.

Every split assigns each grid cell (one image) to exactly one of train and test. The generators here
follow the rules of the paper's Figure 2 and its repository's test (train ≈ 30 % of the grid, test ≈ 70 %,
for random, interpolation and extrapolation);
the exact factor values the official Zenodo files hold out are not published in the code, so splits made
here are *IDGB-style*, not the official files (load those with :func:`split_from_labels`).

For a set of *split factors* (by default the ordinal ones, e.g. dSprites scale, x- and y-position; the
categorical shape and the cyclic orientation are not held out by default):

* **random** — a uniformly random 30 % of the cells is train.
* **composition** — test is a *corner* of factor space: the cells where *every* split factor is among
  its top ``q_k`` values. Every single value of every factor is still seen in training, only their
  combination is new. The official test asserts no train share for composition; the corner takes the
  share of the grid that the paper's Figure 2 gives it (a block of 4 of 7 rows x 5 of 7 columns, test
  = 20/49 ≈ 41 %, :data:`COMPOSITION_TEST_FRACTION`), not the 70 % of the other splits.
* **interpolation** — ``h_k`` evenly spaced *interior* values of each split factor are held out: a cell
  is test when *any* split factor takes a held-out value (the extremes are always trained on).
* **extrapolation** — a cell is test when *any* split factor is at or above a threshold ``t_k``
  (train: the ``t_k`` smallest values of every split factor).

The integers ``q_k``, ``h_k``, ``t_k`` are chosen by exhaustive search so that the train fraction is as
close to ``train_fraction`` (composition: the test fraction to ``test_fraction``), within 2 percentage
points of the closest reachable, while holding out the most similar share of every split factor.

``split_rule="supplementary"`` (:func:`supplementary_split`) instead applies the per-factor rules of the
paper's supplementary code (OpenReview 9RUHPlladgh, its ``modify_dataset``): one share ``r`` per dataset
(dSprites 0.2), every non-categorical factor a split factor (dSprites: orientation too), extrapolation the
top ``ceil(n·r)`` values of each factor, interpolation the values missed by ``n − ceil(n·r)`` evenly spaced
ones, composition trains only on cells where some factor sits among its lowest ``floor(n·q)`` values with
``q = 1 − (1 − (1 − r)^m)^(1/m)`` for ``m`` split factors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.synthetic import FactorSpace

__all__ = [
    "SPLIT_KINDS",
    "SplitKind",
    "SplitRule",
    "Split",
    "make_split",
    "random_split",
    "composition_split",
    "interpolation_split",
    "extrapolation_split",
    "split_from_labels",
    "validate_split",
    "default_split_factors",
    "supplementary_split",
    "COMPOSITION_TEST_FRACTION",
    "SPLIT_RULES",
    "SUPPLEMENTARY_TEST_RATIO",
]

#: The four split kinds (``--set splits=...``), in report order.
SplitKind = Literal["random", "composition", "interpolation", "extrapolation"]
SPLIT_KINDS: tuple[str, ...] = get_args(SplitKind)

#: Share of the grid in the composition split's test corner: the paper's Figure 2 draws it as a block of
#: 4 of 7 rows x 5 of 7 columns (20 of 49 cells); the official test asserts no share for composition.
COMPOSITION_TEST_FRACTION = 20 / 49

#: Factors held out by the composition / interpolation / extrapolation splits when none are given.
_DEFAULT_SPLIT_FACTORS = {
    "dsprites": ("scale", "x-position", "y-position"),
    # the paper's supplementary also holds out orientation here; it is not by default, because turning a
    # square or an ellipse past the trained angles gives silhouettes that are read as another *shape*:
    # in the run that held it out, shape collapsed together with orientation for four of six families
    # (docs/methods/idgbench.md), so the per-factor read-out could not say which factor was pushed out
    "dsprites-rot90": ("scale", "x-position", "y-position"),
    "colour-shapes": ("floor-hue", "wall-hue", "object-hue", "scale", "orientation"),
}


#: ``search``: the rules above, per-factor counts searched for a 30 % train share (composition: Figure 2's
#: corner); ``supplementary``: the paper's supplementary split code (:func:`supplementary_split`).
SplitRule = Literal["search", "supplementary"]
SPLIT_RULES: tuple[str, ...] = get_args(SplitRule)

#: The supplementary code's per-factor test share, per dataset (its ``dataset_to_test_factor``: dSprites and
#: its quarter-turn grid 0.2, Shapes3D 0.15, MPI3D 0.1, CelebGlow 0.3); ``colour-shapes`` takes Shapes3D's.
SUPPLEMENTARY_TEST_RATIO = {"dsprites": 0.2, "dsprites-rot90": 0.2, "colour-shapes": 0.15}

#: The supplementary code splits every factor it does not mark categorical; on dSprites only shape is.
_SUPPLEMENTARY_SPLIT_FACTORS = {
    "dsprites": ("scale", "orientation", "x-position", "y-position"),
    "dsprites-rot90": ("scale", "orientation", "x-position", "y-position"),
}


def default_split_factors(space: FactorSpace) -> tuple[str, ...]:
    """The ordinal factors of a known dataset; for an unknown one, every factor with at least 3 values."""
    if space.name in _DEFAULT_SPLIT_FACTORS:
        return _DEFAULT_SPLIT_FACTORS[space.name]
    return tuple(n for n, s in zip(space.names, space.sizes) if s >= 3)


@dataclass
class Split:
    """A train/test partition of a factor grid.

    Attributes:
        kind: ``random``, ``composition``, ``interpolation``, ``extrapolation`` or ``custom``.
        space: The factor grid.
        train_mask: bool ``[num_cells]``, true for training cells (test is the rest).
        split_factors: Factors whose values are held out (empty for ``random``).
        held_out_values: ``{factor: [values]}``: the values of each split factor that make a cell
            test (extrapolation: values ≥ threshold; interpolation: the interior values; composition:
            the corner's values, which are test only in combination).
        rule: One sentence describing the split.
    """

    kind: str
    space: FactorSpace
    train_mask: np.ndarray
    split_factors: tuple[str, ...] = ()
    held_out_values: dict[str, list[int]] = field(default_factory=dict)
    rule: str = ""

    def __post_init__(self) -> None:
        validate_split(self.space, self.train_mask)

    @property
    def test_mask(self) -> np.ndarray:
        return ~self.train_mask

    @property
    def train_fraction(self) -> float:
        return float(self.train_mask.mean())

    @property
    def num_train(self) -> int:
        return int(self.train_mask.sum())

    @property
    def num_test(self) -> int:
        return int(self.space.num_cells - self.num_train)

    def sample(self, num_train: int | None, num_test: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of a uniform subsample (without replacement) of the train and test cells.

        ``None`` keeps every cell of that side. Train and test stay disjoint by construction.
        """
        rng = np.random.default_rng(seed)
        train = np.flatnonzero(self.train_mask)
        test = np.flatnonzero(~self.train_mask)
        for name, count, pool in (("num_train", num_train, train), ("num_test", num_test, test)):
            if count is not None and count < 1:
                raise ConfigError(f"{name} must be a positive integer, got {count}")
        if num_train is not None and num_train < len(train):
            train = np.sort(rng.choice(train, size=num_train, replace=False))
        if num_test is not None and num_test < len(test):
            test = np.sort(rng.choice(test, size=num_test, replace=False))
        return train, test

    def out_of_distribution(self, classes: np.ndarray) -> np.ndarray:
        """bool ``[N, K]``: which factor of each cell takes a value this split holds out on its own.

        For extrapolation and interpolation a held-out value alone makes a cell test; composition holds
        out only combinations, and random nothing, so their rows are all false.
        """
        classes = self.space.check_classes(classes)
        flags = np.zeros(classes.shape, dtype=bool)
        if self.kind not in ("extrapolation", "interpolation"):
            return flags
        for name, values in self.held_out_values.items():
            k = self.space.factor_index(name)
            flags[:, k] = np.isin(classes[:, k], values)
        return flags

    def describe(self) -> str:
        """The rule, the held-out values and the train share, for reports."""
        held = "; ".join(f"{f}: {v}" for f, v in self.held_out_values.items())
        return f"{self.kind}: {self.rule}" + (f" [held out {held}]" if held else "") + f" — train {self.train_fraction:.1%} of {self.space.num_cells} cells"


def validate_split(space: FactorSpace, train_mask: np.ndarray, test_mask: np.ndarray | None = None) -> None:
    """Check that a split covers the grid: every cell in exactly one of train and test, both non-empty.

    Raises:
        DataError: wrong mask shape, an empty side, a cell in both sets or in neither (named by its factor
            values), or a factor value that appears in neither set.
    """
    train_mask = np.asarray(train_mask)
    if train_mask.dtype != bool or train_mask.shape != (space.num_cells,):
        raise DataError(f"split train mask: expected bool [{space.num_cells}] over the '{space.name}' grid, got {train_mask.dtype} {train_mask.shape}")
    test = ~train_mask if test_mask is None else np.asarray(test_mask, dtype=bool)
    both = train_mask & test
    neither = ~train_mask & ~test
    for problem, cells in (("in both train and test", both), ("in neither train nor test", neither)):
        if cells.any():
            values = _factor_values_of(space, int(np.flatnonzero(cells)[0]))
            count = int(cells.sum())
            unseen = _values_in_neither(space, train_mask | test)
            detail = f"; e.g. {unseen}" if unseen and problem.startswith("in neither") else ""
            raise DataError(f"split of '{space.name}': {count} cells are {problem} (first: {values}){detail}")
    if not train_mask.any() or not test.any():
        raise DataError(f"split of '{space.name}': the {'train' if not train_mask.any() else 'test'} set is empty")


def _factor_values_of(space: FactorSpace, flat: int) -> str:
    return ", ".join(f"{n}={v}" for n, v in zip(space.names, space.cells(np.array([flat]))[0]))


def _values_in_neither(space: FactorSpace, covered: np.ndarray) -> str:
    """Name a factor value that no covered cell takes, if any (the clearest symptom of a broken split)."""
    grid = covered.reshape(space.sizes)
    for k, name in enumerate(space.names):
        seen = grid.any(axis=tuple(j for j in range(space.num_factors) if j != k))
        if not seen.all():
            return f"factor '{name}' value {int(np.flatnonzero(~seen)[0])} is in neither set"
    return ""


def _check_fraction(train_fraction: float) -> None:
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction must lie strictly between 0 and 1, got {train_fraction}")


def _resolve_factors(space: FactorSpace, factors: Sequence[str] | None, min_size: int) -> tuple[int, ...]:
    names = default_split_factors(space) if factors is None else tuple(factors)
    if not names:
        raise ConfigError(f"a split of '{space.name}' needs at least one split factor")
    columns = tuple(space.factor_index(f) for f in names)
    if len(set(columns)) != len(columns):
        raise ConfigError(f"split factors repeat a factor: {list(names)}")
    for k in columns:
        if space.sizes[k] < min_size:
            raise ConfigError(f"factor '{space.names[k]}' has {space.sizes[k]} values; this split needs at least {min_size}")
    return columns


def _search_counts(sizes: Sequence[int], choices: Sequence[range], fraction_of, target: float) -> tuple[int, ...]:
    """The integer per-factor counts whose resulting fraction is near ``target`` with the most even shares.

    Among the candidates within 2 percentage points of the best reachable fraction, the one whose
    per-factor shares differ least wins (then the closer fraction), so no factor carries the split alone.
    """
    candidates = []
    for counts in itertools.product(*choices):
        shares = np.array([c / n for c, n in zip(counts, sizes)])
        candidates.append((abs(fraction_of(counts) - target), float(np.ptp(shares)), tuple(int(c) for c in counts)))
    closest = min(c[0] for c in candidates)
    near = [c for c in candidates if c[0] <= closest + _FRACTION_TOLERANCE]
    return min(near, key=lambda c: (round(c[1], 9), c[0], c[2]))[2]


_FRACTION_TOLERANCE = 0.02


def random_split(space: FactorSpace, train_fraction: float = 0.3, seed: int = 0) -> Split:
    """A uniformly random ``round(train_fraction · N)`` cells are train (reproducible from ``seed``)."""
    _check_fraction(train_fraction)
    rng = np.random.default_rng(seed)
    mask = np.zeros(space.num_cells, dtype=bool)
    mask[rng.permutation(space.num_cells)[: int(round(train_fraction * space.num_cells))]] = True
    return Split("random", space, mask, (), {}, f"i.i.d. {train_fraction:.0%} of the grid cells are train (seed {seed})")


def extrapolation_split(space: FactorSpace, factors: Sequence[str] | None = None, train_fraction: float = 0.3) -> Split:
    """Test = every cell where *any* split factor is at or above its threshold ``t_k``."""
    _check_fraction(train_fraction)
    columns = _resolve_factors(space, factors, min_size=2)
    sizes = [space.sizes[k] for k in columns]
    thresholds = _search_counts(sizes, [range(1, n) for n in sizes], lambda c: float(np.prod([t / n for t, n in zip(c, sizes)])), train_fraction)
    cells = space.cells()
    train = np.ones(space.num_cells, dtype=bool)
    held = {}
    for k, t in zip(columns, thresholds):
        train &= cells[:, k] < t
        held[space.names[k]] = list(range(t, space.sizes[k]))
    rule = "train on the smallest values of every split factor; any factor at or above its threshold is test"
    return Split("extrapolation", space, train, tuple(space.names[k] for k in columns), held, rule)


def interior_values(size: int, count: int) -> list[int]:
    """``count`` evenly spaced values strictly inside ``0..size-1``."""
    if not 1 <= count <= size - 2:
        raise ConfigError(f"cannot hold out {count} interior values of a factor with {size} values")
    picks = np.round(np.linspace(0, size - 1, count + 2)[1:-1]).astype(int)
    picks = np.clip(picks, 1, size - 2)
    # rounding can collide on small factors; spread duplicates to free interior slots
    chosen: list[int] = []
    for p in picks:
        while p in chosen:
            p += 1
        chosen.append(int(p))
    if max(chosen) > size - 2:
        chosen = list(range(1, count + 1))
    return sorted(chosen)


def interpolation_split(space: FactorSpace, factors: Sequence[str] | None = None, train_fraction: float = 0.3) -> Split:
    """Test = every cell where *any* split factor takes one of its held-out interior values."""
    _check_fraction(train_fraction)
    columns = _resolve_factors(space, factors, min_size=3)
    sizes = [space.sizes[k] for k in columns]
    counts = _search_counts(
        sizes, [range(1, n - 1) for n in sizes], lambda c: float(np.prod([(n - h) / n for h, n in zip(c, sizes)])), train_fraction
    )
    cells = space.cells()
    train = np.ones(space.num_cells, dtype=bool)
    held = {}
    for k, count in zip(columns, counts):
        values = interior_values(space.sizes[k], count)
        train &= ~np.isin(cells[:, k], values)
        held[space.names[k]] = values
    rule = "evenly spaced interior values of every split factor are never trained on; any of them makes a cell test"
    return Split("interpolation", space, train, tuple(space.names[k] for k in columns), held, rule)


def composition_split(space: FactorSpace, factors: Sequence[str] | None = None, test_fraction: float = COMPOSITION_TEST_FRACTION) -> Split:
    """Test = the corner where *every* split factor is among its top ``q_k`` values.

    ``test_fraction`` is the share of the grid the corner should take (default: the paper's figure, 20/49).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"composition test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    columns = _resolve_factors(space, factors, min_size=2)
    if len(columns) < 2:
        raise ConfigError("a composition split needs at least two split factors (it holds out their combination)")
    sizes = [space.sizes[k] for k in columns]
    corner = _search_counts(sizes, [range(1, n) for n in sizes], lambda c: float(np.prod([q / n for q, n in zip(c, sizes)])), test_fraction)
    cells = space.cells()
    test = np.ones(space.num_cells, dtype=bool)
    held = {}
    for k, q in zip(columns, corner):
        test &= cells[:, k] >= space.sizes[k] - q
        held[space.names[k]] = list(range(space.sizes[k] - q, space.sizes[k]))
    rule = "test is the corner where every split factor is high at once; each value alone is still trained on"
    return Split("composition", space, ~test, tuple(space.names[k] for k in columns), held, rule)


def supplementary_split(
    space: FactorSpace, kind: str, factors: Sequence[str] | None = None, test_ratio_per_factor: float | None = None, seed: int = 0
) -> Split:
    """A split by the per-factor rules of the paper's supplementary code (``modify_dataset``).

    With ``r`` = ``test_ratio_per_factor`` (default: the dataset's, :data:`SUPPLEMENTARY_TEST_RATIO`, else
    0.2) and, for a split factor with ``n`` values:

    * **extrapolation** — its top ``ceil(n·r)`` values are held out; any held-out value makes a cell test.
    * **interpolation** — ``n − ceil(n·r)`` values evenly spaced from the first to the last (rounded) are
      kept, the others held out; any held-out value makes a cell test.
    * **composition** — a cell is train only when some split factor is among its lowest ``floor(n·q)``
      values, ``q = 1 − (1 − (1 − r)^m)^(1/m)`` for ``m`` split factors; every other cell is test. A factor
      with ``floor(n·q) = 0`` (dSprites scale) then never makes a cell train on its own.
    * **random** — i.i.d. cells (seeded), as many train as the extrapolation rule leaves ("for random,
      mimic extrapolation to have the same test / total ratio", the supplementary's comment).

    On dSprites (``r`` = 0.2, split factors scale, orientation, x and y) this gives a train share of 32.6 %
    for random, interpolation and extrapolation (the official test's 30/70 to one decimal) and 26.1 % for
    composition.

    Raises:
        ConfigError: ``r`` outside (0, 1), an unknown kind, or a composition in which fewer than two split
            factors have a lowest value to train on.
    """
    ratio = SUPPLEMENTARY_TEST_RATIO.get(space.name, 0.2) if test_ratio_per_factor is None else float(test_ratio_per_factor)
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"test_ratio_per_factor must lie strictly between 0 and 1, got {ratio}")
    if kind not in SPLIT_KINDS:
        raise ConfigError(f"unknown split '{kind}'; known: {', '.join(SPLIT_KINDS)}")
    if factors is None and space.name in _SUPPLEMENTARY_SPLIT_FACTORS:
        factors = _SUPPLEMENTARY_SPLIT_FACTORS[space.name]
    columns = _resolve_factors(space, factors, min_size=3 if kind == "interpolation" else 2)
    tag = f"paper's supplementary rule, {ratio:g} per factor"

    def extrapolation_values(size: int) -> list[int]:
        return list(range(size - math.ceil(size * ratio), size))

    if kind == "random":
        train_share = float(np.prod([1.0 - len(extrapolation_values(space.sizes[k])) / space.sizes[k] for k in columns]))
        split = random_split(space, train_share, seed)
        split.rule = f"i.i.d. cells, as many train as the extrapolation rule leaves ({train_share:.1%}; {tag}, seed {seed})"
        return split
    cells = space.cells()
    held: dict[str, list[int]] = {}
    if kind == "composition":
        num_factors = len(columns)
        lowest_share = 1.0 - (1.0 - (1.0 - ratio) ** num_factors) ** (1.0 / num_factors)
        train = np.zeros(space.num_cells, dtype=bool)
        trained_alone = 0
        for k in columns:
            lowest = math.floor(space.sizes[k] * lowest_share)
            trained_alone += lowest > 0
            train |= cells[:, k] < lowest
            held[space.names[k]] = list(range(lowest, space.sizes[k]))
        if trained_alone < 2:
            raise ConfigError(
                f"composition of '{space.name}' by the supplementary rule: only {trained_alone} of the split factors "
                f"{[space.names[k] for k in columns]} has a lowest value to train on at {ratio:g} per factor; lower test_ratio_per_factor (a smaller share widens the lowest values)"
            )
        rule = f"train only where some split factor is among its lowest values; the rest, every factor high at once, is test ({tag})"
        return Split("composition", space, train, tuple(space.names[k] for k in columns), held, rule)
    train = np.ones(space.num_cells, dtype=bool)
    for k in columns:
        size = space.sizes[k]
        if kind == "extrapolation":
            values = extrapolation_values(size)
        else:
            kept = set(np.round(np.linspace(0, size - 1, size - math.ceil(size * ratio))).astype(int).tolist())
            values = sorted(set(range(size)) - kept)
        train &= ~np.isin(cells[:, k], values)
        held[space.names[k]] = values
    rule = {
        "extrapolation": f"the top values of every split factor are held out; any of them makes a cell test ({tag})",
        "interpolation": f"the values between evenly spaced kept ones are held out; any of them makes a cell test ({tag})",
    }[kind]
    return Split(kind, space, train, tuple(space.names[k] for k in columns), held, rule)


def make_split(
    space: FactorSpace,
    kind: str,
    factors: Sequence[str] | None = None,
    train_fraction: float = 0.3,
    seed: int = 0,
    composition_test_fraction: float = COMPOSITION_TEST_FRACTION,
    split_rule: str = "search",
    test_ratio_per_factor: float | None = None,
) -> Split:
    """One of :data:`SPLIT_KINDS` by name, made by one of :data:`SPLIT_RULES`.

    ``search`` (default): ``train_fraction`` applies to random, interpolation and extrapolation (the splits
    whose 30/70 share the official test asserts); composition's corner takes ``composition_test_fraction``
    of the grid. ``supplementary``: the paper's supplementary rules (:func:`supplementary_split`), which use
    ``test_ratio_per_factor`` and ignore the two fractions. ``seed`` is used by ``random`` only.
    """
    if split_rule not in SPLIT_RULES:
        raise ConfigError(f"unknown split rule '{split_rule}'; known: {', '.join(SPLIT_RULES)}")
    if split_rule == "supplementary":
        return supplementary_split(space, kind, factors, test_ratio_per_factor, seed)
    if kind == "random":
        return random_split(space, train_fraction, seed)
    if kind == "composition":
        return composition_split(space, factors, composition_test_fraction)
    builders = {"interpolation": interpolation_split, "extrapolation": extrapolation_split}
    if kind not in builders:
        raise ConfigError(f"unknown split '{kind}'; known: {', '.join(SPLIT_KINDS)}")
    return builders[kind](space, factors, train_fraction)


def split_from_labels(space: FactorSpace, train_labels: np.ndarray, test_labels: np.ndarray, kind: str = "custom") -> Split:
    """A split given by the factor classes of its train and test images (e.g. the official Zenodo files).

    Args:
        train_labels: int ``[N_train, K]`` factor classes of the training images.
        test_labels: int ``[N_test, K]`` factor classes of the test images.

    Raises:
        DataError: a label off the grid, a cell in both sets, or cells (factor values) in neither.
    """
    train_flat = space.flat_index(space.check_classes(train_labels, "train labels"))
    test_flat = space.flat_index(space.check_classes(test_labels, "test labels"))
    train_mask = np.zeros(space.num_cells, dtype=bool)
    test_mask = np.zeros(space.num_cells, dtype=bool)
    train_mask[train_flat] = True
    test_mask[test_flat] = True
    validate_split(space, train_mask, test_mask)
    return Split(kind, space, train_mask, (), {}, "given by label files")
