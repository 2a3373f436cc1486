"""One training module: the recipe, data preparation with its ``Normalize``, the loop, devices, precision.

- :class:`Recipe` — optimizer, schedule, batch size, augmentation, label smoothing, epochs, early
  stopping, precision and device, in one frozen record.
- :func:`prepare` / :func:`prepare_arrays` — split and normalise data into tensors; the fitted
  :class:`Normalize` travels with the model into export.
- :func:`train` — the one loop, stopped by epochs or seconds, returning a per-epoch curve.
- :func:`train_architecture` — build an architecture of a space and train it on a named dataset.
- :func:`resolve_device` — ``auto|cpu|cuda|cuda:N|mps``, with a clear error for an absent device.

Names that need torch are imported on first use, so importing this package stays cheap.

Example:
    >>> from nasforge.training import Recipe
    >>> Recipe(lr=0.1, precision="bf16").precision
    'bf16'
"""

from __future__ import annotations

import importlib
from typing import Any

from nasforge.training.device import check_device_name, gpu_env_for_worker, resolve_device
from nasforge.training.recipe import (
    DATA_SETTINGS,
    HPARAM_PREFIX,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    Recipe,
    recipe_for,
    split_settings,
)

__all__ = ["DATA_SETTINGS", "DataSettings", "HPARAM_PREFIX", "Normalize", "OPTIMIZERS", "PRECISIONS", "Prepared",
           "Recipe", "SCHEDULES", "TrainOutcome", "TrainResult", "check_device_name", "evaluate", "gpu_env_for_worker",
           "predict_logits", "prepare", "prepare_arrays", "recipe_for", "resolve_device", "set_threads",
           "split_settings", "train", "train_architecture", "warm_up_torch"]

_LAZY = {
    "Normalize": "data", "Prepared": "data", "prepare": "data", "prepare_arrays": "data",
    "TrainResult": "loop", "evaluate": "loop", "predict_logits": "loop", "set_threads": "loop", "train": "loop",
    "warm_up_torch": "loop",
    "DataSettings": "standalone", "TrainOutcome": "standalone", "train_architecture": "standalone",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"nasforge.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nasforge.training' has no attribute {name!r}")
