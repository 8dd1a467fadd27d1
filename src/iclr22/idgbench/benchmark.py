"""The benchmark protocol: pick a split, draw train/test images, train a model, score R² per factor.

:class:`Benchmark` ties together an image source (the procedural renderer, the official dSprites archive,
or anything implementing :class:`~iclr22.idgbench.synthetic.ImageSource`), the four split generators and the
R² score. It also reads the official Zenodo split files for users who have them
(:func:`load_official_split`). It is the evaluation protocol, not an estimator: any model can be scored
with it, and the benchmark's own families are :class:`~iclr22.idgbench.estimator.FactorRegressor`.

Scores per split (all R² in %, with the full-grid variance, Sec. 3 of the paper):

* ``r2`` — mean over factors (the leaderboard number), ``r2_<factor>`` per factor;
* for interpolation and extrapolation, the *modularity* read-out: over test images where exactly one
  factor takes a held-out value, ``r2_ood_factor`` is the R² of that factor and
  ``r2_other_factors`` the mean R² of all other factors (paper: "models are quite modular").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.idgbench.metrics import r_squared, score_predictions
from iclr22.idgbench.synthetic import DSPRITES, ColourShapesRenderer, DSpritesArchiveImages, DSpritesRenderer, FactorSpace, ImageSource
from iclr22.idgbench.splits import COMPOSITION_TEST_FRACTION, SPLIT_KINDS, SPLIT_RULES, Split, make_split, split_from_labels

__all__ = ["SplitData", "Benchmark", "score_split", "score_shift", "load_official_split", "OfficialSplit", "OFFICIAL_SPACES"]

#: Factor grids of the official split files (``load_dataset.py``).
OFFICIAL_SPACES = {
    "dsprites": DSPRITES,
    "shapes3d": FactorSpace(
        "shapes3d", ("floor color", "wall color", "object color", "object size", "object type", "azimuth"), (10, 10, 10, 8, 4, 15)
    ),
    "mpi3d": FactorSpace("mpi3d", ("color", "shape", "size", "height", "bg color", "x-axis", "y-axis"), (6, 6, 2, 3, 3, 40, 40)),
}


@dataclass
class SplitData:
    """Images and labels of one split, ready for training and scoring.

    Attributes:
        split: The split.
        train_images: uint8 ``[N_train, H, W(, C)]``.
        train_targets: float32 ``[N_train, K]`` normalised factors.
        test_images: uint8 ``[N_test, H, W(, C)]``.
        test_classes: int64 ``[N_test, K]`` factor classes (for per-factor / OOD analyses).
        heldin_images: uint8 images of *training* cells that were not drawn for training (unseen but in
            distribution), or ``None``: the reference for what the model does without a shift.
        heldin_classes: Their factor classes.
    """

    split: Split
    train_images: np.ndarray
    train_targets: np.ndarray
    test_images: np.ndarray
    test_classes: np.ndarray
    heldin_images: np.ndarray | None = None
    heldin_classes: np.ndarray | None = None

    @property
    def test_targets(self) -> np.ndarray:
        return self.split.space.normalize(self.test_classes)

    @property
    def heldin_targets(self) -> np.ndarray | None:
        return None if self.heldin_classes is None else self.split.space.normalize(self.heldin_classes)


def score_split(predictions: np.ndarray, data: SplitData, heldin_predictions: np.ndarray | None = None) -> dict[str, float]:
    """Official scores on the test images, plus the modularity read-out and the held-in reference (R² in %).

    Args:
        predictions: ``[N_test, K]`` predictions for ``data.test_images``.
        data: The split's images and labels.
        heldin_predictions: ``[N_heldin, K]`` predictions for ``data.heldin_images`` (optional).

    Returns:
        :func:`score_shift` of the predictions, with the split's out-of-distribution factors.
    """
    heldin_targets = data.heldin_targets if heldin_predictions is not None else None
    ood = data.split.out_of_distribution(data.test_classes)
    return score_shift(predictions, data.test_targets, data.split.space, ood, heldin_predictions, heldin_targets)


def score_shift(
    predictions: np.ndarray,
    targets: np.ndarray,
    space: FactorSpace,
    ood: np.ndarray | None = None,
    heldin_predictions: np.ndarray | None = None,
    heldin_targets: np.ndarray | None = None,
) -> dict[str, float]:
    """The scores of :func:`score_split` from plain arrays (any split, e.g. one of a user's own images).

    Args:
        predictions: ``[N, K]`` predicted normalised factors of the test images.
        targets: ``[N, K]`` their true normalised factors.
        space: The factor grid (names; the full-grid variance is the R² denominator).
        ood: bool ``[N, K]``: which factor of each test image takes a value held out on its own (None: none).
        heldin_predictions: ``[M, K]`` predictions for unseen in-distribution images (optional).
        heldin_targets: ``[M, K]`` their normalised factors.

    Returns:
        :func:`score_predictions` keys; ``r2_heldin`` (mean R² on the held-in images) and ``r2_heldin_<factor>``
        when held-in predictions are given; over the test images where exactly one factor is out of distribution,
        ``r2_ood_factor`` (that factor's R²) and ``r2_other_factors`` (mean R² of the other factors), and per
        such factor ``k`` every factor's R² on the images where only ``k`` is out of distribution
        (``r2_only_<k>_ood_<factor>``), with ``..._heldin`` versions of the two means giving the same factors'
        R² on the held-in images — a model is modular when ``other_factors`` stays close to
        ``other_factors_heldin`` while ``ood_factor`` falls far below ``ood_factor_heldin``. All R² in %.
    """
    scores = score_predictions(predictions, targets, space)
    heldin_r2 = None
    if heldin_predictions is not None and heldin_targets is not None:
        heldin_r2 = r_squared(heldin_predictions, heldin_targets, space)
        scores["r2_heldin"] = float(heldin_r2.mean())
        for name, value in zip(space.metric_names, heldin_r2):
            scores[f"r2_heldin_{name}"] = float(value)
    ood = np.zeros(np.shape(targets), dtype=bool) if ood is None else np.asarray(ood, dtype=bool)
    single = ood.sum(axis=1) == 1
    readout: dict[str, list[float]] = {"ood_factor": [], "other_factors": [], "ood_factor_heldin": [], "other_factors_heldin": []}
    for k in range(space.num_factors):
        rows = single & ood[:, k]
        if rows.sum() < 2:
            continue
        per_factor = r_squared(predictions[rows], targets[rows], space)
        # which factor collapses when factor k alone is out of distribution: every factor's R² on those images
        name = space.metric_names[k]
        for j, other in enumerate(space.metric_names):
            scores[f"r2_only_{name}_ood_{other}"] = float(per_factor[j])
        readout["ood_factor"].append(per_factor[k])
        readout["other_factors"].append(np.delete(per_factor, k).mean())
        if heldin_r2 is not None:
            readout["ood_factor_heldin"].append(heldin_r2[k])
            readout["other_factors_heldin"].append(np.delete(heldin_r2, k).mean())
    for key, values in readout.items():
        if values:
            scores[f"r2_{key}"] = float(np.mean(values))
    return scores


class Benchmark:
    """The in-domain generalisation benchmark on one dataset.

    Args:
        source: ``"dsprites"`` (procedural renderer), ``"dsprites-rot90"`` (its quarter-turn orientation grid,
            :data:`~iclr22.idgbench.synthetic.DSPRITES_ROT90`), ``"colour-shapes"`` (procedural colour dataset on
            Shapes3D's grid), an :class:`ImageSource`, or a path to the official dSprites ``.npz``.
        splits: Which split kinds to run.
        num_train: Training images drawn uniformly from each split's training cells (``None``: all).
        num_test: Test images drawn uniformly from each split's test cells (``None``: all).
        num_heldin: Images of training cells *not* drawn for training, kept as an in-distribution
            reference (0: none).
        split_factors: Factors held out by composition / interpolation / extrapolation (default: the
            dataset's ordinal factors; dSprites: scale, x-position, y-position).
        train_fraction: Share of the grid that is train in the random, interpolation and extrapolation
            splits (the official splits use ≈ 0.3).
        composition_test_fraction: Share of the grid in the composition split's test corner (default
            20/49, the paper's Figure 2).
        seed: Seeds the random split and the subsampling.
        split_rule: ``"search"`` (the rules above) or ``"supplementary"`` (the paper's supplementary split
            code, :func:`~iclr22.idgbench.splits.supplementary_split`; it ignores the two fractions).
        test_ratio_per_factor: The supplementary rule's per-factor share (``None``: the dataset's, dSprites 0.2).

    Example:
        >>> bench = Benchmark("dsprites", num_train=20000, num_test=5000)
        >>> data = bench.data("extrapolation")
        >>> model = my_training(data.train_images, data.train_targets)   # any torch module
        >>> bench.score(model, "extrapolation")["r2"]   # in %
    """

    def __init__(
        self,
        source: ImageSource | str | Path = "dsprites",
        splits: Sequence[str] = SPLIT_KINDS,
        num_train: int | None = 20_000,
        num_test: int | None = 5_000,
        num_heldin: int = 0,
        split_factors: Sequence[str] | None = None,
        train_fraction: float = 0.3,
        seed: int = 0,
        composition_test_fraction: float = COMPOSITION_TEST_FRACTION,
        split_rule: str = "search",
        test_ratio_per_factor: float | None = None,
    ) -> None:
        self.source = _resolve_source(source)
        self.space: FactorSpace = self.source.space
        unknown = [s for s in splits if s not in SPLIT_KINDS]
        if unknown or not splits:
            raise ConfigError(f"unknown split(s) {unknown or '(none given)'}; known: {', '.join(SPLIT_KINDS)}")
        self.splits = tuple(splits)
        self.num_train, self.num_test = num_train, num_test
        if num_heldin < 0:
            raise ConfigError(f"num_heldin must be >= 0, got {num_heldin}")
        self.num_heldin = num_heldin
        self.split_factors = tuple(split_factors) if split_factors else None
        self.train_fraction, self.seed = train_fraction, seed
        self.composition_test_fraction = composition_test_fraction
        if split_rule not in SPLIT_RULES:
            raise ConfigError(f"unknown split rule '{split_rule}'; known: {', '.join(SPLIT_RULES)}")
        self.split_rule, self.test_ratio_per_factor = split_rule, test_ratio_per_factor
        self._splits: dict[str, Split] = {}
        self._data: dict[str, SplitData] = {}

    def split(self, kind: str) -> Split:
        """The split of this kind (generated once)."""
        if kind not in self._splits:
            self._splits[kind] = make_split(
                self.space, kind, self.split_factors, self.train_fraction, self.seed, self.composition_test_fraction, self.split_rule, self.test_ratio_per_factor
            )
        return self._splits[kind]

    def data(self, kind: str) -> SplitData:
        """Draw (once) and render the split's training and test images."""
        if kind not in self._data:
            split = self.split(kind)
            train_idx, test_idx = split.sample(self.num_train, self.num_test, seed=self.seed + 1 + SPLIT_KINDS.index(kind))
            train_classes, test_classes = self.space.cells(train_idx), self.space.cells(test_idx)
            heldin_images = heldin_classes = None
            if self.num_heldin:
                unused = split.train_mask.copy()
                unused[train_idx] = False
                pool = np.flatnonzero(unused)
                if len(pool):
                    rng = np.random.default_rng(self.seed + 101 + SPLIT_KINDS.index(kind))
                    heldin_classes = self.space.cells(np.sort(rng.choice(pool, size=min(self.num_heldin, len(pool)), replace=False)))
                    heldin_images = self.source.images(heldin_classes)
            self._data[kind] = SplitData(
                split,
                self.source.images(train_classes),
                self.space.normalize(train_classes),
                self.source.images(test_classes),
                test_classes,
                heldin_images,
                heldin_classes,
            )
        return self._data[kind]

    def score(self, model: Callable[[Any], Any], kind: str) -> dict[str, float]:
        """Score a model (torch module or callable on float ``[B, C, H, W]`` batches) on a split's test images."""
        from iclr22.idgbench.train import predict

        data = self.data(kind)
        heldin = None if data.heldin_images is None else predict(model, data.heldin_images, num_outputs=self.space.num_factors)
        return score_split(predict(model, data.test_images, num_outputs=self.space.num_factors), data, heldin)

    def evaluate(self, train: Callable[[np.ndarray, np.ndarray], Callable[[Any], Any]]) -> dict[str, dict[str, float]]:
        """Run ``model = train(train_images, train_targets)`` on every split and score it.

        Returns:
            ``{split: scores}``.
        """
        results = {}
        for kind in self.splits:
            data = self.data(kind)
            results[kind] = self.score(train(data.train_images, data.train_targets), kind)
        return results


def _resolve_source(source: ImageSource | str | Path) -> ImageSource:
    if isinstance(source, str) and source == "dsprites":
        return DSpritesRenderer()
    if isinstance(source, str) and source == "dsprites-rot90":
        return DSpritesRenderer(quarter_turn=True)
    if isinstance(source, str) and source == "colour-shapes":
        return ColourShapesRenderer()
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix == ".npz" or path.is_dir():
            return DSpritesArchiveImages(path)
        raise ConfigError(f"unknown image source '{source}': use 'dsprites', 'dsprites-rot90', 'colour-shapes', the official dSprites .npz, or an ImageSource")
    if not hasattr(source, "images") or not hasattr(source, "space"):
        raise ConfigError(f"image source {type(source).__name__} needs a 'space' (FactorSpace) and an 'images(classes)' method")
    return source


@dataclass
class OfficialSplit:
    """One split read from the official Zenodo files.

    Attributes:
        split: The partition of the grid (validated: disjoint and complete).
        train_images, test_images: uint8 ``[N, H, W(, C)]`` (the files store ``[N, C, H, W]``).
        train_classes, test_classes: int64 ``[N, K]`` factor classes.
    """

    split: Split
    train_images: np.ndarray
    train_classes: np.ndarray
    test_images: np.ndarray
    test_classes: np.ndarray


def load_official_split(data_dir: str | Path, dataset: str, variant: str) -> OfficialSplit:
    """Read ``{dataset}_{variant}_{train,test}_{images,labels}.npz`` (key ``arr_0``) from the official release.

    Raises:
        ConfigError: unknown dataset or variant.
        DataError: a missing file (named), a pickled array, mismatched counts, labels off the grid, or a
            split that does not partition the grid.
    """
    if dataset not in OFFICIAL_SPACES:
        raise ConfigError(f"unknown official dataset '{dataset}'; known: {', '.join(OFFICIAL_SPACES)}")
    if variant not in SPLIT_KINDS:
        raise ConfigError(f"unknown split variant '{variant}'; known: {', '.join(SPLIT_KINDS)}")
    space = OFFICIAL_SPACES[dataset]
    arrays = {}
    for mode in ("train", "test"):
        for part in ("images", "labels"):
            path = Path(data_dir) / f"{dataset}_{variant}_{mode}_{part}.npz"
            if not path.is_file():
                raise DataError(f"{path}: official split file not found")
            try:
                with np.load(path, allow_pickle=False) as archive:
                    if "arr_0" not in archive.files:
                        raise DataError(f"{path}: no 'arr_0' array (has {archive.files})")
                    arrays[mode, part] = archive["arr_0"]
            except ValueError as exc:
                raise DataError(f"{path}: not a plain numeric npz ({exc})") from None
            except (OSError, EOFError) as exc:
                raise DataError(f"{path}: truncated or corrupt npz ({exc})") from None
    result = {}
    for mode in ("train", "test"):
        images, labels = arrays[mode, "images"], arrays[mode, "labels"]
        if len(images) != len(labels):
            raise DataError(f"{dataset}_{variant}_{mode}: {len(images)} images but {len(labels)} labels")
        if images.ndim == 4:
            images = np.transpose(images, (0, 2, 3, 1))
            if images.shape[-1] == 1:
                images = images[..., 0]
        result[mode] = (np.asarray(images, dtype=np.uint8), space.check_classes(labels, f"{dataset}_{variant}_{mode}_labels"))
    split = split_from_labels(space, result["train"][1], result["test"][1], kind=variant)
    return OfficialSplit(split, result["train"][0], result["train"][1], result["test"][0], result["test"][1])
