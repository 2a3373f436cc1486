"""The one training loop: ``train(model, data, recipe, epochs=... | seconds=...)``.

One loop for every trainer. It stops after a number of epochs or when a wall-clock limit is
reached; under a time limit the learning-rate schedule is planned in steps from the measured step
time and re-planned as timings come in, so a time-boxed run ends its schedule properly instead of
being cut off at a high learning rate. With validation data and ``patience`` it stops early and
keeps the best epoch's weights. The model and batches live on the recipe's device; a dataset that
fits in device memory is moved there once, otherwise batches are copied from pinned memory without
blocking. Each epoch adds one entry to the learning curve (contract C2: ``epoch``, ``train_loss``,
``train_acc``, ``val_loss``, ``val_acc``, ``seconds``).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.errors import InvalidConfigError, TrialFailedError
from nasforge.training.device import autocast, device_label, grad_scaler, resolve_device
from nasforge.training.recipe import Recipe

__all__ = ["TrainResult", "evaluate", "image_layout", "place", "predict_logits", "set_threads", "train",
           "warm_up_torch"]

log = logging.getLogger("nasforge.training")

_UNCAPPED_EPOCHS = 10_000  # what Recipe(epochs=None) plans over until the first re-plan against the time limit
_MAX_LOG_CHARS = 20_000
_DEVICE_SHARE = 0.5  # a dataset is moved to the GPU when it needs at most this share of the free memory


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        steps: optimizer steps taken.
        epochs: passes over the training data (fractional when a time limit cut one short).
        best_epoch: the epoch whose weights were kept (the last one without early stopping).
        seconds: wall seconds of training and validation.
        val_acc, val_loss: validation accuracy (percent) and loss of the kept weights (NaN without
            validation data).
        curve: one entry per epoch (contract C2).
        device: where it trained (``cpu``, ``cuda:0``, ``mps``); precision: ``32``, ``bf16``, ``16-mixed``.
    """

    steps: int = 0
    epochs: float = 0.0
    best_epoch: int = 0
    seconds: float = 0.0
    val_acc: float = float("nan")
    val_loss: float = float("nan")
    curve: list[dict[str, Any]] = field(default_factory=list)
    device: str = "cpu"
    precision: str = "32"

    @property
    def log(self) -> str:
        """A short text log of the run (one line per epoch, at most ~20 kB)."""
        lines = [f"device {self.device}, precision {self.precision}"]
        for e in self.curve:
            val = "" if e["val_acc"] is None else f", val_loss {e['val_loss']:.4f}, val_acc {e['val_acc']:.2f}"
            lines.append(f"epoch {e['epoch']}: train_loss {e['train_loss']:.4f}, train_acc {e['train_acc']:.2f}"
                         f"{val}, {e['seconds']:.2f}s")
        text = "\n".join(lines)
        if len(text) > _MAX_LOG_CHARS:
            text = text[: _MAX_LOG_CHARS // 2] + "\n...\n" + text[-_MAX_LOG_CHARS // 2:]
        return text

    def info(self) -> dict[str, Any]:
        """The trial ``info`` entries: ``curve``, ``log`` (C2), ``device`` and ``precision`` (C4)."""
        return {"curve": self.curve, "log": self.log, "device": self.device, "precision": self.precision}


def set_threads(n: int) -> None:
    """Set torch's intra-op threads for this process (idempotent, cheap)."""
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


_WARMED_UP = False


def warm_up_torch() -> None:
    """Pay torch's one-time CPU start-up (about 3 s here at the first backward pass) once per process.

    Otherwise the first trial of a time-boxed search, the hand-designed start, is charged for it.
    """
    global _WARMED_UP
    if _WARMED_UP:
        return
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(64, 2))
        opt = torch.optim.AdamW(net.parameters())
        x, y = torch.randn(8, 1, 8, 8), torch.tensor([0, 1] * 4)
        for _ in range(2):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            net.eval()(x)
    _WARMED_UP = True


@contextmanager
def image_layout(model: Any, x: Any, channels_last: bool) -> Iterator[Callable[[Any], Any]]:
    """Inside the block, ``model`` runs channels-last when ``channels_last`` and ``x`` holds images (4-D).

    Yields the function that puts a batch in the model's layout (the identity otherwise); on leaving,
    the model is handed back in the default layout, so export and later training see an ordinary
    network. The values are the same up to rounding (``benchmarks/layout.py`` measures the speed).
    """
    if not (channels_last and getattr(x, "ndim", 0) == 4):
        yield lambda batch: batch
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield lambda batch: batch.contiguous(memory_format=torch.channels_last)
    finally:
        model.to(memory_format=torch.contiguous_format)


