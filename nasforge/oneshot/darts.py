"""DARTS (Liu et al., ICLR 2019) first and second order, and GDAS (Dong & Yang, CVPR 2019).

DARTS relaxes each edge to a softmax-weighted sum of its candidate operations and alternates an
SGD step on the supernet weights (training split) with an Adam step on the architecture weights
(validation split). First order uses the validation gradient at the current weights; second order
differentiates through one virtual SGD step ``w' = w - xi * grad_w L_train(w, alpha)``:

    grad_alpha L_val(w', alpha) - xi * [grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)] / (2 eps)

with ``w+- = w +- eps * grad_w' L_val(w', alpha)`` and ``eps = 0.01 / ||grad_w' L_val||`` (the
paper's finite-difference Hessian-vector product; :func:`darts_unrolled_arch_grads`).

GDAS (a collapse-resistant variant in the NB201 paper). Vanilla DARTS on NB201 drifts to
parameter-free cells (skip connections win the softmax because they make the supernet easy to
optimise, not because the discrete cell is good: 54.30% CIFAR-10 test in the NB201 paper). GDAS
samples *one* operation per edge with a hard Gumbel-softmax, so each step trains and judges a
discrete cell; the straight-through gradient still reaches every alpha. It is the strongest
weight-sharing method of the NB201 paper (93.61% CIFAR-10 test) and runs one op per edge, about 4x
cheaper per step than the full mixed op. Measured in BENCHMARKS.md: at the short CPU budgets used
here, GDAS without a warm-up picked pooling/none everywhere (untrained convolutions lose to
parameter-free ops in the first architecture steps and the hard sampling locks that in); hence
the default warm-up (half of the epochs train only the weights on uniformly drawn single paths).
"""

from __future__ import annotations

from collections.abc import Callable
import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.oneshot.base import Data, OneShotConfig, OneShotMethod, Progress, _batches
from nasforge.oneshot.supernet import SuperNet
from nasforge.spaces.base import SearchSpace

__all__ = ["DARTS", "DARTS2", "GDAS", "darts_unrolled_arch_grads", "warmup_epochs"]


def darts_unrolled_arch_grads(weights: list[torch.Tensor], alphas: list[torch.Tensor],
                              train_loss: Callable[[], torch.Tensor], val_loss: Callable[[], torch.Tensor],
                              xi: float, weight_decay: float = 0.0, momentum_bufs: list[torch.Tensor | None] | None = None,
                              momentum: float = 0.0, r: float = 0.01) -> list[torch.Tensor]:
    """Second-order DARTS gradient of the validation loss w.r.t. the architecture weights.

    ``train_loss`` / ``val_loss`` compute the loss with the *current* values of ``weights`` and
    ``alphas`` (the weights are changed in place and restored before returning).
    """
    grads = torch.autograd.grad(train_loss(), weights, allow_unused=True)
    backup = [w.detach().clone() for w in weights]
    with torch.no_grad():
        for k, (w, g) in enumerate(zip(weights, grads)):
            step = (torch.zeros_like(w) if g is None else g) + weight_decay * w
            buf = momentum_bufs[k] if momentum_bufs is not None else None
            if buf is not None:
                step = step + momentum * buf
            w.sub_(xi * step)
    out = torch.autograd.grad(val_loss(), list(alphas) + list(weights), allow_unused=True)
    d_alpha = [torch.zeros_like(a) if g is None else g for a, g in zip(alphas, out[:len(alphas)])]
    v = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, out[len(alphas):])]
    norm = torch.sqrt(sum((x * x).sum() for x in v))  # type: ignore[arg-type]
    eps = r / float(norm) if float(norm) > 0 else r
    with torch.no_grad():
        for w, b, vi in zip(weights, backup, v):
            w.copy_(b + eps * vi)
    g_pos = torch.autograd.grad(train_loss(), alphas, allow_unused=True)
    with torch.no_grad():
        for w, b, vi in zip(weights, backup, v):
            w.copy_(b - eps * vi)
    g_neg = torch.autograd.grad(train_loss(), alphas, allow_unused=True)
    with torch.no_grad():
        for w, b in zip(weights, backup):
            w.copy_(b)
    result = []
    for a, da, gp, gn in zip(alphas, d_alpha, g_pos, g_neg):
        gp = torch.zeros_like(a) if gp is None else gp
        gn = torch.zeros_like(a) if gn is None else gn
        result.append(da - xi * (gp - gn) / (2 * eps))
    return result


def warmup_epochs(value: Any, epochs: int) -> int:
    """Warm-up length: an int is a number of epochs, ``None`` means half of ``epochs`` (rounded down)."""
    if value is None:
        return epochs // 2
    if int(value) < 0:
        raise InvalidConfigError(f"warmup_epochs >= 0 (or None for half the epochs) must hold, but got {value}")
    return int(value)


