"""Training on in-memory tensors under a wall-clock limit (the estimators' trainer and evaluator).

:func:`nasforge.evaluators.training.train_architecture` trains on a *named* dataset for a fixed
number of epochs. The estimators need two things it does not do: train on arrays the user passed
to ``fit``, and stop on a *time* limit, because ``time_budget_s`` bounds the whole ``fit``. So the
schedule here is planned in steps from the measured step time: the learning rate warms up and then
follows a cosine to zero over the steps that fit in the time left (re-planned as timings come in),
so a time-boxed run ends its schedule properly instead of being cut off at a high learning rate.
With validation data and ``patience``, it stops early and keeps the best epoch's weights.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, TrialFailedError
from nasforge.evaluators.base import Result
from nasforge.evaluators.training import image_layout, set_threads, train_step
from nasforge.spaces.base import SearchSpace

__all__ = ["ArrayEvaluator", "Recipe", "TrainStats", "predict_logits", "set_threads", "train_model", "warm_up_torch"]

log = logging.getLogger("nasforge.estimators")

_OPTIMIZERS = ("adamw", "sgd")
_UNCAPPED_EPOCHS = 10_000  # what Recipe(epochs=None) plans over until the first re-plan against the time limit


@dataclass(frozen=True)
class Recipe:
    """How a network is trained.

    Args:
        epochs: at most this many passes (a time limit may end training sooner). None: no cap,
            the time limit alone decides (:func:`train_model` then needs ``seconds``).
        batch_size: minibatch size.
        lr: peak learning rate (after a linear warm-up over ``warmup`` of the steps).
        optimizer: ``adamw`` or ``sgd`` (Nesterov, momentum 0.9).
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        label_smoothing: cross-entropy label smoothing.
        augment: ``None``, ``"shift"`` (random per-sample shifts of up to 2 pixels) or
            ``"shift+flip"`` (also horizontal flips, for natural images).
        patience: with validation data, stop after this many epochs without a lower
            validation loss and keep the best epoch's weights (None: never stop early).
        warmup: share of the planned steps spent warming the learning rate up.
        channels_last: train image networks (4-D inputs) in the channels-last memory layout,
            which oneDNN's CPU convolutions and batch norm run faster (1.2-1.7x per training step
            for the CNNs here, measured by ``benchmarks/layout.py``); the values
            computed are the same up to rounding, and the network is handed back in the default layout.

    Example:
        >>> Recipe(epochs=3, augment="shift").batch_size
        128
    """

    epochs: int | None = 30
    batch_size: int = 128
    lr: float = 3e-3
    optimizer: str = "adamw"
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    augment: str | None = None
    patience: int | None = None
    warmup: float = 0.05
    channels_last: bool = True

    def __post_init__(self) -> None:
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1 or not self.lr > 0:
            raise InvalidConfigError(f"epochs None or >= 1, batch_size >= 1 and lr > 0 must hold, but got (epochs="
                                     f"{self.epochs}, batch_size={self.batch_size}, lr={self.lr})")
        if self.optimizer not in _OPTIMIZERS:
            raise InvalidConfigError(f"optimizer must be one of {_OPTIMIZERS}, but got {self.optimizer!r}")
        if self.augment not in (None, "shift", "shift+flip"):
            raise InvalidConfigError(f"augment must be None, 'shift' or 'shift+flip', but got {self.augment!r}")
        if self.patience is not None and self.patience < 1:
            raise InvalidConfigError(f"patience must be None or >= 1, but got {self.patience}")
        if not 0.0 <= self.warmup < 1.0:
            raise InvalidConfigError(f"0 <= warmup < 1 must hold, but got warmup={self.warmup}")


@dataclass
class TrainStats:
    """What :func:`train_model` did: steps, epochs, time and the best validation numbers."""

    steps: int = 0
    epochs: float = 0.0
    best_epoch: int = 0
    seconds: float = 0.0
    val_acc: float = float("nan")
    val_loss: float = float("nan")
    history: list[dict[str, float]] = field(default_factory=list)


_WARMED_UP = False


def warm_up_torch() -> None:
    """Pay torch's one-time CPU start-up (about 3 s here at the first backward pass) once per process.

    Otherwise the first trial of a search, the hand-designed start, is charged for it and loses
    a third of a short trial to it.
    """
    global _WARMED_UP
    if _WARMED_UP:
        return
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(64, 2))
        opt = torch.optim.AdamW(net.parameters())
        x, y = torch.randn(8, 1, 8, 8), torch.tensor([0, 1] * 4)
        for _ in range(2):
            loss = torch.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            net.eval()(x)
    _WARMED_UP = True


def _shift(x: Any, gen: Any, flip: bool) -> Any:
    """Random per-sample shifts by up to 2 pixels (zero padding), optionally horizontal flips."""
    import torch

    n, c, h, w = x.shape
    pad = 2
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    out = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        out[mask] = out[mask].flip(3)
    return out


def predict_logits(model: Any, x: Any, batch: int = 1024) -> Any:
    """Logits of ``model`` on tensor ``x`` in eval mode, batched, without gradients."""
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(x[i:i + batch]))
    return torch.cat(outs) if outs else torch.zeros(0)


def _val_metrics(model: Any, x: Any, y: Any) -> tuple[float, float]:
    import torch.nn.functional as F

    logits = predict_logits(model, x)
    loss = float(F.cross_entropy(logits, y))
    acc = 100.0 * float((logits.argmax(1) == y).float().mean())
    return acc, loss


def train_model(model: Any, x: Any, y: Any, recipe: Recipe, *, seconds: float | None = None,
                epochs: int | None = None, x_val: Any = None, y_val: Any = None, seed: int = 0) -> TrainStats:
    """Train ``model`` in place on tensors ``(x, y)`` for ``epochs`` or until ``seconds`` pass.

    Args:
        seconds: wall-clock limit for training and the validation passes (None: no limit).
        epochs: overrides ``recipe.epochs``.
        x_val, y_val: validation tensors for early stopping and the returned accuracy.
        seed: seeds initialisation-independent randomness (batch order, augmentation).

    Raises:
        TrialFailedError: when the loss becomes NaN or infinite.
    """
    import torch

    if seconds is None and epochs is None and recipe.epochs is None:
        raise InvalidConfigError("Recipe(epochs=None) trains until the time limit: pass seconds=... "
                                 "(or give the recipe or this call a number of epochs)")
    # dropout draws from torch's global generator: seed it here (and restore it after) so that a
    # trial's result does not depend on what ran before it in the process
    with torch.random.fork_rng(devices=[]), image_layout(model, x, recipe.channels_last) as to_layout:
        torch.manual_seed(int(seed))
        return _train(model, x, y, recipe, seconds, epochs, x_val, y_val, seed, to_layout)


def _train(model: Any, x: Any, y: Any, recipe: Recipe, seconds: float | None, epochs: int | None, x_val: Any,
           y_val: Any, seed: int, to_layout: Any) -> TrainStats:
    import torch

    t0 = time.perf_counter()
    n = len(x)
    bs = min(recipe.batch_size, max(2, n))
    steps_per_epoch = max(1, n // bs)  # drop the ragged last batch: batch norm dislikes tiny batches
    # no epoch cap: the schedule is first planned over _UNCAPPED_EPOCHS, then re-planned to end with the time
    cap = steps_per_epoch * int(epochs or recipe.epochs or _UNCAPPED_EPOCHS)
    gen = torch.Generator().manual_seed(int(seed))
    if recipe.optimizer == "adamw":
        opt: Any = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                              weight_decay=recipe.weight_decay)
    has_val = x_val is not None and len(x_val) > 0
    stats = TrainStats()
    planned = cap
    step_times: list[float] = []
    best_score, best_state, since_best = -math.inf, None, 0
    flip = recipe.augment == "shift+flip"
    augment = recipe.augment is not None and x.ndim == 4
    step = 0
    stop = False
    while step < planned and not stop:
        model.train()
        perm = torch.randperm(n, generator=gen)
        epoch_loss = 0.0
        for b in range(steps_per_epoch):
            if step >= planned:
                break
            ts = time.perf_counter()
            idx = perm[b * bs:(b + 1) * bs]
            xb = x[idx]
            if augment:
                xb = _shift(xb, gen, flip)
            xb = to_layout(xb)
            warm = max(1, int(recipe.warmup * planned))
            frac = step / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, planned - warm)))
            for g in opt.param_groups:
                g["lr"] = recipe.lr * max(frac, 0.0)
            loss = train_step(model, opt, xb, y[idx], recipe.label_smoothing,
                              lambda: f"step {step + 1}")  # noqa: B023 - called at once
            epoch_loss += loss * len(idx)
            step += 1
            step_times.append(time.perf_counter() - ts)
            if seconds is not None and (step in (3, 10) or step % 25 == 0):
                # re-plan: the schedule ends where the time does (skip the first, slow step)
                recent = step_times[1:][-50:] or step_times
                per_step = float(np.median(recent))
                # a forward pass costs about a third of a training step: keep time for the validation pass
                val_cost = (len(x_val) / bs) * per_step * 0.4 if has_val else 0.0
                reserve = 0.03 * seconds + val_cost
                left = seconds - (time.perf_counter() - t0) - reserve
                planned = max(step + 1, min(cap, step + int(left / per_step)))
            if seconds is not None and time.perf_counter() - t0 > seconds:
                stop = True
                break
        done_batches = b + 1 if steps_per_epoch else 0
        stats.epochs = step / steps_per_epoch
        record: dict[str, float] = {"epoch": round(stats.epochs, 3),
                                    "train_loss": epoch_loss / max(1, done_batches * bs)}
        if has_val and (recipe.patience is not None or step >= planned or stop):
            acc, vloss = _val_metrics(model, x_val, y_val)
            record.update(val_acc=acc, val_loss=vloss)
            # early stopping follows the validation loss: on small validation sets the accuracy
            # ties for many epochs and would stop (and size the final retraining) too early
            score = -vloss if recipe.patience is not None else acc
            if score > best_score:
                best_score, since_best = score, 0
                stats.val_acc, stats.val_loss, stats.best_epoch = acc, vloss, math.ceil(stats.epochs)
                if recipe.patience is not None:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
                if recipe.patience is not None and since_best >= recipe.patience:
                    stop = True
        stats.history.append(record)
    if best_state is not None:
        model.load_state_dict(best_state)
    if not has_val:
        stats.best_epoch = math.ceil(stats.epochs)
    stats.steps = step
    stats.seconds = time.perf_counter() - t0
    model.eval()
    return stats


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
        set_threads(self.threads)
        seconds = float(fidelity) if fidelity else self.trial_seconds
        t0 = time.perf_counter()
        try:
            model = self.build(arch)
            params = sum(p.numel() for p in model.parameters())
            stats = train_model(model, self.data["x_train"], self.data["y_train"], self.recipe, seconds=seconds,
                                x_val=self.data["x_val"], y_val=self.data["y_val"], seed=self.seed)
        except TrialFailedError as exc:
            return Result.failed(str(exc), cost=time.perf_counter() - t0, fidelity=seconds)
        if self.keep_models:
            self.models[arch.key] = model
        return Result.ok({"val_acc": stats.val_acc, "val_loss": stats.val_loss, "params_M": params / 1e6,
                          "epochs": float(stats.best_epoch), "epochs_run": stats.epochs},
                         cost=time.perf_counter() - t0, params=params, fidelity=seconds)

    def describe(self) -> dict[str, Any]:
        return {"kind": "arrays", "trial_seconds": self.trial_seconds, "recipe": self.recipe.__dict__,
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

        set_threads(self.threads)
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
                stats = train_model(model, x[tr], y[tr], self.recipe, seconds=left, x_val=x[va], y_val=y[va],
                                    seed=self.seed + k)
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
                         cost=time.perf_counter() - t0, params=params, fidelity=seconds)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": "arrays-cv", "folds": self.folds}
