"""Real training: build the architecture's network and train it on a dataset.

The protocol is fixed per evaluator and never sees the test split while searching: the training
set is split (stratified, seeded) into train and validation; the search signal is validation
accuracy; test accuracy is computed once per trial and kept hidden from strategies. Accuracies are
in percent, as in NAS-Bench-201.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, TrialFailedError, UnknownNameError
from nasforge.evaluators.base import Result
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace

__all__ = ["TrainConfig", "TrainOutcome", "TrainingEvaluator", "image_layout", "set_threads", "train_architecture"]

log = logging.getLogger("nasforge.training")

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "constant", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    """How one architecture is trained. The defaults suit small images on a CPU.

    Args:
        epochs: passes over the training split (a fidelity overrides it per trial).
        batch_size: minibatch size.
        lr: peak learning rate.
        optimizer: ``sgd`` (Nesterov momentum 0.9), ``adam`` or ``adamw``.
        schedule: ``cosine`` (to 0 over the run), ``constant`` or ``onecycle``.
        weight_decay: L2 / decoupled weight decay.
        val_fraction: share of the training data held out for validation.
        seed: seeds the split, the initialisation and the batch order.
        threads: torch intra-op threads for this process (1 is fastest per worker on small nets).
        max_train: use at most this many training samples (None: all), for quick searches.
        label_smoothing: cross-entropy label smoothing.
        augment: random shifts/flips for images (shift by up to 2 pixels; no flips for digits).
        model: settings passed to ``space.build`` (e.g. ``channels``, ``cells_per_stage``).
        channels_last: train and evaluate in the channels-last memory layout, which oneDNN's CPU
            kernels run faster (NB201 cells, 1 thread: 1.2x on 8x8 digits, 1.3-1.4x on 28x28 MNIST;
            ``benchmarks/layout.py``);
            the values are the same up to rounding and the model is returned in the default layout.
        target: the label column when the dataset is a ``.csv`` file (None for every other dataset).
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"
    schedule: str = "cosine"
    weight_decay: float = 5e-4
    val_fraction: float = 0.2
    seed: int = 0
    threads: int = 1
    max_train: int | None = None
    label_smoothing: float = 0.0
    augment: bool = False
    model: dict[str, Any] = field(default_factory=dict)
    channels_last: bool = True
    target: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.threads < 1:
            raise InvalidConfigError(
                f"epochs >= 1, batch_size >= 1, lr > 0 and threads >= 1 must hold, but got (epochs={self.epochs}, "
                f"batch_size={self.batch_size}, lr={self.lr}, threads={self.threads})"
            )
        if not 0.0 < self.val_fraction < 1.0:
            raise InvalidConfigError(f"0 < val_fraction < 1 must hold, but got val_fraction={self.val_fraction}")
        if self.optimizer not in OPTIMIZERS:
            raise UnknownNameError(unknown_name_message("optimizer", self.optimizer, list(OPTIMIZERS)))
        if self.schedule not in SCHEDULES:
            raise UnknownNameError(unknown_name_message("schedule", self.schedule, list(SCHEDULES)))


@dataclass
class TrainOutcome:
    """What :func:`train_architecture` returns: the trained model and its numbers."""

    model: Any
    val_acc: float
    test_acc: float
    val_loss: float
    params: int
    seconds: float
    epochs: int
    history: list[dict[str, float]]