class DARTS(OneShotMethod):
    """DARTS, first order: alternate weight steps (train split) and alpha steps (validation split).

    Hyperparameters: ``warmup_epochs`` (0: alphas are trained from the first epoch).

    Example:
        >>> from nasforge.spaces import get_space
        >>> DARTS(get_space("nb201")).name
        'darts'
    """

    name = "darts"
    second_order = False

    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                 warmup_epochs: int | float | None = 0) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress)
        self.warmup_epochs = warmup_epochs

    def _setup(self, net: SuperNet, epochs: int) -> None:
        c = self.config
        self.w_opt = self._weight_optimizer(net)
        self.a_opt = torch.optim.Adam(net.arch_parameters(), lr=c.a_lr, betas=(0.5, 0.999), weight_decay=c.a_wd)

    def _state(self) -> dict[str, Any]:
        return {"w_opt": self.w_opt.state_dict(), "a_opt": self.a_opt.state_dict()}

    def _load(self, state: dict[str, Any]) -> None:
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])

    def _warmup(self, epochs: int) -> int:
        """Epochs that train only the weights (alphas stay at their near-uniform start)."""
        return warmup_epochs(self.warmup_epochs, epochs)

    def _mode(self, epoch: int, epochs: int, gen: torch.Generator) -> None:
        assert self.net is not None
        self.net.use_softmax()

    def _arch_step(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor) -> float:
        net = self.net
        assert net is not None
        self.a_opt.zero_grad(set_to_none=True)
        if not self.second_order:
            loss = F.cross_entropy(net(xv), yv)
            loss.backward()
            # First-order alpha step must not leave gradients on the weights for the next weight step.
            for p in net.weights():
                p.grad = None
            self.a_opt.step()
            return loss.item()
        weights = net.weights()
        lr = self.w_opt.param_groups[0]["lr"]
        bufs = [self.w_opt.state.get(p, {}).get("momentum_buffer") for p in weights]
        grads = darts_unrolled_arch_grads(
            weights, net.arch_parameters(), lambda: F.cross_entropy(net(xt), yt),
            lambda: F.cross_entropy(net(xv), yv), xi=lr, weight_decay=self.config.w_wd, momentum_bufs=bufs,
            momentum=self.config.w_momentum)
        for a, g in zip(net.arch_parameters(), grads):
            a.grad = g
        self.a_opt.step()
        with torch.no_grad():
            return float(F.cross_entropy(net(xv), yv))

    def _train_epoch(self, epoch: int, epochs: int, train: Data, val: Data, gen: torch.Generator,
                     rng: np.random.Generator) -> dict[str, float]:
        net = self.net
        assert net is not None
        net.train()
        self._set_lr(self.w_opt, epoch, epochs)
        steps = self._steps(train)
        t_idx = _batches(len(train[0]), self.config.batch_size, gen, steps)
        v_idx = _batches(len(val[0]), self.config.batch_size, gen, steps)
        search_alpha = epoch >= self._warmup(epochs)
        w_loss = a_loss = 0.0
        for ti, vi in zip(t_idx, v_idx):
            xt, yt, xv, yv = train[0][ti], train[1][ti], val[0][vi], val[1][vi]
            if search_alpha:
                self._mode(epoch, epochs, gen)
                a_loss += self._arch_step(xt, yt, xv, yv)
            self._mode(epoch, epochs, gen)
            w_loss += self._weight_step(self.w_opt, xt, yt)
        return {"train_loss": w_loss / len(t_idx), "val_loss": a_loss / len(t_idx) if search_alpha else float("nan")}

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:
        assert self.net is not None
        return self.net.derive()


class DARTS2(DARTS):
    """DARTS, second order: alpha gradient through one unrolled weight step (finite-difference Hessian)."""

    name = "darts2"
    second_order = True


class GDAS(DARTS):
    """GDAS: hard Gumbel-softmax sampling of one op per edge, temperature annealed ``tau_max -> tau_min``.

    The first ``warmup_epochs`` (default ``None``: half of the epochs) train only the shared
    weights, each minibatch on one uniformly drawn op per edge (the alphas are still at their
    near-uniform start, so the Gumbel draw is uniform); the architecture steps and the temperature
    schedule (linear from ``tau_max`` to ``tau_min``, as in the GDAS code) run over the remaining
    epochs. Without the warm-up, the first architecture steps compare untrained convolutions with
    parameter-free ops, and the hard sampling then locks in pooling (measured in BENCHMARKS.md).

    Hyperparameters: ``tau_max`` (10), ``tau_min`` (0.1), ``warmup_epochs`` (None: half).

    Example:
        >>> from nasforge.spaces import get_space
        >>> GDAS(get_space("nb201"), tau_max=5.0).hparams["tau_max"]
        5.0
    """

    name = "gdas"

    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                 tau_max: float = 10.0, tau_min: float = 0.1, warmup_epochs: int | float | None = None) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress, warmup_epochs=warmup_epochs)
        if not 0 < tau_min <= tau_max:
            raise InvalidConfigError(f"0 < tau_min <= tau_max must hold, but got (tau_min={tau_min}, tau_max={tau_max})")
        self.tau_max = tau_max
        self.tau_min = tau_min

    def tau(self, epoch: int, epochs: int) -> float:
        """Gumbel temperature of ``epoch``: ``tau_max`` until the first search epoch, then linear to ``tau_min``."""
        hi, lo = float(self.hparams["tau_max"]), float(self.hparams["tau_min"])
        w = self._warmup(epochs)
        return hi - (hi - lo) * max(0, epoch - w) / max(1, epochs - w - 1)

    def _mode(self, epoch: int, epochs: int, gen: torch.Generator) -> None:
        assert self.net is not None
        self.net.use_gumbel(self.tau(epoch, epochs), gen)
