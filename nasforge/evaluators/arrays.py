"""Evaluators that train on in-memory tensors (the estimators' search): one split, or k-fold.

Both train with :func:`nasforge.training.train`, each trial time-boxed by its fidelity in seconds.
Architectures of a joint space carry their own training hyperparameters (``train.*`` labels).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, TrialFailedError
from nasforge.evaluators.base import Result
from nasforge.spaces.base import SearchSpace
from nasforge.training.recipe import Recipe, recipe_for

__all__ = ["ArrayEvaluator", "CrossValEvaluator"]


class ArrayEvaluator:
    """Evaluate architectures by training on in-memory tensors, each trial time-boxed.

    The fidelity is the trial's training time in seconds (default ``trial_seconds``): under a
    wall-clock budget the question is which network is most accurate for the time it is given,
    so every candidate gets the same time rather than the same epochs. Visible metrics:
    ``val_acc``, ``val_loss``, ``params_M``, ``epochs`` (best epoch, used to size the final
    retraining when there is no time limit). There is no test split here: the estimator never
    sees one, so ``report_metric`` is None.

    Example:
        >>> ev = ArrayEvaluator(space, data, Recipe(), trial_seconds=5.0)  # doctest: +SKIP
        >>> ev.evaluate(space.sample(np.random.default_rng(0))).metrics["val_acc"]  # doctest: +SKIP
    """

    simulated_cost = False
    default_objective = "val_acc"
    report_metric: str | None = None

    def __init__(self, space: SearchSpace, data: dict[str, Any], recipe: Recipe, *,
                 trial_seconds: float | None = None, seed: int = 0, threads: int = 1,
                 model_kwargs: dict[str, Any] | None = None, keep_models: bool = False) -> None:
        self.space = space
        self.data = data
        self.recipe = recipe
        self.trial_seconds = trial_seconds
        self.seed = int(seed)
        self.threads = int(threads)
        self.model_kwargs = dict(model_kwargs or {})
        self.keep_models = keep_models
        #: trained networks by architecture key (when ``keep_models``), for warm-starting the final training
        self.models: dict[str, Any] = {}

    def build(self, arch: Architecture, seed: int | None = None) -> Any:
        """The untrained network for ``arch`` (initialisation seeded by ``seed``, default the evaluator's)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed if seed is None else int(seed))
            model = self.space.build(arch, **self.model_kwargs)
            with torch.no_grad():
                model.eval()
                model(self.data["x_train"][:2])  # materialise lazy layers
        return model

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        from nasforge.training.loop import set_threads, train

        set_threads(self.threads)
        seconds = float(fidelity) if fidelity else self.trial_seconds
        t0 = time.perf_counter()
        recipe = recipe_for(self.recipe, arch)
        try:
            model = self.build(arch)
            params = sum(p.numel() for p in model.parameters())
            stats = train(model, (self.data["x_train"], self.data["y_train"]), recipe,
                          val=(self.data["x_val"], self.data["y_val"]), seconds=seconds, seed=self.seed)
        except TrialFailedError as exc:
            return Result.failed(str(exc), cost=time.perf_counter() - t0, fidelity=seconds)
        if self.keep_models:
            self.models[arch.key] = model
        return Result.ok({"val_acc": stats.val_acc, "val_loss": stats.val_loss, "params_M": params / 1e6,
                          "epochs": float(stats.best_epoch), "epochs_run": stats.epochs},
                         cost=time.perf_counter() - t0, params=params, fidelity=seconds, info=stats.info())

    def describe(self) -> dict[str, Any]:
        return {"kind": "arrays", "trial_seconds": self.trial_seconds, "recipe": self.recipe.to_dict(),
                "n_train": len(self.data["x_train"]), "n_val": len(self.data["x_val"])}


class CrossValEvaluator(ArrayEvaluator):
    """Evaluate architectures by stratified k-fold cross-validation on in-memory tensors.

    For small tables one validation split ranks badly: with 90 validation samples one sample is
    1.1 points of accuracy. Each trial here trains ``folds`` networks, each with early stopping on
    its own held-out fold, and reports the pooled accuracy over all folds (every sample scored
    once), the mean validation loss, and the median best epoch (sizes the final retraining).
    ``data`` holds ``x_train`` / ``y_train`` only: all the labelled data the folds are cut from.

    Example:
        >>> ev = CrossValEvaluator(space, {"x_train": x, "y_train": y}, Recipe(), folds=5)  # doctest: +SKIP
        >>> ev.evaluate(arch).metrics["val_acc"]  # doctest: +SKIP
    """

    def __init__(self, space: SearchSpace, data: dict[str, Any], recipe: Recipe, *, folds: int = 5,
                 trial_seconds: float | None = None, seed: int = 0, threads: int = 1,
                 model_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(space, data, recipe, trial_seconds=trial_seconds, seed=seed, threads=threads,
                         model_kwargs=model_kwargs, keep_models=False)
        y = np.asarray(data["y_train"])
        counts = np.bincount(y)
        if int(folds) < 2 or int(counts[counts > 0].min()) < 2:
            raise InvalidConfigError(f"cross-validation needs folds >= 2 and at least 2 samples of every class, "
                                     f"but got folds={folds!r} and class counts {counts.tolist()}")
        self.folds = int(min(int(folds), int(counts[counts > 0].min())))
        # stratified assignment: shuffle each class, deal its samples round-robin to the folds
        rng = np.random.default_rng([int(seed), 2])
        self.fold_of = np.empty(len(y), dtype=np.int64)
        for c in np.flatnonzero(counts):
            idx = rng.permutation(np.flatnonzero(y == c))
            self.fold_of[idx] = (np.arange(len(idx)) + int(rng.integers(self.folds))) % self.folds

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        import torch

        from nasforge.training.loop import set_threads, train

        set_threads(self.threads)
        recipe = recipe_for(self.recipe, arch)
        seconds = float(fidelity) if fidelity else self.trial_seconds
        t0 = time.perf_counter()
        x, y = self.data["x_train"], self.data["y_train"]
        correct = n_scored = 0
        losses, best_epochs, epochs_run, params = [], [], 0.0, 0
        try:
            for k in range(self.folds):
                left = None if seconds is None else max(0.05, (seconds - (time.perf_counter() - t0)) / (self.folds - k))
                tr = torch.from_numpy(np.flatnonzero(self.fold_of != k))
                va = torch.from_numpy(np.flatnonzero(self.fold_of == k))
                model = self.build(arch)
                params = sum(p.numel() for p in model.parameters())
                stats = train(model, (x[tr], y[tr]), recipe, val=(x[va], y[va]), seconds=left, seed=self.seed + k)
                correct += round(stats.val_acc / 100.0 * len(va))
                n_scored += len(va)
                losses.append(stats.val_loss)
                best_epochs.append(stats.best_epoch)
                epochs_run += stats.epochs
        except TrialFailedError as exc:
            return Result.failed(str(exc), cost=time.perf_counter() - t0, fidelity=seconds)
        return Result.ok({"val_acc": 100.0 * correct / n_scored, "val_loss": float(np.mean(losses)),
                          "params_M": params / 1e6, "epochs": float(np.median(best_epochs)),
                          "epochs_run": epochs_run, "folds": float(self.folds)},
                         cost=time.perf_counter() - t0, params=params, fidelity=seconds,
                         info={"device": stats.device, "precision": stats.precision})

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": "arrays-cv", "folds": self.folds}