def place(t: torch.Tensor, device: Any) -> tuple[torch.Tensor, bool]:
    """Put a dataset tensor where training reads it; returns ``(tensor, copy_per_batch)``.

    On the CPU nothing moves. On a GPU the tensor is moved once when it needs at most half of the
    free device memory; otherwise it stays on the host in pinned memory and each batch is copied
    without blocking (``copy_per_batch`` is then True).
    """
    if device.type == "cpu" or t.device == device:
        return t, False
    nbytes = t.numel() * t.element_size()
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        fits = nbytes <= _DEVICE_SHARE * free
    else:
        fits = nbytes <= 2**30
    if fits:
        return t.to(device), False
    return (t.pin_memory() if device.type == "cuda" else t), True


def _to(xb: torch.Tensor, device: Any, per_batch: bool) -> torch.Tensor:
    if not per_batch:
        return xb
    if device.type == "cuda":
        return xb.pin_memory().to(device, non_blocking=True)
    return xb.to(device)


def predict_logits(model: Any, x: torch.Tensor, batch: int = 1024, *, precision: str = "32") -> torch.Tensor:
    """Logits (float32, on the CPU) of ``model`` on ``x`` in eval mode, batched, on the model's device."""
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    model.eval()
    outs = []
    with torch.no_grad(), autocast(device, precision):
        for i in range(0, len(x), batch):
            outs.append(model(x[i:i + batch].to(device, non_blocking=True)).float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0)


def evaluate(model: Any, x: torch.Tensor, y: torch.Tensor, *, precision: str = "32",
             batch: int = 1024) -> tuple[float, float]:
    """Accuracy (percent) and mean cross-entropy of ``model`` on ``(x, y)``; ``(nan, nan)`` when empty."""
    if len(x) == 0:
        return float("nan"), float("nan")
    logits = predict_logits(model, x, batch, precision=precision)
    y = y.cpu()
    loss = float(F.cross_entropy(logits, y))
    acc = 100.0 * int((logits.argmax(1) == y).sum()) / len(y)  # exact: from the count of correct samples
    return acc, loss


def _shift(x: torch.Tensor, gen: torch.Generator, flip: bool) -> torch.Tensor:
    """Random per-sample shifts by up to 2 pixels (zero padding), optionally horizontal flips."""
    n, c, h, w = x.shape
    pad = 2
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]
    out = padded[torch.arange(n, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
                 rows, cols]
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).to(dev)
        out[mask] = out[mask].flip(3)
    return out


def _optimizer(model: Any, recipe: Recipe) -> Any:
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                               weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


def _lr_factor(recipe: Recipe, step: int, planned: int) -> float:
    """The ``cosine`` schedule at ``step`` of ``planned``: linear warm-up, then a cosine to 0."""
    if recipe.warmup > 0:
        warm = max(1, int(recipe.warmup * planned))
        if step < warm:
            return step / warm
        return max(0.0, 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, planned - warm))))
    return max(0.0, 0.5 * (1 + math.cos(math.pi * step / max(1, planned))))


def train(model: Any, data: tuple[torch.Tensor, torch.Tensor], recipe: Recipe, *,
          val: tuple[torch.Tensor, torch.Tensor] | None = None, epochs: int | None = None,
          seconds: float | None = None, seed: int = 0) -> TrainResult:
    """Train ``model`` in place on ``data = (x, y)`` for ``epochs`` or until ``seconds`` pass.

    Args:
        model: the network; it is moved to ``recipe.device`` and stays there.
        data: normalised inputs and int64 labels (see :func:`nasforge.training.prepare`).
        recipe: how to train.
        val: validation tensors for early stopping, the curve and the returned accuracy.
        epochs: overrides ``recipe.epochs``.
        seconds: wall-clock limit for training and the validation passes (None: no limit).
        seed: seeds the batch order, augmentation and dropout (torch's global generator is restored
            afterwards, so a trial's result does not depend on what ran before it in the process).

    Raises:
        InvalidConfigError: when neither epochs nor seconds bound the run, or the device is absent.
        TrialFailedError: when the loss becomes NaN or infinite.

    Example:
        >>> result = train(net, (x, y), Recipe(epochs=2), val=(x_val, y_val))  # doctest: +SKIP
        >>> result.curve[-1]["val_acc"]  # doctest: +SKIP
    """
    if seconds is None and epochs is None and recipe.epochs is None:
        raise InvalidConfigError("Recipe(epochs=None) trains until the time limit: pass seconds=... "
                                 "(or give the recipe or this call a number of epochs)")
    device = resolve_device(recipe.device)
    model.to(device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), image_layout(model, data[0], recipe.channels_last) as to_layout:
        torch.manual_seed(int(seed))
        return _train(model, data, recipe, device, seconds, epochs, val, int(seed), to_layout)


