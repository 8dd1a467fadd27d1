"""Image loaders: MNIST IDX, digits, CIFAR-10 JPEG archives, image folders, dSprites, GIFs, feature npz."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.images import (
    CIFAR10_CLASSES,
    load_cifar10_jpeg,
    load_digits,
    load_dsprites_frames,
    load_dsprites_npz,
    load_features_npz,
    load_gif_frames,
    load_image_folder,
    load_mnist,
)

MNIST_TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# ------------------------------------------------------------------------------------------------ real data
@pytest.mark.shared_data
def test_mnist_test_split(shared_data):
    data = load_mnist(shared_data / "images" / "mnist-t10k", "test")
    assert data.images.shape == (10000, 28, 28) and data.images.dtype == np.uint8
    assert np.bincount(data.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.shared_data
def test_mnist_train_images_missing(shared_data):
    with pytest.raises(DataError, match=r"missing file\(s\) train-images-idx3-ubyte\.gz \("):
        load_mnist(shared_data / "images" / "mnist-t10k", "train")
    with pytest.raises(ConfigError):
        load_mnist(shared_data / "images" / "mnist-t10k", "validation")


@pytest.mark.shared_data
def test_digits_shared_equals_sklearn_copy(shared_data):
    shared = load_digits(shared_data / "images" / "digits")
    bundled = load_digits()
    assert shared.images.shape == (1797, 8, 8) and shared.images.max() == 16
    np.testing.assert_array_equal(shared.images, bundled.images)
    np.testing.assert_array_equal(shared.labels, bundled.labels)
    assert np.bincount(shared.labels).sum() == 1797 and shared.num_classes == 10


@pytest.mark.shared_data
def test_cifar10_jpeg_subset(shared_data):
    folder = shared_data / "images" / "cifar10-jpeg"
    train = load_cifar10_jpeg(folder, "train", limit_per_class=3)
    assert train.images.shape == (30, 32, 32, 3) and train.class_names == list(CIFAR10_CLASSES)
    assert np.bincount(train.labels).tolist() == [3] * 10
    test = load_cifar10_jpeg(folder, "test", limit_per_class=2)
    assert test.images.shape == (20, 32, 32, 3)
    assert not np.array_equal(train.images[:2], test.images[:2])


@pytest.mark.shared_data
def test_dsprites_frames_and_gif_agree(shared_data):
    frames = load_dsprites_frames(shared_data / "images" / "dsprites")
    assert frames.images.shape == (320, 64, 64) and frames.labels is None
    assert set(np.unique(frames.images)) == {0, 1}
    assert np.unique(frames.images.reshape(320, -1), axis=0).shape[0] == 254
    gif = load_gif_frames(shared_data / "images" / "dsprites" / "dsprites.gif", mode="L")
    np.testing.assert_array_equal((gif.images > 127).astype(np.uint8), frames.images)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["real1.gif", "real2.gif"])
def test_mpi3d_gifs(shared_data, name):
    gif = load_gif_frames(shared_data / "images" / "mpi3d" / name)
    assert gif.images.shape == (20, 154, 306, 3) and gif.images.dtype == np.uint8
    assert gif.images.std() > 10  # real pictures, not blank frames


# ------------------------------------------------------------------------------------------------ MNIST bad
def _idx(magic, shape, body=None):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + (body if body is not None else bytes(int(np.prod(shape))))


def _mnist_folder(tmp_path, images, labels):
    folder = tmp_path / "mnist"
    folder.mkdir(exist_ok=True)
    (folder / MNIST_TEST[0]).write_bytes(gzip.compress(images))
    (folder / MNIST_TEST[1]).write_bytes(gzip.compress(labels))
    return folder


def test_mnist_idx_validation(tmp_path):
    folder = _mnist_folder(tmp_path, _idx(2051, (2, 28, 28)), _idx(2049, (2,)))
    assert load_mnist(folder).images.shape == (2, 28, 28)
    folder = _mnist_folder(tmp_path, _idx(2049, (2, 28, 28)), _idx(2049, (2,)))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: IDX magic number 2049, expected 2051"):
        load_mnist(folder)
    folder = _mnist_folder(tmp_path, _idx(2051, (2, 28, 28))[:-100], _idx(2049, (2,)))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: IDX body has 1468 bytes.*truncated"):
        load_mnist(folder)
    folder = _mnist_folder(tmp_path, _idx(2051, (2, 28, 28)), _idx(2049, (3,)))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: 3 labels but t10k-images-idx3-ubyte\.gz holds 2 images"):
        load_mnist(folder)
    folder = _mnist_folder(tmp_path, _idx(2051, (1, 28, 28)), _idx(2049, (1,), b"\x0c"))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: label 12 outside 0\.\.9"):
        load_mnist(folder)


@pytest.mark.shared_data
def test_mnist_truncated_gzip(shared_data, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    shutil.copy(shared_data / "images" / "mnist-t10k" / MNIST_TEST[1], folder)
    raw = (shared_data / "images" / "mnist-t10k" / MNIST_TEST[0]).read_bytes()
    (folder / MNIST_TEST[0]).write_bytes(raw[:5000])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        load_mnist(folder)


# ----------------------------------------------------------------------------------------------- digits bad
@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",".join(["0"] * 64), r"line 1: 64 columns, expected 65"),
        (",".join(["0"] * 63 + ["x", "1"]), r"line 1: column column 64 is not a number"),
        (",".join(["0"] * 63 + ["17", "1"]), r"pixel values must lie in 0\.\.16"),
        (",".join(["0"] * 64 + ["10"]), r"labels must lie in 0\.\.9"),
        (",".join(["0"] * 63 + ["nan", "1"]), r"line 1: column column 64 is 'nan'"),
    ],
)
def test_digits_bad_rows(tmp_path, row, message):
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(gzip.compress((row + "\n").encode()))
    with pytest.raises(DataError, match=r"digits\.csv\.gz: " + message):
        load_digits(path)


def test_digits_missing(tmp_path):
    with pytest.raises(DataError, match=r"missing file\(s\) digits\.csv\.gz"):
        load_digits(tmp_path)


# ------------------------------------------------------------------------------------------ image folders
def _png(color, size=(4, 4), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_folder_and_tar(tmp_path):
    root = tmp_path / "imgs"
    for cls, color in (("cat", (255, 0, 0)), ("dog", (0, 255, 0))):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            (root / cls / f"{i}.png").write_bytes(_png(color))
    (root / "cat" / "notes.txt").write_text("ignored")
    data = load_image_folder(root)
    assert data.images.shape == (6, 4, 4, 3) and data.class_names == ["cat", "dog"]
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.images[0, 0, 0].tolist() == [255, 0, 0] and data.images[3, 0, 0].tolist() == [0, 255, 0]

    archive = tmp_path / "imgs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="train")
    from_tar = load_image_folder(archive, limit_per_class=2)
    assert from_tar.images.shape == (4, 4, 4, 3) and from_tar.labels.tolist() == [0, 0, 1, 1]
    np.testing.assert_array_equal(from_tar.images, data.images[[0, 1, 3, 4]])


def test_image_folder_greyscale_and_mixed(tmp_path):
    root = tmp_path / "g"
    (root / "a").mkdir(parents=True)
    (root / "a" / "0.png").write_bytes(_png(7, mode="L"))
    assert load_image_folder(root).images.shape == (1, 4, 4)
    (root / "a" / "1.png").write_bytes(_png((1, 2, 3)))
    mixed = load_image_folder(root).images
    assert mixed.shape == (2, 4, 4, 3) and mixed[0, 0, 0].tolist() == [7, 7, 7]


def test_image_folder_bad_input(tmp_path):
    root = tmp_path / "bad"
    (root / "a").mkdir(parents=True)
    (root / "a" / "0.png").write_bytes(_png((0, 0, 0)))
    (root / "a" / "1.png").write_bytes(_png((0, 0, 0), size=(5, 4)))
    with pytest.raises(DataError, match=r"1\.png: image of shape \(4, 5, 3\), expected \(4, 4, 3\)"):
        load_image_folder(root)
    (root / "a" / "1.png").write_bytes(_png((0, 0, 0))[:30])
    with pytest.raises(DataError, match=r"1\.png: cannot decode image"):
        load_image_folder(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no .* images"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(DataError, match=r"missing: not found"):
        load_image_folder(tmp_path / "missing")


@pytest.mark.shared_data
def test_cifar_truncated_archive(shared_data, tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    raw = (shared_data / "images" / "cifar10-jpeg" / "cifar10_train_1000per_class.tar.gz").read_bytes()
    (folder / "cifar10_train_1000per_class.tar.gz").write_bytes(raw[:200_000])
    (folder / "cifar10_test_full.tar.gz").write_bytes(b"")
    with pytest.raises(DataError, match=r"cifar10_train_1000per_class\.tar\.gz: truncated or corrupt gzip"):
        load_cifar10_jpeg(folder, "train", limit_per_class=1)


def test_cifar_wrong_classes(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    (folder / "cifar10_train_1000per_class.tar.gz").write_bytes(b"")
    with tarfile.open(folder / "cifar10_test_full.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("test/zebra/0000.png")
        payload = _png((1, 1, 1), size=(32, 32))
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match=r"cifar10_test_full\.tar\.gz: classes \['zebra'\], expected the 10 CIFAR-10"):
        load_cifar10_jpeg(folder, "test")


# ---------------------------------------------------------------------------------------------- dSprites
def test_dsprites_frames_bad(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    np.save(folder / "dsprites_gif_frames.npy", np.full((2, 64, 64), 3, dtype=np.uint8))
    with pytest.raises(DataError, match=r"dsprites_gif_frames\.npy: frames must be binary"):
        load_dsprites_frames(folder)
    np.save(folder / "dsprites_gif_frames.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"dsprites_gif_frames\.npy: holds a pickled object array"):
        load_dsprites_frames(folder)
    np.save(folder / "dsprites_gif_frames.npy", np.zeros((2, 64, 64), dtype=np.uint8))
    raw = (folder / "dsprites_gif_frames.npy").read_bytes()
    (folder / "dsprites_gif_frames.npy").write_bytes(raw[:1000])
    with pytest.raises(DataError, match=r"dsprites_gif_frames\.npy: truncated or corrupt"):
        load_dsprites_frames(folder)


def test_dsprites_npz_official_layout(tmp_path):
    path = tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    n = 4
    metadata = np.array({"date": "evil"}, dtype=object)  # pickled member that must never be read
    np.savez(
        path,
        imgs=np.zeros((n, 64, 64), dtype=np.uint8),
        latents_values=np.ones((n, 6)),
        latents_classes=np.zeros((n, 6), dtype=np.int64),
        metadata=metadata,
    )
    data = load_dsprites_npz(tmp_path)
    assert len(data) == n and data.latents_classes.shape == (n, 6)
    np.savez(path, imgs=np.zeros((n, 64, 64), dtype=np.uint8), latents_values=np.ones((n, 5)), latents_classes=np.zeros((n, 6)))
    with pytest.raises(DataError, match=r"latents_values has shape \(4, 5\), expected \(4, 6\)"):
        load_dsprites_npz(path)
    np.savez(path, imgs=np.zeros((n, 64, 64), dtype=np.uint8))
    with pytest.raises(DataError, match=r"missing array\(s\) latents_values, latents_classes"):
        load_dsprites_npz(path)


def test_gif_bad(tmp_path):
    (tmp_path / "x.gif").write_bytes(b"GIF89a\x01\x00")
    with pytest.raises(DataError, match=r"x\.gif: truncated or corrupt GIF"):
        load_gif_frames(tmp_path / "x.gif")
    with pytest.raises(DataError, match=r"none\.gif: file not found"):
        load_gif_frames(tmp_path / "none.gif")


# ----------------------------------------------------------------------------------------- feature npz
def _features(**override):
    rng = np.random.default_rng(1)
    arrays = {
        "X_train": rng.normal(size=(6, 3)),
        "y_train": np.array([0, 1, 2, 0, 1, 2]),
        "X_test": rng.normal(size=(2, 3)),
        "y_test": np.array([1, 0]),
    }
    arrays.update(override)
    return {k: v for k, v in arrays.items() if v is not None}


def test_features_npz(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, **_features(X_val=np.zeros((1, 3)), y_val=np.array([4]), y_train_clean=np.array([0, 1, 2, 0, 1, 1])))
    data = load_features_npz(path)
    assert data.X_train.dtype == np.float32 and data.num_classes == 5 and data.X_val.shape == (1, 3)
    assert data.y_train_clean.tolist() == [0, 1, 2, 0, 1, 1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"X_test": np.zeros((2, 4))}, r"X_test has 4 features, X_train has 3"),
        ({"y_test": np.array([1])}, r"y_test has shape \(1,\), expected \(2,\)"),
        ({"y_train": np.array([0, 1, 2, 0, 1, -1])}, r"y_train holds negative class id -1"),
        ({"y_train": np.array([0, 1, 2.5, 0, 1, 1])}, r"y_train must hold integer class ids"),
        ({"X_train": np.full((6, 3), np.inf)}, r"X_train holds 18 NaN/inf"),
        ({"X_val": np.zeros((1, 3))}, r"X_val and y_val must be given together"),
        ({"y_test": None}, r"missing array\(s\) y_test"),
    ],
)
def test_features_npz_bad(tmp_path, override, message):
    path = tmp_path / "feats.npz"
    np.savez(path, **_features(**override))
    with pytest.raises(DataError, match=r"feats\.npz: " + message):
        load_features_npz(path)
