"""Images and precomputed image features: MNIST IDX, UCI digits, JPEG/PNG folders and archives, dSprites, GIFs.

On-disk formats read here:

* **MNIST IDX** (``images/mnist-t10k/``): gzip'd IDX files ``t10k-images-idx3-ubyte.gz`` (magic 2051,
  ``[N, 28, 28]`` uint8) and ``t10k-labels-idx1-ubyte.gz`` (magic 2049, ``[N]`` uint8); the header is the
  magic number and one big-endian uint32 per dimension. The shared copy has no training images.
* **UCI digits** (``images/digits/digits.csv.gz``, as bundled in scikit-learn): gzip'd CSV, no header, one
  row per image = 64 pixel values 0..16 then the label.
* **Image folder** (generic user format): ``<root>/<class>/<file>.png|jpg|jpeg``, either as a folder or as
  a ``.tar``/``.tar.gz``/``.tgz`` archive with that layout under any prefix (the CIFAR-10 JPEG archives hold
  ``train/<class>/NNNN.jpg``): the class of an image is the name of the folder that contains it, classes are
  sorted by name. All images must have one size; greyscale images stay ``[H, W]`` unless some image is in
  colour, then everything is RGB ``[H, W, 3]``.
* **dSprites**: ``dsprites_gif_frames.npy`` (uint8 ``[320, 64, 64]`` binary frames, ``allow_pickle=False``)
  and the official ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (keys ``imgs``, ``latents_values``,
  ``latents_classes``; its pickled ``metadata`` member is never read).
* **GIF** (``images/mpi3d/real{1,2}.gif``, ``images/dsprites/dsprites.gif``): every frame, decoded with Pillow.
* **Precomputed features** (generic user format): an ``.npz`` with ``X_train, y_train, X_test, y_test`` and
  optionally ``X_val, y_val`` and ``y_train_clean`` (true labels of a noisy training set).
"""

from __future__ import annotations

import importlib.util
import io
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks

__all__ = [
    "ImageDataset",
    "DSpritesArchive",
    "FeatureSplits",
    "load_mnist",
    "load_digits",
    "load_image_folder",
    "load_cifar10_jpeg",
    "load_dsprites_frames",
    "load_dsprites_npz",
    "load_gif_frames",
    "load_features_npz",
    "CIFAR10_CLASSES",
]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
}
_CIFAR_FILES = {"train": "cifar10_train_1000per_class.tar.gz", "test": "cifar10_test_full.tar.gz"}


@dataclass
class ImageDataset:
    """Images (and labels when the data have them).

    Attributes:
        images: uint8 ``[N, H, W]`` (greyscale) or ``[N, H, W, C]``.
        labels: int64 ``[N]`` class ids, or ``None`` for unlabelled frames.
        class_names: Names of classes ``0..C-1`` (empty when unknown).
        name: Dataset name.
    """

    images: np.ndarray
    labels: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    name: str = "images"

    @property
    def num_classes(self) -> int:
        """Number of classes (0 when unlabelled)."""
        if self.labels is None:
            return len(self.class_names)
        return max(len(self.class_names), int(self.labels.max()) + 1 if self.labels.size else 0)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class DSpritesArchive:
    """The official dSprites arrays.

    Attributes:
        imgs: uint8 ``[N, 64, 64]`` binary images.
        latents_values: float64 ``[N, 6]`` (color, shape, scale, orientation, posX, posY).
        latents_classes: int64 ``[N, 6]`` index of each latent value.
    """

    imgs: np.ndarray
    latents_values: np.ndarray
    latents_classes: np.ndarray

    def __len__(self) -> int:
        return int(self.imgs.shape[0])


