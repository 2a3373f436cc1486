"""Real training as an evaluator: build the architecture's network and train it on a dataset.

The training itself is :func:`nasforge.training.train_architecture` (one recipe, one loop); this
module turns it into ``evaluate(arch, fidelity) -> Result``. The fidelity is the number of epochs.
Each trial records its learning curve and a short log (``info["curve"]``, ``info["log"]``) and the
device and precision it trained with (``info["device"]``, ``info["precision"]``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import TrialFailedError, UnknownNameError
from nasforge.evaluators.base import Result
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace
from nasforge.training.recipe import Recipe, split_settings

__all__ = ["TrainingEvaluator"]

log = logging.getLogger("nasforge.training")


class TrainingEvaluator:
    """Evaluate an architecture by training it (real PyTorch training on real data).

    ``fidelity`` is the number of epochs (default ``recipe.epochs``). Visible metrics: ``val_acc``,
    ``val_loss``, ``params_M``; hidden: ``test_acc``. ``cost`` is the measured training seconds.
    Architectures of a joint space carry their own training hyperparameters (``train.*`` labels),
    which override the recipe's.

    Args:
        space: the search space.
        dataset: a registered dataset name or a path.
        recipe: how each network is trained.
        settings: the data split, subset, model size, threads and seed
            (:class:`~nasforge.training.DataSettings`).
        data_root: folder holding dataset files.

    Example:
        >>> from nasforge.spaces import get_space
        >>> ev = TrainingEvaluator(get_space("nb201"), "digits", Recipe(epochs=1))  # doctest: +SKIP
        >>> ev.evaluate(get_space("nb201").sample(np.random.default_rng(0))).metrics["val_acc"]  # doctest: +SKIP
    """

    simulated_cost = False
    default_objective = "val_acc"
    report_metric: str | None = "test_acc"

    def __init__(self, space: SearchSpace, dataset: str = "digits", recipe: Recipe | None = None,
                 settings: Any = None, *, data_root: str | None = None) -> None:
        from nasforge.data.datasets import dataset_names
        from nasforge.training.device import resolve_device
        from nasforge.training.standalone import DataSettings

        self.space = space
        self.dataset = dataset
        self.recipe = recipe or Recipe()
        self.settings = settings or DataSettings()
        self.data_root = data_root
        if dataset not in dataset_names() and not any(dataset.endswith(s) for s in (".npz", ".csv", "/")) \
                and "/" not in dataset:
            raise UnknownNameError(unknown_name_message("dataset", dataset, dataset_names()))
        resolve_device(self.recipe.device)  # an absent device is a settings error, not a failed trial

    @classmethod
    def from_settings(cls, space: SearchSpace, dataset: str, settings: Mapping[str, Any], *,
                      data_root: str | None = None) -> TrainingEvaluator:
        """Build from a flat settings dict (recipe fields and data settings, as stored in a spec).

        Raises:
            InvalidConfigError: for unknown keys or bad values.
        """
        from nasforge.training.standalone import DataSettings

        recipe, data = split_settings(settings)
        return cls(space, dataset, recipe, DataSettings(**data), data_root=data_root)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        from nasforge.training.standalone import train_architecture

        from nasforge.training.recipe import recipe_for

        t0 = time.perf_counter()
        # a joint space may choose the epochs; a fidelity (multi-fidelity strategies) overrides them
        epochs = int(fidelity) if fidelity else int(recipe_for(self.recipe, arch).epochs or 1)
        try:
            out = train_architecture(self.space, arch, self.dataset, self.recipe, self.settings, epochs=epochs,
                                     data_root=self.data_root)
        except TrialFailedError as exc:
            return Result.failed(str(exc), cost=time.perf_counter() - t0, fidelity=float(epochs))
        info = {**out.result.info(), "recipe": out.recipe.to_dict()}
        return Result.ok({"val_acc": out.val_acc, "val_loss": out.val_loss, "params_M": out.params / 1e6},
                         hidden={"test_acc": out.test_acc}, cost=out.seconds, params=out.params,
                         fidelity=float(epochs), info=info)

    def describe(self) -> dict[str, Any]:
        return {"kind": "train", "dataset": self.dataset, "data_root": self.data_root,
                "config": {**self.recipe.to_dict(), **asdict(self.settings)}}

