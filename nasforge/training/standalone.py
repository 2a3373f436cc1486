"""Train one architecture of a space on a named dataset (search trials, ``nasforge train``, export).

The protocol never sees the test split while searching: the training set is split (stratified,
seeded) into train and validation; the search signal is validation accuracy; test accuracy is
computed once per trial and kept hidden from strategies. Accuracies are in percent, as in
NAS-Bench-201.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, TrialFailedError
from nasforge.spaces.base import SearchSpace
from nasforge.training.data import Prepared, prepare
from nasforge.training.loop import TrainResult, evaluate, set_threads, train
from nasforge.training.recipe import Recipe, recipe_for

__all__ = ["DataSettings", "TrainOutcome", "cached_prepare", "model_kwargs", "train_architecture"]


@dataclass(frozen=True)
class DataSettings:
    """How the data is cut and the network sized for :func:`train_architecture`.

    Args:
        val_fraction: share of the training data held out for validation.
        max_train: use at most this many training samples (None: all), for quick searches.
        model: settings passed to ``space.build`` (e.g. ``channels``, ``cells_per_stage``).
        threads: torch intra-op threads for this process (1 is fastest per worker on small nets).
        seed: seeds the initialisation, the batch order and augmentation.
        target: the label column when the dataset is a ``.csv`` file (None for every other dataset).

    Example:
        >>> DataSettings(max_train=500).val_fraction
        0.2
    """

    val_fraction: float = 0.2
    max_train: int | None = None
    model: dict[str, Any] | None = None
    threads: int = 1
    seed: int = 0
    target: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 < float(self.val_fraction) < 1.0:
            raise InvalidConfigError(f"0 < val_fraction < 1 must hold, but got val_fraction={self.val_fraction}")
        if int(self.threads) < 1 or (self.max_train is not None and int(self.max_train) < 2):
            raise InvalidConfigError(f"threads >= 1 and max_train None or >= 2 must hold, but got "
                                     f"(threads={self.threads}, max_train={self.max_train})")


@dataclass
class TrainOutcome:
    """What :func:`train_architecture` returns: the trained model (on the CPU) and its numbers."""

    model: Any
    val_acc: float
    test_acc: float
    val_loss: float
    params: int
    seconds: float
    epochs: int
    result: TrainResult
    recipe: Recipe


_DATA_CACHE: dict[tuple[Any, ...], Prepared] = {}


def cached_prepare(dataset: str, settings: DataSettings, data_root: str | None) -> Prepared:
    """:func:`prepare` once per process for each dataset, split and subset."""
    key = (dataset, settings.val_fraction, settings.max_train, data_root, settings.target)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = prepare(dataset, val_fraction=settings.val_fraction, max_train=settings.max_train,
                                   data_root=data_root, target=settings.target)
    return _DATA_CACHE[key]


def model_kwargs(data: Prepared, model: dict[str, Any] | None) -> dict[str, Any]:
    """``space.build`` keywords for the data: classes, input channels or features, then ``model``."""
    shape = data.input_shape
    kw: dict[str, Any] = {"num_classes": data.num_classes}
    if len(shape) == 3:
        kw["in_channels"] = shape[0]
    else:
        kw["in_features"] = shape[0]
    kw.update(model or {})
    return kw


def train_architecture(space: SearchSpace, arch: Architecture, dataset: str, recipe: Recipe,
                       settings: DataSettings | None = None, *, epochs: int | None = None,
                       data_root: str | None = None, final: bool = False) -> TrainOutcome:
    """Train ``space.build(arch)`` on ``dataset`` with ``recipe``.

    Training hyperparameters chosen by the architecture (``train.*`` labels of a joint space)
    override the recipe's.

    Args:
        settings: data split, subset, model size, threads and seed.
        epochs: overrides the recipe's epochs (a search's fidelity).
        final: train on train+validation (the stand-alone retraining after a search); the
            reported ``val_acc`` is then on data the model saw and only informative.

    Raises:
        TrialFailedError: when the loss becomes NaN or infinite.
    """
    settings = settings or DataSettings()
    recipe = recipe_for(recipe, arch)
    set_threads(int(settings.threads))
    data = cached_prepare(dataset, settings, data_root)
    n_epochs = int(epochs or recipe.epochs or 1)
    x_train, y_train = data.x_train, data.y_train
    if final:
        x_train = torch.cat([x_train, data.x_val])
        y_train = torch.cat([y_train, data.y_val])
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(settings.seed))
        model = space.build(arch, **model_kwargs(data, settings.model))
        with torch.no_grad():
            model(x_train[:2])  # materialise lazy layers before counting and optimising
    params = sum(p.numel() for p in model.parameters())
    result = train(model, (x_train, y_train), recipe, val=(data.x_val, data.y_val), epochs=n_epochs,
                   seed=int(settings.seed))
    if not math.isfinite(result.val_loss):
        raise TrialFailedError(f"validation loss is {result.val_loss} after {n_epochs} epochs")
    test_acc, _ = evaluate(model, data.x_test, data.y_test, precision=recipe.precision)
    model.cpu().eval()
    model.nasforge_meta = data.meta()
    return TrainOutcome(model, result.val_acc, test_acc, result.val_loss, params, time.perf_counter() - t0,
                        n_epochs, result, recipe)
