"""A user's own images with known factors, split the benchmark's four ways and scored like the benchmark.

The benchmark lives on a factor grid (:mod:`iclr22.idgbench.splits`). A user's dataset is ``N`` images, each
with ``K`` factor values (``.npz``: ``images`` ``[N, H, W(, C)]``, ``factors`` ``[N, K]``, optional
``factor_names`` ``[K]``). :func:`factor_dataset` turns each factor's values into levels: its distinct
values, sorted, so a value's class is its rank and its label ``rank / (levels − 1)`` — the benchmark's
``index / (size − 1)``. Unevenly spaced values are thus regressed as evenly spaced levels, as the official
loader does for every dataset, and a factor with one value is dropped (like dSprites' colour).

:class:`DatasetBenchmark` splits the images with the benchmark's own rules: random draws images i.i.d.; the
other three are drawn by :func:`~iclr22.idgbench.splits.make_split` on the grid of the *split factors'*
levels (the rules depend on those factors only), and an image goes to the side of its cell. On a full grid
(every combination once, like dSprites) the train shares are the benchmark's; on other data the realised
shares differ, and :attr:`DatasetSplit.train_share` says by how much. Scores are
:func:`~iclr22.idgbench.benchmark.score_shift`'s (R² in %, with the levels' grid variance).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.benchmark import score_shift
from iclr22.idgbench.splits import COMPOSITION_TEST_FRACTION, SPLIT_KINDS, Split, default_split_factors, make_split
from iclr22.idgbench.synthetic import FactorSpace

__all__ = [
    "FactorLevels",
    "FactorDataset",
    "DatasetSplit",
    "DatasetBenchmark",
    "factor_dataset",
    "load_factor_dataset",
    "read_images",
    "check_images",
    "MAX_SPLIT_COMBINATIONS",
]

#: The split search tries every combination of per-factor counts (``splits._search_counts``): at most this
#: many (about 2 s), e.g. 6 x 32 x 32 for dSprites' three split factors is 6,144.
MAX_SPLIT_COMBINATIONS = 200_000

_LEVELS_FILE = "factors.json"
_LEVELS_FORMAT = "iclr22.idgbench.factor-levels/1"


@dataclass(frozen=True)
class FactorLevels:
    """Each factor's levels (its distinct values, sorted) in the user's units, and the map to labels.

    Attributes:
        names: Factor names, in label-column order.
        levels: Per factor, its sorted distinct values.
    """

    names: tuple[str, ...]
    levels: tuple[np.ndarray, ...]

    @property
    def space(self) -> FactorSpace:
        return FactorSpace("user data", self.names, tuple(len(v) for v in self.levels))

    def classes(self, factors: np.ndarray, where: str = "factors") -> np.ndarray:
        """int64 ``[N, K]``: the level of each value; :class:`DataError` for a value that is not a level."""
        factors = np.asarray(factors, dtype=np.float64)
        if factors.ndim != 2 or factors.shape[1] != len(self.names):
            raise DataError(f"{where}: expected [N, {len(self.names)}] factor values ({', '.join(self.names)}), got shape {factors.shape}")
        classes = np.empty(factors.shape, dtype=np.int64)
        for k, (name, levels) in enumerate(zip(self.names, self.levels)):
            index = np.clip(np.searchsorted(levels, factors[:, k]), 0, len(levels) - 1)
            below = np.clip(index - 1, 0, len(levels) - 1)
            nearest = np.where(np.abs(levels[below] - factors[:, k]) < np.abs(levels[index] - factors[:, k]), below, index)
            off = ~np.isclose(levels[nearest], factors[:, k], rtol=1e-6, atol=1e-9)
            if off.any():
                row = int(np.flatnonzero(off)[0])
                raise DataError(f"{where}: row {row}: factor '{name}' is {factors[row, k]:g}, not one of its {len(levels)} levels {_show(levels)}")
            classes[:, k] = nearest
        return classes

    def values(self, normalised: np.ndarray) -> np.ndarray:
        """Normalised predictions ``[N, K]`` in the user's units: linear between adjacent levels, clipped to the range."""
        normalised = np.asarray(normalised, dtype=np.float64)
        return np.stack(
            [np.interp(normalised[:, k] * (len(v) - 1), np.arange(len(v)), v) for k, v in enumerate(self.levels)], axis=1
        )

    def save(self, folder: str | Path) -> Path:
        """Write ``factors.json`` into ``folder`` (beside a saved regressor)."""
        path = Path(folder) / _LEVELS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": _LEVELS_FORMAT, "names": list(self.names), "levels": [v.tolist() for v in self.levels]}
        path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> FactorLevels | None:
        """The levels saved in ``folder``, or ``None`` when it has none (a regressor saved from Python)."""
        path = Path(folder) / _LEVELS_FILE
        if not path.is_file():
            return None
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            if body.get("format") != _LEVELS_FORMAT:
                raise ValueError(f"format {body.get('format')!r}")
            return cls(tuple(body["names"]), tuple(np.asarray(v, dtype=np.float64) for v in body["levels"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a factor-levels file ({exc})") from None


def _show(levels: np.ndarray, most: int = 8) -> str:
    shown = ", ".join(f"{v:g}" for v in levels[:most])
    return f"[{shown}{', ...' if len(levels) > most else ''}]"


@dataclass
class FactorDataset:
    """A user's images with their factor levels.

    Attributes:
        images: ``[N, H, W]`` or ``[N, H, W, C]``, uint8 (0/1 or 0..255) or float in ``[0, 1]``.
        classes: int64 ``[N, K]``: each image's level per factor.
        levels: The factors' names and levels.
        dropped: Factors left out because they take one value only.
    """

    images: np.ndarray
    classes: np.ndarray
    levels: FactorLevels
    dropped: tuple[str, ...] = ()

    @property
    def space(self) -> FactorSpace:
        return self.levels.space

    @property
    def targets(self) -> np.ndarray:
        """float32 ``[N, K]`` labels in ``[0, 1]``: ``level / (levels − 1)``."""
        return self.space.normalize(self.classes)

    def __len__(self) -> int:
        return len(self.images)


def check_images(images: Any, where: str = "images") -> np.ndarray:
    """``images`` as a model input: ``[N, H, W]`` or ``[N, H, W, C]``, uint8, or float32 in ``[0, 1]``.

    Raises:
        DataError: another rank, channel-first layout, NaN / inf, or values outside the dtype's range.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[0] == 0:
        raise DataError(f"{where}: expected images [N, H, W] or [N, H, W, C], got shape {images.shape}")
    if images.ndim == 4 and images.shape[3] > 4:
        hint = " (they look channel-first [N, C, H, W]; store them as [N, H, W, C])" if images.shape[1] <= 4 else ""
        raise DataError(f"{where}: {images.shape[3]} channels in shape {images.shape}; expected [N, H, W, C] with C <= 4{hint}")
    if images.dtype == bool:
        return images.astype(np.uint8)
    if images.dtype.kind in "iu":
        if images.min() < 0 or images.max() > 255:
            raise DataError(f"{where}: integer pixels must lie in 0..255, found {int(images.min())}..{int(images.max())}")
        return images.astype(np.uint8, copy=False)
    if images.dtype.kind != "f":
        raise DataError(f"{where}: pixels must be numbers, found dtype {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise DataError(f"{where}: {int((~np.isfinite(images)).sum())} pixels are NaN/inf")
    if images.min() < 0 or images.max() > 1:
        raise DataError(f"{where}: float pixels must lie in [0, 1], found {float(images.min()):g}..{float(images.max()):g} (store 0..255 as uint8)")
    return images.astype(np.float32, copy=False)


def factor_dataset(images: Any, factors: Any, names: Sequence[str] | None = None) -> FactorDataset:
    """A :class:`FactorDataset` from arrays; each factor's distinct values become its levels.

    Args:
        images: ``[N, H, W]`` or ``[N, H, W, C]`` images (uint8, or float in ``[0, 1]``).
        factors: ``[N, K]`` factor values (any numbers; ``[N]`` for one factor).
        names: ``K`` factor names (default ``factor_0 ... factor_{K-1}``).

    Raises:
        DataError: shapes that do not match, non-numeric or NaN factors, repeated names, or no factor left
            after dropping those with a single value.

    Warns:
        UserWarning: for each factor dropped because it takes one value only.
    """
    images = check_images(images)
    factors = np.asarray(factors)
    if factors.ndim == 1:
        factors = factors[:, None]
    if factors.ndim != 2 or factors.dtype.kind not in "biuf":
        raise DataError(f"factors: expected numbers [N, K], got {factors.dtype} {factors.shape}")
    factors = factors.astype(np.float64)
    if not np.all(np.isfinite(factors)):
        raise DataError(f"factors: {int((~np.isfinite(factors)).sum())} values are NaN/inf")
    if len(factors) != len(images):
        raise DataError(f"{len(images)} images but {len(factors)} rows of factors")
    names = [f"factor_{k}" for k in range(factors.shape[1])] if names is None else [str(n).strip() for n in names]
    if len(names) != factors.shape[1]:
        raise DataError(f"factor_names: {len(names)} names for {factors.shape[1]} factor columns")
    metric = [n.replace("-", "_").replace(" ", "_") for n in names]
    if not all(names) or len(set(metric)) != len(metric):
        raise DataError(f"factor_names must be non-empty and distinct (after '-' and ' ' read as '_'): {names}")
    kept, levels, dropped = [], [], []
    for k, name in enumerate(names):
        values = np.unique(factors[:, k])
        if len(values) < 2:
            dropped.append(name)
            warnings.warn(f"factor '{name}' takes one value only ({values[0]:g}); it is not regressed", UserWarning, stacklevel=2)
            continue
        kept.append(k)
        levels.append(values)
    if not kept:
        raise DataError(f"factors: every factor takes a single value ({', '.join(names)}); nothing to regress")
    factor_levels = FactorLevels(tuple(names[k] for k in kept), tuple(levels))
    classes = np.stack([np.searchsorted(v, factors[:, k]) for k, v in zip(kept, levels)], axis=1).astype(np.int64)
    return FactorDataset(images, classes, factor_levels, tuple(dropped))


def read_images(path: str | Path, key: str = "images") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images from an ``.npz`` (array ``key``; other arrays returned too) or an ``.npy``, read without pickle.

    Returns:
        ``(images, {name: array})`` with the ``.npz``'s ``factors`` and ``factor_names`` when present.
    """
    from iclr22.data import _checks

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return check_images(np.load(path, allow_pickle=False), str(path)), {}
        except ValueError as exc:
            raise DataError(f"{path}: not a plain numeric .npy ({exc})") from None
    if suffix != ".npz":
        raise DataError(f"{path}: expected an .npz (images, factors, optional factor_names) or an .npy of images")
    arrays = _checks.load_npz_arrays(path, [key], ["factors", "factor_names"])
    return check_images(arrays.pop(key), f"{path}: {key}"), arrays


def load_factor_dataset(path: str | Path) -> FactorDataset:
    """Read a user's ``.npz``: ``images`` ``[N, H, W(, C)]``, ``factors`` ``[N, K]``, optional ``factor_names`` ``[K]``.

    Raises:
        DataError: naming the file and what is missing or wrong.
    """
    images, arrays = read_images(path)
    if "factors" not in arrays:
        raise DataError(f"{path}: no 'factors' array (expected factors [N, K], one column per factor)")
    names = arrays.get("factor_names")
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "US"):
        raise DataError(f"{path}: factor_names must be a 1-D array of strings, got {names.dtype} {names.shape}")
    try:
        return factor_dataset(images, arrays["factors"], None if names is None else [str(n) for n in names])
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


@dataclass
class DatasetSplit:
    """One split of a user's images.

    Attributes:
        kind: The split kind.
        split: The rule on the split factors' grid (``None`` for random, which draws images i.i.d.).
        train, test, heldin: Image indices used for training, testing and as the unseen in-distribution
            reference (drawn from the training side, never trained on).
        train_side: Number of images on the training side of the rule (before subsampling).
        ood: bool ``[len(test), K]``: which factor of each test image takes a held-out value on its own.
    """

    kind: str
    split: Split | None
    train: np.ndarray
    test: np.ndarray
    heldin: np.ndarray
    train_side: int
    ood: np.ndarray

    def train_share(self, num_images: int) -> float:
        """Share of the images on the training side (the benchmark's is 30 %, composition's 59 %)."""
        return self.train_side / num_images

    def assignment(self, num_images: int) -> np.ndarray:
        """Per image: ``train``, ``heldin``, ``test`` or ``unused`` (left out by ``num_train`` / ``num_test``)."""
        roles = np.full(num_images, "unused", dtype=object)
        roles[self.train], roles[self.heldin], roles[self.test] = "train", "heldin", "test"
        return roles


class DatasetBenchmark:
    """The benchmark's splits and scores on a user's :class:`FactorDataset`.

    Args:
        dataset: The images and their factor levels.
        splits: Split kinds, in order.
        split_factors: Factors whose values composition, interpolation and extrapolation hold out (default:
            every factor with at least 3 levels).
        train_fraction: Target train share of random, interpolation and extrapolation (the benchmark's 0.3).
        composition_test_fraction: Share of the split factors' grid in composition's test corner (20/49).
        heldin_fraction: Share of each split's training side kept unseen as the in-distribution reference.
        num_train: At most this many training images per split (``None``: the whole training side).
        num_test: At most this many test images per split (``None``: all).
        seed: Seeds the random split and the subsampling.

    Example:
        >>> bench = DatasetBenchmark(load_factor_dataset("mine.npz"), splits=["random", "extrapolation"])
        >>> bench.evaluate(lambda images, targets: FactorRegressor("cnn").fit(images, targets).model_)
    """

    def __init__(
        self,
        dataset: FactorDataset,
        splits: Sequence[str] = SPLIT_KINDS,
        split_factors: Sequence[str] | None = None,
        train_fraction: float = 0.3,
        composition_test_fraction: float = COMPOSITION_TEST_FRACTION,
        heldin_fraction: float = 0.1,
        num_train: int | None = None,
        num_test: int | None = None,
        seed: int = 0,
    ) -> None:
        unknown = [s for s in splits if s not in SPLIT_KINDS]
        if unknown or not splits:
            raise ConfigError(f"unknown split(s) {unknown or '(none given)'}; known: {', '.join(SPLIT_KINDS)}")
        if not 0.0 < train_fraction < 1.0:
            raise ConfigError(f"train_fraction must lie strictly between 0 and 1, got {train_fraction}")
        if not 0.0 <= heldin_fraction < 1.0:
            raise ConfigError(f"heldin_fraction must lie in [0, 1), got {heldin_fraction}")
        for name, count in (("num_train", num_train), ("num_test", num_test)):
            if count is not None and count < 1:
                raise ConfigError(f"{name} must be a positive integer, got {count}")
        self.dataset, self.splits = dataset, tuple(splits)
        space = dataset.space
        names = default_split_factors(space) if split_factors is None else tuple(split_factors)
        self.split_factors = tuple(space.names[space.factor_index(n)] for n in names)
        self.train_fraction, self.composition_test_fraction = train_fraction, composition_test_fraction
        self.heldin_fraction, self.num_train, self.num_test, self.seed = heldin_fraction, num_train, num_test, seed
        self._cache: dict[str, DatasetSplit] = {}

    @property
    def split_space(self) -> FactorSpace:
        """The grid of the split factors' levels, on which the rules are drawn."""
        if not self.split_factors:
            raise ConfigError("no split factors: every factor has fewer than 3 levels; name them (split_factors)")
        space = self.dataset.space
        sizes = tuple(space.sizes[space.factor_index(n)] for n in self.split_factors)
        combinations = math.prod(sizes)
        if combinations > MAX_SPLIT_COMBINATIONS:
            raise ConfigError(
                f"split factors {', '.join(self.split_factors)} have {' x '.join(map(str, sizes))} = {combinations:,} level combinations; "
                f"the split search handles at most {MAX_SPLIT_COMBINATIONS:,}: name fewer split factors or bin a factor into fewer levels"
            )
        return FactorSpace("user data (split factors)", self.split_factors, sizes)

    def split(self, kind: str) -> DatasetSplit:
        """The split of this kind (drawn once)."""
        if kind not in self._cache:
            self._cache[kind] = self._draw(kind)
        return self._cache[kind]

    def _draw(self, kind: str) -> DatasetSplit:
        data, n = self.dataset, len(self.dataset)
        rng = np.random.default_rng(self.seed + 1 + SPLIT_KINDS.index(kind))
        ood = np.zeros((n, data.space.num_factors), dtype=bool)
        if kind == "random":
            rule, side = None, np.zeros(n, dtype=bool)
            side[np.random.default_rng(self.seed).permutation(n)[: int(round(self.train_fraction * n))]] = True
        else:
            sub = self.split_space
            columns = [data.space.factor_index(f) for f in self.split_factors]
            rule = make_split(sub, kind, self.split_factors, self.train_fraction, self.seed, self.composition_test_fraction)
            cells = data.classes[:, columns]
            side = rule.train_mask[sub.flat_index(cells)]
            ood[:, columns] = rule.out_of_distribution(cells)
        train_side, test = np.flatnonzero(side), np.flatnonzero(~side)
        if not len(train_side) or not len(test):
            empty = "training" if not len(train_side) else "test"
            raise DataError(
                f"the {kind} split of your {n} images leaves the {empty} side empty (split factors {', '.join(self.split_factors)}; "
                "the images do not cover the levels the rule holds out or trains on)"
            )
        train_side = rng.permutation(train_side)
        heldin_count = int(round(self.heldin_fraction * len(train_side)))
        heldin, train = np.sort(train_side[:heldin_count]), train_side[heldin_count:]
        if self.num_train is not None and len(train) > self.num_train:
            train = train[: self.num_train]
        if self.num_test is not None and len(test) > self.num_test:
            test = rng.choice(test, size=self.num_test, replace=False)
        train, test = np.sort(train), np.sort(test)
        return DatasetSplit(kind, rule, train, test, heldin, int(side.sum()), ood[test])

    def score(self, model: Callable[[Any], Any], kind: str) -> dict[str, float]:
        """Score a model (torch module or callable on float ``[B, C, H, W]`` batches) on a split's test images.

        Returns:
            :func:`~iclr22.idgbench.benchmark.score_shift`'s keys, R² in %.
        """
        from iclr22.idgbench.train import predict

        split, data = self.split(kind), self.dataset
        k = data.space.num_factors
        targets = data.targets
        heldin = predict(model, data.images[split.heldin], num_outputs=k) if len(split.heldin) else None
        return score_shift(
            predict(model, data.images[split.test], num_outputs=k), targets[split.test], data.space, split.ood,
            heldin, targets[split.heldin] if heldin is not None else None,
        )

    def evaluate(self, train: Callable[[np.ndarray, np.ndarray], Callable[[Any], Any]]) -> dict[str, dict[str, float]]:
        """Run ``model = train(train_images, train_targets)`` on every split and score it: ``{split: scores}``."""
        results = {}
        for kind in self.splits:
            split = self.split(kind)
            results[kind] = self.score(train(self.dataset.images[split.train], self.dataset.targets[split.train]), kind)
        return results
