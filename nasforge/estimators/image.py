"""``ImageClassifier``: give it images and labels and a time budget, get the best CNN it can find.

Example:
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ImageClassifier(time_budget_s=20, seed=0).fit(X.reshape(-1, 8, 8), y)  # doctest: +SKIP
    >>> clf.score(X.reshape(-1, 8, 8), y) > 0.9  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.estimators.base import NASClassifierBase

__all__ = ["ImageClassifier"]


class ImageClassifier(NASClassifierBase):
    """Neural architecture search for image classification with scikit-learn conventions.

    ``fit`` spends ``search_fraction`` of ``time_budget_s`` on a search in which every candidate
    trains for the same few seconds (``trial_seconds``; which network learns most in the time it
    gets is what matters under a budget), starting from a plain hand-designed CNN, then retrains
    the best architecture on train+validation for the rest of the budget.

    Args:
        max_trials: stop the search after this many trials (None: only the time budget).
        time_budget_s: seconds for the whole ``fit``, final retraining included (None: no limit;
            then ``max_trials`` must be set and the final model trains for ``epochs``).
        space: a registered space name (default ``auto_cnn``, whose depth scales with the input
            size; ``nb201`` and ``chain_cnn`` also work) or a :class:`~nasforge.spaces.SearchSpace`.
        strategy: a registered strategy name. The default, ``local``, climbs from the hand-designed
            start through its one-step neighbours (as AutoKeras' greedy tuner starts from its
            hand-designed defaults); ``evolution`` begins with random networks, which at CPU budgets
            mostly cannot learn anything in a trial's few seconds.
        seed: seeds the validation split, the strategy, initialisation and batch order.
        workers: trials run in parallel (threads; each gets ``threads // workers`` torch threads).
        threads: torch threads in total (None: all cores).
        epochs: at most this many epochs per training run (None: under a time budget, as many
            as fit in the time, so a fast machine uses the whole budget; without one, 30).
        batch_size, lr: the training recipe (AdamW, warm-up then cosine to zero).
        augment: ``"shift"`` (random shifts of up to 2 px), ``"shift+flip"`` or None.
        search_fraction: share of the budget spent searching (the rest retrains the best).
        trial_seconds: training seconds per trial (None: a sixth of the search time, 3-60 s).
        val_fraction: share of the data held out to rank architectures.
        warm_start: the final training on train+validation continues from the best trial's
            weights instead of starting from scratch (the search's training is not wasted).
        storage: a SQLite file to record the search in (None: in memory).
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        precision: ``32``, ``bf16`` or ``16-mixed`` (autocast; a gradient scaler for float16).

    Inputs ``X``: arrays ``(N, H, W)`` (grayscale), ``(N, C, H, W)`` or ``(N, H, W, C)`` with
    ``C`` in 1, 3, 4; a torch dataset of ``(image, label)`` pairs; or an image-folder path
    (``root/<class>/*.png``) with ``y=None``.

    Attributes:
        best_arch_: the chosen :class:`~nasforge.Architecture`; ``best_arch_string_`` its text.
        model_: the retrained ``torch.nn.Module`` (takes raw inputs; normalisation is inside).
        history_: one dict per trial (architecture, validation accuracy, cost, ...).
        classes_: the class labels, in the order of ``predict_proba``'s columns.

    Example:
        >>> clf = ImageClassifier(time_budget_s=60).fit(x_train, y_train)  # doctest: +SKIP
        >>> clf.score(x_test, y_test), clf.best_arch_string_  # doctest: +SKIP
    """

    _kind = "image"

    def __init__(self, *, max_trials: int | None = None, time_budget_s: float | None = 600.0,
                 space: Any = "auto_cnn", strategy: str = "local", seed: int = 0, workers: int = 1,
                 threads: int | None = None, epochs: int | None = None, batch_size: int = 128, lr: float = 3e-3,
                 augment: str | None = "shift", search_fraction: float = 0.3, trial_seconds: float | None = None,
                 val_fraction: float = 0.1, warm_start: bool = True, storage: str | None = None,
                 device: str = "auto", precision: str = "32") -> None:
        self.max_trials = max_trials
        self.time_budget_s = time_budget_s
        self.space = space
        self.strategy = strategy
        self.seed = seed
        self.workers = workers
        self.threads = threads
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.augment = augment
        self.search_fraction = search_fraction
        self.trial_seconds = trial_seconds
        self.val_fraction = val_fraction
        self.warm_start = warm_start
        self.storage = storage
        self.device = device
        self.precision = precision

    def _prepare_x(self, X: Any, *, fitting: bool) -> np.ndarray:
        x = self._finite(X, "X")
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4 and x.shape[1] not in (1, 3, 4) and x.shape[3] in (1, 3, 4):
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # channels-last input
        elif x.ndim != 4:
            raise InvalidConfigError(
                f"ImageClassifier expects images shaped (N, H, W), (N, C, H, W) or (N, H, W, C), but got shape "
                f"{x.shape}; reshape flat pixels first (e.g. X.reshape(-1, 8, 8)) or use TabularClassifier")
        if fitting and min(x.shape[2:]) < 4:
            raise InvalidConfigError(f"images must be at least 4x4 pixels, but got {x.shape[2]}x{x.shape[3]}")
        return x

    def _make_space(self, x: np.ndarray) -> Any:
        from nasforge.spaces import get_space
        from nasforge.spaces.base import SearchSpace

        if isinstance(self.space, SearchSpace):
            return self.space
        if self.space == "auto_cnn":
            return get_space("auto_cnn", input_size=int(min(x.shape[2:])))
        if self.space == "nb201":
            # the benchmark's 16 channels x 5 cells is far too slow for a CPU budget
            return get_space("nb201", channels=8, cells_per_stage=1)
        return get_space(str(self.space))

    def _model_kwargs(self, x: np.ndarray, n_classes: int, space: Any) -> dict[str, Any]:
        kw: dict[str, Any] = {"num_classes": int(n_classes), "in_channels": int(x.shape[1])}
        if space.name == "auto_cnn":
            kw["input_hw"] = [int(x.shape[2]), int(x.shape[3])]
        return kw

    def _default_arch(self, space: Any) -> Architecture | None:
        if space.name == "auto_cnn":
            from nasforge.spaces.auto_cnn import auto_cnn_default

            return auto_cnn_default(space)
        return None

    def _recipe(self, n_train: int) -> Any:
        from nasforge.training.recipe import Recipe

        epochs = self._budget_epochs()
        return Recipe(epochs=epochs, batch_size=int(self.batch_size), lr=float(self.lr),
                      optimizer="adamw", weight_decay=5e-4, augment=self.augment, **self._recipe_common())

    def _trial_seconds(self, search_seconds: float | None) -> float | None:
        if self.trial_seconds is not None:
            return self._set_trial_seconds()
        if search_seconds is None:
            return 10.0
        return float(min(60.0, max(3.0, search_seconds / 6.0)))

    def _warm_final(self) -> bool:
        return bool(self.warm_start)
