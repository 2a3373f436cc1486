"""The one-shot protocol: ``search(train_data, val_data, budget) -> Architecture``.

A one-shot method trains one supernet (weights shared by every architecture of a cell space) and
derives an architecture from it. Unlike black-box strategies it trains networks itself, so it does
not fit the ask/tell loop; instead every method here:

- takes its data as ``(x, y)`` tensors: weights are trained on ``train_data`` and architecture
  decisions are made on ``val_data`` (never on test data);
- runs for a :class:`OneShotBudget` of epochs (and optionally wall seconds);
- writes a checkpoint after every epoch to ``checkpoint_dir`` (supernet, optimizers, controller,
  history) and, when one is there already with the same settings, resumes after its last epoch.
  Data order and sampling are seeded per epoch, so a resumed search ends exactly where an
  uninterrupted one would;
- keeps the history of its architecture weights (or controller probabilities) per epoch.

Example:
    >>> from nasforge.oneshot import ONESHOT
    >>> from nasforge.spaces import get_space
    >>> method = ONESHOT.get("darts")(get_space("nb201"), OneShotConfig(channels=4, cells=1))
    >>> arch = method.search((x_tr, y_tr), (x_val, y_val), OneShotBudget(epochs=2))  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.oneshot.supernet import SuperNet, build_supernet, recalibrate_bn
from nasforge.spaces.base import SearchSpace

__all__ = ["Data", "OneShotBudget", "OneShotConfig", "OneShotMethod", "load_oneshot_data", "peak_rss_mb"]

log = logging.getLogger("nasforge.oneshot")

Data = tuple[torch.Tensor, torch.Tensor]
Progress = Callable[[int, int, dict[str, Any]], None]


@dataclass(frozen=True)
class OneShotConfig:
    """Supernet size and optimisation settings shared by all one-shot methods.

    Args:
        channels: supernet width ``C``.
        cells: NB201 cells per stage ``N``; for the DARTS space, ``3 * cells + 2`` layers.
        batch_size: minibatch size for both weights and architecture steps.
        w_lr / w_lr_min: cosine schedule of the weights' SGD (momentum ``w_momentum``).
        w_wd: weight decay of the weights; ``grad_clip`` clips their gradient norm.
        a_lr / a_wd: Adam (betas 0.5, 0.999) on architecture weights, as in DARTS.
        seed: seeds the supernet initialisation, data order and every sample drawn.
        threads: torch intra-op threads.
        max_steps_per_epoch: cap on minibatches per epoch (None: one pass over ``train_data``).
        eval_samples: validation samples used when a method scores architectures with the supernet.
        device: where the supernet and the data live (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``;
            see :func:`nasforge.training.resolve_device`). Not part of a checkpoint's settings: a
            run may resume on another device.

    Example:
        >>> OneShotConfig(channels=8, cells=1).batch_size
        64
    """

    channels: int = 8
    cells: int = 1
    batch_size: int = 64
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_wd: float = 3e-4
    grad_clip: float = 5.0
    a_lr: float = 3e-4
    a_wd: float = 1e-3
    seed: int = 0
    threads: int = 1
    max_steps_per_epoch: int | None = None
    eval_samples: int = 2000
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.channels < 1 or self.cells < 1 or self.batch_size < 2 or self.threads < 1:
            raise InvalidConfigError(
                f"channels >= 1, cells >= 1, batch_size >= 2 and threads >= 1 must hold, but got "
                f"(channels={self.channels}, cells={self.cells}, batch_size={self.batch_size}, threads={self.threads})"
            )
        if self.w_lr <= 0 or self.a_lr <= 0:
            raise InvalidConfigError(f"w_lr > 0 and a_lr > 0 must hold, but got (w_lr={self.w_lr}, a_lr={self.a_lr})")
        from nasforge.training.device import check_device_name

        check_device_name(self.device)


@dataclass(frozen=True)
class OneShotBudget:
    """How long a one-shot search runs: ``epochs`` of supernet training, optionally cut by wall time."""

    epochs: int
    wall_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InvalidConfigError(f"epochs >= 1 must hold, but got epochs={self.epochs}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (``resource.getrusage``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_oneshot_data(dataset: str, *, max_train: int | None = None, val_fraction: float = 0.2,
                      data_root: str | None = None) -> tuple[Data, Data, dict[str, Any]]:
    """Train and validation tensors, split and normalised by :func:`nasforge.training.prepare`.

    The same split (seed 0) and training subset (``max_train``, seed 0) as stand-alone training,
    so a one-shot search and the retraining of its result see the same training images and never
    the test split.
    """
    from nasforge.training.data import prepare

    data = prepare(dataset, val_fraction=val_fraction, max_train=max_train, data_root=data_root)
    if data.x_train.ndim != 4:
        raise InvalidConfigError(f"one-shot search needs image data (N, C, H, W), but '{dataset}' has shape "
                                 f"{tuple(data.x_train.shape)}")
    meta = {"num_classes": data.num_classes, "input_shape": data.input_shape, "name": data.name}
    return (data.x_train, data.y_train), (data.x_val, data.y_val), meta


def _batches(n: int, batch_size: int, gen: torch.Generator, steps: int) -> list[torch.Tensor]:
    """``steps`` index batches from shuffled passes over ``n`` samples (cycled if needed)."""
    out: list[torch.Tensor] = []
    while len(out) < steps:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - 1, batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) >= 2:  # batch norm needs two samples
                out.append(idx)
            if len(out) == steps:
                break
    return out


class OneShotMethod:
    """Base class of one-shot methods (subclasses implement the epoch, the state and the result).

    Args:
        space: a cell space (``nb201`` or ``darts``).
        config: supernet and optimisation settings.
        checkpoint_dir: folder for ``checkpoint.pt``, ``history.json`` and ``result.json``; a
            search started on a folder holding a checkpoint with the same settings resumes it.
        progress: called after each epoch as ``progress(epoch, epochs, info)``.

    Subclasses take their hyperparameters as explicit keyword arguments of their constructor
    (stored unchanged as attributes of the same name), like the black-box strategies.

    After :meth:`search`: ``arch_``, ``history_`` (one entry per epoch), ``seconds_``,
    ``peak_rss_mb_``, ``supernet_``, ``resumed_from_`` (epochs found in the checkpoint).

    Example:
        >>> from nasforge.oneshot import ONESHOT
        >>> from nasforge.spaces import get_space
        >>> m = ONESHOT.get("spos")(get_space("nb201"), OneShotConfig(channels=4))
        >>> m.hparams["evals"]
        100
    """

    name = "oneshot"
    track_running_stats = False  # single-path methods track BN statistics (and recalibrate them)
    _BASE_ARGS: ClassVar[tuple[str, ...]] = ("self", "space", "config", "checkpoint_dir", "progress")

    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None) -> None:
        self.space = space
        self.config = config or OneShotConfig()
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress = progress

    @classmethod
    def hparam_names(cls) -> list[str]:
        """The method's hyperparameters: the keyword arguments of its constructor."""
        return [p for p in inspect.signature(cls.__init__).parameters if p not in cls._BASE_ARGS]

    @property
    def hparams(self) -> dict[str, Any]:
        """The hyperparameters this method was built with (for checkpoints and the store)."""
        return {k: getattr(self, k) for k in self.hparam_names()}

    @classmethod
    def check_hparams(cls, hparams: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidConfigError` naming any hyperparameter this method does not have."""
        unknown = sorted(set(hparams) - set(cls.hparam_names()))
        if unknown:
            raise InvalidConfigError(
                f"unknown hyperparameter(s) {unknown} for one-shot method '{cls.name}'; "
                f"valid: {', '.join(cls.hparam_names()) or 'none'}"
            )

    # ----------------------------------------------------------------- hooks for subclasses
    def current_arch(self) -> Architecture:
        """The architecture the method points to now (after an epoch): argmax of the weights by default."""
        assert self.net is not None
        return self.net.derive()

    def arch_weights(self) -> dict[str, dict[str, float]] | None:
        """``{edge_label: {op_name: probability}}`` now, or None for a method without such weights."""
        assert self.net is not None
        return self.net.arch_weights()

    def _setup(self, net: SuperNet, epochs: int) -> None:
        """Create optimizers / controllers (called once, before a checkpoint is loaded)."""

    def _train_epoch(self, epoch: int, epochs: int, train: Data, val: Data, gen: torch.Generator,
                     rng: np.random.Generator) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """Method state to checkpoint (optimizers, controller, ...)."""
        return {}

    def _load(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_state` saved."""

    def _snapshot(self) -> dict[str, Any]:
        """What the history keeps after each epoch (architecture weights by default)."""
        assert self.net is not None
        return {"alphas": self.net.alpha_probs(), "derived": self.space.to_string(self.current_arch()),
                "arch_weights": self.arch_weights()}

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:  # pragma: no cover
        raise NotImplementedError

    # ----------------------------------------------------------------- shared machinery
    net: SuperNet | None = None
    data_: tuple[Data, Data] | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The settings a checkpoint must match to be resumed."""
        config = {k: v for k, v in asdict(self.config).items() if k != "device"}
        return {"method": self.name, "space": self.space.name, "space_config": self.space.config,
                "config": config, "hparams": self.hparams}

    def _weight_optimizer(self, net: SuperNet) -> torch.optim.SGD:
        c = self.config
        return torch.optim.SGD(net.weights(), lr=c.w_lr, momentum=c.w_momentum, weight_decay=c.w_wd)

    def _set_lr(self, opt: torch.optim.Optimizer, epoch: int, epochs: int) -> None:
        c = self.config
        lr = c.w_lr_min + 0.5 * (c.w_lr - c.w_lr_min) * (1 + math.cos(math.pi * epoch / epochs))
        for group in opt.param_groups:
            group["lr"] = lr

    def _weight_step(self, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
        assert self.net is not None
        loss = F.cross_entropy(self.net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.weights(), self.config.grad_clip)
        opt.step()
        return loss.item()

    def _steps(self, train: Data) -> int:
        n = max(1, len(train[0]) // self.config.batch_size)
        cap = self.config.max_steps_per_epoch
        return min(n, cap) if cap else n

    def estimate(self, archs: list[Architecture], train: Data, val: Data, *, recal_batches: int = 4) -> list[float]:
        """Supernet-estimated validation accuracy (%) of each architecture (single path, BN recalibrated)."""
        if self.net is None:
            raise InvalidConfigError(f"{self.name}: call search() before estimate()")
        net = self.net
        gen = torch.Generator().manual_seed(self.config.seed + 7919)
        idx = _batches(len(train[0]), 128, gen, recal_batches)
        recal = [train[0][i] for i in idx]
        xv, yv = val[0][: self.config.eval_samples], val[1][: self.config.eval_samples]
        out = []
        for arch in archs:
            net.use_path(arch)
            if self.track_running_stats:
                recalibrate_bn(net, recal)
            net.eval()
            correct = 0
            with torch.no_grad():
                for i in range(0, len(xv), 500):
                    correct += int((net(xv[i:i + 500]).argmax(1) == yv[i:i + 500]).sum())
            out.append(100.0 * correct / max(1, len(xv)))
        net.train()
        return out

    def search(self, train_data: Data, val_data: Data, budget: OneShotBudget | int) -> Architecture:
        """Train the supernet for ``budget`` and return the architecture it points to."""
        if isinstance(budget, int):
            budget = OneShotBudget(epochs=budget)
        c = self.config
        if torch.get_num_threads() != c.threads:
            torch.set_num_threads(c.threads)
        x_tr, y_tr = train_data
        if len(x_tr) < 2 or len(val_data[0]) < 2:
            raise InvalidConfigError(f"one-shot search needs >= 2 training and validation samples, got "
                                     f"({len(x_tr)}, {len(val_data[0])})")
        from nasforge.training.device import device_label, resolve_device

        device = resolve_device(c.device)
        self.device_ = device_label(device)
        # the data goes to the device once (one-shot datasets here are small; no per-batch copies)
        train_data = (train_data[0].to(device), train_data[1].to(device))
        val_data = (val_data[0].to(device), val_data[1].to(device))
        t0 = time.perf_counter()
        self.data_ = (train_data, val_data)
        torch.manual_seed(c.seed)
        self.net = build_supernet(self.space, channels=c.channels, cells=c.cells,
                                  num_classes=int(max(int(y_tr.max()), int(val_data[1].max())) + 1),
                                  in_channels=int(x_tr.shape[1]), track_running_stats=self.track_running_stats)
        self.net.to(device)
        self.num_classes = self.net.classifier.out_features
        self._setup(self.net, budget.epochs)
        self.history_: list[dict[str, Any]] = []
        start, prior_seconds = 0, 0.0
        self.resumed_from_ = 0
        done = self._load_checkpoint(budget.epochs)
        if done is not None:
            start, prior_seconds = done
            self.resumed_from_ = start
        stopped = False
        for epoch in range(start, budget.epochs):
            # Everything random in an epoch comes from (seed, epoch): a resumed run repeats it exactly.
            torch.manual_seed(c.seed * 100_003 + epoch)
            gen = torch.Generator().manual_seed(c.seed * 100_003 + epoch)
            rng = np.random.default_rng([c.seed, epoch])
            e0 = time.perf_counter()
            info = self._train_epoch(epoch, budget.epochs, train_data, val_data, gen, rng)
            entry = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - e0, 3), **info, **self._snapshot()}
            self.history_.append(entry)
            elapsed = prior_seconds + time.perf_counter() - t0
            self._save_checkpoint(epoch + 1, budget.epochs, elapsed)
            log.info("%s epoch %d/%d %s", self.name, epoch + 1, budget.epochs,
                     {k: v for k, v in info.items() if isinstance(v, float)})
            if self.progress is not None:
                self.progress(epoch + 1, budget.epochs, entry)
            if budget.wall_seconds is not None and elapsed >= budget.wall_seconds and epoch + 1 < budget.epochs:
                log.warning("%s: wall budget of %.0f s spent after epoch %d", self.name, budget.wall_seconds, epoch + 1)
                stopped = True
                break
        arch = self._result(train_data, val_data, np.random.default_rng([c.seed, 10**6]))
        arch, self.check_ = self._check_parametric(arch, train_data, val_data)
        self.arch_ = arch
        self.seconds_ = prior_seconds + time.perf_counter() - t0
        self.peak_rss_mb_ = peak_rss_mb()
        self.stopped_early_ = stopped
        if self.checkpoint_dir is not None:
            self._write_json("result.json", {"arch": self.space.to_string(arch), "arch_key": arch.key,
                                             "seconds": self.seconds_, "peak_rss_mb": self.peak_rss_mb_,
                                             "epochs": len(self.history_), **self.fingerprint()})
        return arch

    def _check_parametric(self, arch: Architecture, train: Data, val: Data) -> tuple[Architecture, dict[str, Any]]:
        """The documented fallback for a cell without a parametric operation on its input-output path.

        When the method's answer has no weights between input and output (the space says so with
        ``has_parametric_path``), its one-step neighbours that do have such a path are scored by
        the supernet like the answer (single path, BN recalibrated, the same validation images).
        If the best of them is within the noise of the answer -- two standard errors of the
        difference of two accuracies on ``n`` validation images, ``2 * sqrt(2 p (1 - p) / n)`` --
        the supernet cannot tell them apart and that neighbour is returned; the method says so in
        ``check_`` (and in the log). Otherwise the parameter-free answer stands, with a warning.
        """
        if self.space.has_parametric_path(arch) is not False:
            return arch, {}
        alts = [a for a in self.space.neighbors(arch) if self.space.has_parametric_path(a)]
        if not alts:
            return arch, {"warning": "the answer has no parametric operation on its input-output path"}
        scores = self.estimate([arch, *alts], train, val, recal_batches=int(getattr(self, "recal_batches", 4)))
        n = max(1, min(len(val[0]), self.config.eval_samples))
        p = min(max(scores[0] / 100.0, 1.0 / n), 1.0 - 1.0 / n)
        margin = 100.0 * 2.0 * math.sqrt(2.0 * p * (1.0 - p) / n)
        k = max(range(len(alts)), key=lambda i: (scores[i + 1], alts[i].key))
        info: dict[str, Any] = {
            "parameter_free_answer": self.space.to_string(arch), "parameter_free_val_acc": round(scores[0], 3),
            "best_parametric_neighbour": self.space.to_string(alts[k]),
            "best_parametric_val_acc": round(scores[k + 1], 3), "noise_margin": round(margin, 3),
        }
        if scores[k + 1] >= scores[0] - margin:
            how = ("scores the best parametric neighbour at least as high" if scores[k + 1] >= scores[0] else
                   f"cannot tell them apart within the noise of {n} validation images (+-{margin:.1f})")
            info["fallback"] = (f"the answer has no parametric operation on its input-output path; the supernet "
                                f"{how} ({scores[k + 1]:.1f}% vs {scores[0]:.1f}%): returned the parametric "
                                f"neighbour")
            log.warning("%s: %s", self.name, info["fallback"])
            return alts[k], info
        info["warning"] = (f"the supernet prefers a cell without a parametric operation by more than the noise "
                           f"({scores[0]:.1f}% vs {scores[k + 1]:.1f}%, margin {margin:.1f})")
        log.warning("%s: %s", self.name, info["warning"])
        return arch, info

    def result_info(self) -> dict[str, Any]:
        """What the method says about its final answer: the parametric-path check (see ``_check_parametric``)."""
        return {"selection_check": self.check_} if getattr(self, "check_", None) else {}

    # ----------------------------------------------------------------- checkpoints
    def _write_json(self, name: str, data: Any) -> None:
        assert self.checkpoint_dir is not None
        tmp = self.checkpoint_dir / (name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.checkpoint_dir / name)

    def _save_checkpoint(self, epochs_done: int, epochs: int, seconds: float) -> None:
        if self.checkpoint_dir is None:
            return
        assert self.net is not None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = {"epochs_done": epochs_done, "epochs": epochs, "seconds": seconds,
                 "fingerprint": json.dumps(self.fingerprint(), sort_keys=True),
                 "net": self.net.state_dict(), "method": self._state(), "history": json.dumps(self.history_)}
        tmp = self.checkpoint_dir / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.checkpoint_dir / "checkpoint.pt")  # atomic: a kill never leaves half a file
        self._write_json("history.json", {"method": self.name, "space": self.space.name, "history": self.history_})

    def _load_checkpoint(self, epochs: int) -> tuple[int, float] | None:
        if self.checkpoint_dir is None or not (self.checkpoint_dir / "checkpoint.pt").exists():
            return None
        state = torch.load(self.checkpoint_dir / "checkpoint.pt", weights_only=True, map_location="cpu")
        mine = json.dumps(self.fingerprint(), sort_keys=True)
        if state["fingerprint"] != mine or state["epochs"] != epochs:
            raise InvalidConfigError(
                f"checkpoint in {self.checkpoint_dir} was made with other settings "
                f"({state['fingerprint']}, epochs={state['epochs']}); use another name or folder to start afresh"
            )
        assert self.net is not None
        self.net.load_state_dict(state["net"])
        self._load(state["method"])
        self.history_ = json.loads(state["history"])
        log.info("%s: resuming after epoch %d from %s", self.name, state["epochs_done"], self.checkpoint_dir)
        return int(state["epochs_done"]), float(state["seconds"])

