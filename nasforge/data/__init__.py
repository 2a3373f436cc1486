"""Datasets: offline, in-memory classification data behind one registry (see :mod:`.datasets`)."""

from __future__ import annotations

from nasforge.data.datasets import (
    CIFAR10_CLASSES,
    DATASETS,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    FASHION_MNIST_INSTALL_COMMAND,
    MNIST_INSTALL_COMMAND,
    ArrayDataset,
    Loader,
    clear_dataset_cache,
    dataset_names,
    load_dataset,
    split_train_val,
)
from nasforge.data.sequences import SequenceDataset  # registers sst2, trec, fsdd

__all__ = [
    "ArrayDataset",
    "SequenceDataset",
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