def set_threads(n: int) -> None:
    """Set torch's intra-op threads for this process (idempotent, cheap)."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextmanager
def image_layout(model: Any, x: Any, channels_last: bool) -> Iterator[Callable[[Any], Any]]:
    """Inside the block, ``model`` runs channels-last when ``channels_last`` and ``x`` holds images (4-D).

    Yields the function that puts a batch in the model's layout (the identity otherwise); on leaving,
    the model is handed back in the default layout, so export and later training see an ordinary
    network. oneDNN's CPU convolutions and batch norm are faster channels-last; the values are the
    same up to rounding (``benchmarks/layout.py`` measures the speed).
    """
    import torch

    if not (channels_last and getattr(x, "ndim", 0) == 4):
        yield lambda batch: batch
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield lambda batch: batch.contiguous(memory_format=torch.channels_last)
    finally:
        model.to(memory_format=torch.contiguous_format)


def train_step(model: Any, opt: Any, xb: Any, yb: Any, label_smoothing: float, where: Callable[[], str],
               stats: dict[str, float] | None = None) -> float:
    """One optimizer step of cross-entropy on the batch ``(xb, yb)``; returns the batch's mean loss.

    With ``stats``, the number of correctly classified samples is added to ``stats["correct"]``.

    Raises:
        TrialFailedError: when the loss is NaN or infinite (the message says ``where()``, e.g. the step).
    """
    import torch
    import torch.nn.functional as F

    logits = model(xb)
    loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
    if stats is not None:
        stats["correct"] = stats.get("correct", 0.0) + float((logits.detach().argmax(1) == yb).sum())
    if not torch.isfinite(loss):
        raise TrialFailedError(f"loss became {loss.item()} at {where()}")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.item())


def _prepare(dataset: str, cfg: TrainConfig, data_root: str | None) -> dict[str, Any]:
    import torch

    from nasforge.data.datasets import load_dataset, split_train_val

    data = load_dataset(dataset, root=data_root, target=cfg.target)
    x_tr, y_tr, x_val, y_val = split_train_val(data.x_train, data.y_train, cfg.val_fraction, seed=0)
    if cfg.max_train is not None and len(x_tr) > cfg.max_train:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(x_tr), cfg.max_train, replace=False))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    axes = (0, 2, 3) if x_tr.ndim == 4 else (0,)
    mean = x_tr.mean(axis=axes, keepdims=True)
    std = x_tr.std(axis=axes, keepdims=True) + 1e-6

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((x - mean) / std).astype(np.float32))

    return {
        "x_train": t(x_tr), "y_train": torch.from_numpy(np.array(y_tr, dtype=np.int64)),
        "x_val": t(x_val), "y_val": torch.from_numpy(np.array(y_val, dtype=np.int64)),
        "x_test": t(data.x_test), "y_test": torch.from_numpy(np.array(data.y_test, dtype=np.int64)),
        "num_classes": data.num_classes, "input_shape": tuple(data.input_shape), "name": data.name,
        "mean": mean.ravel().tolist(), "std": std.ravel().tolist(),
    }


def _model_kwargs(space: SearchSpace, data: dict[str, Any], cfg: TrainConfig) -> dict[str, Any]:
    shape = data["input_shape"]
    kw: dict[str, Any] = {"num_classes": data["num_classes"]}
    if len(shape) == 3:
        kw["in_channels"] = shape[0]
    else:
        kw["in_features"] = shape[0]
    kw.update(cfg.model)
    return kw


def _evaluate(model: Any, x: Any, y: Any, batch: int = 512) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[i:i + batch]).sum())
    n = max(1, len(x))
    return 100.0 * correct / n, loss / n


def _augment(x: Any, gen: Any) -> Any:
    import torch

    if x.ndim != 4:
        return x
    pad = 2
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=gen))
    return padded[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]


def train_architecture(space: SearchSpace, arch: Architecture, dataset: str, cfg: TrainConfig, *,
                       epochs: int | None = None, data_root: str | None = None, final: bool = False) -> TrainOutcome:
    """Train ``space.build(arch)`` on ``dataset`` with ``cfg``.

    Args:
        final: train on train+validation (the stand-alone retraining after a search); the
            reported ``val_acc`` is then on data the model saw and only informative.

    Raises:
        TrialFailedError: when the loss becomes NaN or infinite.
    """
    import torch

    set_threads(cfg.threads)
    data = _cached_data(dataset, cfg, data_root)
    n_epochs = int(epochs or cfg.epochs)
    x_train, y_train = data["x_train"], data["y_train"]
    if final:
        x_train = torch.cat([x_train, data["x_val"]])
        y_train = torch.cat([y_train, data["y_val"]])
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        model = space.build(arch, **_model_kwargs(space, data, cfg))
        with torch.no_grad():
            model(x_train[:2])  # materialise lazy layers before counting and optimising
        params = sum(p.numel() for p in model.parameters())
        if cfg.optimizer == "sgd":
            opt: Any = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                                       weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = max(1, math.ceil(len(x_train) / cfg.batch_size))
        total = steps_per_epoch * n_epochs
        if cfg.schedule == "cosine":
            sched: Any = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        elif cfg.schedule == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total)
        else:
            sched = None
        history = []
        with image_layout(model, x_train, cfg.channels_last) as to_layout:
            for epoch in range(n_epochs):
                model.train()
                perm = torch.randperm(len(x_train), generator=gen)
                run_loss = 0.0
                stats: dict[str, float] = {}
                t_epoch = time.perf_counter()
                for step in range(steps_per_epoch):
                    idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                    if len(idx) < 2:
                        continue  # batch norm needs two samples
                    xb = x_train[idx]
                    if cfg.augment:
                        xb = _augment(xb, gen)
                    loss = train_step(model, opt, to_layout(xb), y_train[idx], cfg.label_smoothing,
                                      lambda: f"epoch {epoch + 1}, step {step + 1}",  # noqa: B023 - called at once
                                      stats)
                    if sched is not None:
                        sched.step()
                    run_loss += loss * len(idx)
                history.append({"epoch": epoch + 1, "train_loss": run_loss / len(x_train),
                                "train_acc": 100.0 * stats.get("correct", 0.0) / len(x_train),
                                "seconds": time.perf_counter() - t_epoch})
            val_acc, val_loss = _evaluate(model, data["x_val"], data["y_val"])
            if not math.isfinite(val_loss):
                raise TrialFailedError(f"validation loss is {val_loss} after {n_epochs} epochs")
            test_acc, _ = _evaluate(model, data["x_test"], data["y_test"])
    model.eval()
    model.nasforge_meta = {"mean": data["mean"], "std": data["std"], "input_shape": list(data["input_shape"]),
                           "num_classes": data["num_classes"], "dataset": data["name"]}
    return TrainOutcome(model, val_acc, test_acc, val_loss, params, time.perf_counter() - t0, n_epochs, history)


_DATA_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def _cached_data(dataset: str, cfg: TrainConfig, data_root: str | None) -> dict[str, Any]:
    key = (dataset, cfg.val_fraction, cfg.max_train, data_root, cfg.target)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = _prepare(dataset, cfg, data_root)
    return _DATA_CACHE[key]


def curve_and_log(out: TrainOutcome, max_log: int = 20_000) -> dict[str, Any]:
    """A trial's learning curve and log for ``Result.info`` (``info["curve"]``, ``info["log"]``).

    One curve entry per epoch: ``epoch``, ``train_loss``, ``train_acc`` (percent), ``val_loss``,
    ``val_acc`` (measured after the last epoch only, None before) and ``seconds``. The log is
    plain text, at most ``max_log`` characters; it never shows test accuracy.
    """
    curve: list[dict[str, Any]] = []
    for i, h in enumerate(out.history):
        last = i == len(out.history) - 1
        curve.append({"epoch": int(h["epoch"]), "train_loss": float(h["train_loss"]),
                      "train_acc": float(h.get("train_acc", math.nan)),
                      "val_loss": float(out.val_loss) if last else None, "val_acc": float(out.val_acc) if last else None,
                      "seconds": float(h.get("seconds", math.nan))})
    lines = [f"params {out.params:,}; {out.epochs} epoch(s) in {out.seconds:.2f} s"]
    for c in curve:
        line = (f"epoch {c['epoch']}/{out.epochs}: train_loss {c['train_loss']:.4f} train_acc {c['train_acc']:.2f}% "
                f"({c['seconds']:.2f} s)")
        if c["val_acc"] is not None:
            line += f"; val_loss {c['val_loss']:.4f} val_acc {c['val_acc']:.2f}%"
        lines.append(line)
    log_text = "\n".join(lines)
    if len(log_text) > max_log:
        log_text = log_text[: max_log // 2] + "\n[...]\n" + log_text[-max_log // 2:]
    return {"curve": curve, "log": log_text}


class TrainingEvaluator:
    """Evaluate an architecture by training it (real PyTorch training on real data).

    ``fidelity`` is the number of epochs (default ``cfg.epochs``). Visible metrics: ``val_acc``,
    ``val_loss``, ``params_M``; hidden: ``test_acc``. ``cost`` is the measured training seconds.

    Example:
        >>> from nasforge.spaces import get_space
        >>> ev = TrainingEvaluator(get_space("nb201"), "digits", TrainConfig(epochs=1))  # doctest: +SKIP
        >>> ev.evaluate(get_space("nb201").sample(np.random.default_rng(0))).metrics["val_acc"]  # doctest: +SKIP
    """

    simulated_cost = False
    default_objective = "val_acc"
    report_metric: str | None = "test_acc"

    def __init__(self, space: SearchSpace, dataset: str = "digits", cfg: TrainConfig | None = None, *,
                 data_root: str | None = None) -> None:
        from nasforge.data.datasets import dataset_names

        self.space = space
        self.dataset = dataset
        self.cfg = cfg or TrainConfig()
        self.data_root = data_root
        if dataset not in dataset_names() and not any(dataset.endswith(s) for s in (".npz", ".csv", "/")) \
                and "/" not in dataset:
            raise UnknownNameError(unknown_name_message("dataset", dataset, dataset_names()))

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        t0 = time.perf_counter()
        epochs = int(fidelity) if fidelity else self.cfg.epochs
        try:
            out = train_architecture(self.space, arch, self.dataset, self.cfg, epochs=epochs, data_root=self.data_root)
        except TrialFailedError as exc:
            return Result.failed(str(exc), cost=time.perf_counter() - t0, fidelity=float(epochs))
        return Result.ok({"val_acc": out.val_acc, "val_loss": out.val_loss, "params_M": out.params / 1e6},
                         hidden={"test_acc": out.test_acc}, cost=out.seconds, params=out.params,
                         fidelity=float(epochs), info=curve_and_log(out))

    def describe(self) -> dict[str, Any]:
        return {"kind": "train", "dataset": self.dataset, "data_root": self.data_root, "config": asdict(self.cfg)}
