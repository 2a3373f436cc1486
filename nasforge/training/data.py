"""Data preparation: split, subset and normalise once, and a ``Normalize`` that travels with the model.

:func:`prepare` turns a named dataset into tensors for training (the stratified, seeded train /
validation split and optional training subset every trainer and one-shot search shares);
:func:`prepare_arrays` does the same for arrays already split (the estimators). Both fit the input
normalisation on the training split only and return it as a :class:`Normalize` module, which export
puts in front of the network so that the exported file takes raw inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Normalize", "Prepared", "fit_normalize", "prepare", "prepare_arrays"]


class Normalize(nn.Module):
    """``(x - mean) / std`` with statistics fitted on training inputs (buffers, so they are saved).

    ``mean`` and ``std`` have the shape of one sample with the normalised axes of size 1:
    ``(C, 1, 1)`` per channel for images, ``(F,)`` per feature for tables.

    Example:
        >>> norm = Normalize(np.zeros((1, 1, 1)), np.full((1, 1, 1), 2.0))
        >>> norm(torch.full((1, 1, 2, 2), 4.0)).flatten().tolist()
        [2.0, 2.0, 2.0, 2.0]
    """

    def __init__(self, mean: Any, std: Any) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def apply_numpy(self, x: np.ndarray) -> torch.Tensor:
        """Normalise a NumPy array (float32, on the CPU) into a tensor."""
        mean, std = self.mean.cpu().numpy(), self.std.cpu().numpy()
        return torch.from_numpy(((np.asarray(x) - mean) / std).astype(np.float32))

    def to_meta(self) -> dict[str, list[float]]:
        """Mean and std as flat lists (a model's ``nasforge_meta``)."""
        return {"mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Normalize:
        """The module from ``nasforge_meta`` (``mean``, ``std`` and ``input_shape``); identity without stats."""
        shape = list(meta.get("input_shape") or [])
        mean, std = meta.get("mean"), meta.get("std")
        view = [-1] + [1] * (len(shape) - 1) if len(shape) > 1 else [-1]
        return cls(np.asarray(mean if mean is not None else [0.0], dtype=np.float32).reshape(view),
                   np.asarray(std if std is not None else [1.0], dtype=np.float32).reshape(view))


def fit_normalize(x: np.ndarray) -> Normalize:
    """Per-channel (images, ``(N, C, H, W)``) or per-feature statistics of the training inputs ``x``.

    A channel or feature that is constant in training (std below 1e-6, e.g. a border pixel) is
    left unscaled, as scikit-learn's ``StandardScaler`` does: dividing by ~0 would blow up any later
    sample where it is not constant.
    """
    x = np.asarray(x)
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    mean = x.mean(axis=axes, keepdims=True)[0]
    std = x.std(axis=axes, keepdims=True)[0]
    std = np.where(std < 1e-6, 1.0, std)
    return Normalize(mean.astype(np.float32), std.astype(np.float32))


@dataclass
class Prepared:
    """Tensors ready for :func:`nasforge.training.train` and the normalisation that made them.

    ``x_val`` / ``x_test`` may be empty; labels are int64, inputs float32 and normalised.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    normalize: Normalize
    num_classes: int
    input_shape: tuple[int, ...]
    name: str = "arrays"

    def meta(self) -> dict[str, Any]:
        """What a trained model carries as ``nasforge_meta`` (normalisation, shape, classes, dataset)."""
        return {**self.normalize.to_meta(), "input_shape": list(self.input_shape), "num_classes": self.num_classes,
                "dataset": self.name}


def _labels(y: Any) -> torch.Tensor:
    return torch.from_numpy(np.array(y, dtype=np.int64))  # a writable copy of possibly read-only data


def prepare_arrays(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray | None = None,
                   y_val: np.ndarray | None = None, x_test: np.ndarray | None = None,
                   y_test: np.ndarray | None = None, *, num_classes: int | None = None,
                   name: str = "arrays", normalize: Normalize | None = None) -> Prepared:
    """Normalise already-split arrays with ``normalize`` (default: fitted on ``x_train``, see :func:`fit_normalize`)."""
    norm = normalize if normalize is not None else fit_normalize(x_train)
    shape = tuple(int(d) for d in np.asarray(x_train).shape[1:])
    empty_x = np.empty((0, *shape), dtype=np.float32)
    empty_y = np.empty(0, dtype=np.int64)
    x_val, y_val = (empty_x, empty_y) if x_val is None else (x_val, y_val)
    x_test, y_test = (empty_x, empty_y) if x_test is None else (x_test, y_test)
    if num_classes is None:
        num_classes = int(np.max(np.asarray(y_train))) + 1
    return Prepared(norm.apply_numpy(x_train), _labels(y_train), norm.apply_numpy(x_val), _labels(y_val),
                    norm.apply_numpy(x_test), _labels(y_test), norm, int(num_classes), shape, name)


def prepare(dataset: str, *, val_fraction: float = 0.2, max_train: int | None = None,
            data_root: str | None = None, target: str | None = None) -> Prepared:
    """Load a dataset by name (or path), split off validation data and normalise.

    The split is stratified with seed 0 and the training subset (``max_train``) is drawn with seed
    0, so a search, a one-shot search and the retraining of their result all see the same training
    images; the test split is only ever used for hidden report metrics.

    Example:
        >>> data = prepare("digits", max_train=200)  # doctest: +SKIP
        >>> data.x_train.shape  # doctest: +SKIP
        torch.Size([200, 1, 8, 8])
    """
    from nasforge.data.datasets import load_dataset, split_train_val

    data = load_dataset(dataset, root=data_root, target=target)  # target: the label column of a .csv file
    x_tr, y_tr, x_val, y_val = split_train_val(data.x_train, data.y_train, val_fraction, seed=0)
    if max_train is not None and len(x_tr) > max_train:
        keep = np.sort(np.random.default_rng(0).choice(len(x_tr), max_train, replace=False))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    return prepare_arrays(x_tr, y_tr, x_val, y_val, data.x_test, data.y_test, num_classes=data.num_classes,
                          name=data.name)
