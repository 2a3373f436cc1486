"""The shared base of the AutoML estimators: search, retrain, predict, save, export.

``fit`` validates the inputs, splits off a stratified validation set, runs a search (a
:class:`~nasforge.runner.Runner` with the chosen strategy and an in-memory or SQLite store) whose
trials train on the arrays in memory, then retrains the best architecture on train+validation.
``time_budget_s`` bounds all of it: the search gets ``search_fraction`` of the budget and the final
retraining the rest, with its learning-rate schedule planned to end when the budget does.

The fitted network (``model_``) carries its input normalisation as its first layer, so
``predict``, the exported TorchScript/ONNX files and a loaded estimator all take raw inputs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from nasforge import errors
from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.registry import unknown_name_message

__all__ = ["NASClassifierBase", "NotFittedError"]

log = logging.getLogger("nasforge.estimators")

SAVE_FORMAT = "nasforge-estimator/1"
EXPORT_FORMATS = ("torchscript", "pt2", "onnx")
_MAX_VAL = 1000  # validation samples scored per trial: ranks to about +-1%, cheap enough not to eat the trial


class NotFittedError(errors.NotFittedError, _SklearnNotFittedError):
    """An estimator was used before ``fit`` (also scikit-learn's ``NotFittedError``)."""


class _ThreadExecutor:
    """Runs trials in threads (torch releases the GIL), for ``workers > 1``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nasforge-trial")

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _normalizer(norm: Any, net: Any) -> Any:
    """``nn.Sequential(Normalize, net)``: raw inputs in, logits out."""
    from torch import nn

    return nn.Sequential(norm, net)


def _ensemble(nets: list[Any]) -> Any:
    """One network, or an ``nn.Module`` whose logits are the log of its members' mean probabilities.

    ``softmax`` of the output is then the members' averaged class probabilities, so ``predict_proba``
    and the exports need no special case.
    """
    import torch
    from torch import nn

    if len(nets) == 1:
        return nets[0]

    class Ensemble(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList(nets)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            probs = torch.stack([torch.softmax(m(x), dim=1) for m in self.members]).mean(dim=0)
            return torch.log(probs.clamp_min(1e-12))

    return Ensemble()


class _Probabilities:
    """Wraps ``model_`` so that exports output class probabilities (softmax of the logits)."""

    @staticmethod
    def wrap(model: Any) -> Any:
        import torch
        from torch import nn

        class Proba(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return torch.softmax(self.model(x), dim=1)

        return Proba().eval()


def _json_safe(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _param_json(value: Any) -> Any:
    """A constructor argument as JSON: a space object is saved by its registered name."""
    value = _json_safe(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return getattr(value, "name", str(value))


class NASClassifierBase(ClassifierMixin, BaseEstimator):
    """Shared machinery of :class:`ImageClassifier` and :class:`TabularClassifier`.

    Subclasses define ``__init__`` (storing their keyword arguments unchanged, as scikit-learn
    requires) and the hooks ``_prepare_x`` (raw input -> float32 array), ``_make_space``,
    ``_recipe`` and ``_default_arch``.

    Example:
        >>> from nasforge.estimators import ImageClassifier
        >>> issubclass(ImageClassifier, NASClassifierBase)
        True
    """

    _kind = "base"

    # ------------------------------------------------------------------ hooks
    def _prepare_x(self, X: Any, *, fitting: bool) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_space(self, x: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _recipe(self, n_train: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _default_arch(self, space: Any) -> Architecture | None:
        return None

    def _recipe_common(self) -> dict[str, Any]:
        """Recipe settings every estimator shares: a warm-up + cosine schedule planned to end with the
        time limit, no ragged batches, validation only when it decides something, device, precision."""
        return {"schedule": "cosine", "warmup": 0.05, "drop_last": True, "val_every_epoch": False,
                "device": str(self.device), "precision": str(self.precision)}

    def _fit_normalize(self, x_tr: np.ndarray) -> Any:
        """The input normalisation (a :class:`~nasforge.training.Normalize`), fitted on the training split:
        per channel for images, per feature for tables (:func:`~nasforge.training.data.fit_normalize`)."""
        from nasforge.training.data import fit_normalize

        return fit_normalize(x_tr)

    def _extra_state(self) -> dict[str, Any]:
        """More fitted state for ``estimator.json`` (a vocabulary, a waveform length, ...)."""
        return {}

    def _restore_extra(self, meta: Mapping[str, Any]) -> None:
        """Set the fitted attributes written by :meth:`_extra_state` on a loaded estimator."""

    def _export_example(self) -> Any:
        """A batch of 2 valid inputs to trace the exported graph with."""
        import torch

        return torch.rand(2, *self.input_shape_, generator=torch.Generator().manual_seed(0))

    def _model_kwargs(self, x: np.ndarray, n_classes: int, space: Any) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _trial_seconds(self, search_seconds: float | None) -> float | None:
        return None

    def _set_trial_seconds(self) -> float:
        """The ``trial_seconds`` the user set, checked (the estimators' defaults apply when it is None)."""
        if not float(self.trial_seconds) > 0:
            raise InvalidConfigError(f"trial_seconds must be > 0, but got {self.trial_seconds!r}")
        return float(self.trial_seconds)

    def _budget_epochs(self) -> int | None:
        """``epochs`` as set; else None under a time budget (the schedule is planned to end with it), else 30."""
        if self.epochs is not None:
            return int(self.epochs)
        return None if self.time_budget_s is not None else 30

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        budget, trials = self.time_budget_s, self.max_trials
        if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
            raise InvalidConfigError(f"time_budget_s must be a positive number or None, but got {budget!r}")
        if trials is not None and not (isinstance(trials, (int, np.integer)) and trials >= 1):
            raise InvalidConfigError(f"max_trials must be an integer >= 1 or None, but got {trials!r}")
        if budget is None and trials is None:
            raise InvalidConfigError("set time_budget_s or max_trials (or both); both are None")
        if not (isinstance(self.workers, (int, np.integer)) and self.workers >= 1):
            raise InvalidConfigError(f"workers must be an integer >= 1, but got {self.workers!r}")
        if not 0.0 < float(self.search_fraction) < 1.0:
            raise InvalidConfigError(f"0 < search_fraction < 1 must hold, but got {self.search_fraction!r}")
        if not 0.0 < float(self.val_fraction) < 1.0:
            raise InvalidConfigError(f"0 < val_fraction < 1 must hold, but got {self.val_fraction!r}")
        from nasforge.training.device import resolve_device

        resolve_device(str(self.device))  # an absent device fails before the search, not in its first trial

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    @staticmethod
    def _from_torch_dataset(data: Any) -> tuple[np.ndarray, np.ndarray]:
        """Materialise a map-style torch dataset of ``(x, y)`` pairs into arrays."""
        xs, ys = [], []
        for i in range(len(data)):
            item = data[i]
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise InvalidConfigError(f"a dataset passed to fit must yield (x, y) pairs; item {i} is "
                                         f"{type(item).__name__}")
            x, y = item[0], item[1]
            xs.append(np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32))
            ys.append(y.item() if hasattr(y, "item") else y)
        if not xs:
            raise InvalidConfigError("the dataset passed to fit is empty")
        shapes = {a.shape for a in xs}
        if len(shapes) > 1:
            raise InvalidConfigError(f"all samples must have one shape; the dataset has {sorted(shapes)[:3]}")
        return np.stack(xs), np.asarray(ys)

    def _inputs(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """Resolve the accepted input kinds to ``(X, y)``: arrays, a torch dataset, or a path."""
        if isinstance(X, (str, os.PathLike)):
            if y is not None:
                raise InvalidConfigError("when X is a path (image folder or .npz), leave y=None: labels come "
                                         "from the folder names / the file")
            from nasforge.data import load_dataset

            ds = load_dataset(os.fspath(X))
            # text/audio datasets keep a validation part apart: fit gets all labelled data
            x_all, y_all = getattr(ds, "x_all", ds.x_train), getattr(ds, "y_all", ds.y_train)
            return x_all, np.asarray(ds.classes, dtype=object)[y_all].astype(str)
        if y is None:
            if _is_torch_dataset(X):
                return self._from_torch_dataset(X)
            raise InvalidConfigError("y is required when X is an array (give y, or pass a torch dataset of "
                                     "(x, y) pairs or an image-folder path)")
        if hasattr(X, "detach"):
            X = X.detach().cpu().numpy()
        if hasattr(y, "detach"):
            y = y.detach().cpu().numpy()
        y_arr = np.asarray(y)
        if y_arr.ndim != 1:
            raise InvalidConfigError(f"y must be 1-D (one label per sample), but got shape {y_arr.shape}")
        if len(X) != len(y_arr):
            raise InvalidConfigError(f"X and y must have the same length, but got len(X)={len(X)}, "
                                     f"len(y)={len(y_arr)}")
        return X, y_arr

    @staticmethod
    def _finite(x: np.ndarray, what: str) -> np.ndarray:
        try:
            arr = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidConfigError(f"{what} must be numeric: {exc}") from None
        if arr.size and not np.isfinite(arr).all():
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise InvalidConfigError(f"{what} contains {bad} NaN or infinite value(s); clean or impute them first")
        return arr

    @staticmethod
    def _encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(classes, codes)``: the sorted distinct labels and each sample's index into them."""
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise InvalidConfigError("y contains NaN or infinite values")
        try:
            classes, codes = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise InvalidConfigError(f"y must hold labels of one sortable type (ints or strings): {exc}") from None
        if len(classes) < 2:
            raise InvalidConfigError(f"y must hold at least 2 classes to learn a classifier, but got only "
                                     f"{classes.tolist()!r}")
        return classes, codes.reshape(-1).astype(np.int64)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> NASClassifierBase:
        """Search architectures on ``(X, y)``, retrain the best on all of it, return ``self``.

        Args:
            X: training inputs (see the class docstring for accepted shapes), a torch dataset of
                ``(x, y)`` pairs, or a path to an image folder / ``.npz`` file (then ``y=None``).
            y: class labels (any sortable values: ints, strings).

        Raises:
            InvalidConfigError: on bad inputs (shapes, NaN, a single class, mismatched lengths)
                or bad settings.
        """
        t_start = time.perf_counter()
        self._check_params()
        X, y = self._inputs(X, y)
        x = self._prepare_x(X, fitting=True)
        classes, y_enc = self._encode_labels(y)
        if len(x) < 4:
            raise InvalidConfigError(f"need at least 4 samples to search (train and validation), but got {len(x)}")
        import torch

        from nasforge.data import split_train_val
        from nasforge.evaluators.arrays import ArrayEvaluator, CrossValEvaluator
        from nasforge.training.data import prepare_arrays
        from nasforge.training.loop import set_threads, train, warm_up_torch

        seed = int(self.seed)
        threads = int(self.threads) if self.threads else max(1, (os.cpu_count() or 1) // int(self.workers))
        set_threads(threads)
        warm_up_torch()
        x_tr, y_tr, x_val, y_val = split_train_val(x, y_enc, float(self.val_fraction), seed=seed)
        if len(x_val) > _MAX_VAL:
            keep = np.sort(np.random.default_rng([seed, 1]).choice(len(x_val), _MAX_VAL, replace=False))
            x_score, y_score = x_val[keep], y_val[keep]
        else:
            x_score, y_score = x_val, y_val
        prepared = prepare_arrays(x_tr, y_tr, x_score, y_score, num_classes=len(classes),
                                  normalize=self._fit_normalize(x_tr))
        norm = prepared.normalize.apply_numpy
        data = {"x_train": prepared.x_train, "y_train": prepared.y_train, "x_val": prepared.x_val,
                "y_val": prepared.y_val}
        space = self._make_space(x)
        model_kwargs = self._model_kwargs(x, len(classes), space)
        recipe = self._recipe(len(x_tr))

        budget = float(self.time_budget_s) if self.time_budget_s is not None else None
        deadline = t_start + budget if budget is not None else None
        search_seconds = None
        if budget is not None:
            search_seconds = float(self.search_fraction) * (budget - (time.perf_counter() - t_start))
        trial_seconds = self._trial_seconds(search_seconds)
        trial_threads = max(1, threads if int(self.workers) == 1 else 1)
        # all labelled data, normalised: the final training's set, and the folds' source under cv
        x_all = torch.cat([norm(x_tr), norm(x_val)])
        y_all = torch.from_numpy(np.concatenate([y_tr, y_val]))
        folds = self._cv_folds()
        if folds > 1:
            # small data: rank by k-fold cross-validation over train+validation (one split is too noisy)
            evaluator: Any = CrossValEvaluator(space, {"x_train": x_all, "y_train": y_all}, recipe, folds=folds,
                                               trial_seconds=trial_seconds, seed=seed, threads=trial_threads,
                                               model_kwargs=model_kwargs)
        else:
            evaluator = ArrayEvaluator(space, data, recipe, trial_seconds=trial_seconds, seed=seed,
                                       threads=trial_threads, model_kwargs=model_kwargs,
                                       keep_models=self._warm_final())
        search_start = time.perf_counter()
        history = self._search(space, evaluator, search_seconds, trial_seconds)
        ok = [h for h in history if h["status"] == "ok" and math.isfinite(h.get("val_acc", math.nan))]
        if not ok:
            errs = "; ".join(sorted({str(h.get("error")) for h in history}))[:500]
            raise errors.TrialFailedError(f"every trial of the search failed ({len(history)}): {errs}")
        # accuracy ties (common on small validation sets) go to the lower loss, then the smaller network
        best = max(ok, key=lambda h: (h["val_acc"], -h.get("val_loss", 0.0), -(h.get("params") or 0), -h["number"]))
        self.search_seconds_ = time.perf_counter() - search_start

        # ---- final retraining on train + validation, in the time that is left
        best_arch = Architecture.from_key(best["arch_key"])
        epochs = self._final_epochs(best, recipe)
        n_members = self._ensemble_size()
        # continue from the trial's weights: under a time budget the search's training of the
        # winner is not thrown away (the schedule restarts, as in SGDR warm restarts)
        warm = evaluator.models.get(best_arch.key) if self._warm_final() else None
        evaluator.models.clear()
        nets = []
        set_threads(threads)
        for m in range(n_members):
            # further members differ in initialisation and batch order (a seed ensemble of the best architecture)
            net = warm if m == 0 and warm is not None else evaluator.build(best_arch, seed=seed + m)
            left = None
            if deadline is not None:
                left = max(0.2, ((deadline - time.perf_counter()) * 0.97 - 0.2) / (n_members - m))
            stats = train(net, (x_all, y_all), recipe, seconds=left, epochs=epochs, seed=seed + m)
            nets.append(net.cpu())
        model = _normalizer(prepared.normalize, _ensemble(nets)).eval()

        self.model_ = model
        self.classes_ = classes
        self.best_arch_ = best_arch
        self.best_arch_string_ = space.to_string(best_arch)
        self.best_val_acc_ = float(best["val_acc"])
        self.history_ = history
        self.space_ = space
        self.space_name_ = space.name
        self.space_config_ = dict(space.config)
        self.model_kwargs_ = model_kwargs
        self.input_shape_ = tuple(int(d) for d in x.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.final_stats_ = {"epochs": stats.epochs, "steps": stats.steps, "seconds": stats.seconds,
                             "members": len(nets)}
        self.fit_seconds_ = time.perf_counter() - t_start
        log.info("fit done in %.1fs: %d trials, best %s (val %.2f%%), final %.2f epochs", self.fit_seconds_,
                 len(history), self.best_arch_string_, self.best_val_acc_, stats.epochs)
        return self

    def _search(self, space: Any, evaluator: Any, search_seconds: float | None,
                trial_seconds: float | None) -> list[dict[str, Any]]:
        """Run the search (hand-designed start, then the strategy via the Runner); one dict per trial."""
        from nasforge.evaluators.base import Objective
        from nasforge.runner import Budget, Experiment, Runner
        from nasforge.strategies import make_strategy

        strategy = make_strategy(str(self.strategy), space, seed=int(self.seed), **dict(self._strategy_params()))
        search_start = time.perf_counter()
        default = self._default_arch(space)
        seeded: list[dict[str, Any]] = []
        if default is not None and (self.max_trials is None or self.max_trials > 1):
            # Start from a hand-designed member of the space, as AutoKeras does: the search then
            # only has to beat it. The strategy hears of it as a tell it did not ask for.
            res = evaluator.evaluate(default)
            strategy.tell(default, res.observe((Objective("val_acc"),)))
            seeded.append({"number": -1, "arch": space.to_string(default), "arch_key": default.key,
                           "status": res.status, **dict(res.metrics), "cost": res.cost, "params": res.params,
                           "error": res.error, "hand_designed": True})
        wall = None
        if search_seconds is not None:
            # stop starting trials when the last one would end after the search's share
            wall = max(1e-3, search_seconds - (time.perf_counter() - search_start) - (trial_seconds or 0.0))
        trials = None if self.max_trials is None else max(1, int(self.max_trials) - len(seeded))
        exp = Experiment(f"{self._kind}-{int(time.time())}", space, strategy, evaluator, (Objective("val_acc"),),
                         Budget(trials=trials, wall_seconds=wall),
                         {"estimator": type(self).__name__, "params": {k: _param_json(v) for k, v in
                                                                         self.get_params().items()}})
        store = None
        if self.storage:
            from nasforge.storage import Store

            store = Store(str(self.storage))
            store.create_experiment(exp.name, exp.spec)
        executor = _ThreadExecutor(int(self.workers)) if int(self.workers) > 1 else None
        runner = Runner(exp, store, executor=executor)
        try:
            runner.run()
        finally:
            if executor is not None:
                executor.shutdown()
            if store is not None:
                store.close()
        return seeded + [{"number": t.number, "arch": t.arch, "arch_key": t.arch_key, "status": t.status,
                          **t.metrics, "cost": t.cost, "params": t.params, "error": t.error, "hand_designed": False}
                         for t in sorted(runner.records, key=lambda t: t.number)]

    def _strategy_params(self) -> Mapping[str, Any]:
        if self.strategy == "evolution":
            # few trials fit in a time budget: a small population starts mutating the best early
            return {"population_size": 5, "sample_size": 2}
        if self.strategy == "local":
            # climb from the hand-designed start (told before the search) instead of random starts
            return {"n_init": 1}
        return {}

    def _final_epochs(self, best: Mapping[str, Any], recipe: Any) -> int | None:
        return None

    def _ensemble_size(self) -> int:
        """Networks of the best architecture trained for the final model (their probabilities averaged)."""
        return 1

    def _cv_folds(self) -> int:
        """Folds of cross-validation to rank trials with (1: one validation split)."""
        return 1

    def _warm_final(self) -> bool:
        return False

    # ------------------------------------------------------------------ predict
    def _tensor(self, X: Any) -> Any:
        import torch

        self._check_fitted()
        if isinstance(X, (str, os.PathLike)):
            raise InvalidConfigError("predict takes arrays or tensors; load files with nasforge.data.load_dataset")
        if hasattr(X, "detach"):
            X = X.detach().cpu().numpy()
        elif not isinstance(X, np.ndarray) and _is_torch_dataset(X):
            X, _ = self._from_torch_dataset(X)
        x = self._prepare_x(X, fitting=False)
        if tuple(x.shape[1:]) != self.input_shape_:
            raise InvalidConfigError(f"X has samples of shape {tuple(x.shape[1:])}, but this estimator was fitted "
                                     f"on shape {self.input_shape_}")
        return torch.from_numpy(np.array(x, dtype=np.float32))  # a writable copy

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(N, n_classes)``, columns in the order of ``classes_``."""
        import torch

        from nasforge.training.loop import predict_logits

        x = self._tensor(X)
        return torch.softmax(predict_logits(self.model_, x), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels (values from ``classes_``)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the fitted estimator to ``directory``: ``model.pt`` (tensors only) and ``estimator.json``.

        Nothing is pickled: :meth:`load` reads the weights with ``weights_only=True``.
        """
        import torch

        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        torch.save(self.model_.state_dict(), d / "model.pt")
        kind = self.classes_.dtype.kind
        meta = {
            "format": SAVE_FORMAT, "estimator": type(self).__name__,
            "params": {k: _param_json(v) for k, v in self.get_params().items()},
            "classes": [_json_safe(c) for c in self.classes_.tolist()], "classes_kind": kind,
            "space": self.space_name_, "space_config": self.space_config_, "arch": self.best_arch_.key,
            "model_kwargs": {k: _json_safe(v) for k, v in self.model_kwargs_.items()},
            "input_shape": list(self.input_shape_),
            "mean": self.model_[0].mean.numpy().tolist(), "std": self.model_[0].std.numpy().tolist(),
            "best_val_acc": self.best_val_acc_, "history": [{k: _json_safe(v) for k, v in h.items()}
                                                            for h in self.history_],
            "final": self.final_stats_, "fit_seconds": self.fit_seconds_,
            "members": int(self.final_stats_.get("members", 1)),
            **self._extra_state(),
        }
        (d / "estimator.json").write_text(json.dumps(meta, indent=1, default=str))
        return d

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> NASClassifierBase:
        """Rebuild an estimator written by :meth:`save` (weights loaded with ``weights_only=True``)."""
        import torch

        from nasforge.estimators import AudioClassifier, ImageClassifier, TabularClassifier, TextClassifier
        from nasforge.spaces import get_space

        d = Path(directory)
        meta_path = d / "estimator.json"
        if not meta_path.is_file() or not (d / "model.pt").is_file():
            raise errors.DatasetUnavailableError(f"{d} does not hold a saved estimator (model.pt + estimator.json)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != SAVE_FORMAT:
            raise InvalidConfigError(f"{meta_path} has format {meta.get('format')!r}, expected {SAVE_FORMAT!r}")
        kinds = {"ImageClassifier": ImageClassifier, "TabularClassifier": TabularClassifier,
                 "TextClassifier": TextClassifier, "AudioClassifier": AudioClassifier}
        if meta["estimator"] not in kinds:
            raise UnknownNameError(unknown_name_message("estimator", meta["estimator"], list(kinds)))
        klass = kinds[meta["estimator"]]
        if cls is not NASClassifierBase and not issubclass(klass, cls):
            raise InvalidConfigError(f"{d} holds a {meta['estimator']}, not a {cls.__name__}")
        est = klass(**meta["params"])
        space = get_space(meta["space"], **meta["space_config"])
        arch = space.validate(Architecture.from_key(meta["arch"]))
        kwargs = dict(meta["model_kwargs"])
        net = _ensemble([space.build(arch, **kwargs) for _ in range(int(meta.get("members", 1)))])
        from nasforge.training.data import Normalize

        model = _normalizer(Normalize(np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32)), net)
        with torch.no_grad():
            model.eval()(torch.zeros(1, *meta["input_shape"]))  # materialise lazy layers, if any
        model.load_state_dict(torch.load(d / "model.pt", weights_only=True))
        est.model_ = model.eval()
        classes = meta["classes"]
        est.classes_ = np.asarray(classes, dtype=object if meta["classes_kind"] == "O" else None)
        if meta["classes_kind"] == "U":
            est.classes_ = est.classes_.astype(str)
        est.best_arch_ = arch
        est.best_arch_string_ = space.to_string(arch)
        est.best_val_acc_ = meta["best_val_acc"]
        est.history_ = meta["history"]
        est.space_ = space
        est.space_name_, est.space_config_ = meta["space"], meta["space_config"]
        est.model_kwargs_ = kwargs
        est.input_shape_ = tuple(meta["input_shape"])
        est.n_features_in_ = int(np.prod(est.input_shape_))
        est.final_stats_ = meta.get("final", {})
        est.fit_seconds_ = meta.get("fit_seconds")
        est._restore_extra(meta)
        return est

    def export(self, path: str | os.PathLike[str], format: str = "torchscript") -> Path:
        """Write the fitted network as TorchScript, a ``torch.export`` program (``pt2``; load it with
        ``torch.export.load(path).module()``) or ONNX.

        The exported model takes raw inputs shaped like ``X`` (float32, normalisation is inside;
        ``TextClassifier``: int64 token ids, ``AudioClassifier``: waveforms of ``n_samples_``)
        and outputs class probabilities in the order of ``classes_``; for ONNX the input is named
        ``input`` and the output ``probabilities``. ``pt2`` and ONNX have a dynamic batch axis.

        Raises:
            ExportCheckError: when the written file's outputs differ from the network's by more than 1e-4.
        """
        from nasforge.export import ONNX_TOLERANCE, ExportCheckError, write_graph

        self._check_fitted()
        if format not in EXPORT_FORMATS:
            raise UnknownNameError(unknown_name_message("export format", format, list(EXPORT_FORMATS)))
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        wrapped = _Probabilities.wrap(self.model_)
        example = self._export_example()
        diff = write_graph(wrapped, example, p, format, output_name="probabilities")
        if not diff <= ONNX_TOLERANCE:
            raise ExportCheckError(f"the {format} model differs from PyTorch by {diff:.3g} (> {ONNX_TOLERANCE:g}); "
                                   f"not trusting {p}")
        return p


def _is_torch_dataset(obj: Any) -> bool:
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, Dataset)
