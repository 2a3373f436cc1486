"""``TabularClassifier``: MLP architecture search for feature tables, scikit-learn style.

Example:
    >>> from sklearn.datasets import load_wine
    >>> X, y = load_wine(return_X_y=True)
    >>> clf = TabularClassifier(time_budget_s=20, seed=0).fit(X, y)  # doctest: +SKIP
    >>> clf.predict(X[:3])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.estimators.base import NASClassifierBase

__all__ = ["TabularClassifier"]


def _positive_int(name: str, value: Any, note: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidConfigError(f"{name} must be an integer >= 1{note}, but got {value!r}")
    return int(value)


class TabularClassifier(NASClassifierBase):
    """Neural architecture search over MLPs for tabular classification.

    Features are standardised (mean/std of the training split, inside the model). Each trial
    trains with early stopping on the validation split; the best architecture is retrained on
    train+validation for the number of epochs at which its trial peaked.

    Args:
        max_trials: stop the search after this many trials (None: only the time budget).
        time_budget_s: seconds for the whole ``fit`` (None: no limit; ``max_trials`` must be set).
        space: a registered space name (default ``mlp``: 1-4 layers of width/activation/dropout)
            or a :class:`~nasforge.spaces.SearchSpace`.
        strategy: a registered strategy name.
        seed: seeds the split, the strategy, initialisation and batch order.
        workers: trials run in parallel (threads).
        threads: torch threads in total (None: all cores).
        epochs: at most this many epochs per training run.
        patience: early-stopping patience in epochs (trials only).
        batch_size, lr, weight_decay: the training recipe (AdamW, warm-up then cosine).
        search_fraction: share of the budget spent searching.
        val_fraction: share of the data held out to rank architectures (when ``cv`` is 1).
        cv: folds of stratified cross-validation that rank each trial (1: one validation split).
            Measured on digits (fixed trials, 4 seeds): 5 folds did not rank better than one split
            and cost 5x per trial, so the default is 1; more folds can pay on very small tables.
        ensemble: networks of the best architecture trained (different seeds) for the final model,
            their class probabilities averaged; they share the final training time. Default 5:
            on digits (10 trials, 4 seeds) it lifted test accuracy from 97.27 +- 0.49 to
            98.11 +- 0.10 at a few seconds' cost.
        storage: a SQLite file to record the search in (None: in memory).
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        precision: ``32``, ``bf16`` or ``16-mixed`` (autocast; a gradient scaler for float16).

    Attributes:
        best_arch_, model_, history_, classes_: as for :class:`ImageClassifier`.

    Example:
        >>> clf = TabularClassifier(max_trials=10, time_budget_s=None).fit(X, y)  # doctest: +SKIP
        >>> clf.best_arch_string_  # doctest: +SKIP
    """

    _kind = "tabular"

    def __init__(self, *, max_trials: int | None = 30, time_budget_s: float | None = 60.0, space: Any = "mlp",
                 strategy: str = "evolution", seed: int = 0, workers: int = 1, threads: int | None = None,
                 epochs: int = 200, patience: int = 20, batch_size: int = 32, lr: float = 1e-3,
                 weight_decay: float = 1e-4, search_fraction: float = 0.8, val_fraction: float = 0.2,
                 cv: int = 1, ensemble: int = 5, storage: str | None = None,
                 device: str = "auto", precision: str = "32") -> None:
        self.max_trials = max_trials
        self.time_budget_s = time_budget_s
        self.space = space
        self.strategy = strategy
        self.seed = seed
        self.workers = workers
        self.threads = threads
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.search_fraction = search_fraction
        self.val_fraction = val_fraction
        self.cv = cv
        self.ensemble = ensemble
        self.storage = storage
        self.device = device
        self.precision = precision

    def _prepare_x(self, X: Any, *, fitting: bool) -> np.ndarray:
        x = self._finite(X, "X")
        if x.ndim != 2:
            raise InvalidConfigError(f"TabularClassifier expects a feature table shaped (N, F), but got shape "
                                     f"{x.shape}; flatten it (X.reshape(len(X), -1)) or use ImageClassifier")
        return x

    def _make_space(self, x: np.ndarray) -> Any:
        from nasforge.spaces import get_space
        from nasforge.spaces.base import SearchSpace

        if isinstance(self.space, SearchSpace):
            return self.space
        return get_space(str(self.space))

    def _model_kwargs(self, x: np.ndarray, n_classes: int, space: Any) -> dict[str, Any]:
        return {"num_classes": int(n_classes), "in_features": int(x.shape[1])}

    def _default_arch(self, space: Any) -> Architecture | None:
        if space.name == "mlp":
            return space.validate({"layer.depth": 2, "layer.0.width": 64, "layer.0.activation": "relu",
                                   "layer.0.dropout": 0.1, "layer.1.width": 64, "layer.1.activation": "relu",
                                   "layer.1.dropout": 0.1})
        return None

    def _recipe(self, n_train: int) -> Any:
        from nasforge.training.recipe import Recipe

        return Recipe(epochs=int(self.epochs), batch_size=int(self.batch_size), lr=float(self.lr),
                      optimizer="adamw", weight_decay=float(self.weight_decay), patience=int(self.patience),
                      **self._recipe_common())

    def _trial_seconds(self, search_seconds: float | None) -> float | None:
        # trials end by early stopping; the cap only keeps one slow trial from eating the search
        return None if search_seconds is None else max(1.0, search_seconds / 4.0)

    def _check_params(self) -> None:
        super()._check_params()
        self._ensemble_size()  # bad settings fail before the search, not after it
        self._cv_folds()

    def _ensemble_size(self) -> int:
        return _positive_int("ensemble", self.ensemble)

    def _cv_folds(self) -> int:
        return _positive_int("cv", self.cv, " (1: one validation split)")

    def _final_epochs(self, best: Mapping[str, Any], recipe: Any) -> int | None:
        return max(1, int(best.get("epochs") or recipe.epochs))