def _train(model: Any, data: tuple[torch.Tensor, torch.Tensor], recipe: Recipe, device: Any, seconds: float | None,
           epochs: int | None, val: tuple[torch.Tensor, torch.Tensor] | None, seed: int, to_layout: Any) -> TrainResult:
    t0 = time.perf_counter()
    x, per_batch = place(data[0], device)
    y, _ = place(data[1], device)
    if per_batch:
        y = data[1].to(device)  # labels are small: always on the device
    n = len(x)
    bs = min(recipe.batch_size, max(2, n))
    full, ragged = divmod(n, bs)
    steps_per_epoch = max(1, full if recipe.drop_last or ragged < 2 else full + 1)
    cap = steps_per_epoch * int(epochs or recipe.epochs or _UNCAPPED_EPOCHS)
    gen = torch.Generator().manual_seed(seed)
    opt = _optimizer(model, recipe)
    scaler = grad_scaler(device, recipe.precision)
    onecycle = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=cap)
                if recipe.schedule == "onecycle" else None)
    has_val = val is not None and len(val[0]) > 0
    result = TrainResult(device=device_label(device), precision=recipe.precision)
    planned = cap
    step_times: list[float] = []
    best_score, best_state, since_best = -math.inf, None, 0
    augment = recipe.augment is not None and x.ndim == 4
    flip = recipe.augment == "shift+flip"
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    check_each_step = device.type == "cpu"  # on a GPU, .item() per step would stall the queue
    step, epoch, stop = 0, 0, False
    while step < planned and not stop:
        model.train()
        perm = torch.randperm(n, generator=gen)
        if not per_batch and device.type != "cpu":
            perm = perm.to(device)
        loss_sum = torch.zeros((), dtype=acc_dtype, device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        epoch += 1
        for b in range(steps_per_epoch):
            if step >= planned:
                break
            ts = time.perf_counter()
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = _to(x[idx], device, per_batch), y[idx.to(y.device)]
            if augment:
                xb = _shift(xb, gen, flip)
            if recipe.schedule == "cosine":
                for g in opt.param_groups:
                    g["lr"] = recipe.lr * _lr_factor(recipe, step, planned)
            with autocast(device, recipe.precision):
                out = model(to_layout(xb))
                loss = F.cross_entropy(out.float(), yb, label_smoothing=recipe.label_smoothing)
            if check_each_step and not torch.isfinite(loss):
                raise TrialFailedError(f"loss became {loss.item()} at epoch {epoch}, step {b + 1}")
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            if onecycle is not None:
                onecycle.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
            seen += len(idx)
            step += 1
            step_times.append(time.perf_counter() - ts)
            if seconds is not None and (step in (3, 10) or step % 25 == 0):
                # re-plan: the schedule ends where the time does (skip the first, slow step)
                recent = step_times[1:][-50:] or step_times
                per_step = float(np.median(recent))
                # a forward pass costs about a third of a training step: keep time for the validation pass
                val_cost = (len(val[0]) / bs) * per_step * 0.4 if has_val else 0.0  # type: ignore[index]
                left = seconds - (time.perf_counter() - t0) - 0.03 * seconds - val_cost
                planned = max(step + 1, min(cap, step + int(left / per_step)))
            if seconds is not None and time.perf_counter() - t0 > seconds:
                stop = True
                break
        train_loss = float(loss_sum) / max(1, seen)
        if not math.isfinite(train_loss):
            raise TrialFailedError(f"loss became {train_loss} in epoch {epoch}")
        result.epochs = step / steps_per_epoch
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss,
                                 "train_acc": 100.0 * float(correct) / max(1, seen), "val_loss": None,
                                 "val_acc": None, "seconds": 0.0}
        if has_val and (recipe.patience is not None or recipe.val_every_epoch or step >= planned or stop):
            acc, vloss = evaluate(model, val[0], val[1], precision=recipe.precision)  # type: ignore[index]
            entry.update(val_acc=acc, val_loss=vloss)
            # early stopping follows the validation loss: on small validation sets the accuracy
            # ties for many epochs and would stop (and size the final retraining) too early
            score = -vloss if recipe.patience is not None else acc
            last = step >= planned or stop
            if recipe.patience is None:
                if last:
                    result.val_acc, result.val_loss, result.best_epoch = acc, vloss, math.ceil(result.epochs)
            elif score > best_score:
                best_score, since_best = score, 0
                result.val_acc, result.val_loss, result.best_epoch = acc, vloss, math.ceil(result.epochs)
                best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
                if since_best >= recipe.patience:
                    stop = True
        entry["seconds"] = time.perf_counter() - t0
        result.curve.append(entry)
    if best_state is not None:
        model.load_state_dict(best_state)
    if not has_val:
        result.best_epoch = math.ceil(result.epochs)
    result.steps = step
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result