@dataclass
class FeatureSplits:
    """Precomputed feature vectors with train / (val) / test labels.

    Attributes:
        X_train: float32 ``[n_train, d]``.
        y_train: int64 ``[n_train]`` (possibly noisy) labels.
        X_test: float32 ``[n_test, d]``.
        y_test: int64 ``[n_test]``.
        X_val: float32 ``[n_val, d]`` or ``None``.
        y_val: int64 ``[n_val]`` or ``None``.
        y_train_clean: int64 ``[n_train]`` true training labels, or ``None``.
        num_classes: ``max label + 1`` over all label arrays.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    y_train_clean: np.ndarray | None = None
    num_classes: int = 0


# ------------------------------------------------------------------------------------------------- MNIST
def load_mnist(data_dir: str | Path, split: str = "test") -> ImageDataset:
    """Read MNIST from its original gzip'd IDX files.

    Args:
        data_dir: Folder with ``t10k-*`` (and ``train-*``) ``idx*-ubyte.gz`` files.
        split: ``"test"`` (10,000 images) or ``"train"`` (60,000; its images are absent from the shared copy).

    Returns:
        :class:`ImageDataset` with uint8 ``[N, 28, 28]`` images and labels 0..9.

    Raises:
        ConfigError: On an unknown split.
        DataError: On a missing file (named), a corrupt gzip, a wrong magic number, a truncated body, or
            image and label counts that differ.
    """
    if split not in _MNIST_FILES:
        raise ConfigError(f"unknown MNIST split {split!r} (expected train or test)")
    images_name, labels_name = _MNIST_FILES[split]
    files = _checks.require_files(data_dir, [images_name, labels_name])
    images = _read_idx(files[images_name], magic=2051, ndim=3)
    labels = _read_idx(files[labels_name], magic=2049, ndim=1).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{files[labels_name]}: {labels.shape[0]} labels but {images_name} holds {images.shape[0]} images")
    if labels.size and labels.max() > 9:
        raise DataError(f"{files[labels_name]}: label {int(labels.max())} outside 0..9")
    return ImageDataset(images, labels, [str(d) for d in range(10)], f"mnist-{split}")


def _read_idx(path: Path, *, magic: int, ndim: int) -> np.ndarray:
    data = _checks.read_bytes(path, gzipped=path.suffix == ".gz")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes, header needs {header_size})")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: IDX magic number {found}, expected {magic} (uint8, {ndim}-D)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    body = data[header_size:]
    if len(body) != expected:
        raise DataError(f"{path}: IDX body has {len(body)} bytes, header {shape} announces {expected} (truncated or corrupt)")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape).copy()


# ------------------------------------------------------------------------------------------------ digits
def load_digits(path: str | Path | None = None) -> ImageDataset:
    """Read the 8x8 UCI digits (1,797 images, pixel values 0..16).

    Args:
        path: ``digits.csv.gz`` or a folder holding it; ``None`` reads scikit-learn's bundled copy.

    Returns:
        :class:`ImageDataset` with uint8 ``[1797, 8, 8]`` images (values 0..16) and labels 0..9.

    Raises:
        DataError: On a missing / corrupt file, a row without 65 values, a non-integer cell, a pixel outside
            0..16 or a label outside 0..9.
    """
    if path is None:
        spec = importlib.util.find_spec("sklearn")  # locate the package without importing it (slow)
        if spec is None or not spec.submodule_search_locations:
            raise DataError("scikit-learn is not installed: pass the folder holding digits.csv.gz")
        csv_path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        _checks.require_file(csv_path, "scikit-learn's bundled digits.csv.gz")
    else:
        csv_path = _checks.as_path(path)
        if csv_path.is_dir() or not csv_path.name.endswith((".csv", ".csv.gz")):
            csv_path = _checks.require_files(csv_path, ["digits.csv.gz"])["digits.csv.gz"]
        else:
            _checks.require_file(csv_path, "digits.csv.gz (64 pixels + label per row)")
    rows = []
    for line_no, line in _checks.iter_data_lines(_checks.read_text_lines(csv_path), skip_comments=False):
        cells = line.split(",")
        if len(cells) != 65:
            raise DataError(f"{csv_path}: line {line_no}: {len(cells)} columns, expected 65 (64 pixels + label)")
        try:
            rows.append([int(c) for c in cells])
        except ValueError:
            rows.append([_checks.parse_int(c.strip(), csv_path, line_no, f"column {j + 1}") for j, c in enumerate(cells)])
    table = np.asarray(rows, dtype=np.int64)
    if table.size == 0:
        raise DataError(f"{csv_path}: no rows")
    if table[:, :64].min() < 0 or table[:, :64].max() > 16:
        raise DataError(f"{csv_path}: pixel values must lie in 0..16")
    if table[:, 64].min() < 0 or table[:, 64].max() > 9:
        raise DataError(f"{csv_path}: labels must lie in 0..9")
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    return ImageDataset(images, table[:, 64].copy(), [str(d) for d in range(10)], "digits")


# ------------------------------------------------------------------------------------------ image folders
def load_image_folder(path: str | Path, *, limit_per_class: int | None = None, name: str | None = None) -> ImageDataset:
    """Read ``<class>/<image>`` files from a folder or from a ``.tar``/``.tar.gz`` archive.

    Args:
        path: A folder whose sub-folders are the classes, or an archive whose image members sit in
            ``[prefix/]<class>/<file>``.
        limit_per_class: Keep only the first ``k`` images of each class (in file-name order).
        name: Dataset name (default: the file/folder name).

    Returns:
        :class:`ImageDataset`; ``class_names`` are the sorted class folder names.

    Raises:
        DataError: If the path is missing, the archive is corrupt, there are no images, an image cannot be
            decoded, or the images differ in size.
    """
    path = _checks.as_path(path)
    if limit_per_class is not None and limit_per_class < 1:
        raise ConfigError(f"limit_per_class must be a positive integer, got {limit_per_class}")
    if path.is_dir():
        entries = _folder_entries(path)
    elif path.is_file() and path.name.endswith((".tar", ".tar.gz", ".tgz")):
        entries = _archive_entries(path)
    else:
        raise DataError(f"{path}: not found (expected a folder of <class>/<image> files or a .tar/.tar.gz archive of them)")
    by_class: dict[str, list[tuple[str, bytes | Path]]] = defaultdict(list)
    for class_name, source_name, content in sorted(entries, key=lambda e: (e[0], e[1])):
        if limit_per_class is None or len(by_class[class_name]) < limit_per_class:
            by_class[class_name].append((source_name, content))
    if not by_class:
        raise DataError(f"{path}: no {'/'.join(IMAGE_EXTENSIONS)} images in <class>/<file> layout")
    class_names = sorted(by_class)
    arrays, labels = [], []
    for label, class_name in enumerate(class_names):
        for source_name, content in by_class[class_name]:
            arrays.append(_decode_image(content, source_name))
            labels.append(label)
    images = _stack_images(arrays, [s for c in class_names for s, _ in by_class[c]])
    return ImageDataset(images, np.asarray(labels, dtype=np.int64), class_names, name or path.name.split(".")[0])


def _folder_entries(root: Path) -> list[tuple[str, str, Path]]:
    entries = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(class_dir.iterdir()):
            if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                entries.append((class_dir.name, str(file), file))
    return entries


def _archive_entries(path: Path) -> list[tuple[str, str, bytes]]:
    raw = _checks.read_bytes(path, gzipped=path.name.endswith((".gz", ".tgz")))
    entries = []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive.getmembers():
                parts = member.name.split("/")
                if not member.isfile() or len(parts) < 2 or Path(parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                handle = archive.extractfile(member)
                content = handle.read() if handle is not None else b""
                if len(content) != member.size:
                    raise DataError(f"{path}[{member.name}]: truncated archive member")
                entries.append((parts[-2], f"{path}[{member.name}]", content))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{path}: truncated or corrupt tar archive ({exc})") from None
    return entries


def _decode_image(content: bytes | Path, source_name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        stream = io.BytesIO(content) if isinstance(content, bytes) else open(content, "rb")  # noqa: SIM115
        with stream, Image.open(stream) as image:
            image.load()
            mode = "L" if image.mode in ("L", "1") else "RGB"
            return np.asarray(image.convert(mode), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{source_name}: cannot decode image ({exc})") from None


def _stack_images(arrays: list[np.ndarray], sources: list[str]) -> np.ndarray:
    if any(a.ndim == 3 for a in arrays):
        arrays = [np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
    first = arrays[0].shape
    for array, source in zip(arrays, sources):
        if array.shape != first:
            raise DataError(f"{source}: image of shape {array.shape}, expected {first} like the first image")
    return np.stack(arrays)


def load_cifar10_jpeg(data_dir: str | Path, split: str = "train", limit_per_class: int | None = None) -> ImageDataset:
    """Read the CIFAR-10 JPEG archives (train: 1000 per class subset, test: full 10,000).

    Args:
        data_dir: The ``cifar10-jpeg`` folder.
        split: ``"train"`` or ``"test"``.
        limit_per_class: Keep only the first ``k`` images per class (fast previews and tests).

    Returns:
        :class:`ImageDataset` with uint8 ``[N, 32, 32, 3]`` images and the 10 CIFAR-10 class names.

    Raises:
        ConfigError: On an unknown split.
        DataError: As :func:`load_image_folder`, or when the classes are not the 10 CIFAR-10 ones.
    """
    if split not in _CIFAR_FILES:
        raise ConfigError(f"unknown CIFAR-10 split {split!r} (expected train or test)")
    path = _checks.require_files(data_dir, list(_CIFAR_FILES.values()))[_CIFAR_FILES[split]]
    dataset = load_image_folder(path, limit_per_class=limit_per_class, name=f"cifar10-{split}")
    if tuple(dataset.class_names) != CIFAR10_CLASSES:
        raise DataError(f"{path}: classes {dataset.class_names}, expected the 10 CIFAR-10 classes {list(CIFAR10_CLASSES)}")
    if dataset.images.shape[1:] != (32, 32, 3):
        raise DataError(f"{path}: images of shape {dataset.images.shape[1:]}, expected (32, 32, 3)")
    return dataset


# ---------------------------------------------------------------------------------------- dSprites / GIFs
def load_dsprites_frames(data_dir: str | Path) -> ImageDataset:
    """Read the 320 binarised dSprites GIF frames (``dsprites_gif_frames.npy``), unlabelled.

    Args:
        data_dir: The ``dsprites`` folder.

    Returns:
        :class:`ImageDataset` with uint8 ``[320, 64, 64]`` images in ``{0, 1}`` and ``labels=None``.

    Raises:
        DataError: On a missing / truncated file, a pickled (object) array, a wrong shape or values not 0/1.
    """
    path = _checks.require_files(data_dir, ["dsprites_gif_frames.npy"])["dsprites_gif_frames.npy"]
    frames = _load_npy(path)
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise DataError(f"{path}: expected uint8 frames [N, H, W], found {frames.dtype} {frames.shape}")
    if frames.size and frames.max() > 1:
        raise DataError(f"{path}: frames must be binary (0/1), found value {int(frames.max())}")
    return ImageDataset(frames, None, [], "dsprites-gif-frames")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(f"{path}: holds a pickled object array; expected a plain numeric array") from None
        raise DataError(f"{path}: truncated or corrupt .npy file ({exc})") from None
    except (EOFError, OSError) as exc:
        raise DataError(f"{path}: truncated or corrupt .npy file ({exc})") from None


def load_dsprites_npz(path: str | Path) -> DSpritesArchive:
    """Read the official dSprites archive (``imgs``, ``latents_values``, ``latents_classes`` only).

    The archive's ``metadata`` member is a pickled dict; it is never read (``allow_pickle=False``).

    Args:
        path: ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (or a folder holding it).

    Returns:
        :class:`DSpritesArchive` (737,280 images for the full archive).

    Raises:
        DataError: On a missing / corrupt file, missing keys, or arrays of inconsistent length / shape.
    """
    path = _checks.as_path(path)
    official = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    if path.is_dir():
        path = _checks.require_files(path, [official])[official]
    arrays = _checks.load_npz_arrays(path, ["imgs", "latents_values", "latents_classes"])
    imgs, values, classes = arrays["imgs"], arrays["latents_values"], arrays["latents_classes"]
    if imgs.ndim != 3:
        raise DataError(f"{path}: imgs has shape {imgs.shape}, expected [N, 64, 64]")
    for key, array in (("latents_values", values), ("latents_classes", classes)):
        if array.shape != (imgs.shape[0], 6):
            raise DataError(f"{path}: {key} has shape {array.shape}, expected ({imgs.shape[0]}, 6)")
    _checks.check_finite(values.astype(np.float64), path, "latents_values")
    if classes.dtype.kind not in "iu" or (classes.size and classes.min() < 0):
        raise DataError(f"{path}: latents_classes must be non-negative integers")
    return DSpritesArchive(imgs.astype(np.uint8, copy=False), values.astype(np.float64), classes.astype(np.int64))


def load_gif_frames(path: str | Path, mode: str = "RGB") -> ImageDataset:
    """Read every frame of a GIF (e.g. the MPI3D-real sample GIFs, ``dsprites.gif``).

    Args:
        path: The ``.gif`` file.
        mode: ``"RGB"`` (``[F, H, W, 3]``) or ``"L"`` (greyscale ``[F, H, W]``).

    Returns:
        :class:`ImageDataset` of the frames, ``labels=None``.

    Raises:
        ConfigError: On an unsupported mode.
        DataError: On a missing, truncated or undecodable GIF.
    """
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if mode not in ("RGB", "L"):
        raise ConfigError(f"mode must be 'RGB' or 'L', got {mode!r}")
    path = _checks.require_file(path, "a GIF image")
    try:
        with Image.open(path) as image:
            frames = [np.asarray(frame.convert(mode), dtype=np.uint8) for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: truncated or corrupt GIF ({exc})") from None
    if not frames:
        raise DataError(f"{path}: GIF has no frames")
    return ImageDataset(np.stack(frames), None, [], path.stem)


# -------------------------------------------------------------------------------------- feature archives
def load_features_npz(path: str | Path) -> FeatureSplits:
    """Read precomputed features: ``X_train, y_train, X_test, y_test`` [+ ``X_val, y_val``, ``y_train_clean``].

    Example (writing one)::

        np.savez("feats.npz", X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte)

    Args:
        path: The ``.npz`` file (read with ``allow_pickle=False``).

    Returns:
        :class:`FeatureSplits` with float32 features and int64 labels.

    Raises:
        DataError: On a missing / corrupt file or key, ``X_val`` without ``y_val`` (or the reverse), features
            that are not 2-D or differ in width, NaN/inf, labels that are not integers ``>= 0``, or label
            arrays whose length differs from their features.
    """
    path = _checks.require_file(path, "an .npz with X_train, y_train, X_test, y_test")
    arrays = _checks.load_npz_arrays(path, ["X_train", "y_train", "X_test", "y_test"], ["X_val", "y_val", "y_train_clean"])
    if ("X_val" in arrays) != ("y_val" in arrays):
        raise DataError(f"{path}: X_val and y_val must be given together")
    splits = [s for s in ("train", "val", "test") if f"X_{s}" in arrays]
    width = None
    features, labels = {}, {}
    for split in splits:
        x = arrays[f"X_{split}"]
        if x.ndim != 2 or x.dtype.kind not in "iuf":
            raise DataError(f"{path}: X_{split} must be a numeric [n, d] array, found {x.dtype} {x.shape}")
        if width is not None and x.shape[1] != width:
            raise DataError(f"{path}: X_{split} has {x.shape[1]} features, X_train has {width}")
        width = x.shape[1]
        features[split] = x.astype(np.float32)
        _checks.check_finite(features[split], path, f"X_{split}")
        labels[split] = _labels(arrays[f"y_{split}"], x.shape[0], path, f"y_{split}")
    clean = None
    if "y_train_clean" in arrays:
        clean = _labels(arrays["y_train_clean"], features["train"].shape[0], path, "y_train_clean")
    all_labels = [y for y in (*labels.values(), clean) if y is not None and y.size]
    num_classes = int(max(y.max() for y in all_labels)) + 1 if all_labels else 0
    return FeatureSplits(
        X_train=features["train"],
        y_train=labels["train"],
        X_test=features["test"],
        y_test=labels["test"],
        X_val=features.get("val"),
        y_val=labels.get("val"),
        y_train_clean=clean,
        num_classes=num_classes,
    )


def _labels(y: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    if y.shape != (n,):
        raise DataError(f"{path}: {key} has shape {y.shape}, expected ({n},) to match its features")
    if y.dtype.kind == "f" and not np.all(whole := np.isfinite(y) & (y == np.round(y))):  # a fraction is a target, not a class
        first = int(np.flatnonzero(~whole)[0])
        raise DataError(f"{path}: {key} must hold integer class ids, got the non-whole number {y[first]:g} (row {first})")
    if y.dtype.kind not in "iuf" and y.dtype.kind != "b":
        raise DataError(f"{path}: {key} must hold integer class ids, found dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise DataError(f"{path}: {key} holds negative class id {int(y.min())}")
    return y
